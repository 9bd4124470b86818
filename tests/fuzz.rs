//! Property-based fuzzing of the deck parser, the slide layout and the frame draw, run by every
//! `cargo test`. Inputs are arbitrary bytes, arbitrary Unicode and, above all, generated
//! markdown-ish decks built from the constructs that have edge cases: `====` lines, fences of
//! both kinds and many lengths, exec / hidden / language / garbage info strings, headings,
//! nested lists and quotes, tables, HTML, wide and combining characters, tabs, CR and CRLF,
//! control characters, very long lines and unclosed fences. Each case is checked by
//! `fuzz_support::exercise` (no panic, layout and frame invariants, a time budget per step).
//!
//! The number of cases is fixed so that this stays a short, bounded pass in CI; longer,
//! coverage-guided runs use the cargo-fuzz target in `fuzz/`. Failing cases that proptest
//! shrinks are kept in `tests/fuzz.proptest-regressions` and replayed first on every run.

mod fuzz_support;

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

use fuzz_support::exercise;

/// Cases per property: enough to hit every generator branch many times, few enough that the
/// whole file runs in well under a minute in a debug build.
const CASES: u32 = 256;

fn config() -> Config {
    // `PROPTEST_CASES=10000 cargo test --release --test fuzz` for a longer local run.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(CASES);
    Config {
        cases,
        // A failure found in CI should be reported, not shrunk for minutes.
        max_shrink_time: 30_000,
        // Shrunk failures go to `tests/fuzz.proptest-regressions`, next to this file, and are
        // replayed first on every run: commit that file when it appears.
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..Config::default()
    }
}

/// Words and fragments for running text: plain, wide (CJK, emoji with joiners, flags, skin
/// tones), combining marks, zero-width and bidi characters, control characters, tabs, inline
/// markdown, and inline HTML.
fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z0-9]{1,12}",
        1 => prop::sample::select(vec![
            "漢字", "日本語のテキスト", "한국어", "👨‍👩‍👧‍👦", "🇫🇷🇩🇪", "👍🏽", "e\u{301}", "a\u{308}\u{332}",
            "\u{200b}", "\u{200d}", "\u{feff}", "\u{202e}abc", "\u{a0}", "\u{3000}", "\u{fe0f}",
            "\u{1b}[31m", "\u{7}", "\u{0}", "\u{7f}", "\u{85}", "\u{9b}", "\t", "\t\t", "\u{b}",
            "\u{c}", "**bold**", "*it*", "_u_", "~~s~~", "`code`", "``a`b``", "[l](http://x.y)",
            "[](u)", "![img](p.png)", "<br>", "<span>", "</div>", "<!-- c -->", "&amp;", "&#0;",
            "\\", "[^1]", "$x$", "<http://a.b>", "|", "*", "_", "~", "`", "[", "]", "(", ")",
            "- [x]", "==", "====", "\u{fffd}", "\u{10ffff}", "\u{e000}", "\u{1f600}",
        ])
        .prop_map(str::to_string),
        1 => any::<char>().prop_map(|c| c.to_string()),
    ]
}

/// A run of words separated by spaces (sometimes none).
fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (word(), prop::sample::select(vec!["", " ", " ", "  "])),
        0..8,
    )
    .prop_map(|parts| parts.into_iter().map(|(w, s)| w + s).collect())
}

/// A very long line: one long word (breaks by cells), a long sentence, or wide characters.
fn long_line() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["a", "ab ", "漢", "👍🏽", "e\u{301}", "\t", "x\u{1b}"]),
        100usize..3000,
    )
        .prop_map(|(unit, n)| unit.repeat(n))
}

/// An opening or closing fence: indent (sometimes too much), ``` or ~~~ of 2 to 7, info string.
fn fence() -> impl Strategy<Value = String> {
    (
        0usize..6,
        prop::sample::select(vec!['`', '~']),
        2usize..8,
        prop_oneof![
            3 => prop::sample::select(vec![
                "", "exec", "exechidden", "python", "py", "rust", "bash", "json", "html", "markdown",
                "diff", "makefile", " exec", "exec extra", "EXEC", "klingon", "{.python}",
                "python`", "~~~", "```", "\u{1b}[2J", "漢字", "👍🏽👍🏽👍🏽👍🏽👍🏽👍🏽👍🏽👍🏽👍🏽",
            ])
            .prop_map(str::to_string),
            1 => text(),
        ],
    )
        .prop_map(|(indent, ch, len, info)| {
            format!("{}{}{}", " ".repeat(indent), ch.to_string().repeat(len), info)
        })
}

/// One line of a deck.
fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => text(),
        3 => fence(),
        2 => prop::sample::select(vec![
            "====", "==== ", "====\t", " ====", "=====", "===", "", "", "---", "***", "___",
            "===", "- - -", "    indented code", "\tcode", "<div>", "</div>", "<pre>", "</pre>",
            "<!--", "-->", "<script>", "<?php", "<![CDATA[", "]]>", "|---|:-:|--:|",
            "| --- | --- |", "[ref]: http://x 'title'", "[^1]: note", "\u{feff}====",
        ])
        .prop_map(str::to_string),
        2 => (1usize..9, text()).prop_map(|(n, t)| format!("{} {t}", "#".repeat(n))),
        2 => (0usize..12, prop::sample::select(vec!["- ", "* ", "+ ", "1. ", "9) ",
                "99999999999999999999. ", "0. ", "- [ ] ", "-", "1."]), text())
            .prop_map(|(depth, marker, t)| format!("{}{marker}{t}", "  ".repeat(depth))),
        2 => (1usize..30, prop::sample::select(vec![">", "> ", ">>", "> - ", "> 1. ", "> ```"]),
                text())
            .prop_map(|(depth, q, t)| format!("{}{t}", q.repeat(depth))),
        1 => prop::collection::vec(text(), 1..6)
            .prop_map(|cells| format!("| {} |", cells.join(" | "))),
        1 => long_line(),
    ]
}

/// Line endings, mostly LF, sometimes CRLF or a bare CR.
fn ending() -> impl Strategy<Value = &'static str> {
    prop_oneof![8 => Just("\n"), 2 => Just("\r\n"), 1 => Just("\r"), 1 => Just("\r\r\n")]
}

/// A generated deck: lines with endings, with or without a final newline.
fn deck() -> impl Strategy<Value = String> {
    (
        prop::collection::vec((line(), ending()), 0..40),
        any::<bool>(),
    )
        .prop_map(|(lines, final_newline)| {
            let mut out = String::new();
            let n = lines.len();
            for (i, (line, end)) in lines.into_iter().enumerate() {
                out.push_str(&line);
                if i + 1 < n || final_newline {
                    out.push_str(end);
                }
            }
            out
        })
}

/// Bytes that are mostly the characters markdown cares about, so random bytes still make
/// fences, separators and containers (and invalid UTF-8 now and then).
fn markdownish_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            6 => prop::sample::select(b"=`~#>-*_|[]()!<>\n\n\n\r\t  ax1.".to_vec()),
            1 => any::<u8>(),
        ],
        0..600,
    )
}

/// Containers nested far deeper than any slide (markdown nests as deep as it is long), then a
/// paragraph that wraps into many rows under them.
fn deeply_nested() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(
            prop::sample::select(vec!["- ", "> ", "1. ", "* ", "> - ", ">"]),
            0..6000,
        ),
        prop::collection::vec(word(), 0..400),
        any::<bool>(),
    )
        .prop_map(|(markers, words, lines)| {
            let mut out = markers.concat();
            out.push_str(&words.join(if lines { "\n" } else { " " }));
            out
        })
}

proptest! {
    #![proptest_config(config())]

    /// Arbitrary bytes: mostly invalid UTF-8, refused with the right offset, and the lossy text
    /// laid out and drawn.
    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        exercise(&bytes);
    }

    /// Bytes biased towards markdown syntax.
    #[test]
    fn markdownish_bytes_decks(bytes in markdownish_bytes()) {
        exercise(&bytes);
    }

    /// Arbitrary Unicode text (any code point, including controls and unassigned ones).
    #[test]
    fn arbitrary_unicode(text in any::<String>()) {
        exercise(text.as_bytes());
    }

    /// Generated markdown-ish decks.
    #[test]
    fn generated_decks(text in deck()) {
        exercise(text.as_bytes());
    }

    /// Several generated decks glued by separators, to get many slides with blocks each.
    #[test]
    fn generated_multi_slide_decks(parts in prop::collection::vec(deck(), 1..5)) {
        exercise(parts.join("\n====\n").as_bytes());
    }
}

proptest! {
    // Each case is thousands of levels deep: fewer of them keep the pass short.
    #![proptest_config(Config { cases: (config().cases / 4).max(1), ..config() })]

    /// Absurd nesting: bounded depth in the layout, so no stack overflow and no blow-up.
    #[test]
    fn deeply_nested_containers(text in deeply_nested()) {
        exercise(text.as_bytes());
    }
}
