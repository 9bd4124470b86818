//! The speaker window's state and its update: it shows its own copy of the deck (notes, the
//! current and the next slide) and what the presenter reports (slide, run, timer, blank).
//! While connected, every navigation and run key becomes a request to the presenter and the
//! window moves when the presenter says it did, so the two can never disagree; without a
//! presenter the window navigates by itself (rehearsing the notes).

use ratatui::crossterm::event::KeyEvent;

use super::protocol::{Cmd, State};
use crate::app::keys::{self, Action};
use crate::app::overview::{Outcome, Overview};
use crate::deck::Deck;
use crate::theme::Theme;

/// An input to the speaker window.
#[derive(Debug, Clone)]
pub enum SMsg {
    Key(KeyEvent),
    Resize,
    /// A second passed; carries the wall clock as it should be shown (`14:05:09`).
    Tick(String),
    /// The presenter's state (also the sign that the window is connected).
    State(Box<State>),
    Disconnected,
    DeckReloaded(Result<Deck, String>),
    Terminate,
}

/// The speaker window's own keys; the presenter's (`?` there) are forwarded.
pub const HELP: &[(&str, &str)] = &[
    ("→ Space l n PgDn", "next slide (both screens)"),
    ("← Backspace h p PgUp", "previous slide"),
    ("Home g / End G, 12 Enter", "first / last slide, jump to 12"),
    ("r Ctrl-e (Enter)", "run the slide on the audience screen"),
    ("Esc Ctrl-c", "stop the demo"),
    ("[ ] t T v", "output scroll, timestamps, tree, timeline"),
    ("b .", "blank the audience screen / bring it back"),
    ("s / S", "pause or resume / reset the talk timer"),
    ("L", "next language on both screens (notes follow)"),
    ("C", "talk clock on the audience screen on/off"),
    ("o /", "overview / search slides and notes"),
    ("j k ↓ ↑", "scroll the notes"),
    ("?", "this help"),
    ("q (Ctrl-c when idle)", "close the speaker window"),
];

pub struct Speaker {
    pub deck: Deck,
    pub theme: Theme,
    /// 0-based slide shown: the presenter's while connected.
    pub current: usize,
    /// The presenter's last state; `None` while not connected.
    pub remote: Option<State>,
    pub overview: Option<Overview>,
    pub typed: String,
    pub help: bool,
    pub notes_scroll: u16,
    /// The wall clock, as of the last tick.
    pub wall: String,
    pub notice: Option<String>,
    pub quit: bool,
    /// The canonical path of [`Speaker::deck`], to notice the presenter switching language.
    canonical: Option<std::path::PathBuf>,
}

impl Speaker {
    pub fn new(deck: Deck, theme: Theme) -> Speaker {
        Speaker {
            deck,
            theme,
            current: 0,
            remote: None,
            overview: None,
            typed: String::new(),
            help: false,
            notes_scroll: 0,
            wall: String::new(),
            notice: None,
            quit: false,
            canonical: None,
        }
    }

    /// Shows the notes of the deck the presenter shows (it switched language, or the window
    /// was opened on another language's file). The path comes from the same user's presenter.
    fn follow_deck(&mut self, path: &std::path::Path) {
        let ours = self
            .canonical
            .get_or_insert_with(|| {
                std::fs::canonicalize(&self.deck.path).unwrap_or_else(|_| self.deck.path.clone())
            })
            .clone();
        if ours == path {
            return;
        }
        match Deck::load(path) {
            Ok(deck) => {
                self.deck = deck;
                self.canonical = Some(path.to_path_buf());
            }
            Err(e) => self.notice = Some(format!("cannot show the presenter's language: {e}")),
        }
    }

    pub fn connected(&self) -> bool {
        self.remote.is_some()
    }

    fn running(&self) -> bool {
        self.remote
            .as_ref()
            .and_then(|r| r.run.as_ref())
            .is_some_and(|r| r.status == "running" || r.status == "starting")
    }

    /// Handles one input; returns the requests for the presenter.
    pub fn update(&mut self, msg: SMsg) -> Vec<Cmd> {
        match msg {
            SMsg::Key(key) => self.key(key),
            SMsg::Resize => vec![],
            SMsg::Tick(wall) => {
                self.wall = wall;
                vec![]
            }
            SMsg::State(state) => {
                if let Some(path) = &state.deck {
                    self.follow_deck(path);
                }
                let index = state
                    .slide
                    .saturating_sub(1)
                    .min(self.deck.slides.len() - 1);
                self.show(index);
                if state.total != self.deck.slides.len() {
                    self.notice = Some(format!(
                        "the presenter's deck has {} slides, this one {}: is it the same file?",
                        state.total,
                        self.deck.slides.len()
                    ));
                } else if self
                    .notice
                    .as_deref()
                    .is_some_and(|n| n.starts_with("the presenter's deck"))
                {
                    self.notice = None;
                }
                self.remote = Some(*state);
                vec![]
            }
            SMsg::Disconnected => {
                self.remote = None;
                vec![]
            }
            // A reload of a language the presenter has left since: not the deck shown.
            SMsg::DeckReloaded(Ok(deck)) if deck.path != self.deck.path => vec![],
            SMsg::DeckReloaded(Ok(deck)) => {
                self.deck = deck;
                self.current = self.current.min(self.deck.slides.len() - 1);
                vec![]
            }
            SMsg::DeckReloaded(Err(why)) => {
                self.notice = Some(format!("reload failed, showing the last good deck: {why}"));
                vec![]
            }
            SMsg::Terminate => {
                self.quit = true;
                vec![]
            }
        }
    }

    fn show(&mut self, index: usize) {
        if index != self.current {
            self.notes_scroll = 0;
        }
        self.current = index;
    }

    /// Goes to slide `index` (0-based): asks the presenter, or moves alone without one.
    fn go(&mut self, index: usize) -> Vec<Cmd> {
        let index = index.min(self.deck.slides.len() - 1);
        if self.connected() {
            vec![Cmd::Go { slide: index + 1 }]
        } else {
            self.show(index);
            vec![]
        }
    }

    fn key(&mut self, key: KeyEvent) -> Vec<Cmd> {
        if let Some(ov) = self.overview.as_mut() {
            return match ov.key(key, &self.deck) {
                Outcome::Stay => vec![],
                Outcome::Close => {
                    self.overview = None;
                    vec![]
                }
                Outcome::Jump(i) => {
                    self.overview = None;
                    self.go(i)
                }
            };
        }
        let Some(action) = keys::action(key) else {
            return vec![];
        };
        if self.help {
            self.help = false;
            if matches!(action, Action::ToggleHelp | Action::Escape) {
                return vec![];
            }
        }
        if !matches!(action, Action::Digit(_) | Action::Enter) {
            self.typed.clear();
        }
        let last = self.deck.slides.len() - 1;
        match action {
            Action::Next if !self.connected() => self.go(self.current + 1),
            Action::Prev if !self.connected() => self.go(self.current.saturating_sub(1)),
            Action::First if !self.connected() => self.go(0),
            Action::Last if !self.connected() => self.go(last),
            Action::Digit(d) => {
                if self.typed.len() < 6 {
                    self.typed.push((b'0' + d) as char);
                }
                vec![]
            }
            Action::Enter => match std::mem::take(&mut self.typed).parse::<usize>() {
                Ok(n) if (1..=last + 1).contains(&n) => self.go(n - 1),
                Ok(n) => {
                    self.notice = Some(format!("no slide {n}: the deck has {}", last + 1));
                    vec![]
                }
                Err(_) if self.deck.slides[self.current].is_exec() => self.forward(Action::Run),
                Err(_) => vec![],
            },
            Action::ScrollDown => {
                self.notes_scroll = self.notes_scroll.saturating_add(1);
                vec![]
            }
            Action::ScrollUp => {
                self.notes_scroll = self.notes_scroll.saturating_sub(1);
                vec![]
            }
            Action::Overview => {
                self.overview = Some(Overview::new(self.current, false));
                vec![]
            }
            Action::Search => {
                self.overview = Some(Overview::new(self.current, true));
                vec![]
            }
            Action::ToggleHelp => {
                self.help = true;
                vec![]
            }
            Action::Quit => {
                self.quit = true;
                vec![]
            }
            Action::Interrupt if !self.running() => {
                self.quit = true;
                vec![]
            }
            Action::OpenClient | Action::FocusClients => {
                self.notice = Some("clients open on the audience screen (c there)".into());
                vec![]
            }
            Action::Escape if !self.running() => vec![],
            other => self.forward(other),
        }
    }

    fn forward(&mut self, action: Action) -> Vec<Cmd> {
        if self.connected() {
            vec![Cmd::Act { action }]
        } else {
            self.notice = Some("no presenter: start it with trio-present DECK".into());
            vec![]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::{KeyCode, KeyModifiers};

    fn deck() -> Deck {
        Deck::parse(
            std::path::Path::new("t.md"),
            "# A\n<!-- note: hello -->\n====\n## B\n```exec\nprint(1)\n```\n====\n## C\n",
        )
        .unwrap()
    }

    fn key(c: KeyCode) -> SMsg {
        SMsg::Key(KeyEvent::new(c, KeyModifiers::NONE))
    }

    #[test]
    fn alone_it_navigates_itself_connected_it_asks_and_follows() {
        let theme = Theme::load("dark").unwrap();
        let mut s = Speaker::new(deck(), theme);
        assert!(s.update(key(KeyCode::Right)).is_empty());
        assert_eq!(s.current, 1);
        s.update(SMsg::State(Box::new(State {
            slide: 1,
            total: 3,
            ..State::default()
        })));
        assert_eq!(s.current, 0, "the presenter wins");
        assert_eq!(
            s.update(key(KeyCode::Right)),
            vec![Cmd::Act {
                action: Action::Next
            }]
        );
        assert_eq!(s.current, 0, "moves when the presenter says so");
        s.update(key(KeyCode::Char('3')));
        assert_eq!(s.update(key(KeyCode::Enter)), vec![Cmd::Go { slide: 3 }]);
        assert_eq!(
            s.update(key(KeyCode::Char('b'))),
            vec![Cmd::Act {
                action: Action::Blank
            }]
        );
        s.update(key(KeyCode::Char('o')));
        assert!(s.overview.is_some());
        s.update(key(KeyCode::Down));
        assert_eq!(s.update(key(KeyCode::Enter)), vec![Cmd::Go { slide: 2 }]);
        s.update(SMsg::Disconnected);
        assert!(!s.connected());
        s.update(key(KeyCode::Char('q')));
        assert!(s.quit);
    }
}
