//! `trio-present run`: runs one slide exactly as the presenter would and prints the stream to
//! stdout, one line per output line (`elapsed  task  text`), or the raw events with `--json`.
//! Exit status: 0 ok, 1 error in user code (or the interpreter died), 124 timeout, 130 stopped
//! by SIGINT.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use crate::app::output::{OutLine, RunOutput, RunStatus, Source};
use crate::deck::Deck;
use crate::kernel::drive;
use crate::kernel::process::{ChildMsg, Interp};
use crate::kernel::protocol;
use crate::kernel::python;

/// What `run` was asked to do.
pub struct RunArgs {
    pub slide: usize,
    pub timeout: Option<f64>,
    pub json: bool,
    pub python: Option<PathBuf>,
    pub expose: bool,
    /// Print the slide's recording instead of running it (`--replay`).
    pub replay: bool,
}

/// Where the run's messages come from: a live interpreter, or a recording played back.
enum Feed {
    Live(Interp),
    Replay(crate::record::replay::Player),
}

impl drive::Feed for Feed {
    fn stop(&self) {
        match self {
            Feed::Live(child) => drive::Feed::stop(child),
            Feed::Replay(p) => p.stop(),
        }
    }

    fn kill(&self) {
        if let Feed::Live(child) = self {
            child.kill();
        }
    }
}

/// Says one line about the run (`[run] ...`, or a JSON `run` event).
fn say(w: &mut impl Write, json: bool, text: &str) -> std::io::Result<()> {
    if json {
        writeln!(w, "{}", serde_json::json!({"ev": "run", "text": text}))
    } else {
        writeln!(w, "[run] {text}")
    }
}

/// Starts playing the slide's recording into `tx`; a recording of other code is played with
/// a warning (it was asked for by name), none at all is one line and exit status 1.
fn start_replay(deck: &Deck, args: &RunArgs, tx: mpsc::Sender<ChildMsg>) -> Result<Feed, String> {
    use crate::record::{replay, Found, Store};
    let store = Store::for_user().ok_or("no data directory, so no recordings")?;
    let (rec, warning) = match store.find(deck, args.slide) {
        Found::Exact(rec, _) => (rec, None),
        Found::Other(rec, _) => (
            rec,
            Some(
                "⚠ the slide's code changed since this recording: it shows the old code's run"
                    .to_string(),
            ),
        ),
        Found::None(problems) => {
            let why = problems
                .first()
                .map(|p| format!(" ({p})"))
                .unwrap_or_default();
            return Err(format!(
                "no recording of slide {}{why}; record one with: trio-present run --trust {} --slide {}",
                args.slide,
                deck.path.display(),
                args.slide
            ));
        }
    };
    if let Some(w) = &warning {
        eprintln!("trio-present: {w}");
    }
    let mut notes = vec![replay::intro(&rec)];
    notes.extend(warning);
    let player = replay::Player::start(
        &rec,
        notes,
        Arc::new(move |_, m| {
            let _ = tx.send(m);
        }),
    );
    Ok(Feed::Replay(player))
}

/// Runs the slide and returns the process exit status.
pub fn run(deck: &Deck, args: &RunArgs) -> anyhow::Result<i32> {
    let mut stdout = std::io::stdout().lock();
    let (tx, rx) = mpsc::channel::<ChildMsg>();
    if args.replay {
        let feed = match start_replay(deck, args, tx) {
            Ok(f) => f,
            Err(why) => {
                say(&mut stdout, args.json, &why)?;
                return Ok(1);
            }
        };
        return follow(&mut stdout, args, rx, feed, None);
    }
    let choice = python::choose_python(args.python.as_deref());
    let mut progress = |line: &str| eprintln!("trio-present: {line}");
    let interp = match python::resolve(&choice, &mut progress) {
        Ok(i) => i,
        Err(e) => {
            say(&mut stdout, args.json, &format!("cannot run: {e}"))?;
            return Ok(1);
        }
    };
    // The run is recorded like one in the presenter.
    let recorder = crate::record::recorder::Recorder::new(crate::record::Store::for_user(), |w| {
        eprintln!("trio-present: {w}")
    });
    let tee = recorder.clone();
    let child = Interp::spawn(
        &interp,
        1,
        Arc::new(move |id, m| {
            tee.observe(id, &m);
            let _ = tx.send(m);
        }),
    )?;
    let meta = crate::record::recorder::Meta::new(deck, args.slide, Some(&interp), "run");
    recorder.begin(1, meta, Instant::now());
    // Our stdin is the demo's (a pipe, a file or the terminal): `echo Ada | trio-present run`
    // answers its input(); our end of file is its end of file.
    if let Some(mut to_demo) = child.take_input() {
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut std::io::stdin().lock(), &mut to_demo);
        });
    }
    child.send(&protocol::run_command(deck, args.slide, args.expose));
    follow(&mut stdout, args, rx, Feed::Live(child), Some(&recorder))
}

/// Prints the run's messages until it is over; returns the exit status.
fn follow(
    stdout: &mut impl Write,
    args: &RunArgs,
    rx: mpsc::Receiver<ChildMsg>,
    feed: Feed,
    recorder: Option<&crate::record::recorder::Recorder>,
) -> anyhow::Result<i32> {
    let interrupted = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGINT, interrupted.clone())?;
    signal_hook::flag::register(signal_hook::consts::SIGTERM, interrupted.clone())?;
    let mut out = RunOutput::new(args.slide, 1);
    let mut printed = 0usize;
    // Both the printing and the stop note write to stdout, in order.
    let stdout = std::cell::RefCell::new(stdout);
    let ended = drive::drive(
        |wait| drive::from_channel(&rx, wait),
        &feed,
        &mut out,
        Instant::now(),
        drive::Limits {
            timeout: args.timeout.map(Duration::from_secs_f64),
            interrupted: &interrupted,
        },
        |msg, out| -> std::io::Result<()> {
            let mut w = stdout.borrow_mut();
            if args.json {
                print_json(&mut *w, msg)
            } else {
                printed = print_new(&mut *w, out, printed)?;
                Ok(())
            }
        },
        |_, _| false,
        |why| {
            if let Some(r) = recorder {
                r.stopping(1);
            }
            match why {
                drive::Stop::Timeout => {
                    let text = format!("timeout after {} s: stopping", args.timeout.unwrap_or(0.0));
                    say(&mut *stdout.borrow_mut(), args.json, &text)
                }
                _ => Ok(()),
            }
        },
    )?;
    stdout.borrow_mut().flush()?;
    if let Some(r) = recorder {
        r.flush(Duration::from_secs(2));
    }
    Ok(match (ended.stopped.map(|s| s.0), &out.status) {
        (Some(drive::Stop::Timeout), _) => 124,
        (Some(_), _) => 130,
        (None, RunStatus::Ok) => 0,
        (None, RunStatus::Stopped) => 130,
        _ => 1,
    })
}

fn print_json(w: &mut impl Write, msg: &ChildMsg) -> std::io::Result<()> {
    let value = match msg {
        ChildMsg::Event(ev) => serde_json::to_value(ev).unwrap_or_default(),
        ChildMsg::Events(evs) => {
            for ev in evs {
                writeln!(w, "{}", serde_json::to_value(ev).unwrap_or_default())?;
            }
            return Ok(());
        }
        ChildMsg::Raw { stream, text } => {
            serde_json::json!({"ev": "raw", "stream": stream, "text": text})
        }
        ChildMsg::ProtocolError(e) => serde_json::json!({"ev": "protocol_error", "text": e}),
        ChildMsg::Exited { code, signal, done } => {
            serde_json::json!({"ev": "exited", "code": code, "signal": signal, "done": done})
        }
    };
    writeln!(w, "{value}")
}

/// Prints the complete lines that were not printed yet; returns the new count. Lines are
/// counted including those the scrollback dropped.
fn print_new(w: &mut impl Write, out: &RunOutput, printed: usize) -> std::io::Result<usize> {
    let total = out.dropped + out.lines.len();
    let mut n = printed.max(out.dropped);
    while n < total {
        let line = &out.lines[n - out.dropped];
        if !line.complete {
            break;
        }
        writeln!(w, "{}", format_line(out, line))?;
        n += 1;
    }
    Ok(n)
}

/// `  1.00  sleepy(1)  Slept 1 seconds`; messages about the run are marked `[run]`.
pub fn format_line(out: &RunOutput, line: &OutLine) -> String {
    let who = match &line.source {
        Source::Task { task: None, .. } => "-".to_string(),
        Source::Task { .. } => out.task_name(&line.source).unwrap_or("?").to_string(),
        Source::Raw { stderr: false } => "[stdout]".into(),
        Source::Raw { stderr: true } => "[stderr]".into(),
        Source::Info => "[run]".into(),
        Source::Error => "[error]".into(),
        Source::Cancel => "[cancel]".into(),
        Source::Input => "[stdin]".into(),
    };
    format!("{:6.2}  {who}  {}", line.t, line.text)
}
