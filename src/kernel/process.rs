//! One harness interpreter as a child process: spawning it with the protocol pipes on fd 3/4
//! (and the harness's own modules on fd 5, see [`super::harness`]) in its own process group, reader threads that drain every pipe promptly (a parent that stops
//! reading would freeze the demo's trio loop), a waiter thread that reaps it and kills what is
//! left of its group, and stopping it (cancel, SIGINT, SIGKILL).
//!
//! The run is reported over ([`ChildMsg::Exited`]) once the interpreter has exited *and* its
//! pipes are drained, so the last lines come before the verdict. A process that escaped the
//! group kill (a demo that started a new session) may keep a pipe open: the readers give it
//! up [`LINGER`] after the interpreter exited instead of waiting for ever.

use crate::log::Logged;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use super::harness::{self, MODULES_FD};
use super::protocol::{Command, Event};
use super::python::Interpreter;
use super::reaper;

pub use super::protocol::{COMMANDS_FD, EVENTS_FD};

/// How long the readers keep reading a pipe after the interpreter exited and its group was
/// killed. Normally every pipe is at end of file at once; only a process outside the group
/// (started with `setsid`) can hold one open longer.
pub const LINGER: Duration = Duration::from_millis(500);

/// How long an end of file on fd 1/2 may precede the interpreter's exit before it counts as
/// the demo closing that fd (an exiting process closes its fds a moment before it is reaped).
const CLOSE_GRACE: Duration = Duration::from_millis(300);

/// What a child's threads report, tagged with the child's id by the sink.
#[derive(Debug, Clone, PartialEq)]
pub enum ChildMsg {
    /// A protocol event from fd 3.
    Event(Event),
    /// Several events that were waiting in the pipe at once (under a flood, one channel message
    /// per read instead of one per line keeps the presenter's wake-ups down).
    Events(Vec<Event>),
    /// Bytes written to fd 1 or 2 outside the harness (C code, subprocesses), decoded lossily.
    Raw { stream: &'static str, text: String },
    /// A line on fd 3 that was not a valid event.
    ProtocolError(String),
    /// The interpreter exited; `done` tells whether it sent its `done` event first.
    Exited {
        code: Option<i32>,
        signal: Option<i32>,
        done: bool,
    },
}

/// Where a child's messages go: the app's event channel, tagged with the child id.
pub type Sink = Arc<dyn Fn(u64, ChildMsg) + Send + Sync>;

/// A running harness interpreter.
pub struct Interp {
    pub id: u64,
    pub pid: i32,
    commands: Mutex<Option<std::io::PipeWriter>>,
    /// The demo's stdin (fd 0): lines the speaker types; dropped for end of file.
    stdin: Mutex<Option<std::process::ChildStdin>>,
    exited: Arc<AtomicBool>,
}

impl Interp {
    /// Starts a harness interpreter; it imports trio and then waits for a `run` command.
    pub fn spawn(interp: &Interpreter, id: u64, sink: Sink) -> std::io::Result<Interp> {
        let (ev_r, ev_w) = std::io::pipe()?;
        let (cmd_r, cmd_w) = std::io::pipe()?;
        let (mod_r, mod_w) = std::io::pipe()?;
        let mut cmd = interp.command();
        cmd.arg("-c")
            .arg(harness::BOOTSTRAP)
            .env("TRIO_PRESENT_EVENTS_FD", EVENTS_FD.to_string())
            .env("TRIO_PRESENT_COMMANDS_FD", COMMANDS_FD.to_string())
            .env("TRIO_PRESENT_MODULES_FD", MODULES_FD.to_string())
            // A pipe, so that input() in a demo gets what the speaker types (see
            // `Interp::send_input`); nothing is written until then, so it waits, like a
            // program in a terminal.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let fds = [ev_w.as_raw_fd(), cmd_r.as_raw_fd(), mod_r.as_raw_fd()];
        let watchdog = super::watchdog::Launcher::new();
        // SAFETY: between fork and exec we only call async-signal-safe libc functions.
        unsafe {
            cmd.pre_exec(move || {
                place_fds(fds)?;
                if let Some(w) = &watchdog {
                    // The group first (std may set it only after this hook), so that the
                    // watchdog is born in it and dies with it.
                    libc::setpgid(0, 0);
                    w.launch()?;
                }
                // After the watchdog started (it must not be our child): every orphan of the
                // demo now stays below us, where a tree kill finds it (see reaper.rs).
                libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
                Ok(())
            });
        }
        let mut child = cmd.spawn()?;
        // Our copies of the child's ends must go, or we would never see EOF on the pipes.
        drop(ev_w);
        drop(cmd_r);
        drop(mod_r);
        // The harness's modules (~80 KB) do not fit in every pipe's buffer, and the child
        // reads them only once Python is up: a thread writes them, so spawning never waits.
        // A child that dies first makes the write fail, which ends the thread.
        let writer = std::thread::Builder::new()
            .name("harness modules".into())
            .spawn(move || {
                let mut mod_w = mod_w;
                mod_w
                    .write_all(harness::bundle())
                    .logged("sending the harness modules");
            });
        if let Err(e) = writer {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
        let pid = child.id() as i32;
        reaper::register(pid);
        let exited = Arc::new(AtomicBool::new(false));
        // Its write end is dropped by the waiter once the interpreter is reaped: a hang-up the
        // readers can wait for together with their pipe.
        let (gone_r, gone_w) = std::io::pipe()?;
        let gone = Arc::new(OwnedFd::from(gone_r));
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        // The raw readers hold these senders; when both have hung up, their output is in.
        let (raw_tx, raw_done) = mpsc::channel::<()>();
        for (stream, pipe) in [("stdout", OwnedFd::from(stdout)), ("stderr", stderr.into())] {
            let pipe = Watched::new(pipe, gone.clone());
            spawn_raw_reader(id, stream, pipe, raw_tx.clone(), sink.clone());
        }
        drop(raw_tx);
        let status = spawn_waiter(child, exited.clone(), gone_w);
        let events = Watched::new(OwnedFd::from(ev_r), gone);
        spawn_event_reader(id, events, status, raw_done, sink);
        Ok(Interp {
            id,
            pid,
            commands: Mutex::new(Some(cmd_w)),
            stdin: Mutex::new(stdin),
            exited,
        })
    }

    /// Sends a command; a child that already went away is not an error worth reporting here
    /// (its exit arrives as [`ChildMsg::Exited`]).
    pub fn send(&self, command: &Command) {
        let mut guard = self.commands.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(w) = guard.as_mut() {
            if w.write_all(command.to_line().as_bytes()).is_err() {
                *guard = None;
            }
        }
    }

    /// Writes `bytes` to the demo's stdin. Blocks while the pipe is full (the demo does not
    /// read): callers with much to send do it from a thread of their own.
    pub fn send_input(&self, bytes: &[u8]) -> std::io::Result<()> {
        let mut guard = self.stdin.lock().unwrap_or_else(|e| e.into_inner());
        match guard.as_mut() {
            Some(w) => {
                // Never block the presenter on a demo that does not read: a full pipe is an
                // error to show, not a frozen screen.
                // SAFETY: plain fcntl on a pipe we own.
                unsafe {
                    let fd = w.as_raw_fd();
                    libc::fcntl(
                        fd,
                        libc::F_SETFL,
                        libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK,
                    );
                }
                w.write_all(bytes).inspect_err(|e| {
                    if e.kind() == std::io::ErrorKind::BrokenPipe {
                        *guard = None;
                    }
                })
            }
            None => Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the demo's input is closed",
            )),
        }
    }

    /// Closes the demo's stdin: its next read gets end of file.
    pub fn close_input(&self) {
        self.stdin.lock().unwrap_or_else(|e| e.into_inner()).take();
    }

    /// A handle on the demo's stdin for a thread that copies into it (headless `run`).
    pub fn take_input(&self) -> Option<std::process::ChildStdin> {
        self.stdin.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    pub fn has_exited(&self) -> bool {
        self.exited.load(Ordering::SeqCst)
    }

    /// Graceful stop: cancel the root scope and interrupt the process group (reaches
    /// `time.sleep` and busy loops); SIGKILL the group after `grace` if it is still alive.
    pub fn stop(&self, grace: Duration) {
        self.send(&Command::Cancel);
        if !self.has_exited() {
            // SAFETY: plain syscall on the group we created.
            unsafe { libc::killpg(self.pid, libc::SIGINT) };
        }
        let (pid, exited) = (self.pid, self.exited.clone());
        std::thread::spawn(move || {
            std::thread::sleep(grace);
            if !exited.load(Ordering::SeqCst) {
                reaper::kill_tree(pid);
            }
        });
    }

    /// Waits (polling, briefly) until the interpreter has been reaped; false on timeout.
    pub fn wait_exited(&self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        while !self.has_exited() {
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        true
    }

    /// Ends the interpreter and everything it started, now.
    pub fn kill(&self) {
        if !self.has_exited() {
            reaper::kill_tree(self.pid);
        }
    }
}

impl Drop for Interp {
    fn drop(&mut self) {
        self.kill();
    }
}

/// In the child before exec: move the pipe ends to fds 3, 4 and 5 (events, commands, modules)
/// and restore default SIGINT.
fn place_fds(fds: [RawFd; 3]) -> std::io::Result<()> {
    // SAFETY: async-signal-safe calls only; fds are valid in the child.
    unsafe {
        // Duplicate above 10 first so that dup2 onto 3/4/5 cannot clobber another end, and so
        // that the copies lose close-on-exec.
        let mut high = [0; 3];
        for (h, fd) in high.iter_mut().zip(fds) {
            *h = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 10);
            if *h < 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        for (h, target) in high.into_iter().zip([EVENTS_FD, COMMANDS_FD, MODULES_FD]) {
            if libc::dup2(h, target) < 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        libc::signal(libc::SIGINT, libc::SIG_DFL);
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    Ok(())
}

/// Reaps the interpreter, then kills what is left of its group (the demo's subprocesses):
/// nothing the demo started outlives its run, and the pipes those processes inherited close.
fn spawn_waiter(
    mut child: Child,
    exited: Arc<AtomicBool>,
    gone: std::io::PipeWriter,
) -> mpsc::Receiver<Option<ExitStatus>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let pid = child.id() as i32;
        let status = child.wait().ok();
        exited.store(true, Ordering::SeqCst);
        reaper::kill_group(pid);
        reaper::unregister(pid);
        drop(gone);
        let _ = tx.send(status);
    });
    rx
}

/// A pipe from the interpreter whose reads also end (as end of file) [`LINGER`] after the
/// interpreter is gone, and which can tell whether its end of file came first.
struct Watched {
    pipe: std::fs::File,
    /// Hangs up when the interpreter has been reaped (see [`spawn_waiter`]).
    gone: Arc<OwnedFd>,
    /// When reading gives up, once the interpreter is gone.
    deadline: Option<Instant>,
}

impl Watched {
    fn new(pipe: OwnedFd, gone: Arc<OwnedFd>) -> Watched {
        Watched {
            pipe: pipe.into(),
            gone,
            deadline: None,
        }
    }

    /// Whether the interpreter is still running `grace` after this pipe's end of file, i.e.
    /// the demo closed its end rather than exiting.
    fn closed_by_demo(&self, grace: Duration) -> bool {
        self.deadline.is_none() && poll_in(&[self.gone.as_raw_fd()], Some(grace)) == 0
    }
}

impl Read for Watched {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let left = self
                .deadline
                .map(|d| d.saturating_duration_since(Instant::now()));
            if left == Some(Duration::ZERO) {
                return Ok(0);
            }
            // Once the interpreter is gone its fd stays readable (hung up): stop asking.
            let gone = if self.deadline.is_some() {
                -1
            } else {
                self.gone.as_raw_fd()
            };
            match poll_in(&[self.pipe.as_raw_fd(), gone], left) {
                1 => return self.pipe.read(buf),
                2 => self.deadline = Some(Instant::now() + LINGER),
                _ => {}
            }
        }
    }
}

/// Waits until one of `fds` (a negative fd is ignored) is readable or hung up; returns the
/// 1-based index of the first that is, or 0 on timeout. Should poll itself fail, the answer
/// is 1, so that the caller reads (and meets the error there) instead of spinning.
fn poll_in(fds: &[RawFd], timeout: Option<Duration>) -> usize {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    // (Rounded up: a timeout cut to 0 ms would spin until the deadline.)
    let ms = timeout.map_or(-1, |t| {
        t.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
    });
    loop {
        // SAFETY: pfds is a valid array of pollfd for the duration of the call.
        let rc = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) };
        if rc < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return 1;
        }
        return pfds
            .iter()
            .position(|p| p.revents != 0)
            .map_or(0, |i| i + 1);
    }
}

fn spawn_event_reader(
    id: u64,
    events: Watched,
    status: mpsc::Receiver<Option<ExitStatus>>,
    raw_done: mpsc::Receiver<()>,
    sink: Sink,
) {
    std::thread::spawn(move || {
        let mut done = false;
        let mut reader = BufReader::with_capacity(64 * 1024, events);
        let mut line = Vec::new();
        let mut batch: Vec<Event> = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&line);
                    let text = text.trim_end_matches('\n');
                    if !text.is_empty() {
                        match Event::parse(text) {
                            Ok(ev) => {
                                done |= matches!(ev, Event::Done { .. });
                                batch.push(ev);
                            }
                            Err(e) => sink(id, ChildMsg::ProtocolError(e)),
                        }
                    }
                }
            }
            // Send once nothing more is waiting in our buffer, so a lone event goes out at
            // once and a burst goes out together.
            if reader.buffer().is_empty() && !batch.is_empty() {
                let msg = if batch.len() == 1 {
                    ChildMsg::Event(batch.pop().expect("one event"))
                } else {
                    ChildMsg::Events(std::mem::take(&mut batch))
                };
                sink(id, msg);
            }
        }
        if !batch.is_empty() {
            sink(id, ChildMsg::Events(batch));
        }
        let status = status.recv().ok().flatten();
        // What the demo's subprocesses printed last comes before the verdict (the raw readers
        // end at once normally, LINGER after the exit at the latest).
        let _ = raw_done.recv_timeout(LINGER + Duration::from_millis(100));
        sink(
            id,
            ChildMsg::Exited {
                code: status.and_then(|s| s.code()),
                signal: status.and_then(|s| s.signal()),
                done,
            },
        );
    });
}

fn spawn_raw_reader(
    id: u64,
    stream: &'static str,
    mut pipe: Watched,
    done: mpsc::Sender<()>,
    sink: Sink,
) {
    std::thread::spawn(move || {
        // Held until this thread ends: the event reader waits for that before the verdict.
        let _done = done;
        let mut buf = vec![0u8; 16 * 1024];
        let mut carry: Vec<u8> = Vec::new();
        loop {
            let n = match pipe.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            carry.extend_from_slice(&buf[..n]);
            let text = take_utf8(&mut carry);
            if !text.is_empty() {
                sink(id, ChildMsg::Raw { stream, text });
            }
        }
        if !carry.is_empty() {
            sink(
                id,
                ChildMsg::Raw {
                    stream,
                    text: String::from_utf8_lossy(&carry).into_owned(),
                },
            );
        }
        if pipe.closed_by_demo(CLOSE_GRACE) {
            let fd = if stream == "stdout" { 1 } else { 2 };
            let text = format!(
                "the demo closed its {stream} (fd {fd}): what its subprocesses write there is lost"
            );
            sink(id, ChildMsg::Event(Event::Info { t: 0.0, text }));
        }
    });
}

/// Decodes as much of `bytes` as is complete, leaving an unfinished multi-byte character (at
/// most 3 bytes) for the next read; invalid bytes become U+FFFD.
fn take_utf8(bytes: &mut Vec<u8>) -> String {
    let keep = match std::str::from_utf8(bytes) {
        Ok(_) => 0,
        Err(e) if e.error_len().is_none() => bytes.len() - e.valid_up_to(),
        Err(_) => 0,
    };
    let rest = bytes.split_off(bytes.len() - keep);
    let text = String::from_utf8_lossy(bytes).into_owned();
    *bytes = rest;
    text
}

#[cfg(test)]
mod tests {
    use super::take_utf8;

    #[test]
    fn utf8_split_across_reads_is_joined() {
        let all = "ಠ_ಠ".as_bytes();
        let mut carry = all[..2].to_vec();
        assert_eq!(take_utf8(&mut carry), "");
        carry.extend_from_slice(&all[2..]);
        assert_eq!(take_utf8(&mut carry), "ಠ_ಠ");
        let mut bad = vec![b'a', 0xff, b'b'];
        assert_eq!(take_utf8(&mut bad), "a\u{fffd}b");
    }
}
