//! Draws the overview (`o`) and its search (`/`) over the whole screen: one row per matching
//! slide (number, exec mark, title), the current slide marked, the selection highlighted and
//! kept in view, and under a search hit the line that matched. Lines found in speaker notes
//! are shown only where notes may be seen (the speaker window).

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph};
use ratatui::Frame;

use crate::app::overview::Overview;
use crate::deck::Deck;
use crate::theme::Theme;

pub fn draw(
    theme: &Theme,
    deck: &Deck,
    ov: &Overview,
    current: usize,
    show_notes: bool,
    frame: &mut Frame,
    area: Rect,
) {
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(Style::default().fg(theme.accent))
        .title(" overview · / search · ↑↓ Enter jumps · Esc closes ");
    frame.render_widget(Clear, area);
    frame
        .buffer_mut()
        .set_style(area, Style::default().bg(theme.background).fg(theme.text));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height < 2 || inner.width < 10 {
        return;
    }
    let hits = ov.hits(deck);
    let accent = Style::default().fg(theme.accent);
    let dim = Style::default().fg(theme.dim);
    let field = if ov.typing || !ov.query.is_empty() {
        Line::from(vec![
            Span::styled(" / ", accent.add_modifier(Modifier::BOLD)),
            Span::raw(ov.query.clone()),
            Span::styled(if ov.typing { "▏" } else { "" }, accent),
            Span::styled(
                format!("   {} of {} slides", hits.len(), deck.slides.len()),
                dim,
            ),
        ])
    } else {
        Line::styled(
            format!(
                " {} slides · / searches slide text and notes",
                deck.slides.len()
            ),
            dim,
        )
    };
    frame.render_widget(Paragraph::new(field), Rect { height: 1, ..inner });

    let mut rows: Vec<Line> = Vec::new();
    let mut selected_row = 0;
    for hit in &hits {
        let slide = &deck.slides[hit.index];
        let is_sel = hit.index == ov.selected;
        if is_sel {
            selected_row = rows.len();
        }
        let mark = if hit.index == current { "▶" } else { " " };
        let exec = if slide.is_exec() { "⚙ " } else { "  " };
        let mut style = Style::default().fg(theme.text);
        if hit.index == current {
            style = style.fg(theme.accent).add_modifier(Modifier::BOLD);
        }
        if is_sel {
            style = style.add_modifier(Modifier::REVERSED);
        }
        let title = slide.title();
        let title = if title.is_empty() {
            "(empty)".into()
        } else {
            title
        };
        rows.push(Line::from(vec![
            Span::styled(format!("{mark}{:>4}  ", slide.number), style),
            Span::styled(exec, accent),
            Span::styled(title, style),
        ]));
        if let Some(line) = &hit.line {
            if show_notes || !hit.in_notes {
                let label = if hit.in_notes { "note: " } else { "" };
                rows.push(Line::styled(format!("           {label}{line}"), dim));
            }
        }
    }
    let list = Rect {
        y: inner.y + 2,
        height: inner.height.saturating_sub(2),
        ..inner
    };
    if hits.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled("  no slide matches", dim)),
            list,
        );
        return;
    }
    let h = list.height as usize;
    // Keep the selection (and its hint line) in view, a third of the way down when scrolling.
    let offset = if selected_row + 2 > h {
        (selected_row + 2).saturating_sub(h) + h / 3
    } else {
        0
    }
    .min(rows.len().saturating_sub(h));
    frame.render_widget(
        Paragraph::new(rows.into_iter().skip(offset).take(h).collect::<Vec<_>>()),
        list,
    );
}

#[cfg(test)]
mod tests {
    use crate::app::overview::Overview;
    use crate::app::App;
    use crate::deck::Deck;
    use crate::theme::Theme;

    #[test]
    fn audience_overview_with_a_search_that_matches_a_note() {
        let deck = Deck::parse(
            std::path::Path::new("t.md"),
            "# Intro\n====\n## Nurseries\ntext about tasks\n====\n## Cancel\n```exec\nprint(1)\n```\n<!-- note: mention SECRET deadlines -->\n====\n## End\n",
        )
        .unwrap();
        let mut app = App::new(deck, Theme::load("dark").unwrap().without_color(), 2);
        app.overview = Some(Overview::new(1, false));
        let all = crate::ui::render_frame(&app, 80, 16, false);
        insta::assert_snapshot!("overview_all_80x16", all);
        let mut ov = Overview::new(1, true);
        ov.query = "deadlines".into();
        ov.selected = 2;
        app.overview = Some(ov);
        let found = crate::ui::render_frame(&app, 80, 16, false);
        assert!(
            found.contains("Cancel") && !found.contains("SECRET"),
            "{found}"
        );
        insta::assert_snapshot!("overview_search_80x16", found);
    }
}
