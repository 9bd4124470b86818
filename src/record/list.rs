//! `trio-present recordings DECK`: what is recorded for a deck (slide, when, status, duration,
//! whether its code is still the deck's), and `--delete` to remove some or all of it.

use std::io::Write;

use super::{code_digest, read_header, Store};
use crate::deck::Deck;

/// Lists (or deletes) the deck's recordings; `slides` empty means all. Returns the exit status.
pub fn run(deck: &Deck, slides: &[usize], delete: bool, w: &mut impl Write) -> anyhow::Result<i32> {
    let Some(store) = Store::for_user() else {
        anyhow::bail!("no data directory (set XDG_DATA_HOME): nothing is recorded");
    };
    let dir = store.deck_dir(&deck.path);
    let all: Vec<_> = store
        .all(&deck.path)
        .into_iter()
        .filter(|(n, _)| slides.is_empty() || slides.contains(n))
        .collect();
    if all.is_empty() {
        writeln!(
            w,
            "no recordings of {}{}; every run in the presenter, `run` and `check --record` makes one",
            deck.path.display(),
            if slides.is_empty() { "" } else { " for these slides" }
        )?;
        return Ok(0);
    }
    if delete {
        let mut n = 0;
        for (slide, files) in &all {
            for f in files {
                if std::fs::remove_file(f).is_ok() {
                    n += 1;
                }
            }
            let _ = std::fs::remove_dir(store.slide_dir(&deck.path, *slide));
        }
        let _ = std::fs::remove_dir(&dir);
        writeln!(w, "deleted {n} recordings of {}", deck.path.display())?;
        return Ok(0);
    }
    writeln!(
        w,
        "recordings of {} (in {})",
        deck.path.display(),
        dir.display()
    )?;
    writeln!(
        w,
        "slide  recorded             by         status   duration  code"
    )?;
    let (mut count, mut bytes) = (0, 0u64);
    for (slide, files) in &all {
        let current = (*slide <= deck.slides.len()).then(|| code_digest(deck, *slide));
        for f in files.iter().rev() {
            count += 1;
            bytes += std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
            match read_header(f) {
                Ok(h) => {
                    let code = if current.as_deref() == Some(h.digest.as_str()) {
                        "current"
                    } else {
                        "changed since"
                    };
                    let status = if h.truncated {
                        format!("{}+cut", h.status)
                    } else {
                        h.status.clone()
                    };
                    writeln!(
                        w,
                        "{slide:5}  {:19}  {:9}  {:7}  {:7.2} s  {code}",
                        h.date, h.source, status, h.duration
                    )?;
                }
                Err(e) => writeln!(w, "{slide:5}  {e}")?,
            }
        }
    }
    writeln!(
        w,
        "{count} recordings, {} KB; delete with: trio-present recordings {} --delete [--slides N,M]",
        bytes.div_ceil(1024),
        deck.path.display()
    )?;
    Ok(0)
}
