//! `check`'s report on a talk's translations: each translation is compared with the deck being
//! checked (slide count, exec code per slide; see [`crate::deck::translations::compare`]), and
//! a translation named by the deck that cannot be read is reported too. Translations are not
//! run: where their code is the same, so is the result, and where it is not, that is the
//! problem to fix.

use super::{Problem, ProblemKind};
use crate::deck::translations::compare;
use crate::deck::Deck;

/// The translation problems of `decks` (the checked deck first), plus `warnings` from loading
/// them. Whole-deck problems have slide 0 and are listed first.
pub fn problems(decks: &[Deck], warnings: &[String]) -> Vec<Problem> {
    let mut out: Vec<Problem> = warnings
        .iter()
        .map(|w| Problem {
            slide: 0,
            line: None,
            kind: ProblemKind::Translation,
            message: w.clone(),
        })
        .collect();
    let Some((base, others)) = decks.split_first() else {
        return out;
    };
    for other in others {
        for d in compare(base, other) {
            let slide = match d {
                crate::deck::translations::Difference::SlideCount { .. } => 0,
                crate::deck::translations::Difference::ExecCode { slide, .. } => slide,
            };
            out.push(Problem {
                slide,
                line: None,
                kind: ProblemKind::Translation,
                message: d.describe(base, other),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn differences_and_unreadable_translations_become_problems() {
        let en = Deck::parse(
            Path::new("a/talk.en.md"),
            "# A\n====\n```exec\nprint(1)\n```\n",
        )
        .unwrap();
        let de = Deck::parse(
            Path::new("a/talk.de.md"),
            "# A\n====\n```exec\nprint(2)\n```\n====\nx\n",
        )
        .unwrap();
        let same = Deck::parse(
            Path::new("a/talk.ro.md"),
            "# B\n====\n```exec\nprint(1)\n```\n",
        )
        .unwrap();
        let p = problems(
            &[en, de, same],
            &["translation named in talk.en.md: gone".into()],
        );
        let messages: Vec<&str> = p.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(
            messages,
            vec![
                "translation named in talk.en.md: gone",
                "talk.de.md: 3 slides, talk.en.md has 2",
                "slide 2: exec code differs from talk.en.md (talk.de.md line 3)",
            ]
        );
        assert_eq!(p[2].slide, 2);
        assert!(p.iter().all(|p| p.kind == ProblemKind::Translation));
    }
}
