//! The presenter's side of the speaker features: the keys that blank the screen, open the
//! overview and drive the timer, and the requests of speaker windows ([`Msg::Remote`]).
//!
//! [`Msg::Remote`]: super::Msg::Remote

use ratatui::crossterm::event::KeyEvent;

use super::keys::Action;
use super::overview::{Outcome, Overview};
use super::{App, Effect};
use crate::speaker::protocol::{remote_allowed, Cmd};

impl App {
    pub(super) fn speaker_action(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Blank => self.blank = !self.blank,
            Action::Overview => self.overview = Some(Overview::new(self.current, false)),
            Action::Search => self.overview = Some(Overview::new(self.current, true)),
            Action::TimerPause => self.timer.toggle(self.talk_clock),
            Action::TimerReset => self.timer.reset(self.talk_clock),
            _ => {}
        }
        vec![]
    }

    pub(super) fn overview_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let Some(ov) = self.overview.as_mut() else {
            return vec![];
        };
        match ov.key(key, &self.deck) {
            Outcome::Stay => vec![],
            Outcome::Close => {
                self.overview = None;
                vec![]
            }
            Outcome::Jump(index) => {
                self.overview = None;
                self.go(index)
            }
        }
    }

    pub(super) fn remote(&mut self, cmd: Cmd) -> Vec<Effect> {
        match cmd {
            Cmd::Joined => vec![],
            Cmd::Go { slide } => {
                self.typed.clear();
                if (1..=self.deck.slides.len()).contains(&slide) {
                    self.go(slide - 1)
                } else {
                    vec![]
                }
            }
            // A speaker window's Ctrl-c stops a demo; it never quits the presenter.
            Cmd::Act {
                action: Action::Interrupt,
            } => self.stop(),
            Cmd::Act { action } if remote_allowed(action) => self.act(action),
            Cmd::Act { .. } => vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::Msg;

    #[test]
    fn a_speaker_window_navigates_blanks_but_never_quits_the_presenter() {
        let deck = crate::deck::Deck::parse(std::path::Path::new("t.md"), "a\n====\nb\n====\nc\n")
            .unwrap();
        let mut app = App::new(deck, crate::theme::Theme::load("dark").unwrap(), 1);
        app.update(Msg::Remote(Cmd::Act {
            action: Action::Next,
        }));
        assert_eq!(app.current, 1);
        app.update(Msg::Remote(Cmd::Go { slide: 3 }));
        assert_eq!(app.current, 2);
        app.update(Msg::Remote(Cmd::Go { slide: 99 }));
        assert_eq!(app.current, 2);
        app.update(Msg::Remote(Cmd::Act {
            action: Action::Blank,
        }));
        assert!(app.blank);
        for action in [Action::Quit, Action::Interrupt, Action::OpenClient] {
            assert!(app.update(Msg::Remote(Cmd::Act { action })).is_empty());
        }
        assert!(!app.quit);
    }
}
