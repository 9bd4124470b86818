//! Slide layout: markdown of one slide -> styled, wrapped terminal lines (a block the UI centres).
//!
//! The pipeline is `markdown` (pulldown-cmark events -> block tree) -> `layout` (blocks -> rows
//! with prefixes, wrapped by `wrap`, code boxes from `code` highlighted by `highlight`) -> lines.
//! Every line is left-aligned within the block; H1 headings are centred by padding with spaces,
//! so the result looks the same however the caller draws it.

pub mod code;
pub mod highlight;
mod layout;
pub mod markdown;
mod wrap;

// For the block editor (ui::editor): the same highlighter as slides.
pub use highlight::highlight;
pub use wrap::clusters;

use ratatui::text::Line;

use crate::deck::Slide;
use crate::theme::Theme;

pub use code::{CLIP_MARKER, EXEC_LABEL};
pub use wrap::str_width;

/// Running text (paragraphs, headings, lists, quotes) wraps at this many cells even on a wide
/// screen: longer lines are hard to follow from the back of a room. Code boxes and diagrams may
/// use the full width.
pub const TEXT_WIDTH: u16 = 72;

/// A slide laid out for a given width.
#[derive(Debug, Clone, Default)]
pub struct SlideLayout {
    /// The content block, top to bottom; no line is wider than `width` cells.
    pub lines: Vec<Line<'static>>,
    /// Width of the widest line in cells; the caller centres a block of this width.
    pub width: u16,
    /// Things the speaker should know, e.g. "code block clipped: 120 columns wide, 94 visible".
    pub notices: Vec<String>,
}

impl SlideLayout {
    /// The block as plain text, one line per row (for tests, search and debugging).
    pub fn plain_text(&self) -> String {
        let mut out = String::new();
        for (i, line) in self.lines.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            for span in &line.spans {
                out.push_str(&span.content);
            }
        }
        out
    }

    /// Number of rows in the block.
    pub fn height(&self) -> u16 {
        self.lines.len().min(u16::MAX as usize) as u16
    }
}

/// Lays out `slide` to fit in `max_width` cells.
pub fn layout_slide(slide: &Slide, max_width: u16, theme: &Theme) -> SlideLayout {
    layout_markdown(&slide.markdown, max_width, theme)
}

/// Lays out any markdown the way a slide is laid out (fences classified by their info string
/// exactly as the deck does: `exec`, `exechidden`, anything else).
pub fn layout_markdown(markdown: &str, max_width: u16, theme: &Theme) -> SlideLayout {
    let max_width = usize::from(max_width);
    if max_width == 0 {
        return SlideLayout::default();
    }
    let blocks = markdown::parse(markdown);
    let (lines, notices) = layout::layout(&blocks, usize::from(TEXT_WIDTH), max_width, theme);
    let width = lines.iter().map(Line::width).max().unwrap_or(0);
    SlideLayout {
        lines,
        width: width.min(usize::from(u16::MAX)) as u16,
        notices,
    }
}

/// Loads the syntax-highlighting sets ahead of need (called from a background thread after the
/// first frame, so the first code slide does not pay for it). Cheap after the first call.
pub fn warm_up() {
    highlight::warm_up();
}

/// Whether [`warm_up`] (or a code slide) has loaded the highlighting sets.
pub fn is_warm() -> bool {
    highlight::is_loaded()
}

#[cfg(test)]
mod tests;
