//! The shared state between the presenter and the web viewers of `--share`: the slide shown and,
//! per slide, the log of its latest run (a start, its output lines as JSON, the latest task
//! tree, the end). The presenter's loop [`Publisher::publish`]es after each frame: it turns what
//! changed into JSON off the lock, then holds the lock only to append and bump a counter, so it
//! never waits on a viewer. Each viewer thread keeps its own cursor into the logs and sends
//! what it has not sent yet ([`Hub::next_frames`]): a late joiner gets the run from its start,
//! a slow one catches up in batches, and one that falls behind a whole log (the oldest lines
//! are dropped beyond [`MAX_LINES`]) skips ahead with a marker. Memory is bounded by the logs,
//! never by the number or the speed of the viewers.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::json;

use super::runs;
use crate::app::App;
use crate::theme::Theme;

/// Output lines kept per run (the presenter's own scrollback).
pub const MAX_LINES: usize = crate::app::output::SCROLLBACK;
/// Lines sent to one viewer in one event (a late joiner's catch-up comes in a few).
const BATCH_LINES: usize = 2_000;
/// How often the task tree is re-drawn for the viewers while a run goes.
const TREE_EVERY: Duration = Duration::from_millis(100);

/// One slide's latest run, as the viewers get it.
struct RunLog {
    id: u64,
    /// The `run` event's JSON.
    start: Arc<str>,
    /// Index (since the run began) of `lines[0]`.
    first: u64,
    lines: VecDeque<Arc<str>>,
    /// The latest tree (a counter that grows with each, and its event JSON).
    tree: Option<(u64, Arc<str>)>,
    end: Option<Arc<str>>,
}

#[derive(Default)]
struct State {
    /// Grows with every change; viewers wait for it to move.
    seq: u64,
    slide: usize,
    runs: HashMap<usize, RunLog>,
    closed: bool,
}

/// The state the viewers read; see the module doc.
#[derive(Default)]
pub struct Hub {
    state: Mutex<State>,
    changed: Condvar,
}

/// What one viewer has sent so far.
#[derive(Debug, Default)]
pub struct Cursor {
    seq: Option<u64>,
    slide: usize,
    /// Per slide: the run id sent, the next line to send, the tree sent, whether the end was.
    runs: HashMap<usize, (u64, u64, u64, bool)>,
}

impl Hub {
    pub fn new() -> Arc<Hub> {
        Arc::new(Hub::default())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A viewer thread that panicked must not take the presenter down with it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ends every viewer's stream (the presenter quits).
    pub fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }

    /// The server-sent events `cursor`'s viewer has not had yet, waiting up to `wait` for a
    /// change. `None` once the hub is closed; an empty string on a quiet `wait`.
    pub fn next_frames(&self, cursor: &mut Cursor, wait: Duration) -> Option<String> {
        let mut state = self.lock();
        if cursor.seq == Some(state.seq) && !state.closed {
            state = self
                .changed
                .wait_timeout_while(state, wait, |s| Some(s.seq) == cursor.seq && !s.closed)
                .map(|(s, _)| s)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        if state.closed {
            return None;
        }
        let mut out = String::new();
        let mut complete = true;
        if cursor.slide != state.slide {
            cursor.slide = state.slide;
            push_event(&mut out, "slide", &json!({ "n": state.slide }).to_string());
        }
        let slide = state.slide;
        if let Some(log) = state.runs.get(&slide) {
            let entry = cursor.runs.entry(slide).or_insert((0, 0, 0, false));
            if entry.0 != log.id {
                *entry = (log.id, 0, 0, false);
                push_event(&mut out, "run", &log.start);
            }
            if entry.1 < log.first {
                let skipped = log.first - entry.1;
                entry.1 = log.first;
                push_event(
                    &mut out,
                    "skip",
                    &json!({"slide": slide, "id": log.id, "n": skipped, "t": 0}).to_string(),
                );
            }
            let from = (entry.1 - log.first) as usize;
            let upto = log.lines.len().min(from + BATCH_LINES);
            if upto > from {
                let mut data = format!("{{\"slide\":{slide},\"id\":{},\"lines\":[", log.id);
                for (i, line) in log.lines.range(from..upto).enumerate() {
                    if i > 0 {
                        data.push(',');
                    }
                    data.push_str(line);
                }
                data.push_str("]}");
                push_event(&mut out, "lines", &data);
                entry.1 = log.first + upto as u64;
            }
            complete = upto == log.lines.len();
            if let Some((n, tree)) = &log.tree {
                if *n > entry.2 {
                    entry.2 = *n;
                    push_event(&mut out, "tree", tree);
                }
            }
            if let (Some(end), true, false) = (&log.end, complete, entry.3) {
                entry.3 = true;
                push_event(&mut out, "end", end);
            }
        }
        // With lines still to send, the next call must not wait.
        cursor.seq = if complete { Some(state.seq) } else { None };
        Some(out)
    }
}

fn push_event(out: &mut String, name: &str, data: &str) {
    out.push_str("event: ");
    out.push_str(name);
    out.push_str("\ndata: ");
    out.push_str(data);
    out.push_str("\n\n");
}

/// What the presenter has published of one slide's run.
struct Known {
    child: u64,
    started: Duration,
    id: u64,
    /// Lines sent (index since the run began).
    sent: usize,
    tree: String,
    tree_at: Instant,
    ended: bool,
}

/// The presenter's side: remembers what it published, publishes what changed.
pub struct Publisher {
    hub: Arc<Hub>,
    theme: Theme,
    known: HashMap<usize, Known>,
    next_id: u64,
    slide: usize,
}

/// Changes gathered for one publish, applied under the lock in one go.
enum Change {
    Start(usize, u64, String),
    Lines(usize, Vec<String>),
    Tree(usize, String),
    End(usize, String),
}

impl Publisher {
    pub fn new(hub: Arc<Hub>, theme: Theme) -> Publisher {
        Publisher {
            hub,
            theme,
            known: HashMap::new(),
            next_id: 1,
            slide: 0,
        }
    }

    /// Publishes the slide shown and the new output of its run. Called by the presenter's
    /// loop after each batch of messages; costs the new lines' JSON and one short lock.
    pub fn publish(&mut self, app: &App) {
        let mut changes = Vec::new();
        let slide = app.slide_number();
        let mut slides = vec![slide];
        slides.extend(app.running.filter(|s| *s != slide));
        for s in slides {
            if let Some(out) = app.outputs.get(&s) {
                self.gather(s, out, &mut changes);
            }
        }
        if changes.is_empty() && slide == self.slide {
            return;
        }
        self.slide = slide;
        let mut state = self.hub.lock();
        state.slide = slide;
        for change in changes {
            match change {
                Change::Start(s, id, start) => {
                    state.runs.insert(
                        s,
                        RunLog {
                            id,
                            start: start.into(),
                            first: 0,
                            lines: VecDeque::new(),
                            tree: None,
                            end: None,
                        },
                    );
                }
                Change::Lines(s, lines) => {
                    if let Some(log) = state.runs.get_mut(&s) {
                        for line in lines {
                            if log.lines.len() >= MAX_LINES {
                                log.lines.pop_front();
                                log.first += 1;
                            }
                            log.lines.push_back(line.into());
                        }
                    }
                }
                Change::Tree(s, tree) => {
                    if let Some(log) = state.runs.get_mut(&s) {
                        let n = log.tree.as_ref().map_or(1, |(n, _)| n + 1);
                        log.tree = Some((n, tree.into()));
                    }
                }
                Change::End(s, end) => {
                    if let Some(log) = state.runs.get_mut(&s) {
                        log.end = Some(end.into());
                    }
                }
            }
        }
        state.seq += 1;
        drop(state);
        self.hub.changed.notify_all();
    }

    fn gather(
        &mut self,
        slide: usize,
        out: &crate::app::output::RunOutput,
        changes: &mut Vec<Change>,
    ) {
        let theme = &self.theme;
        let fresh = self
            .known
            .get(&slide)
            .is_none_or(|k| k.child != out.child || k.started != out.started_at);
        if fresh {
            let id = self.next_id;
            self.next_id += 1;
            let start = json!({
                "slide": slide, "id": id, "at": out.elapsed(), "replay": out.replay,
            });
            changes.push(Change::Start(slide, id, start.to_string()));
            self.known.insert(
                slide,
                Known {
                    child: out.child,
                    started: out.started_at,
                    id,
                    sent: 0,
                    tree: String::new(),
                    tree_at: Instant::now() - TREE_EVERY,
                    ended: false,
                },
            );
        }
        let Some(known) = self.known.get_mut(&slide) else {
            return;
        };
        if known.ended {
            return;
        }
        let id = known.id;
        let over = out.status.is_over();
        let total = out.dropped + out.lines.len();
        let mut lines = Vec::new();
        let mut g = known.sent.max(out.dropped);
        while g < total {
            let line = &out.lines[g - out.dropped];
            // A partial line may still grow: it goes when it is complete (or the run ends).
            if !line.complete && !over {
                break;
            }
            lines.push(runs::line_json(theme, out, line).to_string());
            g += 1;
        }
        known.sent = g;
        if !lines.is_empty() {
            changes.push(Change::Lines(slide, lines));
        }
        if over || known.tree_at.elapsed() >= TREE_EVERY {
            known.tree_at = Instant::now();
            let tree = runs::tree_html(theme, out);
            if tree != known.tree {
                let data = json!({"slide": slide, "id": id, "html": tree}).to_string();
                known.tree = tree;
                changes.push(Change::Tree(slide, data));
            }
        }
        if over {
            known.ended = true;
            let end = json!({
                "slide": slide, "id": id,
                "status": runs::status_text(&out.status),
                "duration": out.last_t,
                "timeline": runs::timeline_html(theme, out),
            });
            changes.push(Change::End(slide, end.to_string()));
        }
    }
}
