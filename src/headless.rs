//! `trio-present run`: runs one slide exactly as the presenter would and prints the stream to
//! stdout, one line per output line (`elapsed  task  text`), or the raw events with `--json`.
//! Exit status: 0 ok, 1 error in user code (or the interpreter died), 124 timeout, 130 stopped
//! by SIGINT.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use crate::app::output::{OutLine, RunOutput, RunStatus, Source};
use crate::deck::Deck;
use crate::kernel::pool::STOP_GRACE;
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
}

/// Runs the slide and returns the process exit status.
pub fn run(deck: &Deck, args: &RunArgs) -> anyhow::Result<i32> {
    let mut stdout = std::io::stdout().lock();
    let choice = python::choose_python(args.python.as_deref());
    let mut progress = |line: &str| eprintln!("trio-present: {line}");
    let interp = match python::resolve(&choice, &mut progress) {
        Ok(i) => i,
        Err(e) => {
            if args.json {
                let text = format!("cannot run: {e}");
                writeln!(stdout, "{}", serde_json::json!({"ev": "run", "text": text}))?;
            } else {
                writeln!(stdout, "[run] cannot run: {e}")?;
            }
            return Ok(1);
        }
    };
    let interrupted = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGINT, interrupted.clone())?;
    signal_hook::flag::register(signal_hook::consts::SIGTERM, interrupted.clone())?;

    let (tx, rx) = mpsc::channel::<ChildMsg>();
    let child = Interp::spawn(
        &interp,
        1,
        Arc::new(move |_, m| {
            let _ = tx.send(m);
        }),
    )?;
    child.send(&protocol::run_command(deck, args.slide, args.expose));
    let started = Instant::now();
    let deadline = args.timeout.map(|s| started + Duration::from_secs_f64(s));

    let mut out = RunOutput::new(args.slide, 1);
    let mut printed = 0usize;
    let mut stopping: Option<i32> = None;
    loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(msg) => {
                if args.json {
                    print_json(&mut stdout, &msg)?;
                }
                let exited = matches!(msg, ChildMsg::Exited { .. });
                out.apply(&msg);
                if !args.json {
                    printed = print_new(&mut stdout, &out, printed)?;
                }
                if exited {
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if stopping.is_none() {
            if interrupted.load(Ordering::SeqCst) {
                stopping = Some(130);
            } else if deadline.is_some_and(|d| Instant::now() >= d) {
                stopping = Some(124);
                let text = format!("timeout after {} s: stopping", args.timeout.unwrap_or(0.0));
                if args.json {
                    writeln!(stdout, "{}", serde_json::json!({"ev": "run", "text": text}))?;
                } else {
                    writeln!(stdout, "[run] {text}")?;
                }
            }
            if stopping.is_some() {
                out.stop_requested = true;
                child.stop(STOP_GRACE);
            }
        }
    }
    stdout.flush()?;
    Ok(match (stopping, &out.status) {
        (Some(code), _) => code,
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
    };
    format!("{:6.2}  {who}  {}", line.t, line.text)
}
