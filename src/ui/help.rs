//! The help overlay (`?`): every key binding as bound now, from the keymap the key handler
//! uses (so a key rebound in the config file shows as rebound).

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::Frame;

use crate::app::App;

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let help = app.keymap.help();
    let key_w = help
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let lines: Vec<Line> = help
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
