//! The Python harness, embedded so the binary is self-contained: a small package of modules
//! (`src/kernel/harness/*.py`, listed by build.rs) and the bootstrap that loads them.
//!
//! The interpreter is started as `python -c BOOTSTRAP`. The bootstrap reads [`bundle`] from
//! [`MODULES_FD`] until end of file (a writer thread in `process.rs` sends it) and imports the
//! package from memory, so nothing is written to disk and the argument stays far below Linux's
//! 128 KiB limit on one argument (`MAX_ARG_STRLEN`), whatever the harness grows to. See
//! `src/kernel/harness/README.md`.

use std::sync::OnceLock;

/// Where the bootstrap reads the harness's modules (then closes it).
pub const MODULES_FD: i32 = 5;

/// The whole `python -c` argument.
pub const BOOTSTRAP: &str = include_str!("harness/bootstrap.py");

/// The harness's modules as (file name, source), sorted by file name.
pub const MODULES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/harness_modules.rs"));

/// What is written to [`MODULES_FD`]: one header line, a JSON list of `[file name, size in
/// bytes]`, then the files back to back (the bootstrap slices them by those sizes).
pub fn bundle() -> &'static [u8] {
    static BUNDLE: OnceLock<Vec<u8>> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        let header: Vec<(&str, usize)> = MODULES.iter().map(|(n, s)| (*n, s.len())).collect();
        let mut out = serde_json::to_vec(&header).expect("a list of pairs serializes");
        out.push(b'\n');
        for (_, source) in MODULES {
            out.extend_from_slice(source.as_bytes());
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bootstrap is the one `python -c` argument: it must stay small. Linux refuses an
    /// argument over 128 KiB (`MAX_ARG_STRLEN`) with E2BIG; the single-file harness this
    /// replaced was at 71 KB and growing. 4 KiB leaves room for a few comments, not for code
    /// that belongs in a module.
    #[test]
    fn bootstrap_argument_stays_small() {
        assert!(
            BOOTSTRAP.len() <= 4096,
            "bootstrap.py is {} bytes: move code into a module",
            BOOTSTRAP.len()
        );
        assert!(!BOOTSTRAP.contains('\0'), "an argument cannot hold NUL");
    }

    #[test]
    fn the_package_is_complete_and_documented() {
        let names: Vec<&str> = MODULES.iter().map(|(n, _)| *n).collect();
        for wanted in [
            "__init__.py",
            "__main__.py",
            "capture.py",
            "compat.py",
            "console.py",
            "execute.py",
            "patches.py",
            "protocol.py",
            "state.py",
            "tracebacks.py",
            "tree.py",
        ] {
            assert!(names.contains(&wanted), "{wanted} missing from {names:?}");
        }
        assert!(
            !names.contains(&"bootstrap.py"),
            "the bootstrap is not a module"
        );
        for (name, source) in MODULES {
            assert!(
                source.starts_with("\"\"\""),
                "{name} must open with its docstring"
            );
        }
    }

    /// Only compat.py may touch trio's private names (`trio._util`, `._cancel_status`, ...).
    #[test]
    fn private_trio_api_only_in_compat() {
        for (name, source) in MODULES {
            if *name == "compat.py" {
                continue;
            }
            for private in [
                "trio._util",
                "trio._core",
                "_cancel_status",
                "._cancel(",
                "_run_handler\"",
            ] {
                let code = source
                    .lines()
                    .filter(|l| !l.trim_start().starts_with('#'))
                    .any(|l| l.contains(private));
                assert!(!code, "{name} uses {private}: move it into compat.py");
            }
        }
    }

    #[test]
    fn bundle_header_matches_the_sources() {
        let bundle = bundle();
        let newline = bundle
            .iter()
            .position(|&b| b == b'\n')
            .expect("header line");
        let header: Vec<(String, usize)> =
            serde_json::from_slice(&bundle[..newline]).expect("JSON header");
        assert_eq!(header.len(), MODULES.len());
        let mut at = newline + 1;
        for ((name, size), (module, source)) in header.iter().zip(MODULES) {
            assert_eq!(name, module);
            assert_eq!(&bundle[at..at + size], source.as_bytes());
            at += size;
        }
        assert_eq!(at, bundle.len());
    }
}
