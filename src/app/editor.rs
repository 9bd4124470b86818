//! The editor pane: a small line editor for one exec block, opened on the slide (`e`) so the
//! speaker can change code in front of the room and run it. Just enough for that: cursor keys,
//! Home/End, insert and delete, Enter keeping the indentation, Tab as four spaces, undo. The
//! text is a scratch copy; the app decides what a close, a run or a write-back does with it.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Undo steps kept; an edit session on stage is short.
const UNDO: usize = 500;

/// What a key in the editor asks the app for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditorKey {
    /// The text or the cursor changed (or nothing happened).
    Stay,
    /// Esc: close the pane, keeping the edit as the slide's scratch copy.
    Close,
    /// Ctrl-e (or Ctrl-r): close and run the edited code.
    Run,
    /// Ctrl-s: write the block into the deck file.
    Write,
}

/// The open editor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Editor {
    /// 1-based slide and 0-based index of the block among the slide's runnable blocks.
    pub slide: usize,
    pub block: usize,
    pub lines: Vec<String>,
    /// Cursor: line, and column in characters.
    pub row: usize,
    pub col: usize,
    undo: Vec<(Vec<String>, usize, usize)>,
    /// Whether the last change was typing a character (typed runs undo together).
    typing: bool,
}

impl Editor {
    pub fn new(slide: usize, block: usize, text: &str) -> Editor {
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        if lines.is_empty() {
            lines.push(String::new());
        }
        Editor {
            slide,
            block,
            lines,
            row: 0,
            col: 0,
            undo: Vec::new(),
            typing: false,
        }
    }

    /// The code as a block source: lines joined with `\n`, ending in `\n`.
    pub fn text(&self) -> String {
        let mut s = self.lines.join("\n");
        s.push('\n');
        s
    }

    /// The first line to show in `height` rows so that the cursor's line is visible.
    pub fn top(&self, height: usize) -> usize {
        (self.row + 1).saturating_sub(height.max(1))
    }

    fn line_len(&self) -> usize {
        self.lines[self.row].chars().count()
    }

    /// Byte index of character column `col` in the cursor's line.
    fn byte(&self, col: usize) -> usize {
        let line = &self.lines[self.row];
        line.char_indices().nth(col).map_or(line.len(), |(i, _)| i)
    }

    /// Remembers the state before a change; consecutive typed characters share one step.
    fn snapshot(&mut self, typing: bool) {
        if !(typing && self.typing) {
            if self.undo.len() >= UNDO {
                self.undo.remove(0);
            }
            self.undo.push((self.lines.clone(), self.row, self.col));
        }
        self.typing = typing;
    }

    fn insert(&mut self, s: &str) {
        let at = self.byte(self.col);
        self.lines[self.row].insert_str(at, s);
        self.col += s.chars().count();
    }

    pub fn key(&mut self, key: KeyEvent) -> EditorKey {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let moved = !matches!(key.code, KeyCode::Char(_)) || ctrl;
        if moved {
            self.typing = false;
        }
        match key.code {
            KeyCode::Esc => return EditorKey::Close,
            KeyCode::Char('e' | 'r') if ctrl => return EditorKey::Run,
            KeyCode::Char('s') if ctrl => return EditorKey::Write,
            KeyCode::Char('z') if ctrl => {
                if let Some((lines, row, col)) = self.undo.pop() {
                    (self.lines, self.row, self.col) = (lines, row, col);
                }
            }
            KeyCode::Char('a') if ctrl => self.col = 0,
            KeyCode::Char(_) if ctrl => {}
            KeyCode::Char(c) => {
                self.snapshot(true);
                self.insert(c.encode_utf8(&mut [0; 4]));
            }
            KeyCode::Tab => {
                self.snapshot(false);
                self.insert("    ");
            }
            KeyCode::Enter => {
                self.snapshot(false);
                let at = self.byte(self.col);
                let rest = self.lines[self.row].split_off(at);
                // Keep the indentation, and indent one more level after a `:`, as Python
                // editors do: typing a nested block on stage stays quick.
                let line = &self.lines[self.row];
                let mut indent: String = line.chars().take_while(|c| *c == ' ').collect();
                if line.trim_end().ends_with(':') {
                    indent.push_str("    ");
                }
                self.row += 1;
                self.col = indent.chars().count();
                self.lines
                    .insert(self.row, indent + rest.trim_start_matches(' '));
            }
            KeyCode::Backspace => {
                if self.col > 0 {
                    self.snapshot(false);
                    let end = self.byte(self.col);
                    self.col -= 1;
                    let start = self.byte(self.col);
                    self.lines[self.row].replace_range(start..end, "");
                } else if self.row > 0 {
                    self.snapshot(false);
                    let line = self.lines.remove(self.row);
                    self.row -= 1;
                    self.col = self.line_len();
                    self.lines[self.row].push_str(&line);
                }
            }
            KeyCode::Delete => {
                if self.col < self.line_len() {
                    self.snapshot(false);
                    let start = self.byte(self.col);
                    let end = self.byte(self.col + 1);
                    self.lines[self.row].replace_range(start..end, "");
                } else if self.row + 1 < self.lines.len() {
                    self.snapshot(false);
                    let next = self.lines.remove(self.row + 1);
                    self.lines[self.row].push_str(&next);
                }
            }
            KeyCode::Left => {
                if self.col > 0 {
                    self.col -= 1;
                } else if self.row > 0 {
                    self.row -= 1;
                    self.col = self.line_len();
                }
            }
            KeyCode::Right => {
                if self.col < self.line_len() {
                    self.col += 1;
                } else if self.row + 1 < self.lines.len() {
                    self.row += 1;
                    self.col = 0;
                }
            }
            KeyCode::Up => self.row = self.row.saturating_sub(1),
            KeyCode::Down => self.row = (self.row + 1).min(self.lines.len() - 1),
            KeyCode::PageUp => self.row = self.row.saturating_sub(10),
            KeyCode::PageDown => self.row = (self.row + 10).min(self.lines.len() - 1),
            KeyCode::Home => self.col = 0,
            KeyCode::End => self.col = self.line_len(),
            _ => {}
        }
        self.col = self.col.min(self.line_len());
        EditorKey::Stay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    fn typ(e: &mut Editor, s: &str) {
        for c in s.chars() {
            e.key(k(KeyCode::Char(c)));
        }
    }

    #[test]
    fn typing_moving_and_deleting() {
        let mut e = Editor::new(37, 0, "with trio.move_on_after(3):\n    pass\n");
        e.key(k(KeyCode::End));
        for _ in 0..3 {
            e.key(k(KeyCode::Left));
        }
        e.key(k(KeyCode::Delete));
        typ(&mut e, "1");
        assert_eq!(e.lines[0], "with trio.move_on_after(1):");
        e.key(k(KeyCode::Down));
        e.key(k(KeyCode::Home));
        e.key(k(KeyCode::Backspace));
        assert_eq!(e.lines, vec!["with trio.move_on_after(1):    pass"]);
        assert_eq!((e.row, e.col), (0, 27));
        e.key(k(KeyCode::Enter));
        assert_eq!(e.lines, vec!["with trio.move_on_after(1):", "    pass"]);
        assert_eq!(e.text(), "with trio.move_on_after(1):\n    pass\n");
    }

    #[test]
    fn enter_keeps_and_deepens_indentation_and_undo_steps_back() {
        let mut e = Editor::new(1, 0, "async def main():\n");
        e.key(k(KeyCode::End));
        e.key(k(KeyCode::Enter));
        typ(&mut e, "await trio.sleep(1)");
        e.key(k(KeyCode::Enter));
        typ(&mut e, "ü");
        assert_eq!(
            e.lines,
            vec!["async def main():", "    await trio.sleep(1)", "    ü"]
        );
        e.key(ctrl('z')); // the typed ü
        e.key(ctrl('z')); // the Enter
        assert_eq!(
            e.lines,
            vec!["async def main():", "    await trio.sleep(1)"]
        );
        e.key(ctrl('z')); // the typed line, as one step
        e.key(ctrl('z')); // the first Enter
        assert_eq!(e.lines, vec!["async def main():"]);
        e.key(ctrl('z')); // nothing left: no change
        assert_eq!(e.text(), "async def main():\n");
        assert_eq!(e.key(ctrl('e')), EditorKey::Run);
        assert_eq!(e.key(ctrl('s')), EditorKey::Write);
        assert_eq!(e.key(k(KeyCode::Esc)), EditorKey::Close);
    }

    #[test]
    fn the_view_follows_the_cursor() {
        let text: String = (0..30).map(|i| format!("x = {i}\n")).collect();
        let mut e = Editor::new(1, 0, &text);
        assert_eq!(e.top(5), 0);
        e.key(k(KeyCode::PageDown));
        e.key(k(KeyCode::PageDown));
        assert_eq!((e.row, e.top(5)), (20, 16));
    }
}
