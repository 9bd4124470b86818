//! Running a short-lived child (the probe, pip) to completion with its output captured and a
//! time limit that kills its whole process group.

use std::io::{self, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub(super) struct Ran {
    /// `None` when the time limit killed it.
    pub(super) status: Option<ExitStatus>,
    pub(super) stdout: String,
    pub(super) stderr: String,
}

/// Runs `cmd` to completion with its output captured, killing its whole process group after
/// `limit` (pip may start children of its own).
pub(super) fn run_limited(cmd: &mut Command, limit: Duration) -> io::Result<Ran> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Its own group: killable as a whole, and a Ctrl-C in the terminal is ours to handle.
        cmd.process_group(0);
    }
    let mut child = cmd.spawn()?;
    let (tx, rx) = mpsc::channel();
    let mut open = 0;
    if let Some(pipe) = child.stdout.take() {
        drain(pipe, 0, tx.clone());
        open += 1;
    }
    if let Some(pipe) = child.stderr.take() {
        drain(pipe, 1, tx.clone());
        open += 1;
    }
    drop(tx);
    let deadline = Instant::now() + limit;
    let mut bufs = [Vec::new(), Vec::new()];
    let mut timed_out = false;
    // Waiting on the pipes' EOF (not polling) keeps the fast path fast.
    while open > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((i, b)) => {
                bufs[i] = b;
                open -= 1;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                timed_out = true;
                break;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    // The pipes are closed, so the child has (almost always) exited; a daemonising child that
    // closed its output still gets the remaining time.
    let status = if timed_out {
        None
    } else {
        wait_until(&mut child, deadline)?
    };
    if status.is_none() {
        kill_tree(&mut child);
        let _ = child.wait();
    }
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    Ok(Ran {
        status,
        stdout: text(&bufs[0]),
        stderr: text(&bufs[1]),
    })
}

/// Reads `pipe` to EOF on its own thread and sends the bytes, tagged `i`, to `tx`.
fn drain(mut pipe: impl Read + Send + 'static, i: usize, tx: mpsc::Sender<(usize, Vec<u8>)>) {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        let _ = tx.send((i, buf));
    });
}

/// The child's exit status, or `None` if it is still running at `deadline`.
fn wait_until(child: &mut Child, deadline: Instant) -> io::Result<Option<ExitStatus>> {
    loop {
        if let Some(st) = child.try_wait()? {
            return Ok(Some(st));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn kill_tree(child: &mut Child) {
    #[cfg(unix)]
    {
        if let Ok(pid) = i32::try_from(child.id()) {
            // SAFETY: plain syscall on the group we created for this child.
            unsafe { libc::killpg(pid, libc::SIGKILL) };
        }
    }
    let _ = child.kill();
}

/// The last line worth showing from a child's stderr (skipping pip's warnings and notices).
pub(super) fn last_line(stderr: &str) -> String {
    let lines = || stderr.lines().map(str::trim).filter(|l| !l.is_empty());
    lines()
        .rfind(|l| !l.starts_with("WARNING:") && !l.starts_with("[notice]"))
        .or_else(|| lines().next_back())
        .unwrap_or("no error output")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_line_skips_pip_noise() {
        let err =
            "ERROR: No matching distribution found for trio==9\nWARNING: Running pip as root\n";
        assert_eq!(
            last_line(err),
            "ERROR: No matching distribution found for trio==9"
        );
        assert_eq!(last_line(""), "no error output");
    }
}
