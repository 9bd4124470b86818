//! The checks of `trio-present check` that run nothing: unclosed fences, code blocks that do not
//! compile (asked of the interpreter through `syntax.py`, which only calls `compile()`), and
//! slides taller than the terminal the talk will be given on.

use std::io::Write;
use std::process::Stdio;

use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::deck::{CodeBlock, Deck};
use crate::kernel::python::Interpreter;
use crate::theme::Theme;

/// The compile-only script, embedded like the harness.
const SYNTAX_PY: &str = include_str!("syntax.py");

/// Something wrong with the deck itself, found without running it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub slide: usize,
    /// 1-based line in the deck file, when there is one.
    pub line: Option<usize>,
    pub kind: ProblemKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    UnclosedFence,
    Syntax,
    Overflow,
    /// A translation differs from the deck (slide count, exec code) or cannot be read.
    Translation,
}

/// Fences that were never closed (they swallow the rest of the deck).
pub fn unclosed_fences(deck: &Deck, slides: &[usize]) -> Vec<Problem> {
    blocks_of(deck, slides)
        .filter(|b| b.unclosed)
        .map(|b| Problem {
            slide: b.slide,
            line: Some(b.fence_line),
            kind: ProblemKind::UnclosedFence,
            message: format!(
                "code fence opened at line {} is never closed: it runs to the end of the deck",
                b.fence_line
            ),
        })
        .collect()
}

/// Slides that need scrolling on a `width` x `height` terminal.
pub fn overflows(
    deck: &Deck,
    slides: &[usize],
    (width, height): (u16, u16),
    theme: &Theme,
) -> Vec<Problem> {
    let app = App::new(deck.clone(), theme.clone(), 1);
    slides
        .iter()
        .filter_map(|&n| {
            let rows = crate::ui::overflow_rows(&app, n - 1, width, height);
            (rows > 0).then(|| Problem {
                slide: n,
                line: Some(deck.slides[n - 1].first_line),
                kind: ProblemKind::Overflow,
                message: format!(
                    "{rows} row{} taller than a {width}x{height} terminal (the speaker would scroll)",
                    if rows == 1 { "" } else { "s" }
                ),
            })
        })
        .collect()
}

#[derive(Deserialize)]
struct SyntaxError {
    index: usize,
    line: Option<usize>,
    msg: String,
    #[serde(default)]
    text: String,
}

/// Compiles every runnable block of `slides` with `interp`, running none of them.
pub fn syntax_errors(
    deck: &Deck,
    slides: &[usize],
    interp: &Interpreter,
) -> anyhow::Result<Vec<Problem>> {
    let blocks: Vec<&CodeBlock> = blocks_of(deck, slides).filter(|b| b.kind.runs()).collect();
    if blocks.is_empty() {
        return Ok(vec![]);
    }
    let input: Vec<_> = blocks
        .iter()
        .map(|b| serde_json::json!({"name": format!("slide {}", b.slide), "source": b.source}))
        .collect();
    let mut child = interp
        .command()
        .arg("-c")
        .arg(SYNTAX_PY)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let body = serde_json::to_vec(&input)?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    // Written from a thread: a deck larger than the pipe buffer would otherwise deadlock
    // against a child that is already writing its answer.
    let writer = std::thread::spawn(move || stdin.write_all(&body));
    let out = child.wait_with_output()?;
    let _ = writer.join();
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        anyhow::bail!(
            "the syntax check failed: {}",
            err.lines().last().unwrap_or("no message")
        );
    }
    let errors: Vec<SyntaxError> = serde_json::from_slice(&out.stdout)?;
    Ok(errors
        .into_iter()
        .filter_map(|e| {
            let block = blocks.get(e.index)?;
            let line = e
                .line
                .map(|l| block.first_code_line() + l.saturating_sub(1));
            let text = if e.text.is_empty() {
                String::new()
            } else {
                format!(": {}", e.text)
            };
            Some(Problem {
                slide: block.slide,
                line: Some(line.unwrap_or(block.fence_line)),
                kind: ProblemKind::Syntax,
                message: format!("SyntaxError: {}{text}", e.msg),
            })
        })
        .collect())
}

fn blocks_of<'a>(deck: &'a Deck, slides: &'a [usize]) -> impl Iterator<Item = &'a CodeBlock> {
    slides
        .iter()
        .flat_map(move |&n| deck.slides[n - 1].blocks.iter())
}
