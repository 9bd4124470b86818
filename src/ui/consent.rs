//! The consent prompt's overlay: what the deck would run and the keys to answer, or (after
//! `h`) the code of its hidden blocks, which the slides never show.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::Frame;

use crate::app::consent::ConsentPrompt;
use crate::app::App;
use crate::consent::Summary;
use crate::deck::BlockKind;

pub fn draw(app: &App, prompt: &ConsentPrompt, frame: &mut Frame, area: Rect) {
    let (title, lines, scroll) = if prompt.view_hidden {
        let lines = hidden_code(app);
        let max = super::cells(lines.len()).saturating_sub(area.height.saturating_sub(4));
        (
            " hidden code · h back · j/k scroll · y run · n not now ",
            lines,
            prompt.scroll.min(max),
        )
    } else {
        (" run this deck's code? ", summary(app), 0)
    };
    super::overlay(&app.theme, frame, area, title, lines, scroll);
}

fn summary(app: &App) -> Vec<Line<'static>> {
    let s = Summary::of(&app.deck);
    let text = Style::default().fg(app.theme.text);
    let dim = Style::default().fg(app.theme.dim);
    let key = Style::default()
        .fg(app.theme.accent)
        .add_modifier(Modifier::BOLD);
    let plain = |t: String| Line::styled(format!(" {t} "), text);
    let mut lines = vec![
        plain(format!(
            "{} runs Python on this computer, as you:",
            app.deck.path.display()
        )),
        plain(format!(
            "  {} exec block{} on {} (shown on the slides)",
            s.exec_blocks,
            plural(s.exec_blocks),
            slides_text(&s.exec_slides)
        )),
    ];
    if s.hidden_blocks > 0 {
        lines.push(Line::styled(
            format!(
                "   {} hidden block{} (exechidden) on {}: never shown, h reads them",
                s.hidden_blocks,
                plural(s.hidden_blocks),
                slides_text(&s.hidden_slides)
            ),
            Style::default().fg(app.theme.error),
        ));
    } else {
        lines.push(plain("  no hidden blocks".into()));
    }
    lines.push(Line::default());
    for (k, what) in [
        ("y", "run it, and remember this code as approved"),
        ("h", "read the hidden code first"),
        ("n", "not now (Esc); q quits"),
    ] {
        lines.push(Line::from(vec![
            Span::styled(format!("  {k}  "), key),
            Span::styled(format!("{what} "), text),
        ]));
    }
    lines.push(Line::default());
    lines.push(Line::styled(
        " The approval is for this exact code: an edited deck asks again. ",
        dim,
    ));
    lines.push(Line::styled(
        " --trust skips this question, --no-exec never runs code. ",
        dim,
    ));
    lines
}

fn hidden_code(app: &App) -> Vec<Line<'static>> {
    let head = Style::default()
        .fg(app.theme.accent)
        .add_modifier(Modifier::BOLD);
    let code = Style::default().fg(app.theme.text);
    let mut lines = Vec::new();
    for b in app
        .deck
        .slides
        .iter()
        .flat_map(|s| &s.blocks)
        .filter(|b| b.kind == BlockKind::Hidden)
    {
        if !lines.is_empty() {
            lines.push(Line::default());
        }
        lines.push(Line::styled(
            format!(" slide {}, line {}: ", b.slide, b.first_code_line()),
            head,
        ));
        // Sanitised like demo output: the point is to read the code, not to let it draw.
        for l in b.source.lines() {
            lines.push(Line::styled(
                format!("   {}", crate::app::output::sanitize(l)),
                code,
            ));
        }
    }
    if lines.is_empty() {
        lines.push(Line::styled(" this deck has no hidden code ", code));
    }
    lines
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `slide 3`, `slides 3, 9`, or `12 slides, 3 … 54` when the list is long.
fn slides_text(slides: &[usize]) -> String {
    match slides {
        [] => "no slides".into(),
        [one] => format!("slide {one}"),
        few if few.len() <= 6 => format!(
            "slides {}",
            few.iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        many => format!(
            "{} slides, {} … {}",
            many.len(),
            many[0],
            many[many.len() - 1]
        ),
    }
}
