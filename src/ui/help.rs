//! The help overlay (`?`): every key binding as bound now, from the keymap the key handler
//! uses (so a key rebound in the config file shows as rebound). When the rows do not fit the
//! screen's height they are laid out in two columns, so no binding is ever cut off.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

use crate::app::App;

/// Rows the overlay's border and title take.
const CHROME: usize = 2;

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let help = app.keymap.help();
    let key_w = help.iter().map(|(k, _)| k.width()).max().unwrap_or(0);
    let key_style = Style::default()
        .fg(app.theme.accent)
        .add_modifier(Modifier::BOLD);
    let text_style = Style::default().fg(app.theme.text);
    let fits = help.len() + CHROME <= area.height as usize;
    // In two columns a description gets what is left of half the width (keys never shrink).
    let room = if fits {
        usize::MAX
    } else {
        (area.width as usize).saturating_sub(4 + 2) / 2
    }
    .saturating_sub(key_w + 3);
    let cell = |(k, what): &(String, &str)| -> Vec<Span<'static>> {
        let pad = key_w.saturating_sub(k.width());
        let what = if what.width() > room {
            let mut cut: String = what.chars().take(room.saturating_sub(1)).collect();
            cut.push('…');
            cut
        } else {
            what.to_string()
        };
        vec![
            Span::styled(format!(" {k}{}  ", " ".repeat(pad)), key_style),
            Span::styled(what, text_style),
        ]
    };
    let lines: Vec<Line> = if fits {
        help.iter().map(|r| Line::from(cell(r))).collect()
    } else {
        // Two columns: the left one padded to its widest row.
        let half = help.len().div_ceil(2);
        let (left, right) = help.split_at(half);
        let left_w = left
            .iter()
            .map(|(k, what)| 1 + key_w.max(k.width()) + 2 + what.width().min(room))
            .max()
            .unwrap_or(0);
        left.iter()
            .enumerate()
            .map(|(i, r)| {
                let mut spans = cell(r);
                if let Some(other) = right.get(i) {
                    let used: usize = spans.iter().map(|s| s.content.width()).sum();
                    spans.push(Span::raw(" ".repeat(left_w.saturating_sub(used) + 2)));
                    spans.extend(cell(other));
                }
                Line::from(spans)
            })
            .collect()
    };
    super::overlay(&app.theme, frame, area, " keys · any key closes ", lines, 0);
}
