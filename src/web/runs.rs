//! Runs as the web view shows them: output lines as compact JSON (time, kind, task colour, task
//! tag, text), the task tree and the timeline as HTML drawn by the presenter's own panels, and a
//! whole recording turned into the player's script. Both the export (a recording fed through
//! [`RunOutput`], the model the presenter uses) and the live view (the presenter's own
//! [`RunOutput`]) go through here, so the page shows what the projector shows.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use serde_json::{json, Value};

use crate::app::output::{OutLine, RunOutput, RunStatus, Source};
use crate::kernel::process::ChildMsg;
use crate::kernel::protocol::Event;
use crate::record::Recording;
use crate::theme::Theme;

/// Columns of the task tree panel in the page (it wraps nothing: the panel scrolls sideways).
pub const TREE_WIDTH: usize = 60;
/// Rows of the task tree before finished tasks fold.
pub const TREE_HEIGHT: usize = 40;
/// Columns of the timeline chart.
pub const TIMELINE_WIDTH: u16 = 96;
/// Seconds between two tree snapshots of a recording while events keep coming.
const TREE_EVERY: f64 = 0.1;

/// One output line: `[t, kind, colour, tag, text]`. `kind` is `o`/`e` (a task's stdout/stderr),
/// `r`/`R` (raw stdout/stderr), `i` (info), `x` (error), `c` (a cancellation); `colour` is the
/// index into the theme's task colours, or -1.
pub fn line_json(theme: &Theme, out: &RunOutput, line: &OutLine) -> Value {
    serde_json::to_value(line_row(theme, out, line)).unwrap_or(Value::Null)
}

/// One output line for the page: (time, kind, task colour, tag, text), as [`line_row`] gives it
/// but owned, for the web server's thread.
pub type Row = (f64, &'static str, i64, String, String);

/// [`line_json`] as a tuple that serialises straight to text (the live view copies one per
/// line on the presenter's loop, and its server makes the JSON: no `Value` in between).
pub fn line_row<'a>(
    theme: &Theme,
    out: &'a RunOutput,
    line: &'a OutLine,
) -> (f64, &'static str, i64, &'a str, &'a str) {
    let (kind, colour, tag) = match &line.source {
        Source::Task { task, stderr } => {
            let info = task.and_then(|id| out.tasks.get(&id));
            let colour = match info {
                Some(t) if !theme.task_colors.is_empty() => {
                    (t.index % theme.task_colors.len()) as i64
                }
                _ => -1,
            };
            let name = info.map_or("", |t| t.name.as_str());
            (if *stderr { "e" } else { "o" }, colour, name)
        }
        Source::Raw { stderr } => (
            if *stderr { "R" } else { "r" },
            -1,
            if *stderr { "stderr" } else { "stdout" },
        ),
        Source::Info => ("i", -1, "·"),
        Source::Error => ("x", -1, "!"),
        Source::Cancel => ("c", -1, "cancel"),
        // What the speaker typed into the demo: shown like a line the demo printed.
        Source::Input => ("o", -1, "stdin"),
    };
    (
        (line.t * 1000.0).round() / 1000.0,
        kind,
        colour,
        tag,
        line.text.as_str(),
    )
}

/// The task tree as the presenter's panel draws it, as HTML (empty when the run has no tasks).
pub fn tree_html(theme: &Theme, out: &RunOutput) -> String {
    if out.tasks.is_empty() {
        return String::new();
    }
    let lines = crate::ui::tree::lines(theme, out, TREE_WIDTH, TREE_HEIGHT);
    super::html::lines_html(&lines)
}

/// The timeline chart of the run as HTML (empty when the run has no tasks).
pub fn timeline_html(theme: &Theme, out: &RunOutput) -> String {
    if out.tree.order.is_empty() {
        return String::new();
    }
    let rows = (out.tree.order.len() + 2).min(30) as u16;
    let area = Rect::new(0, 0, TIMELINE_WIDTH, rows);
    let mut buf = Buffer::empty(area);
    crate::ui::timeline::render(theme, out, &mut buf, area);
    super::html::buffer_html(&buf)
}

/// How a run ended, as one word (or `died: why`).
pub fn status_text(status: &RunStatus) -> String {
    match status {
        RunStatus::Starting | RunStatus::Running => "running".into(),
        RunStatus::Ok => "ok".into(),
        RunStatus::Error => "error".into(),
        RunStatus::Stopped => "stopped".into(),
        RunStatus::Died(why) => format!("died: {why}"),
    }
}

/// Whether an event changes the task tree (so a new snapshot is worth taking).
fn shapes_tree(msg: &ChildMsg) -> bool {
    let one = |e: &Event| {
        !matches!(
            e,
            Event::Out { .. } | Event::Info { .. } | Event::Defined { .. } | Event::Setup { .. }
        )
    };
    match msg {
        ChildMsg::Event(e) => one(e),
        ChildMsg::Events(es) => es.iter().any(one),
        _ => false,
    }
}

/// The player's script of a recording: its header, every output line with its time, snapshots
/// of the task tree `[t, html]` as it changed, and the timeline at the end. `older` marks a
/// recording of code that has changed since.
pub fn recording_json(theme: &Theme, slide: usize, rec: &Recording, older: bool) -> Value {
    let mut out = RunOutput::new(slide, crate::record::replay::FIRST_ID);
    out.status = RunStatus::Running;
    let mut tree: Vec<Value> = Vec::new();
    let mut last_tree = String::new();
    let mut last_snap = f64::NEG_INFINITY;
    let mut dirty = false;
    let events = &rec.events;
    for (i, ev) in events.iter().enumerate() {
        out.apply(&ev.msg);
        dirty |= shapes_tree(&ev.msg);
        let t = ev.t.max(0.0);
        let quiet_next = events.get(i + 1).is_none_or(|n| n.t - t >= 0.02);
        if dirty && (quiet_next || t - last_snap >= TREE_EVERY) {
            out.wall = t;
            let html = tree_html(theme, &out);
            if html != last_tree {
                tree.push(json!([(t * 1000.0).round() / 1000.0, html]));
                last_tree = html;
            }
            last_snap = t;
            dirty = false;
        }
    }
    out.wall = out.last_t;
    if !out.status.is_over() {
        // A recording always ends in `exited`; a cut one may not.
        out.status = RunStatus::Stopped;
    }
    let final_tree = tree_html(theme, &out);
    if final_tree != last_tree {
        tree.push(json!([(out.last_t * 1000.0).round() / 1000.0, final_tree]));
    }
    let lines: Vec<Value> = out
        .lines
        .iter()
        .map(|l| line_json(theme, &out, l))
        .collect();
    let h = &rec.header;
    json!({
        "date": h.date,
        "python": h.python,
        "trio": h.trio,
        "status": status_text(&out.status),
        "duration": (out.last_t * 1000.0).round() / 1000.0,
        "older": older,
        "truncated": h.truncated,
        "dropped": out.dropped,
        "lines": lines,
        "tree": tree,
        "timeline": timeline_html(theme, &out),
    })
}
