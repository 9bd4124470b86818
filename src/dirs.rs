//! trio-present's own directories: `$XDG_DATA_HOME/trio-present` (approvals, recordings,
//! console history; the platform's data directory when the variable is unset or relative).

use std::path::PathBuf;

/// `$XDG_DATA_HOME/trio-present`; `None` only when no home directory can be found.
pub fn data() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| directories::BaseDirs::new().map(|b| b.data_dir().to_path_buf()))?;
    Some(base.join("trio-present"))
}
