//! The shared state between the presenter and the web viewers of `--share`: the page (and its
//! version: a reloaded deck gets a new one), the slide shown and, per slide, the log of its
//! latest run (a start, its output lines as JSON, the latest task tree, the end).
//!
//! The presenter never waits on the web side, not even for a lock. Its loop
//! [`Publisher::publish`]es after each batch of messages: it turns what changed into JSON, sends
//! it down a channel and wakes the server once ([`Hub::distribute`], a task on the server's own
//! thread). That task, [`COALESCE`] later (the speaker's own frame is drawn first), applies the
//! changes to the logs and wakes every viewer's task, at most once per [`COALESCE`]. Each viewer
//! keeps its own [`Cursor`] and takes what it has not sent yet as one batch ([`Hub::frames`]):
//! the speaker's slide first, then any other run it has not had whole. A late joiner gets the
//! runs from their start, a slow viewer catches up in batches, and one that falls behind a
//! whole log (the oldest lines are dropped beyond [`MAX_LINES`]) skips ahead with a marker.
//! Memory is bounded by the logs, never by the number or the speed of the viewers; and if the
//! server itself falls behind (it runs at the lowest priority), the presenter stops handing it
//! lines until it has caught up, so the channel is bounded too (the lines it missed meanwhile
//! reach the viewers as a skip).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hyper::body::Bytes;
use serde_json::json;
use tokio::sync::{watch, Notify};

use super::runs;
use crate::app::App;
use crate::theme::Theme;

/// Output lines kept per run: twice the presenter's own scrollback. The server runs at the
/// lowest priority and wakes the viewers every [`COALESCE`], so in a flood (ten thousand lines
/// in well under a second) it may first look at a run when the presenter has already dropped its
/// first lines; with room for twice as many, a viewer that keeps up still gets every line the
/// presenter published.
pub const MAX_LINES: usize = 2 * crate::app::output::SCROLLBACK;
/// Lines sent to one viewer in one event (a late joiner's catch-up comes in a few).
const BATCH_LINES: usize = 2_000;
/// Output lines handed to the server per [`Publisher::publish`]: a run's worth at once (after
/// the server caught up, or at the end of a flood) would hold the presenter's loop for
/// milliseconds; in slices, a key pressed meanwhile is answered between two of them.
const PUBLISH_LINES: usize = 500;
/// How often the task tree is re-drawn for the viewers while a run goes.
const TREE_EVERY: Duration = Duration::from_millis(100);
/// Viewers are woken at most this often, so a flood costs each a few batches a second, not a
/// write per line, and the server thread a few wake-ups a second, not one per frame.
pub const COALESCE: Duration = Duration::from_millis(25);

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
    /// The page served at `/` and its version (0 at start, one more per reloaded deck).
    page: (u64, Bytes),
    closed: bool,
    /// The last `lines` event built, with what it holds (slide, run id, from, to): viewers that
    /// keep up ask for the same batch one after another, and two hundred of them share one.
    batch: Option<Batch>,
}

/// A built `lines` event and what it holds: (slide, run id, first line, end), lines counted
/// since the run began.
type Batch = ((usize, u64, u64, u64), String);

/// The state the viewers read; see the module doc. Only the server's thread locks it (the
/// presenter sends changes down a channel), so the lock is never contended.
pub struct Hub {
    state: Mutex<State>,
    /// The presenter's one wake-up per publish (a stored permit when the server is busy, so
    /// publishes in between coalesce).
    wake: Notify,
    /// Lines sent by the presenter and not applied yet.
    backlog: AtomicUsize,
    /// The viewers wait on this (the state's `seq`).
    fanout: watch::Sender<u64>,
}

/// What one viewer has sent so far.
#[derive(Debug, Default)]
pub struct Cursor {
    seq: Option<u64>,
    /// The version of the page the viewer has loaded.
    page: u64,
    slide: usize,
    /// Per slide: the run id sent, the next line to send, the tree sent, whether the end was.
    runs: HashMap<usize, (u64, u64, u64, bool)>,
}

impl Cursor {
    /// A viewer of version `page` of the page (see [`Hub::page`]).
    pub fn new(page: u64) -> Cursor {
        Cursor {
            page,
            ..Cursor::default()
        }
    }

    /// Whether the last [`Hub::frames`] sent everything there was (else the next call must not
    /// wait for a change).
    pub fn caught_up(&self) -> bool {
        self.seq.is_some()
    }
}

/// The presenter's changes on their way to the server (see [`Hub::distribute`]).
pub struct Updates(mpsc::Receiver<Vec<Change>>);

/// A hub serving `page` (version 0), the presenter's side of it, and the changes for the
/// server to apply.
pub fn hub(theme: Theme, page: Bytes) -> (Arc<Hub>, Publisher, Updates) {
    let (tx, rx) = mpsc::channel();
    let hub = Arc::new(Hub {
        state: Mutex::new(State {
            page: (0, page),
            ..State::default()
        }),
        wake: Notify::new(),
        backlog: AtomicUsize::new(0),
        fanout: watch::Sender::new(0),
    });
    let publisher = Publisher {
        hub: hub.clone(),
        tx,
        theme,
        known: HashMap::new(),
        next_id: 1,
        slide: 0,
    };
    (hub, publisher, Updates(rx))
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A viewer task that panicked must not take the others down with it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The page to serve at `/`, and its version.
    pub fn page(&self) -> (u64, Bytes) {
        self.lock().page.clone()
    }

    /// A viewer's wake-up: changes when there is something new (or the hub closed).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.fanout.subscribe()
    }

    /// The server's side of the channel: waits for the presenter's wake-up, lets [`COALESCE`]
    /// pass, then applies everything sent meanwhile and wakes the viewers. Waiting first is what
    /// keeps the web's work off the presenter's back: the frame that answered a key (the slide
    /// change that woke us) reaches the speaker's terminal and is drawn there before two
    /// hundred streams are written; the audience sees the slide 25 ms later, which no one can
    /// tell over a network. Returns once the presenter has closed the hub (the viewers' streams
    /// then end).
    pub async fn distribute(&self, updates: Updates) {
        loop {
            self.wake.notified().await;
            tokio::time::sleep(COALESCE).await;
            if self.apply_updates(&updates) {
                return;
            }
        }
    }

    /// Applies what the presenter sent and wakes the viewers; true once the hub is closed.
    fn apply_updates(&self, updates: &Updates) -> bool {
        let mut state = self.lock();
        let mut applied = 0;
        loop {
            match updates.0.try_recv() {
                Ok(changes) => applied += apply(&mut state, changes),
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => {
                    state.closed = true;
                    break;
                }
            }
        }
        self.backlog.fetch_sub(applied, Ordering::SeqCst);
        state.seq += 1;
        self.fanout.send_replace(state.seq);
        state.closed
    }

    /// The server-sent events `cursor`'s viewer has not had yet (empty when there is nothing
    /// new), in batches of at most [`BATCH_LINES`] lines; `None` once the hub is closed.
    pub fn frames(&self, cursor: &mut Cursor) -> Option<String> {
        let mut guard = self.lock();
        let state = &mut *guard;
        if state.closed {
            return None;
        }
        let mut out = String::new();
        let mut complete = true;
        if cursor.page != state.page.0 {
            // The deck changed: the viewer's page loads the new one (and reconnects).
            cursor.page = state.page.0;
            push_event(&mut out, "reload", "{}");
        }
        if cursor.slide != state.slide {
            cursor.slide = state.slide;
            push_event(&mut out, "slide", &json!({ "n": state.slide }).to_string());
        }
        // The speaker's slide first, then every other run the viewer has not had whole: one
        // that the speaker left at once is still the audience's to page back to.
        let mut slides: Vec<usize> = state.runs.keys().copied().collect();
        slides.sort_unstable_by_key(|s| (*s != state.slide, *s));
        let mut budget = BATCH_LINES;
        for slide in slides {
            let entry = cursor.runs.entry(slide).or_insert((0, 0, 0, false));
            complete &= send_run(
                &mut out,
                slide,
                &state.runs[&slide],
                entry,
                &mut budget,
                &mut state.batch,
            );
        }
        cursor.seq = if complete { Some(state.seq) } else { None };
        Some(out)
    }
}

/// Adds to `out` what a viewer has not had of one slide's run (`entry`: see [`Cursor`]), at
/// most `budget` lines of it; true when that was all.
fn send_run(
    out: &mut String,
    slide: usize,
    log: &RunLog,
    entry: &mut (u64, u64, u64, bool),
    budget: &mut usize,
    batch: &mut Option<Batch>,
) -> bool {
    if entry.0 != log.id {
        *entry = (log.id, 0, 0, false);
        push_event(out, "run", &log.start);
    }
    if entry.1 < log.first {
        let skipped = log.first - entry.1;
        entry.1 = log.first;
        push_event(
            out,
            "skip",
            &json!({"slide": slide, "id": log.id, "n": skipped, "t": 0}).to_string(),
        );
    }
    let from = (entry.1 - log.first) as usize;
    let upto = log.lines.len().min(from + *budget);
    if upto > from {
        let key = (slide, log.id, entry.1, log.first + upto as u64);
        if batch.as_ref().is_none_or(|(k, _)| *k != key) {
            let mut data = format!("{{\"slide\":{slide},\"id\":{},\"lines\":[", log.id);
            for (i, line) in log.lines.range(from..upto).enumerate() {
                if i > 0 {
                    data.push(',');
                }
                data.push_str(line);
            }
            data.push_str("]}");
            *batch = Some((key, data));
        }
        if let Some((_, data)) = batch.as_ref() {
            push_event(out, "lines", data);
        }
        entry.1 = log.first + upto as u64;
        *budget -= upto - from;
    }
    let complete = upto == log.lines.len();
    if let Some((n, tree)) = &log.tree {
        if *n > entry.2 {
            entry.2 = *n;
            push_event(out, "tree", tree);
        }
    }
    if let (Some(end), true, false) = (&log.end, complete, entry.3) {
        entry.3 = true;
        push_event(out, "end", end);
    }
    complete
}

/// Applies one publish's changes; returns how many lines it carried (for the backlog).
fn apply(state: &mut State, changes: Vec<Change>) -> usize {
    let mut lines_in = 0;
    for change in changes {
        match change {
            Change::Slide(n) => state.slide = n,
            Change::Page(version, page) => {
                // Two quick reloads may be built out of order: the newest wins.
                if version > state.page.0 {
                    state.page = (version, page);
                }
            }
            Change::Close => state.closed = true,
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
            Change::Gap(s, n) => {
                // Lines the presenter could not hand over: viewers skip them (and, to keep the
                // log one run of consecutive lines, what the log held before them).
                if let Some(log) = state.runs.get_mut(&s) {
                    log.first += log.lines.len() as u64 + n;
                    log.lines.clear();
                }
            }
            Change::Lines(s, lines) => {
                lines_in += lines.len();
                if let Some(log) = state.runs.get_mut(&s) {
                    for row in lines {
                        if log.lines.len() >= MAX_LINES {
                            log.lines.pop_front();
                            log.first += 1;
                        }
                        log.lines
                            .push_back(serde_json::to_string(&row).unwrap_or_default().into());
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
    lines_in
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
    tx: mpsc::Sender<Vec<Change>>,
    theme: Theme,
    known: HashMap<usize, Known>,
    next_id: u64,
    slide: usize,
}

/// Hands a rebuilt page to the server; see [`Publisher::pages`].
pub struct PageSink {
    hub: Arc<Hub>,
    tx: mpsc::Sender<Vec<Change>>,
}

impl PageSink {
    pub fn send(self, version: u64, page: Bytes) {
        let _ = self.tx.send(vec![Change::Page(version, page)]);
        self.hub.wake.notify_one();
    }
}

/// Changes gathered for one publish, applied by the server in one go.
pub enum Change {
    Slide(usize),
    /// A new version of the page (the deck was reloaded).
    Page(u64, Bytes),
    /// The presenter quits.
    Close,
    Start(usize, u64, String),
    /// Lines of the run that never reached the hub (the presenter's own scrollback dropped
    /// them while the server was behind).
    Gap(usize, u64),
    /// New lines of a run, as rows: the server turns them into JSON, off the presenter's loop.
    Lines(usize, Vec<runs::Row>),
    Tree(usize, String),
    End(usize, String),
}

impl Publisher {
    /// Publishes the slide shown and the new output of its run. Called by the presenter's
    /// loop after each batch of messages; costs a copy of the new lines (at most
    /// [`PUBLISH_LINES`] of them: returns true when more are left for the next call; the
    /// server thread makes their JSON), a channel send and one wake-up, and never waits.
    pub fn publish(&mut self, app: &App) -> bool {
        let mut changes = Vec::new();
        let mut more = false;
        let slide = app.slide_number();
        if slide != self.slide {
            self.slide = slide;
            changes.push(Change::Slide(slide));
        }
        // While the server has a scrollback's worth of lines still to apply, new lines wait in
        // the presenter's own scrollback (what it drops meanwhile becomes a gap).
        if self.hub.backlog.load(Ordering::SeqCst) < crate::app::output::SCROLLBACK {
            let mut slides = vec![slide];
            slides.extend(app.running.filter(|s| *s != slide));
            for s in slides {
                if let Some(out) = app.outputs.get(&s) {
                    self.gather(s, out, &mut changes, &mut more);
                }
            }
        }
        if changes.is_empty() {
            return more;
        }
        let lines: usize = changes
            .iter()
            .map(|c| match c {
                Change::Lines(_, l) => l.len(),
                _ => 0,
            })
            .sum();
        self.hub.backlog.fetch_add(lines, Ordering::SeqCst);
        if self.tx.send(changes).is_err() {
            // The server is gone (it cannot be while the share lives): nothing to wait for.
            self.hub.backlog.fetch_sub(lines, Ordering::SeqCst);
        }
        self.hub.wake.notify_one();
        more
    }

    /// Ends every viewer's stream (the presenter quits).
    pub fn close(&mut self) {
        let _ = self.tx.send(vec![Change::Close]);
        self.hub.wake.notify_one();
    }

    /// Where a new version of the page goes once it is built (on a thread of its own: building
    /// highlights the whole deck, which the presenter's loop must not wait for).
    pub fn pages(&self) -> PageSink {
        PageSink {
            hub: self.hub.clone(),
            tx: self.tx.clone(),
        }
    }

    fn gather(
        &mut self,
        slide: usize,
        out: &crate::app::output::RunOutput,
        changes: &mut Vec<Change>,
        more: &mut bool,
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
        if known.sent < out.dropped {
            changes.push(Change::Gap(slide, (out.dropped - known.sent) as u64));
        }
        let mut g = known.sent.max(out.dropped);
        while g < total && lines.len() < PUBLISH_LINES {
            let line = &out.lines[g - out.dropped];
            // A partial line may still grow: it goes when it is complete (or the run ends).
            if !line.complete && !over {
                break;
            }
            let (t, kind, colour, tag, text) = runs::line_row(theme, out, line);
            lines.push((t, kind, colour, tag.to_string(), text.to_string()));
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
        if g < total && (line_complete(out, g) || over) {
            *more = true; // the rest on the next turn of the loop, keys first
            return;
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

/// Whether output line `g` (counted since the run began) is complete.
fn line_complete(out: &crate::app::output::RunOutput, g: usize) -> bool {
    out.lines.get(g - out.dropped).is_some_and(|l| l.complete)
}
