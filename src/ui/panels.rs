//! The area of a run: the output pane, with the task tree and the timeline around it when they
//! are switched on (`T`, `v`) and the run has tasks.
//!
//! - Wide (at least [`PANELS_MIN_COLS`]): the tree goes on the right of the output, about 35 %
//!   of the width and at least [`PANEL_MIN_COLS`]. The timeline goes under the output (full
//!   width) when the area is tall (at least [`TALL_ROWS`]), else it takes the tree's place on
//!   the right (45 % wide).
//! - Narrow (80x24): nothing is squeezed beside the output. The timeline, when on, replaces the
//!   output pane; otherwise the tree folds into one row under the output ([`tree::strip`]).

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{output, timeline, tree};
use crate::app::output::RunOutput;
use crate::app::App;

/// Below this many columns, no panel goes beside the output.
pub const PANELS_MIN_COLS: u16 = 90;
/// The narrowest side panel.
pub const PANEL_MIN_COLS: u16 = 28;
/// From this many rows on, the timeline goes under the output rather than beside it.
pub const TALL_ROWS: u16 = 22;
/// Rows the output keeps above a timeline.
const OUTPUT_KEEP_ROWS: u16 = 8;

/// Where each part goes; `None` for a part not shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Panes {
    pub output: Option<Rect>,
    pub tree: Option<Rect>,
    /// The one-row tree of small terminals.
    pub strip: Option<Rect>,
    /// The timeline, and whether it has a left border (it sits beside the output).
    pub timeline: Option<(Rect, bool)>,
}

/// Decides the layout of `area` for a run with `tasks` tasks.
pub fn panes(show_tree: bool, show_timeline: bool, tasks: usize, area: Rect) -> Panes {
    let mut p = Panes {
        output: Some(area),
        tree: None,
        strip: None,
        timeline: None,
    };
    if tasks == 0 {
        return p;
    }
    let side = |pct: u16, area: Rect| {
        // In u32: 45 % of a 1,500-column terminal is more than a u16 product holds.
        let w = super::cells((u32::from(area.width) * u32::from(pct) / 100) as usize)
            .max(PANEL_MIN_COLS);
        let [o, s] = Layout::horizontal([Constraint::Min(1), Constraint::Length(w)]).areas(area);
        (o, s)
    };
    if area.width >= PANELS_MIN_COLS {
        let mut top = area;
        if show_timeline {
            if area.height >= TALL_ROWS {
                let want = super::cells(tasks).saturating_add(3); // title, rows, axis
                let h = want.clamp(5, area.height - OUTPUT_KEEP_ROWS);
                let [o, t] =
                    Layout::vertical([Constraint::Min(1), Constraint::Length(h)]).areas(area);
                p.timeline = Some((t, false));
                top = o;
            } else {
                let (o, t) = side(45, area);
                p.output = Some(o);
                p.timeline = Some((t, true));
                return p;
            }
        }
        p.output = Some(top);
        if show_tree {
            let (o, t) = side(35, top);
            p.output = Some(o);
            p.tree = Some(t);
        }
        return p;
    }
    if show_timeline {
        p.output = None;
        p.timeline = Some((area, false));
    } else if show_tree && area.height >= 6 {
        let [o, s] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
        p.output = Some(o);
        p.strip = Some(s);
    }
    p
}

/// Draws the run's area.
pub fn draw(app: &App, out: &RunOutput, frame: &mut Frame, area: Rect) {
    let p = panes(app.show_tree, app.show_timeline, out.tasks.len(), area);
    if let Some(o) = p.output {
        output::draw(app, out, frame, o);
    }
    if let Some(t) = p.tree {
        tree::draw(&app.theme, out, frame, t);
    }
    if let Some(s) = p.strip {
        let side = (area.width / 25).max(1);
        let s = Rect::new(s.x + side, s.y, s.width.saturating_sub(2 * side), 1);
        let line = tree::strip(&app.theme, out, s.width as usize);
        frame.render_widget(Paragraph::new(line), s);
    }
    if let Some((t, left)) = p.timeline {
        timeline::draw(&app.theme, out, frame, t, left);
    }
}

#[cfg(test)]
#[path = "tree_tests.rs"]
mod tests;
