//! The terminal's modes: entering the full-screen presenter (raw mode, alternate screen, hidden
//! cursor) and leaving it on every path — normal quit, panic (hook), SIGTERM/SIGHUP (the loop
//! turns them into a quit) — killing every demo process on the way out.

use std::io::{stdout, Stdout, Write};

use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::{cursor, execute, terminal};
use ratatui::Terminal;

use crate::kernel::reaper;

pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// Puts the terminal back into normal mode; safe to call more than once.
pub fn restore() {
    let _ = terminal::disable_raw_mode();
    let _ = execute!(stdout(), terminal::LeaveAlternateScreen, cursor::Show);
    let _ = stdout().flush();
}

/// Enters full-screen mode and installs a panic hook that restores the terminal (and kills
/// the demos) before the panic message is printed, so it is readable.
pub fn init() -> std::io::Result<Term> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        reaper::kill_all();
        restore();
        previous(info);
    }));
    terminal::enable_raw_mode()?;
    execute!(stdout(), terminal::EnterAlternateScreen, cursor::Hide)?;
    Terminal::new(CrosstermBackend::new(stdout()))
}

/// Restores the terminal when dropped, so an early `?` return cannot leave it raw.
pub struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        reaper::kill_all();
        restore();
    }
}
