//! The browser process: found, launched with its DevTools pipes on fds 3 and 4 in a process
//! group of its own, watched (its tree's resident memory, idleness) by a thread, and killed
//! with its whole group (renderers, GPU and utility processes included).

use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::json;

use super::cdp::{Cdp, Closed};
use super::{Counters, LaunchSettings, RenderError, IDLE_CLOSE};

/// How often the watcher samples the tree's memory.
const SAMPLE_EVERY: Duration = Duration::from_millis(250);
/// How long the browser may take to answer its first command.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Profile directories are `<temp>/ucrawler-chromium-<our pid>-<launch>`.
const PROFILE_PREFIX: &str = "ucrawler-chromium-";

/// Browsers launched by this process: names their profile directories.
static LAUNCHES: AtomicU64 = AtomicU64::new(0);

/// A running browser.
pub(super) struct Browser {
    cdp: Cdp,
    pid: u32,
    /// Kept for `kill_on_drop`; the watcher reaps it.
    child: Arc<Mutex<Option<tokio::process::Child>>>,
    tabs: Arc<AtomicU32>,
    pages: AtomicU32,
    rss: Arc<AtomicU64>,
    last_used: Arc<Mutex<Instant>>,
}

impl Browser {
    pub(super) async fn launch(
        settings: &LaunchSettings,
        max_message: usize,
        counters: Arc<Counters>,
    ) -> Result<Browser, RenderError> {
        let program = find_browser(settings.browser.as_deref()).ok_or(RenderError::NoBrowser)?;
        sweep_profiles();
        let dir = std::env::temp_dir().join(format!(
            "{PROFILE_PREFIX}{}-{}",
            std::process::id(),
            LAUNCHES.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)
            .map_err(|e| RenderError::Launch(format!("{}: {e}", dir.display())))?;
        let launched = spawn(&program, &dir, settings.memory);
        let (child, to_browser, from_browser) = match launched {
            Ok(launched) => launched,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(RenderError::Launch(format!("{}: {e}", program.display())));
            }
        };
        let pid = child.id().unwrap_or_default();
        // Negative pid: the whole process group (the browser is its leader).
        let kill: Box<dyn Fn() + Send + Sync> = Box::new(move || kill_group(pid));
        let cdp = Cdp::start(to_browser, from_browser, max_message, kill)
            .map_err(|e| RenderError::Launch(format!("threads: {e}")))?;
        let browser = Browser {
            cdp,
            pid,
            child: Arc::new(Mutex::new(Some(child))),
            tabs: Arc::default(),
            pages: AtomicU32::new(0),
            rss: Arc::default(),
            last_used: Arc::new(Mutex::new(Instant::now())),
        };
        browser.watch(settings.memory, counters, dir)?;
        let started = browser
            .cdp
            .call(None, "Browser.getVersion", json!({}), START_TIMEOUT)
            .await
            .and(
                // Popups are seen (and closed) as they appear.
                browser
                    .cdp
                    .call(
                        None,
                        "Target.setDiscoverTargets",
                        json!({"discover": true}),
                        START_TIMEOUT,
                    )
                    .await,
            );
        if let Err(e) = started {
            browser.cdp.close(Closed::Ended("failed start"));
            return Err(RenderError::Launch(format!(
                "{} did not answer on its DevTools pipe: {e}",
                program.display()
            )));
        }
        Ok(browser)
    }

    pub(super) fn cdp(&self) -> &Cdp {
        &self.cdp
    }

    pub(super) fn is_closed(&self) -> bool {
        self.cdp.closed().is_some()
    }

    pub(super) fn tabs(&self) -> u32 {
        self.tabs.load(Ordering::Acquire)
    }

    pub(super) fn pages(&self) -> u32 {
        self.pages.load(Ordering::Acquire)
    }

    pub(super) fn rss(&self) -> u64 {
        self.rss.load(Ordering::Relaxed)
    }

    pub(super) fn begin_tab(&self) {
        self.tabs.fetch_add(1, Ordering::AcqRel);
        self.pages.fetch_add(1, Ordering::AcqRel);
        self.touch();
    }

    pub(super) fn end_tab(&self) {
        self.tabs.fetch_sub(1, Ordering::AcqRel);
        self.touch();
    }

    fn touch(&self) {
        *self
            .last_used
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
    }

    pub(super) fn close_recycled(&self) {
        self.cdp.close(Closed::Ended("recycled"));
    }

    /// After a hung page: the browser must still answer (its UI thread is not the page's);
    /// one that does not is killed.
    pub(super) async fn kill_if_unresponsive(&self) {
        let alive = self
            .cdp
            .call(
                None,
                "Browser.getVersion",
                json!({}),
                Duration::from_secs(2),
            )
            .await;
        if alive.is_err() {
            self.cdp
                .close(Closed::Hung("the browser stopped answering".into()));
        }
    }

    /// Starts the watcher thread: samples the tree's RSS, kills it past `memory` or after
    /// [`IDLE_CLOSE`] without tabs, then reaps the browser and removes its profile directory.
    fn watch(&self, memory: u64, counters: Arc<Counters>, dir: PathBuf) -> Result<(), RenderError> {
        let (cdp, pid, rss) = (self.cdp.clone(), self.pid, self.rss.clone());
        let (tabs, last_used, child) = (
            self.tabs.clone(),
            self.last_used.clone(),
            self.child.clone(),
        );
        let spawned = std::thread::Builder::new()
            .name("ucrawler-chromium-watch".into())
            .spawn(move || {
                while cdp.closed().is_none() {
                    let now = tree_rss(pid);
                    rss.store(now, Ordering::Relaxed);
                    counters.peak_rss.fetch_max(now, Ordering::Relaxed);
                    if now > memory {
                        Counters::add(&counters.memory_kills);
                        cdp.close(Closed::OverMemory(memory));
                        break;
                    }
                    let idle = last_used.lock().map_or(Duration::ZERO, |t| t.elapsed());
                    if tabs.load(Ordering::Acquire) == 0 && idle > IDLE_CLOSE {
                        cdp.close(Closed::Ended("idle"));
                        break;
                    }
                    std::thread::sleep(SAMPLE_EVERY);
                }
                if cdp.closed() == Some(Closed::Exited) {
                    Counters::add(&counters.crashes);
                }
                kill_group(pid);
                reap(&child);
                rss.store(0, Ordering::Relaxed);
                let _ = std::fs::remove_dir_all(&dir);
            });
        spawned
            .map(drop)
            .map_err(|e| RenderError::Launch(format!("watcher thread: {e}")))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.cdp.close(Closed::Ended("dropped"));
    }
}

/// Removes the profile directories of processes that ended before their watcher could (a
/// process exiting with a browser open leaves its directory behind).
fn sweep_profiles() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let owner = name
            .to_str()
            .and_then(|n| n.strip_prefix(PROFILE_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok());
        if let Some(owner) = owner {
            if !Path::new(&format!("/proc/{owner}")).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

/// Waits (briefly) for the killed browser so it does not linger as a zombie.
fn reap(child: &Mutex<Option<tokio::process::Child>>) {
    let Some(mut child) = child.lock().ok().and_then(|mut c| c.take()) else {
        return;
    };
    for _ in 0..40 {
        if !matches!(child.try_wait(), Ok(None)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn kill_group(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        if pid > 1 {
            // SAFETY: kill(2) with a negative pid signals the group we created for the browser.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }
}

/// The browser to run: the configured path, `$UCRAWLER_CHROMIUM`, or one on PATH.
fn find_browser(configured: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = configured {
        return is_executable(path).then(|| path.to_path_buf());
    }
    if let Some(path) = std::env::var_os("UCRAWLER_CHROMIUM").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return is_executable(&path).then_some(path);
    }
    let dirs = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&dirs).map(move |dir| dir.join(name)))
        .find(|path| is_executable(path))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A pipe whose ends close on exec (only the browser gets them, on fds 3 and 4).
fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: pipe2 writes two new descriptors into `fds`, which we then own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both were just created and are owned by nothing else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn spawn(
    program: &Path,
    dir: &Path,
    memory: u64,
) -> std::io::Result<(tokio::process::Child, File, File)> {
    let (browser_reads, we_write) = pipe()?;
    let (we_read, browser_writes) = pipe()?;
    let (input, output) = (browser_reads.as_raw_fd(), browser_writes.as_raw_fd());
    // V8's heap gets a share of the cap: a runaway script dies in its renderer first.
    let heap_mb = ((memory / 4) >> 20).clamp(64, 4096);
    let mut command = tokio::process::Command::new(program);
    command
        .args([
            "--headless",
            // Chromium's sandbox needs user namespaces, absent in most containers and as root.
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--mute-audio",
            "--block-new-web-contents",
            // Chromium 156 (Debian's) builds the omnibox popup of every window as WebUI pages
            // (chrome://omnibox-popup.top-chrome/) in a renderer of their own: each render's
            // browser context opens a window, so every page paid for a second renderer that never
            // shows — 60 % of a render's CPU (measured: 1.0 → 0.4 CPU s per page for the whole
            // tree). Builds without these features ignore the names.
            "--disable-features=WebUIOmniboxPopup,WebUIOmniboxAimPopup,WebUIOmniboxFullPopup",
            // Whatever escapes interception (websockets, prefetch) meets a dead proxy, never
            // the network; `<-loopback>` sends loopback through it too.
            "--proxy-server=http://127.0.0.1:9",
            "--proxy-bypass-list=<-loopback>",
            "--remote-debugging-pipe",
        ])
        .arg(format!("--js-flags=--max-old-space-size={heap_mb}"))
        .arg(format!("--user-data-dir={}", dir.display()))
        .arg("about:blank")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    // SAFETY: only async-signal-safe calls (fcntl, dup2, close) between fork and exec.
    unsafe {
        command.pre_exec(move || {
            // Copies above 10 first: a source already on fd 3 or 4 would be clobbered.
            let high_in = libc::fcntl(input, libc::F_DUPFD, 10);
            let high_out = libc::fcntl(output, libc::F_DUPFD, 10);
            if high_in < 0
                || high_out < 0
                || libc::dup2(high_in, 3) < 0
                || libc::dup2(high_out, 4) < 0
            {
                return Err(std::io::Error::last_os_error());
            }
            libc::close(high_in);
            libc::close(high_out);
            Ok(())
        });
    }
    let child = command.spawn()?;
    drop((browser_reads, browser_writes));
    Ok((child, File::from(we_write), File::from(we_read)))
}

/// The resident memory of `root` and its descendants: each process's anonymous pages
/// (`statm` resident − shared) plus the largest shared (file-backed) part once. Summing VmRSS
/// would count the ~200 MB browser binary in every process: 914 MB for an idle browser whose
/// proportional set size is 373 MB.
pub(super) fn tree_rss(root: u32) -> u64 {
    // SAFETY: sysconf has no preconditions.
    let page = u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    let (mut private, mut shared) = (0u64, 0u64);
    let mut stack = vec![root];
    let mut seen = 0;
    while let Some(pid) = stack.pop() {
        seen += 1;
        if seen > 4096 {
            break;
        }
        if let Ok(statm) = std::fs::read_to_string(format!("/proc/{pid}/statm")) {
            let mut fields = statm
                .split_whitespace()
                .skip(1)
                .map(|f| f.parse::<u64>().unwrap_or(0));
            let (resident, shares) = (fields.next().unwrap_or(0), fields.next().unwrap_or(0));
            private += resident.saturating_sub(shares) * page;
            shared = shared.max(shares * page);
        }
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let children =
                std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            stack.extend(
                children
                    .split_whitespace()
                    .filter_map(|c| c.parse::<u32>().ok()),
            );
        }
    }
    private + shared
}
