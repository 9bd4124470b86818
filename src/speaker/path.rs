//! Where a deck's presenter listens: `$XDG_RUNTIME_DIR/trio-present/` (else the cache dir's
//! `trio-present/sockets/`), in a directory only this user may enter, one socket per deck named
//! after a hash of the deck's canonical path, so a speaker window finds the presenter of the
//! same file from any working directory, and two talks never meet.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The socket of `deck`'s presenter; creates its directory (mode 0700) if needed.
pub fn socket_for(deck: &Path) -> Result<PathBuf, String> {
    let dir = socket_dir()?;
    let canonical = std::fs::canonicalize(deck).unwrap_or_else(|_| deck.to_path_buf());
    let hash = Sha256::digest(canonical.as_os_str().as_encoded_bytes());
    let name: String = hash[..8].iter().map(|b| format!("{b:02x}")).collect();
    Ok(dir.join(format!("speaker-{name}.sock")))
}

fn socket_dir() -> Result<PathBuf, String> {
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|d| !d.is_empty())
        .map(|d| PathBuf::from(d).join("trio-present"))
        .or_else(|| {
            directories::ProjectDirs::from("", "", "trio-present")
                .map(|p| p.cache_dir().join("sockets"))
        })
        .ok_or("no runtime or cache directory for the speaker socket; set XDG_RUNTIME_DIR")?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&base)
        .map_err(|e| format!("cannot create {}: {e}", base.display()))?;
    let meta = std::fs::metadata(&base).map_err(|e| format!("{}: {e}", base.display()))?;
    // Someone else's directory, or one others may write into, could hold a socket that is not
    // our presenter: refuse rather than talk to it.
    if meta.uid() != unsafe { libc::getuid() } {
        return Err(format!(
            "{} belongs to another user; set XDG_RUNTIME_DIR to a private directory",
            base.display()
        ));
    }
    if meta.permissions().mode() & 0o077 != 0 {
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot make {} private: {e}", base.display()))?;
    }
    Ok(base)
}

/// The user id of the process at the other end of `stream` (Linux `SO_PEERCRED`).
pub fn peer_uid(stream: &std::os::unix::net::UnixStream) -> Option<u32> {
    use std::os::fd::AsRawFd;
    let mut cred: libc::ucred = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: cred and len are valid for writing and sized for SO_PEERCRED.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    (rc == 0).then_some(cred.uid)
}

/// Whether the peer is this same user.
pub fn same_user(stream: &std::os::unix::net::UnixStream) -> bool {
    peer_uid(stream) == Some(unsafe { libc::getuid() })
}
