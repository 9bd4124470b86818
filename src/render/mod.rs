//! Slide layout: markdown of one slide -> styled, wrapped terminal lines (a block the UI centres).
//! (Stub: the real implementation replaces this file.)

use ratatui::text::Line;

use crate::deck::Slide;
use crate::theme::Theme;

/// A slide laid out for a given width.
#[derive(Debug, Clone, Default)]
pub struct SlideLayout {
    /// The content block, top to bottom; no line is wider than `width` cells.
    pub lines: Vec<Line<'static>>,
    /// Width of the widest line in cells; the caller centres a block of this width.
    pub width: u16,
    /// Things the speaker should know (e.g. "diagram clipped: 120 columns, screen has 96").
    pub notices: Vec<String>,
}

/// Lays out `slide` to fit in `max_width` cells.
pub fn layout_slide(slide: &Slide, max_width: u16, theme: &Theme) -> SlideLayout {
    let _ = theme;
    let lines: Vec<Line<'static>> = slide
        .markdown
        .lines()
        .map(|l| Line::raw(l.chars().take(max_width as usize).collect::<String>()))
        .collect();
    let width = lines.iter().map(|l| l.width()).max().unwrap_or(0) as u16;
    SlideLayout {
        lines,
        width,
        notices: vec![],
    }
}

/// Loads the syntax-highlighting sets ahead of need (called from a background thread after the
/// first frame, so the first code slide does not pay for it).
pub fn warm_up() {}
