//! The trio console (`>`): a pane bound to the current slide, where the speaker types Python
//! with top-level `await` into an interpreter holding the deck's definitions up to this slide
//! (the harness's console mode, see `docs/protocol.md`). Its output is a [`RunOutput`], so it
//! is sanitised, bounded and tagged by task like a run's, and the tree and timeline follow it.
//!
//! Keys in the console: Enter runs the input, or continues it when it is not finished
//! ([`continues`]: a line ending in `:` or `\`, an open bracket; an empty line ends a block);
//! ↑ ↓ history (kept per deck, see [`history_path`]); Tab completes a name; Ctrl-c cancels the
//! running command (the console stays) or drops the input; Ctrl-d on an empty line closes the
//! console; Esc goes back to the slides (`>` comes back, Esc there closes it). Leaving the
//! slide closes it too.

use std::path::{Path, PathBuf};

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::output::{RunOutput, RunStatus, Source};
use super::{App, Effect, KernelState};
use crate::kernel::process::ChildMsg;
use crate::kernel::protocol::Event;

/// Entries kept in a deck's history file.
pub const HISTORY_MAX: usize = 500;
/// Completions listed in the output at most.
const COMPLETIONS_SHOWN: usize = 40;

/// Past inputs, oldest first, and where ↑ ↓ stand.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    pub entries: Vec<String>,
    /// The entry shown (an index into `entries`), `None` at the new input.
    pos: Option<usize>,
    /// The input being typed before ↑ was pressed.
    draft: String,
}

impl History {
    pub fn new(entries: Vec<String>) -> History {
        History {
            entries,
            ..History::default()
        }
    }

    /// Adds an input (not a repeat of the last one); back at the new input.
    pub fn push(&mut self, entry: &str) {
        self.pos = None;
        if entry.trim().is_empty() || self.entries.last().is_some_and(|e| e == entry) {
            return;
        }
        self.entries.push(entry.to_string());
        if self.entries.len() > HISTORY_MAX {
            self.entries.remove(0);
        }
    }

    /// ↑: the previous entry (`current` is what is typed now, kept as the draft).
    pub fn up(&mut self, current: &str) -> Option<&str> {
        let pos = match self.pos {
            None if self.entries.is_empty() => return None,
            None => {
                self.draft = current.to_string();
                self.entries.len() - 1
            }
            Some(0) => 0,
            Some(p) => p - 1,
        };
        self.pos = Some(pos);
        Some(&self.entries[pos])
    }

    /// ↓: the next entry, or the draft after the newest.
    pub fn down(&mut self) -> Option<&str> {
        let pos = self.pos?;
        if pos + 1 < self.entries.len() {
            self.pos = Some(pos + 1);
            Some(&self.entries[pos + 1])
        } else {
            self.pos = None;
            Some(&self.draft)
        }
    }
}

/// Where a deck's console history lives: `$XDG_DATA_HOME/trio-present/console-history/`, one
/// file per deck (its file stem and a hash of its full path).
pub fn history_path(deck: &Path) -> Option<PathBuf> {
    let store = crate::record::Store::for_user()?;
    let dir = store.root().parent()?.join("console-history");
    let file = crate::record::Store::at(dir).deck_dir(deck);
    Some(file.with_extension("history"))
}

/// Reads a history file: one JSON string per line (an input may span lines).
pub fn load_history(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut entries: Vec<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<String>(l).ok())
        .collect();
    let extra = entries.len().saturating_sub(HISTORY_MAX);
    entries.drain(..extra);
    entries
}

/// Appends one input to a history file (trimmed to [`HISTORY_MAX`] when it grows past twice).
pub fn append_history(path: &Path, entry: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let line = serde_json::to_string(entry).unwrap_or_default();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    writeln!(f, "{line}")?;
    drop(f);
    let text = std::fs::read_to_string(path)?;
    if text.lines().count() > 2 * HISTORY_MAX {
        let keep = load_history(path);
        let body: String = keep
            .iter()
            .map(|e| serde_json::to_string(e).unwrap_or_default() + "\n")
            .collect();
        std::fs::write(path, body)?;
    }
    Ok(())
}

/// Whether the input so far (`lines`) needs more lines before it runs, as Python's REPL
/// decides: an open bracket or a trailing `\` always continues; a block (a line ending in `:`,
/// a decorator) continues until an empty line; anything else runs.
pub fn continues(lines: &[String]) -> bool {
    let Some(last) = lines.last() else {
        return false;
    };
    if bracket_depth(lines) > 0 || last.trim_end().ends_with('\\') {
        return true;
    }
    let block = lines.iter().any(|l| {
        let code = strip_comment(l);
        code.trim_end().ends_with(':') || code.trim_start().starts_with('@')
    });
    block && !last.trim().is_empty()
}

/// A line without its `#` comment (a `#` inside a string is kept).
fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match quote {
            Some(_) if escaped => escaped = false,
            Some(_) if c == '\\' => escaped = true,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '#' => return &line[..i],
            None if c == '\'' || c == '"' => quote = Some(c),
            None => {}
        }
    }
    line
}

/// Open brackets minus closed ones, outside strings and comments.
fn bracket_depth(lines: &[String]) -> i32 {
    let mut depth = 0;
    for line in lines {
        let mut quote: Option<char> = None;
        let mut escaped = false;
        for c in strip_comment(line).chars() {
            match quote {
                Some(_) if escaped => escaped = false,
                Some(_) if c == '\\' => escaped = true,
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None => match c {
                    '(' | '[' | '{' => depth += 1,
                    ')' | ']' | '}' => depth -= 1,
                    '\'' | '"' => quote = Some(c),
                    _ => {}
                },
            }
        }
    }
    depth
}

/// The name being typed at the end of `input` (`trio.open_n`), for Tab.
pub fn word_at_end(input: &str) -> &str {
    let start = input
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric() || *c == '_' || *c == '.')
        .last()
        .map_or(input.len(), |(i, _)| i);
    &input[start..]
}

/// The console pane's state.
pub struct Console {
    pub slide: usize,
    /// The interpreter (0 until it started).
    pub child: u64,
    pub output: RunOutput,
    /// Finished lines of the input being typed, and the line being typed.
    pub lines: Vec<String>,
    pub input: String,
    /// A command runs (no `prompt` since it was sent), or set-up is still going.
    pub busy: bool,
    /// Prompts still to come: one for set-up, one per input sent.
    waiting: usize,
    pub history: History,
    /// The word Tab asked completions for.
    completing: Option<String>,
}

impl Console {
    pub fn new(slide: usize) -> Console {
        let mut output = RunOutput::new(slide, 0);
        output.status = RunStatus::Running;
        Console {
            slide,
            child: 0,
            output,
            lines: Vec::new(),
            input: String::new(),
            busy: true,
            waiting: 1,
            history: History::default(),
            completing: None,
        }
    }

    /// Whether the interpreter is gone.
    pub fn is_over(&self) -> bool {
        self.output.status.is_over()
    }

    /// Folds a message of the console's interpreter in.
    pub fn apply(&mut self, msg: &ChildMsg) {
        let events: &[Event] = match msg {
            ChildMsg::Event(ev) => std::slice::from_ref(ev),
            ChildMsg::Events(evs) => evs,
            _ => &[],
        };
        for ev in events {
            match ev {
                Event::Prompt { .. } => {
                    self.waiting = self.waiting.saturating_sub(1);
                    self.busy = self.waiting > 0;
                }
                Event::Complete { text, matches, .. } => self.completed(text, matches),
                _ => {}
            }
        }
        self.output.apply(msg);
        if let ChildMsg::Exited { .. } = msg {
            self.busy = false;
            if !self.output.status.is_over() {
                self.output.status = RunStatus::Ok;
            }
        }
    }

    fn completed(&mut self, text: &str, matches: &[String]) {
        if self.completing.as_deref() != Some(text) || !self.input.ends_with(text) {
            return;
        }
        self.completing = None;
        let common = common_prefix(matches);
        if common.len() > text.len() {
            let keep = self.input.len() - text.len();
            self.input.truncate(keep);
            self.input.push_str(&common);
        }
        if matches.len() > 1 {
            let mut shown: Vec<&str> = matches
                .iter()
                .take(COMPLETIONS_SHOWN)
                .map(String::as_str)
                .collect();
            if matches.len() > COMPLETIONS_SHOWN {
                shown.push("…");
            }
            self.output.note(Source::Info, &shown.join("  "));
        }
    }

    /// The prompt of the line being typed: `>>> ` or `... `.
    pub fn prompt(&self) -> &'static str {
        if self.lines.is_empty() {
            ">>> "
        } else {
            "... "
        }
    }
}

fn common_prefix(words: &[String]) -> String {
    let Some(first) = words.first() else {
        return String::new();
    };
    let mut end = first.len();
    for w in &words[1..] {
        end = first
            .char_indices()
            .zip(w.chars())
            .take_while(|((_, a), b)| a == b)
            .last()
            .map_or(0, |((i, a), _)| i + a.len_utf8())
            .min(end);
    }
    first[..end].to_string()
}

impl App {
    /// `>`: open the console on this slide (after consent for the deck's code), or go back
    /// into the open one.
    pub(super) fn console_action(&mut self) -> Vec<Effect> {
        let slide = self.slide_number();
        if self.console.as_ref().is_some_and(|c| c.slide == slide) {
            self.console_focus = true;
            return vec![];
        }
        if self.offline {
            self.notice = Some("offline (--offline): no console".into());
            return vec![];
        }
        if let KernelState::Unavailable(why) = &self.kernel {
            self.notice = Some(format!("no console: {why}"));
            return vec![];
        }
        if !self.may_run(slide) {
            if self.consent.is_some() {
                // The console opens once the prompt is answered.
                self.console_asked = Some(slide);
            }
            return vec![];
        }
        let mut effects = self.close_console();
        self.console = Some(Console::new(slide));
        self.console_focus = true;
        self.output_scroll = 0;
        effects.push(Effect::ConsoleOpen(slide));
        effects
    }

    /// The loop started the console's interpreter (or could not), with the deck's history.
    pub(super) fn console_started(
        &mut self,
        slide: usize,
        result: Result<u64, String>,
        history: Vec<String>,
    ) -> Vec<Effect> {
        let Some(c) = self.console.as_mut().filter(|c| c.slide == slide) else {
            // Closed meanwhile: the interpreter must not linger.
            return if result.is_ok() {
                vec![Effect::ConsoleClose]
            } else {
                vec![]
            };
        };
        c.history = History::new(history);
        match result {
            Ok(id) => {
                c.child = id;
                c.output.child = id;
                c.output.note(
                    Source::Info,
                    &format!(
                        "trio console on slide {slide}: top-level await works · Esc back to the slides · Ctrl-d closes"
                    ),
                );
            }
            Err(why) => {
                c.output.note(Source::Error, &format!("no console: {why}"));
                c.output.status = RunStatus::Error;
                c.busy = false;
            }
        }
        vec![]
    }

    /// Ends the console, if one is open.
    pub(super) fn close_console(&mut self) -> Vec<Effect> {
        self.console_focus = false;
        match self.console.take() {
            Some(_) => vec![Effect::ConsoleClose],
            None => vec![],
        }
    }

    pub(super) fn console_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let Some(c) = self.console.as_mut() else {
            self.console_focus = false;
            return vec![];
        };
        self.output_scroll = 0;
        match key.code {
            KeyCode::Esc => self.console_focus = false,
            KeyCode::Char('c') if ctrl => {
                if c.busy && !c.is_over() {
                    return vec![Effect::ConsoleCancel];
                }
                c.lines.clear();
                c.input.clear();
            }
            KeyCode::Char('d') if ctrl && c.input.is_empty() && c.lines.is_empty() => {
                return self.close_console();
            }
            KeyCode::Char('u') if ctrl => c.input.clear(),
            KeyCode::Enter => return console_enter(c),
            KeyCode::Backspace => {
                if c.input.is_empty() {
                    if let Some(line) = c.lines.pop() {
                        c.input = line;
                    }
                } else {
                    c.input.pop();
                }
            }
            KeyCode::Up => {
                let mut current = c.lines.join("\n");
                if !c.lines.is_empty() {
                    current.push('\n');
                }
                current.push_str(&c.input);
                if let Some(e) = c.history.up(&current).map(str::to_string) {
                    set_input(c, e);
                }
            }
            KeyCode::Down => {
                if let Some(e) = c.history.down().map(str::to_string) {
                    set_input(c, e);
                }
            }
            KeyCode::Tab => {
                let word = word_at_end(&c.input);
                if word.is_empty() || c.is_over() {
                    c.input.push_str("    ");
                } else {
                    let word = word.to_string();
                    c.completing = Some(word.clone());
                    return vec![Effect::ConsoleComplete(word)];
                }
            }
            KeyCode::Char(ch) if !ctrl => c.input.push(ch),
            _ => {}
        }
        vec![]
    }
}

/// Shows a history entry (maybe of several lines) as the input.
fn set_input(c: &mut Console, entry: String) {
    let mut lines: Vec<String> = entry.split('\n').map(str::to_string).collect();
    c.input = lines.pop().unwrap_or_default();
    c.lines = lines;
}

fn console_enter(c: &mut Console) -> Vec<Effect> {
    let line = std::mem::take(&mut c.input);
    c.lines.push(line);
    if continues(&c.lines) {
        // Keep the indentation; one level more after a `:`.
        let last = c.lines.last().map(String::as_str).unwrap_or("");
        let indent: String = last.chars().take_while(|ch| *ch == ' ').collect();
        c.input = if strip_comment(last).trim_end().ends_with(':') {
            indent + "    "
        } else {
            indent
        };
        return vec![];
    }
    let mut lines = std::mem::take(&mut c.lines);
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    if lines.is_empty() {
        return vec![];
    }
    for (i, l) in lines.iter().enumerate() {
        let prompt = if i == 0 { ">>> " } else { "... " };
        c.output.note(Source::Input, &format!("{prompt}{l}"));
    }
    let source = lines.join("\n");
    c.history.push(&source);
    if c.is_over() {
        c.output.note(
            Source::Error,
            "the console's interpreter has ended: > opens a new one",
        );
        return vec![];
    }
    c.busy = true;
    c.waiting += 1;
    vec![
        Effect::ConsoleEval(source.clone() + "\n"),
        Effect::ConsoleHistory(source),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn continuation_rule() {
        assert!(!continues(&lines(&["1+1"])));
        assert!(!continues(&lines(&["await sleepy(1)"])));
        assert!(continues(&lines(&["async with trio.open_nursery() as n:"])));
        assert!(continues(&lines(&[
            "async with trio.open_nursery() as n:",
            "    n.start_soon(sleepy, 1)"
        ])));
        assert!(!continues(&lines(&[
            "async with trio.open_nursery() as n:",
            "    n.start_soon(sleepy, 1)",
            ""
        ])));
        assert!(continues(&lines(&["x = [1,"])));
        assert!(continues(&lines(&["x = [1,", ""])));
        assert!(!continues(&lines(&["x = [1,", "2]"])));
        assert!(!continues(&lines(&["s = '(:'"])));
        assert!(!continues(&lines(&["x = 1  # note:"])));
        assert!(continues(&lines(&["x = 1 + \\"])));
        assert!(continues(&lines(&["@decorator"])));
        assert!(continues(&lines(&["def f(", "  a):"])));
    }

    #[test]
    fn history_walks_and_keeps_the_draft() {
        let mut h = History::new(vec!["a".into(), "b".into()]);
        assert_eq!(h.up("typing"), Some("b"));
        assert_eq!(h.up(""), Some("a"));
        assert_eq!(h.up(""), Some("a"));
        assert_eq!(h.down(), Some("b"));
        assert_eq!(h.down(), Some("typing"));
        assert_eq!(h.down(), None);
        h.push("b");
        assert_eq!(h.entries.len(), 2, "a repeat is not kept twice");
        h.push("c\nd");
        assert_eq!(h.up(""), Some("c\nd"));
        let mut empty = History::default();
        assert_eq!(empty.up("x"), None);
    }

    #[test]
    fn history_file_round_trip_and_bound() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("deck.history");
        append_history(&path, "await sleepy(1)").unwrap();
        append_history(&path, "async with x:\n    pass").unwrap();
        assert_eq!(
            load_history(&path),
            vec![
                "await sleepy(1)".to_string(),
                "async with x:\n    pass".into()
            ]
        );
        for i in 0..(2 * HISTORY_MAX + 1) {
            append_history(&path, &i.to_string()).unwrap();
        }
        let h = load_history(&path);
        assert_eq!(h.len(), HISTORY_MAX);
        assert_eq!(h.last().unwrap(), &(2 * HISTORY_MAX).to_string());
    }

    #[test]
    fn words_and_prefixes() {
        assert_eq!(word_at_end("await trio.open_n"), "trio.open_n");
        assert_eq!(word_at_end("x = "), "");
        assert_eq!(
            common_prefix(&["sleepy(".into(), "sleeper".into()]),
            "sleep"
        );
    }
}
