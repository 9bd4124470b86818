//! Block tree -> rows. Owns the visual rules of a slide: styles per element, spacing between
//! blocks, list and quote prefixes, and the widths each kind of block may use. Rows keep
//! centring and rules symbolic until the block's final width is known (see `finish`).

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::code::code_box;
use super::markdown::{Block, Inline, Marks};
use super::wrap::{clip_spans, sanitize, spans_width, str_width, wrap, Piece};
use crate::deck::BlockKind;
use crate::theme::Theme;

/// Bullets by nesting depth (cycling).
const BULLETS: [&str; 3] = ["•", "◦", "▪"];
/// Quote bar, followed by one space.
const QUOTE_BAR: &str = "▌";
const RULE: &str = "─";
const H1_UNDERLINE: &str = "─";

/// The body of a row.
enum Body {
    Spans(Vec<Span<'static>>),
    /// Centred in the space left by the prefix once the block width is known.
    Center(Vec<Span<'static>>),
    /// A horizontal line filling the space left by the prefix.
    Rule(Style),
}

struct Row {
    /// List markers / indents and quote bars, outermost first.
    prefix: Vec<Span<'static>>,
    body: Body,
}

impl Row {
    fn spans(spans: Vec<Span<'static>>) -> Row {
        Row {
            prefix: Vec::new(),
            body: Body::Spans(spans),
        }
    }

    fn blank() -> Row {
        Row::spans(Vec::new())
    }

    /// Cells this row needs at least.
    fn min_width(&self) -> usize {
        spans_width(&self.prefix)
            + match &self.body {
                Body::Spans(s) | Body::Center(s) => spans_width(s),
                Body::Rule(_) => 0,
            }
    }
}

/// What nested blocks inherit.
#[derive(Clone, Copy)]
struct Ctx {
    /// Style of plain text here (quotes make it italic and quote-coloured).
    base: Style,
    /// List nesting depth, for the bullet shape.
    depth: usize,
    /// Width for running text (paragraphs, headings).
    text_w: usize,
    /// Width for code boxes, which may use the whole screen.
    full_w: usize,
}

impl Ctx {
    fn narrower(self, cells: usize) -> Ctx {
        Ctx {
            text_w: self.text_w.saturating_sub(cells).max(1),
            full_w: self.full_w.saturating_sub(cells).max(1),
            ..self
        }
    }
}

/// Lays out blocks into finished lines: no line wider than `max_width`, running text wrapped
/// at `text_width`.
pub fn layout(
    blocks: &[Block],
    text_width: usize,
    max_width: usize,
    theme: &Theme,
) -> (Vec<Line<'static>>, Vec<String>) {
    let mut layouter = Layouter {
        theme,
        notices: Vec::new(),
    };
    let ctx = Ctx {
        base: Style::default().fg(theme.text),
        depth: 0,
        text_w: text_width.min(max_width).max(1),
        full_w: max_width.max(1),
    };
    let rows = layouter.blocks(blocks, ctx, true);
    let lines = finish(rows, text_width.min(max_width), max_width);
    (lines, layouter.notices)
}

/// Resolves rows into lines now that the block width is known.
fn finish(rows: Vec<Row>, text_width: usize, max_width: usize) -> Vec<Line<'static>> {
    let mut width = rows.iter().map(Row::min_width).max().unwrap_or(0);
    if width == 0 && rows.iter().any(|r| matches!(r.body, Body::Rule(_))) {
        width = text_width;
    }
    let width = width.min(max_width);
    rows.into_iter()
        .map(|row| {
            let room = width.saturating_sub(spans_width(&row.prefix));
            let mut spans = row.prefix;
            match row.body {
                Body::Spans(s) => spans.extend(s),
                Body::Center(s) => {
                    let pad = room.saturating_sub(spans_width(&s)) / 2;
                    if pad > 0 {
                        spans.push(Span::raw(" ".repeat(pad)));
                    }
                    spans.extend(s);
                }
                Body::Rule(style) => spans.push(Span::styled(RULE.repeat(room), style)),
            }
            // Safety net: nothing above should exceed the width, but a line that did would
            // wrap or overwrite in the terminal.
            let (spans, _) = clip_spans(spans, max_width, None);
            Line::from(spans).left_aligned()
        })
        .collect()
}

struct Layouter<'t> {
    theme: &'t Theme,
    notices: Vec<String>,
}

impl Layouter<'_> {
    /// Lays out a sequence of blocks; `separate` puts a blank row between non-empty blocks.
    fn blocks(&mut self, blocks: &[Block], ctx: Ctx, separate: bool) -> Vec<Row> {
        let mut out: Vec<Row> = Vec::new();
        for block in blocks {
            let rows = self.block(block, ctx);
            if rows.is_empty() {
                continue;
            }
            if separate && !out.is_empty() {
                out.push(Row::blank());
            }
            out.extend(rows);
        }
        out
    }

    fn block(&mut self, block: &Block, ctx: Ctx) -> Vec<Row> {
        let theme = self.theme;
        match block {
            Block::Heading { level, inlines } => {
                let color = if *level == 1 {
                    theme.heading
                } else {
                    theme.accent
                };
                let style = Style::default().fg(color).add_modifier(Modifier::BOLD);
                let lines = wrap(&self.pieces(inlines, style), ctx.text_w);
                if *level > 1 {
                    return lines.into_iter().map(Row::spans).collect();
                }
                let underline = lines.iter().map(|l| spans_width(l)).max().unwrap_or(0);
                let mut rows: Vec<Row> = lines
                    .into_iter()
                    .map(|l| Row {
                        prefix: Vec::new(),
                        body: Body::Center(l),
                    })
                    .collect();
                if underline > 0 {
                    rows.push(Row {
                        prefix: Vec::new(),
                        body: Body::Center(vec![Span::styled(
                            H1_UNDERLINE.repeat(underline),
                            Style::default().fg(theme.heading),
                        )]),
                    });
                }
                rows
            }
            Block::Paragraph(inlines) => wrap(&self.pieces(inlines, ctx.base), ctx.text_w)
                .into_iter()
                .map(Row::spans)
                .collect(),
            Block::List { start, items } => self.list(*start, items, ctx),
            Block::Quote(blocks) => {
                let inner = Ctx {
                    base: ctx.base.fg(theme.quote).add_modifier(Modifier::ITALIC),
                    ..ctx.narrower(2)
                };
                let mut rows = self.blocks(blocks, inner, true);
                if rows.is_empty() {
                    rows.push(Row::blank());
                }
                let bar = Style::default().fg(theme.quote);
                for row in &mut rows {
                    row.prefix
                        .insert(0, Span::styled(format!("{QUOTE_BAR} "), bar));
                }
                rows
            }
            Block::Rule => vec![Row {
                prefix: Vec::new(),
                body: Body::Rule(Style::default().fg(theme.dim)),
            }],
            Block::Code { kind, lang, text } => {
                if *kind == BlockKind::Hidden {
                    return Vec::new();
                }
                let code = code_box(*kind, lang, text, ctx.full_w, theme);
                self.notices.extend(code.notice);
                code.rows.into_iter().map(Row::spans).collect()
            }
        }
    }

    fn list(&mut self, start: Option<u64>, items: &[Vec<Block>], ctx: Ctx) -> Vec<Row> {
        let markers: Vec<String> = (0..items.len())
            .map(|i| match start {
                Some(n) => format!("{}.", n.saturating_add(i as u64)),
                None => BULLETS[ctx.depth % BULLETS.len()].to_string(),
            })
            .collect();
        let marker_w = markers.iter().map(|m| str_width(m)).max().unwrap_or(1);
        let indent = marker_w + 1;
        let marker_style = Style::default().fg(self.theme.accent);
        let inner = Ctx {
            depth: ctx.depth + 1,
            ..ctx.narrower(indent)
        };
        let mut out = Vec::new();
        for (item, marker) in items.iter().zip(markers) {
            let mut rows = self.blocks(item, inner, false);
            if rows.is_empty() {
                rows.push(Row::blank());
            }
            for (i, row) in rows.iter_mut().enumerate() {
                let text = if i == 0 {
                    // Numbers align on their dot; bullets are one cell anyway.
                    format!("{marker:>marker_w$} ")
                } else {
                    " ".repeat(indent)
                };
                row.prefix.insert(0, Span::styled(text, marker_style));
            }
            out.extend(rows);
        }
        out
    }

    /// Inline runs -> styled pieces for the wrapper.
    fn pieces(&self, inlines: &[Inline], base: Style) -> Vec<Piece> {
        inlines
            .iter()
            .map(|inline| match inline {
                Inline::Break => Piece::Break,
                Inline::Text(text, marks) => {
                    Piece::Text(sanitize(text).into_owned(), self.inline_style(base, *marks))
                }
            })
            .collect()
    }

    fn inline_style(&self, base: Style, marks: Marks) -> Style {
        let theme = self.theme;
        let mut style = base;
        if marks.bold {
            style = style.add_modifier(Modifier::BOLD);
        }
        if marks.italic {
            style = style.add_modifier(Modifier::ITALIC);
        }
        if marks.strike {
            style = style.add_modifier(Modifier::CROSSED_OUT);
        }
        if marks.link {
            style = style.fg(theme.link).add_modifier(Modifier::UNDERLINED);
        }
        if marks.dim {
            style = style.fg(theme.dim);
            if theme.no_color {
                style = style.add_modifier(Modifier::DIM);
            }
        }
        if marks.code {
            style = if theme.no_color {
                style.add_modifier(Modifier::REVERSED)
            } else {
                style.fg(theme.accent).bg(theme.code_bg)
            };
        }
        style
    }
}
