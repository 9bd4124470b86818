//! Test helpers: the real binary, in a real pseudo-terminal, with its screen read back through
//! a VT100 emulator (vt100), so tests see what a speaker would see.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_trio-present");

/// The binary, with its data directory (recordings, approvals) in a temporary directory of
/// this test process: tests must neither read nor fill the user's own, nor see each other's
/// recordings through it; the config directory is an empty one. A test that needs its own
/// sets `XDG_DATA_HOME` / `XDG_CONFIG_HOME` after this. The
/// cache (the provisioned trio) stays shared: provisioning once is the point of it.
pub fn bin() -> Command {
    static DATA: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let data = DATA.get_or_init(|| tempfile::tempdir().expect("temporary data directory"));
    let mut cmd = Command::new(BIN);
    cmd.env("XDG_DATA_HOME", data.path().join("data"));
    // Nor may the user's config file change what tests see.
    cmd.env("XDG_CONFIG_HOME", data.path().join("config"));
    cmd
}

/// The reference deck shipped with the project.
pub fn reference_deck() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("slides/trio.md")
}

/// A program running in a pseudo-terminal.
pub struct Pty {
    pub child: Child,
    master: std::fs::File,
    slave: OwnedFd,
    screen: Arc<Mutex<vt100::Parser>>,
    pub started: Instant,
    /// Every byte the program wrote to the terminal, once [`Pty::record_raw`] asked for it.
    raw: Arc<Mutex<Vec<u8>>>,
    recording: Arc<AtomicBool>,
}

impl Pty {
    pub fn spawn(args: &[&str], cols: u16, rows: u16) -> Pty {
        Self::spawn_env(args, cols, rows, &[])
    }

    pub fn spawn_env(args: &[&str], cols: u16, rows: u16, env: &[(&str, &str)]) -> Pty {
        let (mut m, mut s): (RawFd, RawFd) = (-1, -1);
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: openpty fills two fds we then own.
        let rc =
            unsafe { libc::openpty(&mut m, &mut s, std::ptr::null_mut(), std::ptr::null(), &ws) };
        assert_eq!(rc, 0, "openpty failed");
        let slave = unsafe { OwnedFd::from_raw_fd(s) };
        let master = unsafe { std::fs::File::from_raw_fd(m) };
        let mut cmd = bin();
        cmd.args(args).env("TERM", "xterm-256color");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let dup = |fd: RawFd| unsafe { Stdio::from_raw_fd(libc::dup(fd)) };
        cmd.stdin(dup(s)).stdout(dup(s)).stderr(dup(s));
        // SAFETY: async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                libc::ioctl(0, libc::TIOCSCTTY as _, 0);
                Ok(())
            });
        }
        let child = cmd.spawn().expect("spawn trio-present");
        let screen = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let reader_screen = screen.clone();
        let raw = Arc::new(Mutex::new(Vec::new()));
        let recording = Arc::new(AtomicBool::new(false));
        let (reader_raw, reader_recording) = (raw.clone(), recording.clone());
        let mut reader = master.try_clone().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if reader_recording.load(Ordering::SeqCst) {
                            reader_raw.lock().unwrap().extend_from_slice(&buf[..n]);
                        }
                        reader_screen.lock().unwrap().process(&buf[..n])
                    }
                }
            }
        });
        Pty {
            child,
            master,
            slave,
            screen,
            started: Instant::now(),
            raw,
            recording,
        }
    }

    pub fn contents(&self) -> String {
        self.screen.lock().unwrap().screen().contents()
    }

    /// Waits until `text` is on screen; returns how long it took, or panics with the screen.
    pub fn wait_for(&self, text: &str, timeout: Duration) -> Duration {
        let start = Instant::now();
        loop {
            if self.contents().contains(text) {
                return start.elapsed();
            }
            if start.elapsed() > timeout {
                panic!(
                    "{text:?} did not appear within {timeout:?}; screen:\n{}",
                    self.contents()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits until `text` is no longer on screen.
    pub fn wait_gone(&self, text: &str, timeout: Duration) {
        let start = Instant::now();
        while self.contents().contains(text) {
            if start.elapsed() > timeout {
                panic!(
                    "{text:?} still on screen after {timeout:?}:\n{}",
                    self.contents()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.master.write_all(bytes).unwrap();
        self.master.flush().unwrap();
    }

    pub fn wait_exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader thread take the last bytes.
                std::thread::sleep(Duration::from_millis(100));
                return status;
            }
            if start.elapsed() > timeout {
                let _ = self.child.kill();
                panic!(
                    "did not exit within {timeout:?}; screen:\n{}",
                    self.contents()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Whether the terminal is back in cooked mode with echo (what a shell needs).
    pub fn cooked(&self) -> bool {
        use std::os::fd::AsRawFd;
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        let rc = unsafe { libc::tcgetattr(self.slave.as_raw_fd(), &mut t) };
        rc == 0 && t.c_lflag & libc::ICANON != 0 && t.c_lflag & libc::ECHO != 0
    }

    pub fn alternate_screen(&self) -> bool {
        self.screen.lock().unwrap().screen().alternate_screen()
    }

    pub fn cursor_hidden(&self) -> bool {
        self.screen.lock().unwrap().screen().hide_cursor()
    }

    /// From now on, keeps every byte written to the terminal (see [`Pty::raw`]).
    pub fn record_raw(&self) {
        self.recording.store(true, Ordering::SeqCst);
    }

    /// The bytes written to the terminal since [`Pty::record_raw`].
    pub fn raw(&self) -> Vec<u8> {
        self.raw.lock().unwrap().clone()
    }

    /// Sends `key` and measures how long until `expect` is on screen (polling every
    /// millisecond); panics with the screen after `timeout`.
    pub fn key_latency(&mut self, key: &[u8], expect: &str, timeout: Duration) -> Duration {
        self.key_until(key, timeout, |screen| screen.contains(expect))
    }

    /// Sends `key` and measures how long until `expect` is gone from the screen.
    pub fn key_latency_gone(&mut self, key: &[u8], gone: &str, timeout: Duration) -> Duration {
        self.key_until(key, timeout, |screen| !screen.contains(gone))
    }

    fn key_until(
        &mut self,
        key: &[u8],
        timeout: Duration,
        done: impl Fn(&str) -> bool,
    ) -> Duration {
        let start = Instant::now();
        self.send(key);
        loop {
            if done(&self.contents()) {
                return start.elapsed();
            }
            if start.elapsed() > timeout {
                panic!(
                    "no answer to {key:?} within {timeout:?}; screen:\n{}",
                    self.contents()
                );
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// The text of screen row `row` (0-based).
    pub fn row(&self, row: u16) -> String {
        let parser = self.screen.lock().unwrap();
        let (_, cols) = parser.screen().size();
        parser.screen().contents_between(row, 0, row, cols)
    }
}

/// Pids of the live (not zombie) processes whose command line contains `marker`.
pub fn processes_with(marker: &str) -> Vec<i32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(marker) && !zombie(pid) {
            found.push(pid);
        }
    }
    found
}

/// The word after the first `marker` in `text`, parsed: a number read off the screen.
pub fn word_after<T: std::str::FromStr>(text: &str, marker: &str) -> Option<T> {
    text.split(marker)
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Whether `pid` is a zombie (or gone).
pub fn zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            let state = &s[s.rfind(')').map_or(0, |i| i + 2)..];
            state.starts_with('Z') || state.starts_with('X')
        })
        .unwrap_or(true)
}

/// A field of `/proc/PID/status` in kB (`VmHWM`: the peak resident set size), if readable.
pub fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status
        .lines()
        .find(|l| l.starts_with(&format!("{field}:")))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the binary to completion and returns (status, stdout, stderr).
pub fn run(args: &[&str]) -> (i32, String, String) {
    let out = bin().args(args).output().expect("run trio-present");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Waits until `port` on loopback can be bound (a server of an earlier test may still be
/// closing it), panicking with a clear message after 20 s: the talk's own port 1234 is part
/// of what the reference deck's tests check, so it is required, not skipped.
pub fn wait_port_free(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "port {port} stays in use on this machine: the reference deck's servers need it"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs the binary to completion with `data` as its data directory (recordings, approvals);
/// returns (status, stdout, stderr).
pub fn run_with_data(data: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = bin()
        .args(args)
        .env("XDG_DATA_HOME", data)
        .output()
        .expect("run trio-present");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A data directory holding one recorded rehearsal of the reference deck's slides 12 and 37,
/// made once per test binary (`check --record`, real Python and trio).
pub fn rehearsed() -> &'static std::path::Path {
    static DATA: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DATA.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let deck = reference_deck();
        let (code, out, err) = run_with_data(
            dir.path(),
            &[
                "check",
                "--record",
                "--trust",
                deck.to_str().unwrap(),
                "--slides",
                "12,37",
            ],
        );
        assert_eq!(code, 0, "{out}{err}");
        assert!(err.contains("recorded 2 runs"), "{err}");
        dir
    })
    .path()
}
