//! The presenter's event loop: one channel that every source feeds (keys and resizes from an
//! input thread, kernel events from the interpreters' reader threads, deck reloads from the
//! watcher, SIGTERM/SIGHUP), one blocking wait, then the whole batch of waiting messages goes
//! through [`App::update`], effects are carried out, and the frame is drawn once.

use std::collections::{HashMap, HashSet};
use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{self, Event as TermEvent, KeyEventKind};
use ratatui::crossterm::{execute, terminal};

use crate::app::{App, Effect, Msg};
use crate::deck::Deck;
use crate::kernel::pool::{KernelMsg, Pool};
use crate::kernel::process::ChildMsg;
use crate::kernel::protocol::{self, Event};
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
    /// `--share`: the web view's server, already listening.
    pub share: Option<crate::web::server::Share>,
}

/// Start-up work that the first slide does not need (finding Python, warming a spare,
/// loading highlighting) waits this long, so that it does not compete with the first frame
/// for the CPU (two cores: ours and the terminal's).
const BACKGROUND_DELAY: Duration = Duration::from_millis(120);

/// Messages handled before one draw; bounds the latency of a key press under an output flood.
const BATCH: usize = 20_000;

/// Presents `deck` until the speaker quits.
pub fn present(deck: Deck, theme: Theme, mut opts: Options) -> anyhow::Result<()> {
    let deck_path = deck.path.clone();
    let mut app = App::new(deck, theme, opts.start_slide);
    let mut share = opts.share.take();
    app.share = share.as_ref().map(|s| s.url.clone());
    let started = Instant::now();
    let mut terminal = term::init()?;
    let _guard = term::Guard;
    draw(&mut terminal, &app)?;

    let (tx, rx) = mpsc::channel::<Msg>();
    spawn_input(tx.clone());
    spawn_signals(tx.clone())?;
    let reload_tx = tx.clone();
    let _watcher = watcher::watch(&deck_path, move |r| {
        let _ = reload_tx.send(Msg::DeckReloaded(r));
    })
    .ok();
    let kernel_tx = tx.clone();
    // Every live run is recorded; the recorder sees the messages on the reader threads.
    let warn_tx = tx.clone();
    let recorder = record::recorder::Recorder::new(record::Store::for_user(), move |w| {
        let _ = warn_tx.send(Msg::Notice(w));
    });
    let tee = recorder.clone();
    let pool = Pool::new(Arc::new(move |m| {
        if let KernelMsg::Child(id, msg) = &m {
            tee.observe(*id, msg);
        }
        let _ = kernel_tx.send(Msg::Kernel(m));
    }));
    app.expose = opts.expose;
    app.duration = opts.duration;
    // Speaker windows are a convenience: a presenter that cannot offer them still presents.
    let mut speakers = match crate::speaker::server::Server::start(&deck_path, tx.clone()) {
        Ok(s) => s,
        Err(why) => {
            app.notice = app.notice.take().or(Some(why));
            None
        }
    };
    let mut exec = Executor {
        pool,
        pending: None,
        clients: HashMap::new(),
        tx,
        expose: opts.expose,
        recorder,
        recordings: record::Store::for_user(),
        player: None,
        consent: Consent {
            trust: opts.trust,
            no_exec: opts.no_exec,
            store: consent::Store::for_user(),
            this_session: HashSet::new(),
        },
    };
    app.gate = exec.consent.gate(&app.deck);
    if opts.no_exec {
        app.kernel = crate::app::KernelState::Unavailable("running code is off (--no-exec)".into());
    }
    if opts.offline {
        app.offline = true;
        app.kernel = crate::app::KernelState::Unavailable(
            "offline (--offline): exec slides play their recordings".into(),
        );
    }

    let mut batch = Vec::new();
    let mut background_started = false;
    while !app.quit {
        if !background_started && started.elapsed() >= BACKGROUND_DELAY {
            background_started = true;
            // With --no-exec nothing will run, so no interpreter is started at all.
            if !opts.no_exec && !opts.offline {
                exec.pool.resolve_in_background(opts.python.clone());
            }
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
        match rx.recv_timeout(wait) {
            Ok(m) => batch.push(m),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        // The clock first, so that a run started by this batch is timed from now.
        app.update(Msg::Tick {
            talk: started.elapsed(),
        });
        for msg in batch.drain(..) {
            let resolved = matches!(msg, Msg::Kernel(KernelMsg::Resolved(_)));
            let reloaded = matches!(msg, Msg::DeckReloaded(Ok(_)));
            let ended = match &msg {
                Msg::Kernel(KernelMsg::Child(id, ChildMsg::Exited { .. })) => Some(*id),
                _ => None,
            };
            observe(&mut exec.pool, &msg);
            let mut effects = app.update(msg);
            if reloaded {
                app.gate = exec.consent.gate(&app.deck);
            }
            // A run asked for while Python was still being found starts as soon as it is known.
            if resolved {
                // ... unless the speaker has left that slide meanwhile.
                let slide = app.slide_number();
                effects.extend(exec.pending.take().filter(|s| *s == slide).map(Effect::Run));
            }
            for effect in effects {
                exec.carry_out(effect, &mut app);
            }
            if let Some(id) = ended {
                exec.offer_recording(&mut app, id);
            }
        }
        app.update(Msg::Tick {
            talk: started.elapsed(),
        });
        if !app.quit {
            draw(&mut terminal, &app)?;
        }
        if let Some(s) = speakers.as_mut() {
            s.publish(&app);
        }
        if let Some(s) = share.as_mut() {
            s.publish(&app);
            // The viewer count shows from the next frame on.
            let label = s.label();
            if app.share.as_ref() != Some(&label) {
                app.share = Some(label);
            }
        }
    }
    exec.clients.clear();
    exec.pool.shutdown();
    exec.recorder.flush(Duration::from_secs(1));
    Ok(())
}

/// Draws one frame inside a synchronized update, so the terminal shows it whole.
fn draw(terminal: &mut term::Term, app: &App) -> std::io::Result<()> {
    execute!(std::io::stdout(), terminal::BeginSynchronizedUpdate)?;
    terminal.draw(|f| ui::draw(app, f))?;
    execute!(std::io::stdout(), terminal::EndSynchronizedUpdate)?;
    Ok(())
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
    /// A run asked for before Python was found; it starts when it is.
    pending: Option<usize>,
    clients: HashMap<usize, Client>,
    tx: mpsc::Sender<Msg>,
    expose: bool,
    consent: Consent,
    recorder: record::recorder::Recorder,
    recordings: Option<record::Store>,
    /// The replay playing, if any.
    player: Option<record::replay::Player>,
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
    fn carry_out(&mut self, effect: Effect, app: &mut App) {
        match effect {
            Effect::Run(slide) => {
                if self.pool.interpreter().is_none() && self.pool.unavailable().is_none() {
                    self.pending = Some(slide);
                    app.notice =
                        Some("starting Python… the demo runs as soon as it is ready".into());
                    return;
                }
                if let Some(why) = self.pool.unavailable() {
                    // No usable Python: the rehearsal's recording stands in.
                    let why = why.to_string();
                    return self.replay(app, slide, false, Some(why));
                }
                self.player = None;
                let command = protocol::run_command(&app.deck, slide, self.expose);
                let started = Instant::now();
                let result = self.pool.run(&command);
                if let Ok(id) = &result {
                    let meta = record::recorder::Meta::new(
                        &app.deck,
                        slide,
                        self.pool.interpreter(),
                        "presenter",
                    );
                    self.recorder.begin(*id, meta, started);
                }
                app.notice = None;
                for e in app.update(Msg::RunStarted { slide, result }) {
                    self.carry_out(e, app);
                }
            }
            Effect::Approve => {
                if let Some(why) = self.consent.approve(&app.deck) {
                    app.notice = Some(why);
                }
            }
            Effect::Replay { slide, force } => self.replay(app, slide, force, None),
            Effect::Stop => {
                self.pending = None;
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
                let tx = self.tx.clone();
                let sink: ClientSink = Arc::new(move |id, ev| {
                    let _ = tx.send(Msg::Client(id, ev));
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
                    let _ = c.send_eof();
                }
            }
            Effect::ClientClose { id } => {
                self.clients.remove(&id);
            }
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
        let tx = self.tx.clone();
        let sink: crate::kernel::process::Sink = Arc::new(move |id, m| {
            let _ = tx.send(Msg::Kernel(KernelMsg::Child(id, m)));
        });
        match record::replay::stage(self.recordings.as_ref(), &app.deck, slide, force, sink) {
            record::replay::Stage::Play(player, label) => {
                app.notice = None;
                let id = player.id;
                self.player = Some(player);
                let effects = app.update(Msg::RunStarted {
                    slide,
                    result: Ok(id),
                });
                if let Some(out) = app.outputs.get_mut(&slide) {
                    out.replay = Some(label);
                }
                for e in effects {
                    self.carry_out(e, app);
                }
            }
            record::replay::Stage::Offer(warning) => {
                app.notice = Some(warning);
                app.replay_offer = Some(slide);
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
        let Some(out) = app.outputs.values_mut().find(|o| o.child == id) else {
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
                    out.note(
                        crate::app::output::Source::Info,
                        &format!(
                            "the run recorded {} can stand in: R plays it",
                            rec.header.date
                        ),
                    );
                }
            }
        }
    }
}

fn spawn_input(tx: mpsc::Sender<Msg>) {
    std::thread::spawn(move || loop {
        let msg = match event::read() {
            Ok(TermEvent::Key(k)) if k.kind != KeyEventKind::Release => Msg::Key(k),
            Ok(TermEvent::Resize(w, h)) => Msg::Resize(w, h),
            Ok(_) => continue,
            Err(_) => Msg::Terminate,
        };
        if tx.send(msg).is_err() {
            break;
        }
    });
}

fn spawn_signals(tx: mpsc::Sender<Msg>) -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGHUP, SIGINT])?;
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            let _ = tx.send(Msg::Terminate);
        }
    });
    Ok(())
}
