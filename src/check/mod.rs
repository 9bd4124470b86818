//! `trio-present check DECK`: the rehearsal. Checks the deck without running it (unclosed
//! fences, code that does not compile, slides taller than the talk's terminal), then runs every
//! exec slide headless the way the presenter would (several at once, see `runner.rs`), and
//! prints one row per slide in slide order (or JSON). Exit status 0 when everything is ok, 1
//! otherwise, 130 when interrupted (Ctrl-C stops the slides that run, starts no more, and
//! prints what was found so far).

mod exclusive;
mod lint;
mod report;
mod runner;
mod translations;

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use lint::{Problem, ProblemKind};
pub use runner::{SlideResult, Verdict};

use crate::deck::Deck;
use crate::kernel::python;
use crate::theme::Theme;

/// What `check` was asked to do.
pub struct CheckArgs {
    /// Slide numbers to check, in order; empty means every slide.
    pub slides: Vec<usize>,
    pub timeout: Duration,
    pub json: bool,
    /// The terminal size the talk is given on, for the overflow check.
    pub size: (u16, u16),
    pub python: Option<PathBuf>,
    pub expose: bool,
    /// Keep every run as a recording (`--record`), for replays on stage.
    pub record: bool,
    /// How many slides may run at once (`--jobs`; 1: one after another).
    pub jobs: usize,
}

/// Everything `check` found.
#[derive(Debug, serde::Serialize)]
pub struct Report {
    pub deck: String,
    pub size: String,
    pub python: Option<String>,
    pub trio: Option<String>,
    pub problems: Vec<Problem>,
    pub slides: Vec<SlideResult>,
    pub seconds: f64,
    pub ok: bool,
}

/// Runs the check; returns the exit status.
pub fn run(deck: &Deck, args: &CheckArgs) -> anyhow::Result<i32> {
    run_with(deck, args, vec![])
}

/// Checks `decks[0]` and compares the other decks (its translations) with it; `warnings` are
/// translations that could not be loaded.
pub fn run_translated(
    decks: &[Deck],
    warnings: &[String],
    args: &CheckArgs,
) -> anyhow::Result<i32> {
    let problems = translations::problems(decks, warnings);
    run_with(&decks[0], args, problems)
}

fn run_with(deck: &Deck, args: &CheckArgs, extra: Vec<Problem>) -> anyhow::Result<i32> {
    let started = Instant::now();
    let mut stdout = std::io::stdout().lock();
    let selected: Vec<usize> = if args.slides.is_empty() {
        (1..=deck.slides.len()).collect()
    } else {
        args.slides.clone()
    };
    let theme = Theme::load("dark")?;
    let mut problems = lint::unclosed_fences(deck, &selected);
    problems.extend(lint::overflows(deck, &selected, args.size, &theme));
    problems.extend(extra);

    let mut progress = |line: &str| eprintln!("trio-present: {line}");
    let choice = python::choose_python(args.python.as_deref());
    let interp = python::resolve(&choice, &mut progress);
    let mut report = Report {
        deck: deck.path.display().to_string(),
        size: format!("{}x{}", args.size.0, args.size.1),
        python: interp.as_ref().ok().map(|i| i.version.clone()),
        trio: interp.as_ref().ok().map(|i| i.trio_version.clone()),
        problems,
        slides: vec![],
        seconds: 0.0,
        ok: false,
    };
    let exec: Vec<usize> = selected
        .iter()
        .copied()
        .filter(|&n| deck.slides[n - 1].is_exec())
        .collect();
    if !args.json {
        report::header(&mut stdout, &report, exec.len())?;
    }
    match &interp {
        Err(e) => {
            // Nothing can run; every exec slide fails with the reason.
            for &slide in &exec {
                report.slides.push(SlideResult {
                    slide,
                    code: runner::first_code_line(deck, slide),
                    result: Verdict::Error,
                    seconds: 0.0,
                    detail: format!("cannot run: {e}"),
                    exception: None,
                    line: None,
                    setup_slide: None,
                });
            }
        }
        Ok(interp) => {
            let syntax = lint::syntax_errors(deck, &exec, interp)?;
            let runnable: Vec<usize> = exec
                .iter()
                .copied()
                .filter(|n| !syntax.iter().any(|p| p.slide == *n))
                .collect();
            let interrupted = Arc::new(AtomicBool::new(false));
            for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
                signal_hook::flag::register(sig, interrupted.clone())?;
            }
            let recorder = args.record.then(|| {
                crate::record::recorder::Recorder::new(crate::record::Store::for_user(), |w| {
                    eprintln!("trio-present: {w}")
                })
            });
            let settings = runner::Settings {
                timeout: args.timeout,
                expose: args.expose,
                jobs: args.jobs,
                interrupted,
                recorder: recorder.clone(),
            };
            let mut rows = std::collections::BTreeMap::new();
            for p in &syntax {
                rows.entry(p.slide).or_insert_with(|| SlideResult {
                    slide: p.slide,
                    code: runner::first_code_line(deck, p.slide),
                    result: Verdict::Error,
                    seconds: 0.0,
                    detail: format!("{} (line {}; not run)", p.message, p.line.unwrap_or(0)),
                    exception: Some(p.message.clone()),
                    line: p.line,
                    setup_slide: None,
                });
            }
            report.problems.extend(syntax);
            let json = args.json;
            let out = &mut stdout;
            // Known before anything runs, so shown first.
            for r in rows.values() {
                if !json {
                    report::row(out, r)?;
                }
            }
            let ran = runner::run_slides(deck, &runnable, interp, &settings, |r| {
                if !json {
                    let _ = report::row(out, r);
                }
            })?;
            for r in ran {
                rows.insert(r.slide, r);
            }
            if let Some(r) = &recorder {
                r.flush(Duration::from_secs(5));
                if let Some(store) = crate::record::Store::for_user() {
                    eprintln!(
                        "trio-present: recorded {} runs into {} (trio-present recordings {} lists them)",
                        report_count(&rows),
                        store.deck_dir(&deck.path).display(),
                        deck.path.display()
                    );
                }
            }
            report.slides = rows.into_values().collect();
        }
    }
    report
        .problems
        .sort_by_key(|p| (p.slide, p.line.unwrap_or(0)));
    report.seconds = started.elapsed().as_secs_f64();
    report.ok = report.problems.is_empty() && report.slides.iter().all(|r| r.result.is_ok());
    if args.json {
        writeln!(stdout, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        report::footer(&mut stdout, &report)?;
    }
    stdout.flush()?;
    let interrupted = report
        .slides
        .iter()
        .any(|r| r.result == Verdict::Interrupted);
    Ok(if interrupted {
        130
    } else if report.ok {
        0
    } else {
        1
    })
}

fn report_count(rows: &std::collections::BTreeMap<usize, SlideResult>) -> usize {
    rows.values().filter(|r| r.seconds > 0.0).count()
}

/// Parses `12,33,50-54` into slide numbers (deck order, no repeats), each within `1..=n`.
pub fn parse_slides(spec: &str, n: usize) -> Result<Vec<usize>, String> {
    let mut out = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || format!("--slides {spec}: {part:?} is not a slide number or range like 50-54");
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse::<usize>(), b.trim().parse::<usize>()),
            None => (part.parse::<usize>(), part.parse::<usize>()),
        };
        let (a, b) = (a.map_err(|_| bad())?, b.map_err(|_| bad())?);
        if a == 0 || b > n || a > b {
            return Err(format!(
                "--slides {spec}: {part} is outside the deck's slides 1 to {n}"
            ));
        }
        out.extend(a..=b);
    }
    if out.is_empty() {
        return Err(format!("--slides {spec}: no slides given"));
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Parses `100x30`.
pub fn parse_size(spec: &str) -> Result<(u16, u16), String> {
    let bad = || format!("--size {spec}: expected COLUMNSxROWS, e.g. 100x30");
    let (w, h) = spec.split_once(['x', 'X']).ok_or_else(bad)?;
    let (w, h) = (
        w.trim().parse::<u16>().map_err(|_| bad())?,
        h.trim().parse::<u16>().map_err(|_| bad())?,
    );
    if w < 20 || h < 5 {
        return Err(format!(
            "--size {spec}: a terminal that small cannot show a slide (at least 20x5)"
        ));
    }
    Ok((w, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slide_lists_and_sizes_parse() {
        assert_eq!(
            parse_slides("12,33,50-54", 57).unwrap(),
            vec![12, 33, 50, 51, 52, 53, 54]
        );
        assert_eq!(parse_slides("5, 3,3-4", 57).unwrap(), vec![3, 4, 5]);
        assert!(parse_slides("0", 57).unwrap_err().contains("outside"));
        assert!(parse_slides("50-60", 57).unwrap_err().contains("1 to 57"));
        assert!(parse_slides("x", 57)
            .unwrap_err()
            .contains("not a slide number"));
        assert!(parse_slides(",", 57).is_err());
        assert_eq!(parse_size("100x30").unwrap(), (100, 30));
        assert!(parse_size("100").is_err());
        assert!(parse_size("5x5").unwrap_err().contains("at least"));
    }
}
