//! Runs the deck's exec slides one after another, each in a fresh harness interpreter exactly
//! as the presenter runs it, and judges each run: ok, error, timeout, or listening (a server
//! demo that is still healthy a second after it opened its port; it is then stopped and its
//! port freed before the next slide). The next slide's interpreter starts while the current
//! one runs, so no slide waits for Python to import trio.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::app::output::{RunOutput, RunStatus, Source};
use crate::deck::Deck;
use crate::kernel::drive;
use crate::kernel::pool::STOP_GRACE;
use crate::kernel::process::{ChildMsg, Interp};
use crate::kernel::protocol::{self, Event};
use crate::kernel::python::Interpreter;

/// How long a server must stay up after it starts listening to count as healthy.
pub const LISTEN_HEALTHY: Duration = Duration::from_secs(1);

/// The verdict on one slide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Ok,
    /// A server that listened and stayed healthy (an ok result).
    Listening,
    Error,
    Timeout,
    /// Ctrl-C during the check: this slide was stopped and the rest not run.
    Interrupted,
    /// The set-up of an earlier slide (`setup_slide`) failed or did not finish, so this
    /// slide's own code never ran.
    NotRun,
}

impl Verdict {
    pub fn is_ok(self) -> bool {
        matches!(self, Verdict::Ok | Verdict::Listening)
    }
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlideResult {
    pub slide: usize,
    /// First line of the slide's code, to recognise it by.
    pub code: String,
    pub result: Verdict,
    /// Wall time from sending `run` to the verdict.
    pub seconds: f64,
    /// What happened, in a few words: the last output line, the exception, the address.
    pub detail: String,
    /// For errors: the exception line of the traceback and the deck line it points at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exception: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// For [`Verdict::NotRun`]: the earlier slide whose set-up failed or hung.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setup_slide: Option<usize>,
}

/// What the runner needs to know.
pub struct Settings {
    pub timeout: Duration,
    pub expose: bool,
    /// Set by SIGINT/SIGTERM: stop the current slide and run no more.
    pub interrupted: Arc<AtomicBool>,
    /// `--record`: every run is kept as a recording.
    pub recorder: Option<crate::record::recorder::Recorder>,
}

/// Runs the slides in order, calling `report` as each verdict is known.
pub fn run_slides(
    deck: &Deck,
    slides: &[usize],
    interp: &Interpreter,
    settings: &Settings,
    mut report: impl FnMut(&SlideResult),
) -> anyhow::Result<Vec<SlideResult>> {
    let (tx, rx) = mpsc::channel::<(u64, ChildMsg)>();
    let tee = settings.recorder.clone();
    let sink = Arc::new(move |id, m: ChildMsg| {
        if let Some(r) = &tee {
            r.observe(id, &m);
        }
        let _ = tx.send((id, m));
    });
    let mut next_id = 1;
    let mut spawn = || -> std::io::Result<Interp> {
        next_id += 1;
        let child = Interp::spawn(interp, next_id - 1, sink.clone())?;
        // Nobody types during a rehearsal: input() gets end of file at once, as it did when
        // stdin was /dev/null, instead of waiting until the slide's timeout.
        child.close_input();
        Ok(child)
    };
    let mut spare = if slides.is_empty() {
        None
    } else {
        Some(spawn()?)
    };
    let mut results = Vec::new();
    for (i, &slide) in slides.iter().enumerate() {
        let child = match spare.take() {
            Some(c) => c,
            None => spawn()?,
        };
        let started = Instant::now();
        if let Some(r) = &settings.recorder {
            let meta = crate::record::recorder::Meta::new(deck, slide, Some(interp), "check");
            r.begin(child.id, meta, started);
        }
        child.send(&protocol::run_command(deck, slide, settings.expose));
        if i + 1 < slides.len() {
            spare = Some(spawn()?);
        }
        let result = watch(deck, slide, &child, &rx, started, settings);
        report(&result);
        results.push(result);
        if settings.interrupted.load(Ordering::SeqCst) {
            break;
        }
    }
    Ok(results)
}

/// Follows one run to its verdict; returns once its interpreter has exited.
fn watch(
    deck: &Deck,
    slide: usize,
    child: &Interp,
    rx: &mpsc::Receiver<(u64, ChildMsg)>,
    started: Instant,
    settings: &Settings,
) -> SlideResult {
    let mut out = RunOutput::new(slide, child.id);
    // The first error's traceback, and the slide whose code raised it when that was set-up.
    // (Shared by the message hook, which fills it, and the stop rule, which reads it.)
    let first_error: std::cell::RefCell<Option<(String, Option<usize>)>> = Default::default();
    let mut listening_since: Option<Instant> = None;
    let ended = drive::drive(
        |wait| drive::from_shared(rx, child.id, wait),
        child,
        &mut out,
        started,
        drive::Limits {
            timeout: Some(settings.timeout),
            interrupted: &settings.interrupted,
        },
        |msg, _| -> Result<(), std::convert::Infallible> {
            for ev in events(msg) {
                if let Event::Error {
                    traceback: tb,
                    setup,
                    slide,
                    ..
                } = ev
                {
                    first_error
                        .borrow_mut()
                        .get_or_insert_with(|| (tb.clone(), setup.then_some(*slide)));
                }
            }
            Ok(())
        },
        // A server is judged healthy once it has listened for LISTEN_HEALTHY without failing.
        |out, now| {
            if listening_since.is_none() && !out.listeners.is_empty() {
                listening_since = Some(now);
            }
            listening_since.is_some_and(|t| now - t >= LISTEN_HEALTHY)
                && !out.status.is_over()
                && first_error.borrow().is_none()
        },
        |_| {
            if let Some(r) = &settings.recorder {
                r.stopping(child.id);
            }
            Ok(())
        },
    )
    .unwrap_or_else(|never| match never {});
    let stopped = ended.stopped;
    let (traceback, setup_of) = match first_error.into_inner() {
        Some((tb, setup)) => (Some(tb), setup),
        None => (None, None),
    };
    // A server's port must be free before the next slide binds it.
    child.wait_exited(STOP_GRACE * 2);
    let seconds = stopped.map_or_else(|| started.elapsed().as_secs_f64(), |s| s.1);
    let mut result = SlideResult {
        slide,
        code: first_code_line(deck, slide),
        result: Verdict::Ok,
        seconds,
        detail: String::new(),
        exception: None,
        line: None,
        setup_slide: None,
    };
    let address = out
        .listeners
        .first()
        .map(|(h, p)| format!("listening on {h}:{p}"));
    match (stopped.map(|s| s.0), &out.status) {
        (_, RunStatus::Error) | (_, RunStatus::Died(_)) | (None, RunStatus::Stopped) => {
            result.result = Verdict::Error;
            match &traceback {
                Some(tb) => {
                    let (exception, line) = locate(deck, tb);
                    let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
                    result.detail = match setup_of {
                        Some(s) => {
                            result.result = Verdict::NotRun;
                            result.setup_slide = Some(s);
                            format!("not run: set-up of slide {s} failed: {exception}{at}")
                        }
                        None => format!("{exception}{at}"),
                    };
                    result.exception = Some(exception);
                    result.line = line;
                }
                None => result.detail = last_line(&out, true),
            }
        }
        (Some(drive::Stop::Interrupted), _) => {
            result.result = Verdict::Interrupted;
            result.detail = "interrupted (Ctrl-C): the remaining slides were not run".into();
        }
        (Some(drive::Stop::Asked), _) => {
            result.result = Verdict::Listening;
            result.detail = address.unwrap_or_default();
        }
        (Some(drive::Stop::Timeout), _) if out.setup.is_some() => {
            let (s, line) = out.setup.unwrap_or_default();
            result.result = Verdict::NotRun;
            result.setup_slide = Some(s);
            result.line = Some(line);
            result.detail = format!(
                "not run: set-up of slide {s} did not finish in {} s (line {line})",
                settings.timeout.as_secs_f64()
            );
        }
        (Some(drive::Stop::Timeout), _) => {
            result.result = Verdict::Timeout;
            result.detail = format!(
                "still running after {} s{}",
                settings.timeout.as_secs_f64(),
                address.map(|a| format!(" ({a})")).unwrap_or_default()
            );
        }
        (None, _) => result.detail = last_line(&out, false),
    }
    result
}

fn events(msg: &ChildMsg) -> &[Event] {
    match msg {
        ChildMsg::Event(ev) => std::slice::from_ref(ev),
        ChildMsg::Events(evs) => evs,
        _ => &[],
    }
}

/// The last line of output (or, for a death, the harness's note about it).
fn last_line(out: &RunOutput, errors: bool) -> String {
    out.lines
        .iter()
        .rev()
        .find(|l| match l.source {
            Source::Error => errors,
            Source::Info => !l.text.starts_with("running main()"),
            _ => !errors,
        })
        .map(|l| clip(&l.text, 60))
        .unwrap_or_default()
}

/// The exception line of a harness traceback and the deck line of its innermost frame in
/// slide code (`File "slide 12", line 4` or `File "slide 12 (block 2)", line 4`).
fn locate(deck: &Deck, traceback: &str) -> (String, Option<usize>) {
    let lines: Vec<&str> = traceback.lines().map(unbox).collect();
    let exceptions: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| {
            !l.is_empty()
                && !l.starts_with([' ', '+'])
                && !l.starts_with("Traceback")
                && !l.starts_with("During handling")
                && !l.starts_with("The above exception")
        })
        .collect();
    let last = exceptions.last().copied().unwrap_or("error").trim();
    let exception = match exceptions.first() {
        Some(first) if exceptions.len() > 1 && first.contains("ExceptionGroup") => {
            format!("{last} (in an exception group)")
        }
        _ => last.to_string(),
    };
    let line = lines.iter().rev().find_map(|l| {
        let rest = l.trim().strip_prefix("File \"slide ")?;
        let (name, rest) = rest.split_once('"')?;
        let (slide, block) = match name.split_once(" (block ") {
            Some((s, b)) => (
                s.parse::<usize>().ok()?,
                b.trim_end_matches(')').parse().ok()?,
            ),
            None => (name.parse::<usize>().ok()?, 1usize),
        };
        let n: usize = rest
            .trim_start_matches(", line ")
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()?;
        let code = deck
            .slides
            .get(slide.checked_sub(1)?)?
            .blocks
            .iter()
            .filter(|b| b.kind.runs())
            .nth(block - 1)?;
        Some(code.first_code_line() + n - 1)
    });
    (clip(&exception, 100), line)
}

/// A traceback line without the box drawing of exception groups (`  | `, `    | `).
fn unbox(line: &str) -> &str {
    let mut rest = line;
    loop {
        let t = rest.trim_start_matches(' ');
        match t.strip_prefix('|') {
            Some(after) => rest = after.strip_prefix(' ').unwrap_or(after),
            None => return if rest.len() == line.len() { line } else { rest },
        }
    }
}

/// First non-blank line of the slide's first runnable block.
pub fn first_code_line(deck: &Deck, slide: usize) -> String {
    deck.slides[slide - 1]
        .blocks
        .iter()
        .filter(|b| b.kind.runs())
        .flat_map(|b| b.source.lines())
        .find(|l| !l.trim().is_empty())
        .map(|l| clip(l.trim(), 40))
        .unwrap_or_default()
}

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracebacks_point_at_deck_lines() {
        let deck = Deck::parse(
            std::path::Path::new("t.md"),
            "# t\n====\n```exec\nx = 1\n```\n\n```exec\nprint(\n  y)\n```\n",
        )
        .unwrap();
        let tb = "Traceback (most recent call last):\n  File \"slide 2 (block 2)\", line 2, in <module>\n    y)\n    ^\nNameError: name 'y' is not defined";
        assert_eq!(
            locate(&deck, tb),
            ("NameError: name 'y' is not defined".into(), Some(9))
        );
        let one = "Traceback (most recent call last):\n  File \"slide 2\", line 1, in main\nValueError: bad";
        assert_eq!(locate(&deck, one), ("ValueError: bad".into(), Some(4)));
        assert_eq!(locate(&deck, "Boom"), ("Boom".into(), None));
        let group = "  + Exception Group Traceback (most recent call last):\n  |   File \"slide 2\", line 1, in main\n  | ExceptionGroup: Exceptions from Trio nursery (2 sub-exceptions)\n  +-+---------------- 1 ----------------\n    | Traceback (most recent call last):\n    |   File \"slide 2 (block 2)\", line 1, in boom\n    |     raise ValueError(\"bad value\")\n    | ValueError: bad value\n    +------------------------------------";
        assert_eq!(
            locate(&deck, group),
            (
                "ValueError: bad value (in an exception group)".into(),
                Some(8)
            )
        );
        assert_eq!(first_code_line(&deck, 2), "x = 1");
    }
}
