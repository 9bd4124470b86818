//! The task tree panel: the root task, the nurseries each task opened, their child tasks
//! (recursively), and the cancel scopes of slide code, drawn with box-drawing guides. Every task
//! shows its call in its colour (the colour of its output lines) and its state: `● running`,
//! `◌ waiting`, `✔ done 3.00 s`, `✖ cancelled`, `✖ ValueError`.
//!
//! When the tree is taller than the panel, finished tasks of each nursery fold into one
//! `✔ 5 done` row (the tree shrinks as tasks end); what still does not fit is cut with `… N
//! more`. Cost per frame is proportional to the tasks, never to the output.
//!
//! There is also a one-row form, [`strip`], for terminals too small for a panel.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Borders, Paragraph};
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

use crate::app::output::{RunOutput, TaskInfo};
use crate::app::tree::{Live, ScopeInfo, Tree};
use crate::theme::Theme;

/// Cancel scopes shown per task (the latest active or fired ones).
const SCOPES_PER_TASK: usize = 2;

/// One thing the tree shows.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Node {
    Task(u64),
    Nursery(u64),
    Scope(u64),
    /// Finished tasks of a nursery, folded: (ok, cancelled, failed).
    Folded(usize, usize, usize),
    More(usize),
}

/// A row: its guides (`│  ├─ `) and what it shows.
struct Row {
    guides: String,
    node: Node,
}

/// Draws the panel (a top and left border with a title, then the tree) into `area`.
pub fn draw(theme: &Theme, out: &RunOutput, frame: &mut Frame, area: Rect) {
    let inner = super::panel(
        theme,
        frame,
        area,
        Borders::TOP | Borders::LEFT,
        title(out),
        0,
    );
    if inner.width < 4 || inner.height == 0 {
        return;
    }
    let lines = lines(theme, out, inner.width as usize, inner.height as usize);
    frame.render_widget(Paragraph::new(lines), inner);
}

fn title(out: &RunOutput) -> String {
    let total = out.tasks.len();
    let alive = out.tasks.values().filter(|t| t.ended.is_none()).count();
    if alive > 0 && !out.status.is_over() {
        format!(" tasks · {alive} of {total} alive ")
    } else {
        format!(" tasks · {total} ")
    }
}

/// The tree as at most `height` lines of at most `width` cells.
pub fn lines(theme: &Theme, out: &RunOutput, width: usize, height: usize) -> Vec<Line<'static>> {
    let mut rows = build(out, false);
    if rows.len() > height {
        rows = build(out, true);
    }
    if rows.len() > height && height > 0 {
        let cut = rows.len() - (height - 1);
        rows.truncate(height - 1);
        rows.push(Row {
            guides: String::new(),
            node: Node::More(cut),
        });
    }
    rows.iter().map(|r| line(theme, out, r, width)).collect()
}

/// Every row of the tree, depth first; with `fold`, each nursery's finished tasks become one
/// row.
fn build(out: &RunOutput, fold: bool) -> Vec<Row> {
    let tree = &out.tree;
    let mut b = Builder {
        tree,
        tasks: &out.tasks,
        fold,
        rows: Vec::new(),
    };
    let mut top: Vec<Node> = tree.roots.iter().map(|&id| Node::Task(id)).collect();
    top.extend(
        tree.loose
            .iter()
            .filter(|&&n| tree.shows_nursery(n))
            .map(|&n| Node::Nursery(n)),
    );
    for node in top {
        b.rows.push(Row {
            guides: String::new(),
            node,
        });
        b.children(node, "");
    }
    b.rows
}

struct Builder<'a> {
    tree: &'a Tree,
    tasks: &'a std::collections::HashMap<u64, TaskInfo>,
    fold: bool,
    rows: Vec<Row>,
}

impl Builder<'_> {
    /// Adds the rows under `node`, whose own row is drawn; `prefix` continues its guides.
    fn children(&mut self, node: Node, prefix: &str) {
        let kids: Vec<Node> = match node {
            Node::Task(id) => {
                let mut kids: Vec<Node> = self
                    .tree
                    .shown_scopes(id, SCOPES_PER_TASK)
                    .iter()
                    .map(|s| Node::Scope(s.id))
                    .collect();
                if let Some(n) = self.tree.nodes.get(&id) {
                    kids.extend(
                        n.nurseries
                            .iter()
                            .filter(|&&n| self.tree.shows_nursery(n))
                            .map(|&n| Node::Nursery(n)),
                    );
                }
                kids
            }
            Node::Nursery(id) => {
                let Some(n) = self.tree.nurseries.get(&id) else {
                    return;
                };
                if self.fold {
                    let (mut ok, mut cancelled, mut failed) = (0, 0, 0);
                    let mut kids = Vec::new();
                    for &c in &n.children {
                        match self.tasks.get(&c).and_then(|t| t.ended.as_ref()) {
                            Some((_, outcome, _)) if outcome == "ok" => ok += 1,
                            Some((_, outcome, _)) if outcome == "cancelled" => cancelled += 1,
                            Some(_) => failed += 1,
                            None => kids.push(Node::Task(c)),
                        }
                    }
                    if ok + cancelled + failed > 0 {
                        kids.insert(0, Node::Folded(ok, cancelled, failed));
                    }
                    kids
                } else {
                    n.children.iter().map(|&c| Node::Task(c)).collect()
                }
            }
            _ => return,
        };
        let last = kids.len().saturating_sub(1);
        for (i, kid) in kids.into_iter().enumerate() {
            let (branch, cont) = if i == last {
                ("└─ ", "   ")
            } else {
                ("├─ ", "│  ")
            };
            self.rows.push(Row {
                guides: format!("{prefix}{branch}"),
                node: kid,
            });
            self.children(kid, &format!("{prefix}{cont}"));
        }
    }
}

/// A task's state as a glyph and words, with its style.
pub(crate) fn task_state(theme: &Theme, out: &RunOutput, id: u64) -> (char, String, Style) {
    let Some(task) = out.tasks.get(&id) else {
        return ('?', "unknown".into(), Style::default().fg(theme.dim));
    };
    match &task.ended {
        Some((t, outcome, error)) => match outcome.as_str() {
            "ok" => (
                '✔',
                format!("done {:.2} s", (t - task.started).max(0.0)),
                Style::default().fg(theme.dim),
            ),
            "cancelled" => ('✖', "cancelled".into(), Style::default().fg(theme.accent)),
            _ => (
                '✖',
                error.clone().unwrap_or_else(|| "error".into()),
                Style::default()
                    .fg(theme.error)
                    .add_modifier(Modifier::BOLD),
            ),
        },
        None if out.status.is_over() => ('■', "stopped".into(), Style::default().fg(theme.dim)),
        None => match out.tree.nodes.get(&id).and_then(|n| n.live) {
            Some(Live::Waiting) => ('◌', "waiting".into(), Style::default().fg(theme.dim)),
            Some(Live::Running) => (
                '●',
                "running".into(),
                Style::default().fg(theme.text).add_modifier(Modifier::BOLD),
            ),
            // Without `state` events (an older harness) all we know is that it is alive.
            None if !out.tree.structured => ('●', "alive".into(), Style::default().fg(theme.text)),
            None => (
                '●',
                "running".into(),
                Style::default().fg(theme.text).add_modifier(Modifier::BOLD),
            ),
        },
    }
}

/// A scope's state, long and short (for narrow panels, so its call stays whole).
fn scope_state(theme: &Theme, scope: &ScopeInfo) -> (String, &'static str, Style) {
    let accent = Style::default().fg(theme.accent);
    let dim = Style::default().fg(theme.dim);
    match (&scope.fired, scope.exited) {
        (Some(f), Some((_, true))) => (format!("fired {:.2} s · caught", f.t), "caught", accent),
        (Some(f), _) => (format!("fired {:.2} s", f.t), "fired", accent),
        (None, None) => match scope.deadline {
            Some(d) => (format!("until {d:.2} s"), "active", dim),
            None => ("active".into(), "active", dim),
        },
        (None, Some(_)) => ("exited".into(), "exited", dim),
    }
}

/// One row as a line: guides, then the node's name (cut to fit) and state.
fn line(theme: &Theme, out: &RunOutput, row: &Row, width: usize) -> Line<'static> {
    let dim = Style::default().fg(theme.dim);
    let guides_w = row.guides.width();
    let (name, name_style, state, state_style) = match row.node {
        Node::Task(id) => {
            let (name, color) = match out.tasks.get(&id) {
                Some(t) => (t.name.clone(), theme.task_color(t.index)),
                None => (format!("task {id}"), theme.dim),
            };
            let (glyph, words, style) = task_state(theme, out, id);
            (
                name,
                Style::default().fg(color),
                format!("{glyph} {words}"),
                style,
            )
        }
        Node::Nursery(id) => {
            let open = out
                .tree
                .nurseries
                .get(&id)
                .is_some_and(|n| n.closed.is_none())
                && !out.status.is_over();
            let (state, style) = if open {
                ("open", Style::default().fg(theme.text))
            } else {
                ("closed", dim)
            };
            (
                "nursery".to_string(),
                dim.add_modifier(Modifier::ITALIC),
                state.to_string(),
                style,
            )
        }
        Node::Scope(id) => match out.tree.scopes.get(&id) {
            Some(scope) => {
                let (long, short, style) = scope_state(theme, scope);
                let call = format!("{} {}", scope.mark().glyph(), scope.call());
                let state = if guides_w + call.width() + 2 + long.width() > width {
                    short.to_string()
                } else {
                    long
                };
                let call_style = if scope.fired.is_some() {
                    Style::default().fg(theme.accent)
                } else {
                    dim
                };
                (call, call_style, state, style)
            }
            None => (String::new(), dim, String::new(), dim),
        },
        Node::Folded(ok, cancelled, failed) => {
            let mut parts = Vec::new();
            if ok > 0 {
                parts.push(format!("✔ {ok} done"));
            }
            if cancelled > 0 {
                parts.push(format!("✖ {cancelled} cancelled"));
            }
            if failed > 0 {
                parts.push(format!("✖ {failed} failed"));
            }
            (parts.join(" · "), dim, String::new(), dim)
        }
        Node::More(n) => (format!("… {n} more"), dim, String::new(), dim),
    };
    let state_w = if state.is_empty() {
        0
    } else {
        state.width() + 2
    };
    let room = width.saturating_sub(guides_w + state_w).max(4);
    let mut spans = vec![
        Span::styled(row.guides.clone(), dim),
        Span::styled(cut(&name, room), name_style),
    ];
    if !state.is_empty() {
        spans.push(Span::raw("  "));
        spans.push(Span::styled(state, state_style));
    }
    Line::from(spans)
}

/// `s` cut to at most `w` cells, with `…` when cut.
pub(crate) fn cut(s: &str, w: usize) -> String {
    if s.width() <= w {
        return s.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + cw + 1 > w {
            break;
        }
        out.push(c);
        used += cw;
    }
    out.push('…');
    out
}

/// The compact form for small terminals, one row: `tasks  main()◌ sleepy(0)✔ sleepy(1)● +3`.
pub fn strip(theme: &Theme, out: &RunOutput, width: usize) -> Line<'static> {
    let dim = Style::default().fg(theme.dim);
    let mut spans = vec![Span::styled("tasks ", dim)];
    let mut used = 6;
    let order = &out.tree.order;
    for (i, &id) in order.iter().enumerate() {
        let Some(task) = out.tasks.get(&id) else {
            continue;
        };
        let (glyph, _, style) = task_state(theme, out, id);
        let piece_w = task.name.width() + 2;
        let left = order.len() - i;
        let more = format!("+{left}");
        // Keep room for the "+N" of the tasks that will not fit.
        let reserve = if left > 1 {
            format!("+{}", left - 1).len() + 1
        } else {
            0
        };
        if used + piece_w + reserve > width {
            if used + more.len() <= width {
                spans.push(Span::styled(more, dim));
            }
            break;
        }
        spans.push(Span::styled(
            task.name.clone(),
            Style::default().fg(theme.task_color(task.index)),
        ));
        spans.push(Span::styled(format!("{glyph} "), style));
        used += piece_w;
    }
    Line::from(spans)
}
