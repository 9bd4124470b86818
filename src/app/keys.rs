//! Key bindings: a key press becomes an [`Action`] (data), so the bindings are one table that
//! the help overlay also reads.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Everything the speaker can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Action {
    Next,
    Prev,
    First,
    Last,
    Digit(u8),
    /// Enter: jump to the typed number, or run an exec slide.
    Enter,
    ScrollDown,
    ScrollUp,
    OutputUp,
    OutputDown,
    Run,
    /// Play the slide's recording (on a replay: run live again).
    Replay,
    /// Esc: stop a demo, close help, clear a typed number.
    Escape,
    /// Ctrl-c: stop a demo, or quit when nothing runs.
    Interrupt,
    ToggleHelp,
    ToggleTimes,
    /// The task tree beside the output.
    ToggleTree,
    /// The timeline of the run's tasks.
    ToggleTimeline,
    /// Open a built-in client to the demo's listening port.
    OpenClient,
    /// Type into the client panes (Tab).
    FocusClients,
    /// Blank the audience screen, or bring it back (`b`, `.`).
    Blank,
    /// The overview of all slides (`o`), or straight into its search (`/`).
    Overview,
    Search,
    /// Pause or resume the talk timer; reset it to zero.
    TimerPause,
    TimerReset,
    /// Edit the slide's (picked) exec block in the presenter (`e`) or in `$EDITOR` (`E`).
    Edit,
    EditExternal,
    /// Drop the speaker's edit of the block: back to the deck's code (`u`).
    Revert,
    /// Write the edited block back into the deck file (`W`).
    WriteBack,
    /// Step to the next / previous exec block of the slide, to run just that one (`}` `{`).
    PickNext,
    PickPrev,
    /// Type into the running demo's stdin (`i`).
    FocusInput,
    Quit,
}

/// The help overlay's rows: keys and what they do.
pub const HELP: &[(&str, &str)] = &[
    ("→ Space l n PgDn", "next slide"),
    ("← Backspace h p PgUp", "previous slide"),
    ("Home g / End G", "first / last slide"),
    ("12 Enter", "jump to slide 12"),
    ("j k ↓ ↑", "scroll a tall slide"),
    ("r Ctrl-e (Enter)", "run the slide's code"),
    (
        "R",
        "play the rehearsal's recording (on a replay: run live)",
    ),
    ("Esc Ctrl-c", "stop the running demo"),
    ("[ ]", "scroll the output (] at the end follows)"),
    ("t", "timestamps on/off"),
    ("T", "task tree on/off"),
    ("v", "timeline of the tasks on/off"),
    (
        "c",
        "open a client to the demo's server (typing goes to it)",
    ),
    ("Tab", "type into the clients / next client"),
    ("in a client: Enter", "send the line; Ctrl-d sends EOF"),
    ("in a client: Ctrl-w / Esc", "close it / back to the slides"),
    ("b .", "blank the screen / bring it back"),
    ("o", "overview of all slides (Enter jumps)"),
    ("/", "search slide text and notes"),
    ("s / S", "pause or resume / reset the talk timer"),
    (
        "e / E  u  W",
        "edit the block here / in $EDITOR · revert · write it to the deck",
    ),
    (
        "in the editor",
        "Ctrl-e run · Ctrl-s write · Ctrl-z undo · Esc done",
    ),
    (
        "} {",
        "pick one exec block: r runs only it (earlier ones set up)",
    ),
    ("i", "type into the demo's input: Enter sends, Ctrl-d EOF"),
    ("?", "this help"),
    ("q (Ctrl-c when idle)", "quit"),
];

/// Maps a key to an action; unknown keys do nothing.
pub fn action(key: KeyEvent) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    Some(match key.code {
        KeyCode::Char('c') if ctrl => Action::Interrupt,
        KeyCode::Char('e') if ctrl => Action::Run,
        _ if ctrl => return None,
        KeyCode::Right | KeyCode::Char(' ' | 'l' | 'n') | KeyCode::PageDown => Action::Next,
        KeyCode::Left | KeyCode::Backspace | KeyCode::Char('h' | 'p') | KeyCode::PageUp => {
            Action::Prev
        }
        KeyCode::Home | KeyCode::Char('g') => Action::First,
        KeyCode::End | KeyCode::Char('G') => Action::Last,
        KeyCode::Char(c @ '0'..='9') => Action::Digit(c as u8 - b'0'),
        KeyCode::Enter => Action::Enter,
        KeyCode::Down | KeyCode::Char('j') => Action::ScrollDown,
        KeyCode::Up | KeyCode::Char('k') => Action::ScrollUp,
        KeyCode::Char('[') => Action::OutputUp,
        KeyCode::Char(']') => Action::OutputDown,
        KeyCode::Char('r') => Action::Run,
        KeyCode::Char('R') => Action::Replay,
        KeyCode::Esc => Action::Escape,
        KeyCode::Char('?') => Action::ToggleHelp,
        KeyCode::Char('t') => Action::ToggleTimes,
        KeyCode::Char('T') => Action::ToggleTree,
        KeyCode::Char('v') => Action::ToggleTimeline,
        KeyCode::Char('c') => Action::OpenClient,
        KeyCode::Tab => Action::FocusClients,
        KeyCode::Char('b' | '.') => Action::Blank,
        KeyCode::Char('o') => Action::Overview,
        KeyCode::Char('/') => Action::Search,
        KeyCode::Char('s') => Action::TimerPause,
        KeyCode::Char('S') => Action::TimerReset,
        KeyCode::Char('e') => Action::Edit,
        KeyCode::Char('E') => Action::EditExternal,
        KeyCode::Char('u') => Action::Revert,
        KeyCode::Char('W') => Action::WriteBack,
        KeyCode::Char('}') => Action::PickNext,
        KeyCode::Char('{') => Action::PickPrev,
        KeyCode::Char('i') => Action::FocusInput,
        KeyCode::Char('q') => Action::Quit,
        _ => return None,
    })
}
