//! The consent prompt: shown instead of the first run of a deck whose code this user has not
//! approved. It says how much code would run (and how much of it is hidden), lets the speaker
//! read the hidden blocks, and turns a `y` into an approval plus the run that was asked for.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// The open prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentPrompt {
    /// The slide whose run is waiting for the answer.
    pub slide: usize,
    /// Showing the code of the `exechidden` blocks instead of the summary.
    pub view_hidden: bool,
    /// Rows the hidden-code view is scrolled by.
    pub scroll: u16,
}

/// What a key in the prompt means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Approve the deck's code and run the slide.
    Yes,
    /// Close the prompt; nothing runs.
    No,
    Quit,
    /// The prompt stays (view toggled, scrolled, or the key means nothing here).
    Stay,
}

impl ConsentPrompt {
    pub fn new(slide: usize) -> ConsentPrompt {
        ConsentPrompt {
            slide,
            view_hidden: false,
            scroll: 0,
        }
    }

    pub fn key(&mut self, key: KeyEvent) -> Answer {
        if key.modifiers.contains(KeyModifiers::CONTROL) {
            return match key.code {
                KeyCode::Char('c') => Answer::No,
                _ => Answer::Stay,
            };
        }
        match key.code {
            KeyCode::Char('y' | 'Y') => Answer::Yes,
            KeyCode::Char('n' | 'N') | KeyCode::Esc => Answer::No,
            KeyCode::Char('q') => Answer::Quit,
            KeyCode::Char('h' | 'H' | 'v') => {
                self.view_hidden = !self.view_hidden;
                self.scroll = 0;
                Answer::Stay
            }
            KeyCode::Down | KeyCode::Char('j') => {
                self.scroll = self.scroll.saturating_add(1);
                Answer::Stay
            }
            KeyCode::Up | KeyCode::Char('k') => {
                self.scroll = self.scroll.saturating_sub(1);
                Answer::Stay
            }
            KeyCode::PageDown | KeyCode::Char(' ') => {
                self.scroll = self.scroll.saturating_add(10);
                Answer::Stay
            }
            KeyCode::PageUp => {
                self.scroll = self.scroll.saturating_sub(10);
                Answer::Stay
            }
            _ => Answer::Stay,
        }
    }
}
