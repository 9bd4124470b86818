//! The wire format between the presenter and the Python harness (see `docs/protocol.md`):
//! events the harness sends on fd 3 and commands the presenter sends on fd 4.

use serde::{Deserialize, Serialize};

/// Where the harness finds the protocol pipes: events it writes, commands it reads.
pub const EVENTS_FD: i32 = 3;
pub const COMMANDS_FD: i32 = 4;

/// One event from the harness. Unknown event types become [`Event::Unknown`] so the schema can
/// grow without breaking older presenters.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "ev", rename_all = "snake_case")]
pub enum Event {
    Ready {
        python: String,
        trio: String,
        pid: u32,
    },
    Out {
        #[serde(default)]
        t: f64,
        task: Option<u64>,
        stream: String,
        text: String,
    },
    Task {
        #[serde(default)]
        t: f64,
        id: u64,
        name: String,
        parent: Option<u64>,
        #[serde(default)]
        nursery: Option<u64>,
    },
    TaskExit {
        #[serde(default)]
        t: f64,
        id: u64,
        outcome: String,
        #[serde(default)]
        error: Option<String>,
    },
    Defined {
        #[serde(default)]
        t: f64,
        names: Vec<String>,
    },
    Info {
        #[serde(default)]
        t: f64,
        text: String,
    },
    Error {
        #[serde(default)]
        t: f64,
        slide: usize,
        setup: bool,
        /// For a set-up error: the deck line of the statement that raised.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        line: Option<usize>,
        traceback: String,
    },
    Done {
        #[serde(default)]
        t: f64,
        status: String,
    },
    // Structured-concurrency events (docs/protocol.md); every field but `id` may be missing.
    /// A nursery of the demo opened, in task `task`.
    Nursery {
        #[serde(default)]
        t: f64,
        id: u64,
        #[serde(default)]
        task: Option<u64>,
    },
    NurseryExit {
        #[serde(default)]
        t: f64,
        id: u64,
    },
    /// Tasks whose scheduling state changed since the last `state` event.
    State {
        #[serde(default)]
        t: f64,
        #[serde(default)]
        running: Vec<u64>,
        #[serde(default)]
        waiting: Vec<u64>,
    },
    /// A cancel scope entered from slide code (`kind` e.g. `move_on_after`, `arg` e.g. `3`).
    Scope {
        #[serde(default)]
        t: f64,
        id: u64,
        #[serde(default)]
        task: Option<u64>,
        #[serde(default, deserialize_with = "text_or_value")]
        kind: String,
        #[serde(default, deserialize_with = "text_or_value")]
        arg: String,
        #[serde(default)]
        deadline: Option<f64>,
    },
    ScopeFired {
        #[serde(default)]
        t: f64,
        id: u64,
        #[serde(default, deserialize_with = "text_or_value")]
        reason: String,
        #[serde(default)]
        cancelled: Vec<u64>,
    },
    ScopeExit {
        #[serde(default)]
        t: f64,
        id: u64,
        #[serde(default)]
        cancelled_caught: bool,
    },
    /// Set-up (earlier slides' definitions) reached `slide`'s block at deck line `line`;
    /// `slide` is null once set-up is over and the slide's own code starts.
    Setup {
        #[serde(default)]
        t: f64,
        #[serde(default)]
        slide: Option<usize>,
        #[serde(default)]
        line: Option<usize>,
    },
    /// The demo opened a listening socket.
    /// Console mode: ready for the next input.
    Prompt {
        #[serde(default)]
        t: f64,
    },
    /// Console mode: the repr of an expression's value.
    Result {
        #[serde(default)]
        t: f64,
        text: String,
    },
    /// Console mode: the names completing `text`.
    Complete {
        #[serde(default)]
        t: f64,
        text: String,
        #[serde(default)]
        matches: Vec<String>,
    },
    Listen {
        #[serde(default)]
        t: f64,
        host: String,
        port: u16,
        #[serde(default)]
        family: String,
    },
    #[serde(other)]
    Unknown,
}

impl Event {
    /// Parses one line from the events pipe; a malformed line is reported, not fatal.
    pub fn parse(line: &str) -> Result<Event, String> {
        serde_json::from_str(line).map_err(|e| format!("bad event from harness ({e}): {line}"))
    }
}

/// A text field that also accepts a number, a boolean or null (as its JSON text, or empty), so
/// `"arg": 3` reads like `"arg": "3"`.
fn text_or_value<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => s,
        serde_json::Value::Null => String::new(),
        v => v.to_string(),
    })
}

/// One runnable block as sent to the harness.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunBlock {
    pub slide: usize,
    pub index: usize,
    pub of: usize,
    /// 1-based deck line of the block's first code line (set-up progress names it).
    pub line: usize,
    pub source: String,
    pub setup: bool,
    /// As set-up, run the block whole, not only its definitions (```` ```exec replay ````).
    pub replay: bool,
}

/// A command to the harness.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Command {
    Run {
        slide: usize,
        blocks: Vec<RunBlock>,
        expose: bool,
    },
    /// A run prepared ahead of `go`: the harness does the set-up and compiles the slide's
    /// blocks, holding back every event, then waits (see [`prepared`]).
    Prepare {
        slide: usize,
        blocks: Vec<RunBlock>,
        expose: bool,
    },
    /// Starts a prepared run.
    Go,
    Cancel,
    /// Console mode: the deck's definitions up to the slide, then a trio REPL.
    Console {
        slide: usize,
        blocks: Vec<RunBlock>,
        expose: bool,
    },
    /// Console mode: one input to run.
    Eval {
        source: String,
    },
    /// Console mode: complete the name `text`.
    Complete {
        text: String,
    },
}

impl Command {
    /// The command as one JSON line, newline included.
    pub fn to_line(&self) -> String {
        let mut s = serde_json::to_string(self).expect("commands always serialise");
        s.push('\n');
        s
    }
}

/// The `prepare` command of a `run` command: the same blocks, started later by [`Command::Go`].
pub fn prepared(run: &Command) -> Option<Command> {
    match run {
        Command::Run {
            slide,
            blocks,
            expose,
        } => Some(Command::Prepare {
            slide: *slide,
            blocks: blocks.clone(),
            expose: *expose,
        }),
        _ => None,
    }
}

/// The `console` command from a `run` command: the same blocks, every one set up.
pub fn into_console(run: Command) -> Command {
    match run {
        Command::Run {
            slide,
            mut blocks,
            expose,
        } => {
            blocks.iter_mut().for_each(|b| b.setup = true);
            Command::Console {
                slide,
                blocks,
                expose,
            }
        }
        other => other,
    }
}

/// Builds the `run` command for slide `slide` (1-based) of a deck.
pub fn run_command(deck: &crate::deck::Deck, slide: usize, expose: bool) -> Command {
    let mut blocks = Vec::new();
    for s in deck.slides.iter().take(slide) {
        let runnable: Vec<_> = s.blocks.iter().filter(|b| b.kind.runs()).collect();
        for (i, b) in runnable.iter().enumerate() {
            blocks.push(RunBlock {
                slide: s.number,
                index: i + 1,
                of: runnable.len(),
                line: b.first_code_line(),
                source: b.source.clone(),
                setup: s.number != slide,
                replay: b.replay,
            });
        }
    }
    Command::Run {
        slide,
        blocks,
        expose,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_and_unknown_events() {
        let e = Event::parse(r#"{"ev":"out","t":1.5,"task":3,"stream":"stdout","text":"hi\n"}"#)
            .unwrap();
        assert_eq!(
            e,
            Event::Out {
                t: 1.5,
                task: Some(3),
                stream: "stdout".into(),
                text: "hi\n".into()
            }
        );
        let e = Event::parse(r#"{"ev":"flux","t":1.0,"id":1,"extra":true}"#).unwrap();
        assert_eq!(e, Event::Unknown);
        assert!(Event::parse("not json").is_err());
    }

    #[test]
    fn parses_structured_concurrency_events_with_missing_fields() {
        let e = Event::parse(
            r#"{"ev":"scope","t":1.0,"id":4,"task":1,"kind":"move_on_after","arg":3,"deadline":4.0,"x":1}"#,
        )
        .unwrap();
        assert_eq!(
            e,
            Event::Scope {
                t: 1.0,
                id: 4,
                task: Some(1),
                kind: "move_on_after".into(),
                arg: "3".into(),
                deadline: Some(4.0)
            }
        );
        let e = Event::parse(r#"{"ev":"scope","id":4}"#).unwrap();
        assert!(matches!(
            e,
            Event::Scope {
                task: None,
                deadline: None,
                ..
            }
        ));
        let e = Event::parse(r#"{"ev":"scope_fired","t":3.0,"id":4}"#).unwrap();
        assert!(matches!(e, Event::ScopeFired { ref cancelled, .. } if cancelled.is_empty()));
        let e = Event::parse(r#"{"ev":"state","t":0.1,"running":[2]}"#).unwrap();
        assert!(matches!(e, Event::State { ref waiting, .. } if waiting.is_empty()));
        for line in [
            r#"{"ev":"nursery","t":0.1,"id":1,"task":1}"#,
            r#"{"ev":"nursery_exit","t":0.2,"id":1}"#,
            r#"{"ev":"scope_exit","t":0.2,"id":4,"cancelled_caught":true}"#,
        ] {
            let e = Event::parse(line).unwrap();
            assert_ne!(e, Event::Unknown);
            // What `run --json` prints parses back to the same event.
            let again = Event::parse(&serde_json::to_string(&e).unwrap()).unwrap();
            assert_eq!(again, e);
        }
    }

    #[test]
    fn run_command_marks_setup_blocks() {
        let deck = crate::deck::Deck::parse(
            std::path::Path::new("t.md"),
            include_str!("../../slides/trio.md"),
        )
        .unwrap();
        let Command::Run { blocks, .. } = run_command(&deck, 12, false) else {
            panic!("not a run command")
        };
        let summary: Vec<_> = blocks
            .iter()
            .map(|b| (b.slide, b.index, b.of, b.setup))
            .collect();
        assert_eq!(
            summary,
            vec![(11, 1, 2, true), (11, 2, 2, true), (12, 1, 1, false)]
        );
        let line = Command::Cancel.to_line();
        assert_eq!(line, "{\"cmd\":\"cancel\"}\n");
    }
}
