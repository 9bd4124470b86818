//! The same talk in several languages: one deck file per language (`talk.en.md`,
//! `talk.de.md`), given together on the command line or named by the first deck's
//! `<!-- translations: … -->` comment (see [`super::settings`]). The presenter switches between
//! them in place (`L`), so a translation is expected to keep the slide numbers and the exec code
//! of the first deck; [`compare`] says where it does not, for `check` and the presenter.

use std::path::{Path, PathBuf};

use super::{BlockKind, Deck, DeckError};

/// The language label of a deck file: the part between the last two dots (`talk.de.md` →
/// `de`), else the file name without its extension (`talk.md` → `talk`).
pub fn label(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match stem.rsplit_once('.') {
        Some((_, lang)) if !lang.is_empty() => lang.to_string(),
        _ => stem,
    }
}

/// The decks of a talk: `first`, then `extra` (given on the command line) or, without any, the
/// translations `first` names. Decks named more than once (or naming themselves) are kept once.
/// A file given on the command line that cannot be read is an error; a named one that cannot is
/// a warning (the talk goes on in the languages that load), returned as one line each.
pub fn load(first: Deck, extra: &[PathBuf]) -> Result<(Vec<Deck>, Vec<String>), DeckError> {
    let mut warnings = Vec::new();
    let named = extra.is_empty();
    let paths = if named {
        super::settings::of(&first).translations
    } else {
        extra.to_vec()
    };
    let mut seen = vec![canonical(&first.path)];
    let mut decks = vec![first];
    for path in paths {
        let key = canonical(&path);
        if seen.contains(&key) {
            continue;
        }
        match Deck::load(&path) {
            Ok(deck) => {
                seen.push(key);
                decks.push(deck);
            }
            Err(e) if named => warnings.push(format!(
                "translation named in {}: {e}",
                decks[0].path.display()
            )),
            Err(e) => return Err(e),
        }
    }
    Ok((decks, warnings))
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// How a translation differs from the deck it translates, where switching between them matters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// The slide counts differ: `L` would land on another slide near the end.
    SlideCount { base: usize, other: usize },
    /// Slide `slide` runs other code (or runs code in one language only), so a run would show
    /// other output after a switch. `line` is the translation's line of its first such block.
    ExecCode { slide: usize, line: Option<usize> },
}

impl Difference {
    /// The one-line report, naming both files (`talk.de.md: 56 slides, talk.en.md has 57`).
    pub fn describe(&self, base: &Deck, other: &Deck) -> String {
        let (b, o) = (file_name(&base.path), file_name(&other.path));
        match self {
            Difference::SlideCount { base, other } => {
                format!("{o}: {other} slides, {b} has {base}")
            }
            Difference::ExecCode { slide, line } => {
                let at = line.map(|l| format!(" ({o} line {l})")).unwrap_or_default();
                format!("slide {slide}: exec code differs from {b}{at}")
            }
        }
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Where `other` differs from `base`: the slide count, then each slide (of the slides both
/// have) whose runnable blocks differ in kind, code or `replay`. Prose, notes and display code
/// are what a translation translates, so they are not compared.
pub fn compare(base: &Deck, other: &Deck) -> Vec<Difference> {
    let mut out = Vec::new();
    if base.slides.len() != other.slides.len() {
        out.push(Difference::SlideCount {
            base: base.slides.len(),
            other: other.slides.len(),
        });
    }
    for (a, b) in base.slides.iter().zip(&other.slides) {
        let runs = |s: &super::Slide| -> Vec<(BlockKind, bool, String)> {
            s.blocks
                .iter()
                .filter(|b| b.kind.runs())
                .map(|b| (b.kind, b.replay, b.source.clone()))
                .collect()
        };
        if runs(a) != runs(b) {
            out.push(Difference::ExecCode {
                slide: b.number,
                line: b
                    .blocks
                    .iter()
                    .find(|b| b.kind.runs())
                    .map(|b| b.fence_line),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deck(name: &str, text: &str) -> Deck {
        Deck::parse(Path::new(name), text).unwrap()
    }

    #[test]
    fn labels_come_from_the_file_name() {
        assert_eq!(label(Path::new("slides/talk.de.md")), "de");
        assert_eq!(label(Path::new("talk.pt-BR.md")), "pt-BR");
        assert_eq!(label(Path::new("talk.md")), "talk");
        assert_eq!(label(Path::new("README")), "README");
    }

    #[test]
    fn same_code_other_prose_is_no_difference() {
        let en = deck(
            "talk.en.md",
            "# Hello\n<!-- note: say hi -->\n====\n## Run\n```exec\nprint(1)\n```\n```python\nx = 1\n```\n",
        );
        let de = deck(
            "talk.de.md",
            "# Hallo\n<!-- note: sag hallo -->\n====\n## Lauf\n\nmehr Text\n\n```exec\nprint(1)\n```\n```python\nx = 2\n```\n",
        );
        assert_eq!(compare(&en, &de), vec![]);
    }

    #[test]
    fn slide_counts_and_exec_code_differences_are_named() {
        let en = deck(
            "talk.en.md",
            "# A\n====\n```exec\nprint('hi')\n```\n====\n```exec\nx = 1\n```\n====\nend\n",
        );
        let de = deck(
            "talk.de.md",
            "# A\n====\n```exec\nprint('hallo')\n```\n====\n```exec replay\nx = 1\n```\n",
        );
        let diffs = compare(&en, &de);
        assert_eq!(
            diffs,
            vec![
                Difference::SlideCount { base: 4, other: 3 },
                Difference::ExecCode {
                    slide: 2,
                    line: Some(3)
                },
                Difference::ExecCode {
                    slide: 3,
                    line: Some(7)
                },
            ]
        );
        assert_eq!(
            diffs[0].describe(&en, &de),
            "talk.de.md: 3 slides, talk.en.md has 4"
        );
        assert_eq!(
            diffs[1].describe(&en, &de),
            "slide 2: exec code differs from talk.en.md (talk.de.md line 3)"
        );
        // Code on one side only is a difference too.
        let prose = deck(
            "talk.ro.md",
            "# A\n====\ntext\n====\n```exec\nx = 1\n```\n====\nend\n",
        );
        assert_eq!(
            compare(&en, &prose),
            vec![Difference::ExecCode {
                slide: 2,
                line: None
            }]
        );
    }

    #[test]
    fn load_follows_the_command_line_or_the_named_translations() {
        let dir = tempfile::tempdir().unwrap();
        let en = dir.path().join("talk.en.md");
        let de = dir.path().join("talk.de.md");
        std::fs::write(
            &en,
            "# T\n<!-- translations: talk.de.md talk.en.md talk.xx.md -->\n",
        )
        .unwrap();
        std::fs::write(&de, "# T de\n").unwrap();
        let (decks, warnings) = load(Deck::load(&en).unwrap(), &[]).unwrap();
        let labels: Vec<String> = decks.iter().map(|d| label(&d.path)).collect();
        assert_eq!(
            labels,
            vec!["en", "de"],
            "itself once, the missing one skipped"
        );
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].contains("talk.xx.md: no such file"),
            "{warnings:?}"
        );
        // Given on the command line, a missing file is an error and the comment is not read.
        assert!(load(Deck::load(&en).unwrap(), &[dir.path().join("talk.xx.md")]).is_err());
        let (decks, _) = load(Deck::load(&de).unwrap(), std::slice::from_ref(&en)).unwrap();
        assert_eq!(decks.len(), 2);
        assert_eq!(decks[1].path, en);
    }
}
