//! Captures live runs into recordings. [`Recorder::observe`] is called from the interpreters'
//! reader threads (never the event loop) and only serialises the event into a bounded buffer;
//! when the interpreter exits, a writer thread stores the file (written to a hidden temporary
//! name, then renamed, so a reader never sees half a recording) and prunes the slide's old
//! ones. A failed write (full disk, read-only home) costs that recording and one warning.

use crate::log::Logged;
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Header, Store, FORMAT, KEEP, MAX_BYTES, VERSION};
use crate::kernel::process::ChildMsg;
use crate::kernel::protocol::Event;

/// What is known about a run when it starts.
#[derive(Debug, Clone)]
pub struct Meta {
    pub deck: PathBuf,
    pub slide: usize,
    pub digest: String,
    pub python: String,
    pub trio: String,
    /// `presenter`, `run` or `check`.
    pub source: &'static str,
}

impl Meta {
    pub fn new(
        deck: &crate::deck::Deck,
        slide: usize,
        interp: Option<&crate::kernel::python::Interpreter>,
        source: &'static str,
    ) -> Meta {
        Meta {
            deck: super::full_path(&deck.path),
            slide,
            digest: super::code_digest(deck, slide),
            python: interp.map(|i| i.version.clone()).unwrap_or_default(),
            trio: interp.map(|i| i.trio_version.clone()).unwrap_or_default(),
            source,
        }
    }
}

/// One run being captured.
struct Capture {
    meta: Meta,
    started: Instant,
    unix: f64,
    body: String,
    events: usize,
    truncated: bool,
    status: Option<String>,
    last_t: f64,
    stop_requested: bool,
    /// Wall seconds (since `started`) at which the harness clock read 0: the harness starts its
    /// clock when it gets `run`, after importing trio. Estimated from the events as they come
    /// (the smallest difference), so raw output and the exit get times on the harness clock.
    offset: Option<f64>,
}

impl Capture {
    fn add(&mut self, msg: &ChildMsg, at: Instant) {
        let wall = at.saturating_duration_since(self.started).as_secs_f64();
        let harness = matches!(msg, ChildMsg::Event(_) | ChildMsg::Events(_));
        let mut values = super::to_json(msg, 0.0);
        if harness {
            for v in &values {
                if let Some(t) = v["t"].as_f64() {
                    let o = wall - t;
                    self.offset = Some(self.offset.map_or(o, |old: f64| old.min(o)));
                }
                if v["ev"] == "done" {
                    self.status = v["status"].as_str().map(str::to_string);
                }
            }
        } else {
            let t = (wall - self.offset.unwrap_or(0.0)).max(self.last_t);
            let t = (t * 1000.0).round() / 1000.0;
            for v in &mut values {
                v["t"] = t.into();
            }
        }
        let ends = matches!(msg, ChildMsg::Exited { .. });
        for v in values {
            if let Some(t) = v["t"].as_f64() {
                self.last_t = self.last_t.max(t);
            }
            let line = v.to_string();
            let keep_anyway = ends || matches!(v["ev"].as_str(), Some("done" | "error"));
            if self.body.len() + line.len() > MAX_BYTES && !keep_anyway {
                if !self.truncated {
                    self.truncated = true;
                    let marker = serde_json::json!({
                        "ev": "info", "t": self.last_t,
                        "text": format!("(the recording stops here: the run printed more than {} MB)", MAX_BYTES >> 20),
                    });
                    self.push(marker.to_string());
                }
                continue;
            }
            self.push(line);
        }
    }

    fn push(&mut self, line: String) {
        self.body.push_str(&line);
        self.body.push('\n');
        self.events += 1;
    }

    fn finish(self, exited_done: bool) -> (Header, String) {
        let status = match (&self.status, exited_done) {
            (Some(s), _) => s.clone(),
            (None, _) if self.stop_requested => "stopped".into(),
            _ => "died".into(),
        };
        let header = Header {
            format: FORMAT.into(),
            version: VERSION,
            deck: self.meta.deck.to_string_lossy().into_owned(),
            slide: self.meta.slide,
            digest: self.meta.digest.clone(),
            unix: self.unix,
            date: super::local_date(self.unix),
            python: self.meta.python.clone(),
            trio: self.meta.trio.clone(),
            status,
            duration: (self.last_t * 1000.0).round() / 1000.0,
            source: self.meta.source.into(),
            events: self.events,
            truncated: self.truncated,
        };
        (header, self.body)
    }
}

#[derive(Default)]
struct State {
    active: HashMap<u64, Capture>,
    /// Messages of interpreters not (yet) begun: the reader thread can be faster than the
    /// loop that calls [`Recorder::begin`] right after sending `run`. Bounded.
    early: HashMap<u64, Vec<(Instant, ChildMsg)>>,
}

/// Captures runs and stores them. Cheap to clone; every clone shares the same state.
#[derive(Clone)]
pub struct Recorder {
    shared: Arc<Shared>,
    /// To the capture thread: the interpreters' reader threads only hand a message over, so
    /// turning events into JSON never slows a run (a 100,000-line flood included).
    queue: std::sync::mpsc::Sender<(u64, ChildMsg, Instant)>,
}

struct Shared {
    store: Option<Store>,
    state: Mutex<State>,
    writers: Mutex<Vec<JoinHandle<()>>>,
    warned: AtomicBool,
    warn: Box<dyn Fn(String) + Send + Sync>,
    /// Messages handed to the capture thread and not yet captured (for [`Recorder::flush`]).
    queued: std::sync::atomic::AtomicUsize,
}

impl Recorder {
    /// A recorder into `store` (None: record nothing); `warn` hears, once, that a recording
    /// could not be saved.
    pub fn new(store: Option<Store>, warn: impl Fn(String) + Send + Sync + 'static) -> Recorder {
        let (queue, captures) = std::sync::mpsc::channel::<(u64, ChildMsg, Instant)>();
        let recorder = Recorder {
            shared: Arc::new(Shared {
                store,
                state: Mutex::new(State::default()),
                writers: Mutex::new(Vec::new()),
                warned: AtomicBool::new(false),
                warn: Box::new(warn),
                queued: Default::default(),
            }),
            queue,
        };
        if recorder.shared.store.is_some() {
            // The thread's own handle must not keep the queue open: it ends with the last
            // Recorder handed out.
            let me = Recorder {
                shared: recorder.shared.clone(),
                queue: std::sync::mpsc::channel().0,
            };
            std::thread::Builder::new()
                .name("trio-present recorder".into())
                .spawn(move || {
                    for (id, msg, at) in captures {
                        me.capture(id, &msg, at);
                        me.shared.queued.fetch_sub(1, Ordering::SeqCst);
                    }
                })
                .logged("recorder: starting its thread");
        }
        recorder
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Interpreter `id` runs the slide described by `meta` from `started` on.
    pub fn begin(&self, id: u64, meta: Meta, started: Instant) {
        if self.shared.store.is_none() {
            return;
        }
        let mut st = self.state();
        let mut cap = Capture {
            meta,
            started,
            unix: super::now_unix() - started.elapsed().as_secs_f64(),
            body: String::new(),
            events: 0,
            truncated: false,
            status: None,
            last_t: 0.0,
            stop_requested: false,
            offset: None,
        };
        let early = st.early.remove(&id).unwrap_or_default();
        for (at, msg) in &early {
            cap.add(msg, *at);
        }
        if let Some((_, ChildMsg::Exited { done, .. })) = early.last() {
            let done = *done;
            drop(st);
            self.store(cap, done);
            return;
        }
        st.active.insert(id, cap);
    }

    /// The presenter asked run `id` to stop (so a kill reads as stopped, not died).
    pub fn stopping(&self, id: u64) {
        if let Some(c) = self.state().active.get_mut(&id) {
            c.stop_requested = true;
        }
    }

    /// A message from interpreter `id`; called on its reader thread.
    pub fn observe(&self, id: u64, msg: &ChildMsg) {
        if self.shared.store.is_none() {
            return;
        }
        self.shared.queued.fetch_add(1, Ordering::SeqCst);
        if self.queue.send((id, msg.clone(), Instant::now())).is_err() {
            self.shared.queued.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Folds one message into its run's capture (on the capture thread).
    fn capture(&self, id: u64, msg: &ChildMsg, now: Instant) {
        let mut st = self.state();
        let exited = match msg {
            ChildMsg::Exited { done, .. } => Some(*done),
            _ => None,
        };
        if let Some(cap) = st.active.get_mut(&id) {
            cap.add(msg, now);
            if let Some(done) = exited {
                let cap = st.active.remove(&id).expect("just seen");
                drop(st);
                self.store(cap, done);
            }
            return;
        }
        // A spare only says `ready` before its run; anything else may belong to a run whose
        // `begin` is a moment away.
        if matches!(msg, ChildMsg::Event(Event::Ready { .. })) {
            return;
        }
        if exited.is_some() && !st.early.contains_key(&id) {
            return;
        }
        if st.early.len() < 4 || st.early.contains_key(&id) {
            let q = st.early.entry(id).or_default();
            if q.len() < 256 {
                q.push((now, msg.clone()));
            }
        }
        if exited.is_some() {
            // Forget it after a while if nobody begins it (a spare that died).
            let me = self.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_secs(2));
                me.state().early.remove(&id);
            });
        }
    }

    fn store(&self, cap: Capture, done: bool) {
        let Some(store) = self.shared.store.clone() else {
            return;
        };
        let (header, body) = cap.finish(done);
        let me = self.clone();
        let handle = std::thread::spawn(move || {
            if let Err(e) = write(&store, &header, &body) {
                if !me.shared.warned.swap(true, Ordering::SeqCst) {
                    (me.shared.warn)(format!(
                        "recording of slide {} not saved ({e}); the demo is unaffected",
                        header.slide
                    ));
                }
            }
        });
        let mut writers = self
            .shared
            .writers
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        writers.retain(|h| !h.is_finished());
        writers.push(handle);
    }

    /// Waits (at most `limit`) for the recordings being written, before the process exits.
    pub fn flush(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.shared.queued.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        loop {
            let pending = {
                let mut w = self
                    .shared
                    .writers
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                w.retain(|h| !h.is_finished());
                w.len()
            };
            if pending == 0 || Instant::now() >= deadline {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Writes one recording and prunes its slide's folder.
fn write(store: &Store, header: &Header, body: &str) -> std::io::Result<PathBuf> {
    let dir = store.slide_dir(std::path::Path::new(&header.deck), header.slide);
    std::fs::create_dir_all(&dir)?;
    let name = format!(
        "{:013}-{}.jsonl",
        (header.unix * 1000.0) as u64,
        &header.digest[..12.min(header.digest.len())]
    );
    let tmp = dir.join(format!(".{name}.tmp"));
    let path = dir.join(&name);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        let mut head = serde_json::to_string(header).map_err(std::io::Error::other)?;
        head.push('\n');
        f.write_all(head.as_bytes())?;
        f.write_all(body.as_bytes())?;
        f.sync_data()?;
        std::fs::rename(&tmp, &path)
    })();
    if let Err(e) = result {
        std::fs::remove_file(&tmp).logged("recording: removing a temporary file");
        return Err(e);
    }
    prune(&dir);
    Ok(path)
}

/// Keeps the newest [`KEEP`] recordings of a slide, and the newest good one of each code
/// digest among the older ones (a few failed attempts must not push out the rehearsal).
fn prune(dir: &std::path::Path) {
    let files = super::files_in(dir);
    if files.len() <= KEEP {
        return;
    }
    let (old, newest) = files.split_at(files.len() - KEEP);
    let mut kept_good = std::collections::HashSet::new();
    for f in newest {
        if let Ok(h) = super::read_header(f) {
            if h.is_good() {
                kept_good.insert(h.digest);
            }
        }
    }
    for f in old.iter().rev() {
        match super::read_header(f) {
            Ok(h) if h.is_good() && kept_good.insert(h.digest.clone()) => {}
            _ => {
                let _ = std::fs::remove_file(f);
            }
        }
    }
}
