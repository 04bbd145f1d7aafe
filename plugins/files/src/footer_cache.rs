//! Parsed Parquet footers, kept in the instance between splits and queries.
//!
//! Every split of a Parquet file opens the file and needs its footer: the schema, the row groups
//! and where their column chunks lie. Parsing it again for each split was about 5% of the
//! workers' CPU in a `lineitem` scan (46 row-group splits, each parsing the footer of all 46 row
//! groups). A footer is kept under the file's real path, length and modification time, the key
//! DataFusion's own file metadata cache uses (path, size, last modified): a file that changes in
//! any of them is read afresh, and a file whose modification time the filesystem does not give
//! is never kept. At most [`MAX_BYTES`] of footers are kept (their size in memory), the oldest
//! going first, so the cache cannot grow an instance's memory past that.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

use parquet::arrow::arrow_reader::ArrowReaderMetadata;

/// The most footer bytes (in memory) an instance keeps.
pub const MAX_BYTES: usize = 16 * 1024 * 1024;

/// What a footer is kept under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FooterKey {
    pub path: PathBuf,
    pub len: u64,
    pub modified: SystemTime,
}

struct Entry {
    key: FooterKey,
    metadata: ArrowReaderMetadata,
    bytes: usize,
}

static FOOTERS: Mutex<VecDeque<Entry>> = Mutex::new(VecDeque::new());

/// The footer kept for exactly this version of the file, if any.
pub fn get(key: &FooterKey) -> Option<ArrowReaderMetadata> {
    let footers = FOOTERS.lock().unwrap_or_else(PoisonError::into_inner);
    footers
        .iter()
        .find(|entry| &entry.key == key)
        .map(|entry| entry.metadata.clone())
}

/// Keeps a footer, in place of any kept for another version of the same file; the oldest
/// footers go while the total is over [`MAX_BYTES`]. A footer larger than that is not kept.
pub fn put(key: FooterKey, metadata: ArrowReaderMetadata) {
    let bytes = metadata.metadata().memory_size();
    if bytes > MAX_BYTES {
        return;
    }
    let mut footers = FOOTERS.lock().unwrap_or_else(PoisonError::into_inner);
    footers.retain(|entry| entry.key.path != key.path);
    let mut total = bytes + footers.iter().map(|entry| entry.bytes).sum::<usize>();
    while total > MAX_BYTES {
        match footers.pop_front() {
            Some(oldest) => total -= oldest.bytes,
            None => break,
        }
    }
    footers.push_back(Entry {
        key,
        metadata,
        bytes,
    });
}

/// How many footers are kept, for tests.
pub fn len() -> usize {
    FOOTERS.lock().unwrap_or_else(PoisonError::into_inner).len()
}
