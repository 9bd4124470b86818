//! The block editor pane (drawn in place of the slide while it is open), the line typed into
//! a demo's stdin, and the status-bar marks of edit and re-run (`edited`, the picked block,
//! typing into the demo). Pure functions of the app state, like the rest of the UI.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Borders, Paragraph};
use ratatui::Frame;

use crate::app::edit::runnable;
use crate::app::editor::Editor;
use crate::app::output::{RunOutput, Source};
use crate::app::App;
use crate::render::{clusters, str_width};

/// Draws the editor for `ed` in `area`.
pub fn draw(app: &App, ed: &Editor, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let of = app
        .deck
        .slides
        .get(ed.slide - 1)
        .map_or(1, |s| runnable(s).len());
    let block = if of > 1 {
        format!(" · block {} of {of}", ed.block + 1)
    } else {
        String::new()
    };
    let title = format!(
        " ✎ slide {}{block} · Ctrl-e run · Ctrl-s write to deck · Ctrl-z undo · Esc done ",
        ed.slide
    );
    let inner = super::panel(theme, frame, area, Borders::ALL, title, 0);
    if inner.width < 4 || inner.height == 0 {
        return;
    }
    let error = app
        .outputs
        .get(&ed.slide)
        .and_then(|o| syntax_error(o, ed.block, of));
    let height = usize::from(inner.height) - usize::from(error.is_some());
    let top = ed.top(height);
    let gutter = ed.lines.len().to_string().len().max(2);
    let code_w = usize::from(inner.width).saturating_sub(gutter + 2);
    // Scrolled sideways so that the cursor stays in view on a long line.
    let left = ed.col.saturating_sub(code_w.saturating_sub(1));
    let shown: Vec<String> = ed.lines.iter().skip(top).take(height).cloned().collect();
    let styled = if theme.no_color {
        None
    } else {
        crate::render::highlight(&shown, "python", &theme.syntect_theme, str::len)
    };
    let text = Style::default().fg(theme.text);
    let mut lines = Vec::with_capacity(shown.len() + 1);
    for (i, line) in shown.iter().enumerate() {
        let row = top + i;
        let mark = match &error {
            Some((l, _)) if *l == row + 1 => Span::styled("✖", Style::default().fg(theme.error)),
            _ => Span::raw(" "),
        };
        let mut spans = vec![
            Span::styled(
                format!("{:>gutter$}", row + 1),
                Style::default().fg(theme.dim),
            ),
            mark,
            Span::raw(" "),
        ];
        // One cell per character, styled by the highlighter's run it falls in.
        let runs: Vec<(Style, String)> = styled
            .as_ref()
            .and_then(|s| s.get(i).cloned())
            .unwrap_or_else(|| vec![(text, line.clone())]);
        let cursor = (row == ed.row).then_some(ed.col);
        let mut col = 0;
        let mut used = 0;
        for (style, piece) in &runs {
            for ch in clusters(piece) {
                if col >= left && used + str_width(ch) <= code_w {
                    let mut st = text.patch(*style);
                    if cursor == Some(col) {
                        st = st.add_modifier(Modifier::REVERSED);
                    }
                    spans.push(Span::styled(ch.to_string(), st));
                    used += str_width(ch);
                }
                col += 1;
            }
        }
        if cursor.is_some_and(|c| c >= col) && used < code_w {
            spans.push(Span::styled(" ", text.add_modifier(Modifier::REVERSED)));
        }
        lines.push(Line::from(spans));
    }
    frame.render_widget(Paragraph::new(lines), inner);
    if let Some((line, message)) = error {
        let row = Rect::new(inner.x, inner.y + inner.height - 1, inner.width, 1);
        let text = format!("✖ line {line}: {message}");
        frame.render_widget(
            Paragraph::new(Span::styled(text, Style::default().fg(theme.error))),
            row,
        );
    }
}

/// The syntax error the last run of the slide reported in block `block` (0-based, of `of`):
/// its line in the block and its message, from the compact report
/// (`File "slide 37", line 2` … `SyntaxError: '(' was never closed`).
pub fn syntax_error(out: &RunOutput, block: usize, of: usize) -> Option<(usize, String)> {
    let name = if of > 1 {
        format!("File \"slide {} (block {})\", line ", out.slide, block + 1)
    } else {
        format!("File \"slide {}\", line ", out.slide)
    };
    let errors: Vec<&str> = out
        .lines
        .iter()
        .filter(|l| l.source == Source::Error)
        .map(|l| l.text.trim())
        .collect();
    let at = errors.iter().rposition(|l| l.starts_with(&name))?;
    let line: usize = errors[at][name.len()..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    let message = errors[at..]
        .iter()
        .find(|l| {
            ["SyntaxError", "IndentationError", "TabError"]
                .iter()
                .any(|e| l.starts_with(e))
        })?
        .to_string();
    Some((line, message))
}

/// The line being typed into the demo's stdin, at the bottom of the output pane.
pub fn draw_stdin(app: &App, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let line = Line::from(vec![
        Span::styled(
            " stdin ▸ ",
            Style::default()
                .fg(theme.accent)
                .add_modifier(Modifier::BOLD),
        ),
        Span::styled(app.stdin_line.clone(), Style::default().fg(theme.text)),
        Span::styled(" ", Style::default().add_modifier(Modifier::REVERSED)),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}

/// Status-bar marks: typing into the demo, the slide's code edited, the picked block.
pub fn status_spans(app: &App, base: Style) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    let strong = base.add_modifier(Modifier::REVERSED | Modifier::BOLD);
    if app.stdin_focus {
        spans.push(Span::styled(
            " ⌨ typing into the demo · Enter sends · Ctrl-d EOF · Esc back ",
            strong,
        ));
    }
    let n = app.slide_number();
    if app.edited() {
        spans.push(Span::styled(" ✎ edited · u reverts ", strong));
    } else if let Some(s) = app.edits.keys().map(|(s, _)| *s).filter(|s| *s < n).max() {
        // An edited definition is what this slide's set-up uses: say so.
        spans.push(Span::styled(
            format!(" ✎ set-up edited (slide {s}) "),
            strong,
        ));
    }
    if let Some(p) = app.picked() {
        let n = runnable(&app.deck.slides[app.current]).len();
        spans.push(Span::styled(format!(" ▸ block {}/{n} ", p + 1), strong));
    }
    spans
}
