//! The presenter's event loop. Every source posts to an [`Inbox`] with two lanes: input (keys
//! and resizes from an input thread, SIGTERM/SIGHUP, deck reloads from the watcher) and bulk
//! (kernel events from the interpreters' reader threads, client traffic). One blocking wait,
//! then input goes through [`App::update`] first, then as much of the bulk backlog as fits a
//! frame's budget; effects are carried out and the frame is drawn once.

use crate::log::Logged;
use std::collections::{HashMap, HashSet};
use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{self, Event as TermEvent, KeyEventKind};

use crate::app::{App, Effect, Msg};
use crate::deck::Deck;
use crate::kernel::pool::{KernelMsg, Pool};
use crate::kernel::process::ChildMsg;
use crate::kernel::protocol::Event;
use crate::net::client::{describe, ClientSink};
use crate::net::{Client, ClientEvent};
use crate::theme::Theme;
use crate::{consent, record, terminal as term, ui, watcher};

/// Options of the presenter that are not part of the app state.
pub struct Options {
    pub start_slide: usize,
    pub python: Option<PathBuf>,
    pub expose: bool,
    /// Run without asking for consent (`--trust`).
    pub trust: bool,
    /// Never run code (`--no-exec`).
    pub no_exec: bool,
    /// Run nothing live: exec slides play their recordings (`--offline`).
    pub offline: bool,
    /// The planned length of the talk (`--duration`), for the speaker window's pacing.
    pub duration: Option<Duration>,
    /// The talk in other languages (`L`), and why a named one could not be loaded.
    pub translations: Vec<Deck>,
    pub warnings: Vec<String>,
    /// Key bindings (the config file's `[keys]` applied to the defaults).
    pub keymap: crate::app::keys::Keymap,
    /// `--share`: the web view's server, already listening.
    pub share: Option<crate::web::server::Share>,
    /// What is not read yet of a deck opened in parts (see [`Deck::open`]).
    pub rest: Option<crate::deck::Rest>,
}

/// Start-up work that the first slide does not need (loading highlighting) waits this long, so
/// that it does not compete with the first frame and the terminal drawing it for the CPU (two
/// cores: ours and the terminal's). Finding Python does not wait: it starts once the first
/// frame is out, as `r` pressed at once waits for it.
const BACKGROUND_DELAY: Duration = Duration::from_millis(120);

/// Bulk messages handled before one draw at most.
const BATCH: usize = 20_000;

/// Time spent on the bulk backlog before one draw at most: under an output flood the screen
/// still moves at ~40 frames a second, and a key that arrives meanwhile cuts the drain short.
const DRAIN_BUDGET: Duration = Duration::from_millis(20);

/// How many bulk messages are handled between two looks at the input lane.
const INPUT_CHECK_EVERY: usize = 32;

/// Frames that only show new output are at least this far apart. Drawing on every kernel
/// message (a thousand frames a second in a flood) fills the pty faster than a terminal
/// parses it, and then the frame that answers a key waits behind seconds of stale frames.
/// A frame that answers input is drawn at once.
const FRAME_INTERVAL: Duration = Duration::from_millis(30);
/// How long the speaker stays on an exec slide before its run is prepared (see
/// [`crate::kernel::pool`]): paging through the deck must not start and kill an interpreter
/// at every step.
const PREPARE_AFTER: Duration = Duration::from_millis(150);

/// Fewer frames than this in the last BURST_WINDOW: output is sparse (a demo printing now and
/// then), and its frame is drawn at once instead of up to FRAME_INTERVAL later.
const BURST_FRAMES: usize = 8;
const BURST_WINDOW: Duration = Duration::from_millis(100);
/// A run's first output lines are drawn as they come, whatever the frame budget: a demo
/// starts with a burst of task events (each a frame) that must not hold its first print back.
const EAGER_LINES: usize = 8;
/// How soon the loop comes back for the web view's next slice of a run's lines.
const SHARE_SLICE_GAP: Duration = Duration::from_millis(2);

/// The run on screen (its interpreter) and how many output lines it has had.
fn run_lines(app: &App) -> Option<(u64, usize)> {
    app.current_output()
        .map(|o| (o.child, o.lines.len() + o.dropped))
}

/// Presents `deck` until the speaker quits.
pub fn present(deck: Deck, theme: Theme, mut opts: Options) -> anyhow::Result<()> {
    let mut app = App::new(deck, theme, opts.start_slide);
    let mut share = opts.share.take();
    // `--duration` wins over the deck's own `<!-- duration: 30m -->`.
    let duration = opts
        .duration
        .or(crate::deck::settings::of(&app.deck).duration);
    app.update(Msg::Configure(Box::new(crate::app::Startup {
        expose: opts.expose,
        offline: opts.offline,
        no_exec: opts.no_exec,
        duration,
        keymap: opts.keymap,
        translations: opts.translations,
        warnings: opts.warnings,
        share: share.as_ref().map(|s| s.url.clone()),
        gate: consent::Gate::Ask, // decided below, once the consent store is open
    })));
    let started = Instant::now();
    // Signals are caught before the terminal changes mode: a SIGHUP right after the first
    // frame must restore the terminal, not kill us with it raw.
    let (post, mut inbox) = inbox();
    // Input steps aside while $EDITOR has the terminal (see crate::suspend).
    let input = Arc::new(crate::suspend::InputPause::default());
    spawn_signals(post.clone(), input.clone())?;
    let mut terminal = term::init()?;
    let _guard = term::Guard;
    draw(&mut terminal, &app)?;
    // A large deck was opened in parts: the whole of it is in place before anything else
    // (a key, a watcher, the speaker window, consent) looks at its other slides.
    if let Some(rest) = opts.rest.take() {
        // A bad byte further on is the same one-line usage error as in a small deck.
        let whole = crate::deck::Opened::whole(&app.deck, rest)
            .map_err(|e| crate::cli::UsageError(e.to_string()))?;
        app.complete_deck(whole);
    }
    let mut last_frame = Instant::now();
    // Something changed since the last frame, which is not drawn yet.
    let mut frame_due = false;
    // What the last frame showed of the run on screen (see EAGER_LINES).
    let mut drawn_lines = None;
    // The web view has lines left to take (it takes them in slices, see web::hub).
    let mut share_pending = false;
    // When the last few frames were drawn: output that comes sparsely is drawn at once, only a
    // stream of it is held to FRAME_INTERVAL.
    let mut recent = std::collections::VecDeque::<Instant>::new();
    // A frame owed at once ($EDITOR gave the terminal back).
    let mut redraw = false;

    spawn_input(post.clone(), input.clone());
    // Every language's file is watched; the app keeps a reload of one not on screen for later.
    let _watchers: Vec<_> = app
        .languages
        .paths()
        .iter()
        .filter_map(|p| {
            let reload = post.clone();
            watcher::watch(p, move |r| {
                reload.input(Msg::DeckReloaded(r));
            })
            .ok()
        })
        .collect();
    let kernel = post.clone();
    // Every live run is recorded; the recorder sees the messages on the reader threads.
    let warn = post.clone();
    let recorder = record::recorder::Recorder::new(record::Store::for_user(), move |w| {
        warn.bulk(Msg::Notice(w));
    });
    let tee = recorder.clone();
    let pool = Pool::new(Arc::new(move |m| {
        if let KernelMsg::Child(id, msg) = &m {
            tee.observe(*id, msg);
        }
        kernel.bulk(Msg::Kernel(m));
    }));
    // Speaker windows are a convenience: a presenter that cannot offer them still presents.
    // A speaker window of any of the talk's languages finds the presenter.
    let remote = post.clone();
    let mut speakers = match crate::speaker::server::Server::start_all(
        &app.languages.paths(),
        Arc::new(move |m| remote.input(m)),
    ) {
        Ok(s) => s,
        Err(why) => {
            if app.notice.is_none() {
                app.update(Msg::Notice(why));
            }
            None
        }
    };
    let mut exec = Executor {
        pool,
        clients: HashMap::new(),
        post,
        expose: opts.expose,
        recorder,
        recordings: record::Store::for_user(),
        player: None,
        landed: (None, Instant::now()),
        deferred: Vec::new(),
        consent: Consent {
            trust: opts.trust,
            no_exec: opts.no_exec,
            store: consent::Store::for_user(),
            this_session: HashSet::new(),
        },
    };
    let gate = exec.consent.gate_all(&app);
    app.update(Msg::Gate(gate));
    // With --no-exec nothing will run, so no interpreter is started at all.
    if !opts.no_exec && !opts.offline {
        exec.pool.resolve_in_background(opts.python.clone());
    }

    let mut background_started = false;
    // The slides beside the one shown are not laid out yet (see below).
    let mut neighbours_due = true;
    while !app.quit {
        // The next key is most likely a page turn: the slides it may turn to are laid out
        // while the speaker talks, not after the key. Not before highlighting is loaded
        // (off the main thread), which a code slide would otherwise load here.
        if neighbours_due && crate::render::is_warm() && !inbox.input_waiting() {
            neighbours_due = false;
            ui::warm_neighbours(&app, terminal.get_frame().area());
        }
        if !background_started && started.elapsed() >= BACKGROUND_DELAY {
            background_started = true;
            // Highlighting sets load off the first frame's path, before a code slide needs them.
            std::thread::spawn(crate::render::warm_up);
        }
        let mut wait = if app.is_running() {
            Duration::from_millis(100)
        } else {
            Duration::from_millis(1000 - (started.elapsed().as_millis() % 1000) as u64)
        };
        if !background_started {
            wait = wait.min(BACKGROUND_DELAY.saturating_sub(started.elapsed()));
        }
        if frame_due {
            wait = wait.min(FRAME_INTERVAL.saturating_sub(last_frame.elapsed()));
        }
        if share_pending {
            wait = wait.min(SHARE_SLICE_GAP);
        }
        if let Some(due) = exec.prepare_due() {
            wait = wait.min(due.saturating_duration_since(Instant::now()));
        }
        if inbox.wait(wait).is_err() {
            break;
        }
        // The clock first, so that a run started by this batch is timed from now.
        app.update(Msg::Tick {
            talk: started.elapsed(),
        });
        // Keys come first: a key pressed during an output flood is answered on the next frame,
        // not after the kernel messages that were queued before it. A frame that answers a key
        // leaves the backlog for the next one.
        let mut answered_input = false;
        while let Some(msg) = inbox.next_input() {
            answered_input = true;
            handle(&mut app, &mut exec, msg);
        }
        if !answered_input {
            let deadline = Instant::now() + DRAIN_BUDGET;
            for n in 0..BATCH {
                if n % INPUT_CHECK_EVERY == INPUT_CHECK_EVERY - 1
                    && (inbox.input_waiting() || Instant::now() >= deadline)
                {
                    break;
                }
                let Some(msg) = inbox.next_bulk() else { break };
                handle(&mut app, &mut exec, msg);
            }
        }
        // $EDITOR needs the terminal, which the loop owns.
        for effect in std::mem::take(&mut exec.deferred) {
            if let Effect::ExternalEdit { slide, block, code } = effect {
                let result = crate::suspend::edit_outside(&mut terminal, &input, &code, slide);
                let effects = app.update(Msg::ExternalEdited {
                    slide,
                    block,
                    result,
                });
                for e in effects {
                    exec.carry_out(e, &mut app);
                }
                redraw = true;
            }
        }
        app.update(Msg::Tick {
            talk: started.elapsed(),
        });
        if app.quit {
            break;
        }
        let now = Instant::now();
        while recent.front().is_some_and(|t| now - *t > BURST_WINDOW) {
            recent.pop_front();
        }
        let sparse = recent.len() < BURST_FRAMES;
        let lines = run_lines(&app);
        let early_line = match (lines, drawn_lines) {
            (Some((run, n)), Some((drawn_run, drawn))) if run == drawn_run => {
                n > drawn && drawn < EAGER_LINES
            }
            (Some((_, n)), _) => n > 0,
            _ => false,
        };
        if answered_input || redraw || sparse || early_line || now - last_frame >= FRAME_INTERVAL {
            draw(&mut terminal, &app)?;
            crate::latency::frame_written();
            neighbours_due |= answered_input;
            drawn_lines = lines;
            last_frame = Instant::now();
            recent.push_back(last_frame);
            frame_due = false;
            redraw = false;
        } else {
            frame_due = true;
        }
        if let Some(s) = speakers.as_mut() {
            s.publish(&app);
        }
        if let Some(s) = share.as_mut() {
            share_pending = s.publish(&app);
            // The viewer count shows from the next frame on.
            let label = s.label();
            if app.share.as_ref() != Some(&label) {
                app.update(Msg::Shared(label));
            }
        }
        // After the frame: killing a stale prepared run or preparing one never delays it.
        exec.prepare(&app);
    }
    exec.clients.clear();
    exec.pool.shutdown();
    exec.recorder.flush(Duration::from_secs(1));
    Ok(())
}

/// Passes one message to the app and carries out what it asks for.
fn handle(app: &mut App, exec: &mut Executor, msg: Msg) {
    let reloaded = matches!(msg, Msg::DeckReloaded(Ok(_)));
    let ended = match &msg {
        Msg::Kernel(KernelMsg::Child(id, ChildMsg::Exited { .. })) => Some(*id),
        _ => None,
    };
    observe(&mut exec.pool, &msg);
    let mut effects = app.update(msg);
    if reloaded {
        effects.extend(app.update(Msg::Gate(exec.consent.gate_all(app))));
    }
    for effect in effects {
        exec.carry_out(effect, app);
    }
    if let Some(id) = ended {
        exec.offer_recording(app, id);
    }
}

/// The sending side of the [`Inbox`]; cheap to clone, one per source.
#[derive(Clone)]
struct Post {
    input: mpsc::Sender<Msg>,
    /// `None` wakes the loop for input; the loop blocks on this lane only.
    bulk: mpsc::Sender<Option<Msg>>,
}

impl Post {
    /// Posts a message that must overtake the backlog; false once the loop is gone.
    fn input(&self, msg: Msg) -> bool {
        self.input.send(msg).is_ok() && self.bulk.send(None).is_ok()
    }

    fn bulk(&self, msg: Msg) -> bool {
        self.bulk.send(Some(msg)).is_ok()
    }
}

/// The loop's two lanes. The loop waits on the bulk lane, which every input post also wakes;
/// std channels cannot wait on two receivers at once.
struct Inbox {
    input: mpsc::Receiver<Msg>,
    bulk: mpsc::Receiver<Option<Msg>>,
    /// Input taken off its lane while looking whether any was waiting.
    input_seen: std::collections::VecDeque<Msg>,
    /// The bulk message that ended the wait.
    bulk_seen: Option<Msg>,
}

fn inbox() -> (Post, Inbox) {
    let (input_tx, input_rx) = mpsc::channel();
    let (bulk_tx, bulk_rx) = mpsc::channel();
    (
        Post {
            input: input_tx,
            bulk: bulk_tx,
        },
        Inbox {
            input: input_rx,
            bulk: bulk_rx,
            input_seen: Default::default(),
            bulk_seen: None,
        },
    )
}

impl Inbox {
    /// Waits up to `timeout` for a message on either lane; Err once every sender is gone.
    fn wait(&mut self, timeout: Duration) -> Result<(), mpsc::RecvTimeoutError> {
        if self.input_waiting() || self.bulk_seen.is_some() {
            return Ok(());
        }
        match self.bulk.recv_timeout(timeout) {
            Ok(m) => {
                self.bulk_seen = m;
                Ok(())
            }
            Err(mpsc::RecvTimeoutError::Timeout) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn input_waiting(&mut self) -> bool {
        if let Ok(m) = self.input.try_recv() {
            self.input_seen.push_back(m);
        }
        !self.input_seen.is_empty()
    }

    fn next_input(&mut self) -> Option<Msg> {
        self.input_seen
            .pop_front()
            .or_else(|| self.input.try_recv().ok())
    }

    /// The oldest bulk message, skipping the wake-ups of input posts.
    fn next_bulk(&mut self) -> Option<Msg> {
        if let Some(m) = self.bulk_seen.take() {
            return Some(m);
        }
        loop {
            match self.bulk.try_recv() {
                Ok(Some(m)) => return Some(m),
                Ok(None) => continue,
                Err(_) => return None,
            }
        }
    }
}

/// Draws one frame, whole and in one write (see [`term::draw`]).
fn draw(terminal: &mut term::Term, app: &App) -> std::io::Result<()> {
    term::draw(terminal, |f| ui::draw(app, f))
}

/// Kernel bookkeeping that belongs to the pool rather than to the app state.
fn observe(pool: &mut Pool, msg: &Msg) {
    match msg {
        Msg::Kernel(KernelMsg::Resolved(r)) => pool.set_interpreter(r.clone()),
        Msg::Kernel(KernelMsg::Child(id, ChildMsg::Event(Event::Ready { .. }))) => pool.ready(*id),
        Msg::Kernel(KernelMsg::Child(id, ChildMsg::Exited { .. })) => pool.exited(*id),
        _ => {}
    }
}

/// What the loop owns to carry out effects: the interpreters and the built-in clients.
struct Executor {
    pool: Pool,
    clients: HashMap<usize, Client>,
    post: Post,
    expose: bool,
    consent: Consent,
    recorder: record::recorder::Recorder,
    recordings: Option<record::Store>,
    /// Effects only the loop can carry out (it owns the terminal): `$EDITOR`.
    deferred: Vec<Effect>,
    /// The replay playing, if any.
    player: Option<record::replay::Player>,
    /// The preparable slide on screen (see [`App::preparable`]) and since when.
    landed: (Option<usize>, Instant),
}

/// What decides whether the deck's code may run (see [`crate::consent`]).
struct Consent {
    trust: bool,
    no_exec: bool,
    store: Option<consent::Store>,
    /// Digests approved in this session, so an approval holds even if the store is read-only.
    this_session: HashSet<String>,
}

impl Consent {
    fn gate(&self, deck: &Deck) -> consent::Gate {
        match consent::gate(deck, self.trust, self.no_exec, self.store.as_ref()) {
            consent::Gate::Ask if self.this_session.contains(&consent::digest(deck)) => {
                consent::Gate::Allowed
            }
            g => g,
        }
    }

    /// The gate of the whole talk: it may run only if every language's code may, since a
    /// switch keeps runs going and must not ask mid-talk. Each deck keeps its own digest, so
    /// an approval also holds for one language presented (or checked) alone.
    fn gate_all(&self, app: &App) -> consent::Gate {
        let gates: Vec<consent::Gate> = app.all_decks().map(|d| self.gate(d)).collect();
        if gates.contains(&consent::Gate::Disabled) {
            consent::Gate::Disabled
        } else if gates.contains(&consent::Gate::Ask) {
            consent::Gate::Ask
        } else {
            consent::Gate::Allowed
        }
    }

    /// Remembers the approval; a store that cannot be written is said, not fatal.
    fn approve(&mut self, deck: &Deck) -> Option<String> {
        let digest = consent::digest(deck);
        let result = match &self.store {
            Some(store) => store
                .approve(&digest, &deck.path)
                .map_err(|e| format!("{}: {e}", store.path().display())),
            None => Err("no data directory".into()),
        };
        self.this_session.insert(digest);
        result
            .err()
            .map(|e| format!("approved for this session only (cannot save: {e})"))
    }
}

impl Executor {
    /// Keeps the prepared run in step with the slide on screen: the run `r` would start, once
    /// the speaker has stayed [`PREPARE_AFTER`]; nothing (and the stale one killed) otherwise.
    fn prepare(&mut self, app: &App) {
        let slide = app.preparable();
        if slide != self.landed.0 {
            self.landed = (slide, Instant::now());
        }
        let run = slide
            .filter(|_| self.landed.1.elapsed() >= PREPARE_AFTER)
            .map(|s| app.run_command(s, self.expose));
        // Before the pause is over, a run prepared for this very slide (the speaker came back)
        // may stay; any other is stale.
        if run.is_none() && slide.is_some() && self.pool.prepared_for() == slide {
            return;
        }
        self.pool.prepare(run.as_ref());
    }

    /// When [`Executor::prepare`] has to look again (the pause on a slide ends).
    fn prepare_due(&self) -> Option<Instant> {
        let due = self.landed.1 + PREPARE_AFTER;
        (self.landed.0.is_some() && Instant::now() < due).then_some(due)
    }

    fn carry_out(&mut self, effect: Effect, app: &mut App) {
        match effect {
            Effect::Run(slide) => {
                if self.pool.interpreter().is_none() && self.pool.unavailable().is_none() {
                    app.update(Msg::RunQueued(slide));
                    return;
                }
                if let Some(why) = self.pool.unavailable() {
                    // No usable Python: the rehearsal's recording stands in.
                    let why = why.to_string();
                    return self.replay(app, slide, false, Some(why));
                }
                self.player = None;
                let command = app.run_command(slide, self.expose);
                let started = Instant::now();
                let result = self.pool.run(&command);
                // The speaker's edits and picks are not the deck's code: no recording of them
                // may stand in for the slide later.
                let keep = !app.run_is_custom(slide);
                if let Some(id) = result.as_ref().ok().filter(|_| keep) {
                    let meta = record::recorder::Meta::new(
                        &app.deck,
                        slide,
                        self.pool.interpreter(),
                        "presenter",
                    );
                    self.recorder.begin(*id, meta, started);
                }
                for e in app.update(Msg::RunStarted { slide, result }) {
                    self.carry_out(e, app);
                }
            }
            Effect::Approve => {
                // Every language's code: `L` must never stop the talk to ask again.
                let decks: Vec<Deck> = app.all_decks().cloned().collect();
                for deck in &decks {
                    if let Some(why) = self.consent.approve(deck) {
                        app.update(Msg::Notice(why));
                    }
                }
            }
            Effect::Replay { slide, force } => self.replay(app, slide, force, None),
            Effect::Stop => {
                if let Some(p) = &self.player {
                    p.stop();
                }
                if let Some(id) = self.pool.current() {
                    self.recorder.stopping(id);
                }
                self.pool.stop()
            }
            Effect::Quit => {
                self.clients.clear();
                self.pool.shutdown()
            }
            Effect::Connect { id, addr } => {
                let post = self.post.clone();
                let sink: ClientSink = Arc::new(move |id, ev| {
                    post.bulk(Msg::Client(id, ev));
                });
                let result = addr
                    .to_socket_addrs()
                    .ok()
                    .and_then(|mut a| a.next())
                    .ok_or_else(|| format!("bad address {addr}"))
                    .and_then(|a| Client::connect(id, a, sink).map_err(|e| describe(&e)));
                match result {
                    Ok(c) => {
                        self.clients.insert(id, c);
                    }
                    Err(why) => {
                        app.update(Msg::Client(id, ClientEvent::Failed(why)));
                    }
                }
            }
            Effect::ClientSend { id, bytes } => {
                if let Some(c) = self.clients.get_mut(&id) {
                    if let Err(e) = c.send(&bytes) {
                        app.update(Msg::Client(id, ClientEvent::Failed(describe(&e))));
                    }
                }
            }
            Effect::ClientEof { id } => {
                if let Some(c) = self.clients.get(&id) {
                    c.send_eof().logged("client: sending end of file");
                }
            }
            Effect::ClientClose { id } => {
                self.clients.remove(&id);
            }
            Effect::Input(bytes) => {
                if let Err(why) = self.pool.send_input(&bytes) {
                    app.update(Msg::Notice(why));
                }
            }
            Effect::InputEof => self.pool.close_input(),
            Effect::ConsoleOpen(slide) => {
                let command =
                    crate::kernel::protocol::into_console(app.run_command(slide, self.expose));
                let result = if self.pool.interpreter().is_none() {
                    Err("Python is not ready yet: try again in a moment".to_string())
                } else {
                    self.pool.open_console(&command)
                };
                let history = crate::app::console::history_path(&app.deck.path)
                    .map(|p| crate::app::console::load_history(&p))
                    .unwrap_or_default();
                for e in app.update(Msg::ConsoleStarted {
                    slide,
                    result,
                    history,
                }) {
                    self.carry_out(e, app);
                }
            }
            Effect::ConsoleEval(source) => self
                .pool
                .console_send(&crate::kernel::protocol::Command::Eval { source }),
            Effect::ConsoleComplete(text) => self
                .pool
                .console_send(&crate::kernel::protocol::Command::Complete { text }),
            Effect::ConsoleCancel => self
                .pool
                .console_send(&crate::kernel::protocol::Command::Cancel),
            Effect::ConsoleClose => self.pool.close_console(),
            Effect::ConsoleHistory(entry) => {
                if let Some(p) = crate::app::console::history_path(&app.deck.path) {
                    if let Err(e) = crate::app::console::append_history(&p, &entry) {
                        app.update(Msg::Notice(format!("console history not saved: {e}")));
                    }
                }
            }
            Effect::WriteBack { slide, block, code } => {
                let target = app.deck.slides.get(slide - 1).and_then(|s| {
                    crate::app::edit::runnable(s)
                        .get(block)
                        .map(|b| (*b).clone())
                });
                let Some(target) = target else {
                    app.update(Msg::Notice(
                        "the block is gone from the deck: nothing written".into(),
                    ));
                    return;
                };
                let notice = match crate::app::edit::write_back(&app.deck.path, &target, &code) {
                    Ok(text) => {
                        // The speaker's own code: an approval of the deck carries over to it,
                        // so the reload does not ask again.
                        if app.gate == consent::Gate::Allowed {
                            if let Ok(new) = Deck::parse(&app.deck.path, &text) {
                                self.consent.this_session.insert(consent::digest(&new));
                            }
                        }
                        format!(
                            "slide {slide}: block written to {}",
                            app.deck.path.display()
                        )
                    }
                    Err(why) => why,
                };
                app.update(Msg::Notice(notice));
            }
            // Carried out by the loop, which owns the terminal.
            effect @ Effect::ExternalEdit { .. } => self.deferred.push(effect),
        }
    }
}

impl Executor {
    /// Plays slide `slide`'s recording (see [`record::replay::stage`]); `live_why` says why it
    /// could not run live, for when there is no recording either.
    fn replay(&mut self, app: &mut App, slide: usize, force: bool, live_why: Option<String>) {
        if app.is_running() {
            self.pool.stop();
        }
        self.player = None;
        let post = self.post.clone();
        let sink: crate::kernel::process::Sink = Arc::new(move |id, m| {
            post.bulk(Msg::Kernel(KernelMsg::Child(id, m)));
        });
        match record::replay::stage(self.recordings.as_ref(), &app.deck, slide, force, sink) {
            record::replay::Stage::Play(player, label) => {
                let id = player.id;
                self.player = Some(player);
                let effects = app.update(Msg::ReplayStarted { slide, id, label });
                for e in effects {
                    self.carry_out(e, app);
                }
            }
            record::replay::Stage::Offer(warning) => {
                app.update(Msg::ReplayOffered { slide, warning });
            }
            record::replay::Stage::Missing(why) => {
                let live_why = live_why.or_else(|| match &app.kernel {
                    crate::app::KernelState::Unavailable(why) => Some(why.clone()),
                    _ => None,
                });
                let why = match live_why {
                    Some(live) => format!("{live}; {why}"),
                    None => why,
                };
                app.update(Msg::RunStarted {
                    slide,
                    result: Err(why),
                });
            }
        }
    }

    /// After a live run of interpreter `id` failed, says whether a recording can stand in.
    fn offer_recording(&mut self, app: &mut App, id: u64) {
        if record::replay::is_replay(id) {
            return;
        }
        let Some(out) = app.outputs.values().find(|o| o.child == id) else {
            return;
        };
        if !matches!(
            out.status,
            crate::app::output::RunStatus::Error | crate::app::output::RunStatus::Died(_)
        ) {
            return;
        }
        if let Some(store) = &self.recordings {
            if let record::Found::Exact(rec, _) = store.find(&app.deck, out.slide) {
                if rec.header.is_good() {
                    let date = rec.header.date.clone();
                    app.update(Msg::RecordingAvailable { id, date });
                }
            }
        }
    }
}

fn spawn_input(post: Post, pause: Arc<crate::suspend::InputPause>) {
    std::thread::spawn(move || loop {
        // Reads only with a timeout, so that it can step aside for $EDITOR.
        pause.park_if_paused();
        match event::poll(crate::suspend::INPUT_POLL) {
            Ok(false) => continue,
            Ok(true) => {}
            Err(_) => {
                post.input(Msg::Terminate);
                break;
            }
        }
        let msg = match event::read() {
            Ok(TermEvent::Key(k)) if k.kind != KeyEventKind::Release => {
                crate::latency::key(|| k.code.to_string());
                Msg::Key(k)
            }
            Ok(TermEvent::Resize(w, h)) => Msg::Resize(w, h),
            Ok(_) => continue,
            Err(_) => Msg::Terminate,
        };
        if !post.input(msg) {
            break;
        }
    });
}

fn spawn_signals(post: Post, pause: Arc<crate::suspend::InputPause>) -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGHUP, SIGINT])?;
    std::thread::spawn(move || {
        // A Ctrl-c typed in $EDITOR reaches us too (same terminal): it was for the editor.
        if signals
            .forever()
            .any(|sig| !(sig == SIGINT && pause.for_the_editor()))
        {
            post.input(Msg::Terminate);
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::{KeyCode, KeyEvent};

    #[test]
    fn input_overtakes_the_kernel_backlog() {
        let (post, mut inbox) = inbox();
        for i in 0..50_000 {
            post.bulk(Msg::Kernel(KernelMsg::Progress(i.to_string())));
        }
        post.input(Msg::Key(KeyEvent::from(KeyCode::Char('?'))));
        inbox.wait(Duration::ZERO).unwrap();
        assert!(inbox.input_waiting());
        assert!(matches!(inbox.next_input(), Some(Msg::Key(_))));
        assert!(inbox.next_input().is_none());
        // The backlog is intact and in order; the key's wake-up is not a message.
        let mut n = 0;
        while let Some(msg) = inbox.next_bulk() {
            let Msg::Kernel(KernelMsg::Progress(line)) = msg else {
                panic!("unexpected {msg:?}")
            };
            assert_eq!(line, n.to_string());
            n += 1;
        }
        assert_eq!(n, 50_000);
    }

    #[test]
    fn a_wait_ends_on_input_alone() {
        let (post, mut inbox) = inbox();
        let t = std::thread::spawn(move || {
            post.input(Msg::Resize(80, 24));
            post
        });
        // Blocks on the bulk lane; the input's wake-up ends it well before the timeout.
        inbox.wait(Duration::from_secs(30)).unwrap();
        let _post = t.join().unwrap();
        assert!(matches!(inbox.next_input(), Some(Msg::Resize(80, 24))));
        assert!(inbox.next_bulk().is_none());
    }
}
