//! What the presenter and its speaker windows say to each other over the socket: one JSON
//! object per line. The presenter sends its [`State`] whenever it changes (and to each window
//! as it connects); a speaker window sends [`Cmd`]s, which the presenter carries out as if its
//! own keys had been pressed, so both windows always show the same slide.

use serde::{Deserialize, Serialize};

use crate::app::keys::Action;
use crate::app::output::RunStatus;
use crate::app::App;

/// Output lines of the current run that a speaker window is sent.
pub const TAIL_LINES: usize = 12;

/// A request from a speaker window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Cmd {
    /// Do what this key does on the presenter (only the [`remote_allowed`] ones).
    Act { action: Action },
    /// Go to slide `slide` (1-based).
    Go { slide: usize },
    /// Not sent over the wire: a speaker window connected, so the presenter's loop wakes up
    /// and sends it the state.
    #[serde(skip)]
    Joined,
}

/// Actions a speaker window may ask for. Quitting, help and the client panes stay with the
/// keyboard of the audience screen.
pub fn remote_allowed(action: Action) -> bool {
    use Action::*;
    matches!(
        action,
        Next | Prev
            | First
            | Last
            | ScrollDown
            | ScrollUp
            | OutputUp
            | OutputDown
            | Run
            | Escape
            | Interrupt
            | ToggleTimes
            | ToggleTree
            | ToggleTimeline
            | Blank
            | TimerPause
            | TimerReset
            | Language
            | ToggleClock
    )
}

/// Everything a speaker window shows that only the presenter knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct State {
    /// 1-based slide on the audience screen, and the deck's slide count there.
    pub slide: usize,
    pub total: usize,
    pub blank: bool,
    /// The talk timer in whole seconds, whether it is paused, and the planned length.
    pub timer_s: u64,
    pub paused: bool,
    pub duration_s: Option<u64>,
    /// The presenter is asking whether the deck's code may run.
    pub consent: bool,
    pub notice: Option<String>,
    /// The run of the current slide, if it has one.
    pub run: Option<RunState>,
    /// The canonical path of the deck on screen, and its language label when the talk has
    /// several: the window shows that deck's notes (absent from older presenters).
    #[serde(default)]
    pub deck: Option<std::path::PathBuf>,
    #[serde(default)]
    pub lang: Option<String>,
}

/// A run as the speaker window shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RunState {
    /// `starting`, `running`, `done`, `error`, `stopped` or `died`.
    pub status: String,
    /// Seconds it has run (to a tenth, so a quiet demo sends ten states a second at most).
    pub secs: f64,
    /// The last lines of its output (`time  task  text`).
    pub lines: Vec<String>,
}

impl State {
    pub fn of(app: &App) -> State {
        let run = app.current_output().map(|out| {
            let (status, secs) = match &out.status {
                RunStatus::Starting => ("starting", 0.0),
                RunStatus::Running => ("running", out.elapsed()),
                RunStatus::Ok => ("done", out.last_t),
                RunStatus::Error => ("error", out.last_t),
                RunStatus::Stopped => ("stopped", out.last_t),
                RunStatus::Died(_) => ("died", out.last_t),
            };
            let lines = out
                .lines
                .iter()
                .rev()
                .take(TAIL_LINES)
                .rev()
                .map(|l| crate::headless::format_line(out, l))
                .collect();
            RunState {
                status: status.into(),
                secs: (secs * 10.0).round() / 10.0,
                lines,
            }
        });
        State {
            slide: app.slide_number(),
            total: app.deck.slides.len(),
            blank: app.blank,
            timer_s: app.timer.elapsed(app.talk_clock).as_secs(),
            paused: app.timer.paused(),
            duration_s: app.duration.map(|d| d.as_secs()),
            consent: app.consent.is_some(),
            notice: app.notice.clone(),
            run,
            deck: app
                .languages
                .current_path()
                .map(std::path::Path::to_path_buf),
            lang: app.languages.label(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_round_trip_as_one_json_line() {
        let cmd = Cmd::Act {
            action: Action::Next,
        };
        let line = serde_json::to_string(&cmd).unwrap();
        assert_eq!(line, r#"{"cmd":"act","action":"Next"}"#);
        assert_eq!(serde_json::from_str::<Cmd>(&line).unwrap(), cmd);
        let go: Cmd = serde_json::from_str(r#"{"cmd":"go","slide":4}"#).unwrap();
        assert_eq!(go, Cmd::Go { slide: 4 });
        assert!(serde_json::from_str::<Cmd>(r#"{"cmd":"joined"}"#).is_err());
        assert!(!remote_allowed(Action::Quit));
    }
}
