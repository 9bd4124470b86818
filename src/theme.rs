//! Themes: colours for every part of a slide and the status bar, loaded from TOML files in
//! `themes/` (embedded in the binary) or from a path given with `--theme`.
//!
//! A theme file may leave keys out: they are taken from its `base` theme (a built-in name,
//! `dark` when not given), so a user theme can be three lines. Every error is one line naming the
//! file and the key, because the speaker reads it seconds before a talk.

use std::path::Path;

use ratatui::style::Color;

/// Built-in themes, `(name, TOML)`; the first is the default and the fallback for missing keys.
const BUILTIN: &[(&str, &str)] = &[
    ("dark", include_str!("../themes/dark.toml")),
    ("light", include_str!("../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../themes/high-contrast.toml"),
    ),
];

/// Themes bundled with syntect (`ThemeSet::load_defaults`). Listed here so that validating a
/// theme does not load the theme set, which start-up must not pay for.
pub const SYNTECT_THEMES: &[&str] = &[
    "InspiredGitHub",
    "Solarized (dark)",
    "Solarized (light)",
    "base16-eighties.dark",
    "base16-mocha.dark",
    "base16-ocean.dark",
    "base16-ocean.light",
];

/// Keys whose value is a single colour.
const COLOR_KEYS: &[&str] = &[
    "background",
    "text",
    "heading",
    "accent",
    "quote",
    "code_bg",
    "link",
    "dim",
    "error",
    "status_fg",
    "status_bg",
];

/// Keys that are not colours.
const OTHER_KEYS: &[&str] = &["name", "base", "syntect_theme", "task_colors"];

/// A theme. Colours are ratatui colours; `NO_COLOR` turns them all into `Color::Reset`.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    /// Slide background. `Color::Reset` (the `dark` theme) keeps the terminal's own; themes that
    /// set it (`light`, `high-contrast`) need the UI to fill the frame with it.
    pub background: Color,
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
    /// A spec containing `/` or ending in `.toml` is a path; anything else is a built-in name.
    pub fn load(spec: &str) -> Result<Theme, ThemeError> {
        if spec.contains('/') || spec.contains(std::path::MAIN_SEPARATOR) || spec.ends_with(".toml")
        {
            return Theme::from_file(Path::new(spec));
        }
        match BUILTIN.iter().find(|(name, _)| *name == spec) {
            Some((name, _)) => Ok(Theme::builtin(name)),
            None => Err(ThemeError(format!(
                "unknown theme '{spec}'; built-in themes: {} (or give a path to a .toml file)",
                builtin_names()
            ))),
        }
    }

    /// Reads a theme file; `path` appears in every error message as given.
    pub fn from_file(path: &Path) -> Result<Theme, ThemeError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ThemeError(match e.kind() {
                std::io::ErrorKind::NotFound => format!(
                    "{shown}: no such theme file; built-in themes: {}",
                    builtin_names()
                ),
                std::io::ErrorKind::InvalidData => {
                    format!("{shown}: not valid UTF-8; save the theme as UTF-8")
                }
                _ => format!("{shown}: cannot read theme: {e}"),
            })
        })?;
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "custom".into());
        Theme::parse(&shown, &stem, &text)
    }

    /// Parses theme TOML. `source` names it in errors; `default_name` is used when the file has
    /// no `name` key.
    pub fn parse(source: &str, default_name: &str, text: &str) -> Result<Theme, ThemeError> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ThemeError(syntax_error(source, text, &e)))?;
        let err = |msg: String| ThemeError(format!("{source}: {msg}"));

        if let Some(key) = table
            .keys()
            .find(|k| !COLOR_KEYS.contains(&k.as_str()) && !OTHER_KEYS.contains(&k.as_str()))
        {
            return Err(err(format!(
                "unknown key '{key}' (known keys: {}, {})",
                OTHER_KEYS.join(", "),
                COLOR_KEYS.join(", ")
            )));
        }

        let string = |key: &str| -> Result<Option<&str>, ThemeError> {
            match table.get(key) {
                None => Ok(None),
                Some(toml::Value::String(s)) => Ok(Some(s.as_str())),
                Some(v) => Err(err(format!("key '{key}': {v} is not a string"))),
            }
        };

        let mut theme = match string("base")? {
            None => Theme::builtin(BUILTIN[0].0),
            Some(base) if BUILTIN.iter().any(|(n, _)| *n == base) => Theme::builtin(base),
            Some(base) => {
                return Err(err(format!(
                    "key 'base': '{base}' is not a built-in theme ({})",
                    builtin_names()
                )))
            }
        };
        theme.name = string("name")?.unwrap_or(default_name).to_string();

        for key in COLOR_KEYS {
            if let Some(value) = table.get(*key) {
                let color = color_value(value).map_err(|m| err(format!("key '{key}': {m}")))?;
                *theme.color_mut(key) = color;
            }
        }

        if let Some(name) = string("syntect_theme")? {
            if !SYNTECT_THEMES.contains(&name) {
                return Err(err(format!(
                    "key 'syntect_theme': '{name}' is not a syntect theme (use one of: {})",
                    SYNTECT_THEMES.join(", ")
                )));
            }
            theme.syntect_theme = name.to_string();
        }

        if let Some(value) = table.get("task_colors") {
            let toml::Value::Array(items) = value else {
                return Err(err(format!(
                    "key 'task_colors': {value} is not a list of colours (e.g. [\"green\", \"#ff8700\"])"
                )));
            };
            if items.is_empty() {
                return Err(err("key 'task_colors': the list is empty; give at least one colour (6 or more distinct ones read best)".into()));
            }
            theme.task_colors = items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    color_value(v)
                        .map_err(|m| err(format!("key 'task_colors' item {}: {m}", i + 1)))
                })
                .collect::<Result<_, _>>()?;
        }
        Ok(theme)
    }

    /// A built-in theme; they are tested to parse, so a failure here is a bug in `themes/`.
    fn builtin(name: &str) -> Theme {
        let (name, text) = BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .expect("built-in theme name");
        let table: toml::Table = text.parse().expect("built-in theme is valid TOML");
        let mut theme = Theme::skeleton(name);
        for key in COLOR_KEYS {
            let value = table.get(*key).expect("built-in theme sets every colour");
            *theme.color_mut(key) = color_value(value).expect("built-in colour is valid");
        }
        theme.syntect_theme = table["syntect_theme"].as_str().expect("string").to_string();
        theme.task_colors = table["task_colors"]
            .as_array()
            .expect("list")
            .iter()
            .map(|v| color_value(v).expect("built-in task colour is valid"))
            .collect();
        theme
    }

    /// All-reset theme that [`Theme::builtin`] fills in.
    fn skeleton(name: &str) -> Theme {
        Theme {
            name: name.into(),
            background: Color::Reset,
            text: Color::Reset,
            heading: Color::Reset,
            accent: Color::Reset,
            quote: Color::Reset,
            code_bg: Color::Reset,
            link: Color::Reset,
            dim: Color::Reset,
            error: Color::Reset,
            status_fg: Color::Reset,
            status_bg: Color::Reset,
            syntect_theme: "base16-ocean.dark".into(),
            no_color: false,
            task_colors: vec![Color::Reset],
        }
    }

    fn color_mut(&mut self, key: &str) -> &mut Color {
        match key {
            "background" => &mut self.background,
            "text" => &mut self.text,
            "heading" => &mut self.heading,
            "accent" => &mut self.accent,
            "quote" => &mut self.quote,
            "code_bg" => &mut self.code_bg,
            "link" => &mut self.link,
            "dim" => &mut self.dim,
            "error" => &mut self.error,
            "status_fg" => &mut self.status_fg,
            "status_bg" => &mut self.status_bg,
            _ => unreachable!("COLOR_KEYS and color_mut disagree on '{key}'"),
        }
    }

    /// The same theme with every colour removed (for `NO_COLOR`).
    pub fn without_color(mut self) -> Theme {
        for key in COLOR_KEYS {
            *self.color_mut(key) = Color::Reset;
        }
        for c in &mut self.task_colors {
            *c = Color::Reset;
        }
        self.no_color = true;
        self
    }

    /// Stable colour of the demo task with the given index.
    pub fn task_color(&self, index: usize) -> Color {
        if self.task_colors.is_empty() {
            return self.text;
        }
        self.task_colors[index % self.task_colors.len()]
    }

    /// Names of the built-in themes, default first.
    pub fn builtin_names() -> Vec<&'static str> {
        BUILTIN.iter().map(|(n, _)| *n).collect()
    }
}

impl Default for Theme {
    fn default() -> Theme {
        Theme::builtin(BUILTIN[0].0)
    }
}

fn builtin_names() -> String {
    Theme::builtin_names().join(", ")
}

/// One-line TOML syntax error with its line and column (toml's own message spans several lines).
fn syntax_error(source: &str, text: &str, e: &toml::de::Error) -> String {
    let msg = e.message().trim().replace('\n', "; ");
    match e.span() {
        Some(span) => {
            let start = span.start.min(text.len());
            let before = &text[..floor_char_boundary(text, start)];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
            format!("{source}: line {line}, column {column}: TOML syntax error: {msg}")
        }
        None => format!("{source}: TOML syntax error: {msg}"),
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A colour from a TOML value; the error text is what follows "key 'x': ".
fn color_value(value: &toml::Value) -> Result<Color, String> {
    let bad = || format!("{value} is not a colour (use #rrggbb or a name like \"cyan\")");
    let toml::Value::String(s) = value else {
        return Err(bad());
    };
    parse_color(s).ok_or_else(bad)
}

/// Parses `#rrggbb` or a terminal colour name (case, `-`, `_` and spaces ignored).
pub fn parse_color(s: &str) -> Option<Color> {
    let s = s.trim();
    if let Some(hex) = s.strip_prefix('#') {
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
        return Some(Color::Rgb(byte(0)?, byte(2)?, byte(4)?));
    }
    let name: String = s
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    Some(match name.as_str() {
        "reset" | "default" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" | "grey" => Color::Gray,
        "darkgray" | "darkgrey" => Color::DarkGray,
        "lightred" => Color::LightRed,
        "lightgreen" => Color::LightGreen,
        "lightyellow" => Color::LightYellow,
        "lightblue" => Color::LightBlue,
        "lightmagenta" => Color::LightMagenta,
        "lightcyan" => Color::LightCyan,
        "white" => Color::White,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Theme, String> {
        Theme::parse("themes/x.toml", "x", text).map_err(|e| e.0)
    }

    fn luminance(c: Color) -> f64 {
        let Color::Rgb(r, g, b) = c else {
            panic!("expected an RGB colour, got {c:?}")
        };
        let lin = |v: u8| {
            let v = f64::from(v) / 255.0;
            if v <= 0.03928 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    }

    /// WCAG contrast ratio between two colours.
    fn contrast(a: Color, b: Color) -> f64 {
        let (la, lb) = (luminance(a), luminance(b));
        (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
    }

    #[test]
    fn builtins_load_and_are_complete() {
        for name in Theme::builtin_names() {
            let t = Theme::load(name).unwrap();
            assert_eq!(t.name, name);
            assert!(!t.no_color);
            assert!(SYNTECT_THEMES.contains(&t.syntect_theme.as_str()));
            let (_, text) = BUILTIN.iter().find(|(n, _)| *n == name).unwrap();
            let table: toml::Table = text.parse().unwrap();
            for key in COLOR_KEYS
                .iter()
                .chain(["syntect_theme", "task_colors"].iter())
            {
                assert!(table.contains_key(*key), "{name} lacks '{key}'");
            }
            // A copy of a built-in, loaded as a user's theme file, gives the same theme.
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(format!("my-{name}.toml"));
            std::fs::write(&path, text).unwrap();
            let mut copy = Theme::load(path.to_str().unwrap()).unwrap();
            copy.name = t.name.clone();
            assert_eq!(copy, t, "{name}");
        }
        assert_eq!(Theme::default(), Theme::load("dark").unwrap());
    }

    #[test]
    fn task_colors_are_distinct_and_readable() {
        for name in Theme::builtin_names() {
            let t = Theme::load(name).unwrap();
            assert!(
                t.task_colors.len() >= 6,
                "{name}: fewer than 6 task colours"
            );
            for (i, a) in t.task_colors.iter().enumerate() {
                assert!(!t.task_colors[i + 1..].contains(a), "{name}: {a:?} repeats");
            }
            // The dark theme keeps the terminal's background; assume a near-black one.
            let bg = match t.background {
                Color::Reset => Color::Rgb(0x1c, 0x1c, 0x1c),
                c => c,
            };
            for c in t
                .task_colors
                .iter()
                .chain([&t.text, &t.heading, &t.accent, &t.link])
            {
                let ratio = contrast(*c, bg);
                assert!(
                    ratio >= 4.0,
                    "{name}: {c:?} on {bg:?} has contrast {ratio:.1}"
                );
            }
            let ratio = contrast(t.text, t.code_bg);
            assert!(ratio >= 7.0, "{name}: code text contrast {ratio:.1}");
            assert!(
                contrast(t.status_fg, t.status_bg) >= 4.5,
                "{name}: status bar"
            );
        }
    }

    #[test]
    fn high_contrast_is_pure_black_and_white() {
        let t = Theme::load("high-contrast").unwrap();
        assert_eq!(t.background, Color::Rgb(0, 0, 0));
        assert_eq!(t.text, Color::Rgb(255, 255, 255));
        assert!(contrast(t.heading, t.background) > 15.0);
    }

    #[test]
    fn syntect_theme_list_matches_syntect() {
        let set = syntect::highlighting::ThemeSet::load_defaults();
        let mut names: Vec<&str> = set.themes.keys().map(String::as_str).collect();
        names.sort_unstable();
        let mut ours = SYNTECT_THEMES.to_vec();
        ours.sort_unstable();
        assert_eq!(names, ours);
    }

    #[test]
    fn unknown_name_lists_builtins() {
        let e = Theme::load("solarized").unwrap_err().0;
        assert!(e.contains("'solarized'"), "{e}");
        assert!(e.contains("dark, light, high-contrast"), "{e}");
    }

    #[test]
    fn missing_file_names_it() {
        let e = Theme::load("nope/x.toml").unwrap_err().0;
        assert_eq!(
            e,
            "nope/x.toml: no such theme file; built-in themes: dark, light, high-contrast"
        );
        let e = Theme::load("x.toml").unwrap_err().0;
        assert!(e.starts_with("x.toml: no such theme file"), "{e}");
    }

    #[test]
    fn file_theme_loads_with_fallback_to_base() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mine.toml");
        std::fs::write(
            &path,
            "heading = \"magenta\"\ntask_colors = [\"red\", \"#00ff00\"]\n",
        )
        .unwrap();
        let t = Theme::load(path.to_str().unwrap()).unwrap();
        let dark = Theme::load("dark").unwrap();
        assert_eq!(t.name, "mine");
        assert_eq!(t.heading, Color::Magenta);
        assert_eq!(t.task_colors, vec![Color::Red, Color::Rgb(0, 255, 0)]);
        assert_eq!(t.text, dark.text);
        assert_eq!(t.syntect_theme, dark.syntect_theme);

        let t = parse("base = \"light\"\nname = \"sunny\"\naccent = \"Light-Cyan\"").unwrap();
        let light = Theme::load("light").unwrap();
        assert_eq!(t.name, "sunny");
        assert_eq!(t.accent, Color::LightCyan);
        assert_eq!(t.code_bg, light.code_bg);
        assert_eq!(parse("").unwrap().text, dark.text);
    }

    #[test]
    fn bad_colour_names_file_and_key() {
        assert_eq!(
            parse("heading = \"#12\"").unwrap_err(),
            "themes/x.toml: key 'heading': \"#12\" is not a colour (use #rrggbb or a name like \"cyan\")"
        );
        assert!(parse("text = 5")
            .unwrap_err()
            .starts_with("themes/x.toml: key 'text': 5 is not a colour"));
        assert!(parse("dim = \"#gg0000\"").is_err());
        assert!(parse("dim = \"purple\"").is_err());
        let e = parse("task_colors = [\"red\", \"nope\"]").unwrap_err();
        assert!(
            e.starts_with("themes/x.toml: key 'task_colors' item 2: \"nope\" is not a colour"),
            "{e}"
        );
        let e = parse("task_colors = \"red\"").unwrap_err();
        assert!(
            e.contains("key 'task_colors'") && e.contains("not a list"),
            "{e}"
        );
        assert!(parse("task_colors = []").unwrap_err().contains("empty"));
    }

    #[test]
    fn unknown_key_is_named() {
        let e = parse("headng = \"red\"").unwrap_err();
        assert!(e.starts_with("themes/x.toml: unknown key 'headng'"), "{e}");
        assert!(!e.contains('\n'));
    }

    #[test]
    fn bad_syntect_theme_and_base() {
        let e = parse("syntect_theme = \"monokai\"").unwrap_err();
        assert!(
            e.starts_with("themes/x.toml: key 'syntect_theme': 'monokai'"),
            "{e}"
        );
        assert!(e.contains("InspiredGitHub"), "{e}");
        let e = parse("base = \"neon\"").unwrap_err();
        assert!(
            e.contains("key 'base'") && e.contains("high-contrast"),
            "{e}"
        );
        let e = parse("name = 3").unwrap_err();
        assert!(e.contains("key 'name': 3 is not a string"), "{e}");
    }

    #[test]
    fn syntax_error_has_line_and_one_line() {
        let e = parse("text = \"#ffffff\"\nheading = \"#ffffff\n").unwrap_err();
        assert!(e.starts_with("themes/x.toml: line 2, column"), "{e}");
        assert!(e.contains("TOML syntax error"), "{e}");
        assert!(!e.contains('\n'), "{e}");
        let e = parse("text = \"red\"\n\nheading = = 1").unwrap_err();
        assert!(e.starts_with("themes/x.toml: line 3, column"), "{e}");
    }

    #[test]
    fn colour_parsing() {
        assert_eq!(parse_color("#FF8000"), Some(Color::Rgb(255, 128, 0)));
        assert_eq!(parse_color("dark-gray"), Some(Color::DarkGray));
        assert_eq!(parse_color("Dark Grey"), Some(Color::DarkGray));
        assert_eq!(parse_color("reset"), Some(Color::Reset));
        assert_eq!(parse_color("#fff"), None);
        assert_eq!(parse_color("#ffé000"), None);
        assert_eq!(parse_color(""), None);
    }

    #[test]
    fn without_color_resets_everything() {
        let t = Theme::load("high-contrast").unwrap().without_color();
        assert!(t.no_color);
        for key in COLOR_KEYS {
            let mut t = t.clone();
            assert_eq!(*t.color_mut(key), Color::Reset, "{key}");
        }
        assert!(t.task_colors.iter().all(|c| *c == Color::Reset));
        assert_eq!(t.task_color(7), Color::Reset);
        assert_eq!(t.syntect_theme, "base16-eighties.dark");
    }

    #[test]
    fn task_color_wraps_around() {
        let t = Theme::load("dark").unwrap();
        let n = t.task_colors.len();
        assert_eq!(t.task_color(0), t.task_color(n));
        assert_ne!(t.task_color(0), t.task_color(1));
        let empty = Theme {
            task_colors: vec![],
            ..t.clone()
        };
        assert_eq!(empty.task_color(3), t.text);
    }
}
