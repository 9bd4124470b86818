//! Editing a block in `$EDITOR`: the presenter steps aside (the input thread stops reading
//! the terminal, raw mode and the alternate screen are left), the editor runs on a temp file
//! in the speaker's terminal, and the presenter comes back (raw mode, alternate screen, a full
//! redraw). The terminal is restored whatever the editor does.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use ratatui::crossterm::{cursor, execute, terminal};

/// How long the input thread waits for a key before it looks whether it should step aside:
/// the most the editor waits to start.
pub const INPUT_POLL: Duration = Duration::from_millis(100);

/// Lets the loop stop the input thread from reading the terminal while another program owns
/// it (two readers of one tty split the keys between them), and the signal thread tell a
/// Ctrl-c meant for the editor from one meant for the presenter.
#[derive(Default)]
pub struct InputPause {
    /// (paused, the input thread is parked)
    state: Mutex<(bool, bool)>,
    cv: Condvar,
    paused: AtomicBool,
    /// When the presenter last took the terminal back (see [`InputPause::for_the_editor`]).
    resumed_at: Mutex<Option<Instant>>,
}

/// A SIGINT this soon after the editor ended was still the editor's: the signal thread may
/// read a signal sent during the edit only after the presenter took the terminal back.
const SIGNAL_GRACE: Duration = Duration::from_secs(1);

impl InputPause {
    /// Whether another program owns the terminal now.
    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::SeqCst)
    }

    /// Whether a SIGINT read now was meant for the editor: one runs, or ended a moment ago.
    pub fn for_the_editor(&self) -> bool {
        self.is_paused()
            || self
                .resumed_at
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_some_and(|at| at.elapsed() < SIGNAL_GRACE)
    }

    /// Called by the input thread between reads: parks while paused.
    pub fn park_if_paused(&self) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while st.0 {
            st.1 = true;
            self.cv.notify_all();
            st = self.cv.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        st.1 = false;
    }

    /// Pauses the input thread and waits (briefly) until it is parked.
    fn pause(&self) {
        self.paused.store(true, Ordering::SeqCst);
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.0 = true;
        let wait = INPUT_POLL * 5;
        let (_st, _) = self
            .cv
            .wait_timeout_while(st, wait, |s| !s.1)
            .unwrap_or_else(|e| e.into_inner());
    }

    fn resume(&self) {
        *self.resumed_at.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.0 = false;
        self.cv.notify_all();
        self.paused.store(false, Ordering::SeqCst);
    }
}

/// The file the editor works on (`.py`, so it highlights Python); removed when dropped.
struct TempFile(std::path::PathBuf);

impl TempFile {
    fn create(slide: usize, code: &str) -> std::io::Result<TempFile> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "trio-present-{}-{nanos}-slide{slide}.py",
            std::process::id()
        );
        let path = std::env::temp_dir().join(name);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        let file = TempFile(path);
        f.write_all(code.as_bytes())?;
        Ok(file)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The editor command: `$VISUAL`, `$EDITOR`, else `vi`.
pub fn editor_command() -> String {
    ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "vi".into())
}

/// Edits `code` in `$EDITOR` with the presenter suspended; returns the new code, or a
/// one-line reason. `terminal` is redrawn from scratch afterwards.
pub fn edit_outside(
    terminal: &mut crate::terminal::Term,
    input: &InputPause,
    code: &str,
    slide: usize,
) -> Result<String, String> {
    let file = TempFile::create(slide, code)
        .map_err(|e| format!("cannot make a temp file for the editor: {e}"))?;
    let editor = editor_command();

    input.pause();
    crate::terminal::restore();
    // The command is a shell word list (`code --wait`, `emacs -nw`), as shells and git read it.
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(&file.0)
        .status();
    let back = (|| -> std::io::Result<()> {
        terminal::enable_raw_mode()?;
        execute!(
            std::io::stdout(),
            terminal::EnterAlternateScreen,
            cursor::Hide,
            terminal::Clear(terminal::ClearType::All)
        )?;
        std::io::stdout().flush()?;
        // Forget what was drawn, so the next frame is drawn whole. (Not `terminal.clear()`:
        // it asks the terminal where the cursor is, and waits for the answer.)
        terminal.swap_buffers();
        Ok(())
    })();
    input.resume();
    back.map_err(|e| format!("cannot take the terminal back: {e}"))?;

    match status {
        Ok(s) if s.success() => {}
        Ok(s) => return Err(format!("{editor} failed ({s}): the block is unchanged")),
        Err(e) => return Err(format!("cannot start {editor}: {e}")),
    }
    let mut text = std::fs::read_to_string(&file.0)
        .map_err(|e| format!("cannot read back the edited code: {e}"))?;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}
