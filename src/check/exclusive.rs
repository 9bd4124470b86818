//! Which slides `check` must not run side by side. Each slide runs in its own interpreter, so
//! what slides can share is only what lies outside them: ports (two servers of the talk on port
//! 1234 cannot both listen, and a client slide could reach another slide's server instead of
//! the refusal it gets alone), other processes, and files. A slide whose code may reach any of
//! them is *exclusive*: no two exclusive slides run at once. Every other slide (computing,
//! sleeping, printing) may overlap with anything.
//!
//! The decision is static, from the source, before anything runs, and errs on the side of
//! exclusive: a false alarm only costs time. A slide is exclusive when a word of the code that
//! runs for it names such an API (`serve_tcp`, `open_tcp_listeners`, `socket`, `bind`,
//! `connect`, `port`, `subprocess`, `run_process`, `open`, `open_file`, `unlink`, ...). That
//! code is the slide's own blocks; the statements of earlier slides that set-up runs at once
//! (assignments, `if`, `try`; a `replay` block whole); and, through the names the two use, the
//! functions and classes earlier slides define (a handler defined on slide 51 and served on
//! slide 52 counts, slide 51's `main` replaced by slide 52's own does not).

use std::collections::{HashMap, HashSet};

use crate::deck::Deck;

/// Whether slide `slide` may reach outside its interpreter (see the module documentation).
pub fn is_exclusive(deck: &Deck, slide: usize) -> bool {
    // Set-up runs the earlier slides' statements in order, so a name means its last
    // definition (slide 52's `handler` replaces slide 51's).
    let mut lazy: HashMap<String, &str> = HashMap::new();
    let mut eager: Vec<&str> = Vec::new();
    for block in deck.run_blocks(slide - 1) {
        if block.replay {
            eager.push(&block.source);
            continue;
        }
        for chunk in top_level(&block.source) {
            match kind(chunk) {
                Chunk::Definition(name) => {
                    lazy.insert(name, chunk);
                }
                Chunk::Eager => eager.push(chunk),
                Chunk::Skipped => {}
            }
        }
    }
    let outside = exclusive_names(&lazy);
    if eager.into_iter().any(|text| touches(text, &outside)) {
        return true;
    }
    let own: Vec<&str> = deck.slides[slide - 1]
        .blocks
        .iter()
        .filter(|b| b.kind.runs())
        .map(|b| b.source.as_str())
        .collect();
    // The slide's own definitions replace the earlier ones of the same name (every slide's
    // `main`); their bodies are part of its own code, looked at below.
    let mut outside = outside;
    for chunk in own.iter().flat_map(|s| top_level(s)) {
        if let Chunk::Definition(name) = kind(chunk) {
            outside.remove(&name);
        }
    }
    own.into_iter().any(|text| touches(text, &outside))
}

/// Whether `text` names an outside API or one of the `exclusive` definitions.
fn touches(text: &str, outside: &HashSet<String>) -> bool {
    words(text).any(|w| is_marker(&w.to_ascii_lowercase()) || outside.contains(w))
}

/// The names of earlier definitions whose bodies may reach outside, directly or through other
/// such names (a fixpoint: a function calling a server function is one too).
fn exclusive_names(lazy: &HashMap<String, &str>) -> HashSet<String> {
    let mut outside: HashSet<String> = HashSet::new();
    loop {
        let before = outside.len();
        for (name, body) in lazy {
            if !outside.contains(name) && touches(body, &outside) {
                outside.insert(name.clone());
            }
        }
        if outside.len() == before {
            return outside;
        }
    }
}

/// The identifiers (and numbers) of a piece of code, comments and strings included: a marker
/// in a string (`"nc localhost 1234"` given to a subprocess) counts as well.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
}

/// Whether a lower-cased word names a network, process or file API. Network and process words
/// are taken apart at `_` (`open_tcp_listeners`), and short ones must match a whole part, so
/// that `import` is not `port`; file words must be the whole word, so that `open_nursery` is
/// not `open`.
fn is_marker(word: &str) -> bool {
    const INSIDE: [&str; 5] = ["socket", "tcp", "udp", "http", "popen"];
    const START: [&str; 4] = ["serve", "listen", "connect", "bind"];
    const PART: [&str; 8] = [
        "port",
        "ports",
        "localhost",
        "ssl",
        "process",
        "subprocess",
        "system",
        "fork",
    ];
    const WORD: [&str; 13] = [
        "open",
        "open_file",
        "write_text",
        "write_bytes",
        "unlink",
        "remove",
        "rename",
        "mkdir",
        "makedirs",
        "rmdir",
        "rmtree",
        "truncate",
        "mkfifo",
    ];
    WORD.contains(&word)
        || word.split('_').any(|part| {
            INSIDE.iter().any(|m| part.contains(m))
                || START.iter().any(|m| part.starts_with(m))
                || PART.contains(&part)
        })
}

/// What a top-level statement of an earlier slide does during set-up.
#[derive(Debug, PartialEq)]
enum Chunk {
    /// `def`, `async def`, `class` (decorators included): runs only when its name is used.
    Definition(String),
    /// Runs during set-up: assignments, `if`, `try`, and what the rule is unsure of.
    Eager,
    /// Skipped by set-up (a demo: a call, a loop, a `with`) or harmless (`import`).
    Skipped,
}

/// The set-up rule of docs/protocol.md, roughly and erring towards [`Chunk::Eager`].
fn kind(chunk: &str) -> Chunk {
    let first = chunk
        .lines()
        .find(|l| !l.trim_start().starts_with('@'))
        .unwrap_or("");
    let rest = first.strip_prefix("async ").unwrap_or(first).trim_start();
    for keyword in ["def ", "class "] {
        if let Some(after) = rest.strip_prefix(keyword) {
            let name = after
                .trim_start()
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
                .unwrap_or("");
            return Chunk::Definition(name.to_string());
        }
    }
    const SKIPPED: [&str; 11] = [
        "import ", "from ", "for ", "while ", "with ", "async ", "await ", "del ", "assert ",
        "raise ", "print(",
    ];
    if SKIPPED.iter().any(|k| first.starts_with(k)) {
        return Chunk::Skipped;
    }
    // An expression statement (a call) is a demo; an `=` before any bracket is an assignment.
    let head = first.split(['(', '[', '{']).next().unwrap_or("");
    let assigns = head.char_indices().any(|(i, c)| {
        c == '=' && !head[i + 1..].starts_with('=') && !head[..i].ends_with(['=', '!', '<', '>'])
    });
    let compound = first.starts_with("if ") || first.starts_with("try");
    if first.contains('(') && !assigns && !compound {
        Chunk::Skipped
    } else {
        Chunk::Eager
    }
}

/// A block split into its top-level statements: a statement starts at a line that is not
/// indented and does not continue the one before (`else:`, a closing bracket, a decorated
/// definition after its decorator).
fn top_level(source: &str) -> Vec<&str> {
    let mut chunks = Vec::new();
    let mut start: Option<usize> = None;
    let mut decorated = false;
    let mut offset = 0;
    for line in source.split_inclusive('\n') {
        let here = offset;
        offset += line.len();
        let trimmed = line.trim_end();
        if trimmed.is_empty() || line.starts_with([' ', '\t', '#']) {
            continue;
        }
        let continues = decorated
            || trimmed.starts_with([')', ']', '}'])
            || ["else", "elif ", "except", "finally"]
                .iter()
                .any(|k| trimmed.starts_with(k));
        decorated = trimmed.starts_with('@');
        if continues {
            continue;
        }
        if let Some(s) = start {
            chunks.push(&source[s..here]);
        }
        start = Some(here);
    }
    if let Some(s) = start {
        chunks.push(&source[s..]);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deck(text: &str) -> Deck {
        Deck::parse(std::path::Path::new("t.md"), text).unwrap()
    }

    #[test]
    fn the_reference_decks_servers_are_its_only_exclusive_slides() {
        let d = deck(include_str!("../../slides/trio.md"));
        let exclusive: Vec<usize> = d
            .exec_slides()
            .into_iter()
            .filter(|&n| is_exclusive(&d, n))
            .collect();
        assert_eq!(exclusive, vec![51, 52, 53, 54]);
    }

    #[test]
    fn earlier_definitions_count_only_where_they_are_used() {
        let d = deck(concat!(
            "```exec\nimport trio, socket\nasync def serve(port):\n    await trio.serve_tcp(h, port)\n",
            "async def run_it():\n    await serve(1234)\n```\n",
            "====\n```exec\nasync def main():\n    await trio.sleep(1)\n```\n",
            "====\n```exec\nasync def main():\n    await run_it()\n```\n",
            "====\n```exec\nimport report\nasync def main():\n    print('important')\n```\n",
            "====\n```exec\nPORT = 8000\n```\n",
            "====\n```exec\nasync def main():\n    await trio.sleep(1)\n```\n",
        ));
        let exclusive: Vec<bool> = (1..=6).map(|n| is_exclusive(&d, n)).collect();
        // Slide 5 defines PORT eagerly: from then on set-up itself names a port.
        assert_eq!(exclusive, vec![true, false, true, false, true, true]);
        // A server's `main`, replaced by the next slide's own `main`.
        let d = deck(concat!(
            "```exec\nasync def main():\n    await trio.serve_tcp(h, 1234)\n```\n",
            "====\n```exec\nasync def main():\n    await trio.sleep(1)\n```\n",
            "====\n```exec\nasync def later():\n    await main()\n```\n",
        ));
        let exclusive: Vec<bool> = (1..=3).map(|n| is_exclusive(&d, n)).collect();
        assert_eq!(exclusive, vec![true, false, false]);
    }

    #[test]
    fn a_replayed_block_runs_whole_in_every_later_set_up() {
        let d = deck(concat!(
            "```exec replay\nstart_listening()\n```\n",
            "====\n```exec\nx = 1\n```\n",
        ));
        assert!(is_exclusive(&d, 2));
        let d = deck("```exec\nstart_listening()\n```\n====\n```exec\nx = 1\n```\n");
        assert!(!is_exclusive(&d, 2), "a call is a demo, skipped by set-up");
    }

    #[test]
    fn statements_are_split_and_classified() {
        let src = "@deco\nasync def f():\n    pass\n\nx = g(\n    1,\n)\nif a:\n    b = 1\nelse:\n    b = 2\nprint(x)\n";
        let chunks = top_level(src);
        assert_eq!(chunks.len(), 4, "{chunks:?}");
        let kinds: Vec<Chunk> = chunks.iter().map(|c| kind(c)).collect();
        assert_eq!(
            kinds,
            vec![
                Chunk::Definition("f".into()),
                Chunk::Eager,
                Chunk::Eager,
                Chunk::Skipped
            ]
        );
        assert_eq!(kind("x == f(1)\n"), Chunk::Skipped);
        assert_eq!(kind("d[k] = v\n"), Chunk::Eager);
        assert!(is_marker("open_tcp_listeners"));
        assert!(is_marker("socketserver"));
        assert!(!is_marker("import"));
        assert!(!is_marker("report"));
        assert!(is_marker("open"));
        assert!(!is_marker("open_nursery"));
        assert!(!is_marker("open_memory_channel"));
    }
}
