//! `trio-present export DECK -o talk.html`: the deck as one self-contained web page (see
//! [`crate::web::page`]) with the newest recording of each exec slide embedded for its player.
//! Slides without a recording still show their code and say that none exists; a recording of
//! code that changed since is used with a warning, as `export --cast` does.

use std::path::Path;

use crate::deck::Deck;
use crate::record::{Found, Store};
use crate::theme::Theme;
use crate::web::page::{self, PageOptions};
use crate::web::runs;

/// Writes the page; returns the exit status.
pub fn export(deck: &Deck, path: &Path, theme: &Theme, notes: bool) -> anyhow::Result<i32> {
    let store = Store::for_user();
    let mut opts = PageOptions {
        notes,
        ..PageOptions::default()
    };
    let exec = deck.exec_slides();
    let mut missing = Vec::new();
    for &slide in &exec {
        let found = match &store {
            Some(store) => store.find(deck, slide),
            None => Found::None(vec![]),
        };
        let (rec, older) = match found {
            Found::Exact(rec, _) => (rec, false),
            Found::Other(rec, _) => {
                eprintln!(
                    "trio-present: slide {slide}: its code changed since its recording of {}; \
                     exporting that older run",
                    rec.header.date
                );
                (rec, true)
            }
            Found::None(problems) => {
                for p in problems.iter().take(1) {
                    eprintln!("trio-present: {p}");
                }
                missing.push(slide);
                continue;
            }
        };
        opts.runs.insert(
            slide.to_string(),
            runs::recording_json(theme, slide, &rec, older),
        );
    }
    let html = page::build(deck, theme, &opts);
    std::fs::write(path, html.as_bytes())
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    eprintln!(
        "trio-present: wrote {} ({} slides, {} of {} exec slides with a recorded run, {} KB)",
        path.display(),
        deck.slides.len(),
        exec.len() - missing.len(),
        exec.len(),
        html.len().div_ceil(1024)
    );
    if !missing.is_empty() {
        let list: Vec<String> = missing.iter().map(|n| n.to_string()).collect();
        eprintln!(
            "trio-present: no recording of slide{} {} (record with: trio-present check --record --trust {} --slides {})",
            if missing.len() > 1 { "s" } else { "" },
            list.join(", "),
            deck.path.display(),
            list.join(",")
        );
    }
    Ok(0)
}
