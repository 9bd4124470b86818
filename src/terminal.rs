//! The terminal's modes: entering the full-screen presenter (raw mode, alternate screen, hidden
//! cursor) and leaving it on every path — normal quit, panic (hook), SIGTERM/SIGHUP (the loop
//! turns them into a quit) — killing every demo process on the way out. And how a frame
//! reaches the terminal: whole, in one write (see [`Frames`]).

use std::io::{stdout, Write};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicBool, Ordering};

use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::{cursor, execute, queue, terminal};
use ratatui::{Frame, Terminal};

use crate::kernel::reaper;

pub type Term = Terminal<CrosstermBackend<Frames>>;

/// The terminal's writer: keeps what ratatui writes and hands a whole frame to the terminal in
/// one write(2). Through `stdout()` a frame would leave in 1 KB pieces (its line buffer), and
/// each piece wakes the terminal, which then parses a partial frame and competes with us for
/// the CPU while we write the rest.
#[derive(Default)]
pub struct Frames {
    buf: Vec<u8>,
}

/// While set, a flush of [`Frames`] keeps the bytes, so that a frame and its
/// synchronized-update brackets leave together (see [`draw`]). One flag: a process has one
/// terminal. (A static, not a field: ratatui-crossterm keeps `writer_mut` private.)
static HOLD: AtomicBool = AtomicBool::new(false);

impl Write for Frames {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if HOLD.load(Ordering::Relaxed) || self.buf.is_empty() {
            return Ok(());
        }
        // SAFETY: fd 1 is open for the whole life of the process, and ManuallyDrop never
        // closes it. Writing past `stdout()`'s buffer keeps the order of bytes because every
        // other writer to the terminal (execute!, restore) flushes before it returns.
        let mut out = ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(1) });
        let result = out.write_all(&self.buf);
        self.buf.clear();
        result
    }
}

/// Draws one frame inside a synchronized update (the terminal shows it whole), as one write.
pub fn draw(terminal: &mut Term, render: impl FnOnce(&mut Frame)) -> std::io::Result<()> {
    HOLD.store(true, Ordering::Relaxed);
    let drawn = queue!(terminal.backend_mut(), terminal::BeginSynchronizedUpdate)
        .and_then(|()| terminal.draw(render).map(drop))
        .and_then(|()| queue!(terminal.backend_mut(), terminal::EndSynchronizedUpdate));
    HOLD.store(false, Ordering::Relaxed);
    drawn.and_then(|()| terminal.backend_mut().flush())
}

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
    // Queued: the switch to the alternate screen leaves with the first frame, in its write.
    let mut frames = Frames::default();
    queue!(frames, terminal::EnterAlternateScreen, cursor::Hide)?;
    Terminal::new(CrosstermBackend::new(frames))
}

/// Restores the terminal when dropped, so an early `?` return cannot leave it raw.
pub struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        reaper::kill_all();
        restore();
    }
}
