//! Settings a deck gives itself, in HTML comments of its first slide (invisible on GitHub and
//! on the audience screen, like notes):
//!
//! - `<!-- translations: talk.de.md talk.ro.md -->`: the same talk in other languages, paths
//!   relative to the deck's directory (see [`super::translations`]);
//! - `<!-- duration: 30m -->`: the talk's planned length, used when `--duration` is absent.
//!
//! Only the first slide counts, so that a slide about the syntax can show it in prose.

use std::path::PathBuf;
use std::time::Duration;

use super::Deck;

/// What the first slide says about the whole deck.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// Translation files, resolved against the deck's directory, in the order written.
    pub translations: Vec<PathBuf>,
    /// The planned length of the talk.
    pub duration: Option<Duration>,
}

/// Reads the settings from `deck`'s first slide.
pub fn of(deck: &Deck) -> Settings {
    let mut out = Settings::default();
    let Some(first) = deck.slides.first() else {
        return out;
    };
    let dir = deck
        .path
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    for body in super::notes::comments(&first.markdown) {
        let body = body.trim();
        let Some((key, value)) = body.split_once(':') else {
            continue;
        };
        match key.trim().to_ascii_lowercase().as_str() {
            "translations" | "translation" => out.translations.extend(
                value
                    .split([' ', '\t', '\n', ','])
                    .filter(|p| !p.is_empty())
                    .map(|p| dir.join(p)),
            ),
            "duration" => out.duration = super::notes::parse_duration(value),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn translations_and_duration_from_the_first_slide_only() {
        let deck = Deck::parse(
            Path::new("talks/talk.en.md"),
            "# Talk\n<!-- translations: talk.de.md,\n  talk.ro.md -->\n<!-- duration: 25m -->\n====\n<!-- duration: 5m -->\n<!-- translations: x.md -->\n",
        )
        .unwrap();
        let s = of(&deck);
        assert_eq!(
            s.translations,
            vec![
                PathBuf::from("talks/talk.de.md"),
                PathBuf::from("talks/talk.ro.md")
            ]
        );
        assert_eq!(s.duration, Some(Duration::from_secs(25 * 60)));
        let plain = Deck::parse(Path::new("t.md"), "# T\n<!-- note: hi -->\n").unwrap();
        assert_eq!(of(&plain), Settings::default());
    }
}
