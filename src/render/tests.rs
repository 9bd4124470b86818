//! Layout tests: wrapping by cells, lists, quotes, code boxes, clipping, robustness, and
//! snapshots of reference-deck slides.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use ratatui::style::{Color, Modifier};

use super::*;
use crate::deck::Deck;

fn deck() -> &'static Deck {
    static DECK: OnceLock<Deck> = OnceLock::new();
    DECK.get_or_init(|| {
        let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/slides/trio.md"));
        Deck::load(path).expect("reference deck loads")
    })
}

fn dark() -> Theme {
    Theme::load("dark").unwrap()
}

fn slide(n: usize) -> &'static Slide {
    &deck().slides[n - 1]
}

fn md(markdown: &str, width: u16) -> SlideLayout {
    layout_markdown(markdown, width, &dark())
}

fn texts(layout: &SlideLayout) -> Vec<String> {
    layout
        .lines
        .iter()
        .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
        .collect()
}

/// Every invariant the UI relies on.
fn check(layout: &SlideLayout, max_width: u16) {
    let widest = layout.lines.iter().map(|l| l.width()).max().unwrap_or(0);
    assert_eq!(usize::from(layout.width), widest);
    assert!(layout.width <= max_width, "{} > {max_width}", layout.width);
    for line in &layout.lines {
        assert_eq!(line.alignment, Some(ratatui::layout::Alignment::Left));
    }
}

/// Snapshot text: the plain text with trailing spaces trimmed (they are padding, and trailing
/// whitespace in snapshot files does not survive editors).
fn snapshot_text(layout: &SlideLayout) -> String {
    let body: Vec<String> = texts(layout)
        .iter()
        .map(|l| l.trim_end().to_string())
        .collect();
    format!("width {}\n{}", layout.width, body.join("\n"))
}

#[test]
fn debug_print_deck() {
    let theme = dark();
    for s in &deck().slides {
        let l = layout_slide(s, 76, &theme);
        eprintln!("--- slide {} (w {}) {:?}", s.number, l.width, l.notices);
        eprintln!("{}", l.plain_text());
    }
}
