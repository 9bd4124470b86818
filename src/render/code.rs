//! Code boxes: a fenced block drawn as a rectangle of `code_bg` that fits the code (not the
//! screen), with padding, a label row (`▶ exec` for runnable blocks, the language otherwise) and
//! clipping instead of reflowing, because reflowed code or ASCII art is wrong code or art.

use ratatui::style::{Modifier, Style};
use ratatui::text::Span;

use super::highlight;
use super::wrap::{clip_spans, clusters, expand_and_sanitize, str_width};
use crate::deck::BlockKind;
use crate::theme::Theme;

/// Label shown on runnable blocks.
pub const EXEC_LABEL: &str = "▶ exec";
/// Marks the last visible cell of a clipped code line.
pub const CLIP_MARKER: &str = "›";
/// Longest language label shown; anything longer is an odd info string, not worth the space.
const MAX_LANG_LABEL: usize = 16;

/// A laid-out code box: rows of equal width, and a notice when lines were clipped.
pub struct CodeBox {
    pub rows: Vec<Vec<Span<'static>>>,
    pub notice: Option<String>,
}

/// Lays out a code block in at most `avail` cells. Hidden blocks must be filtered out before.
pub fn code_box(kind: BlockKind, lang: &str, text: &str, avail: usize, theme: &Theme) -> CodeBox {
    let lines: Vec<String> = if text.is_empty() {
        vec![String::new()]
    } else {
        text.lines()
            .map(|l| expand_and_sanitize(l.strip_suffix('\r').unwrap_or(l)))
            .collect()
    };
    let code_w = lines.iter().map(|l| str_width(l)).max().unwrap_or(0);

    let (label, label_style) = match kind {
        BlockKind::Exec => (
            EXEC_LABEL.to_string(),
            Style::default()
                .fg(theme.accent)
                .add_modifier(Modifier::BOLD),
        ),
        _ if lang.is_empty() => (String::new(), Style::default()),
        _ => (
            expand_and_sanitize(lang)
                .chars()
                .take(MAX_LANG_LABEL)
                .collect(),
            Style::default().fg(theme.dim),
        ),
    };
    let label_w = str_width(&label);

    // Two cells of padding each side when there is room, one when that makes the code fit.
    let want = code_w.max(label_w);
    let pad = if want + 4 <= avail {
        2
    } else if avail >= 3 {
        1
    } else {
        0
    };
    let inner = want.min(avail.saturating_sub(2 * pad));
    let clipped = code_w > inner;

    let bg = Style::default().bg(theme.code_bg);
    let base = bg.fg(theme.text);
    let lang_for_syntax = match kind {
        BlockKind::Exec | BlockKind::Hidden => "python",
        BlockKind::Display => lang,
    };
    let highlighted = if theme.no_color {
        None
    } else {
        highlight::highlight(&lines, lang_for_syntax, &theme.syntect_theme, |line| {
            byte_index_at_width(line, inner + 1)
        })
    };

    let marker = Span::styled(CLIP_MARKER, base.fg(theme.dim));
    let padding = || Span::styled(" ".repeat(pad), bg);
    let mut rows = Vec::with_capacity(lines.len() + 2);

    let mut top = vec![padding()];
    if label_w > 0 && label_w <= inner {
        top.push(Span::styled(" ".repeat(inner - label_w), bg));
        top.push(Span::styled(label, bg.patch(label_style)));
    } else {
        top.push(Span::styled(" ".repeat(inner), bg));
    }
    top.push(padding());
    rows.push(top);

    for (i, line) in lines.iter().enumerate() {
        let spans: Vec<Span<'static>> = match highlighted.as_ref().and_then(|h| h.get(i)) {
            Some(runs) => runs
                .iter()
                .map(|(style, text)| Span::styled(text.clone(), base.patch(*style)))
                .collect(),
            None => vec![Span::styled(line.clone(), base)],
        };
        let (mut spans, _) = clip_spans(spans, inner, Some(marker.clone()));
        let used: usize = spans.iter().map(|s| str_width(&s.content)).sum();
        spans.insert(0, padding());
        spans.push(Span::styled(
            " ".repeat(inner.saturating_sub(used) + pad),
            bg,
        ));
        rows.push(spans);
    }
    rows.push(vec![Span::styled(" ".repeat(inner + 2 * pad), bg)]);

    let notice =
        clipped.then(|| format!("code block clipped: {code_w} columns wide, {inner} visible"));
    CodeBox { rows, notice }
}

/// Byte index in `line` after the clusters that fit in `width` cells.
fn byte_index_at_width(line: &str, width: usize) -> usize {
    let mut used = 0;
    let mut end = 0;
    for cluster in clusters(line) {
        used += str_width(cluster);
        if used > width {
            break;
        }
        end += cluster.len();
    }
    end
}
