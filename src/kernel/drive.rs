//! Driving one run to its end without a presenter: the single loop that `run`, `check` and the
//! tests use. It folds the run's messages into a [`RunOutput`], stops the run on a timeout, on
//! Ctrl-C or on the caller's own rule (check's "healthy server"), escalates to a kill when a
//! stopped run does not end, and returns once the interpreter has exited and its output is in.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::pool::STOP_GRACE;
use super::process::{ChildMsg, Interp};
use crate::app::output::RunOutput;

/// What feeds a run: a live interpreter or a recording played back.
pub trait Feed {
    /// A graceful stop (cancel, then SIGINT, then SIGKILL after the grace second).
    fn stop(&self);
    /// The last resort for a run that did not end after being stopped.
    fn kill(&self) {}
}

impl Feed for Interp {
    fn stop(&self) {
        Interp::stop(self, STOP_GRACE);
    }

    fn kill(&self) {
        Interp::kill(self);
    }
}

/// One wait for the next message.
pub enum Next {
    Msg(ChildMsg),
    /// Nothing arrived in time.
    Idle,
    /// The sender is gone: nothing more will come.
    Closed,
}

/// Why the driver stopped the run itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Timeout,
    /// SIGINT/SIGTERM reached the driving process.
    Interrupted,
    /// The caller's own rule asked for it.
    Asked,
}

/// When to stop a run that has not ended by itself.
pub struct Limits<'a> {
    pub timeout: Option<Duration>,
    pub interrupted: &'a AtomicBool,
}

/// How the drive ended: whether (and when, in seconds since the start) it stopped the run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ended {
    pub stopped: Option<(Stop, f64)>,
}

/// How often the limits are looked at while the run is quiet.
const POLL: Duration = Duration::from_millis(10);

/// Drives a run until its interpreter has exited (or, after a stop, until it had five grace
/// periods to do so and was killed). `on_msg` sees every message after it was folded into
/// `out`; `stop_when` is the caller's own reason to stop ([`Stop::Asked`]); `on_stop` hears
/// about a stop before the feed is told.
#[allow(clippy::too_many_arguments)]
pub fn drive<E>(
    mut next: impl FnMut(Duration) -> Next,
    feed: &dyn Feed,
    out: &mut RunOutput,
    started: Instant,
    limits: Limits<'_>,
    mut on_msg: impl FnMut(&ChildMsg, &RunOutput) -> Result<(), E>,
    mut stop_when: impl FnMut(&RunOutput, Instant) -> bool,
    mut on_stop: impl FnMut(Stop) -> Result<(), E>,
) -> Result<Ended, E> {
    let mut stopped: Option<(Stop, Instant)> = None;
    let mut ended = Ended { stopped: None };
    loop {
        match next(POLL) {
            Next::Msg(msg) => {
                let exited = matches!(msg, ChildMsg::Exited { .. });
                out.apply(&msg);
                on_msg(&msg, out)?;
                if exited {
                    break;
                }
            }
            Next::Idle => {}
            Next::Closed => break,
        }
        let now = Instant::now();
        match stopped {
            None => {
                let why = if limits.interrupted.load(Ordering::SeqCst) {
                    Some(Stop::Interrupted)
                } else if limits.timeout.is_some_and(|t| now - started >= t) {
                    Some(Stop::Timeout)
                } else if stop_when(out, now) {
                    Some(Stop::Asked)
                } else {
                    None
                };
                if let Some(why) = why {
                    ended.stopped = Some((why, (now - started).as_secs_f64()));
                    out.stop_requested = true;
                    on_stop(why)?;
                    feed.stop();
                    stopped = Some((why, now));
                }
            }
            // The stop escalates to SIGKILL after STOP_GRACE; this only guards against a
            // run that cannot even be killed (or a replay that ignores its stop).
            Some((_, at)) if now - at > STOP_GRACE * 5 => {
                feed.kill();
                break;
            }
            Some(_) => {}
        }
    }
    Ok(ended)
}

/// [`Next`] from a channel of one run's messages.
pub fn from_channel(rx: &std::sync::mpsc::Receiver<ChildMsg>, wait: Duration) -> Next {
    match rx.recv_timeout(wait) {
        Ok(m) => Next::Msg(m),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Next::Idle,
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Next::Closed,
    }
}
