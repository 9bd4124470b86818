//! The output pane of a run: newest lines at the bottom (following them unless scrolled), each
//! with its time and the task that printed it in the task's colour; info and error lines set
//! apart. Only the rows that fit are laid out, so a 10,000-line scrollback draws as fast as a
//! short one; a line is at most [`LINE_MAX`](crate::app::output::LINE_MAX) characters (the
//! output cuts longer ones), so wrapping it is cheap too. The marker of a cut line is dimmed,
//! so it cannot be mistaken for the demo's own text.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;
use unicode_width::UnicodeWidthChar;
#[cfg(test)]
use unicode_width::UnicodeWidthStr;

use crate::app::output::{cut_marker, OutLine, RunOutput, RunStatus, Source};
use crate::app::App;

/// Widest task label column before names are cut.
const LABEL_MAX: usize = 18;

pub fn draw(app: &App, out: &RunOutput, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let title = match &out.status {
        _ if out.setup_progress().is_some() => {
            format!(" output · {} ", out.setup_progress().unwrap_or_default())
        }
        RunStatus::Starting => " output · starting… ".to_string(),
        RunStatus::Running => format!(" output · running {:.1} s · Esc stops ", out.elapsed()),
        RunStatus::Ok => format!(" output · done in {:.2} s ", out.last_t),
        RunStatus::Error => " output · error ".to_string(),
        RunStatus::Stopped => " output · stopped ".to_string(),
        RunStatus::Died(why) => format!(" output · {why} "),
    };
    // A replay is marked with its recording date in the pane's title.
    let title = match &out.replay {
        Some(date) => format!(
            " ⟲ REPLAY of {date} ·{}",
            title.trim_start_matches(" output ·")
        ),
        None => title,
    };
    let block = Block::new()
        .borders(Borders::TOP)
        .border_style(Style::default().fg(theme.dim))
        .title(Span::styled(title, Style::default().fg(theme.accent)));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let side = (area.width / 25).max(1);
    let inner = Rect::new(
        inner.x + side,
        inner.y,
        inner.width.saturating_sub(2 * side),
        inner.height,
    );
    if inner.width < 8 || inner.height == 0 {
        return;
    }

    let label_w = out
        .tasks
        .values()
        .map(|t| t.name.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(4, LABEL_MAX);
    let rows = visible_rows(
        app,
        out,
        label_w,
        inner.width as usize,
        inner.height as usize,
    );
    let scrolled = app.output_scroll > 0;
    frame.render_widget(Paragraph::new(rows), inner);
    if out.dropped > 0 || scrolled {
        let mut note = String::new();
        if out.dropped > 0 {
            note.push_str(&format!(" {} earlier lines dropped ", out.dropped));
        }
        if scrolled {
            note.push_str(" scrolled: ] to follow ");
        }
        let w = super::cells(note.chars().count());
        let x = area.x + area.width.saturating_sub(w.saturating_add(1));
        frame
            .buffer_mut()
            .set_string(x, area.y, note, Style::default().fg(theme.dim));
    }
}

/// Lays out the rows that fit, from the newest line (minus the scroll offset) upwards.
fn visible_rows(
    app: &App,
    out: &RunOutput,
    label_w: usize,
    width: usize,
    height: usize,
) -> Vec<Line<'static>> {
    let mut rows: Vec<Line<'static>> = Vec::with_capacity(height);
    let skip = app.output_scroll.min(out.lines.len().saturating_sub(1));
    for line in out.lines.iter().rev().skip(skip) {
        let mut wrapped = line_rows(app, out, line, label_w, width);
        while let Some(row) = wrapped.pop() {
            rows.push(row);
            if rows.len() == height {
                rows.reverse();
                return rows;
            }
        }
    }
    rows.reverse();
    rows
}

/// One output line as screen rows: a prefix (time, task) then the text, wrapped by cells.
fn line_rows(
    app: &App,
    out: &RunOutput,
    line: &OutLine,
    label_w: usize,
    width: usize,
) -> Vec<Line<'static>> {
    let theme = &app.theme;
    let mut prefix: Vec<Span<'static>> = Vec::new();
    if app.show_times {
        prefix.push(Span::styled(
            format!("{:>6.2} ", line.t),
            Style::default().fg(theme.dim),
        ));
    }
    let (label, text_style) = match &line.source {
        Source::Task { task, stderr } => {
            let (name, color) = match task.and_then(|id| out.tasks.get(&id)) {
                Some(t) => (t.name.clone(), theme.task_color(t.index)),
                None => (String::new(), theme.dim),
            };
            let style = if *stderr {
                Style::default().fg(theme.error)
            } else {
                Style::default().fg(theme.text)
            };
            (
                Span::styled(fit(&name, label_w), Style::default().fg(color)),
                style,
            )
        }
        Source::Raw { stderr } => (
            Span::styled(
                fit(if *stderr { "stderr" } else { "stdout" }, label_w),
                Style::default().fg(theme.dim),
            ),
            Style::default().fg(if *stderr { theme.error } else { theme.text }),
        ),
        Source::Info => (
            Span::styled(fit("·", label_w), Style::default().fg(theme.dim)),
            Style::default()
                .fg(theme.dim)
                .add_modifier(Modifier::ITALIC),
        ),
        Source::Error => (
            Span::styled(fit("!", label_w), Style::default().fg(theme.error)),
            Style::default().fg(theme.error),
        ),
        Source::Input => (
            Span::styled(fit("stdin", label_w), Style::default().fg(theme.accent)),
            Style::default().fg(theme.accent),
        ),
        Source::Cancel => (
            Span::styled(fit("cancel", label_w), Style::default().fg(theme.accent)),
            Style::default()
                .fg(theme.accent)
                .add_modifier(Modifier::BOLD),
        ),
    };
    prefix.push(label);
    prefix.push(Span::raw(" "));
    let prefix_w: usize = prefix.iter().map(Span::width).sum();
    let text_w = width.saturating_sub(prefix_w).max(8);
    let marker_style = Style::default()
        .fg(theme.dim)
        .add_modifier(Modifier::ITALIC);
    let split = if line.cut > 0 {
        line.text.len().saturating_sub(cut_marker(line.cut).len())
    } else {
        line.text.len()
    };
    let (text, marker) = line.text.split_at(split);
    let pieces = wrap_cells(&[(text, text_style), (marker, marker_style)], text_w);
    let mut rows = Vec::with_capacity(pieces.len());
    for (i, piece) in pieces.into_iter().enumerate() {
        let mut spans = if i == 0 {
            prefix.clone()
        } else {
            vec![Span::raw(" ".repeat(prefix_w))]
        };
        spans.extend(piece);
        rows.push(Line::from(spans));
    }
    rows
}

/// `s` cut or padded to exactly `w` columns.
fn fit(s: &str, w: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if used + cw > w {
            out.pop();
            out.push('…');
            used = w;
            break;
        }
        out.push(c);
        used += cw;
    }
    out.push_str(&" ".repeat(w.saturating_sub(used)));
    out
}

/// Splits styled text into rows of at most `w` cells. A row ends after the last space that
/// fits, so words stay whole (`cancelled_caught = True`, not `cancelled_caugh` / `t = True`);
/// a word longer than a row, or a line without spaces, breaks by cells. Spaces that overflow a
/// row stay on it (the pane clips them) rather than indent the next one. Every row has at
/// least one span, so an empty line is still a row. Linear in the line's length: a line is at
/// most `LINE_MAX` characters and only the visible lines are wrapped, so floods stay cheap.
fn wrap_cells(segments: &[(&str, Style)], w: usize) -> Vec<Vec<Span<'static>>> {
    let starts = row_starts(segments.iter().flat_map(|(t, _)| t.chars()), w);
    let mut rows: Vec<Vec<Span<'static>>> = vec![Vec::new()];
    let mut next = starts.iter().skip(1).copied().peekable();
    let mut piece = String::new();
    let mut i = 0;
    for (text, style) in segments {
        for c in text.chars() {
            if next.peek() == Some(&i) {
                next.next();
                let row = rows.last_mut().expect("never empty");
                if !piece.is_empty() {
                    row.push(Span::styled(std::mem::take(&mut piece), *style));
                }
                rows.push(Vec::new());
            }
            piece.push(c);
            i += 1;
        }
        if !piece.is_empty() {
            let row = rows.last_mut().expect("never empty");
            row.push(Span::styled(std::mem::take(&mut piece), *style));
        }
    }
    if let Some(row) = rows.last_mut().filter(|r| r.is_empty()) {
        row.push(Span::styled(String::new(), segments[0].1));
    }
    rows
}

/// The character index at which each row starts (the first is 0), for rows of `w` cells.
fn row_starts(chars: impl Iterator<Item = char>, w: usize) -> Vec<usize> {
    let cells: Vec<(char, usize)> = chars.map(|c| (c, c.width().unwrap_or(0))).collect();
    let mut starts = vec![0];
    let mut row_start = 0;
    let mut used = 0;
    // Where the row could end at a word boundary: just after a space that follows a word (so
    // leading indentation is never a break).
    let mut boundary: Option<usize> = None;
    let mut word_seen = false;
    for (i, &(c, cw)) in cells.iter().enumerate() {
        if c == ' ' {
            used += cw;
            if word_seen {
                boundary = Some(i + 1);
            }
            continue;
        }
        if used + cw > w && i > row_start {
            let at = boundary.filter(|&b| b > row_start).unwrap_or(i);
            starts.push(at);
            row_start = at;
            // Between the boundary and here there is one word and no space.
            used = cells[at..i].iter().map(|&(_, cw)| cw).sum();
            boundary = None;
        }
        used += cw;
        word_seen = true;
    }
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_each_segment_in_its_style() {
        let (a, b) = (
            Style::default(),
            Style::default().add_modifier(Modifier::ITALIC),
        );
        let rows = wrap_cells(&[("abcde", a), ("XYZ", b)], 4);
        let text: Vec<Vec<(String, Style)>> = rows
            .iter()
            .map(|r| r.iter().map(|s| (s.content.to_string(), s.style)).collect())
            .collect();
        assert_eq!(
            text,
            vec![
                vec![("abcd".to_string(), a)],
                vec![("e".to_string(), a), ("XYZ".to_string(), b)],
            ]
        );
        assert_eq!(wrap_cells(&[("", a), ("", b)], 4).len(), 1);
        assert_eq!(wrap_cells(&[("漢字漢", a)], 4).len(), 2);
    }

    fn rows(text: &str, w: usize) -> Vec<String> {
        wrap_cells(&[(text, Style::default())], w)
            .iter()
            .map(|r| r.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    #[test]
    fn long_lines_break_between_words() {
        assert_eq!(
            rows("scope cancelled_caught = True", 20),
            ["scope ", "cancelled_caught = ", "True"]
        );
        // A space that overflows stays at the end of its row, not at the start of the next.
        assert_eq!(rows("one two three", 7), ["one two ", "three"]);
        assert_eq!(rows("one two three", 8), ["one two ", "three"]);
        // A word longer than the row, and a line without spaces, break by cells.
        assert_eq!(rows("ab cdefghijkl", 5), ["ab ", "cdefg", "hijkl"]);
        assert_eq!(rows("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        // Indentation is not a word boundary.
        assert_eq!(rows("      abcdefgh", 8), ["      ab", "cdefgh"]);
        // Wide characters count two cells.
        assert_eq!(rows("漢字 漢字漢", 6), ["漢字 ", "漢字漢"]);
    }

    #[test]
    fn a_row_never_shows_more_than_its_width() {
        let line = "cancelled_caught = True and more words   with  gaps ".repeat(40);
        for w in 1..60 {
            for row in rows(&line, w) {
                assert!(row.trim_end().width() <= w, "{row:?} wider than {w} cells");
            }
            assert_eq!(rows(&line, w).concat(), line);
        }
    }
}
