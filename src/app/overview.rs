//! The overview (`o`) and its incremental search (`/`): a list of every slide (title or first
//! line, exec slides marked) filtered by what is typed, over slide text and speaker notes.
//! Shared by the presenter and the speaker window: the state and its keys live here, the
//! drawing in `ui::overview`.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::deck::{Deck, Slide};

/// The overview while it is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overview {
    pub query: String,
    /// Whether keys go into the search field (after `/`) or move the selection.
    pub typing: bool,
    /// 0-based index of the selected slide (always one of the matches, if any).
    pub selected: usize,
}

/// What a key did to the overview.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Stay,
    Close,
    /// Close and go to this slide (0-based).
    Jump(usize),
}

/// One slide in the list, and where the query was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub index: usize,
    /// The first line that matched, when it is not the title (for a hint under it).
    pub line: Option<String>,
    /// The match is in the speaker notes (the audience screen does not show the line).
    pub in_notes: bool,
}

impl Overview {
    pub fn new(current: usize, search: bool) -> Overview {
        Overview {
            query: String::new(),
            typing: search,
            selected: current,
        }
    }

    /// The slides that match the query (every slide when it is empty), in deck order.
    pub fn hits(&self, deck: &Deck) -> Vec<Hit> {
        let words: Vec<String> = self
            .query
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
        deck.slides
            .iter()
            .enumerate()
            .filter_map(|(index, slide)| hit(index, slide, &words))
            .collect()
    }

    pub fn key(&mut self, key: KeyEvent, deck: &Deck) -> Outcome {
        let hits = self.hits(deck);
        let pos = hits.iter().position(|h| h.index == self.selected);
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let step = |delta: isize| -> Option<usize> {
            if hits.is_empty() {
                return None;
            }
            let at = pos.unwrap_or(0) as isize + delta;
            Some(hits[at.clamp(0, hits.len() as isize - 1) as usize].index)
        };
        let moved = match key.code {
            KeyCode::Char('c') if ctrl => return Outcome::Close,
            KeyCode::Esc => return Outcome::Close,
            KeyCode::Enter => {
                return match pos.or((!hits.is_empty()).then_some(0)) {
                    Some(p) => Outcome::Jump(hits[p].index),
                    None => Outcome::Stay,
                }
            }
            KeyCode::Down => step(1),
            KeyCode::Up => step(-1),
            KeyCode::PageDown => step(10),
            KeyCode::PageUp => step(-10),
            KeyCode::Backspace if self.typing => {
                self.query.pop();
                None
            }
            KeyCode::Char(c) if self.typing && !ctrl => {
                self.query.push(c);
                None
            }
            KeyCode::Char('/') => {
                self.typing = true;
                None
            }
            KeyCode::Char('j' | 'l' | 'n' | ' ') | KeyCode::Right => step(1),
            KeyCode::Char('k' | 'h' | 'p') | KeyCode::Left => step(-1),
            KeyCode::Char('g') | KeyCode::Home => step(-(hits.len() as isize)),
            KeyCode::Char('G') | KeyCode::End => step(hits.len() as isize),
            KeyCode::Char('o' | 'q') => return Outcome::Close,
            _ => None,
        };
        if let Some(index) = moved {
            self.selected = index;
        } else {
            // The query changed: keep the selection if it still matches, else the first match.
            let hits = self.hits(deck);
            if !hits.iter().any(|h| h.index == self.selected) {
                if let Some(first) = hits.first() {
                    self.selected = first.index;
                }
            }
        }
        Outcome::Stay
    }
}

fn hit(index: usize, slide: &Slide, words: &[String]) -> Option<Hit> {
    if words.is_empty() {
        return Some(Hit {
            index,
            line: None,
            in_notes: false,
        });
    }
    let notes = slide.notes.notes.join("\n");
    let visible = without_comments(&slide.markdown);
    let text = format!("{visible}\n{notes}").to_lowercase();
    if !words.iter().all(|w| text.contains(w.as_str())) {
        return None;
    }
    let title = slide.title().to_lowercase();
    if words.iter().all(|w| title.contains(w.as_str())) {
        return Some(Hit {
            index,
            line: None,
            in_notes: false,
        });
    }
    let first = &words[0];
    let visible = visible
        .lines()
        .find(|l| l.to_lowercase().contains(first.as_str()));
    let (line, in_notes) = match visible {
        Some(l) => (Some(l.trim().to_string()), false),
        None => (
            notes
                .lines()
                .find(|l| l.to_lowercase().contains(first.as_str()))
                .map(|l| l.trim().to_string()),
            true,
        ),
    };
    Some(Hit {
        index,
        line,
        in_notes,
    })
}

/// The markdown without its HTML comments: what the audience can see. Notes must never be
/// shown as a hit line on the audience screen, so they are cut out here, not filtered by line.
fn without_comments(markdown: &str) -> String {
    let mut out = String::new();
    let mut rest = markdown;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        match rest[start..].find("-->") {
            Some(end) => rest = &rest[start + end + 3..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyEvent;

    fn deck() -> Deck {
        Deck::parse(
            std::path::Path::new("t.md"),
            "# Intro\n====\n## Nurseries\ntext about tasks\n====\n## Cancel\n<!-- note:\n  mention deadlines\n-->\n====\n## End\n",
        )
        .unwrap()
    }

    fn k(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn incremental_search_over_text_and_notes_then_enter_jumps() {
        let deck = deck();
        let mut ov = Overview::new(0, true);
        assert_eq!(ov.hits(&deck).len(), 4);
        for c in "dead".chars() {
            assert_eq!(ov.key(k(KeyCode::Char(c)), &deck), Outcome::Stay);
        }
        let hits = ov.hits(&deck);
        assert_eq!(hits.len(), 1);
        assert!(hits[0].in_notes);
        assert_eq!(hits[0].line.as_deref(), Some("mention deadlines"));
        assert_eq!(ov.selected, 2);
        assert_eq!(ov.key(k(KeyCode::Enter), &deck), Outcome::Jump(2));

        let mut ov = Overview::new(0, true);
        for c in "tasks".chars() {
            ov.key(k(KeyCode::Char(c)), &deck);
        }
        let hits = ov.hits(&deck);
        assert_eq!(hits[0].line.as_deref(), Some("text about tasks"));
        assert_eq!(ov.key(k(KeyCode::Enter), &deck), Outcome::Jump(1));
    }

    #[test]
    fn browsing_moves_and_escape_closes() {
        let deck = deck();
        let mut ov = Overview::new(1, false);
        ov.key(k(KeyCode::Char('j')), &deck);
        ov.key(k(KeyCode::Down), &deck);
        assert_eq!(ov.selected, 3);
        ov.key(k(KeyCode::Down), &deck);
        assert_eq!(ov.selected, 3);
        ov.key(k(KeyCode::Char('g')), &deck);
        assert_eq!(ov.selected, 0);
        assert_eq!(ov.key(k(KeyCode::Esc), &deck), Outcome::Close);
    }
}
