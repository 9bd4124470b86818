//! Edit and re-run, and picking one block of a slide.
//!
//! An edit is a scratch copy of one runnable block, keyed by slide and block: the slide shows
//! it (marked `edited`), `r` runs it (also as set-up of later slides, so an edited definition
//! is what they use), `u` drops it, and only `W` (or Ctrl-s in the editor) writes it into the
//! deck file, rewriting exactly that block's lines; hot reload then makes it the deck's code.
//! A pick narrows a run to one block of a slide with several: the slide's earlier blocks
//! become set-up (definitions only, the set-up rule of docs/protocol.md), later ones are left
//! out.

use crate::log::Logged;
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use ratatui::style::Modifier;

use super::editor::{Editor, EditorKey};
use super::keys::Action;
use super::{App, Effect};
use crate::consent::Gate;
use crate::deck::{BlockKind, CodeBlock, Deck, Slide};
use crate::kernel::protocol::{self, Command};
use crate::render::SlideLayout;

/// (1-based slide, 0-based index among the slide's runnable blocks).
pub type BlockKey = (usize, usize);

/// The blocks of `slide` that run, in order: what edits and picks count.
pub fn runnable(slide: &Slide) -> Vec<&CodeBlock> {
    slide.blocks.iter().filter(|b| b.kind.runs()).collect()
}

/// The `run` command for `slide`: the deck's code with the speaker's edits in place of the
/// blocks they replace, and, with a pick, only up to the picked block of the slide (its
/// earlier blocks as set-up).
pub fn command(
    deck: &Deck,
    slide: usize,
    expose: bool,
    edits: &HashMap<BlockKey, String>,
    pick: Option<usize>,
) -> Command {
    let Command::Run { mut blocks, .. } = protocol::run_command(deck, slide, expose) else {
        unreachable!("run_command builds a run")
    };
    for b in &mut blocks {
        if let Some(source) = edits.get(&(b.slide, b.index - 1)) {
            b.source = source.clone();
        }
    }
    if let Some(pick) = pick {
        blocks.retain(|b| b.slide != slide || b.index - 1 <= pick);
        for b in blocks.iter_mut().filter(|b| b.slide == slide) {
            b.setup = b.index - 1 < pick;
        }
    }
    Command::Run {
        slide,
        blocks,
        expose,
    }
}

/// Slide `index` as shown: with its edited blocks' code in place of the deck's.
pub fn shown_slide<'a>(
    deck: &'a Deck,
    edits: &HashMap<BlockKey, String>,
    index: usize,
) -> Cow<'a, Slide> {
    let slide = &deck.slides[index];
    let edited: Vec<(&CodeBlock, &String)> = runnable(slide)
        .into_iter()
        .enumerate()
        .filter_map(|(i, b)| edits.get(&(slide.number, i)).map(|e| (b, e)))
        .collect();
    if edited.is_empty() {
        return Cow::Borrowed(slide);
    }
    let mut lines: Vec<String> = slide.markdown.split('\n').map(str::to_string).collect();
    // Bottom-up, so that a block growing or shrinking does not move the ones still to do.
    for (block, code) in edited.into_iter().rev() {
        let fence = block.fence_line - slide.first_line;
        let indent: String = lines
            .get(fence)
            .map(|l| l.chars().take_while(|c| *c == ' ').collect())
            .unwrap_or_default();
        let start = (fence + 1).min(lines.len());
        let end = (start + block.source.lines().count()).min(lines.len());
        let new = code.lines().map(|l| format!("{indent}{l}"));
        lines.splice(start..end, new);
    }
    let mut shown = slide.clone();
    shown.markdown = lines.join("\n");
    Cow::Owned(shown)
}

/// The deck as shown: every edited slide with its edits in place (see [`shown_slide`]); what
/// the audience's web page shows too.
pub fn shown_deck<'a>(deck: &'a Deck, edits: &HashMap<BlockKey, String>) -> Cow<'a, Deck> {
    if edits.is_empty() {
        return Cow::Borrowed(deck);
    }
    let mut shown = deck.clone();
    for index in 0..deck.slides.len() {
        if let Cow::Owned(slide) = shown_slide(deck, edits, index) {
            shown.slides[index] = slide;
        }
    }
    Cow::Owned(shown)
}

/// Marks the picked block in a laid-out slide: a bar down its left edge and its `▶ exec`
/// label reversed, the other exec labels dimmed. `ordinal` counts the slide's shown (exec)
/// blocks; `rows` is the picked block's number of code lines.
pub fn mark_pick(
    layout: &mut SlideLayout,
    ordinal: usize,
    rows: usize,
    theme: &crate::theme::Theme,
) {
    let labels: Vec<(usize, usize)> = layout
        .lines
        .iter()
        .enumerate()
        .filter_map(|(r, line)| {
            line.spans
                .iter()
                .position(|s| s.content == crate::render::EXEC_LABEL)
                .map(|i| (r, i))
        })
        .collect();
    for (n, &(row, at)) in labels.iter().enumerate() {
        let label = &mut layout.lines[row].spans[at];
        if n != ordinal {
            label.style = label.style.fg(theme.dim).remove_modifier(Modifier::BOLD);
            continue;
        }
        label.style = label.style.add_modifier(Modifier::REVERSED);
        // The box's left padding is two spans before its label (padding, fill, label).
        let Some(pad) = at.checked_sub(2) else {
            continue;
        };
        let last = (row + rows + 1).min(layout.lines.len() - 1);
        for line in &mut layout.lines[row..=last] {
            if let Some(span) = line.spans.get_mut(pad) {
                if let Some(rest) = span.content.strip_prefix(' ') {
                    span.content = format!("▌{rest}").into();
                    span.style = span.style.fg(theme.accent);
                }
            }
        }
    }
}

/// Rewrites block `block`'s code lines in the deck file at `path` with `code`, keeping the
/// file's line endings and the fence's indentation; returns the new file text. Refuses when
/// the file no longer holds the block's code there (changed on disk since it was loaded).
pub fn write_back(path: &Path, block: &CodeBlock, code: &str) -> Result<String, String> {
    let path = std::fs::canonicalize(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    let fence = block.fence_line - 1;
    let start = fence + 1;
    let end = start + block.source.lines().count();
    let changed = || {
        format!(
            "{} changed on disk since it was loaded: wait for the reload, then write again",
            path.display()
        )
    };
    if end > lines.len() {
        return Err(changed());
    }
    let fence_text = lines[fence];
    let indent: String = fence_text.chars().take_while(|c| *c == ' ').collect();
    let strip = |l: &str| {
        let l = l.trim_end_matches('\n').trim_end_matches('\r');
        let n = l.len() - l.trim_start_matches(' ').len();
        l[n.min(indent.len())..].to_string()
    };
    let on_disk: Vec<String> = lines[start..end].iter().map(|l| strip(l)).collect();
    if on_disk.iter().map(String::as_str).ne(block.source.lines()) {
        return Err(changed());
    }
    let eol = if fence_text.ends_with("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let new: Vec<String> = code
        .lines()
        .map(|l| {
            let indent = if l.is_empty() { "" } else { indent.as_str() };
            format!("{indent}{l}{eol}")
        })
        .collect();
    lines.splice(start..end, new.iter().map(String::as_str));
    let out: String = lines.concat();
    // A new file renamed over the old one: the deck is never seen half-written (the reload
    // reads it as soon as it changes).
    let tmp = path.with_file_name(format!(
        ".{}.trio-present-{}",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    let write = || -> std::io::Result<()> {
        std::fs::write(&tmp, &out)?;
        if let Ok(meta) = std::fs::metadata(&path) {
            std::fs::set_permissions(&tmp, meta.permissions())?;
        }
        std::fs::rename(&tmp, &path)
    };
    write().map_err(|e| {
        std::fs::remove_file(&tmp).logged("write-back: removing a temporary file");
        format!("cannot write {}: {e}", path.display())
    })?;
    Ok(out)
}

impl App {
    /// The block `e`, `E`, `u` and `W` act on: the picked one, else the slide's first.
    pub fn edit_target(&self) -> Option<BlockKey> {
        let slide = &self.deck.slides[self.current];
        let n = runnable(slide).len();
        if n == 0 {
            return None;
        }
        Some((slide.number, self.picked().unwrap_or(0).min(n - 1)))
    }

    /// The picked block of the current slide (0-based), if any.
    pub fn picked(&self) -> Option<usize> {
        self.pick
            .filter(|(s, _)| *s == self.slide_number())
            .map(|(_, i)| i)
    }

    /// Whether the current slide has edited blocks.
    pub fn edited(&self) -> bool {
        let n = self.slide_number();
        self.edits.keys().any(|(s, _)| *s == n)
    }

    /// The code of block `key` as it would run: the edit, or the deck's.
    pub fn block_code(&self, key: BlockKey) -> Option<String> {
        if let Some(code) = self.edits.get(&key) {
            return Some(code.clone());
        }
        let slide = self.deck.slides.get(key.0.checked_sub(1)?)?;
        runnable(slide).get(key.1).map(|b| b.source.clone())
    }

    /// The run command for `slide` as the speaker set it up (edits, pick).
    pub fn run_command(&self, slide: usize, expose: bool) -> Command {
        let pick = self.pick.filter(|(s, _)| *s == slide).map(|(_, i)| i);
        command(&self.deck, slide, expose, &self.edits, pick)
    }

    /// Whether a run of `slide` would be other code than the deck's (not worth recording as
    /// the slide's run).
    pub fn run_is_custom(&self, slide: usize) -> bool {
        self.pick.is_some_and(|(s, _)| s == slide) || self.edits.keys().any(|(s, _)| *s <= slide)
    }

    /// Whether every block a run of `slide` would send was typed by the speaker: then it
    /// needs no consent (deck code does).
    pub fn run_is_speakers_own(&self, slide: usize) -> bool {
        let Command::Run { blocks, .. } = self.run_command(slide, false) else {
            return false;
        };
        blocks
            .iter()
            .all(|b| self.edits.contains_key(&(b.slide, b.index - 1)))
    }

    /// Stores `code` as the scratch copy of `key` (dropping it when it equals the deck's).
    pub(super) fn set_edit(&mut self, key: BlockKey, code: String) {
        let deck_code = self
            .deck
            .slides
            .get(key.0 - 1)
            .and_then(|s| runnable(s).get(key.1).map(|b| b.source.clone()));
        if deck_code.as_deref() == Some(code.as_str()) {
            self.edits.remove(&key);
        } else {
            self.edits.insert(key, code);
        }
        self.layouts.borrow_mut().clear();
    }

    /// After a reload: edits that the deck now holds (written back) are done; edits of
    /// blocks that are gone are dropped.
    pub(super) fn reconcile_edits(&mut self) {
        let deck = &self.deck;
        let mut written = None;
        self.edits.retain(|&(s, i), code| {
            let block = deck
                .slides
                .get(s - 1)
                .and_then(|sl| runnable(sl).get(i).copied());
            if block.is_some_and(|b| b.source == *code) {
                written = Some(s);
            }
            block.is_some_and(|b| b.source != *code)
        });
        // The reload that follows a write-back: say so (the reload clears notices).
        if let Some(s) = written {
            self.notice = Some(format!("slide {s}: the deck file has the edit now"));
        }
        if self.pick.is_some_and(|(s, i)| {
            deck.slides
                .get(s - 1)
                .is_none_or(|sl| runnable(sl).len() <= i)
        }) {
            self.pick = None;
        }
    }

    pub(super) fn edit_action(&mut self, action: Action) -> Vec<Effect> {
        let slide = self.slide_number();
        let Some(key) = self.edit_target() else {
            self.notice = Some(format!("slide {slide} has no exec code to edit"));
            return vec![];
        };
        match action {
            Action::Edit => {
                let code = self.block_code(key).unwrap_or_default();
                self.help = false;
                self.editor = Some(Editor::new(key.0, key.1, &code));
                vec![]
            }
            Action::EditExternal => {
                let code = self.block_code(key).unwrap_or_default();
                vec![Effect::ExternalEdit {
                    slide: key.0,
                    block: key.1,
                    code,
                }]
            }
            Action::Revert => {
                if self.edits.remove(&key).is_some() {
                    self.layouts.borrow_mut().clear();
                    self.notice = Some("back to the deck's code".into());
                } else {
                    self.notice = Some("this block is not edited".into());
                }
                vec![]
            }
            Action::WriteBack => self.write_back(key),
            Action::PickNext | Action::PickPrev => {
                let n = runnable(&self.deck.slides[self.current]).len();
                if n < 2 {
                    self.notice = Some(format!("slide {slide} has one exec block: r runs it"));
                    return vec![];
                }
                // Cycles through "all blocks" and each block: ... all, 1, 2, ..., n, all.
                let pos = self.picked().map_or(0, |i| i + 1);
                let pos = if action == Action::PickNext {
                    (pos + 1) % (n + 1)
                } else {
                    (pos + n) % (n + 1)
                };
                self.pick = pos.checked_sub(1).map(|i| (slide, i));
                self.layouts.borrow_mut().clear();
                self.notice = Some(match pos {
                    0 => "all blocks: r runs the whole slide".into(),
                    p => format!("block {p} of {n}: r runs it, earlier blocks as set-up"),
                });
                vec![]
            }
            _ => vec![],
        }
    }

    fn write_back(&mut self, key: BlockKey) -> Vec<Effect> {
        match self.edits.get(&key) {
            Some(code) => vec![Effect::WriteBack {
                slide: key.0,
                block: key.1,
                code: code.clone(),
            }],
            None => {
                self.notice = Some("nothing to write: this block is not edited".into());
                vec![]
            }
        }
    }

    pub(super) fn editor_key(&mut self, key: ratatui::crossterm::event::KeyEvent) -> Vec<Effect> {
        use ratatui::crossterm::event::{KeyCode, KeyModifiers};
        // Ctrl-c stops a demo started from the editor, as it does on the slide.
        if key.code == KeyCode::Char('c')
            && key.modifiers.contains(KeyModifiers::CONTROL)
            && self.is_running()
        {
            return self.stop();
        }
        let current = self.slide_number();
        let Some(editor) = self.editor.as_mut() else {
            return vec![];
        };
        // A speaker window moved the presenter to another slide: the editor (keeping its
        // edit) closes rather than take keys for a slide nobody sees.
        if editor.slide != current {
            let (slide, block, code) = (editor.slide, editor.block, editor.text());
            self.editor = None;
            self.set_edit((slide, block), code);
            return self.update(super::Msg::Key(key));
        }
        let outcome = editor.key(key);
        if outcome == EditorKey::Stay {
            return vec![];
        }
        let (slide, block, code) = (editor.slide, editor.block, editor.text());
        self.set_edit((slide, block), code);
        // Running and writing keep the editor open: the speaker sees the output (and a
        // syntax error marked on its line) under the code and can fix and run again.
        match outcome {
            EditorKey::Run if slide == self.slide_number() => self.run(),
            EditorKey::Write => self.write_back((slide, block)),
            EditorKey::Close => {
                self.editor = None;
                vec![]
            }
            _ => vec![],
        }
    }

    /// `$EDITOR` came back with `result` for block (`slide`, `block`).
    pub(super) fn external_edited(
        &mut self,
        slide: usize,
        block: usize,
        result: Result<String, String>,
    ) -> Vec<Effect> {
        match result {
            Ok(code) => {
                self.set_edit((slide, block), code);
                self.notice = Some(if self.edits.contains_key(&(slide, block)) {
                    "edited: r runs it · u reverts · W writes it to the deck".into()
                } else {
                    "no change".into()
                });
            }
            Err(why) => self.notice = Some(why),
        }
        vec![]
    }

    /// `r` with edited or picked code: live, never a recording (it would be the deck's code).
    pub(super) fn run_custom(&mut self) -> Vec<Effect> {
        if self.offline || matches!(self.kernel, super::KernelState::Unavailable(_)) {
            self.notice =
                Some("edited or picked code runs live only: u reverts, } picks all".into());
            return vec![];
        }
        self.run_live()
    }

    /// Marks the picked block in slide `index`'s layout (see [`mark_pick`]).
    pub(super) fn mark_picked(&self, index: usize, layout: &mut SlideLayout) {
        let slide = &self.deck.slides[index];
        let Some(pick) = self
            .pick
            .filter(|(s, _)| *s == slide.number)
            .map(|(_, i)| i)
        else {
            return;
        };
        let Some(ordinal) = shown_ordinal(slide, pick) else {
            return;
        };
        let rows = self
            .block_code((slide.number, pick))
            .map_or(0, |c| c.lines().count());
        mark_pick(layout, ordinal, rows, &self.theme);
    }

    /// Whether the consent gate may be skipped for this run (the speaker's own code only).
    pub(super) fn consent_not_needed(&self, slide: usize) -> bool {
        self.gate == Gate::Ask && self.run_is_speakers_own(slide)
    }
}

/// The ordinal among the slide's shown blocks of runnable block `index` (None for a hidden
/// block, which has nothing to highlight).
pub fn shown_ordinal(slide: &Slide, index: usize) -> Option<usize> {
    let blocks = runnable(slide);
    let block = blocks.get(index)?;
    (block.kind == BlockKind::Exec).then(|| {
        blocks[..index]
            .iter()
            .filter(|b| b.kind == BlockKind::Exec)
            .count()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DECK: &str = "# t\n\n```exec\ndef f():\n    return 1\n```\n\n====\n\n```exec\nprint(f())\n```\n\ntext\n\n```exec\nprint(2)\n```\n";

    fn deck() -> Deck {
        Deck::parse(Path::new("t.md"), DECK).unwrap()
    }

    #[test]
    fn edits_replace_blocks_everywhere_and_a_pick_runs_one_block() {
        let deck = deck();
        let mut edits = HashMap::new();
        edits.insert((1, 0), "def f():\n    return 42\n".to_string());
        let Command::Run { blocks, .. } = command(&deck, 2, false, &edits, Some(0)) else {
            panic!()
        };
        let got: Vec<_> = blocks
            .iter()
            .map(|b| (b.slide, b.index, b.setup, b.source.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, 1, true, "def f():\n    return 42\n"),
                (2, 1, false, "print(f())\n")
            ]
        );
        let Command::Run { blocks, .. } = command(&deck, 2, false, &edits, Some(1)) else {
            panic!()
        };
        let setup: Vec<_> = blocks.iter().map(|b| (b.slide, b.index, b.setup)).collect();
        assert_eq!(setup, vec![(1, 1, true), (2, 1, true), (2, 2, false)]);
    }

    #[test]
    fn the_slide_shows_the_edit() {
        let deck = deck();
        let mut edits = HashMap::new();
        assert!(matches!(shown_slide(&deck, &edits, 1), Cow::Borrowed(_)));
        edits.insert((2, 1), "print(3)\nprint(4)\n".to_string());
        let shown = shown_slide(&deck, &edits, 1);
        assert_eq!(
            shown.markdown,
            "\n```exec\nprint(f())\n```\n\ntext\n\n```exec\nprint(3)\nprint(4)\n```\n"
        );
    }

    #[test]
    fn write_back_rewrites_exactly_the_block_and_refuses_a_changed_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.md");
        let text = DECK.replace('\n', "\r\n");
        std::fs::write(&path, &text).unwrap();
        let deck = Deck::load(&path).unwrap();
        let block = runnable(&deck.slides[0])[0].clone();
        let out = write_back(&path, &block, "def f():\n\n    return 7\n").unwrap();
        assert_eq!(
            out,
            text.replace("    return 1\r\n", "\r\n    return 7\r\n")
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), out);
        // The file no longer holds the block's old code: nothing is written.
        let err = write_back(&path, &block, "x = 1\n").unwrap_err();
        assert!(err.contains("changed on disk"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), out);
    }

    fn press(app: &mut App, code: ratatui::crossterm::event::KeyCode) -> Vec<Effect> {
        use ratatui::crossterm::event::{KeyEvent, KeyModifiers};
        app.update(super::super::Msg::Key(KeyEvent::new(
            code,
            KeyModifiers::NONE,
        )))
    }

    #[test]
    fn the_speakers_own_code_needs_no_consent_the_decks_does() {
        use ratatui::crossterm::event::KeyCode;
        let theme = crate::theme::Theme::load("dark").unwrap();
        let mut app = App::new(deck(), theme, 1);
        app.gate = Gate::Ask;
        app.kernel = super::super::KernelState::Ready {
            python: "3".into(),
            trio: "0".into(),
        };
        app.external_edited(1, 0, Ok("def f():\n    return 2\n".into()));
        assert!(app.edited());
        assert_eq!(press(&mut app, KeyCode::Char('r')), vec![Effect::Run(1)]);
        assert!(app.consent.is_none());
        // Slide 2 runs the deck's code of slide 2: that still asks.
        press(&mut app, KeyCode::Right);
        assert!(press(&mut app, KeyCode::Char('r')).is_empty());
        assert!(app.consent.is_some());
    }

    #[test]
    fn the_editor_gives_way_when_a_speaker_window_changes_the_slide() {
        use ratatui::crossterm::event::KeyCode;
        let theme = crate::theme::Theme::load("dark").unwrap();
        let mut app = App::new(deck(), theme, 1);
        app.kernel = super::super::KernelState::Ready {
            python: "3".into(),
            trio: "0".into(),
        };
        press(&mut app, KeyCode::Char('e'));
        press(&mut app, KeyCode::Char('#'));
        app.update(super::super::Msg::Remote(
            crate::speaker::protocol::Cmd::Go { slide: 2 },
        ));
        assert_eq!(press(&mut app, KeyCode::Char('r')), vec![Effect::Run(2)]);
        assert!(app.editor.is_none());
        assert_eq!(
            app.edits.get(&(1, 0)).map(String::as_str),
            Some("#def f():\n    return 1\n")
        );
    }

    #[test]
    fn picking_cycles_and_marks_the_block() {
        let theme = crate::theme::Theme::load("dark").unwrap();
        let mut app = App::new(deck(), theme, 2);
        assert!(app.edit_action(Action::PickNext).is_empty());
        assert_eq!(app.picked(), Some(0));
        app.edit_action(Action::PickNext);
        assert_eq!(app.picked(), Some(1));
        let layout = app.layout(1, 60);
        let bars = layout
            .lines
            .iter()
            .filter(|l| l.spans.iter().any(|s| s.content.starts_with('▌')))
            .count();
        assert_eq!(bars, 3, "label row, one code row, bottom row");
        app.edit_action(Action::PickNext);
        assert_eq!(app.picked(), None);
        app.edit_action(Action::PickPrev);
        assert_eq!(app.picked(), Some(1));
    }
}
