//! Syntax highlighting with syntect. Owns the (lazily loaded) syntax set and themes: loading
//! them and compiling the first regexes costs milliseconds, which the first frame must not pay,
//! so nothing here runs until a code slide is laid out or [`warm_up`] is called from a
//! background thread.
//!
//! Both come from dumps that `build.rs` writes: a syntax set trimmed to common languages, and
//! each bundled theme on its own, so that only the theme in use is unpacked. syntect runs on
//! Oniguruma (`regex-onig`): the same highlighting as `regex-fancy`, but Python's compiled
//! regexes take ~1 MB instead of ~9 MB (Unicode classes blow up `regex`'s automata).

use std::sync::OnceLock;

use ratatui::style::{Color, Modifier, Style};
use syntect::easy::HighlightLines;
use syntect::highlighting::{FontStyle, Theme};
use syntect::parsing::SyntaxSet;

// Defines `THEME_COUNT` and `THEME_DUMPS`, syntect's bundled themes as (name, dump).
include!(concat!(env!("OUT_DIR"), "/themes.rs"));

/// The syntaxes `build.rs` keeps from syntect's bundled set (Python, Rust, shell, JavaScript,
/// JSON, YAML, C, C++, Go, Java, SQL, HTML, CSS, XML, Markdown, Diff, Makefile and what they
/// embed), as an uncompressed dump: each syntax's contexts are compressed separately inside and
/// only unpacked when that syntax is first used.
static SYNTAX_DUMP: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/syntaxes.packdump"));

static SYNTAXES: OnceLock<SyntaxSet> = OnceLock::new();
/// `THEMES[i]` is `THEME_DUMPS[i]`, unpacked on first use.
static THEMES: [OnceLock<Theme>; THEME_COUNT] = [const { OnceLock::new() }; THEME_COUNT];

/// Used when a theme names an unknown syntect theme (the theme loader rejects those anyway).
const FALLBACK_THEME: &str = "base16-ocean.dark";

/// Lines longer than this (in bytes) are highlighted only up to what is visible: a 100 KB line
/// costs a few hundred milliseconds of regex matching, and the rest is clipped anyway.
const LONG_LINE: usize = 2048;

fn syntaxes() -> &'static SyntaxSet {
    SYNTAXES.get_or_init(|| {
        syntect::dumps::from_uncompressed_data(SYNTAX_DUMP).expect("build.rs wrote a valid dump")
    })
}

/// The bundled syntect theme called `name`, or [`FALLBACK_THEME`].
fn theme(name: &str) -> &'static Theme {
    let index = |name: &str| THEME_DUMPS.iter().position(|(n, _)| *n == name);
    let i = index(name)
        .or_else(|| index(FALLBACK_THEME))
        .expect("the fallback theme is bundled");
    THEMES[i].get_or_init(|| {
        syntect::dumps::from_uncompressed_data(THEME_DUMPS[i].1)
            .expect("build.rs wrote a valid dump")
    })
}

/// Loads the syntax set and the default theme now, and highlights a little Python: syntect
/// compiles each syntax's regexes on first use, which would otherwise land on the first exec
/// slide.
pub fn warm_up() {
    const SAMPLE: &str = "async def f(x: int) -> None:\n    await trio.sleep(1)  # c\n    print(f\"{x!r} \\n\", [1, 2.0], {'a': None})\n";
    let lines: Vec<String> = SAMPLE.lines().map(str::to_string).collect();
    let _ = highlight(&lines, "python", FALLBACK_THEME, str::len);
}

/// Whether the syntax set and a theme are loaded (for tests and diagnostics).
pub fn is_loaded() -> bool {
    SYNTAXES.get().is_some() && THEMES.iter().any(|t| t.get().is_some())
}

/// Highlights `lines` (already tab-expanded, without newlines) as `lang` with the syntect theme
/// `theme_name`. Returns one list of `(style, text)` runs per line, foreground and font style
/// only (the box supplies the background), or `None` when the language is unknown.
/// Of a line longer than [`LONG_LINE`], only the first `visible(line)` bytes are highlighted;
/// the rest follows unstyled.
pub fn highlight(
    lines: &[String],
    lang: &str,
    theme_name: &str,
    visible: impl Fn(&str) -> usize,
) -> Option<Vec<Vec<(Style, String)>>> {
    if lang.is_empty() {
        return None;
    }
    let set = syntaxes();
    let syntax = set.find_syntax_by_token(lang)?;
    let mut hl = HighlightLines::new(syntax, theme(theme_name));
    let mut out = Vec::with_capacity(lines.len());
    let mut buf = String::new();
    for line in lines {
        buf.clear();
        if line.len() > LONG_LINE {
            buf.push_str(&line[..visible(line)]);
        } else {
            buf.push_str(line);
        }
        buf.push('\n');
        let runs = hl.highlight_line(&buf, set).ok()?;
        let mut styled = Vec::with_capacity(runs.len());
        for (style, text) in runs {
            let text = text.strip_suffix('\n').unwrap_or(text);
            if text.is_empty() {
                continue;
            }
            styled.push((convert(style), text.to_string()));
        }
        if line.len() > LONG_LINE {
            let rest = &line[visible(line)..];
            if !rest.is_empty() {
                styled.push((Style::default(), rest.to_string()));
            }
        }
        out.push(styled);
    }
    Some(out)
}

fn convert(style: syntect::highlighting::Style) -> Style {
    let fg = style.foreground;
    let mut out = Style::default().fg(Color::Rgb(fg.r, fg.g, fg.b));
    if style.font_style.contains(FontStyle::BOLD) {
        out = out.add_modifier(Modifier::BOLD);
    }
    if style.font_style.contains(FontStyle::ITALIC) {
        out = out.add_modifier(Modifier::ITALIC);
    }
    if style.font_style.contains(FontStyle::UNDERLINE) {
        out = out.add_modifier(Modifier::UNDERLINED);
    }
    out
}

/// The CSS class prefix of [`html_classed`]'s spans, so they never meet the page's own classes.
pub const HTML_CLASS_PREFIX: &str = "sy-";

fn class_style() -> syntect::html::ClassStyle {
    syntect::html::ClassStyle::SpacedPrefixed {
        prefix: HTML_CLASS_PREFIX,
    }
}

/// `code` highlighted as `lang` into HTML `<span class="sy-…">` runs (syntect's own HTML output,
/// for the web view), or `None` when the language is unknown. Pair it with [`html_css`].
pub fn html_classed(code: &str, lang: &str) -> Option<String> {
    if lang.is_empty() {
        return None;
    }
    let set = syntaxes();
    let syntax = set.find_syntax_by_token(lang)?;
    let mut gen =
        syntect::html::ClassedHTMLGenerator::new_with_class_style(syntax, set, class_style());
    for line in syntect::util::LinesWithEndings::from(code) {
        gen.parse_html_for_line_which_includes_newline(line).ok()?;
    }
    Some(gen.finalize())
}

/// The stylesheet for [`html_classed`]'s classes in the syntect theme `theme_name`.
pub fn html_css(theme_name: &str) -> String {
    syntect::html::css_for_theme_with_class_style(theme(theme_name), class_style())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use syntect::highlighting::ThemeSet;

    use super::*;

    /// A snippet per kept language, touching what each embeds (SQL and regexes in Python
    /// strings, CSS and JavaScript in HTML, JavaDoc, shell in Makefiles, ...).
    const SAMPLES: &[(&str, &str)] = &[
        ("python", "import re, trio\n\n@trio.lowlevel.enable_ki_protection\nasync def main(n: int = 0x1F) -> None:\n    \"\"\"Doc.\"\"\"\n    q = \"SELECT a, b FROM t WHERE c = 1\"\n    r = re.compile(r\"^(?P<x>\\d+)\\s*[a-z]{2,}$\")\n    async with trio.open_nursery() as nursery:\n        nursery.start_soon(trio.sleep, 1.5e-3)  # c\n    print(f\"{n!r:>10} {q}\", b'\\x00', [*range(3)], {'k': None})\n"),
        ("rust", "/// Doc\nfn main() -> Result<(), Box<dyn std::error::Error>> {\n    let v: Vec<u8> = vec![1, 2]; // c\n    println!(\"{v:?} {}\", r#\"raw\"#);\n    Ok(())\n}\n"),
        ("bash", "#!/bin/bash\nset -euo pipefail\nfor f in *.md; do\n  echo \"${f%.md}\" | grep -q x && cat <<EOF\nhi $USER\nEOF\ndone\n"),
        ("js", "// c\nconst re = /a+b/g;\nasync function f(x) { return `t ${x}` + 'q' + 1e3; }\n"),
        ("json", "{\"a\": [1, 2.5, true, null], \"b\": {\"c\": \"d\"}}\n"),
        ("yaml", "# c\nkey: value\nlist:\n  - 1\n  - \"two\"\nblock: |\n  text\n"),
        ("c", "#include <stdio.h>\n/* c */\nint main(void) { printf(\"%d\\n\", 42); return 0; }\n"),
        ("cpp", "#include <vector>\ntemplate <typename T> class A : public B { std::vector<T> v; };\n"),
        ("go", "package main\nimport \"fmt\"\nfunc main() { fmt.Println(`raw`, 1) }\n"),
        ("java", "/** Doc {@link Foo} <b>x</b> */\npublic class A { public static void main(String[] a) {} }\n"),
        ("sql", "SELECT a, COUNT(*) FROM t WHERE b = 'x' GROUP BY a; -- c\n"),
        ("html", "<!DOCTYPE html>\n<html><head><style>p { color: red; }</style>\n<script>let x = 1;</script></head>\n<body><p class=\"a\">&amp; hi</p></body></html>\n"),
        ("css", "a:hover > b { margin: 0 auto !important; } /* c */\n"),
        ("xml", "<?xml version=\"1.0\"?>\n<a b=\"c\"><!-- c --><![CDATA[x]]></a>\n"),
        ("markdown", "# Title\n\n*em* **strong** `code` [link](http://x)\n\n<div>html</div>\n\n```\ncode\n```\n"),
        ("diff", "--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n"),
        ("makefile", "all: a.o\n\t$(CC) -o $@ $^ && echo \"done\"\n"),
    ];

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    fn styled(
        set: &SyntaxSet,
        syntax: &syntect::parsing::SyntaxReference,
        theme: &Theme,
        text: &str,
    ) -> Vec<Vec<(syntect::highlighting::Style, String)>> {
        let mut hl = HighlightLines::new(syntax, theme);
        text.lines()
            .map(|line| {
                let line = format!("{line}\n");
                let runs = hl.highlight_line(&line, set).expect("highlights");
                runs.into_iter().map(|(s, t)| (s, t.to_string())).collect()
            })
            .collect()
    }

    /// The trimmed set highlights exactly like syntect's full set, for every kept syntax.
    #[test]
    fn trimmed_set_matches_syntect_defaults() {
        let full = SyntaxSet::load_defaults_newlines();
        let ours = syntaxes();
        let theme = theme("InspiredGitHub");
        for syntax in ours.syntaxes() {
            let other = full
                .find_syntax_by_name(&syntax.name)
                .unwrap_or_else(|| panic!("{} is a default syntax", syntax.name));
            assert_eq!(syntax.scope, other.scope);
            for (lang, text) in SAMPLES {
                assert_eq!(
                    styled(ours, syntax, theme, text),
                    styled(&full, other, theme, text),
                    "{} on the {lang} sample",
                    syntax.name
                );
            }
        }
        for (lang, _) in SAMPLES {
            let ours = ours.find_syntax_by_token(lang).map(|s| &s.name);
            assert_eq!(
                ours,
                full.find_syntax_by_token(lang).map(|s| &s.name),
                "{lang}"
            );
            assert!(ours.is_some(), "{lang}");
        }
    }

    #[test]
    fn bundled_themes_match_syntect_and_the_theme_list() {
        let defaults = ThemeSet::load_defaults();
        let names: Vec<&str> = THEME_DUMPS.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            names,
            defaults
                .themes
                .keys()
                .map(String::as_str)
                .collect::<Vec<_>>()
        );
        for name in crate::theme::SYNTECT_THEMES {
            assert_eq!(theme(name), &defaults.themes[*name], "{name}");
        }
        assert_eq!(theme("no such theme"), theme(FALLBACK_THEME));
    }

    #[test]
    fn languages() {
        let code = lines("def f():\n    return 1\n");
        for lang in ["python", "py", "Python"] {
            let out = highlight(&code, lang, FALLBACK_THEME, str::len).expect(lang);
            assert!(out[0].len() > 1, "{lang}: {out:?}");
        }
        for lang in ["", "klingon", "exec", "no such language"] {
            assert!(
                highlight(&code, lang, FALLBACK_THEME, str::len).is_none(),
                "{lang}"
            );
        }
        let out = highlight(&code, "python", "no such theme", str::len).expect("fallback theme");
        assert_eq!(
            out,
            highlight(&code, "python", FALLBACK_THEME, str::len).unwrap()
        );
        warm_up();
        assert!(is_loaded());
    }
}
