//! Markdown -> block tree. Owns the reading of pulldown-cmark events: it turns one slide's
//! markdown into [`Block`]s with inline runs marked (bold, link, ...) but not yet styled, so that
//! the theme and the width only come in at layout time.

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use crate::deck::BlockKind;

/// Inline emphasis of a run of text; resolved to a ratatui style by the layout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Marks {
    pub bold: bool,
    pub italic: bool,
    pub strike: bool,
    pub code: bool,
    pub link: bool,
    /// Secondary text: a link's URL, an image's alt text, raw HTML.
    pub dim: bool,
}

/// A piece of a paragraph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inline {
    Text(String, Marks),
    /// A hard line break.
    Break,
}

/// A block-level element of a slide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Heading {
        level: u8,
        inlines: Vec<Inline>,
    },
    Paragraph(Vec<Inline>),
    List {
        /// Number of the first item for numbered lists.
        start: Option<u64>,
        items: Vec<Vec<Block>>,
    },
    Quote(Vec<Block>),
    Rule,
    Code {
        kind: BlockKind,
        /// The info string's first word, empty for a plain fence or an indented block.
        lang: String,
        text: String,
    },
}

/// Deepest nesting of quotes and lists that is laid out as such; anything deeper is shown at
/// this level (no further bars, bullets or indentation). No slide needs a tenth of it, but
/// pathological markdown (`- - - - …`, `> > > …`) nests as deep as it is long, and each level
/// costs a recursion in the layout (tens of thousands overflow the stack) and a prefix span on
/// every row below it (rows × depth spans, quadratic for a deep paragraph at a narrow width).
pub const MAX_NESTING: usize = 32;

/// Containers that are open while walking the events.
enum Frame {
    Quote(Vec<Block>),
    List {
        start: Option<u64>,
        items: Vec<Vec<Block>>,
    },
    Item(Vec<Block>),
}

/// Paragraph-like block whose inlines are being collected.
struct OpenInline {
    heading: Option<u8>,
    inlines: Vec<Inline>,
}

#[derive(Default)]
struct Builder {
    root: Vec<Block>,
    stack: Vec<Frame>,
    inline: Option<OpenInline>,
    code: Option<(String, String)>,
    html: Option<String>,
    bold: u32,
    italic: u32,
    strike: u32,
    images: u32,
    /// Open links: destination and the text shown so far.
    links: Vec<(String, String)>,
    /// Quotes and lists in `stack` (items do not count: they belong to their list's level).
    nesting: usize,
    /// Containers (quotes, lists, items) opened beyond [`MAX_NESTING`] and not yet closed; they
    /// have no frame, so their content lands in the innermost real container.
    flattened: usize,
}

/// Classifies a fence the way the deck does (see `deck::split`), from its info string.
pub fn block_kind(lang: &str) -> BlockKind {
    match lang {
        "exec" => BlockKind::Exec,
        "exechidden" => BlockKind::Hidden,
        _ => BlockKind::Display,
    }
}

/// Parses one slide's markdown.
pub fn parse(markdown: &str) -> Vec<Block> {
    let mut b = Builder::default();
    for event in Parser::new_ext(markdown, Options::ENABLE_STRIKETHROUGH) {
        b.event(event);
    }
    b.flush_inline();
    while let Some(frame) = b.stack.pop() {
        // Unbalanced events should not happen; keep whatever was collected.
        let block = match frame {
            Frame::Quote(blocks) => Block::Quote(blocks),
            Frame::List { start, items } => Block::List { start, items },
            Frame::Item(blocks) => Block::List {
                start: None,
                items: vec![blocks],
            },
        };
        b.push_block(block);
    }
    b.root
}

impl Builder {
    fn marks(&self) -> Marks {
        Marks {
            bold: self.bold > 0,
            italic: self.italic > 0,
            strike: self.strike > 0,
            code: false,
            link: !self.links.is_empty() && self.images == 0,
            dim: self.images > 0,
        }
    }

    fn container(&mut self) -> &mut Vec<Block> {
        match self.stack.last_mut() {
            None => &mut self.root,
            Some(Frame::Quote(blocks)) | Some(Frame::Item(blocks)) => blocks,
            Some(Frame::List { items, .. }) => {
                if items.is_empty() {
                    items.push(Vec::new());
                }
                items.last_mut().expect("non-empty")
            }
        }
    }

    fn push_block(&mut self, block: Block) {
        self.container().push(block);
    }

    /// Ends the open paragraph or heading, if any (tight list items have text without an
    /// explicit paragraph, so any block boundary may have to close one).
    fn flush_inline(&mut self) {
        if let Some(open) = self.inline.take() {
            let block = match open.heading {
                Some(level) => Block::Heading {
                    level,
                    inlines: open.inlines,
                },
                None => Block::Paragraph(open.inlines),
            };
            self.push_block(block);
        }
    }

    fn push_inline(&mut self, item: Inline) {
        if let (Inline::Text(text, _), Some((_, shown))) = (&item, self.links.last_mut()) {
            shown.push_str(text);
        }
        self.inline
            .get_or_insert_with(|| OpenInline {
                heading: None,
                inlines: Vec::new(),
            })
            .inlines
            .push(item);
    }

    fn text(&mut self, text: &str, marks: Marks) {
        self.push_inline(Inline::Text(text.to_string(), marks));
    }

    fn event(&mut self, event: Event<'_>) {
        if let Some((_, code)) = self.code.as_mut() {
            match event {
                Event::Text(t) => code.push_str(&t),
                Event::End(TagEnd::CodeBlock) => {
                    let (lang, text) = self.code.take().expect("open code block");
                    let kind = block_kind(&lang);
                    self.push_block(Block::Code { kind, lang, text });
                }
                _ => {}
            }
            return;
        }
        if let Some(html) = self.html.as_mut() {
            match event {
                Event::Html(t) | Event::Text(t) => html.push_str(&t),
                Event::End(TagEnd::HtmlBlock) => {
                    let html = self.html.take().expect("open html block");
                    self.html_block(&html);
                }
                _ => {}
            }
            return;
        }
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(t) => self.text(&t, self.marks()),
            Event::Code(t) => {
                let marks = Marks {
                    code: true,
                    ..self.marks()
                };
                self.text(&t, marks);
            }
            Event::InlineMath(t) | Event::DisplayMath(t) => self.text(&t, self.marks()),
            Event::SoftBreak => self.text(" ", self.marks()),
            Event::HardBreak => self.push_inline(Inline::Break),
            Event::Rule => {
                self.flush_inline();
                self.push_block(Block::Rule);
            }
            Event::Html(t) | Event::InlineHtml(t) => {
                let tag = t.trim().to_ascii_lowercase();
                if tag.starts_with("<br") {
                    self.push_inline(Inline::Break);
                } else if !tag.starts_with("<!--") {
                    let marks = Marks {
                        dim: true,
                        ..self.marks()
                    };
                    self.text(&t, marks);
                }
            }
            Event::FootnoteReference(t) => self.text(&format!("[^{t}]"), self.marks()),
            Event::TaskListMarker(done) => self.text(if done { "☑ " } else { "☐ " }, self.marks()),
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        let too_deep = self.flattened > 0
            || (self.nesting >= MAX_NESTING && matches!(tag, Tag::BlockQuote(_) | Tag::List(_)));
        match tag {
            Tag::Paragraph => {
                self.flush_inline();
                self.inline = Some(OpenInline {
                    heading: None,
                    inlines: Vec::new(),
                });
            }
            Tag::Heading { level, .. } => {
                self.flush_inline();
                self.inline = Some(OpenInline {
                    heading: Some(heading_level(level)),
                    inlines: Vec::new(),
                });
            }
            // Too deep: no frame. Events nest properly, so until this container ends every
            // container event belongs to it or to one inside it (see `end`). An item of the
            // deepest real list still gets its frame.
            Tag::BlockQuote(_) | Tag::List(_) | Tag::Item if too_deep => {
                self.flush_inline();
                self.flattened += 1;
            }
            Tag::BlockQuote(_) => {
                self.flush_inline();
                self.nesting += 1;
                self.stack.push(Frame::Quote(Vec::new()));
            }
            Tag::List(start) => {
                self.flush_inline();
                self.nesting += 1;
                self.stack.push(Frame::List {
                    start,
                    items: Vec::new(),
                });
            }
            Tag::Item => {
                self.flush_inline();
                self.stack.push(Frame::Item(Vec::new()));
            }
            Tag::CodeBlock(kind) => {
                self.flush_inline();
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => {
                        info.split_whitespace().next().unwrap_or("").to_string()
                    }
                    CodeBlockKind::Indented => String::new(),
                };
                self.code = Some((lang, String::new()));
            }
            Tag::HtmlBlock => {
                self.flush_inline();
                self.html = Some(String::new());
            }
            Tag::Emphasis => self.italic += 1,
            Tag::Strong => self.bold += 1,
            Tag::Strikethrough => self.strike += 1,
            Tag::Link { dest_url, .. } => self.links.push((dest_url.to_string(), String::new())),
            Tag::Image { .. } => {
                self.images += 1;
                let marks = self.marks();
                self.text("[image: ", marks);
            }
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph | TagEnd::Heading(_) => self.flush_inline(),
            // The innermost open container is a flattened one (see `start`).
            TagEnd::BlockQuote(_) | TagEnd::List(_) | TagEnd::Item if self.flattened > 0 => {
                self.flush_inline();
                self.flattened -= 1;
            }
            TagEnd::BlockQuote(_) => {
                self.flush_inline();
                if let Some(Frame::Quote(blocks)) = self.stack.last_mut() {
                    let blocks = std::mem::take(blocks);
                    self.stack.pop();
                    self.nesting -= 1;
                    self.push_block(Block::Quote(blocks));
                }
            }
            TagEnd::List(_) => {
                self.flush_inline();
                if let Some(Frame::List { start, items }) = self.stack.last_mut() {
                    let block = Block::List {
                        start: *start,
                        items: std::mem::take(items),
                    };
                    self.stack.pop();
                    self.nesting -= 1;
                    self.push_block(block);
                }
            }
            TagEnd::Item => {
                self.flush_inline();
                if let Some(Frame::Item(blocks)) = self.stack.last_mut() {
                    let blocks = std::mem::take(blocks);
                    self.stack.pop();
                    match self.stack.last_mut() {
                        Some(Frame::List { items, .. }) => items.push(blocks),
                        _ => self.container().extend(blocks),
                    }
                }
            }
            TagEnd::Emphasis => self.italic = self.italic.saturating_sub(1),
            TagEnd::Strong => self.bold = self.bold.saturating_sub(1),
            TagEnd::Strikethrough => self.strike = self.strike.saturating_sub(1),
            TagEnd::Link => {
                if let Some((url, shown)) = self.links.pop() {
                    self.link_end(url, shown);
                }
            }
            TagEnd::Image => {
                let marks = self.marks();
                self.text("]", marks);
                self.images = self.images.saturating_sub(1);
            }
            _ => {}
        }
    }

    /// Shows a link's URL after its text unless it adds nothing (empty, or the text itself).
    fn link_end(&mut self, url: String, shown: String) {
        let url = url.trim();
        if url.is_empty() || same_target(url, &shown) {
            return;
        }
        let marks = Marks {
            dim: true,
            link: false,
            ..self.marks()
        };
        if shown.trim().is_empty() {
            let marks = Marks {
                link: true,
                dim: false,
                ..marks
            };
            self.text(url, marks);
        } else {
            self.text(&format!(" ({url})"), marks);
        }
    }

    /// Raw HTML: comments are speaker notes and stay hidden; anything else is shown as dim text.
    fn html_block(&mut self, html: &str) {
        let trimmed = html.trim();
        if trimmed.is_empty() || (trimmed.starts_with("<!--") && trimmed.ends_with("-->")) {
            return;
        }
        let marks = Marks {
            dim: true,
            ..Marks::default()
        };
        let mut inlines = Vec::new();
        for (i, line) in trimmed.lines().enumerate() {
            if i > 0 {
                inlines.push(Inline::Break);
            }
            inlines.push(Inline::Text(line.to_string(), marks));
        }
        self.push_block(Block::Paragraph(inlines));
    }
}

fn heading_level(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// Whether a link's text already says where it goes (`[https://x.org/](https://x.org)`).
fn same_target(url: &str, text: &str) -> bool {
    fn norm(s: &str) -> &str {
        let s = s.trim();
        let s = s.strip_prefix("mailto:").unwrap_or(s);
        let s = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"))
            .unwrap_or(s);
        s.trim_end_matches('/')
    }
    norm(url).eq_ignore_ascii_case(norm(text))
}
