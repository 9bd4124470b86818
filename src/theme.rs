//! Themes: colours for every part of a slide and the status bar, loaded from TOML files in
//! `themes/` (embedded in the binary) or from a path given with `--theme`.
//! (Stub: the real implementation replaces this file.)

use ratatui::style::Color;

/// A theme. Colours are ratatui colours; `NO_COLOR` turns them all into `Color::Reset`.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub text: Color,
    pub heading: Color,
    pub accent: Color,
    pub quote: Color,
    pub code_bg: Color,
    pub link: Color,
    pub dim: Color,
    pub error: Color,
    pub status_fg: Color,
    pub status_bg: Color,
    /// Name of the syntect theme used for code.
    pub syntect_theme: String,
    /// True when colours are off (NO_COLOR): renderers use modifiers only.
    pub no_color: bool,
    /// Distinct colours for demo tasks, picked by task index.
    pub task_colors: Vec<Color>,
}

/// Why a theme could not be loaded; the message names the file and the key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ThemeError(pub String);

impl Theme {
    /// Loads a built-in theme by name (`dark`, `light`, `high-contrast`) or a TOML file by path.
    pub fn load(spec: &str) -> Result<Theme, ThemeError> {
        let _ = spec;
        Ok(Theme::fallback())
    }

    fn fallback() -> Theme {
        Theme {
            name: "dark".into(),
            text: Color::White,
            heading: Color::Cyan,
            accent: Color::Yellow,
            quote: Color::Gray,
            code_bg: Color::Rgb(30, 30, 30),
            link: Color::Blue,
            dim: Color::DarkGray,
            error: Color::Red,
            status_fg: Color::Black,
            status_bg: Color::Cyan,
            syntect_theme: "base16-ocean.dark".into(),
            no_color: false,
            task_colors: vec![Color::Green, Color::Magenta, Color::Yellow, Color::Cyan],
        }
    }

    /// The same theme with every colour removed (for `NO_COLOR`).
    pub fn without_color(self) -> Theme {
        self
    }

    /// Stable colour of the demo task with the given index.
    pub fn task_color(&self, index: usize) -> Color {
        self.task_colors[index % self.task_colors.len()]
    }
}
