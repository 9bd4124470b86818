//! Cell-width text handling: word-wrapping styled runs, breaking and clipping by terminal cells.
//!
//! Widths are measured the way ratatui measures a `Line` (unicode-width of each span), so what
//! this module thinks fits is what the terminal draws. Characters are grouped into small
//! clusters (a character plus the zero-width marks / joined parts after it) so that a break or a
//! clip never separates an accent or a variation selector from its base.

use ratatui::style::Style;
use ratatui::text::Span;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// A styled run of paragraph text, or a hard break.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Text(String, Style),
    Break,
}

/// Width of a string in terminal cells.
pub fn str_width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// Width of spans as ratatui measures a line.
pub fn spans_width(spans: &[Span<'_>]) -> usize {
    spans.iter().map(|s| str_width(&s.content)).sum()
}

/// Splits `s` into clusters: a character followed by zero-width characters, the characters a
/// zero-width joiner glues on, or the second half of a regional-indicator flag.
pub fn clusters(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = s;
    std::iter::from_fn(move || {
        let mut chars = rest.char_indices();
        let (_, first) = chars.next()?;
        let mut end = first.len_utf8();
        let mut prev = first;
        let mut flag_half = is_regional_indicator(first);
        for (i, c) in chars {
            let joins = c.width() == Some(0)
                || prev == '\u{200d}'
                || (flag_half && is_regional_indicator(c))
                || ('\u{1f3fb}'..='\u{1f3ff}').contains(&c);
            if !joins {
                break;
            }
            flag_half = false;
            end = i + c.len_utf8();
            prev = c;
        }
        let (head, tail) = rest.split_at(end);
        rest = tail;
        Some(head)
    })
}

fn is_regional_indicator(c: char) -> bool {
    ('\u{1f1e6}'..='\u{1f1ff}').contains(&c)
}

/// Whitespace that separates words; no-break spaces are not.
fn is_break_space(c: char) -> bool {
    c.is_whitespace() && !matches!(c, '\u{a0}' | '\u{2007}' | '\u{202f}')
}

/// A line under construction: fragments merged by style, and its width.
#[derive(Default)]
struct LineBuf {
    frags: Vec<(String, Style)>,
    width: usize,
}

impl LineBuf {
    fn push(&mut self, text: &str, style: Style, width: usize) {
        match self.frags.last_mut() {
            Some((t, s)) if *s == style => t.push_str(text),
            _ => self.frags.push((text.to_string(), style)),
        }
        self.width += width;
    }

    fn take(&mut self) -> Vec<Span<'static>> {
        self.width = 0;
        std::mem::take(&mut self.frags)
            .into_iter()
            .map(|(t, s)| Span::styled(t, s))
            .collect()
    }
}

enum Token {
    Word(Vec<(String, Style)>),
    Space(Style),
    Break,
}

fn tokenize(pieces: &[Piece]) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut word: Vec<(String, Style)> = Vec::new();
    let end_word = |word: &mut Vec<(String, Style)>, tokens: &mut Vec<Token>| {
        if !word.is_empty() {
            tokens.push(Token::Word(std::mem::take(word)));
        }
    };
    for piece in pieces {
        match piece {
            Piece::Break => {
                end_word(&mut word, &mut tokens);
                tokens.push(Token::Break);
            }
            Piece::Text(text, style) => {
                for c in text.chars() {
                    if is_break_space(c) {
                        end_word(&mut word, &mut tokens);
                        if !matches!(tokens.last(), Some(Token::Space(_))) {
                            tokens.push(Token::Space(*style));
                        }
                    } else {
                        match word.last_mut() {
                            Some((t, s)) if s == style => t.push(c),
                            _ => word.push((c.to_string(), *style)),
                        }
                    }
                }
            }
        }
    }
    end_word(&mut word, &mut tokens);
    tokens
}

/// Word-wraps styled text to `width` cells. Runs of whitespace become one space, leading and
/// trailing spaces of a line are dropped, and a word wider than a line is broken by cells.
/// An empty input gives no lines.
pub fn wrap(pieces: &[Piece], width: usize) -> Vec<Vec<Span<'static>>> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = LineBuf::default();
    let mut space: Option<Style> = None;
    for token in tokenize(pieces) {
        match token {
            Token::Space(style) => {
                if line.width > 0 {
                    space = Some(style);
                }
            }
            Token::Break => {
                lines.push(line.take());
                space = None;
            }
            Token::Word(frags) => {
                let w: usize = frags.iter().map(|(t, _)| str_width(t)).sum();
                if line.width > 0 {
                    if line.width + 1 + w <= width {
                        line.push(" ", space.unwrap_or_default(), 1);
                    } else {
                        lines.push(line.take());
                    }
                }
                space = None;
                if line.width + w <= width {
                    for (t, s) in &frags {
                        line.push(t, *s, str_width(t));
                    }
                } else {
                    // Only reached on an empty line: the word alone is too wide.
                    for (t, s) in &frags {
                        for cluster in clusters(t) {
                            let cw = str_width(cluster);
                            if line.width > 0 && line.width + cw > width {
                                lines.push(line.take());
                            }
                            line.push(cluster, *s, cw);
                        }
                    }
                }
            }
        }
    }
    if !line.frags.is_empty() {
        lines.push(line.take());
    }
    lines
}

/// Cuts spans to at most `width` cells. When something is cut and `marker` is given, the last
/// cell shows the marker instead (so the audience sees the line goes on). Returns whether
/// anything was cut.
pub fn clip_spans(
    spans: Vec<Span<'static>>,
    width: usize,
    marker: Option<Span<'static>>,
) -> (Vec<Span<'static>>, bool) {
    if spans_width(&spans) <= width {
        return (spans, false);
    }
    let marker = marker.filter(|m| str_width(&m.content) <= width);
    let room = width - marker.as_ref().map_or(0, |m| str_width(&m.content));
    let mut out = Vec::new();
    let mut used = 0;
    'spans: for span in spans {
        let w = str_width(&span.content);
        if used + w <= room {
            used += w;
            out.push(span);
            continue;
        }
        let mut kept = String::new();
        for cluster in clusters(&span.content) {
            let cw = str_width(cluster);
            if used + cw > room {
                if !kept.is_empty() {
                    out.push(Span::styled(kept, span.style));
                }
                break 'spans;
            }
            used += cw;
            kept.push_str(cluster);
        }
    }
    // A wide character that did not fit leaves a gap; fill it so the marker sits at the edge.
    if used < room {
        let style = out.last().map(|s: &Span<'_>| s.style).unwrap_or_default();
        out.push(Span::styled(" ".repeat(room - used), style));
    }
    out.extend(marker);
    (out, true)
}

/// Expands tabs to 4-cell tab stops and makes control characters visible (an ESC in a slide must
/// not reach the terminal).
pub fn expand_and_sanitize(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut col = 0;
    for c in line.chars() {
        if c == '\t' {
            let n = 4 - col % 4;
            out.extend(std::iter::repeat_n(' ', n));
            col += n;
            continue;
        }
        let c = visible(c);
        col += c.width().unwrap_or(0);
        out.push(c);
    }
    out
}

/// Control characters shown as their Unicode "control picture"; tabs and newlines are kept for
/// the wrapper to treat as whitespace.
pub fn sanitize(text: &str) -> std::borrow::Cow<'_, str> {
    if !text
        .chars()
        .any(|c| c.is_control() && c != '\t' && c != '\n')
    {
        return text.into();
    }
    text.chars()
        .map(|c| {
            if c == '\t' || c == '\n' {
                c
            } else {
                visible(c)
            }
        })
        .collect::<String>()
        .into()
}

fn visible(c: char) -> char {
    match c {
        '\u{0}'..='\u{1f}' => char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}'),
        '\u{7f}' => '\u{2421}',
        c if c.is_control() => '\u{fffd}',
        c => c,
    }
}
