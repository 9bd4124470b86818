//! Consent before running a deck's code: the digest that identifies what would run (every
//! `exec` and `exechidden` block, in order), the per-user store of approved digests, and the
//! gate that says whether a run may start, must ask first, or is switched off.
//!
//! Approval is tied to the code, not to the file name: a deck downloaded for a workshop, or
//! edited since it was approved, asks again before anything runs.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::deck::{BlockKind, Deck};

/// Whether the deck's code may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Gate {
    /// `--trust`, or this user approved exactly this code before.
    Allowed,
    /// Show what would run and ask before the first run.
    #[default]
    Ask,
    /// `--no-exec`: the deck is only shown.
    Disabled,
}

/// The hex SHA-256 of the deck's runnable blocks (kind, slide-independent source), so
/// moving slides around or editing prose keeps an approval, while any code change drops it.
pub fn digest(deck: &Deck) -> String {
    let mut h = Sha256::new();
    for block in deck.slides.iter().flat_map(|s| &s.blocks) {
        let tag: &[u8] = match block.kind {
            BlockKind::Exec => b"exec",
            BlockKind::Hidden => b"exechidden",
            BlockKind::Display => continue,
        };
        // Lengths first, so no two different block lists can hash the same bytes.
        h.update((tag.len() as u64).to_le_bytes());
        h.update(tag);
        h.update((block.source.len() as u64).to_le_bytes());
        h.update(block.source.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// What would run, for the consent prompt: counts of shown and hidden blocks and the slides
/// they are on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    pub exec_blocks: usize,
    pub hidden_blocks: usize,
    pub exec_slides: Vec<usize>,
    pub hidden_slides: Vec<usize>,
}

impl Summary {
    pub fn of(deck: &Deck) -> Summary {
        let mut s = Summary::default();
        for b in deck.slides.iter().flat_map(|s| &s.blocks) {
            let (count, slides) = match b.kind {
                BlockKind::Exec => (&mut s.exec_blocks, &mut s.exec_slides),
                BlockKind::Hidden => (&mut s.hidden_blocks, &mut s.hidden_slides),
                BlockKind::Display => continue,
            };
            *count += 1;
            if slides.last() != Some(&b.slide) {
                slides.push(b.slide);
            }
        }
        s
    }
}

/// The approved digests of this user: one line per approval (`digest  deck path`), in
/// `$XDG_DATA_HOME/trio-present/approved` (or the platform's data directory).
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
}

impl Store {
    /// The user's store; `None` only when no home directory can be found.
    pub fn for_user() -> Option<Store> {
        Some(Store::at(crate::dirs::data()?.join("approved")))
    }

    pub fn at(path: PathBuf) -> Store {
        Store { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether `digest` was approved; an unreadable store approves nothing.
    pub fn is_approved(&self, digest: &str) -> bool {
        std::fs::read_to_string(&self.path).is_ok_and(|text| {
            text.lines()
                .any(|l| l.split_whitespace().next() == Some(digest))
        })
    }

    /// Records an approval of `digest` for the deck at `deck_path` (the path is only a note
    /// for a human reading the file).
    pub fn approve(&self, digest: &str, deck_path: &Path) -> std::io::Result<()> {
        if self.is_approved(digest) {
            return Ok(());
        }
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        let full = deck_path
            .canonicalize()
            .unwrap_or_else(|_| deck_path.to_path_buf());
        let shown = full.to_string_lossy().replace('\n', " ");
        writeln!(f, "{digest}  {shown}")
    }
}

/// The gate for `deck` given the command-line flags and the store.
pub fn gate(deck: &Deck, trust: bool, no_exec: bool, store: Option<&Store>) -> Gate {
    if no_exec {
        Gate::Disabled
    } else if trust
        || !deck.slides.iter().any(|s| s.is_exec())
        || store.is_some_and(|s| s.is_approved(&digest(deck)))
    {
        Gate::Allowed
    } else {
        Gate::Ask
    }
}

/// The one-line refusal of the headless commands, naming both ways forward.
pub fn refusal(deck: &Path, command: &str) -> String {
    format!(
        "{}: this deck's code has not been approved on this machine; read it, then pass --trust \
         (e.g. trio-present {command} --trust ...) or approve it once in the presenter",
        deck.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deck(text: &str) -> Deck {
        Deck::parse(Path::new("t.md"), text).expect("deck")
    }

    #[test]
    fn digest_follows_code_not_prose() {
        let a = deck("# A\n\n```exec\nprint(1)\n```\n====\n```exechidden\nx = 2\n```\n");
        let prose =
            deck("# B\n\ntext\n\n```exec\nprint(1)\n```\n====\n```exechidden\nx = 2\n```\n");
        let code = deck("# A\n\n```exec\nprint(2)\n```\n====\n```exechidden\nx = 2\n```\n");
        let shown = deck("# A\n\n```exec\nprint(1)\n```\n====\n```exec\nx = 2\n```\n");
        assert_eq!(digest(&a), digest(&prose));
        assert_ne!(digest(&a), digest(&code));
        assert_ne!(digest(&a), digest(&shown), "hiding a block is a change");
        assert_eq!(digest(&a).len(), 64);
    }

    #[test]
    fn summary_counts_blocks_and_slides() {
        let d = deck(
            "```exec\na\n```\n```exec\nb\n```\n====\n```exechidden\nc\n```\n```python\nd\n```\n",
        );
        let s = Summary::of(&d);
        assert_eq!((s.exec_blocks, s.hidden_blocks), (2, 1));
        assert_eq!((s.exec_slides, s.hidden_slides), (vec![1], vec![2]));
    }

    #[test]
    fn store_remembers_approvals_and_gate_uses_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path().join("sub/approved"));
        let d = deck("```exec\nprint(1)\n```\n");
        assert_eq!(gate(&d, false, false, Some(&store)), Gate::Ask);
        store.approve(&digest(&d), Path::new("t.md")).unwrap();
        store.approve(&digest(&d), Path::new("t.md")).unwrap();
        assert_eq!(gate(&d, false, false, Some(&store)), Gate::Allowed);
        let text = std::fs::read_to_string(store.path()).unwrap();
        assert_eq!(text.lines().count(), 1, "approving twice writes once");
        let edited = deck("```exec\nprint(2)\n```\n");
        assert_eq!(gate(&edited, false, false, Some(&store)), Gate::Ask);
        assert_eq!(gate(&edited, true, false, Some(&store)), Gate::Allowed);
        assert_eq!(gate(&d, false, true, Some(&store)), Gate::Disabled);
        assert_eq!(gate(&edited, false, false, None), Gate::Ask);
        let prose_only = deck("# nothing to run\n");
        assert_eq!(gate(&prose_only, false, false, None), Gate::Allowed);
    }
}
