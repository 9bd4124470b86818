//! The help overlay (`?`): every key binding, from the same table the key handler uses.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::Frame;

use crate::app::keys::HELP;
use crate::app::App;

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let key_w = HELP
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let lines: Vec<Line> = HELP
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(
                    format!(" {k:<key_w$}  "),
                    Style::default()
                        .fg(app.theme.accent)
                        .add_modifier(Modifier::BOLD),
                ),
                Span::styled(what.to_string(), Style::default().fg(app.theme.text)),
            ])
        })
        .collect();
    super::overlay(&app.theme, frame, area, " keys · any key closes ", lines, 0);
}
