//! Drawing: a pure function of the app state onto a ratatui frame. The screen is the slide
//! (centred), the output pane of a run (under the slide when it fits, beside it otherwise), a
//! status bar, and the overlays (help, the consent prompt).

mod clients;
mod consent;
mod console;
pub(crate) mod editor;
mod help;
mod output;
pub(crate) mod overview;
mod panels;
pub mod speaker;
pub(crate) mod status;
mod text;
pub mod timeline;
pub mod tree;

pub use text::{buffer_text, render_frame};

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::App;

/// Rows the output pane needs at least to be worth showing under the slide.
const OUTPUT_MIN_ROWS: u16 = 8;
/// Below this many columns the output pane never goes beside the slide.
const SIDE_BY_SIDE_MIN_COLS: u16 = 110;

/// Draws the whole screen for `app`.
pub fn draw(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let Some([main, bar]) = screen(area) else {
        frame.render_widget(Paragraph::new("window too small"), area);
        return;
    };
    let base = Style::default().bg(app.theme.background).fg(app.theme.text);
    frame.buffer_mut().set_style(area, base);
    // Blanked: the room sees an empty screen; only the speaker's own overlays may show.
    if app.blank {
        if app.help {
            help::draw(app, frame, area);
        }
        if let Some(prompt) = &app.consent {
            consent::draw(app, prompt, frame, area);
        }
        return;
    }
    status::draw(app, frame, bar);

    let output = app.current_output();
    let console = app
        .console
        .as_ref()
        .filter(|c| c.slide == app.slide_number());
    match output {
        _ if console.is_some() => {
            let [s, c] =
                Layout::vertical([Constraint::Percentage(40), Constraint::Min(6)]).areas(main);
            draw_slide(app, frame, s);
            if let Some(con) = console {
                console::draw(app, con, frame, c);
            }
        }
        None => draw_slide(app, frame, main),
        Some(out) => {
            let (slide_area, mut out_area) = split(app, main);
            draw_slide(app, frame, slide_area);
            if !app.clients.is_empty() && app.clients_slide == app.slide_number() {
                let h = (out_area.height / 2).clamp(4, 12);
                let [o, c] =
                    Layout::vertical([Constraint::Min(1), Constraint::Length(h)]).areas(out_area);
                clients::draw(app, frame, c);
                out_area = o;
            }
            if app.stdin_focus && out_area.height > 3 {
                let [o, typed] =
                    Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(out_area);
                editor::draw_stdin(app, frame, typed);
                out_area = o;
            }
            panels::draw(app, out, frame, out_area);
        }
    }
    if let Some(ov) = &app.overview {
        overview::draw(&app.theme, &app.deck, ov, app.current, false, frame, main);
    }
    if app.help {
        help::draw(app, frame, area);
    }
    if let Some(prompt) = &app.consent {
        consent::draw(app, prompt, frame, area);
    }
}

/// Lays out the slides before and after the current one at the width [`draw`] gives them on
/// an `area`-sized screen (the slide alone, or above its output), so that paging to one only
/// draws it: called when a frame is out and no key waits.
pub fn warm_neighbours(app: &App, area: Rect) {
    let Some([main, _]) = screen(area) else {
        return;
    };
    let width = margins(main).width;
    for index in [app.current + 1, app.current.wrapping_sub(1)] {
        if index < app.deck.slides.len() {
            app.layout(index, width);
        }
    }
}

/// The screen's main area (slide, output, overlays) and its status bar; `None` when it is
/// too small for them.
fn screen(area: Rect) -> Option<[Rect; 2]> {
    (area.width >= 10 && area.height >= 3)
        .then(|| Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area))
}

/// The slide's part of `area` after margins: one column in twenty-five each side (at least 2),
/// one row top and bottom.
fn margins(area: Rect) -> Rect {
    let side = (area.width / 25).max(2);
    let inner_w = area.width.saturating_sub(2 * side);
    let (top, inner_h) = if area.height > 6 {
        (1, area.height - 2)
    } else {
        (0, area.height)
    };
    Rect::new(area.x + side, area.y + top, inner_w, inner_h)
}

/// Splits `main` between the slide and its output pane.
fn split(app: &App, main: Rect) -> (Rect, Rect) {
    let inner = margins(main);
    // Saturating: a slide can have more rows than a u16 counts (a 70 000-line code block).
    let needed = app
        .layout(app.current, inner.width)
        .height()
        .saturating_add(2);
    if needed.saturating_add(OUTPUT_MIN_ROWS) <= main.height {
        let [s, o] =
            Layout::vertical([Constraint::Length(needed), Constraint::Min(OUTPUT_MIN_ROWS)])
                .areas(main);
        (s, o)
    } else if main.width >= SIDE_BY_SIDE_MIN_COLS {
        let [s, o] = Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
            .areas(main);
        (s, o)
    } else {
        let keep = main
            .height
            .saturating_sub(OUTPUT_MIN_ROWS)
            .max(main.height / 2);
        let [s, o] = Layout::vertical([Constraint::Length(keep), Constraint::Min(1)]).areas(main);
        (s, o)
    }
}

/// Draws the current slide centred in `area`, scrolled by `app.scroll` when it is too tall.
fn draw_slide(app: &App, frame: &mut Frame, area: Rect) {
    if let Some(ed) = app
        .editor
        .as_ref()
        .filter(|e| e.slide == app.slide_number())
    {
        return editor::draw(app, ed, frame, area);
    }
    let inner = margins(area);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let (layout, notices) = slide_content(app, app.current, inner.width);
    // Capped at u16::MAX (the most `scroll` can reach), not wrapped around.
    let total = layout.height();
    let height = inner.height.saturating_sub(u16::from(!notices.is_empty()));
    let overflow = total.saturating_sub(height);
    let scroll = app.scroll.min(overflow);
    let shown = total.min(height);
    let width = layout.width.min(inner.width);
    let x = inner.x + (inner.width - width) / 2;
    let y = inner.y + (height - shown) / 2;
    let block = Rect::new(x, y, width, shown);
    let visible: Vec<Line> = layout
        .lines
        .iter()
        .skip(scroll as usize)
        .take(shown as usize)
        .cloned()
        .collect();
    frame.render_widget(Paragraph::new(visible), block);

    let dim = Style::default().fg(app.theme.dim);
    let right = inner.x + inner.width;
    if scroll > 0 {
        put_right(frame, right, inner.y, "▲ k", dim);
    }
    if scroll < overflow {
        let more = format!("▼ {} more (j)", overflow - scroll);
        put_right(frame, right, inner.y + height.saturating_sub(1), &more, dim);
    }
    if let Some(first) = notices.first() {
        let line = Line::styled(format!("⚠ {first}"), Style::default().fg(app.theme.error));
        let row = Rect::new(inner.x, inner.y + inner.height - 1, inner.width, 1);
        frame.render_widget(Paragraph::new(line).centered(), row);
    }
}

/// Slide `index` laid out at `width`, and the notices shown under it (unclosed fences, clipped
/// code), which take a row of their own.
fn slide_content(
    app: &App,
    index: usize,
    width: u16,
) -> (std::rc::Rc<crate::render::SlideLayout>, Vec<String>) {
    let layout = app.layout(index, width);
    let slide = &app.deck.slides[index];
    let mut notices: Vec<String> = slide
        .blocks
        .iter()
        .filter(|b| b.unclosed)
        .map(|b| {
            format!(
                "unclosed code fence opened at line {}: it runs to the end of the deck",
                b.fence_line
            )
        })
        .collect();
    notices.extend(layout.notices.iter().cloned());
    (layout, notices)
}

/// Rows of slide `index` that do not fit on a `width` x `height` terminal before any output
/// is shown: what the speaker would have to scroll to (`trio-present check --size`).
pub fn overflow_rows(app: &App, index: usize, width: u16, height: u16) -> u16 {
    let main = Rect::new(0, 0, width, height.saturating_sub(1));
    let inner = margins(main);
    let (layout, notices) = slide_content(app, index, inner.width);
    let rows = inner.height.saturating_sub(u16::from(!notices.is_empty()));
    cells(layout.lines.len()).saturating_sub(rows)
}

/// Draws a panel's frame (the given borders in the dim colour, an accent title) and returns
/// the inside, one column in from the left and `pad_right` in from the right.
pub(crate) fn panel(
    theme: &crate::theme::Theme,
    frame: &mut Frame,
    area: Rect,
    borders: ratatui::widgets::Borders,
    title: String,
    pad_right: u16,
) -> Rect {
    let block = ratatui::widgets::Block::new()
        .borders(borders)
        .border_style(Style::default().fg(theme.dim))
        .title(ratatui::text::Span::styled(
            title,
            Style::default().fg(theme.accent),
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    Rect::new(
        inner.x + 1,
        inner.y,
        inner.width.saturating_sub(1 + pad_right),
        inner.height,
    )
}

/// Draws `lines` in a rounded box centred in `area`, at least as wide as its title and
/// scrolled by `scroll` rows: the overlays (help, the consent prompt).
pub(crate) fn overlay(
    theme: &crate::theme::Theme,
    frame: &mut Frame,
    area: Rect,
    title: &str,
    lines: Vec<Line<'static>>,
    scroll: u16,
) {
    use ratatui::widgets::{Block, BorderType, Clear};
    let widest = lines.iter().map(Line::width).max().unwrap_or(0);
    let w = cells(widest)
        .saturating_add(4)
        .max(cells(title.chars().count()).saturating_add(4))
        .min(area.width);
    let h = cells(lines.len()).saturating_add(2).min(area.height);
    let rect = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .title(title.to_string())
        .border_style(Style::default().fg(theme.accent));
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(block).scroll((scroll, 0)), rect);
}

/// A count of cells or rows as a `u16`, capped rather than wrapped: content (hidden code, a
/// demo's output, task lists) can be longer than a terminal can ever show, and `as u16` would
/// turn 65,540 cells into 4.
pub(crate) fn cells(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

/// Writes `text` so that it ends at column `right`.
fn put_right(frame: &mut Frame, right: u16, y: u16, text: &str, style: Style) {
    let w = cells(unicode_width::UnicodeWidthStr::width(text));
    let x = right.saturating_sub(w);
    frame.buffer_mut().set_string(x, y, text, style);
}

#[cfg(test)]
mod editor_tests;
#[cfg(test)]
mod tests;
