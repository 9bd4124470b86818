//! Runs the deck's exec slides, each in a fresh harness interpreter exactly as the presenter
//! runs it, several at once (`--jobs`; slides that could collide on a port, a process or a
//! file never two at once), and judges each run: ok, error, timeout, or listening (a server
//! demo that is still healthy a second after it opened its port; it is then stopped and its
//! port freed before the next such slide). Interpreters for the slides to come start while
//! others run, so no slide waits for Python to import trio, and the report keeps slide order.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::exclusive;
use crate::app::output::{RunOutput, RunStatus, Source};
use crate::deck::Deck;
use crate::kernel::drive;
use crate::kernel::pool::STOP_GRACE;
use crate::kernel::process::{ChildMsg, Interp, Sink};
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
    /// How many slides may run at once (1: one after another, the timings of each alone).
    pub jobs: usize,
    /// Set by SIGINT/SIGTERM: stop the running slides and start no more.
    pub interrupted: Arc<AtomicBool>,
    /// `--record`: every run is kept as a recording.
    pub recorder: Option<crate::record::recorder::Recorder>,
}

/// Runs the slides, up to `settings.jobs` at once, calling `report` in slide order as the
/// verdicts become known (a verdict that comes early waits for the slides before it).
///
/// Each slide still runs in its own fresh interpreter with its own set-up, exactly as alone,
/// and is sent `run` only once that interpreter has imported trio: its `seconds`, from its own
/// `run` to its verdict, are the slide's and not the start-up's. Slides that may reach outside
/// their interpreter (a port, a process, a file: see [`exclusive`]) never run two at once, so
/// two servers on the talk's port do not collide and a client never meets another slide's
/// server; see [`next`] for the order in which they start.
pub fn run_slides(
    deck: &Deck,
    slides: &[usize],
    interp: &Interpreter,
    settings: &Settings,
    mut report: impl FnMut(&SlideResult),
) -> anyhow::Result<Vec<SlideResult>> {
    let exclusive: Vec<bool> = slides
        .iter()
        .map(|&s| exclusive::is_exclusive(deck, s))
        .collect();
    let jobs = settings.jobs.max(1);
    let (note_tx, notes) = mpsc::channel::<Note>();
    let mut next_id = 1;
    let mut spawn = || -> std::io::Result<Spare> {
        let (tx, rx) = mpsc::channel();
        let tee = settings.recorder.clone();
        let warm = note_tx.clone();
        let sink: Sink = Arc::new(move |id, m: ChildMsg| {
            if let Some(r) = &tee {
                r.observe(id, &m);
            }
            // An interpreter that died before it was ready is handed out all the same: its
            // slide reports the death, as it always did.
            let ready = |e: &Event| matches!(e, Event::Ready { .. });
            if matches!(&m, ChildMsg::Exited { .. }) || events(&m).iter().any(ready) {
                let _ = warm.send(Note::Warm(id));
            }
            let _ = tx.send(m);
        });
        let child = Interp::spawn(interp, next_id, sink)?;
        next_id += 1;
        // Nobody types during a rehearsal: input() gets end of file at once, as it did when
        // stdin was /dev/null, instead of waiting until the slide's timeout.
        child.close_input();
        Ok(Spare {
            child,
            rx,
            warm: false,
            born: Instant::now(),
        })
    };
    std::thread::scope(|scope| {
        // Indices into `slides`: not started yet, and running.
        let mut waiting: Vec<usize> = (0..slides.len()).collect();
        let mut running: Vec<usize> = Vec::new();
        let mut spares: Vec<Spare> = Vec::new();
        let mut finished: BTreeMap<usize, SlideResult> = BTreeMap::new();
        let mut results = Vec::new();
        loop {
            let interrupted = settings.interrupted.load(Ordering::SeqCst);
            while !interrupted && running.len() < jobs {
                let Some(at) = next(&waiting, &running, &exclusive, jobs) else {
                    break;
                };
                // One that never says ready (an import that hangs) is handed out after the
                // slide timeout all the same, so that the slide's own timeout reports it.
                let usable = |s: &Spare| s.warm || s.born.elapsed() >= settings.timeout;
                let Some(warm) = spares.iter().position(usable) else {
                    break;
                };
                let i = waiting.remove(at);
                let Spare { child, rx, .. } = spares.remove(warm);
                let slide = slides[i];
                let started = Instant::now();
                if let Some(r) = &settings.recorder {
                    let meta =
                        crate::record::recorder::Meta::new(deck, slide, Some(interp), "check");
                    r.begin(child.id, meta, started);
                }
                child.send(&protocol::run_command(deck, slide, settings.expose));
                running.push(i);
                let done = note_tx.clone();
                scope.spawn(move || {
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        watch(deck, slide, &child, &rx, started, settings)
                    }));
                    let _ = done.send(Note::Done(i, result));
                });
            }
            // Interpreters warm up while slides run: enough for every place that is free now
            // and one more for the next to come free, but not for slides that must wait for
            // the exclusive one that runs (spares share the CPU with the slides, and cost
            // memory).
            let exclusive_runs = running.iter().any(|&r| exclusive[r]);
            let may_start = match exclusive_runs {
                false => waiting.len(),
                true => {
                    let others = waiting.iter().filter(|&&i| !exclusive[i]).count();
                    others + usize::from(others < waiting.len())
                }
            };
            let want = if interrupted {
                0
            } else {
                may_start.min(jobs - running.len() + 1)
            };
            while spares.len() < want {
                spares.push(spawn()?);
            }
            if running.is_empty() && (interrupted || waiting.is_empty()) {
                break;
            }
            match notes.recv_timeout(Duration::from_millis(50)) {
                Ok(Note::Warm(id)) => {
                    if let Some(s) = spares.iter_mut().find(|s| s.child.id == id) {
                        s.warm = true;
                    }
                }
                Ok(Note::Done(i, result)) => {
                    running.retain(|&r| r != i);
                    let result = result.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                    finished.insert(i, result);
                    // Slide order: a verdict waits for those of the slides before it.
                    let first_open = waiting.iter().chain(&running).min().copied();
                    while let Some(entry) = finished.first_entry() {
                        if first_open.is_some_and(|open| open < *entry.key()) {
                            break;
                        }
                        let r = entry.remove();
                        report(&r);
                        results.push(r);
                    }
                }
                // Interrupted while only interpreters warm up: looked at above.
                Err(_) => {}
            }
        }
        // After Ctrl-C the slides never started stay unreported; those that ended come out
        // in order.
        for r in finished.into_values() {
            report(&r);
            results.push(r);
        }
        Ok(results)
    })
}

/// Which of the `waiting` slides starts next (a position in it), if one may start now. The
/// exclusive slides are one queue that cannot overlap, so when several run at once that queue
/// goes first and the other slides fill the places beside it; otherwise slide order.
fn next(waiting: &[usize], running: &[usize], exclusive: &[bool], jobs: usize) -> Option<usize> {
    let exclusive_runs = running.iter().any(|&r| exclusive[r]);
    let first_exclusive = || waiting.iter().position(|&i| exclusive[i]);
    match (exclusive_runs, jobs) {
        (false, 1) => (!waiting.is_empty()).then_some(0),
        (false, _) => first_exclusive().or((!waiting.is_empty()).then_some(0)),
        (true, _) => waiting.iter().position(|&i| !exclusive[i]),
    }
}

/// What the runs and the interpreters warming up tell [`run_slides`].
enum Note {
    /// Interpreter `id` has imported trio and waits for `run` (or died trying).
    Warm(u64),
    /// The verdict on `slides[i]` (or the panic of the thread that watched it).
    Done(usize, std::thread::Result<SlideResult>),
}

/// An interpreter for a slide to come, and the channel of its messages.
struct Spare {
    child: Interp,
    rx: mpsc::Receiver<ChildMsg>,
    /// It said `ready`: a slide sent to it starts at once.
    warm: bool,
    born: Instant,
}

/// Follows one run to its verdict; returns once its interpreter has exited.
fn watch(
    deck: &Deck,
    slide: usize,
    child: &Interp,
    rx: &mpsc::Receiver<ChildMsg>,
    started: Instant,
    settings: &Settings,
) -> SlideResult {
    let mut out = RunOutput::new(slide, child.id);
    // The first error's traceback, and the slide whose code raised it when that was set-up.
    // (Shared by the message hook, which fills it, and the stop rule, which reads it.)
    let first_error: std::cell::RefCell<Option<(String, Option<usize>)>> = Default::default();
    let mut listening_since: Option<Instant> = None;
    let ended = drive::drive(
        |wait| drive::from_channel(rx, wait),
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
