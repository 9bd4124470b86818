//! Switching the talk's language in place (`L`): the presenter keeps the decks of every
//! language and swaps the one on screen. The slide number, the outputs (they belong to slide
//! numbers) and a run in progress stay as they are; only the text changes.

use std::path::{Path, PathBuf};

use super::{App, Effect};
use crate::deck::translations::{self, label};
use crate::deck::Deck;

/// The talk's languages. The deck on screen lives in [`App::deck`] (reloads replace it there);
/// this keeps the others, in command-line order, with the index of the one on screen.
#[derive(Debug, Clone, Default)]
pub struct Languages {
    /// Every language's deck; the entry at `active` stands in for [`App::deck`] (its path and
    /// title only, until a switch stores the real one).
    decks: Vec<Deck>,
    active: usize,
    /// Canonical paths, by language, for the speaker windows (they may run in another
    /// directory) and for routing reloads.
    canonical: Vec<PathBuf>,
}

impl Languages {
    /// The languages of a talk whose first deck is `first` and whose translations are
    /// `others`; with none, the talk has one language and `L` says so.
    pub fn new(first: &Deck, others: Vec<Deck>) -> Languages {
        // The first deck lives in App::deck; its entry here is only read for its path until a
        // switch stores the real one, so it is not copied (a whole copy of a 5,000-slide deck
        // would delay the first frame).
        let stand_in = Deck {
            path: first.path.clone(),
            title: first.title.clone(),
            slides: Vec::new(),
            warnings: Vec::new(),
            partial: false,
        };
        let mut decks = vec![stand_in];
        decks.extend(others);
        let canonical = decks
            .iter()
            .map(|d| std::fs::canonicalize(&d.path).unwrap_or_else(|_| d.path.clone()))
            .collect();
        Languages {
            decks,
            active: 0,
            canonical,
        }
    }

    /// How many languages the talk has (0 for an app made without [`Languages::new`]).
    pub fn count(&self) -> usize {
        self.decks.len()
    }

    /// The label of the language on screen (`de`), when there is more than one.
    pub fn label(&self) -> Option<String> {
        (self.decks.len() > 1).then(|| label(&self.decks[self.active].path))
    }

    /// The canonical path of the deck on screen.
    pub fn current_path(&self) -> Option<&Path> {
        self.canonical.get(self.active).map(PathBuf::as_path)
    }

    /// Every deck path, for the watchers and the speaker sockets.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.decks.iter().map(|d| d.path.clone()).collect()
    }

    /// The decks not on screen.
    pub fn others(&self) -> impl Iterator<Item = &Deck> {
        let active = self.active;
        self.decks
            .iter()
            .enumerate()
            .filter(move |(i, _)| *i != active)
            .map(|(_, d)| d)
    }

    /// Keeps a reloaded deck of a language not on screen; false if `deck` is of none of them.
    fn store(&mut self, deck: Deck) -> bool {
        match self
            .decks
            .iter()
            .position(|d| d.path == deck.path)
            .filter(|i| *i != self.active)
        {
            Some(i) => {
                self.decks[i] = deck;
                true
            }
            None => false,
        }
    }
}

impl App {
    /// `L`: the next language, on the same slide. A run in progress goes on; its output stays.
    pub(super) fn switch_language(&mut self) -> Vec<Effect> {
        let n = self.languages.decks.len();
        if n < 2 {
            self.notice = Some(
                "one language: give translations as trio-present talk.en.md talk.de.md".into(),
            );
            return vec![];
        }
        let from = self.languages.active;
        let to = (from + 1) % n;
        let next = self.languages.decks[to].clone();
        self.languages.decks[from] = std::mem::replace(&mut self.deck, next);
        self.languages.active = to;
        self.layouts.borrow_mut().clear();
        let last = self.deck.slides.len() - 1;
        let mut effects = vec![];
        if self.current > last {
            // A shorter translation: its last slide, as leaving a slide would.
            self.current = last;
            self.scroll = 0;
            effects.extend(self.close_clients());
            if self.is_running() {
                self.mark_stop();
                effects.push(super::Effect::Stop);
            }
        }
        let old = &self.languages.decks[from];
        let diffs = translations::compare(old, &self.deck);
        let lang = label(&self.deck.path);
        self.notice = Some(match diffs.first() {
            None => format!("language: {lang}"),
            Some(d) => format!(
                "language: {lang} · {} (check lists all)",
                d.describe(old, &self.deck)
            ),
        });
        effects
    }

    /// Routes a reload of a language not on screen; false when `deck` is the one on screen.
    pub(super) fn reload_other_language(&mut self, deck: &Deck) -> bool {
        deck.path != self.deck.path && self.languages.store(deck.clone())
    }

    /// The deck on screen and every translation, for consent.
    pub fn all_decks(&self) -> impl Iterator<Item = &Deck> {
        std::iter::once(&self.deck).chain(self.languages.others())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::Msg;
    use crate::theme::Theme;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    fn deck(name: &str, text: &str) -> Deck {
        Deck::parse(Path::new(name), text).unwrap()
    }

    fn press(app: &mut App, c: char) -> Vec<Effect> {
        app.update(Msg::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )))
    }

    #[test]
    fn l_switches_language_keeping_the_slide_and_the_run() {
        let en = deck(
            "t.en.md",
            "# One\n====\n## Two\n```exec\nprint(1)\n```\n====\n## Three\n",
        );
        let de = deck("t.de.md", "# Eins\n====\n## Zwei\n```exec\nprint(1)\n```\n");
        let mut app = App::new(en.clone(), Theme::load("dark").unwrap(), 2);
        app.languages = Languages::new(&en, vec![de]);
        assert_eq!(app.languages.label().as_deref(), Some("en"));
        app.update(Msg::RunStarted {
            slide: 2,
            result: Ok(7),
        });
        assert!(app.is_running());
        assert!(press(&mut app, 'L').is_empty(), "nothing stops");
        assert_eq!(app.deck.title, "Eins");
        assert_eq!(app.current, 1);
        assert!(app.is_running(), "the run goes on");
        assert!(app.current_output().is_some(), "its output stays on screen");
        assert_eq!(app.languages.label().as_deref(), Some("de"));
        assert!(app.notice.as_deref().unwrap().contains("2 slides"));

        // A reload of the language not on screen is kept for later, not shown.
        let en2 = deck("t.en.md", "# One again\n====\n## Two\n====\n## Three\n");
        app.update(Msg::DeckReloaded(Ok(en2)));
        assert_eq!(app.deck.title, "Eins");
        press(&mut app, 'G');
        press(&mut app, 'L');
        assert_eq!(app.deck.title, "One again");
        assert_eq!(app.current, 1, "slide 2 of 2 in de is slide 2 in en");
        press(&mut app, 'G');
        assert_eq!(app.current, 2);
        // Back to the shorter deck from its third slide: its last one.
        press(&mut app, 'L');
        assert_eq!(app.current, 1);
        assert_eq!(app.all_decks().count(), 2);
    }

    #[test]
    fn one_language_says_how_to_give_more() {
        let en = deck("t.md", "# One\n");
        let mut app = App::new(en, Theme::load("dark").unwrap(), 1);
        press(&mut app, 'L');
        assert!(app.notice.as_deref().unwrap().contains("talk.de.md"));
        assert_eq!(app.languages.label(), None);
    }
}
