//! The interpreters the presenter owns: one warm spare (trio already imported, so a key press
//! starts a demo without paying interpreter start-up), at most one current run, and the
//! prepared run of the slide on screen. Finding the interpreter (and provisioning trio) happens
//! on a background thread.
//!
//! A prepared run is the spare, handed the slide's `prepare` while the speaker talks: it does
//! the set-up and compiles the slide's code, shows nothing, and waits for `go`. `r` then only
//! sends `go` (when the run asked for is exactly the one prepared). A new spare is warmed beside
//! it at once, so that a console, edited code or the next exec slide never waits for Python.
//! Leaving the slide kills the prepared run: an interpreter that did one slide's set-up never
//! runs another's.

use std::path::PathBuf;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use super::process::{ChildMsg, Interp, Sink};
use super::protocol::{self, Command};
use super::python::{self, Interpreter};

/// How long a stopped demo gets to end gracefully before its process group is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(1);

/// The longest the pool waits for a spare being spawned (a fork and an exec).
const SPAWN_WAIT: Duration = Duration::from_secs(2);

/// Everything the kernel tells the app.
#[derive(Debug, Clone, PartialEq)]
pub enum KernelMsg {
    /// A message from interpreter `id`.
    Child(u64, ChildMsg),
    /// A progress line while the interpreter is found or trio is installed.
    Progress(String),
    /// The interpreter is known (or why there is none).
    Resolved(Result<Arc<Interpreter>, String>),
}

/// The spare and the current run.
pub struct Pool {
    interpreter: Option<Arc<Interpreter>>,
    /// Why there is no interpreter, once resolving failed.
    unavailable: Option<String>,
    spare: Option<Interp>,
    /// The next spare while it is being spawned, by its id. Spawning forks the presenter, and
    /// a fork copies the page tables of the whole process (milliseconds once a run's output or
    /// the web view's viewers fill it), so spares are spawned off the loop: a key pressed
    /// meanwhile is answered at once.
    pending: Option<(u64, mpsc::Receiver<Interp>)>,
    /// The spare, prepared for this `run` command (see the module docs).
    prepared: Option<(Command, Interp)>,
    /// A `run` whose prepared interpreter died before `go` (its set-up exits, say): it is not
    /// prepared again, or the pool would start interpreters in a loop.
    failed_prepare: Option<Command>,
    current: Option<Interp>,
    /// The console's interpreter (see `app::console`), beside any run.
    console: Option<Interp>,
    next_id: u64,
    /// Spares that died before saying `ready`, in a row; stop re-spawning after a few.
    spare_failures: u32,
    spare_ready: bool,
    send: Arc<dyn Fn(KernelMsg) + Send + Sync>,
}

impl Pool {
    pub fn new(send: Arc<dyn Fn(KernelMsg) + Send + Sync>) -> Pool {
        Pool {
            interpreter: None,
            unavailable: None,
            spare: None,
            pending: None,
            prepared: None,
            failed_prepare: None,
            current: None,
            console: None,
            next_id: 1,
            spare_failures: 0,
            spare_ready: false,
            send,
        }
    }

    /// Finds the interpreter on a background thread; the answer arrives as
    /// [`KernelMsg::Resolved`]: at once when the one found last time still holds, and again
    /// if its verification disagrees (see [`python::known`]).
    pub fn resolve_in_background(&self, python_cli: Option<PathBuf>) {
        let send = self.send.clone();
        std::thread::spawn(move || {
            let choice = python::choose_python(python_cli.as_deref());
            let mut progress = |line: &str| send(KernelMsg::Progress(line.to_string()));
            let mut answer = |result: Result<python::Interpreter, python::PythonError>| {
                send(KernelMsg::Resolved(
                    result.map(Arc::new).map_err(|e| e.to_string()),
                ))
            };
            python::known::resolve_remembered(
                &python::cache_dir(),
                &python::known::file(),
                &choice,
                python::known::VERIFY_AFTER,
                &mut progress,
                &mut answer,
            );
        });
    }

    /// Takes the resolver's answer and warms a spare.
    pub fn set_interpreter(&mut self, result: Result<Arc<Interpreter>, String>) {
        match result {
            Ok(i) => {
                // A verification replaced the remembered interpreter: its spare (prepared or
                // not) is stale.
                if self.interpreter.as_ref().is_some_and(|old| *old != i) {
                    self.collect(true);
                    if let Some(s) = self.spare.take() {
                        s.kill();
                    }
                    if let Some((_, p)) = self.prepared.take() {
                        p.kill();
                    }
                }
                self.interpreter = Some(i);
                self.unavailable = None;
                self.warm();
            }
            Err(e) => self.unavailable = Some(e),
        }
    }

    pub fn interpreter(&self) -> Option<&Interpreter> {
        self.interpreter.as_deref()
    }

    /// Why runs cannot start, if they cannot.
    pub fn unavailable(&self) -> Option<&str> {
        self.unavailable.as_deref()
    }

    fn sink(&self) -> Sink {
        let send = self.send.clone();
        Arc::new(move |id, msg| send(KernelMsg::Child(id, msg)))
    }

    fn spawn(&mut self) -> Result<Interp, String> {
        let interp = self
            .interpreter
            .clone()
            .ok_or_else(|| "Python is not ready yet".to_string())?;
        let id = self.next_id;
        self.next_id += 1;
        Interp::spawn(&interp, id, self.sink())
            .map_err(|e| format!("cannot start {}: {e}", interp.path.display()))
    }

    /// Starts a spare interpreter, on a thread of its own, if there is none.
    pub fn warm(&mut self) {
        self.collect(false);
        if self.spare.is_some() || self.pending.is_some() || self.spare_failures >= 3 {
            return;
        }
        let Some(interp) = self.interpreter.clone() else {
            return;
        };
        let id = self.next_id;
        self.next_id += 1;
        let (tx, rx) = mpsc::channel();
        let sink = self.sink();
        let spawned = std::thread::Builder::new()
            .name("spawn-spare".into())
            .spawn(move || {
                // A failed spawn sends nothing: there is no spare, as before.
                if let Ok(spare) = Interp::spawn(&interp, id, sink) {
                    // The pool may be gone (the presenter quits): the spare must not outlive it.
                    if let Err(mpsc::SendError(spare)) = tx.send(spare) {
                        spare.kill();
                    }
                }
            });
        if spawned.is_ok() {
            self.pending = Some((id, rx));
            self.spare_ready = false;
        }
    }

    /// Takes the spare being spawned into `spare` once it is there; `wait`: waits for the
    /// spawn to end (a fork and an exec: milliseconds) instead of looking only.
    fn collect(&mut self, wait: bool) {
        let Some((_, rx)) = &self.pending else {
            return;
        };
        let got = if wait {
            // (A spawn that hangs is given up: its spare is killed when it sends it.)
            rx.recv_timeout(SPAWN_WAIT)
                .map_err(|_| mpsc::TryRecvError::Disconnected)
        } else {
            rx.try_recv()
        };
        match got {
            Ok(spare) => {
                self.pending = None;
                self.spare = Some(spare);
            }
            Err(mpsc::TryRecvError::Disconnected) => self.pending = None, // the spawn failed
            Err(mpsc::TryRecvError::Empty) => {}
        }
    }

    /// The spare (waiting for one being spawned), if it is alive.
    fn take_spare(&mut self) -> Option<Interp> {
        self.collect(true);
        self.spare.take().filter(|s| !s.has_exited())
    }

    /// Collects the spare being spawned if `id` is its id: interpreter `id` spoke, so its
    /// spawn has returned.
    fn collect_if(&mut self, id: u64) {
        if self.pending.as_ref().is_some_and(|(p, _)| *p == id) {
            self.collect(true);
        }
    }

    /// Starts a run; returns the id of the interpreter running it. Any current run is killed.
    pub fn run(&mut self, command: &Command) -> Result<u64, String> {
        if let Some(why) = &self.unavailable {
            return Err(why.clone());
        }
        if let Some(old) = self.current.take() {
            old.kill();
            // Re-running a server demo must find its port free: the old process has to be
            // gone (its sockets closed) before the new one binds.
            old.wait_exited(Duration::from_millis(500));
        }
        let interp = match self.prepared.take() {
            Some((prepared, p)) if prepared == *command && !p.has_exited() => {
                p.send(&Command::Go);
                p
            }
            stale => {
                if let Some((_, p)) = stale {
                    p.kill();
                }
                let interp = match self.take_spare() {
                    Some(s) => s,
                    None => self.spawn()?,
                };
                interp.send(command);
                interp
            }
        };
        let id = interp.id;
        self.current = Some(interp);
        Ok(id)
    }

    /// Prepares `run` on the spare (None: the slide on screen has nothing to prepare). A
    /// prepared run of other code is killed and a fresh spare warmed. Only a spare that said
    /// `ready` is prepared: it reads its commands, so a long `prepare` never blocks the caller
    /// on a full pipe. Does nothing while runs cannot start.
    pub fn prepare(&mut self, run: Option<&Command>) {
        if self.prepared.as_ref().map(|(c, _)| c) == run {
            return;
        }
        if let Some((_, p)) = self.prepared.take() {
            p.kill();
            self.warm();
        }
        let Some(run) = run else { return };
        if self.unavailable.is_some() || self.failed_prepare.as_ref() == Some(run) {
            return;
        }
        let Some(prepare) = protocol::prepared(run) else {
            return;
        };
        self.collect(false);
        if !self.spare_ready || self.spare.as_ref().is_none_or(|s| s.has_exited()) {
            return;
        }
        if let Some(spare) = self.spare.take() {
            self.spare_ready = false;
            spare.send(&prepare);
            self.prepared = Some((run.clone(), spare));
            // A spare beside the prepared run: the console, edited code and the next exec slide
            // then start warm too. (It is the spare the end of the run would start anyway.)
            self.warm();
        }
    }

    /// The slide of the prepared run, if there is one.
    pub fn prepared_for(&self) -> Option<usize> {
        match &self.prepared {
            Some((Command::Run { slide, .. }, _)) => Some(*slide),
            _ => None,
        }
    }

    /// Starts a console on the spare (the `console` command); an older console ends.
    pub fn open_console(&mut self, command: &Command) -> Result<u64, String> {
        if let Some(why) = &self.unavailable {
            return Err(why.clone());
        }
        self.close_console();
        let interp = match self.take_spare() {
            Some(s) => s,
            None => self.spawn()?,
        };
        interp.send(command);
        let id = interp.id;
        self.console = Some(interp);
        self.warm();
        Ok(id)
    }

    /// Sends a command (`eval`, `cancel`, `complete`) to the console's interpreter.
    pub fn console_send(&self, command: &Command) {
        if let Some(c) = &self.console {
            c.send(command);
        }
    }

    /// Ends the console's interpreter and everything it started.
    pub fn close_console(&mut self) {
        if let Some(c) = self.console.take() {
            c.kill();
        }
    }

    /// The id of the interpreter running the current demo.
    pub fn current(&self) -> Option<u64> {
        self.current.as_ref().map(|c| c.id)
    }

    /// Sends `bytes` to the current run's stdin; says why not when there is no run to take
    /// them or it closed its input.
    pub fn send_input(&self, bytes: &[u8]) -> Result<(), String> {
        let current = self.current.as_ref().ok_or("no demo is running")?;
        current
            .send_input(bytes)
            .map_err(|e| format!("the demo does not take input: {e}"))
    }

    /// Closes the current run's stdin (end of file).
    pub fn close_input(&self) {
        if let Some(c) = &self.current {
            c.close_input();
        }
    }

    /// Stops the current run (graceful first, SIGKILL after [`STOP_GRACE`]).
    pub fn stop(&mut self) {
        if let Some(c) = &self.current {
            c.stop(STOP_GRACE);
        }
    }

    /// Notes that interpreter `id` exited; warms the next spare after a run.
    pub fn exited(&mut self, id: u64) {
        self.collect_if(id);
        if self.current.as_ref().is_some_and(|c| c.id == id) {
            self.current = None;
            self.warm();
        } else if self.console.as_ref().is_some_and(|c| c.id == id) {
            self.console = None;
        } else if self.prepared.as_ref().is_some_and(|(_, p)| p.id == id) {
            self.failed_prepare = self.prepared.take().map(|(c, _)| c);
            self.warm();
        } else if self.spare.as_ref().is_some_and(|s| s.id == id) {
            self.spare = None;
            if !self.spare_ready {
                self.spare_failures += 1;
            }
            self.warm();
        }
    }

    /// Interpreter `id` reported `ready`: the interpreter works.
    pub fn ready(&mut self, id: u64) {
        self.collect_if(id);
        if self.spare.as_ref().is_some_and(|s| s.id == id) {
            self.spare_failures = 0;
            self.spare_ready = true;
        }
        if self.prepared.as_ref().is_some_and(|(_, p)| p.id == id) {
            self.spare_failures = 0;
        }
    }

    /// Kills every interpreter.
    pub fn shutdown(&mut self) {
        if let Some(c) = self.current.take() {
            c.kill();
        }
        self.collect(true);
        if let Some(s) = self.spare.take() {
            s.kill();
        }
        if let Some((_, p)) = self.prepared.take() {
            p.kill();
        }
        self.close_console();
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shutdown();
    }
}
