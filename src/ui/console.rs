//! The trio console pane (see `app::console`): its output above (drawn like a run's, with the
//! task tree and timeline beside it), the input below, highlighted as Python.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::console::Console;
use crate::app::App;

/// Draws the console `c` in `area`.
pub fn draw(app: &App, c: &Console, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let mut rows: Vec<String> = c.lines.clone();
    rows.push(c.input.clone());
    let max = usize::from(area.height / 3).max(1);
    let skip = rows.len().saturating_sub(max);
    let shown: Vec<String> = rows[skip..].to_vec();
    let height = u16::try_from(shown.len()).unwrap_or(1);
    let [out, input] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(height)]).areas(area);
    super::panels::draw(app, &c.output, frame, out);

    let styled = if theme.no_color {
        None
    } else {
        crate::render::highlight(&shown, "python", &theme.syntect_theme, str::len)
    };
    let text = Style::default().fg(theme.text);
    let dim = Style::default().fg(theme.dim);
    let last = shown.len().saturating_sub(1);
    let mut lines = Vec::with_capacity(shown.len());
    for (i, line) in shown.iter().enumerate() {
        let first = skip + i == 0;
        let prompt = if c.busy && i == last && c.lines.is_empty() && c.input.is_empty() {
            "··· "
        } else if first {
            ">>> "
        } else {
            "... "
        };
        let mut spans = vec![Span::styled(prompt, dim)];
        let runs: Vec<(Style, String)> = styled
            .as_ref()
            .and_then(|s| s.get(i).cloned())
            .unwrap_or_else(|| vec![(text, line.clone())]);
        spans.extend(runs.into_iter().map(|(st, piece)| Span::styled(piece, st)));
        if i == last && app.console_focus {
            spans.push(Span::styled(
                " ",
                Style::default().add_modifier(Modifier::REVERSED),
            ));
        }
        lines.push(Line::from(spans));
    }
    frame.render_widget(Paragraph::new(lines), input);
}
