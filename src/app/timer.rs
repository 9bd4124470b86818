//! The talk timer: the talk clock with pauses and resets (`s`, `S`), kept apart from the
//! presenter's monotonic clock because runs are timed by that one and must not jump.

use std::time::Duration;

/// Elapsed talk time, as a function of the presenter's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timer {
    /// Time counted before the last resume.
    base: Duration,
    /// The clock reading at the last resume; `None` while paused.
    since: Option<Duration>,
}

impl Timer {
    /// A timer that runs from clock reading `now`.
    pub fn running(now: Duration) -> Timer {
        Timer {
            base: Duration::ZERO,
            since: Some(now),
        }
    }

    pub fn elapsed(&self, now: Duration) -> Duration {
        self.base + self.since.map_or(Duration::ZERO, |s| now.saturating_sub(s))
    }

    pub fn paused(&self) -> bool {
        self.since.is_none()
    }

    pub fn toggle(&mut self, now: Duration) {
        match self.since.take() {
            Some(s) => self.base += now.saturating_sub(s),
            None => self.since = Some(now),
        }
    }

    /// Back to zero, keeping it paused or running.
    pub fn reset(&mut self, now: Duration) {
        self.base = Duration::ZERO;
        if self.since.is_some() {
            self.since = Some(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pause_resume_reset() {
        let s = Duration::from_secs;
        let mut t = Timer::running(s(0));
        assert_eq!(t.elapsed(s(10)), s(10));
        t.toggle(s(10));
        assert!(t.paused());
        assert_eq!(t.elapsed(s(50)), s(10));
        t.toggle(s(50));
        assert_eq!(t.elapsed(s(55)), s(15));
        t.reset(s(55));
        assert_eq!(t.elapsed(s(60)), s(5));
    }
}
