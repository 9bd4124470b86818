//! The app state and its update function (the Elm architecture): every input — keys, resizes,
//! ticks, kernel events, deck reloads — arrives as a [`Msg`]; [`App::update`] changes the state
//! and returns [`Effect`]s (start a run, stop it, quit) for the event loop to carry out. The UI
//! draws from `&App` only.

pub mod clients;
pub mod consent;
pub mod console;
pub mod edit;
pub mod editor;
pub mod keys;
pub mod language;
pub mod output;
pub mod overview;
mod remote;
pub mod sanitize;
pub mod stdin;
pub mod tasks;
pub mod timer;
pub mod tree;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use ratatui::crossterm::event::KeyEvent;

use crate::consent::Gate;
use crate::deck::Deck;
use crate::kernel::pool::KernelMsg;
use crate::kernel::process::ChildMsg;
use crate::kernel::protocol::Event;
use crate::render::{layout_slide, SlideLayout};
use crate::theme::Theme;
use keys::Action;
use output::{RunOutput, RunStatus, Source};

/// Slide layouts kept at most (a 57-slide deck at two widths fits).
pub const LAYOUT_CACHE_MAX: usize = 128;

/// An input to the app.
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Resize(u16, u16),
    /// Time passed; carries the talk clock and the time since the current run started.
    Tick {
        talk: Duration,
    },
    Kernel(KernelMsg),
    /// The loop started the run that [`Effect::Run`] asked for (or could not).
    RunStarted {
        slide: usize,
        result: Result<u64, String>,
    },
    /// The deck file changed on disk and was re-read.
    DeckReloaded(Result<Deck, String>),
    /// SIGTERM/SIGHUP: leave now.
    Terminate,
    /// A one-line message for the status bar from outside the app (a recording not saved).
    Notice(String),
    /// The loop's settings at start-up: flags, the config file, the talk's languages.
    Configure(Box<Startup>),
    /// Whether code may run changed (consent given, the deck's code edited).
    Gate(Gate),
    /// Python is still being found: the run of `slide` starts as soon as it is ready (unless
    /// the speaker stops it or leaves the slide first).
    RunQueued(usize),
    /// The loop started playing a recording of `slide` as run `id`, recorded `label`.
    ReplayStarted {
        slide: usize,
        id: u64,
        label: String,
    },
    /// Only a recording of other code exists for `slide`: `R` again plays it anyway.
    ReplayOffered {
        slide: usize,
        warning: String,
    },
    /// The failed live run `id` has a good recording of the same code that can stand in.
    RecordingAvailable {
        id: u64,
        date: String,
    },
    /// The web view's status line changed (its URL and how many watch).
    Shared(String),
    /// Something happened on built-in client `id`.
    Client(usize, crate::net::ClientEvent),
    /// A speaker window asked for something (see [`crate::speaker`]).
    Remote(crate::speaker::protocol::Cmd),
    /// The loop started the console of `slide` (see [`console`]), with the deck's history.
    ConsoleStarted {
        slide: usize,
        result: Result<u64, String>,
        history: Vec<String>,
    },
    /// `$EDITOR` closed on block `block` of slide `slide`: its text, or why there is none.
    ExternalEdited {
        slide: usize,
        block: usize,
        result: Result<String, String>,
    },
}

/// What the loop knows at start-up and the app needs (see [`Msg::Configure`]).
#[derive(Debug, Clone, Default)]
pub struct Startup {
    pub expose: bool,
    pub offline: bool,
    pub no_exec: bool,
    pub duration: Option<Duration>,
    pub keymap: keys::Keymap,
    pub translations: Vec<Deck>,
    /// Problems loading translations; the first goes to the status bar.
    pub warnings: Vec<String>,
    /// `--share`: the web view's URL.
    pub share: Option<String>,
    pub gate: Gate,
}

/// Something for the loop to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Run(usize),
    /// Play the slide's recording instead of running it (`force`: even one of other code).
    Replay {
        slide: usize,
        force: bool,
    },
    /// Remember that this user approved the deck's code (the consent prompt's `y`).
    Approve,
    Stop,
    Quit,
    /// Open built-in client `id` to `addr` (host:port).
    Connect {
        id: usize,
        addr: String,
    },
    ClientSend {
        id: usize,
        bytes: Vec<u8>,
    },
    ClientEof {
        id: usize,
    },
    ClientClose {
        id: usize,
    },
    /// Suspend the presenter and edit `code` in `$EDITOR` (answered by [`Msg::ExternalEdited`]).
    ExternalEdit {
        slide: usize,
        block: usize,
        code: String,
    },
    /// Write the edited block into the deck file (see [`edit::write_back`]).
    WriteBack {
        slide: usize,
        block: usize,
        code: String,
    },
    /// Bytes typed into the running demo's stdin; then its end of file (Ctrl-d).
    Input(Vec<u8>),
    InputEof,
    /// The console (see [`console`]): start it on a slide, run an input, complete a name,
    /// cancel the running command, end it; remember an input in the deck's history.
    ConsoleOpen(usize),
    ConsoleEval(String),
    ConsoleComplete(String),
    ConsoleCancel,
    ConsoleClose,
    ConsoleHistory(String),
}

/// Where the interpreter stands, for the status bar and for messages.
#[derive(Debug, Clone, PartialEq)]
pub enum KernelState {
    Resolving(String),
    Ready {
        python: String,
        trio: String,
    },
    Unavailable(String),
    /// No interpreter is looked for (a still frame from `render`): nothing to say about one.
    NotLooked,
}

/// The whole state of the presenter.
pub struct App {
    pub deck: Deck,
    pub theme: Theme,
    /// Key bindings: the defaults with the config file's changes.
    pub keymap: keys::Keymap,
    /// 0-based index of the slide shown.
    pub current: usize,
    /// Rows the current slide is scrolled down by.
    pub scroll: u16,
    pub help: bool,
    /// Digits typed towards a jump.
    pub typed: String,
    pub talk_clock: Duration,
    /// A transient message for the status line (reload problems, run refusals).
    pub notice: Option<String>,
    /// The latest run of each slide, kept for the session.
    pub outputs: HashMap<usize, RunOutput>,
    /// The slide whose run is in progress.
    pub running: Option<usize>,
    pub kernel: KernelState,
    pub show_times: bool,
    /// The task tree beside the output (`T`), and the timeline (`v`).
    pub show_tree: bool,
    pub show_timeline: bool,
    /// Lines the output pane is scrolled up from the newest (0 = follow).
    pub output_scroll: usize,
    pub quit: bool,
    /// Built-in clients of the demo on `clients_slide`, and the one typed into, if any.
    pub clients: Vec<clients::ClientPane>,
    pub clients_slide: usize,
    pub client_focus: Option<usize>,
    next_client: usize,
    /// Whether demo servers may listen beyond loopback (`--expose`), for the status bar.
    pub expose: bool,
    /// Whether code may run: allowed, ask first, or switched off (`--no-exec`).
    pub gate: Gate,
    /// The consent prompt, while it is open.
    pub consent: Option<consent::ConsentPrompt>,
    /// `--offline`: exec slides play their recordings, nothing runs live.
    pub offline: bool,
    /// The slide whose recording of changed code was offered (`R` again plays it).
    pub replay_offer: Option<usize>,
    /// The audience screen is blanked (`b`, `.`).
    pub blank: bool,
    /// The overview (`o`, `/`), while it is open.
    pub overview: Option<overview::Overview>,
    /// The talk timer (pause and reset keys) and the planned length (`--duration`).
    pub timer: timer::Timer,
    pub duration: Option<Duration>,
    /// The talk's languages (`L` switches; see [`language`]).
    pub languages: language::Languages,
    /// The talk clock on the audience status bar (`C` hides it or shows it again).
    pub show_clock: bool,
    /// A run asked for before Python was found (see [`Msg::RunQueued`]).
    pub queued: Option<usize>,
    /// The speaker's scratch copies of blocks (see [`edit`]), the block editor while it is
    /// open, and the picked block: (slide, index among its runnable blocks).
    pub edits: HashMap<edit::BlockKey, String>,
    pub editor: Option<editor::Editor>,
    pub pick: Option<edit::BlockKey>,
    /// Keys go to the running demo's stdin (`i`), and the line typed so far.
    pub stdin_focus: bool,
    pub stdin_line: String,
    /// The web view's URL (and viewer count) while `--share` serves it, for the status bar.
    pub share: Option<String>,
    /// The trio console (`>`), whether keys go to it, and the slide whose console waits for
    /// the consent prompt.
    pub console: Option<console::Console>,
    pub console_focus: bool,
    pub console_asked: Option<usize>,
    /// Memoised layouts by (slide index, width), at most [`LAYOUT_CACHE_MAX`]; cleared when the
    /// deck changes.
    layouts: RefCell<HashMap<(usize, u16), Rc<SlideLayout>>>,
}

impl App {
    pub fn new(deck: Deck, theme: Theme, start_slide: usize) -> App {
        let current = start_slide.saturating_sub(1).min(deck.slides.len() - 1);
        let notice = deck.warnings.first().cloned();
        App {
            deck,
            theme,
            keymap: keys::Keymap::default(),
            current,
            scroll: 0,
            help: false,
            typed: String::new(),
            talk_clock: Duration::ZERO,
            notice,
            outputs: HashMap::new(),
            running: None,
            kernel: KernelState::Resolving("finding Python…".into()),
            show_times: true,
            show_tree: true,
            show_timeline: false,
            output_scroll: 0,
            quit: false,
            clients: Vec::new(),
            clients_slide: 0,
            client_focus: None,
            next_client: 1,
            expose: false,
            gate: Gate::Allowed,
            consent: None,
            offline: false,
            replay_offer: None,
            blank: false,
            overview: None,
            timer: timer::Timer::running(Duration::ZERO),
            duration: None,
            languages: language::Languages::default(),
            show_clock: true,
            queued: None,
            edits: HashMap::new(),
            editor: None,
            pick: None,
            stdin_focus: false,
            stdin_line: String::new(),
            share: None,
            console: None,
            console_focus: false,
            console_asked: None,
            layouts: RefCell::new(HashMap::new()),
        }
    }

    /// 1-based number of the slide shown.
    pub fn slide_number(&self) -> usize {
        self.current + 1
    }

    /// The layout of slide `index` at `width`, computed once.
    pub fn layout(&self, index: usize, width: u16) -> Rc<SlideLayout> {
        let mut cache = self.layouts.borrow_mut();
        if cache.len() >= LAYOUT_CACHE_MAX && !cache.contains_key(&(index, width)) {
            // Dragging a window's edge makes a new width per frame: keep only the width in
            // use (and forget everything if one width alone fills the cache).
            cache.retain(|(_, w), _| *w == width);
            if cache.len() >= LAYOUT_CACHE_MAX {
                cache.clear();
            }
        }
        cache
            .entry((index, width))
            .or_insert_with(|| {
                let slide = edit::shown_slide(&self.deck, &self.edits, index);
                let mut layout = layout_slide(&slide, width, &self.theme);
                self.mark_picked(index, &mut layout);
                Rc::new(layout)
            })
            .clone()
    }

    /// Takes the loop's start-up settings (see [`Msg::Configure`]).
    fn configure(&mut self, s: Startup) {
        self.expose = s.expose;
        self.duration = s.duration;
        self.keymap = s.keymap;
        self.languages = language::Languages::new(&self.deck, s.translations);
        if let Some(w) = s.warnings.into_iter().next() {
            self.notice = Some(w);
        }
        self.gate = s.gate;
        self.share = s.share;
        if s.no_exec {
            self.kernel = KernelState::Unavailable("running code is off (--no-exec)".into());
        }
        if s.offline {
            self.offline = true;
            self.kernel = KernelState::Unavailable(
                "offline (--offline): exec slides play their recordings".into(),
            );
        }
    }

    /// Puts the whole deck in place of the one opened in parts (see [`Deck::open`]): the same
    /// first slides and the others after them, with the warnings only the whole could give
    /// (an unclosed fence further on).
    pub fn complete_deck(&mut self, deck: Deck) {
        if self.notice.is_none() {
            self.notice = deck.warnings.first().cloned();
        }
        self.deck = deck;
        self.layouts.borrow_mut().clear();
    }

    /// How many layouts are cached (for tests of the bound).
    pub fn cached_layouts(&self) -> usize {
        self.layouts.borrow().len()
    }

    /// The output shown on the current slide, if it was run.
    pub fn current_output(&self) -> Option<&RunOutput> {
        self.outputs.get(&self.slide_number())
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            // Esc then a key, typed quickly, reaches us as Alt+key: leave the client pane and
            // let the key act on the slides, as if the two had come apart.
            Msg::Key(mut key)
                if self.client_focus.is_some()
                    && key
                        .modifiers
                        .contains(ratatui::crossterm::event::KeyModifiers::ALT) =>
            {
                self.client_focus = None;
                key.modifiers
                    .remove(ratatui::crossterm::event::KeyModifiers::ALT);
                self.update(Msg::Key(key))
            }
            Msg::Key(key) if self.consent.is_some() => self.consent_key(key),
            Msg::Key(key) if self.overview.is_some() => self.overview_key(key),
            Msg::Key(key) if self.editor.is_some() => self.editor_key(key),
            Msg::Key(key) if self.console_focus && !self.help => self.console_key(key),
            Msg::Key(key) if self.stdin_focus && !self.help => self.stdin_key(key),
            Msg::Key(key) if self.client_focus.is_some() && !self.help => self.client_key(key),
            Msg::Key(key) => match self.keymap.action(key) {
                Some(action) => self.act(action),
                None => vec![],
            },
            Msg::Client(id, ev) => {
                if let Some(p) = self.clients.iter_mut().find(|p| p.id == id) {
                    p.apply(ev);
                }
                vec![]
            }
            Msg::Remote(cmd) => self.remote(cmd),
            Msg::ConsoleStarted {
                slide,
                result,
                history,
            } => self.console_started(slide, result, history),
            Msg::ExternalEdited {
                slide,
                block,
                result,
            } => self.external_edited(slide, block, result),
            Msg::Resize(..) => vec![],
            Msg::Tick { talk } => {
                self.talk_clock = talk;
                if let Some(out) = self.running.and_then(|s| self.outputs.get_mut(&s)) {
                    if !out.status.is_over() {
                        out.wall = talk.saturating_sub(out.started_at).as_secs_f64();
                    }
                }
                vec![]
            }
            Msg::Kernel(k) => {
                let resolved = matches!(k, KernelMsg::Resolved(_));
                self.kernel_msg(k);
                // A run asked for while Python was being found starts now, unless the speaker
                // has left that slide meanwhile.
                let slide = self.slide_number();
                match self.queued.take() {
                    Some(queued) if resolved && queued == slide => vec![Effect::Run(slide)],
                    Some(queued) if !resolved => {
                        self.queued = Some(queued);
                        vec![]
                    }
                    _ => vec![],
                }
            }
            Msg::RunStarted { slide, result } => {
                let mut effects = vec![];
                match result {
                    Ok(child) => {
                        self.notice = None;
                        effects.extend(self.close_clients());
                        let mut out = RunOutput::new(slide, child);
                        out.started_at = self.talk_clock;
                        if let Some(old) = self.outputs.insert(slide, out) {
                            old.discard();
                        }
                        self.running = Some(slide);
                        self.output_scroll = 0;
                    }
                    Err(why) => {
                        let mut out = RunOutput::new(slide, 0);
                        out.note(Source::Error, &format!("cannot run: {why}"));
                        out.status = RunStatus::Error;
                        self.outputs.insert(slide, out);
                    }
                }
                effects
            }
            Msg::DeckReloaded(Ok(deck)) if self.reload_other_language(&deck) => vec![],
            Msg::DeckReloaded(Ok(deck)) => {
                self.deck = deck;
                // The code may have changed under an open question: ask about the new code.
                self.consent = None;
                self.layouts.borrow_mut().clear();
                self.current = self.current.min(self.deck.slides.len() - 1);
                self.notice = self.deck.warnings.first().cloned();
                self.reconcile_edits();
                vec![]
            }
            Msg::DeckReloaded(Err(why)) => {
                self.notice = Some(format!("reload failed, showing the last good deck: {why}"));
                vec![]
            }
            Msg::Notice(text) => {
                self.notice = Some(text);
                vec![]
            }
            Msg::Configure(startup) => {
                self.configure(*startup);
                vec![]
            }
            Msg::Gate(gate) => {
                self.gate = gate;
                vec![]
            }
            Msg::Shared(label) => {
                self.share = Some(label);
                vec![]
            }
            Msg::RunQueued(slide) => {
                self.queued = Some(slide);
                self.notice = Some("starting Python… the demo runs as soon as it is ready".into());
                vec![]
            }
            Msg::ReplayStarted { slide, id, label } => {
                let effects = self.update(Msg::RunStarted {
                    slide,
                    result: Ok(id),
                });
                if let Some(out) = self.outputs.get_mut(&slide) {
                    out.replay = Some(label);
                }
                effects
            }
            Msg::ReplayOffered { slide, warning } => {
                // (Offline was the speaker's own choice: no need to say it again.)
                self.notice = Some(match &self.kernel {
                    KernelState::Unavailable(why) if !self.offline => format!("{why}; {warning}"),
                    _ => warning,
                });
                self.replay_offer = Some(slide);
                vec![]
            }
            Msg::RecordingAvailable { id, date } => {
                if let Some(out) = self.outputs.values_mut().find(|o| o.child == id) {
                    out.note(
                        Source::Info,
                        &format!("the run recorded {date} can stand in: R plays it"),
                    );
                }
                vec![]
            }
            Msg::Terminate => {
                self.quit = true;
                vec![Effect::Quit]
            }
        }
    }

    fn act(&mut self, action: Action) -> Vec<Effect> {
        if !matches!(action, Action::Digit(_) | Action::Enter) {
            self.typed.clear();
        }
        if self.help && !matches!(action, Action::Quit | Action::Interrupt) {
            self.help = false;
            if matches!(action, Action::ToggleHelp | Action::Escape) {
                return vec![];
            }
        }
        match action {
            Action::Next => self.go(self.current + 1),
            Action::Prev => self.go(self.current.saturating_sub(1)),
            Action::First => self.go(0),
            Action::Last => self.go(self.deck.slides.len() - 1),
            Action::Digit(d) => {
                if self.typed.len() < 6 {
                    self.typed.push((b'0' + d) as char);
                }
                vec![]
            }
            Action::Enter => {
                let typed = std::mem::take(&mut self.typed);
                match typed.parse::<usize>() {
                    Ok(n) if (1..=self.deck.slides.len()).contains(&n) => self.go(n - 1),
                    Ok(n) => {
                        self.notice = Some(format!(
                            "no slide {n}: the deck has {}",
                            self.deck.slides.len()
                        ));
                        vec![]
                    }
                    Err(_) if self.deck.slides[self.current].is_exec() => self.run(),
                    Err(_) => vec![],
                }
            }
            Action::ScrollDown => {
                self.scroll = self.scroll.saturating_add(1);
                vec![]
            }
            Action::ScrollUp => {
                self.scroll = self.scroll.saturating_sub(1);
                vec![]
            }
            Action::OutputUp => {
                self.output_scroll += 5;
                vec![]
            }
            Action::OutputDown => {
                self.output_scroll = self.output_scroll.saturating_sub(5);
                vec![]
            }
            Action::Run => self.run(),
            Action::Replay => self.replay_key(),
            Action::Escape if self.console.is_some() && !self.is_running() => self.close_console(),
            Action::Escape => self.stop(),
            Action::Interrupt => {
                if self.is_running() {
                    self.stop()
                } else {
                    self.quit = true;
                    vec![Effect::Quit]
                }
            }
            Action::ToggleHelp => {
                self.help = true;
                vec![]
            }
            Action::ToggleTimes => {
                self.show_times = !self.show_times;
                vec![]
            }
            Action::ToggleTree => {
                self.show_tree = !self.show_tree;
                vec![]
            }
            Action::ToggleTimeline => {
                self.show_timeline = !self.show_timeline;
                vec![]
            }
            Action::Quit => {
                self.quit = true;
                vec![Effect::Quit]
            }
            Action::Blank | Action::Overview | Action::Search => self.speaker_action(action),
            Action::TimerPause | Action::TimerReset => self.speaker_action(action),
            Action::Language => self.switch_language(),
            Action::ToggleClock => {
                self.show_clock = !self.show_clock;
                vec![]
            }
            Action::OpenClient => self.open_client(),
            Action::Edit | Action::EditExternal | Action::Revert | Action::WriteBack => {
                self.edit_action(action)
            }
            Action::PickNext | Action::PickPrev => self.edit_action(action),
            Action::FocusInput => self.focus_input(),
            Action::Console => self.console_action(),
            Action::FocusClients => {
                if self.clients.is_empty() || self.clients_slide != self.slide_number() {
                    self.notice = Some("no client open: c opens one".into());
                } else {
                    self.client_focus = Some(self.client_focus.unwrap_or(0));
                }
                vec![]
            }
        }
    }

    /// The address a new client should connect to: the current run's first listener, with a
    /// wildcard host replaced by loopback.
    pub fn client_target(&self) -> Option<String> {
        let out = self.current_output()?;
        let (host, port) = out
            .listeners
            .iter()
            .find(|(h, _)| !h.contains(':'))
            .or(out.listeners.first())?;
        let host = match host.as_str() {
            "0.0.0.0" | "" => "127.0.0.1",
            "::" => "::1",
            h => h,
        };
        Some(if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        })
    }

    fn open_client(&mut self) -> Vec<Effect> {
        let Some(addr) = self.client_target() else {
            self.notice = Some("no listening socket on this slide: run an echo-server demo".into());
            return vec![];
        };
        if self.clients_slide != self.slide_number() {
            self.clients.clear();
            self.clients_slide = self.slide_number();
        }
        let id = self.next_client;
        self.next_client += 1;
        self.clients
            .push(clients::ClientPane::new(id, addr.clone()));
        self.client_focus = Some(self.clients.len() - 1);
        vec![Effect::Connect { id, addr }]
    }

    /// Closes every client (a new run, leaving the slide).
    fn close_clients(&mut self) -> Vec<Effect> {
        self.client_focus = None;
        self.clients
            .drain(..)
            .map(|p| Effect::ClientClose { id: p.id })
            .collect()
    }

    fn client_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let Some(i) = self.client_focus.filter(|i| *i < self.clients.len()) else {
            self.client_focus = None;
            return vec![];
        };
        let pane = &mut self.clients[i];
        let id = pane.id;
        match clients::key(pane, key) {
            clients::ClientKey::Edited => vec![],
            clients::ClientKey::Send(bytes) => vec![Effect::ClientSend { id, bytes }],
            clients::ClientKey::Eof => {
                if pane.state.is_open() {
                    pane.state = clients::ConnState::HalfClosed;
                }
                vec![Effect::ClientEof { id }]
            }
            clients::ClientKey::Close => {
                self.clients.remove(i);
                self.client_focus = if self.clients.is_empty() {
                    None
                } else {
                    Some(i.min(self.clients.len() - 1))
                };
                vec![Effect::ClientClose { id }]
            }
            clients::ClientKey::Next => {
                self.client_focus = Some((i + 1) % self.clients.len());
                vec![]
            }
            clients::ClientKey::Leave => {
                self.client_focus = None;
                vec![]
            }
        }
    }

    /// Whether a demo is running right now.
    pub fn is_running(&self) -> bool {
        self.running
            .and_then(|s| self.outputs.get(&s))
            .is_some_and(|o| !o.status.is_over())
    }

    fn go(&mut self, index: usize) -> Vec<Effect> {
        let index = index.min(self.deck.slides.len() - 1);
        if index == self.current {
            return vec![];
        }
        self.current = index;
        self.scroll = 0;
        self.output_scroll = 0;
        let mut effects = self.close_clients();
        effects.extend(self.close_console());
        if self.is_running() {
            // Leaving a slide stops its demo; its output stays with the slide.
            self.mark_stop();
            effects.push(Effect::Stop);
        }
        effects
    }

    /// Whether `r` plays the recording: offline, no usable Python, or restarting a replay.
    fn replays(&self) -> bool {
        self.offline
            || matches!(self.kernel, KernelState::Unavailable(_))
            || self.current_output().is_some_and(|o| o.replay.is_some())
    }

    /// `R`: play the recording (after a failed run); on a replay with Python at hand, run live.
    fn replay_key(&mut self) -> Vec<Effect> {
        let slide = self.slide_number();
        if !self.deck.slides[self.current].is_exec() {
            self.notice = Some(format!("slide {slide} has no exec code to play"));
            return vec![];
        }
        let live = !self.offline && !matches!(self.kernel, KernelState::Unavailable(_));
        if live && self.current_output().is_some_and(|o| o.replay.is_some()) {
            return self.run_live();
        }
        let force = self.replay_offer == Some(slide);
        self.replay_offer = None;
        vec![Effect::Replay { slide, force }]
    }

    fn run(&mut self) -> Vec<Effect> {
        let slide = self.slide_number();
        if !self.deck.slides[self.current].is_exec() {
            self.notice = Some(format!("slide {slide} has no exec code to run"));
            return vec![];
        }
        if self.run_is_custom(slide) {
            return self.run_custom();
        }
        if self.replays() {
            // A replay executes nothing, so it needs no consent.
            let force = self.replay_offer == Some(slide);
            self.replay_offer = None;
            return vec![Effect::Replay { slide, force }];
        }
        self.run_live()
    }

    /// Whether the code of `slide` may run now; if not, says why or opens the consent prompt
    /// (then `self.consent` is set).
    pub(crate) fn may_run(&mut self, slide: usize) -> bool {
        match self.gate {
            Gate::Allowed => true,
            Gate::Disabled => {
                self.notice = Some("running code is off (--no-exec)".into());
                false
            }
            Gate::Ask if self.consent_not_needed(slide) => true,
            Gate::Ask => {
                self.help = false;
                self.consent = Some(consent::ConsentPrompt::new(slide));
                false
            }
        }
    }

    /// The slide whose run the loop may prepare now (see [`crate::kernel::pool`]): the one on
    /// screen, when it has code, nothing runs, and `r` would start it live without asking.
    pub fn preparable(&self) -> Option<usize> {
        let slide = self.slide_number();
        let allowed = match self.gate {
            Gate::Allowed => true,
            Gate::Ask => self.consent_not_needed(slide),
            Gate::Disabled => false,
        };
        let has_code = self
            .deck
            .slides
            .get(self.current)
            .is_some_and(|s| s.is_exec());
        let live = !self.replays() || self.run_is_custom(slide);
        (allowed && has_code && live && self.consent.is_none() && !self.is_running())
            .then_some(slide)
    }

    fn run_live(&mut self) -> Vec<Effect> {
        let slide = self.slide_number();
        if !self.may_run(slide) {
            return vec![];
        }
        if let KernelState::Unavailable(why) = &self.kernel {
            self.notice = Some(why.clone());
        }
        vec![Effect::Run(slide)]
    }

    fn consent_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let Some(prompt) = self.consent.as_mut() else {
            return vec![];
        };
        match prompt.key(key) {
            consent::Answer::Stay => vec![],
            consent::Answer::Yes => {
                let slide = prompt.slide;
                self.consent = None;
                self.gate = Gate::Allowed;
                let mut effects = vec![Effect::Approve];
                if self.console_asked.take() == Some(slide) && slide == self.slide_number() {
                    effects.extend(self.console_action());
                } else if slide == self.slide_number() {
                    effects.extend(self.run());
                }
                effects
            }
            consent::Answer::No => {
                self.consent = None;
                self.console_asked = None;
                self.notice = Some("nothing ran: r asks again; --trust skips the question".into());
                vec![]
            }
            consent::Answer::Quit => {
                self.consent = None;
                self.quit = true;
                vec![Effect::Quit]
            }
        }
    }

    fn mark_stop(&mut self) {
        if let Some(out) = self.running.and_then(|s| self.outputs.get_mut(&s)) {
            out.stop_requested = true;
        }
    }

    fn stop(&mut self) -> Vec<Effect> {
        if self.queued.take().is_some() {
            self.notice = Some("the run waiting for Python was cancelled".into());
            return vec![];
        }
        if self.is_running() {
            self.mark_stop();
            return vec![Effect::Stop];
        }
        self.typed.clear();
        vec![]
    }

    fn kernel_msg(&mut self, msg: KernelMsg) {
        match msg {
            KernelMsg::Progress(line) => self.kernel = KernelState::Resolving(line),
            KernelMsg::Resolved(Ok(i)) => {
                self.kernel = KernelState::Ready {
                    python: i.version.clone(),
                    trio: i.trio_version.clone(),
                }
            }
            KernelMsg::Resolved(Err(why)) => self.kernel = KernelState::Unavailable(why),
            KernelMsg::Child(id, msg) => {
                if let ChildMsg::Event(Event::Ready { python, trio, .. }) = &msg {
                    self.kernel = KernelState::Ready {
                        python: python.clone(),
                        trio: trio.clone(),
                    };
                }
                if let Some(c) = self.console.as_mut().filter(|c| c.child == id && id != 0) {
                    c.apply(&msg);
                    return;
                }
                let Some(out) = self.outputs.values_mut().find(|o| o.child == id) else {
                    return;
                };
                out.apply(&msg);
                if out.status.is_over() && self.running == Some(out.slide) {
                    self.running = None;
                    self.stdin_focus = false;
                }
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
