//! Input to a running demo: `i` sends the keys to the demo's stdin (a pipe from the
//! presenter, see `kernel::process`), so `input()`, `sys.stdin.readline()` and trio's async
//! stdin get lines typed into the output pane. Enter sends the line (echoed in the pane, after
//! the prompt when the demo printed one), Ctrl-d closes the pipe (end of file), Esc goes back
//! to the slides.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{App, Effect};

impl App {
    pub(super) fn focus_input(&mut self) -> Vec<Effect> {
        if self.is_running() {
            self.stdin_focus = true;
        } else {
            self.notice = Some("no demo running: i types into a running demo's input()".into());
        }
        vec![]
    }

    pub(super) fn stdin_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        // The run ended while the speaker was typing: keys act on the slides again.
        if !self.is_running() {
            self.stdin_focus = false;
            self.stdin_line.clear();
            return self.update(super::Msg::Key(key));
        }
        match key.code {
            KeyCode::Esc => self.stdin_focus = false,
            KeyCode::Char('c') if ctrl => {
                self.stdin_focus = false;
                return self.stop();
            }
            KeyCode::Char('d') if ctrl => {
                self.stdin_focus = false;
                self.echo("⏎ end of input (Ctrl-d)");
                return vec![Effect::InputEof];
            }
            KeyCode::Char('u') if ctrl => self.stdin_line.clear(),
            KeyCode::Enter => {
                let line = std::mem::take(&mut self.stdin_line);
                self.echo(&line);
                let mut bytes = line.into_bytes();
                bytes.push(b'\n');
                return vec![Effect::Input(bytes)];
            }
            KeyCode::Backspace => {
                self.stdin_line.pop();
            }
            KeyCode::Char(c) if !ctrl => self.stdin_line.push(c),
            _ => {}
        }
        vec![]
    }

    /// Shows what the speaker sent in the running demo's output, as a terminal would echo it.
    fn echo(&mut self, text: &str) {
        self.output_scroll = 0;
        if let Some(out) = self.running.and_then(|s| self.outputs.get_mut(&s)) {
            out.echo_input(text);
        }
    }
}
