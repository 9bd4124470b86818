//! The human-readable report of `check`: a header, one row per exec slide as soon as its
//! verdict is known (a rehearsal of a long deck should show progress), and a summary.

use std::io::Write;

use super::{ProblemKind, Report, SlideResult, Verdict};

const CODE_W: usize = 40;

pub fn header(w: &mut impl Write, report: &Report, exec: usize) -> std::io::Result<()> {
    let python = match (&report.python, &report.trio) {
        (Some(p), Some(t)) => format!("python {p}, trio {t}"),
        _ => "no usable python".into(),
    };
    writeln!(
        w,
        "check {} · {exec} exec slide{} · terminal {} · {python}",
        report.deck,
        if exec == 1 { "" } else { "s" },
        report.size
    )?;
    writeln!(
        w,
        "{:>5}  {:<CODE_W$}  {:<9}  {:>7}  detail",
        "slide", "code", "result", "time"
    )?;
    w.flush()
}

pub fn row(w: &mut impl Write, r: &SlideResult) -> std::io::Result<()> {
    let result = match r.result {
        Verdict::Ok => "ok",
        Verdict::Listening => "listening",
        Verdict::Error => "ERROR",
        Verdict::Timeout => "TIMEOUT",
        Verdict::Interrupted => "STOPPED",
        Verdict::NotRun => "NOT RUN",
    };
    let pad = CODE_W.saturating_sub(crate::render::str_width(&r.code));
    writeln!(
        w,
        "{:>5}  {}{}  {:<9}  {:>5.2} s  {}",
        r.slide,
        r.code,
        " ".repeat(pad),
        result,
        r.seconds,
        r.detail
    )?;
    w.flush()
}

pub fn footer(w: &mut impl Write, report: &Report) -> std::io::Result<()> {
    if !report.problems.is_empty() {
        writeln!(w, "deck problems:")?;
        for p in &report.problems {
            if p.kind == ProblemKind::Translation {
                // The message names the files and the slide itself.
                writeln!(w, "  {}", p.message)?;
                continue;
            }
            let kind = match p.kind {
                ProblemKind::Translation => "translation",
                ProblemKind::UnclosedFence => "unclosed fence",
                ProblemKind::Syntax => "does not compile",
                ProblemKind::Overflow => "too tall",
            };
            let line = p.line.map(|l| format!(", line {l}")).unwrap_or_default();
            writeln!(w, "  slide {}{line}: {kind}: {}", p.slide, p.message)?;
        }
    }
    let failed = report.slides.iter().filter(|r| !r.result.is_ok()).count();
    let total = report.slides.len();
    let slides = if failed == 0 {
        format!(
            "all {total} exec slide{} ok",
            if total == 1 { "" } else { "s" }
        )
    } else {
        format!("{failed} of {total} exec slides failed")
    };
    let problems = match report.problems.len() {
        0 => "no deck problems".to_string(),
        1 => "1 deck problem".to_string(),
        n => format!("{n} deck problems"),
    };
    writeln!(w, "{slides}, {problems} ({:.1} s)", report.seconds)
}
