//! A throwaway `tinyproxy` (Debian's tinyproxy-bin, installed by bin/setup) on a free port of
//! 127.0.0.1, logging every request it relays; killed on drop. Std only, so the CLI tests can
//! include it too.
#![allow(dead_code)] // each test binary uses part of it

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const TINYPROXY: &str = "/usr/bin/tinyproxy";

pub struct Tinyproxy {
    child: Child,
    pub port: u16,
    dir: PathBuf,
}

impl Tinyproxy {
    pub fn start() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ucrawler-tinyproxy-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        // No ConnectPort line: CONNECT is allowed to any port (the test site's TLS front).
        let config = format!(
            "Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 256\nAllow 127.0.0.1\n\
             LogLevel Connect\nLogFile \"{}\"\n",
            dir.join("tinyproxy.log").display()
        );
        let config_path = dir.join("tinyproxy.conf");
        std::fs::write(&config_path, config).expect("tinyproxy.conf");
        assert!(
            std::path::Path::new(TINYPROXY).exists(),
            "{TINYPROXY} not found: bin/setup installs it (apt-get install tinyproxy-bin)"
        );
        let child = Command::new(TINYPROXY)
            .arg("-d")
            .arg("-c")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tinyproxy runs");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "tinyproxy did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { child, port, dir }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The requests it relayed, as their request lines (`GET http://… HTTP/1.1`,
    /// `CONNECT host:port HTTP/1.1`).
    pub fn requests(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("tinyproxy.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| {
                line.split_once("): ")
                    .filter(|_| line.contains("Request ("))
            })
            .map(|(_, request)| request.to_string())
            .collect()
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
