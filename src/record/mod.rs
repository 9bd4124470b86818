//! Recordings of runs (docs/recordings.md): the versioned file format, the per-user store
//! under the XDG data directory (one folder per deck, one per slide, the last few runs of each),
//! the digest that ties a recording to the code that ran, and loading with every kind of bad
//! input (corrupt, truncated, from a newer version) turned into one line instead of a crash.
//!
//! [`recorder`] captures live runs off the event loop, [`replay`] plays a recording back as
//! the kernel messages a live run would have sent, [`list`] is `trio-present recordings`.

pub mod list;
pub mod recorder;
pub mod replay;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::deck::Deck;
use crate::kernel::process::ChildMsg;
use crate::kernel::protocol::{self, Event};

/// The `format` field of every recording's header line.
pub const FORMAT: &str = "trio-present-recording";
/// The format version this build writes and the newest it reads.
pub const VERSION: u32 = 1;
/// Recordings kept per slide (the newest good one is kept in addition, so a few failed live
/// attempts never push the rehearsal out).
pub const KEEP: usize = 5;
/// Bytes of events kept per recording; a flood beyond it is stored truncated, with a marker.
pub const MAX_BYTES: usize = 4 << 20;

/// The first line of a recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub version: u32,
    /// The deck's full path when it was recorded.
    pub deck: String,
    pub slide: usize,
    /// [`code_digest`] of the code that ran (set-up included).
    pub digest: String,
    /// When the run started: seconds since the Unix epoch, and the same as local time text.
    pub unix: f64,
    pub date: String,
    pub python: String,
    pub trio: String,
    /// `ok`, `error`, `stopped` or `died`.
    pub status: String,
    /// Seconds from the start of the run to its end.
    pub duration: f64,
    /// What recorded it: `presenter`, `run` or `check`.
    pub source: String,
    /// Event lines that follow (a shorter file was cut off).
    pub events: usize,
    /// Whether events were dropped beyond [`MAX_BYTES`].
    #[serde(default)]
    pub truncated: bool,
}

impl Header {
    /// Whether the run went as the speaker wanted (a server stopped after listening counts).
    pub fn is_good(&self) -> bool {
        matches!(self.status.as_str(), "ok" | "stopped")
    }
}

/// One event of a recording with its time (seconds since the run started).
#[derive(Debug, Clone, PartialEq)]
pub struct Timed {
    pub t: f64,
    pub msg: ChildMsg,
}

/// A loaded recording.
#[derive(Debug, Clone)]
pub struct Recording {
    pub path: PathBuf,
    pub header: Header,
    pub events: Vec<Timed>,
}

/// The digest of what runs for `slide` (1-based): every runnable block of slides 1..=slide,
/// whether it is set-up, and its source. Prose and display code do not count.
pub fn code_digest(deck: &Deck, slide: usize) -> String {
    let mut h = Sha256::new();
    if let protocol::Command::Run { blocks, .. } = protocol::run_command(deck, slide, false) {
        for b in blocks {
            h.update([b.setup as u8, b.replay as u8]);
            h.update((b.source.len() as u64).to_le_bytes());
            h.update(b.source.as_bytes());
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Turns a kernel message into the JSON object stored for it, or None for what is not worth
/// keeping (`ready`, unknown events).
pub fn to_json(msg: &ChildMsg, wall: f64) -> Vec<serde_json::Value> {
    use serde_json::json;
    match msg {
        ChildMsg::Event(Event::Ready { .. } | Event::Unknown) => vec![],
        ChildMsg::Event(ev) => serde_json::to_value(ev).into_iter().collect(),
        ChildMsg::Events(evs) => evs
            .iter()
            .filter(|e| !matches!(e, Event::Ready { .. } | Event::Unknown))
            .filter_map(|e| serde_json::to_value(e).ok())
            .collect(),
        // Bytes around Python and the interpreter's exit have no harness time: they get the
        // time they were received.
        ChildMsg::Raw { stream, text } => {
            vec![json!({"ev": "raw", "t": wall, "stream": stream, "text": text})]
        }
        ChildMsg::ProtocolError(text) => {
            vec![json!({"ev": "protocol_error", "t": wall, "text": text})]
        }
        ChildMsg::Exited { code, signal, done } => vec![json!({
            "ev": "exited", "t": wall, "code": code, "signal": signal, "done": done
        })],
    }
}

/// Reads one stored event line back.
fn from_json(line: &str) -> Result<Timed, String> {
    let v: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let t = v["t"].as_f64().unwrap_or(0.0);
    let text = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    let msg = match v["ev"].as_str() {
        Some("raw") => ChildMsg::Raw {
            stream: if v["stream"] == "stderr" {
                "stderr"
            } else {
                "stdout"
            },
            text: text("text"),
        },
        Some("protocol_error") => ChildMsg::ProtocolError(text("text")),
        Some("exited") => ChildMsg::Exited {
            code: v["code"].as_i64().map(|c| c as i32),
            signal: v["signal"].as_i64().map(|c| c as i32),
            done: v["done"].as_bool().unwrap_or(false),
        },
        Some(_) => ChildMsg::Event(serde_json::from_value(v).map_err(|e| e.to_string())?),
        None => return Err("an event without \"ev\"".into()),
    };
    Ok(Timed { t, msg })
}

/// Why a file is not a usable recording.
fn bad(path: &Path, why: impl std::fmt::Display) -> String {
    format!("{}: {why}; ignored", path.display())
}

/// Reads the header line only (for listings).
pub fn read_header(path: &Path) -> Result<Header, String> {
    let file = std::fs::File::open(path).map_err(|e| bad(path, e))?;
    let mut first = String::new();
    BufReader::new(file)
        .take_line(&mut first)
        .map_err(|e| bad(path, e))?;
    parse_header(path, &first)
}

trait TakeLine {
    fn take_line(&mut self, buf: &mut String) -> std::io::Result<usize>;
}

impl<R: BufRead> TakeLine for R {
    /// `read_line`, but a header line longer than 64 KB is not read whole.
    fn take_line(&mut self, buf: &mut String) -> std::io::Result<usize> {
        use std::io::Read;
        self.by_ref().take(64 * 1024).read_line(buf)
    }
}

fn parse_header(path: &Path, line: &str) -> Result<Header, String> {
    let v: serde_json::Value = serde_json::from_str(line.trim_end())
        .map_err(|_| bad(path, "not a trio-present recording (no header line)"))?;
    if v["format"] != FORMAT {
        return Err(bad(path, "not a trio-present recording"));
    }
    match v["version"].as_u64() {
        Some(n) if n > VERSION as u64 => {
            return Err(bad(
                path,
                format!("recorded by a newer trio-present (format {n}, this one reads {VERSION})"),
            ))
        }
        Some(_) => {}
        None => return Err(bad(path, "header without a version")),
    }
    serde_json::from_value(v).map_err(|e| bad(path, format!("damaged header ({e})")))
}

/// Loads a whole recording. Nothing in it is ever executed: it is data for the output pane.
pub fn load(path: &Path) -> Result<Recording, String> {
    let bytes = std::fs::read(path).map_err(|e| bad(path, e))?;
    let text = String::from_utf8(bytes).map_err(|_| bad(path, "damaged (not UTF-8)"))?;
    let mut lines = text.split_terminator('\n');
    let header = parse_header(path, lines.next().unwrap_or(""))?;
    let mut events = Vec::with_capacity(header.events);
    for (i, line) in lines.enumerate() {
        let ev =
            from_json(line).map_err(|e| bad(path, format!("damaged at line {} ({e})", i + 2)))?;
        events.push(ev);
    }
    if events.len() != header.events || !text.ends_with('\n') {
        return Err(bad(
            path,
            format!(
                "truncated ({} of {} events)",
                events.len().min(header.events),
                header.events
            ),
        ));
    }
    Ok(Recording {
        path: path.to_path_buf(),
        header,
        events,
    })
}

/// Where recordings live: `$XDG_DATA_HOME/trio-present/recordings/<deck>/slide-NNN/*.jsonl`.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// The user's store; `None` only when no home directory can be found.
    pub fn for_user() -> Option<Store> {
        Some(Store::at(crate::dirs::data()?.join("recordings")))
    }

    pub fn at(root: PathBuf) -> Store {
        Store { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The deck's folder: its file stem and a hash of its full path, so two `talk.md` in
    /// different folders keep apart.
    pub fn deck_dir(&self, deck: &Path) -> PathBuf {
        let full = full_path(deck);
        let hash: String = Sha256::digest(full.to_string_lossy().as_bytes())[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let stem: String = full
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .take(40)
            .collect();
        self.root.join(format!("{stem}-{hash}"))
    }

    pub fn slide_dir(&self, deck: &Path, slide: usize) -> PathBuf {
        self.deck_dir(deck).join(format!("slide-{slide:03}"))
    }

    /// The recording files of one slide, oldest first (names start with the time).
    pub fn files(&self, deck: &Path, slide: usize) -> Vec<PathBuf> {
        files_in(&self.slide_dir(deck, slide))
    }

    /// Every slide of the deck that has recordings, with its files (oldest first).
    pub fn all(&self, deck: &Path) -> Vec<(usize, Vec<PathBuf>)> {
        let mut out = Vec::new();
        let Ok(rd) = std::fs::read_dir(self.deck_dir(deck)) else {
            return out;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(n) = name
                .strip_prefix("slide-")
                .and_then(|n| n.parse::<usize>().ok())
            {
                let files = files_in(&e.path());
                if !files.is_empty() {
                    out.push((n, files));
                }
            }
        }
        out.sort_by_key(|(n, _)| *n);
        out
    }

    /// The recording to play for `slide` of `deck`: the newest good one of this exact code
    /// (falling back to the newest of this code), looked for on this slide, then on the deck's
    /// other slides (slides were inserted), then in other decks' folders (the deck moved).
    /// Failing that, the newest (good, if any) recording of this slide of other code, as a
    /// [`Found::Other`].
    /// Damaged files are skipped; their one-line reasons come back for the speaker.
    pub fn find(&self, deck: &Deck, slide: usize) -> Found {
        let digest = code_digest(deck, slide);
        let mut problems = Vec::new();
        let tag = format!("-{}.jsonl", &digest[..12]);
        let mine = self.files(&deck.path, slide);
        let mut candidates: Vec<PathBuf> = mine
            .iter()
            .filter(|p| p.to_string_lossy().ends_with(&tag))
            .cloned()
            .collect();
        if candidates.is_empty() {
            let mut elsewhere: Vec<PathBuf> = walk(&self.root)
                .into_iter()
                .filter(|p| p.to_string_lossy().ends_with(&tag))
                .collect();
            elsewhere.sort_by_key(|p| p.file_name().map(|n| n.to_os_string()));
            candidates = elsewhere;
        }
        let mut fallback = None;
        for path in candidates.iter().rev() {
            match load(path) {
                Ok(r) if r.header.digest == digest && r.header.is_good() => {
                    return Found::Exact(Box::new(r), problems)
                }
                Ok(r) if r.header.digest == digest => {
                    fallback.get_or_insert(r);
                }
                Ok(_) => {}
                Err(e) => problems.push(e),
            }
        }
        if let Some(r) = fallback {
            return Found::Exact(Box::new(r), problems);
        }
        let mut other = None;
        for path in mine.iter().rev() {
            match load(path) {
                Ok(r) if r.header.is_good() => return Found::Other(Box::new(r), problems),
                Ok(r) => {
                    other.get_or_insert(r);
                }
                Err(e) => problems.push(e),
            }
        }
        match other {
            Some(r) => Found::Other(Box::new(r), problems),
            None => Found::None(problems),
        }
    }
}

/// What [`Store::find`] found, with the one-line reasons of damaged files it skipped.
#[derive(Debug)]
pub enum Found {
    Exact(Box<Recording>, Vec<String>),
    /// Only a recording of code that has changed since.
    Other(Box<Recording>, Vec<String>),
    None(Vec<String>),
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "jsonl")
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    files
}

/// Every recording file under the store (two levels: deck, slide).
fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for deck in std::fs::read_dir(root).into_iter().flatten().flatten() {
        for slide in std::fs::read_dir(deck.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            out.extend(files_in(&slide.path()));
        }
    }
    out
}

pub fn full_path(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    })
}

/// Seconds since the Unix epoch, now.
pub fn now_unix() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// `2025-05-01 14:03:07` in local time (UTC when the local zone cannot be read).
pub fn local_date(unix: f64) -> String {
    let secs = unix.max(0.0) as libc::time_t;
    // SAFETY: localtime_r writes only into the tm we pass.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&secs, &mut tm).is_null() };
    if !ok {
        return format!("@{secs}");
    }
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}

#[cfg(test)]
mod tests;
