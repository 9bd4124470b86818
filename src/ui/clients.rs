//! Client panes of an echo-server demo: one column per connection with its address and state,
//! the transcript (sent lines marked `>`, server replies `<`), and the input line. The focused
//! pane is highlighted so the audience sees where typing goes.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph};
use ratatui::Frame;

use crate::app::clients::{ClientPane, Said};
use crate::app::App;

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let n = app.clients.len().max(1) as u32;
    let cols = Layout::horizontal((0..n).map(|_| Constraint::Ratio(1, n))).split(area);
    for (i, (pane, col)) in app.clients.iter().zip(cols.iter()).enumerate() {
        draw_pane(app, pane, app.client_focus == Some(i), frame, *col);
    }
}

fn draw_pane(app: &App, pane: &ClientPane, focused: bool, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let border = if focused {
        Style::default()
            .fg(theme.accent)
            .add_modifier(Modifier::BOLD)
    } else {
        Style::default().fg(theme.dim)
    };
    let title = format!(
        " client {} → {} · {} ",
        pane.id,
        pane.addr,
        pane.state.label()
    );
    let block = Block::bordered()
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Rounded
        })
        .border_style(border)
        .title(Span::styled(title, border));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    let rows = inner.height as usize - 1;
    let mut lines: Vec<Line> = pane
        .transcript
        .iter()
        .rev()
        .take(rows)
        .map(|s| match s {
            Said::Sent(t) => Line::from(vec![
                Span::styled("> ", Style::default().fg(theme.accent)),
                Span::styled(t.clone(), Style::default().fg(theme.text)),
            ]),
            Said::Received(t) => Line::from(vec![
                Span::styled("< ", Style::default().fg(theme.dim)),
                Span::styled(t.clone(), Style::default().fg(theme.quote)),
            ]),
        })
        .collect();
    lines.reverse();
    while lines.len() < rows {
        lines.push(Line::raw(""));
    }
    let prompt = if focused {
        Line::from(vec![
            Span::styled("› ", Style::default().fg(theme.accent)),
            Span::styled(pane.input.clone(), Style::default().fg(theme.text)),
            Span::styled("█", Style::default().fg(theme.accent)),
        ])
    } else {
        Line::styled("  Tab to type here", Style::default().fg(theme.dim))
    };
    lines.push(prompt);
    frame.render_widget(Paragraph::new(lines), inner);
}
