use super::*;
use std::path::Path;

const REFERENCE: &str = include_str!("../../slides/trio.md");

fn parse(text: &str) -> Deck {
    Deck::parse(Path::new("test.md"), text).expect("deck parses")
}

#[test]
fn reference_deck_has_57_slides_and_known_exec_slides() {
    let deck = parse(REFERENCE);
    assert_eq!(deck.slides.len(), 57);
    assert_eq!(
        deck.exec_slides(),
        vec![11, 12, 33, 37, 45, 46, 47, 51, 52, 53, 54]
    );
    assert_eq!(deck.title, "Trio");
    assert!(deck.warnings.is_empty());
    for (i, s) in deck.slides.iter().enumerate() {
        assert_eq!(s.number, i + 1);
        for b in &s.blocks {
            assert_eq!(b.slide, s.number);
        }
    }
}

#[test]
fn reference_deck_blocks_are_classified_and_located() {
    let deck = parse(REFERENCE);
    let s11 = &deck.slides[10];
    assert_eq!(s11.blocks.len(), 2);
    assert_eq!(s11.blocks[0].kind, BlockKind::Hidden);
    assert_eq!(s11.blocks[0].source, "import trio\n");
    assert_eq!(s11.blocks[1].kind, BlockKind::Exec);
    assert!(s11.blocks[1]
        .source
        .starts_with("async def sleepy(seconds):\n"));
    let fence_line = s11.blocks[1].fence_line;
    let line = REFERENCE.lines().nth(fence_line - 1).unwrap();
    assert_eq!(line, "```exec");
    // Slide 9 (the ಠ_ಠ slide) is a verbatim block with no info string.
    let b = &deck.slides[8].blocks[0];
    assert_eq!((b.kind, b.lang.as_str()), (BlockKind::Display, ""));
    assert_eq!(b.source, "ಠ_ಠ\n");
    // Slide 52 shows one block and hides the other.
    let kinds: Vec<_> = deck.slides[51].blocks.iter().map(|b| b.kind).collect();
    assert_eq!(kinds, vec![BlockKind::Exec, BlockKind::Hidden]);
}

#[test]
fn run_blocks_collect_every_earlier_exec_block_in_order() {
    let deck = parse(REFERENCE);
    let slides: Vec<usize> = deck.run_blocks(12).map(|b| b.slide).collect();
    assert_eq!(slides, vec![11, 11, 12]);
}

#[test]
fn separator_inside_a_fence_is_code() {
    let deck = parse("a\n\n```\nx\n====\ny\n```\n====\nb\n");
    assert_eq!(deck.slides.len(), 2);
    assert_eq!(deck.slides[0].blocks[0].source, "x\n====\ny\n");
}

#[test]
fn separator_directly_under_text_and_fence_with_trailing_space() {
    let deck = parse("text\n====  \n```exec\nprint(1)\n```\n====\nend");
    assert_eq!(deck.slides.len(), 3);
    assert_eq!(deck.slides[0].markdown, "text\n");
    assert_eq!(deck.slides[2].markdown, "end\n");
    assert_eq!(deck.slides[1].blocks[0].fence_line, 3);
}

#[test]
fn longer_or_other_lines_are_not_separators() {
    let deck = parse("a\n=====\nb\n ====\nc\n====x\n");
    assert_eq!(deck.slides.len(), 1);
}

#[test]
fn crlf_line_endings() {
    let deck = parse("# T\r\n\r\n====\r\n```exec\r\nprint(1)\r\n```\r\n");
    assert_eq!(deck.slides.len(), 2);
    assert_eq!(deck.title, "T");
    assert_eq!(deck.slides[1].blocks[0].source, "print(1)\n");
    assert!(!deck.slides[1].markdown.contains('\r'));
}

#[test]
fn unclosed_fence_runs_to_the_end_and_warns() {
    let deck = parse("one\n====\n```exec\nprint(1)\n====\nmore\n");
    assert_eq!(deck.slides.len(), 2);
    let b = &deck.slides[1].blocks[0];
    assert!(b.unclosed);
    assert_eq!(b.source, "print(1)\n====\nmore\n");
    assert_eq!(deck.warnings.len(), 1);
    assert!(deck.warnings[0].contains("line 3"), "{}", deck.warnings[0]);
}

#[test]
fn tilde_fences_and_longer_closers() {
    let deck = parse("~~~~exec\n```\n~~~\n~~~~~\n====\nx");
    assert_eq!(deck.slides.len(), 2);
    assert_eq!(deck.slides[0].blocks[0].source, "```\n~~~\n");
    assert_eq!(deck.slides[0].blocks[0].kind, BlockKind::Exec);
}

#[test]
fn empty_deck_is_an_error() {
    let err = Deck::parse(Path::new("e.md"), "\n====\n  \n").unwrap_err();
    assert!(err.to_string().contains("empty"));
}

#[test]
fn title_falls_back_to_file_name() {
    let deck = Deck::parse(Path::new("dir/talk.md"), "no heading\n").unwrap();
    assert_eq!(deck.title, "talk.md");
}

#[test]
fn from_bytes_checks_utf8_then_parses() {
    let path = Path::new("deck.md");
    let text = "# T\n====\nb\n";
    assert_eq!(
        Deck::from_bytes(path, text.as_bytes()).unwrap(),
        Deck::parse(path, text).unwrap()
    );
    // The offset is that of the first bad byte, even when a lossy decoding would keep the
    // length (a truncated 4-byte emoji becomes one 3-byte U+FFFD).
    let bytes = b"\n- tasks c\xf0\x9f\x91%x";
    assert!(matches!(
        Deck::from_bytes(path, bytes),
        Err(DeckError::NotUtf8(_, 10))
    ));
    assert!(matches!(
        Deck::from_bytes(path, b"\n \n"),
        Err(DeckError::Empty(_))
    ));
}

/// A deck past [`OPEN_IN_PARTS_FROM`]: `n` slides, a fence hiding a `====` on slide 2.
fn large(n: usize) -> String {
    let mut slides = vec!["# Big\n\nfirst slide".to_string()];
    slides.push("```\nnot a separator:\n====\n```\n".into());
    for i in 3..=n {
        slides.push(format!(
            "## Slide {i}\n\n- a point\n- another one, long enough to add up"
        ));
    }
    let text = slides.join("\n====\n");
    assert!(text.len() >= OPEN_IN_PARTS_FROM);
    text
}

#[test]
fn a_large_deck_opens_in_parts_that_add_up_to_the_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.md");
    std::fs::write(&path, large(2000)).unwrap();
    let size = std::fs::metadata(&path).unwrap().len() as usize;
    let whole = Deck::load(&path).unwrap();
    assert_eq!(whole.slides.len(), 2000);
    assert!(!whole.partial);
    for at in [1, 2, 1500] {
        let opened = Deck::open(&path, at).unwrap();
        let rest = opened.rest.expect("opened in parts");
        // Only the first slides are there, read from the first chunks of the file.
        assert!(opened.deck.partial);
        assert_eq!(&opened.deck.slides[..], &whole.slides[..at]);
        assert_eq!(opened.deck.title, whole.title);
        assert!(rest.bytes.len() < size);
        if at <= 2 {
            assert_eq!(rest.bytes.len(), HEAD_CHUNK);
        }
        assert_eq!(Opened::whole(&opened.deck, rest).unwrap(), whole);
    }
    // The last slide, a small deck: the whole deck at once, as load.
    assert!(Deck::open(&path, 2000).unwrap().rest.is_none());
    let small = dir.path().join("small.md");
    std::fs::write(&small, "# a\n====\nb\n").unwrap();
    let opened = Deck::open(&small, 1).unwrap();
    assert!(opened.rest.is_none());
    assert_eq!(opened.deck, Deck::load(&small).unwrap());
}

/// What only the rest of a deck opened in parts can show comes with the whole: a fence left
/// open at the end (a warning), a byte that is not UTF-8 (the error `load` gives). In the
/// first slides, such a byte stops the opening itself.
#[test]
fn the_rest_of_a_deck_opened_in_parts_brings_its_warnings_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let open_fence = dir.path().join("open.md");
    std::fs::write(
        &open_fence,
        format!("{}\n====\n```exec\nprint(1)\n", large(2000)),
    )
    .unwrap();
    let opened = Deck::open(&open_fence, 1).unwrap();
    assert!(opened.deck.warnings.is_empty());
    let whole = Opened::whole(&opened.deck, opened.rest.unwrap()).unwrap();
    assert_eq!(whole, Deck::load(&open_fence).unwrap());
    assert_eq!(whole.warnings.len(), 1);

    let mut bytes = large(2000).into_bytes();
    bytes.extend_from_slice(b"\n====\nbad \xff byte\n");
    let bad = dir.path().join("bad.md");
    std::fs::write(&bad, &bytes).unwrap();
    let opened = Deck::open(&bad, 1).unwrap();
    let err = Opened::whole(&opened.deck, opened.rest.unwrap()).unwrap_err();
    assert_eq!(err.to_string(), Deck::load(&bad).unwrap_err().to_string());
    assert!(matches!(err, DeckError::NotUtf8(_, at) if at == bytes.len() - 7));

    bytes.splice(5..5, *b"\xfe");
    std::fs::write(&bad, &bytes).unwrap();
    assert!(matches!(
        Deck::open(&bad, 1).err(),
        Some(DeckError::NotUtf8(_, 5))
    ));
}
