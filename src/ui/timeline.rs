//! The timeline: one row per task (its call in its colour), a bar from its start to its end on a
//! time axis shared by every row and scaled to the width (seconds labelled at the bottom), `•`
//! where it printed, and `⏱` / `✖` where a cancellation hit it (`✖` in the error colour where it
//! failed). Bars of tasks still alive reach "now", the right edge. It stays after the run.
//!
//! Per frame it reads each shown task's marks, which the model keeps bounded
//! ([`crate::app::tree::MAX_MARKS`]), never the output lines.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};

use ratatui::widgets::Borders;
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

use crate::app::output::RunOutput;
use crate::app::tree::CancelMark;
use crate::theme::Theme;

/// Widest task label before names are cut.
const LABEL_MAX: usize = 18;
/// Fewest columns between the starts of two axis labels.
const LABEL_GAP: f64 = 9.0;
pub const BAR: char = '━';
pub const OUTPUT_MARK: char = '•';

/// Draws the panel: a top border (and a left one when `left`) with a title, then the chart.
pub fn draw(theme: &Theme, out: &RunOutput, frame: &mut Frame, area: Rect, left: bool) {
    let borders = if left {
        Borders::TOP | Borders::LEFT
    } else {
        Borders::TOP
    };
    let title = if out.status.is_over() {
        format!(" timeline · {:.2} s ", now(out))
    } else {
        format!(" timeline · now {:.1} s ", now(out))
    };
    let inner = super::panel(theme, frame, area, borders, title, 1);
    render(theme, out, frame.buffer_mut(), inner);
}

/// The right end of the axis: "now" while the run goes (the run's clock, as in the status
/// bar), its last event once it is over (the wall clock also counted the interpreter's start).
fn now(out: &RunOutput) -> f64 {
    if out.status.is_over() {
        out.last_t
    } else {
        out.elapsed()
    }
}

/// Maps times to columns `0..cols` over `0..=span` seconds.
#[derive(Debug, Clone, Copy)]
struct Axis {
    span: f64,
    cols: usize,
}

impl Axis {
    fn col(&self, t: f64) -> usize {
        let c = (t.max(0.0) / self.span * (self.cols - 1) as f64).round();
        (c as usize).min(self.cols - 1)
    }
}

/// The chart without its frame, into `area` of `buf`.
pub fn render(theme: &Theme, out: &RunOutput, buf: &mut Buffer, area: Rect) {
    if area.height < 2 || area.width < 12 {
        return;
    }
    let dim = Style::default().fg(theme.dim);
    let order = &out.tree.order;
    if order.is_empty() {
        buf.set_stringn(area.x, area.y, "no tasks yet", area.width as usize, dim);
        return;
    }
    let capacity = (area.height - 1) as usize;
    let shown = pick_rows(out, capacity);
    let more = order.len() - shown.len();
    let shown = &shown[..];
    let label_w = shown
        .iter()
        .filter_map(|id| out.tasks.get(id))
        .map(|t| t.name.width())
        .max()
        .unwrap_or(4)
        .clamp(4, LABEL_MAX)
        .min(area.width as usize / 3);
    let bar_x = area.x + label_w as u16 + 1;
    let axis = Axis {
        span: now(out).max(1e-3),
        cols: (area.right() - bar_x) as usize,
    };
    let over = out.status.is_over();
    for (row, &id) in shown.iter().enumerate() {
        let y = area.y + row as u16;
        let Some(task) = out.tasks.get(&id) else {
            continue;
        };
        let color = Style::default().fg(theme.task_color(task.index));
        let label = super::tree::cut(&task.name, label_w);
        buf.set_stringn(area.x, y, &label, label_w, color);
        let end = match &task.ended {
            Some((t, _, _)) => *t,
            None if over => out.last_t,
            None => axis.span,
        };
        for c in axis.col(task.started)..=axis.col(end) {
            let x = bar_x + c as u16;
            buf[(x, y)].set_char(BAR).set_style(color);
        }
        let mut put = |t: f64, c: char, style: Style| {
            let x = bar_x + axis.col(t) as u16;
            buf[(x, y)].set_char(c).set_style(style);
        };
        let node = out.tree.nodes.get(&id);
        for &t in node.map(|n| n.marks.times()).unwrap_or_default() {
            put(t, OUTPUT_MARK, color.add_modifier(Modifier::BOLD));
        }
        let accent = Style::default()
            .fg(theme.accent)
            .add_modifier(Modifier::BOLD);
        match (node.and_then(|n| n.cancelled), &task.ended) {
            (Some((t, mark)), _) => put(t, mark.glyph(), accent),
            (None, Some((t, outcome, _))) if outcome == "cancelled" => {
                put(*t, CancelMark::Other.glyph(), accent)
            }
            (None, Some((t, outcome, _))) if outcome != "ok" => put(
                *t,
                '✖',
                Style::default()
                    .fg(theme.error)
                    .add_modifier(Modifier::BOLD),
            ),
            _ => {}
        }
    }
    if more > 0 {
        let y = area.y + shown.len() as u16;
        buf.set_stringn(
            area.x,
            y,
            format!("… {more} more tasks"),
            area.width as usize,
            dim,
        );
    }
    draw_axis(buf, bar_x, area.bottom() - 1, axis, dim);
}

/// The tasks that get a row, in start order: all of them when they fit, else (leaving a row
/// for "… N more") the ones still alive first, then those that ended last.
fn pick_rows(out: &RunOutput, capacity: usize) -> Vec<u64> {
    let order = &out.tree.order;
    if order.len() <= capacity {
        return order.clone();
    }
    let keep = capacity.saturating_sub(1);
    let end = |id: &u64| {
        out.tasks
            .get(id)
            .and_then(|t| t.ended.as_ref())
            .map_or(f64::INFINITY, |e| e.0)
    };
    let mut by_end: Vec<(usize, f64)> = order
        .iter()
        .enumerate()
        .map(|(i, id)| (i, end(id)))
        .collect();
    // Latest end first (alive = infinitely late); earlier start first among equals.
    by_end.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut chosen: Vec<usize> = by_end.into_iter().take(keep).map(|(i, _)| i).collect();
    chosen.sort_unstable();
    chosen.into_iter().map(|i| order[i]).collect()
}

/// Labels `0s 1s 2s …` at nicely spaced times under the bars.
fn draw_axis(buf: &mut Buffer, x0: u16, y: u16, axis: Axis, style: Style) {
    let step = nice_step(axis);
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10()).ceil() as usize
    };
    let mut free = 0usize;
    let mut k = 0u32;
    loop {
        let v = f64::from(k) * step;
        if v > axis.span * (1.0 + 1e-9) {
            break;
        }
        let label = format!("{v:.decimals$}");
        let label = if label.contains('.') {
            label.trim_end_matches('0').trim_end_matches('.')
        } else {
            &label
        };
        let label = format!("{label}s");
        let mut c = axis.col(v);
        if c + label.len() > axis.cols && c + 1 == axis.cols {
            // The tick at the right edge: its label ends there.
            c = axis.cols.saturating_sub(label.len());
        }
        if c >= free && c + label.len() <= axis.cols {
            buf.set_string(x0 + c as u16, y, &label, style);
            free = c + label.len() + 1;
        }
        k += 1;
    }
}

/// The smallest of 1, 2, 5 × 10ⁿ seconds that puts labels at least [`LABEL_GAP`] apart.
fn nice_step(axis: Axis) -> f64 {
    let per_col = axis.span / (axis.cols.max(2) - 1) as f64;
    for exp in -3..=6 {
        for m in [1.0, 2.0, 5.0] {
            let step = m * 10f64.powi(exp);
            if step / per_col >= LABEL_GAP {
                return step;
            }
        }
    }
    axis.span
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_steps_are_round_and_readable() {
        let a = Axis {
            span: 6.0,
            cols: 60,
        };
        assert_eq!(nice_step(a), 1.0);
        let a = Axis {
            span: 6.0,
            cols: 20,
        };
        assert_eq!(nice_step(a), 5.0);
        let a = Axis {
            span: 0.3,
            cols: 60,
        };
        assert_eq!(nice_step(a), 0.05);
        assert_eq!(a.col(0.0), 0);
        assert_eq!(a.col(0.3), 59);
        assert_eq!(a.col(99.0), 59);
        let a = Axis {
            span: 2.5,
            cols: 100,
        };
        assert_eq!(nice_step(a), 0.5);
    }
}
