//! The deck model: a markdown file split into slides, with every fenced code block classified
//! (exec / hidden / display) and located (slide, source line). Loading reads and validates the
//! file; splitting happens before any markdown parsing so that `====` is never a setext heading.

pub mod notes;
pub mod settings;
mod split;
pub mod translations;

use std::path::{Path, PathBuf};

pub use split::split_slides;

/// Largest deck we agree to open; a talk is a few hundred KB at most, so anything above this is
/// almost certainly the wrong file.
pub const MAX_DECK_BYTES: u64 = 16 * 1024 * 1024;

/// What a fenced code block is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockKind {
    /// ```` ```exec ````: Python, shown on the slide and run.
    Exec,
    /// ```` ```exechidden ````: Python, run but never shown.
    Hidden,
    /// Any other fence: shown only (highlighted if it names a language, verbatim otherwise).
    Display,
}

impl BlockKind {
    /// Whether the block takes part in a run.
    pub fn runs(self) -> bool {
        matches!(self, BlockKind::Exec | BlockKind::Hidden)
    }
}

/// One fenced code block of the deck.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeBlock {
    /// 1-based slide number the block belongs to.
    pub slide: usize,
    pub kind: BlockKind,
    /// The info string's first word (`exec`, `python`, ...), empty when there is none.
    pub lang: String,
    /// ```` ```exec replay ````: when the block is set-up for a later slide, it runs whole
    /// instead of only its definitions (the set-up rule, docs/protocol.md).
    pub replay: bool,
    /// The code, without the fences, lines joined with `\n` and ending in `\n` (if non-empty).
    pub source: String,
    /// 1-based line of the opening fence in the deck file.
    pub fence_line: usize,
    /// True when the fence was never closed (it runs to the end of its slide / the deck).
    pub unclosed: bool,
}

impl CodeBlock {
    /// 1-based deck line of the block's first code line.
    pub fn first_code_line(&self) -> usize {
        self.fence_line + 1
    }
}

/// One slide: its markdown text and the code blocks in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slide {
    /// 1-based slide number.
    pub number: usize,
    /// The slide's markdown (LF line endings), as handed to the renderer.
    pub markdown: String,
    /// 1-based deck line where the slide's text starts.
    pub first_line: usize,
    pub blocks: Vec<CodeBlock>,
    /// Speaker notes and time budget (see [`notes`]); never shown to the audience.
    pub notes: notes::SlideNotes,
}

impl Slide {
    /// Whether the slide has something to run of its own.
    pub fn is_exec(&self) -> bool {
        self.blocks.iter().any(|b| b.kind.runs())
    }

    /// The slide's title (its first heading) or else its first line of text, for the overview
    /// and the speaker's "next" preview.
    pub fn title(&self) -> String {
        first_heading(&self.markdown)
            .or_else(|| {
                self.markdown
                    .lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty() && !l.starts_with("<!--") && !l.starts_with("```"))
                    .map(|l| l.trim_start_matches(['#', '>', '-', '*', ' ']).to_string())
            })
            .unwrap_or_default()
    }
}

/// A whole presentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deck {
    pub path: PathBuf,
    /// First H1 of slide 1, else the file name.
    pub title: String,
    pub slides: Vec<Slide>,
    /// Problems worth telling the speaker that do not stop the show (e.g. an unclosed fence).
    pub warnings: Vec<String>,
    /// Only the first slides, of a large deck opened in parts for its first frame (see
    /// [`Deck::open`]): how many slides follow is not known yet.
    pub partial: bool,
}

impl Deck {
    /// Parses deck text; `path` is only used for the title fallback and messages.
    pub fn parse(path: &Path, text: &str) -> Result<Deck, DeckError> {
        let (slides, warnings) = split_slides(text);
        if slides
            .iter()
            .all(|s| s.markdown.trim().is_empty() && s.blocks.is_empty())
        {
            return Err(DeckError::Empty(path.to_path_buf()));
        }
        let title = slides
            .first()
            .and_then(|s| first_h1(&s.markdown))
            .unwrap_or_else(|| {
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "deck".into())
            });
        Ok(Deck {
            path: path.to_path_buf(),
            title,
            slides,
            warnings,
            partial: false,
        })
    }

    /// Reads and parses a deck file, turning every way it can be wrong into a [`DeckError`].
    pub fn load(path: &Path) -> Result<Deck, DeckError> {
        Deck::from_bytes(path, &read(path)?)
    }

    /// Opens a deck to be shown at slide `slide` (1-based). A large deck is read only as far
    /// as the end of that slide: it comes back with slides 1 to `slide` parsed, marked
    /// [`Deck::partial`], and with the open file, to be read and parsed whole (see
    /// [`Opened::whole`]) once the first frame is out. Everything else — errors, warnings,
    /// small decks, the last slide or one past the end — is exactly [`Deck::load`].
    pub fn open(path: &Path, slide: usize) -> Result<Opened, DeckError> {
        use std::io::Read;
        let (mut file, len) = open_file(path)?;
        let io = |e: std::io::Error| DeckError::io(path, &e);
        let mut bytes = Vec::new();
        let whole = |bytes, file| {
            let deck = Rest { bytes, file }.parse(path)?;
            Ok(Opened { deck, rest: None })
        };
        if len < OPEN_IN_PARTS_FROM as u64 {
            return whole(bytes, file);
        }
        // Read a chunk, then twice as much, ... until slide `slide` is seen to end.
        let mut want = HEAD_CHUNK;
        let end = loop {
            (&mut file)
                .take((want - bytes.len()) as u64)
                .read_to_end(&mut bytes)
                .map_err(io)?;
            match split::head_end(&bytes, slide.max(1)) {
                split::Head::Ends(end) => break end,
                split::Head::More if bytes.len() == want => want *= 2,
                // The end of the file, before the end of the slide: the last slide, or past it.
                split::Head::More | split::Head::Whole => return whole(bytes, file),
            }
        };
        let head = std::str::from_utf8(&bytes[..end]).ok();
        let Some(Ok(mut deck)) = head.map(|head| Deck::parse(path, head)) else {
            // Not UTF-8, or only empty slides so far: the whole read says which.
            return whole(bytes, file);
        };
        deck.partial = true;
        Ok(Opened {
            deck,
            rest: Some(Rest { bytes, file }),
        })
    }

    /// Parses the raw bytes of a deck file (what [`Deck::load`] does after reading it): they
    /// must be UTF-8. Separate from `load` so that fuzzing and tests need no files.
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Deck, DeckError> {
        let text = std::str::from_utf8(bytes)
            .map_err(|e| DeckError::NotUtf8(path.to_path_buf(), e.valid_up_to()))?;
        Deck::parse(path, text)
    }

    /// Every block that runs, of slides `1..=slide`, in deck order.
    pub fn run_blocks(&self, slide: usize) -> impl Iterator<Item = &CodeBlock> {
        self.slides
            .iter()
            .take(slide)
            .flat_map(|s| s.blocks.iter())
            .filter(|b| b.kind.runs())
    }

    /// Numbers of the slides that have something to run.
    pub fn exec_slides(&self) -> Vec<usize> {
        self.slides
            .iter()
            .filter(|s| s.is_exec())
            .map(|s| s.number)
            .collect()
    }
}

/// Decks from this size on are opened in parts (see [`Deck::open`]); below it the whole read
/// and parse take a fraction of a millisecond.
pub const OPEN_IN_PARTS_FROM: usize = 64 * 1024;

/// The first chunk [`Deck::open`] reads of a large deck (twice as much next, and so on):
/// a slide rarely needs more, and the first frame does not wait for the rest.
const HEAD_CHUNK: usize = 16 * 1024;

/// A deck opened by [`Deck::open`].
pub struct Opened {
    /// The deck; while `rest` is some, it holds only its slides up to the one asked for.
    pub deck: Deck,
    /// What was not read yet of a deck opened in parts, for [`Opened::whole`]. Read and
    /// parsed after the first frame rather than beside it on another thread: on a machine with
    /// two busy cores that thread takes the CPU from the first frame.
    pub rest: Option<Rest>,
}

/// The file of a deck opened in parts, with the bytes read of it so far.
pub struct Rest {
    bytes: Vec<u8>,
    file: std::fs::File,
}

impl Opened {
    /// The whole deck of `deck` opened in parts: the rest of its file is read and the whole
    /// text parsed (a byte that is not UTF-8 after the first slides is found only now).
    pub fn whole(deck: &Deck, rest: Rest) -> Result<Deck, DeckError> {
        rest.parse(&deck.path)
    }
}

impl Rest {
    /// The deck at `path`: the rest of the file read, the whole text parsed.
    fn parse(self, path: &Path) -> Result<Deck, DeckError> {
        use std::io::Read;
        let Rest {
            mut bytes,
            mut file,
        } = self;
        file.read_to_end(&mut bytes)
            .map_err(|e| DeckError::io(path, &e))?;
        Deck::from_bytes(path, &bytes)
    }
}

/// The bytes of a deck file, after the checks every way of opening it makes.
fn read(path: &Path) -> Result<Vec<u8>, DeckError> {
    use std::io::Read;
    let (mut file, len) = open_file(path)?;
    let mut bytes = Vec::with_capacity(len as usize);
    file.read_to_end(&mut bytes)
        .map_err(|e| DeckError::io(path, &e))?;
    Ok(bytes)
}

/// A deck file opened for reading, with its length, after the checks every way of opening it
/// makes.
fn open_file(path: &Path) -> Result<(std::fs::File, u64), DeckError> {
    let meta = std::fs::metadata(path).map_err(|e| DeckError::io(path, &e))?;
    if meta.is_dir() {
        return Err(DeckError::IsDirectory(path.to_path_buf()));
    }
    if meta.len() > MAX_DECK_BYTES {
        return Err(DeckError::TooLarge(path.to_path_buf(), meta.len()));
    }
    let file = std::fs::File::open(path).map_err(|e| DeckError::io(path, &e))?;
    Ok((file, meta.len()))
}

/// The text of the first `# ` heading, if the markdown has one outside code.
fn first_h1(markdown: &str) -> Option<String> {
    use pulldown_cmark::{Event, HeadingLevel, Parser, Tag, TagEnd};
    let mut in_h1 = false;
    let mut text = String::new();
    for ev in Parser::new(markdown) {
        match ev {
            Event::Start(Tag::Heading {
                level: HeadingLevel::H1,
                ..
            }) => in_h1 = true,
            Event::End(TagEnd::Heading(HeadingLevel::H1)) => {
                let t = text.trim().to_string();
                return (!t.is_empty()).then_some(t);
            }
            Event::Text(t) | Event::Code(t) if in_h1 => text.push_str(&t),
            _ => {}
        }
    }
    None
}

/// The text of the first heading of any level, if the markdown has one outside code.
fn first_heading(markdown: &str) -> Option<String> {
    use pulldown_cmark::{Event, Parser, Tag, TagEnd};
    let mut inside = false;
    let mut text = String::new();
    for ev in Parser::new(markdown) {
        match ev {
            Event::Start(Tag::Heading { .. }) => inside = true,
            Event::End(TagEnd::Heading(_)) => {
                let t = text.trim().to_string();
                if !t.is_empty() {
                    return Some(t);
                }
                inside = false;
            }
            Event::Text(t) | Event::Code(t) if inside => text.push_str(&t),
            _ => {}
        }
    }
    None
}

/// Why a deck could not be opened. Each message is one line that says what to do.
#[derive(Debug, thiserror::Error)]
pub enum DeckError {
    #[error("{0}: no such file; check the path (e.g. slides/trio.md)")]
    NotFound(PathBuf),
    #[error("{0}: is a directory; pass the markdown file of the deck")]
    IsDirectory(PathBuf),
    #[error("{0}: permission denied; make the file readable")]
    PermissionDenied(PathBuf),
    #[error("{0}: cannot read: {1}")]
    Io(PathBuf, String),
    #[error("{0}: not valid UTF-8 (first bad byte at offset {1}); save the file as UTF-8")]
    NotUtf8(PathBuf, usize),
    #[error("{0}: the deck is empty; write slides separated by lines of ====")]
    Empty(PathBuf),
    #[error("{0}: {1} bytes is too large for a deck (limit 16 MiB); is this the right file?")]
    TooLarge(PathBuf, u64),
}

impl DeckError {
    fn io(path: &Path, e: &std::io::Error) -> DeckError {
        let p = path.to_path_buf();
        match e.kind() {
            std::io::ErrorKind::NotFound => DeckError::NotFound(p),
            std::io::ErrorKind::PermissionDenied => DeckError::PermissionDenied(p),
            std::io::ErrorKind::IsADirectory => DeckError::IsDirectory(p),
            _ => DeckError::Io(p, e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests;
