use std::collections::VecDeque;

use super::Frontier;
use crate::page::Request;

/// An in-memory FIFO frontier.
#[derive(Debug, Default)]
pub struct MemoryFrontier {
    queue: VecDeque<Request>,
}

impl MemoryFrontier {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Frontier for MemoryFrontier {
    fn push(&mut self, request: Request) {
        self.queue.push_back(request);
    }

    fn pop(&mut self) -> Option<Request> {
        self.queue.pop_front()
    }

    fn len(&self) -> u64 {
        self.queue.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo() {
        let mut frontier = MemoryFrontier::new();
        frontier.push(Request::new("http://a/1"));
        frontier.push(Request::new("http://a/2"));
        assert_eq!(frontier.len(), 2);
        assert_eq!(frontier.pop().unwrap().url, "http://a/1");
        assert_eq!(frontier.pop().unwrap().url, "http://a/2");
        assert!(frontier.pop().is_none() && frontier.is_empty());
    }
}
