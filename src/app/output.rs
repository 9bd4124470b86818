//! The output of one run of a slide: a bounded scrollback of lines (each with its time and the
//! task that printed it), the tasks seen, and how the run ended. Fed by kernel events; read by
//! the output pane and by the headless runner. Memory is bounded whatever the demo prints: at
//! most [`SCROLLBACK`] lines of at most [`LINE_MAX`] characters each (plus a short marker).

use std::collections::{HashMap, VecDeque};

use crate::kernel::process::ChildMsg;
use crate::kernel::protocol::Event;

pub use super::sanitize::{sanitize, sanitize_keep_newlines};
pub use super::tasks::{Source, TaskInfo};

/// Lines kept per run; older ones are dropped (and counted) so a flood cannot eat memory.
pub const SCROLLBACK: usize = 10_000;

/// Characters kept of one line. A longer line (a 10 MB print, or text without a newline that
/// never ends) keeps its beginning and ends in a marker saying how long it really was, so
/// neither memory nor the pane's re-wrapping on every frame grows with it.
pub const LINE_MAX: usize = 2_000;

/// The line a run gets when its output contained control codes (which [`sanitize`] removes).
pub const CONTROLS_NOTE: &str =
    "terminal control codes in the demo's output (colours, cursor moves, titles, bells) were removed";

/// How long set-up may take before the status bar and the pane say what it is doing.
pub const SETUP_VISIBLE: f64 = 0.3;

/// One line of output.
#[derive(Debug, Clone, PartialEq)]
pub struct OutLine {
    /// Seconds since the run started.
    pub t: f64,
    pub source: Source,
    /// Sanitised text, without the newline.
    pub text: String,
    /// False while the line is a partial one that may still grow.
    pub complete: bool,
    /// Characters dropped beyond [`LINE_MAX`] (then `text` ends in [`cut_marker`]).
    pub cut: usize,
}

/// How a run stands.
#[derive(Debug, Clone, PartialEq)]
pub enum RunStatus {
    Starting,
    Running,
    Ok,
    Error,
    Stopped,
    /// The interpreter ended without saying `done` (os._exit, segfault, SIGKILL).
    Died(String),
}

impl RunStatus {
    pub fn is_over(&self) -> bool {
        !matches!(self, RunStatus::Starting | RunStatus::Running)
    }
}

/// Everything one run produced.
#[derive(Debug, Clone)]
pub struct RunOutput {
    pub slide: usize,
    /// The interpreter running it.
    pub child: u64,
    pub lines: VecDeque<OutLine>,
    pub dropped: usize,
    pub tasks: HashMap<u64, TaskInfo>,
    pub status: RunStatus,
    /// Latest harness time seen (seconds since the run started).
    pub last_t: f64,
    /// Set when the speaker asked to stop, so a SIGKILL reads as a stop, not a crash.
    pub stop_requested: bool,
    /// Talk-clock time when the run started, and the wall time it has been running since (kept
    /// current by ticks, so the clock moves while the demo is quiet).
    pub started_at: std::time::Duration,
    pub wall: f64,
    /// How many lines are still partial (so complete output skips looking for them).
    partial: usize,
    /// Listening sockets the demo opened: (host, port).
    pub listeners: Vec<(String, u16)>,
    /// Nurseries, task states, cancel scopes and timeline marks (see [`super::tree`]).
    pub tree: super::tree::Tree,
    /// Set when this is a replay of a recording: what to mark it with (its date).
    pub replay: Option<String>,
    /// Whether the run was told that control codes were removed from its output (once).
    controls_noted: bool,
    /// While set-up runs: the earlier slide being re-created and its deck line.
    pub setup: Option<(usize, usize)>,
}

/// Outputs with more lines than this are freed off the loop (see [`RunOutput::discard`]).
const DISCARD_OFF_LOOP: usize = 2_000;

impl RunOutput {
    /// Frees a replaced run's output. A flood's hundred thousand lines take milliseconds to
    /// free, and the key that replaced it (`r` again) is waiting for its frame: big ones are
    /// freed on a thread of their own.
    pub fn discard(self) {
        if self.lines.len() > DISCARD_OFF_LOOP {
            let _ = std::thread::Builder::new()
                .name("discard".into())
                .spawn(move || drop(self));
        }
    }

    pub fn new(slide: usize, child: u64) -> RunOutput {
        RunOutput {
            slide,
            child,
            lines: VecDeque::new(),
            dropped: 0,
            tasks: HashMap::new(),
            status: RunStatus::Starting,
            last_t: 0.0,
            stop_requested: false,
            started_at: std::time::Duration::ZERO,
            wall: 0.0,
            partial: 0,
            listeners: Vec::new(),
            tree: super::tree::Tree::default(),
            controls_noted: false,
            setup: None,
            replay: None,
        }
    }

    fn push(&mut self, mut line: OutLine) {
        cap(&mut line);
        if self.lines.len() >= SCROLLBACK {
            if let Some(old) = self.lines.pop_front() {
                if !old.complete {
                    self.partial -= 1;
                }
            }
            self.dropped += 1;
        }
        self.lines.push_back(line);
    }

    /// Adds printed text; a chunk without a newline continues the last partial line of the
    /// same source.
    fn push_text(&mut self, t: f64, source: Source, text: &str) {
        // Said once, so that a speaker whose colours or progress bar vanished knows why.
        if !self.controls_noted
            && text
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            self.controls_noted = true;
            self.note(Source::Info, CONTROLS_NOTE);
        }
        for piece in text.split_inclusive('\n') {
            let complete = piece.ends_with('\n');
            let body = piece.strip_suffix('\n').unwrap_or(piece);
            let open = if self.partial > 0 {
                self.lines
                    .iter_mut()
                    .rev()
                    .take(64)
                    .find(|l| !l.complete && l.source == source)
            } else {
                None
            };
            match open {
                Some(line) => {
                    append(line, body);
                    line.complete = complete;
                    if complete {
                        self.partial -= 1;
                    }
                }
                None => {
                    if !complete {
                        self.partial += 1;
                    }
                    self.push(OutLine {
                        t,
                        source: source.clone(),
                        text: sanitize(body),
                        complete,
                        cut: 0,
                    })
                }
            }
        }
    }

    /// Echoes a line the speaker sent to the demo's stdin, as a terminal would: after the
    /// prompt the demo left open (`input("name? ")`), which it completes, or on a line of its
    /// own.
    pub fn echo_input(&mut self, text: &str) {
        if self.partial > 0 {
            let open =
                self.lines.iter_mut().rev().take(64).find(|l| {
                    !l.complete && matches!(l.source, Source::Task { stderr: false, .. })
                });
            if let Some(line) = open {
                append(line, text);
                line.complete = true;
                self.partial -= 1;
                return;
            }
        }
        self.note(Source::Input, text);
    }

    /// Adds a message line (info or error), one per text line.
    pub fn note(&mut self, source: Source, text: &str) {
        let t = self.last_t;
        for l in text.trim_end_matches('\n').split('\n') {
            self.push(OutLine {
                t,
                source: source.clone(),
                text: sanitize(l),
                complete: true,
                cut: 0,
            });
        }
    }

    /// Folds one message from the interpreter into the output.
    pub fn apply(&mut self, msg: &ChildMsg) {
        match msg {
            ChildMsg::Event(ev) => self.apply_event(ev),
            ChildMsg::Events(evs) => evs.iter().for_each(|ev| self.apply_event(ev)),
            ChildMsg::Raw { stream, text } => {
                let source = Source::Raw {
                    stderr: *stream == "stderr",
                };
                let t = self.last_t;
                self.push_text(t, source, text);
            }
            ChildMsg::ProtocolError(e) => self.note(Source::Error, e),
            ChildMsg::Exited { code, signal, done } => {
                if !*done && !self.status.is_over() {
                    if self.stop_requested {
                        self.status = RunStatus::Stopped;
                        self.note(Source::Info, "stopped by presenter (killed)");
                    } else {
                        // Only a signal is a death; an exit (`os._exit(n)`) is the demo's
                        // own doing, and 0 is a success like `sys.exit(0)`.
                        match (code, signal) {
                            (Some(0), None) => {
                                self.note(Source::Info, "interpreter exited with code 0");
                                self.status = RunStatus::Ok;
                            }
                            (code, signal) => {
                                let why = match (code, signal) {
                                    (_, Some(s)) => format!("interpreter died (signal {s})"),
                                    (Some(c), _) => format!("interpreter exited with code {c}"),
                                    _ => "interpreter died".to_string(),
                                };
                                self.note(Source::Error, &why);
                                self.status = RunStatus::Died(why);
                            }
                        }
                    }
                }
                for l in self.lines.iter_mut() {
                    l.complete = true;
                }
                self.partial = 0;
            }
        }
    }

    fn apply_event(&mut self, ev: &Event) {
        match ev {
            Event::Ready { .. } | Event::Unknown => {}
            // Console mode (see `app::console`): the prompt and completions are the console's.
            Event::Prompt { t } | Event::Complete { t, .. } => self.seen(*t),
            Event::Result { t, text } => {
                self.seen(*t);
                self.push_text(*t, Source::Raw { stderr: false }, &format!("{text}\n"));
            }
            Event::Setup { t, slide, line } => {
                self.seen(*t);
                self.setup = slide.map(|s| (s, line.unwrap_or(0)));
            }
            Event::Listen { t, host, port, .. } => {
                self.seen(*t);
                self.listeners.push((host.clone(), *port));
                let addr = if host.contains(':') {
                    format!("[{host}]:{port}")
                } else {
                    format!("{host}:{port}")
                };
                self.note(
                    Source::Info,
                    &format!("listening on {addr} (c opens a client, or: nc {host} {port})"),
                );
            }
            Event::Out {
                t,
                task,
                stream,
                text,
            } => {
                self.seen(*t);
                let source = Source::Task {
                    task: *task,
                    stderr: stream == "stderr",
                };
                self.push_text(*t, source, text);
            }
            Event::Task {
                t,
                id,
                name,
                parent,
                ..
            } => {
                self.seen(*t);
                let index = self.tasks.len();
                let entry = self.tasks.entry(*id).or_insert(TaskInfo {
                    name: name.clone(),
                    index,
                    parent: *parent,
                    started: *t,
                    ended: None,
                });
                entry.parent = *parent;
            }
            Event::TaskExit {
                t,
                id,
                outcome,
                error,
            } => {
                self.seen(*t);
                if let Some(task) = self.tasks.get_mut(id) {
                    task.ended = Some((*t, outcome.clone(), error.clone()));
                }
            }
            Event::Defined { t, names } => {
                self.seen(*t);
                self.note(Source::Info, &format!("defined: {}", names.join(", ")));
            }
            Event::Info { t, text } => {
                self.seen(*t);
                self.note(Source::Info, text);
            }
            Event::Error {
                t,
                slide,
                setup,
                line,
                traceback,
            } => {
                self.seen(*t);
                if *setup {
                    let at = line.map(|l| format!(", line {l}")).unwrap_or_default();
                    self.note(
                        Source::Error,
                        &format!("error in the set-up of slide {slide}{at} (an earlier slide, replayed for its definitions):"),
                    );
                }
                self.note(Source::Error, traceback);
            }
            Event::Done { t, status } => {
                self.seen(*t);
                self.status = match status.as_str() {
                    "ok" => RunStatus::Ok,
                    "stopped" => RunStatus::Stopped,
                    _ => RunStatus::Error,
                };
            }
            Event::Nursery { t, .. }
            | Event::NurseryExit { t, .. }
            | Event::State { t, .. }
            | Event::Scope { t, .. }
            | Event::ScopeFired { t, .. }
            | Event::ScopeExit { t, .. } => self.seen(*t),
        }
        if let Some((source, text)) = self.tree.apply(ev, &self.tasks) {
            self.note(source, &text);
        }
    }

    fn seen(&mut self, t: f64) {
        if self.status == RunStatus::Starting {
            self.status = RunStatus::Running;
        }
        if t > self.last_t {
            self.last_t = t;
        }
    }

    /// `set-up: slide 4 · 2.1 s · Esc stops` while set-up has taken longer than
    /// [`SETUP_VISIBLE`]; quick set-ups stay invisible.
    pub fn setup_progress(&self) -> Option<String> {
        let (slide, _) = self.setup?;
        let t = self.elapsed();
        (!self.status.is_over() && t >= SETUP_VISIBLE)
            .then(|| format!("set-up: slide {slide} · {t:.1} s · Esc stops"))
    }

    /// Seconds the run has been going (or went), for the status bar.
    pub fn elapsed(&self) -> f64 {
        self.wall.max(self.last_t)
    }

    /// The display name of a line's task (`sleepy(3)`), if it has one.
    pub fn task_name(&self, source: &Source) -> Option<&str> {
        match source {
            Source::Task { task: Some(id), .. } => self.tasks.get(id).map(|t| t.name.as_str()),
            _ => None,
        }
    }
}

/// Adds raw printed text to a line that may already be cut: beyond [`LINE_MAX`] only the count
/// grows, and the text is not even cleaned (a 10 MB line costs one character count).
fn append(line: &mut OutLine, raw: &str) {
    if line.cut == 0 {
        line.text.push_str(&sanitize(raw));
        cap(line);
        return;
    }
    let kept = line.text.len() - cut_marker(line.cut).len();
    line.text.truncate(kept);
    // (Escape sequences in the dropped part count as characters: it is a length, not a view.)
    line.cut += raw.chars().count();
    line.text.push_str(&cut_marker(line.cut));
}

/// Cuts a line longer than [`LINE_MAX`] characters, ending it in [`cut_marker`].
fn cap(line: &mut OutLine) {
    // A line of at most LINE_MAX bytes has at most LINE_MAX characters: nothing to count.
    if line.cut > 0 || line.text.len() <= LINE_MAX {
        return;
    }
    let Some((end, _)) = line.text.char_indices().nth(LINE_MAX) else {
        return;
    };
    line.cut = line.text[end..].chars().count();
    line.text.truncate(end);
    line.text.push_str(&cut_marker(line.cut));
    // What the line grew to before the cut (up to twice its length) is given back.
    line.text.shrink_to_fit();
}

/// The end of a cut line: ` … [line of 10,000,000 characters cut to 2,000]`.
pub fn cut_marker(cut: usize) -> String {
    format!(
        " … [line of {} characters cut to {}]",
        thousands(LINE_MAX + cut),
        thousands(LINE_MAX)
    )
}

/// `1234567` as `1,234,567`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(t: f64, task: Option<u64>, text: &str) -> ChildMsg {
        ChildMsg::Event(Event::Out {
            t,
            task,
            stream: "stdout".into(),
            text: text.into(),
        })
    }

    #[test]
    fn sanitize_keeps_text_and_drops_control() {
        assert_eq!(sanitize("a\u{1b}[2Jb\u{1b}[31mc\u{1b}[0m"), "abc");
        assert_eq!(sanitize("\u{1b}]0;title\u{7}x"), "x");
        assert_eq!(sanitize("\u{1b}]52;c;ZXZpbA==\u{1b}\\y"), "y");
        assert_eq!(sanitize("a\rb\u{8}c\td"), "abc    d");
        assert_eq!(sanitize("ಠ_ಠ 漢字 🎉"), "ಠ_ಠ 漢字 🎉");
    }

    #[test]
    fn partial_lines_join_and_scrollback_is_bounded() {
        let mut run = RunOutput::new(1, 1);
        run.apply(&out(0.1, Some(1), "Sleep"));
        run.apply(&out(0.2, Some(2), "other\n"));
        run.apply(&out(0.3, Some(1), "ing\n"));
        let texts: Vec<_> = run.lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, vec!["Sleeping", "other"]);
        for i in 0..SCROLLBACK + 5 {
            run.apply(&out(1.0, None, &format!("{i}\n")));
        }
        assert_eq!(run.lines.len(), SCROLLBACK);
        assert_eq!(run.dropped, 7);
    }

    #[test]
    fn removed_control_codes_are_mentioned_once() {
        let mut run = RunOutput::new(1, 1);
        run.push_text(0.0, Source::Raw { stderr: false }, "plain\n");
        assert!(run.lines.iter().all(|l| l.text != CONTROLS_NOTE));
        run.push_text(
            0.1,
            Source::Raw { stderr: false },
            "\u{1b}[31mred\u{1b}[0m\n",
        );
        run.push_text(0.2, Source::Raw { stderr: false }, "\u{7}bell\r\n");
        let texts: Vec<&str> = run.lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, vec!["plain", CONTROLS_NOTE, "red", "bell"]);
    }

    #[test]
    fn a_ten_megabyte_line_is_cut_and_says_so() {
        let mut run = RunOutput::new(1, 1);
        // The harness sends a long line in pieces of 600 characters, the last with the newline.
        let piece = "x".repeat(600);
        for _ in 0..16_666 {
            run.apply(&out(0.1, Some(1), &piece));
        }
        run.apply(&out(0.2, Some(1), &"x".repeat(400 - 1)));
        run.apply(&out(0.2, Some(1), "y\n"));
        run.apply(&out(0.3, Some(1), "after\n"));
        assert_eq!(run.lines.len(), 2);
        let line = &run.lines[0];
        assert!(line.complete);
        assert_eq!(line.cut, 10_000_000 - LINE_MAX);
        assert_eq!(
            line.text,
            format!("{}{}", "x".repeat(LINE_MAX), cut_marker(line.cut))
        );
        assert!(line
            .text
            .ends_with(" … [line of 10,000,000 characters cut to 2,000]"));
        assert!(line.text.capacity() < 2 * LINE_MAX + 100);
        assert_eq!(run.lines[1].text, "after");
    }

    #[test]
    fn a_line_that_never_ends_stays_bounded_and_counts_on() {
        let mut run = RunOutput::new(1, 1);
        let raw = |text: &str| ChildMsg::Raw {
            stream: "stdout",
            text: text.into(),
        };
        run.apply(&raw(&"ab".repeat(LINE_MAX)));
        assert_eq!(run.lines[0].cut, LINE_MAX);
        for _ in 0..1000 {
            run.apply(&raw("zzzz"));
        }
        let line = &run.lines[0];
        assert!(!line.complete);
        assert_eq!(line.cut, LINE_MAX + 4000);
        assert!(line.text.ends_with(&cut_marker(LINE_MAX + 4000)));
        assert_eq!(
            line.text.chars().count(),
            LINE_MAX + cut_marker(line.cut).chars().count()
        );
        // Messages are cut the same way (a traceback of an exception with a huge message).
        run.note(
            Source::Error,
            &format!("ValueError: {}", "é".repeat(3 * LINE_MAX)),
        );
        assert_eq!(run.lines[1].cut, 2 * LINE_MAX + "ValueError: ".len());
        assert_eq!(
            cut_marker(1_234_567 - LINE_MAX),
            " … [line of 1,234,567 characters cut to 2,000]"
        );
    }

    #[test]
    fn exit_without_done_is_a_death_unless_stopped() {
        let mut run = RunOutput::new(1, 1);
        run.apply(&ChildMsg::Exited {
            code: Some(3),
            signal: None,
            done: false,
        });
        assert_eq!(
            run.status,
            RunStatus::Died("interpreter exited with code 3".into())
        );
        // os._exit(0): a normal exit, said as such; a signal is a death.
        let mut run = RunOutput::new(1, 1);
        run.apply(&ChildMsg::Exited {
            code: Some(0),
            signal: None,
            done: false,
        });
        assert_eq!(run.status, RunStatus::Ok);
        assert!(run
            .lines
            .iter()
            .any(|l| l.text == "interpreter exited with code 0"));
        assert!(!run.lines.iter().any(|l| l.text.contains("died")));
        let mut run = RunOutput::new(1, 1);
        run.apply(&ChildMsg::Exited {
            code: None,
            signal: Some(9),
            done: false,
        });
        assert_eq!(
            run.status,
            RunStatus::Died("interpreter died (signal 9)".into())
        );
        let mut run = RunOutput::new(1, 1);
        run.stop_requested = true;
        run.apply(&ChildMsg::Exited {
            code: None,
            signal: Some(9),
            done: false,
        });
        assert_eq!(run.status, RunStatus::Stopped);
    }

    #[test]
    fn bidi_and_zero_width_characters_are_made_visible() {
        assert_eq!(sanitize("abc\u{202e}fed"), "abc<U+202E>fed");
        for c in ('\u{200b}'..='\u{200f}')
            .chain('\u{202a}'..='\u{202e}')
            .chain('\u{2066}'..='\u{2069}')
            .chain(['\u{feff}'])
        {
            let out = sanitize(&format!("x{c}y"));
            assert_eq!(out, format!("x<U+{:04X}>y", c as u32));
            assert!(!out.contains(c));
        }
        // The joiner (U+200D) is zero-width too: an emoji sequence shows its parts.
        assert_eq!(sanitize("👨\u{200d}👩"), "👨<U+200D>👩");
        assert_eq!(sanitize("e\u{301}"), "e\u{301}");
    }
}
