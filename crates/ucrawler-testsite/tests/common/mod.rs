//! What the test files share: a minimal HTTP/1.1 client (keep-alive, content-length bodies
//! only) and the link scanner of an independent crawl.
#![allow(dead_code)] // each test file uses a part

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub struct Client {
    pub reader: BufReader<TcpStream>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Client {
            reader: BufReader::new(stream),
        }
    }

    pub fn get(&mut self, host: &str, path: &str) -> Reply {
        self.request("GET", host, path, &[])
    }

    /// A request with extra headers. A `HEAD` reply has no body whatever its length says.
    pub fn request(
        &mut self,
        method: &str,
        host: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: testsite-test/1.0\r\n"
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        self.reader.get_mut().write_all(request.as_bytes()).unwrap();
        if method == "HEAD" {
            let (status, headers) = self.read_head();
            return Reply {
                status,
                headers,
                body: Vec::new(),
            };
        }
        self.read_reply()
    }

    pub fn read_head(&mut self) -> (u16, Vec<(String, String)>) {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        let status = line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut headers = Vec::new();
        loop {
            line.clear();
            self.reader.read_line(&mut line).unwrap();
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            let (name, value) = trimmed.split_once(':').unwrap();
            headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
        (status, headers)
    }

    pub fn read_reply(&mut self) -> Reply {
        let (status, headers) = self.read_head();
        let len: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .map_or(0, |(_, v)| v.parse().unwrap());
        let mut body = vec![0; len];
        self.reader.read_exact(&mut body).unwrap();
        Reply {
            status,
            headers,
            body,
        }
    }
}

/// What a crawler would do with `<a href>` values on `page_url`: resolve with the `url`
/// crate, drop fragments, keep http(s) URLs on the same host:port.
pub fn same_host_links(page_url: &str, html: &str) -> BTreeSet<String> {
    let page = url::Url::parse(page_url).unwrap();
    html.split("<a ")
        .skip(1)
        .filter_map(|tag| {
            let tag = &tag[..tag.find('>')?];
            tag.split("href=\"").nth(1)?.split('"').next()
        })
        .filter_map(|href| page.join(href).ok())
        .filter(|u| {
            matches!(u.scheme(), "http" | "https")
                && u.host_str() == page.host_str()
                && u.port_or_known_default() == page.port_or_known_default()
                && u.scheme() == page.scheme()
        })
        .map(|mut u| {
            u.set_fragment(None);
            u.to_string()
        })
        .collect()
}
