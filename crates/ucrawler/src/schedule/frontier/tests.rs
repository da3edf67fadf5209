use std::time::Duration;

use super::*;

fn limits(per_host: usize, delay: Duration) -> Limits {
    Limits { per_host, delay }
}

/// A link (depth 1) to page `page` of `host`.
fn request(host: &str, page: u32) -> Request {
    let mut request = Request::new(format!("http://{host}/page/{page}"));
    request.depth = 1;
    request
}

fn pop(frontier: &mut Frontier, gate: &HostGate, l: Limits, now: Instant) -> Option<String> {
    frontier
        .pop_ready(gate, l, now, false)
        .map(|(_, request)| request.url)
}

#[test]
fn a_million_urls_spill_with_bounded_memory_and_each_hosts_order() {
    let limit = 10_000;
    let mut frontier = Frontier::new(None, limit);
    let dir = frontier.spill.path().to_path_buf();
    let gate = HostGate::new(); // nothing ever starts: every host may always go
    let l = limits(2, Duration::ZERO);
    let now = Instant::now();
    let total = 1_000_000u32;
    let hosts = 997;
    for i in 0..total {
        let host = format!("h{}.example:80", i % hosts);
        let mut r = request(&host, i);
        r.depth = 1 + i % 7;
        frontier.push(r);
        assert!(frontier.in_memory() <= limit);
    }
    assert_eq!(frontier.len(), u64::from(total));
    assert!(frontier.spill.segments() > 100, "spilled to disk");
    let mut last = HashMap::new();
    for n in 0..=total {
        let (host, r) = frontier
            .pop_ready(&gate, l, now, false)
            .expect("nothing lost");
        let page: u32 = r.url.rsplit('/').next().unwrap().parse().unwrap();
        assert_eq!(r.url, format!("http://{host}/page/{page}"));
        assert_eq!(
            r.depth,
            if &*host == "late.example:80" {
                1
            } else {
                1 + page % 7
            }
        );
        let before = last.insert(host.clone(), page);
        assert!(
            before.is_none_or(|b| b < page),
            "{host}: {before:?} then {page}"
        );
        assert!(frontier.in_memory() <= limit);
        if n == total / 2 {
            frontier.push(request("late.example:80", 0));
        }
    }
    assert!(last.contains_key("late.example:80"));
    assert!(pop(&mut frontier, &gate, l, now).is_none() && frontier.is_empty());
    assert_eq!(frontier.hosts(), 0, "finished hosts are forgotten");
    drop(frontier);
    assert!(!dir.exists(), "segments removed");
}

#[test]
fn the_host_with_the_most_requests_waiting_goes_first() {
    let mut frontier = Frontier::new(None, 100);
    let gate = HostGate::new();
    let l = limits(2, Duration::ZERO);
    let now = Instant::now();
    frontier.push(request("fast", 1));
    for page in 1..=3 {
        frontier.push(request("slow", page));
    }
    frontier.push(request("other", 1));
    let order: Vec<String> = std::iter::from_fn(|| pop(&mut frontier, &gate, l, now)).collect();
    assert_eq!(
        order,
        [
            "http://slow/page/1",
            "http://slow/page/2",
            "http://fast/page/1", // equal lengths: the one filed first
            "http://other/page/1",
            "http://slow/page/3",
        ]
    );
}

#[test]
fn a_slow_hosts_requests_go_before_more_of_a_fast_hosts() {
    let mut frontier = Frontier::new(None, 100);
    let gate = HostGate::new();
    let l = limits(2, Duration::ZERO);
    let now = Instant::now();
    for page in 1..=10 {
        frontier.push(request("fast", page));
    }
    for page in 1..=3 {
        frontier.push(request("slow", page));
    }
    frontier.note_latency("fast:80", Duration::from_millis(40));
    frontier.note_latency("slow:80", Duration::from_millis(1500));
    frontier.note_latency("gone", Duration::from_secs(9)); // nothing queued: nothing kept
    assert_eq!(frontier.queues.len(), 2);
    let order: Vec<String> = std::iter::from_fn(|| pop(&mut frontier, &gate, l, now)).collect();
    // 3 × 1.5 s of waiting beats 10 × 40 ms; once down to none, the fast host's turn.
    assert_eq!(
        order[..3],
        [
            "http://slow/page/1",
            "http://slow/page/2",
            "http://slow/page/3"
        ]
    );
    assert_eq!(order.len(), 13);
}

#[test]
fn only_a_rise_in_a_hosts_fetch_time_files_it_again() {
    let mut frontier = Frontier::new(None, 100);
    frontier.push(request("host", 1));
    let filed = frontier.ready.len();
    frontier.note_latency("host:80", Duration::from_millis(300));
    assert_eq!(
        frontier.ready.len(),
        filed + 1,
        "a rise ranks the host higher now"
    );
    frontier.note_latency("host:80", Duration::from_millis(40));
    assert_eq!(
        frontier.ready.len(),
        filed + 1,
        "a fall leaves the entry filed"
    );
    assert_eq!(
        frontier.queues["host:80"].latency_ms, 40,
        "but weighs what comes next"
    );
    frontier.note_latency("host:80", Duration::from_millis(41));
    assert_eq!(frontier.ready.len(), filed + 2);
}

#[test]
fn hosts_under_way_go_before_new_ones() {
    let mut frontier = Frontier::new(None, 100);
    let gate = HostGate::new();
    let l = limits(2, Duration::ZERO);
    let now = Instant::now();
    for page in 1..=4 {
        frontier.push(request("started", page));
    }
    frontier.push(Request::new("http://seed/"));
    let order: Vec<String> = std::iter::from_fn(|| pop(&mut frontier, &gate, l, now)).collect();
    // The new host goes once the other is down to as many requests (filed earlier, it wins).
    assert_eq!(
        order,
        [
            "http://started/page/1",
            "http://started/page/2",
            "http://started/page/3",
            "http://seed/",
            "http://started/page/4",
        ]
    );
}

#[test]
fn busy_hosts_wait_for_a_request_to_end() {
    let mut frontier = Frontier::new(None, 100);
    let gate = HostGate::new();
    let l = limits(1, Duration::ZERO);
    let now = Instant::now();
    frontier.push(request("a", 1));
    frontier.push(request("a", 2));
    frontier.push(request("b", 1));
    assert_eq!(
        pop(&mut frontier, &gate, l, now).unwrap(),
        "http://a/page/1"
    );
    assert!(gate.try_start("a:80", l, now, None, false));
    assert_eq!(
        pop(&mut frontier, &gate, l, now).unwrap(),
        "http://b/page/1"
    );
    assert!(pop(&mut frontier, &gate, l, now).is_none(), "a is busy");
    assert!(frontier.waiting_for_hosts() && frontier.next_wakeup().is_none());
    assert!(frontier.has_queued("a:80") && !frontier.has_queued("b:80"));
    gate.finish("a:80", l, now, Duration::ZERO, None);
    assert!(
        pop(&mut frontier, &gate, l, now).is_none(),
        "looked at again only when told a request ended"
    );
    let (_, next) = frontier.pop_ready(&gate, l, now, true).unwrap();
    assert_eq!(next.url, "http://a/page/2");
    assert!(frontier.is_empty() && !frontier.waiting_for_hosts());
}

#[test]
fn hosts_waiting_for_a_time_come_back_when_it_passes() {
    let mut frontier = Frontier::new(None, 100);
    let gate = HostGate::new();
    let second = Duration::from_secs(1);
    let l = limits(2, second);
    let now = Instant::now();
    frontier.push(request("a", 1));
    frontier.push(request("a", 2));
    assert_eq!(
        pop(&mut frontier, &gate, l, now).unwrap(),
        "http://a/page/1"
    );
    assert!(gate.try_start("a:80", l, now, None, false));
    assert!(pop(&mut frontier, &gate, l, now).is_none());
    assert_eq!(frontier.next_wakeup(), Some(now + second));
    assert!(pop(&mut frontier, &gate, l, now + second / 2).is_none());
    assert_eq!(
        pop(&mut frontier, &gate, l, now + second).unwrap(),
        "http://a/page/2"
    );
    assert_eq!(frontier.next_wakeup(), None);
}

#[test]
fn a_retry_goes_before_its_hosts_other_requests() {
    let mut frontier = Frontier::new(None, 100);
    let gate = HostGate::new();
    let l = limits(2, Duration::ZERO);
    let now = Instant::now();
    frontier.push(request("a", 1));
    frontier.push(request("a", 2));
    frontier.push_front("a:80", request("a", 0));
    let order: Vec<String> = std::iter::from_fn(|| pop(&mut frontier, &gate, l, now)).collect();
    assert_eq!(
        order,
        ["http://a/page/0", "http://a/page/1", "http://a/page/2"]
    );
}

#[test]
fn a_full_memory_sends_new_requests_to_disk_in_order() {
    let mut frontier = Frontier::new(None, 4);
    let gate = HostGate::new();
    let l = limits(8, Duration::ZERO);
    let now = Instant::now();
    for page in 0..10 {
        frontier.push(request("a", page));
        assert!(frontier.in_memory() <= 4);
    }
    // A retry is never refused (it holds a page already counted in flight).
    frontier.push_front("b:80", request("b", 0));
    assert_eq!(frontier.len(), 11);
    let order: Vec<String> = std::iter::from_fn(|| pop(&mut frontier, &gate, l, now)).collect();
    let a: Vec<&String> = order.iter().filter(|u| u.contains("//a/")).collect();
    let expected: Vec<String> = (0..10).map(|p| format!("http://a/page/{p}")).collect();
    assert_eq!(a, expected.iter().collect::<Vec<_>>());
    assert_eq!(order.len(), 11);
}
