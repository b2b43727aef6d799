//! Errors of the depsolve library.

use std::path::{Path, PathBuf};

/// Everything that can go wrong while loading, downloading, caching or resolving.
#[derive(Debug, thiserror::Error)]
pub enum DepsolveError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// libsolv refused to load or write repository data.
    #[error("libsolv: {0}")]
    Load(String),
    /// repomd.xml, comps.xml or another metadata file is malformed or incomplete.
    #[error("bad repository metadata: {0}")]
    Metadata(String),
    /// A downloaded file does not match the checksum in repomd.xml.
    #[error("checksum mismatch for {url}: expected {expected}, got {actual}")]
    Checksum {
        /// Where it came from.
        url: String,
        /// Checksum announced by repomd.xml.
        expected: String,
        /// Checksum of the received bytes.
        actual: String,
    },
    /// An HTTP request failed.
    #[error("download of {url} failed: {message}")]
    Http {
        /// The URL requested.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The repository cache is full of entries in use and nothing can be evicted.
    #[error("repository cache exhausted: all {capacity} entries are in use")]
    CacheExhausted {
        /// The configured capacity.
        capacity: usize,
    },
    /// The cache index was written by a newer version of this software.
    #[error("repository cache index version {0} is newer than supported")]
    CacheVersion(u64),
    /// Caller error (bad path, bad argument …).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A worker thread panicked or could not be joined.
    #[error("worker failed: {0}")]
    Worker(String),
}

impl DepsolveError {
    /// Wrap an I/O error with the path it concerns.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        DepsolveError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
