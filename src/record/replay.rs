//! Plays a recording back: a timer thread sends its events as the kernel messages a live run
//! would have sent, each at its recorded time, into the same sink (so the output pane, task
//! tree and timeline are the live ones, not a second renderer). Stopping sends a `stopped`
//! end, as a stopped live run would. Nothing is executed.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Recording;
use crate::kernel::process::{ChildMsg, Sink};
use crate::kernel::protocol::Event;

/// Replays get interpreter ids from here up, so they never meet a live interpreter's id.
pub const FIRST_ID: u64 = 1 << 40;
static NEXT: AtomicU64 = AtomicU64::new(FIRST_ID);

/// Whether `id` belongs to a replay.
pub fn is_replay(id: u64) -> bool {
    id >= FIRST_ID
}

/// A replay in progress.
pub struct Player {
    pub id: u64,
    stop: Arc<AtomicBool>,
    finished: Arc<AtomicBool>,
}

/// The line a replay starts with, saying what is shown.
pub fn intro(rec: &Recording) -> String {
    let h = &rec.header;
    let mut s = format!("⟲ replay of the run recorded {}", h.date);
    if !h.python.is_empty() {
        s.push_str(&format!(" (Python {}, trio {})", h.python, h.trio));
    }
    s
}

impl Player {
    /// Starts playing `rec`; `notes` are info lines shown first (the intro, a warning).
    pub fn start(rec: &Recording, notes: Vec<String>, sink: Sink) -> Player {
        let id = NEXT.fetch_add(1, Ordering::SeqCst);
        let stop = Arc::new(AtomicBool::new(false));
        let finished = Arc::new(AtomicBool::new(false));
        let events = rec.events.clone();
        let (stop2, finished2) = (stop.clone(), finished.clone());
        std::thread::spawn(move || {
            play(id, events, notes, &sink, &stop2);
            finished2.store(true, Ordering::SeqCst);
        });
        Player { id, stop, finished }
    }

    /// Asks the replay to stop; it ends as a stopped run.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    pub fn is_finished(&self) -> bool {
        self.finished.load(Ordering::SeqCst)
    }
}

impl Drop for Player {
    fn drop(&mut self) {
        self.stop();
    }
}

fn play(id: u64, events: Vec<super::Timed>, notes: Vec<String>, sink: &Sink, stop: &AtomicBool) {
    let start = Instant::now();
    let intro: Vec<Event> = notes
        .into_iter()
        .map(|text| Event::Info { t: 0.0, text })
        .collect();
    if !intro.is_empty() {
        sink(id, ChildMsg::Events(intro));
    }
    let mut due = 0.0f64;
    let mut i = 0;
    let mut exited = false;
    while i < events.len() {
        // Times never go backwards (the wall-clock times of raw output may be a hair early).
        due = due.max(events[i].t);
        let at = start + Duration::from_secs_f64(due.max(0.0));
        loop {
            if stop.load(Ordering::SeqCst) {
                let t = start.elapsed().as_secs_f64();
                sink(
                    id,
                    ChildMsg::Events(vec![
                        Event::Info {
                            t,
                            text: "replay stopped".into(),
                        },
                        Event::Done {
                            t,
                            status: "stopped".into(),
                        },
                    ]),
                );
                sink(
                    id,
                    ChildMsg::Exited {
                        code: None,
                        signal: None,
                        done: true,
                    },
                );
                return;
            }
            let now = Instant::now();
            if now >= at {
                break;
            }
            std::thread::sleep((at - now).min(Duration::from_millis(20)));
        }
        // Everything due by now goes at once: protocol events batched, others one by one.
        let now = start.elapsed().as_secs_f64();
        let mut batch = Vec::new();
        while i < events.len() && events[i].t.max(due) <= now {
            match &events[i].msg {
                ChildMsg::Event(e) => batch.push(e.clone()),
                ChildMsg::Events(es) => batch.extend(es.iter().cloned()),
                other => {
                    if !batch.is_empty() {
                        sink(id, ChildMsg::Events(std::mem::take(&mut batch)));
                    }
                    exited |= matches!(other, ChildMsg::Exited { .. });
                    sink(id, other.clone());
                }
            }
            due = due.max(events[i].t);
            i += 1;
        }
        if !batch.is_empty() {
            sink(id, ChildMsg::Events(batch));
        }
    }
    if !exited {
        sink(
            id,
            ChildMsg::Exited {
                code: None,
                signal: None,
                done: true,
            },
        );
    }
}

/// What the presenter does when a slide is to be replayed.
pub enum Stage {
    /// Playing; the output is marked with this label (the recording's date).
    Play(Player, String),
    /// Only a recording of code changed since: offered with this warning, not played.
    Offer(String),
    /// Nothing to play, and why (one line).
    Missing(String),
}

/// Finds the recording of `slide` and starts it (or offers it, or says why not).
pub fn stage(
    store: Option<&super::Store>,
    deck: &crate::deck::Deck,
    slide: usize,
    force: bool,
    sink: Sink,
) -> Stage {
    let Some(store) = store else {
        return Stage::Missing("no data directory, so no recordings".into());
    };
    let damaged = |problems: &[String]| {
        problems
            .first()
            .map(|p| format!(" ({p})"))
            .unwrap_or_default()
    };
    match store.find(deck, slide) {
        super::Found::Exact(rec, _) => {
            let label = rec.header.date.clone();
            let player = Player::start(&rec, vec![intro(&rec)], sink);
            Stage::Play(player, label)
        }
        super::Found::Other(rec, _) if force => {
            let label = format!("{} (older code)", rec.header.date);
            let warning =
                "⚠ the slide's code changed since this recording: it shows the old code's run"
                    .to_string();
            let player = Player::start(&rec, vec![intro(&rec), warning], sink);
            Stage::Play(player, label)
        }
        super::Found::Other(rec, _) => Stage::Offer(format!(
            "⚠ only a recording of older code ({}): R plays it",
            rec.header.date
        )),
        super::Found::None(problems) => Stage::Missing(format!(
            "no recording of slide {slide}{} (rehearse with: trio-present check --record DECK)",
            damaged(&problems)
        )),
    }
}
