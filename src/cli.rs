//! The command line: `trio-present DECK` presents; `render`, `run`, `check` and `doctor` are
//! the scriptable commands. Usage and input errors print one line on stderr and exit with 2.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::app::App;
use crate::config::Config;
use crate::deck::Deck;
use crate::theme::Theme;

#[derive(Parser, Debug)]
#[command(
    name = "trio-present",
    version,
    about = "Present a markdown deck in the terminal and run its Python live on trio",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Cmd>,
    /// The deck: a markdown file, slides separated by lines of `====`.
    pub deck: Option<PathBuf>,
    /// The same talk in other languages (`talk.de.md`): `L` switches, on the same slide.
    #[arg(value_name = "TRANSLATION")]
    pub translations: Vec<PathBuf>,
    #[command(flatten)]
    pub present: PresentArgs,
}

#[derive(Args, Debug, Clone)]
pub struct PresentArgs {
    /// Slide to start on (1-based).
    #[arg(long, default_value_t = 1)]
    pub slide: usize,
    /// Write errors that do not stop the talk to a log file (default:
    /// $XDG_STATE_HOME/trio-present/trio-present.log).
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "")]
    pub log: Option<PathBuf>,
    /// Run nothing live: exec slides play their recorded rehearsal (see `recordings`).
    #[arg(long)]
    pub offline: bool,
    /// Planned length of the talk (e.g. 30m, 1h, 45m30s): the speaker window paces it.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<std::time::Duration>,
    /// Serve a live web view of the talk for the audience (default 127.0.0.1:8080; port 0
    /// picks a free one). Any address other than loopback gets a secret token in the URL.
    #[arg(long, value_name = "ADDR:PORT", num_args = 0..=1,
          default_missing_value = crate::web::server::DEFAULT_ADDR)]
    pub share: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    crate::deck::notes::parse_duration(text)
        .ok_or_else(|| format!("{text:?} is not a duration; write e.g. 30m, 1h or 45m30s"))
}

/// Options shared by every command that shows or runs slides.
#[derive(Args, Debug, Clone)]
pub struct Common {
    /// Theme: dark, light, high-contrast, or a path to a .toml file.
    #[arg(long)]
    pub theme: Option<String>,
    /// Python interpreter (default: $TRIO_PRESENT_PYTHON, the active virtualenv, python3).
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// Let demo servers listen on every interface instead of loopback only.
    #[arg(long)]
    pub expose: bool,
    /// Run the deck's code without asking first (for a deck you have rehearsed).
    #[arg(long, conflicts_with = "no_exec")]
    pub trust: bool,
    /// Never run code: present the slides only.
    #[arg(long)]
    pub no_exec: bool,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Print the frame the presenter would draw for one slide.
    Render {
        /// The deck: a markdown file, slides separated by lines of `====`.
        deck: PathBuf,
        /// The slide to draw (1-based).
        #[arg(long)]
        slide: usize,
        /// Terminal width in columns (at least 10).
        #[arg(long, default_value_t = 100)]
        width: u16,
        /// Terminal height in rows (at least 3).
        #[arg(long, default_value_t = 30)]
        height: u16,
        /// Keep colours as ANSI escapes.
        #[arg(long)]
        color: bool,
        /// Print the slide's speaker notes under the frame.
        #[arg(long)]
        notes: bool,
        /// Theme: dark, light, high-contrast, or a path to a .toml file.
        #[arg(long)]
        theme: Option<String>,
    },
    /// Run one slide's code headless and print its output stream (stdin goes to the demo).
    Run {
        /// The deck: a markdown file, slides separated by lines of `====`.
        deck: PathBuf,
        /// The slide to run (1-based); earlier exec slides run first as set-up.
        #[arg(long)]
        slide: usize,
        /// Stop the demo after this many seconds (exit status 124).
        #[arg(long)]
        timeout: Option<f64>,
        /// Print the raw protocol events as JSON lines.
        #[arg(long)]
        json: bool,
        /// Print the slide's latest recording (at its original timing) instead of running it.
        #[arg(long)]
        replay: bool,
        #[command(flatten)]
        exec: Headless,
    },
    /// Rehearse: check the deck and run every exec slide headless; prints a table, exit 1 on
    /// any failure.
    Check {
        /// The deck to rehearse.
        deck: PathBuf,
        /// Its translations, compared with it (default: those its first slide names).
        #[arg(value_name = "TRANSLATION")]
        translations: Vec<PathBuf>,
        /// Seconds a slide may run before it counts as a timeout.
        #[arg(long, default_value_t = 15.0)]
        timeout: f64,
        /// Slides to check, e.g. 12,33,50-54 (default: all).
        #[arg(long)]
        slides: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Terminal size the talk is given on: slides taller than it are reported.
        #[arg(long, default_value = "100x30")]
        size: String,
        /// Keep every run as a recording, for replays on stage (`--offline`).
        #[arg(long)]
        record: bool,
        /// Slides run at once, each in its own interpreter (slides that use ports, processes
        /// or files never two at once); 1 runs them one after another, each timed alone.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
        jobs: u16,
        #[command(flatten)]
        exec: Headless,
    },
    /// List the deck's recordings (slide, when, status, duration), or delete them.
    Recordings {
        deck: PathBuf,
        /// Only these slides, e.g. 12,33,50-54.
        #[arg(long)]
        slides: Option<String>,
        /// Delete the listed recordings.
        #[arg(long)]
        delete: bool,
    },
    /// Export the talk: a self-contained web page with every slide and a player for each
    /// recorded run (`-o talk.html`), or an asciicast v2 file of the presenter playing recorded
    /// runs (`--cast talk.cast`).
    Export {
        deck: PathBuf,
        /// One slide to export (asciicast).
        #[arg(long, conflicts_with = "slides")]
        slide: Option<usize>,
        /// Several slides in one cast, e.g. 12,33,37 (default: every exec slide).
        #[arg(long)]
        slides: Option<String>,
        /// The asciicast file to write.
        #[arg(long)]
        cast: Option<PathBuf>,
        /// The web page to write: every slide, recorded runs playable (a name ending in .cast
        /// writes an asciicast instead).
        #[arg(short = 'o', long = "html", value_name = "FILE")]
        html: Option<PathBuf>,
        /// Put each slide's speaker notes in the web page.
        #[arg(long)]
        notes: bool,
        /// Terminal size of the cast.
        #[arg(long, default_value = "100x30")]
        size: String,
        /// Theme of the frames: dark, light, high-contrast, or a .toml file.
        #[arg(long)]
        theme: Option<String>,
    },
    /// The speaker window: notes, the next slide, timer and demo state; follows the presenter
    /// of the same deck (start `trio-present DECK` in another terminal) and drives it.
    Speaker {
        deck: PathBuf,
        #[arg(long)]
        theme: Option<String>,
    },
    /// Check the Python interpreter and trio; `--install` provisions trio.
    Doctor {
        /// Install trio into the private cache if the interpreter lacks it (needs PyPI).
        #[arg(long)]
        install: bool,
        /// Python interpreter (default: $TRIO_PRESENT_PYTHON, the active virtualenv, python3).
        #[arg(long)]
        python: Option<PathBuf>,
    },
}

/// Options of the commands that run a deck's code without a speaker (`run`, `check`).
#[derive(Args, Debug, Clone)]
pub struct Headless {
    /// Python interpreter (default: $TRIO_PRESENT_PYTHON, the active virtualenv, python3).
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// Let demo servers listen on every interface instead of loopback only.
    #[arg(long)]
    pub expose: bool,
    /// Run the deck's code without an earlier approval.
    #[arg(long)]
    pub trust: bool,
}

/// A usage or input error: one line, exit status 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Parses the command line and runs it; returns the exit status.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return 0;
            }
            // clap's message spans lines (e.g. the missing arguments under a heading); the
            // part before the usage block is joined into the one line we promise.
            let text = e.to_string();
            let first: Vec<&str> = text
                .lines()
                .map(str::trim)
                .take_while(|l| !l.is_empty() && !l.starts_with("Usage:"))
                .collect();
            let first = first.join(" ");
            let first = first.trim_start_matches("error: ");
            eprintln!("trio-present: {first} (see --help)");
            return 2;
        }
    };
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            if let Some(u) = e.downcast_ref::<UsageError>() {
                eprintln!("trio-present: {u}");
                2
            } else {
                eprintln!("trio-present: {e:#}");
                1
            }
        }
    }
}

fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

fn load_deck(path: &std::path::Path) -> anyhow::Result<Deck> {
    Deck::load(path).map_err(|e| usage(e.to_string()))
}

fn check_slide(deck: &Deck, slide: usize) -> anyhow::Result<()> {
    let n = deck.slides.len();
    if slide == 0 || slide > n {
        return Err(usage(format!(
            "--slide {slide}: the deck has slides 1 to {n}"
        )));
    }
    Ok(())
}

/// `run` and `check` execute the deck's code without asking: they need `--trust` or an
/// approval given earlier in the presenter.
fn require_consent(deck: &Deck, trust: bool, command: &str) -> anyhow::Result<()> {
    let store = crate::consent::Store::for_user();
    match crate::consent::gate(deck, trust, false, store.as_ref()) {
        crate::consent::Gate::Ask => Err(usage(crate::consent::refusal(&deck.path, command))),
        _ => Ok(()),
    }
}

fn load_theme(spec: &str) -> anyhow::Result<Theme> {
    let theme = Theme::load(spec).map_err(|e| usage(e.to_string()))?;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    Ok(if no_color {
        theme.without_color()
    } else {
        theme
    })
}

fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    // Defaults the user set once; flags override them. A bad file stops every command but
    // doctor, which shows the problem among its findings.
    let config = match (Config::load(), &cli.command) {
        (Ok(c), _) => c,
        (Err(e), Some(Cmd::Doctor { .. })) => {
            println!("config   {e}");
            Config::default()
        }
        (Err(e), _) => return Err(usage(format!("config file {e}"))),
    };
    match cli.command {
        Some(Cmd::Render {
            deck,
            slide,
            width,
            height,
            color,
            notes,
            theme,
        }) => {
            let deck = load_deck(&deck)?;
            check_slide(&deck, slide)?;
            if width < 10 || height < 3 {
                return Err(usage("--width must be at least 10 and --height at least 3"));
            }
            let theme = load_theme(&config.theme(theme.as_deref()))?;
            let mut app = App::new(deck, theme, slide);
            // A still frame never looks for Python: "finding Python…" would never resolve.
            app.kernel = crate::app::KernelState::NotLooked;
            let mut text = crate::ui::render_frame(&app, width, height, color);
            if notes {
                for note in &app.deck.slides[slide - 1].notes.notes {
                    text.push_str(&format!("\n--- note ---\n{note}\n"));
                }
            }
            std::io::stdout().write_all(text.as_bytes())?;
            Ok(0)
        }
        Some(Cmd::Speaker { deck, theme }) => {
            let deck = load_deck(&deck)?;
            let theme = load_theme(&config.theme(theme.as_deref()))?;
            if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                return Err(usage(
                    "stdout is not a terminal; the speaker window needs one",
                ));
            }
            crate::speaker::run::run(deck, theme)?;
            Ok(0)
        }
        Some(Cmd::Run {
            deck,
            slide,
            timeout,
            json,
            replay,
            exec,
        }) => {
            let deck = load_deck(&deck)?;
            check_slide(&deck, slide)?;
            if !deck.slides[slide - 1].is_exec() {
                return Err(usage(format!(
                    "slide {slide} has no code to run (no ```exec or ```exechidden block)"
                )));
            }
            // A replay executes nothing, so it needs no consent.
            if !replay {
                require_consent(&deck, exec.trust, "run")?;
            }
            if timeout.is_some_and(|t| t.is_nan() || t <= 0.0) {
                return Err(usage("--timeout must be a positive number of seconds"));
            }
            let args = crate::headless::RunArgs {
                slide,
                timeout,
                json,
                python: config.python(exec.python),
                expose: config.expose(exec.expose),
                replay,
            };
            crate::headless::run(&deck, &args)
        }
        Some(Cmd::Check {
            deck,
            translations,
            timeout,
            slides,
            json,
            size,
            record,
            jobs,
            exec,
        }) => {
            let deck = load_deck(&deck)?;
            if timeout.is_nan() || timeout <= 0.0 || timeout > 86_400.0 {
                return Err(usage("--timeout must be a positive number of seconds"));
            }
            let size = crate::check::parse_size(&size).map_err(usage)?;
            let slides = match slides {
                Some(spec) => {
                    crate::check::parse_slides(&spec, deck.slides.len()).map_err(usage)?
                }
                None => vec![],
            };
            require_consent(&deck, exec.trust, "check")?;
            let args = crate::check::CheckArgs {
                slides,
                timeout: std::time::Duration::from_secs_f64(timeout),
                json,
                size,
                python: config.python(exec.python),
                expose: config.expose(exec.expose),
                record,
                jobs: jobs.into(),
            };
            // Translations are compared, not run: same code, same result.
            let (decks, warnings) = crate::deck::translations::load(deck, &translations)
                .map_err(|e| usage(e.to_string()))?;
            crate::check::run_translated(&decks, &warnings, &args)
        }
        Some(Cmd::Recordings {
            deck,
            slides,
            delete,
        }) => {
            let deck = load_deck(&deck)?;
            let slides = match slides {
                Some(spec) => {
                    crate::check::parse_slides(&spec, deck.slides.len()).map_err(usage)?
                }
                None => vec![],
            };
            crate::record::list::run(&deck, &slides, delete, &mut std::io::stdout())
        }
        Some(Cmd::Export {
            deck,
            slide,
            slides,
            cast,
            html,
            notes,
            size,
            theme,
        }) => {
            let deck = load_deck(&deck)?;
            // `-o talk.cast` means the asciicast; any other name is the web page.
            let (cast, html) = match html {
                Some(p) if p.extension().is_some_and(|x| x == "cast") && cast.is_none() => {
                    (Some(p), None)
                }
                h => (cast, h),
            };
            if cast.is_none() && html.is_none() {
                return Err(usage(
                    "export needs an output: -o talk.html (web page) or --cast talk.cast",
                ));
            }
            let theme = config.theme(theme.as_deref());
            if let Some(html) = &html {
                let theme = load_theme(&theme)?;
                crate::export::html::export(&deck, html, &theme, notes)?;
                if cast.is_none() {
                    return Ok(0);
                }
            }
            let Some(cast) = cast else { return Ok(0) };
            let size = crate::check::parse_size(&size).map_err(usage)?;
            let slides = match (slide, slides) {
                (Some(n), _) => {
                    check_slide(&deck, n)?;
                    vec![n]
                }
                (None, Some(spec)) => {
                    crate::check::parse_slides(&spec, deck.slides.len()).map_err(usage)?
                }
                (None, None) => deck.exec_slides(),
            };
            if let Some(n) = slides.iter().find(|n| !deck.slides[**n - 1].is_exec()) {
                return Err(usage(format!(
                    "slide {n} has no exec code, so nothing was recorded"
                )));
            }
            let theme = load_theme(&theme)?;
            crate::export::cast::export(&deck, &slides, &cast, size, theme)
        }
        Some(Cmd::Doctor { install, python }) => {
            for line in config.describe() {
                println!("{line}");
            }
            let mut out = std::io::stdout();
            Ok(crate::kernel::doctor::run(
                config.python(python).as_deref(),
                install,
                &mut out,
            ))
        }
        None => {
            let Some(path) = cli.deck else {
                return Err(usage(
                    "no deck given; usage: trio-present DECK.md (try slides/trio.md)",
                ));
            };
            // A large deck comes in parts: the first frame needs only the slides up to the
            // one shown (see Deck::open).
            let opened = Deck::open(&path, cli.present.slide).map_err(|e| usage(e.to_string()))?;
            let (deck, mut rest) = (opened.deck, opened.rest);
            check_slide(&deck, cli.present.slide)?;
            let (mut decks, warnings) = crate::deck::translations::load(deck, &cli.translations)
                .map_err(|e| usage(e.to_string()))?;
            let mut deck = decks.remove(0);
            if let Some(path) = &cli.present.log {
                let path = match path.as_os_str().is_empty() {
                    true => crate::log::default_path()
                        .ok_or_else(|| usage("--log: no state directory; give a FILE"))?,
                    false => path.clone(),
                };
                crate::log::init(&path).map_err(usage)?;
            }
            let theme = load_theme(&config.theme(cli.present.common.theme.as_deref()))?;
            // (Loading the file already checked its bindings.)
            let keymap = config.keymap().unwrap_or_default();
            if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                return Err(usage(
                    "stdout is not a terminal; to print a slide use: trio-present render DECK --slide N",
                ));
            }
            // Started before the terminal is taken over, so a busy port is one plain line.
            let share = match &cli.present.share {
                Some(spec) => {
                    // The web view serves every slide.
                    if let Some(rest) = rest.take() {
                        deck = crate::deck::Opened::whole(&deck, rest)
                            .map_err(|e| usage(e.to_string()))?;
                    }
                    let share = crate::web::server::start(spec, &deck, &theme)
                        .map_err(anyhow::Error::msg)?;
                    eprintln!("trio-present: the audience can follow at {}", share.url);
                    Some(share)
                }
                None => None,
            };
            let opts = crate::runtime::Options {
                start_slide: cli.present.slide,
                python: config.python(cli.present.common.python),
                expose: config.expose(cli.present.common.expose),
                trust: cli.present.common.trust,
                no_exec: cli.present.common.no_exec,
                offline: cli.present.offline,
                duration: cli.present.duration,
                translations: decks,
                warnings,
                keymap,
                share,
                rest,
            };
            crate::runtime::present(deck, theme, opts)?;
            Ok(0)
        }
    }
}
