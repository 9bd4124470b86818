//! The user's config file, `$XDG_CONFIG_HOME/trio-present/config.toml` (default
//! `~/.config/trio-present/config.toml`): defaults set once — theme, Python, the `--expose`
//! policy, key bindings. Flags override it. A missing file is an empty config; a bad one is one
//! line naming the file, the line and the key, never a crash.
//!
//! ```toml
//! theme = "light"                 # dark, light, high-contrast, or a .toml file
//! python = "/usr/bin/python3.12"  # used unless --python or $TRIO_PRESENT_PYTHON is given
//! expose = false                  # demo servers on every interface (like --expose)
//!
//! [keys]                          # action = [keys]; see `trio-present doctor` for the names
//! run = ["r", "F5"]
//! blank = ["b"]
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::app::keys::Keymap;

/// The config file's contents, each value with the line it came from.
#[derive(Debug, Default)]
pub struct Config {
    /// Where it was read from (or would have been: the file may not exist).
    pub path: Option<PathBuf>,
    pub exists: bool,
    pub theme: Option<(String, usize)>,
    pub python: Option<(PathBuf, usize)>,
    pub expose: Option<(bool, usize)>,
    /// `[keys]`: action name, keys, line.
    pub keys: Vec<(String, Vec<String>, usize)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    theme: Option<Spanned<String>>,
    python: Option<Spanned<PathBuf>>,
    expose: Option<Spanned<bool>>,
    #[serde(default)]
    keys: std::collections::BTreeMap<String, Spanned<Keys>>,
}

/// One binding: a key, or a list of keys.
#[derive(Deserialize)]
#[serde(untagged)]
enum Keys {
    One(String),
    Many(Vec<String>),
}

/// The default place of the config file.
pub fn default_path() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|d| d.config_dir().join("trio-present").join("config.toml"))
}

impl Config {
    /// Reads the user's config file (a missing one is an empty config).
    pub fn load() -> Result<Config, String> {
        match default_path() {
            Some(p) => Config::load_from(&p),
            None => Ok(Config::default()),
        }
    }

    pub fn load_from(path: &Path) -> Result<Config, String> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Config {
                    path: Some(path.to_path_buf()),
                    ..Config::default()
                })
            }
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let mut config = Config::parse(&text).map_err(|e| format!("{}{e}", path.display()))?;
        config.path = Some(path.to_path_buf());
        config.exists = true;
        Ok(config)
    }

    /// Parses the text of a config file; errors start with `:LINE: ` (the caller adds the
    /// file name) and name the key.
    pub fn parse(text: &str) -> Result<Config, String> {
        let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        let file: File = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(s.start)).unwrap_or(1);
            format!(":{line}: {}", e.message().trim_end())
        })?;
        let spanned = |s: &std::ops::Range<usize>| line_of(s.start);
        let config = Config {
            path: None,
            exists: true,
            theme: file.theme.map(|t| {
                let line = spanned(&t.span());
                (t.into_inner(), line)
            }),
            python: file.python.map(|p| {
                let line = spanned(&p.span());
                (p.into_inner(), line)
            }),
            expose: file.expose.map(|e| {
                let line = spanned(&e.span());
                (e.into_inner(), line)
            }),
            keys: file
                .keys
                .into_iter()
                .map(|(action, keys)| {
                    let line = spanned(&keys.span());
                    let keys = match keys.into_inner() {
                        Keys::One(k) => vec![k],
                        Keys::Many(ks) => ks,
                    };
                    (action, keys, line)
                })
                .collect(),
        };
        // Bad bindings are found now, with their line, rather than when a key is pressed.
        config.keymap()?;
        Ok(config)
    }

    /// The keymap: the defaults with `[keys]` applied.
    pub fn keymap(&self) -> Result<Keymap, String> {
        let mut map = Keymap::default();
        for (action, keys, line) in &self.keys {
            map.rebind(action, keys)
                .map_err(|e| format!(":{line}: [keys] {action}: {e}"))?;
        }
        Ok(map)
    }

    /// Where a value came from, for `doctor`.
    pub fn origin(&self, line: usize) -> String {
        match &self.path {
            Some(p) => format!("{}:{line}", p.display()),
            None => format!("config line {line}"),
        }
    }

    /// The theme: the flag, else the config file, else dark.
    pub fn theme(&self, flag: Option<&str>) -> String {
        flag.map(str::to_string)
            .or_else(|| self.theme.as_ref().map(|(t, _)| t.clone()))
            .unwrap_or_else(|| "dark".to_string())
    }

    /// The Python to use: the flag, else (unless `$TRIO_PRESENT_PYTHON` says otherwise, which
    /// is more specific than a file written once) the config file's.
    pub fn python(&self, flag: Option<PathBuf>) -> Option<PathBuf> {
        let env_set = std::env::var_os("TRIO_PRESENT_PYTHON").is_some_and(|v| !v.is_empty());
        flag.or_else(|| {
            (!env_set)
                .then(|| self.python.as_ref().map(|(p, _)| p.clone()))
                .flatten()
        })
    }

    /// `--expose` policy: the flag turns it on, else the config file decides.
    pub fn expose(&self, flag: bool) -> bool {
        flag || self.expose.is_some_and(|(e, _)| e)
    }

    /// The effective settings and where each came from, for `doctor`.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let file = match &self.path {
            Some(p) if self.exists => format!("{}", p.display()),
            Some(p) => format!("{} (none: defaults)", p.display()),
            None => "no config directory (defaults)".to_string(),
        };
        lines.push(format!("config   {file}"));
        let from = |line: Option<usize>| match line {
            Some(l) => format!("from {}", self.origin(l)),
            None => "default".to_string(),
        };
        let theme = self.theme.as_ref();
        lines.push(format!(
            "  theme  {} ({})",
            self.theme(None),
            from(theme.map(|t| t.1))
        ));
        lines.push(match &self.python {
            Some((p, l)) => format!("  python {} (from {})", p.display(), self.origin(*l)),
            None => "  python chosen as below (not set in the config file)".to_string(),
        });
        lines.push(format!(
            "  expose {} ({})",
            self.expose(false),
            from(self.expose.as_ref().map(|e| e.1))
        ));
        for (action, keys, line) in &self.keys {
            lines.push(format!(
                "  keys   {action} = {} (from {})",
                keys.join(" "),
                self.origin(*line)
            ));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_their_lines_are_read() {
        let c = Config::parse(
            "# my defaults\ntheme = \"light\"\nexpose = true\n\n[keys]\nrun = [\"F5\", \"r\"]\nblank = \"x\"\n",
        )
        .unwrap();
        assert_eq!(c.theme, Some(("light".to_string(), 2)));
        assert_eq!(c.expose, Some((true, 3)));
        assert_eq!(c.theme(None), "light");
        assert_eq!(c.theme(Some("dark")), "dark", "a flag wins");
        assert!(c.expose(false));
        let map = c.keymap().unwrap();
        let f5 =
            ratatui::crossterm::event::KeyEvent::from(ratatui::crossterm::event::KeyCode::F(5));
        assert_eq!(map.action(f5), Some(crate::app::keys::Action::Run));
        assert!(c
            .keys
            .iter()
            .any(|(a, k, l)| a == "blank" && k == &["x"] && *l == 7));
    }

    #[test]
    fn bad_files_name_the_line_and_the_key() {
        for (text, expect) in [
            (
                "theme = \"light\"\ncolour = 3\n",
                ":2: unknown field `colour`",
            ),
            ("theme = 3\n", ":1: invalid type"),
            ("expose = \"yes\"\n", ":1: invalid type"),
            (
                "[keys]\nrun = [\"r\"]\nfly = [\"f\"]\n",
                ":3: [keys] fly: unknown action `fly`",
            ),
            (
                "[keys]\nrun = [\"Ctrl-\"]\n",
                ":2: [keys] run: unknown key `Ctrl-`",
            ),
            ("theme = \n", ":1:"),
        ] {
            let e = Config::parse(text).unwrap_err();
            assert!(e.starts_with(expect), "{text:?}: {e}");
            assert!(!e.contains('\n'), "one line: {e:?}");
        }
    }

    #[test]
    fn a_missing_file_is_an_empty_config() {
        let dir = tempfile::tempdir().unwrap();
        let c = Config::load_from(&dir.path().join("config.toml")).unwrap();
        assert!(!c.exists && c.theme.is_none() && c.keys.is_empty());
        assert_eq!(c.theme(None), "dark");
        assert!(c.describe()[0].contains("(none: defaults)"));
    }
}
