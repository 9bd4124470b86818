//! Key → frame latency measured inside the presenter, for the benchmarks (bench/web.sh): from
//! the moment the input thread has a key to the moment the frame answering it has been written
//! to the terminal. Off unless the internal variable `TRIO_PRESENT_KEY_TRACE` names a file (not
//! a user option); then each answered key appends one line, `KEY MICROSECONDS`.
//!
//! A probe in a pseudo-terminal measures what the speaker sees, but on a machine that also
//! runs the load (two hundred web viewers, say) it measures the probe's own wait for the CPU
//! too; this measures only the presenter's part.

use std::io::Write;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// The variable naming the trace file.
const ENV: &str = "TRIO_PRESENT_KEY_TRACE";

struct Trace {
    file: std::fs::File,
    /// The first key not yet answered by a frame, with when the input thread had it.
    pending: Option<(String, Instant)>,
}

fn trace() -> Option<&'static Mutex<Trace>> {
    static TRACE: OnceLock<Option<Mutex<Trace>>> = OnceLock::new();
    TRACE
        .get_or_init(|| {
            let path = std::env::var_os(ENV).filter(|p| !p.is_empty())?;
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .ok()?;
            Some(Mutex::new(Trace {
                file,
                pending: None,
            }))
        })
        .as_ref()
}

/// The input thread has a key (`name`, e.g. `Right`).
pub fn key(name: impl FnOnce() -> String) {
    if let Some(t) = trace() {
        let mut t = t.lock().unwrap_or_else(|e| e.into_inner());
        if t.pending.is_none() {
            t.pending = Some((name(), Instant::now()));
        }
    }
}

/// A frame has been written: it answers the pending key, if any.
pub fn frame_written() {
    if let Some(t) = trace() {
        let mut t = t.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((name, at)) = t.pending.take() {
            let micros = at.elapsed().as_micros();
            let _ = writeln!(t.file, "{name} {micros}");
        }
    }
}
