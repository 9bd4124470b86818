//! Key bindings: a key press becomes an [`Action`] (data). One table ([`ROWS`]) gives the
//! default bindings and the help overlay's text; the config file can rebind any action.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Everything the speaker can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Action {
    Next,
    Prev,
    First,
    Last,
    Digit(u8),
    /// Enter: jump to the typed number, or run an exec slide.
    Enter,
    ScrollDown,
    ScrollUp,
    OutputUp,
    OutputDown,
    Run,
    /// Play the slide's recording (on a replay: run live again).
    Replay,
    /// Esc: stop a demo, close help, clear a typed number.
    Escape,
    /// Ctrl-c: stop a demo, or quit when nothing runs.
    Interrupt,
    ToggleHelp,
    ToggleTimes,
    /// The task tree beside the output.
    ToggleTree,
    /// The timeline of the run's tasks.
    ToggleTimeline,
    /// Open a built-in client to the demo's listening port.
    OpenClient,
    /// Type into the client panes (Tab).
    FocusClients,
    /// Blank the audience screen, or bring it back (`b`, `.`).
    Blank,
    /// The overview of all slides (`o`), or straight into its search (`/`).
    Overview,
    Search,
    /// Pause or resume the talk timer; reset it to zero.
    TimerPause,
    TimerReset,
    /// Switch to the talk's next language, on the same slide (`L`).
    Language,
    /// Show or hide the talk clock on the audience status bar (`C`).
    ToggleClock,
    /// Edit the slide's (picked) exec block in the presenter (`e`) or in `$EDITOR` (`E`).
    Edit,
    EditExternal,
    /// Drop the speaker's edit of the block: back to the deck's code (`u`).
    Revert,
    /// Write the edited block back into the deck file (`W`).
    WriteBack,
    /// Step to the next / previous exec block of the slide, to run just that one (`}` `{`).
    PickNext,
    PickPrev,
    /// Type into the running demo's stdin (`i`).
    FocusInput,
    /// Open the trio console on the slide, or go back into it (`>`).
    Console,
    Quit,
}

/// The keymap: every binding, with its help text. Dispatch ([`Keymap::action`]), the help
/// overlay ([`Keymap::help`]) and the config file's `[keys]` table all read this one table,
/// so they cannot drift apart. A row of the help may cover several actions
/// (`Home g / End G`: first / last slide).
const ROWS: &[Row] = &[
    row(
        "next slide",
        &[(Action::Next, &["Right", "Space", "l", "n", "PgDn"])],
    ),
    row(
        "previous slide",
        &[(Action::Prev, &["Left", "Backspace", "h", "p", "PgUp"])],
    ),
    row(
        "first / last slide",
        &[
            (Action::First, &["Home", "g"]),
            (Action::Last, &["End", "G"]),
        ],
    ),
    Row {
        label: Some("12 Enter"),
        help: "jump to slide 12 (Enter on an exec slide runs it)",
        actions: &[(Action::Enter, &["Enter"])],
    },
    row(
        "scroll a tall slide",
        &[
            (Action::ScrollDown, &["j", "Down"]),
            (Action::ScrollUp, &["k", "Up"]),
        ],
    ),
    row("run the slide's code", &[(Action::Run, &["r", "Ctrl-e"])]),
    row(
        "play the rehearsal's recording (on a replay: run live)",
        &[(Action::Replay, &["R"])],
    ),
    row(
        "stop the running demo",
        &[(Action::Escape, &["Esc"]), (Action::Interrupt, &["Ctrl-c"])],
    ),
    row(
        "scroll the output (] at the end follows)",
        &[(Action::OutputUp, &["["]), (Action::OutputDown, &["]"])],
    ),
    row(
        "timestamps / task tree / timeline on/off",
        &[
            (Action::ToggleTimes, &["t"]),
            (Action::ToggleTree, &["T"]),
            (Action::ToggleTimeline, &["v"]),
        ],
    ),
    row(
        "open a client to the demo's server (typing goes to it)",
        &[(Action::OpenClient, &["c"])],
    ),
    row(
        "type into the clients / next client",
        &[(Action::FocusClients, &["Tab"])],
    ),
    Row {
        label: Some("Enter / Ctrl-d"),
        help: "in a client: send the line / send EOF",
        actions: &[],
    },
    Row {
        label: Some("Ctrl-w / Esc"),
        help: "in a client: close it / back to the slides",
        actions: &[],
    },
    row(
        "blank the screen / bring it back",
        &[(Action::Blank, &["b", "."])],
    ),
    row(
        "overview of all slides / search text and notes",
        &[(Action::Overview, &["o"]), (Action::Search, &["/"])],
    ),
    row(
        "pause or resume / reset the talk timer",
        &[(Action::TimerPause, &["s"]), (Action::TimerReset, &["S"])],
    ),
    row(
        "talk clock on the status bar on/off",
        &[(Action::ToggleClock, &["C"])],
    ),
    row(
        "next language (translations), same slide",
        &[(Action::Language, &["L"])],
    ),
    row(
        "edit the block here / in $EDITOR",
        &[(Action::Edit, &["e"]), (Action::EditExternal, &["E"])],
    ),
    Row {
        label: Some("Ctrl-e s z / Esc"),
        help: "in the editor: run, write, undo / done",
        actions: &[],
    },
    row(
        "revert the edit / write it into the deck file",
        &[(Action::Revert, &["u"]), (Action::WriteBack, &["W"])],
    ),
    row(
        "pick one exec block: r runs only it (earlier ones set up)",
        &[(Action::PickNext, &["}"]), (Action::PickPrev, &["{"])],
    ),
    row(
        "type into the demo's input: Enter sends, Ctrl-d EOF",
        &[(Action::FocusInput, &["i"])],
    ),
    row(
        "trio console in the slide's namespace (top-level await)",
        &[(Action::Console, &[">"])],
    ),
    Row {
        label: Some("Ctrl-c / Ctrl-d / Esc"),
        help: "in the console: cancel / close / back to the slides",
        actions: &[],
    },
    row(
        "this help / quit (Ctrl-c too, when idle)",
        &[(Action::ToggleHelp, &["?"]), (Action::Quit, &["q"])],
    ),
];

/// One row of the keymap table (and of the help overlay).
struct Row {
    /// Shown instead of the actions' keys (for digits, and for modes that have no action).
    label: Option<&'static str>,
    help: &'static str,
    actions: &'static [(Action, &'static [&'static str])],
}

const fn row(help: &'static str, actions: &'static [(Action, &'static [&'static str])]) -> Row {
    Row {
        label: None,
        help,
        actions,
    }
}

/// A key as the keymap and the config file write it: `r`, `G`, `Ctrl-e`, `Right`, `PgDn`,
/// `Space`, `F5`. Shift is part of the character (`G`), not a modifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
}

/// Names of the keys that are not characters, as written in the keymap.
const NAMED: &[(&str, KeyCode)] = &[
    ("Right", KeyCode::Right),
    ("Left", KeyCode::Left),
    ("Up", KeyCode::Up),
    ("Down", KeyCode::Down),
    ("Home", KeyCode::Home),
    ("End", KeyCode::End),
    ("PgDn", KeyCode::PageDown),
    ("PgUp", KeyCode::PageUp),
    ("Enter", KeyCode::Enter),
    ("Esc", KeyCode::Esc),
    ("Tab", KeyCode::Tab),
    ("Backspace", KeyCode::Backspace),
    ("Space", KeyCode::Char(' ')),
];

impl Key {
    /// Parses `r`, `Ctrl-e`, `PgDn`, `F5` (names are case-insensitive, characters are not).
    pub fn parse(text: &str) -> Result<Key, String> {
        let (ctrl, rest) = match text.get(..5) {
            Some(p) if p.eq_ignore_ascii_case("ctrl-") && text.len() > 5 => (true, &text[5..]),
            _ => (false, text),
        };
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(c),
            _ => NAMED
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(rest))
                .map(|(_, c)| *c)
                .or_else(|| {
                    let n = rest.strip_prefix(['F', 'f'])?.parse::<u8>().ok()?;
                    (1..=12).contains(&n).then_some(KeyCode::F(n))
                })
                .ok_or_else(|| {
                    format!(
                        "unknown key `{text}` (a character, Ctrl-x, F1-F12, or one of: {})",
                        NAMED.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                    )
                })?,
        };
        Ok(Key { code, ctrl })
    }

    /// The key of a key press.
    pub fn of(event: KeyEvent) -> Key {
        Key {
            code: event.code,
            ctrl: event.modifiers.contains(KeyModifiers::CONTROL),
        }
    }

    /// How the help overlay shows the key.
    pub fn label(&self) -> String {
        let name = match self.code {
            KeyCode::Right => "→".to_string(),
            KeyCode::Left => "←".to_string(),
            KeyCode::Up => "↑".to_string(),
            KeyCode::Down => "↓".to_string(),
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::F(n) => format!("F{n}"),
            code => NAMED
                .iter()
                .find(|(_, c)| *c == code)
                .map_or_else(|| format!("{code:?}"), |(n, _)| n.to_string()),
        };
        if self.ctrl {
            format!("Ctrl-{name}")
        } else {
            name
        }
    }
}

/// The bindings in force: the defaults of [`ROWS`], with the config file's changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Keymap {
    /// Per action, in table order, its keys.
    keys: Vec<(Action, Vec<Key>)>,
}

impl Default for Keymap {
    fn default() -> Keymap {
        let keys = ROWS
            .iter()
            .flat_map(|r| r.actions.iter())
            .map(|(a, ks)| {
                let ks = ks
                    .iter()
                    .map(|k| Key::parse(k).expect("the default keys parse"))
                    .collect();
                (*a, ks)
            })
            .collect();
        Keymap { keys }
    }
}

impl Keymap {
    /// The action a key press asks for. Digits always type a slide number.
    pub fn action(&self, event: KeyEvent) -> Option<Action> {
        let key = Key::of(event);
        if let (KeyCode::Char(c @ '0'..='9'), false) = (key.code, key.ctrl) {
            return Some(Action::Digit(c as u8 - b'0'));
        }
        self.keys
            .iter()
            .find(|(_, ks)| ks.contains(&key))
            .map(|(a, _)| *a)
    }

    /// The keys bound to `action`.
    pub fn keys_of(&self, action: Action) -> &[Key] {
        self.keys
            .iter()
            .find(|(a, _)| *a == action)
            .map_or(&[], |(_, ks)| ks.as_slice())
    }

    /// Binds `action` to `keys` instead of its defaults; a key taken from another action
    /// moves (the config file said so last). Errors name the action or key that is wrong.
    pub fn rebind(&mut self, action: &str, keys: &[String]) -> Result<(), String> {
        let Some(index) = self
            .keys
            .iter()
            .position(|(a, _)| action_name(*a) == action)
        else {
            let known: Vec<String> = self.keys.iter().map(|(a, _)| action_name(*a)).collect();
            return Err(format!(
                "unknown action `{action}` (known: {})",
                known.join(", ")
            ));
        };
        let keys = keys
            .iter()
            .map(|k| Key::parse(k))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(digit) = keys
            .iter()
            .find(|k| !k.ctrl && matches!(k.code, KeyCode::Char('0'..='9')))
        {
            return Err(format!(
                "`{}` types slide numbers and cannot be bound",
                digit.label()
            ));
        }
        for (_, others) in self.keys.iter_mut() {
            others.retain(|k| !keys.contains(k));
        }
        self.keys[index].1 = keys;
        Ok(())
    }

    /// The help overlay's rows: the keys as bound now, and what they do.
    pub fn help(&self) -> Vec<(String, &'static str)> {
        ROWS.iter()
            .map(|r| {
                let label = r.label.map(str::to_string).unwrap_or_else(|| {
                    r.actions
                        .iter()
                        .map(|(a, _)| {
                            let keys: Vec<String> =
                                self.keys_of(*a).iter().map(Key::label).collect();
                            if keys.is_empty() {
                                "(unbound)".to_string()
                            } else {
                                keys.join(" ")
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(" / ")
                });
                (label, r.help)
            })
            .collect()
    }
}

/// The name an action has in the config file's `[keys]` table (`run`, `toggle_tree`).
pub fn action_name(action: Action) -> String {
    let debug = format!("{action:?}");
    let mut name = String::new();
    for (i, c) in debug.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                name.push('_');
            }
            name.push(c.to_ascii_lowercase());
        } else if c.is_alphanumeric() {
            name.push(c);
        } else {
            break;
        }
    }
    name
}

/// Maps a key to an action with the default bindings (the speaker window, tests).
pub fn action(key: KeyEvent) -> Option<Action> {
    static DEFAULT: std::sync::LazyLock<Keymap> = std::sync::LazyLock::new(Keymap::default);
    DEFAULT.action(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn the_defaults_dispatch_as_the_help_says() {
        let map = Keymap::default();
        let ctrl = KeyModifiers::CONTROL;
        let none = KeyModifiers::NONE;
        assert_eq!(map.action(press(KeyCode::Right, none)), Some(Action::Next));
        assert_eq!(
            map.action(press(KeyCode::Char('e'), ctrl)),
            Some(Action::Run)
        );
        assert_eq!(
            map.action(press(KeyCode::Char('c'), ctrl)),
            Some(Action::Interrupt)
        );
        assert_eq!(
            map.action(press(KeyCode::Char('c'), none)),
            Some(Action::OpenClient)
        );
        assert_eq!(
            map.action(press(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Action::Last)
        );
        assert_eq!(
            map.action(press(KeyCode::Char('7'), none)),
            Some(Action::Digit(7))
        );
        assert_eq!(map.action(press(KeyCode::Char('x'), ctrl)), None);
        // Every key the help shows reaches the action of its row.
        for r in ROWS {
            for (a, keys) in r.actions {
                for k in *keys {
                    let key = Key::parse(k).unwrap();
                    let mods = if key.ctrl { ctrl } else { none };
                    assert_eq!(map.action(press(key.code, mods)), Some(*a), "{k}");
                }
            }
        }
    }

    #[test]
    fn no_key_is_bound_twice_by_default() {
        let map = Keymap::default();
        let mut seen = std::collections::HashSet::new();
        for (a, keys) in &map.keys {
            for k in keys {
                assert!(seen.insert(*k), "{k:?} bound twice (again for {a:?})");
            }
        }
    }

    #[test]
    fn rebinding_moves_keys_and_the_help_follows() {
        let mut map = Keymap::default();
        map.rebind("run", &["F5".into(), "x".into()]).unwrap();
        assert_eq!(
            map.action(press(KeyCode::F(5), KeyModifiers::NONE)),
            Some(Action::Run)
        );
        assert_eq!(
            map.action(press(KeyCode::Char('r'), KeyModifiers::NONE)),
            None
        );
        map.rebind("toggle_tree", &["r".into()]).unwrap();
        assert_eq!(
            map.action(press(KeyCode::Char('r'), KeyModifiers::NONE)),
            Some(Action::ToggleTree)
        );
        let help = map.help();
        assert!(
            help.contains(&("F5 x".to_string(), "run the slide's code")),
            "{help:?}"
        );
        assert!(
            help.contains(&(
                "t / r / v".to_string(),
                "timestamps / task tree / timeline on/off"
            )),
            "{help:?}"
        );
        map.rebind("quit", &["ctrl-q".into()]).unwrap();
        assert_eq!(
            map.action(press(KeyCode::Char('q'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
    }

    #[test]
    fn bad_bindings_say_what_is_wrong() {
        let mut map = Keymap::default();
        let e = map.rebind("runn", &["r".into()]).unwrap_err();
        assert!(
            e.contains("unknown action `runn`") && e.contains("toggle_tree"),
            "{e}"
        );
        let e = map.rebind("run", &["Ctrl-".into()]).unwrap_err();
        assert!(e.contains("unknown key `Ctrl-`"), "{e}");
        let e = map.rebind("run", &["F13".into()]).unwrap_err();
        assert!(e.contains("unknown key `F13`"), "{e}");
        let e = map.rebind("run", &["4".into()]).unwrap_err();
        assert!(e.contains("slide numbers"), "{e}");
        assert_eq!(map, Keymap::default(), "a failed rebind changes nothing");
    }
}
