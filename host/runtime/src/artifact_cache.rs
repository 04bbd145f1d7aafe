//! Compiled code, cached by the sha256 of the component bytes.
//!
//! Two levels: the [`crate::runtime::Runtime`] keeps an `InstancePre` per sha256 in memory;
//! below it, this module keeps precompiled artifacts on disk, keyed by sha256 and the engine's
//! compatibility hash, so a restart (or another worker with the same key) deserializes in
//! milliseconds instead of compiling for a second.
//!
//! Deserializing an artifact is `unsafe` in wasmtime: the bytes are trusted to be machine code
//! wasmtime produced. So every artifact file starts with a header holding an HMAC-SHA256 of the
//! artifact under a key only this host (and its own coordinator, if it is handed the same key)
//! knows. A truncated, corrupted or foreign file fails the check, is deleted, and the component
//! is compiled again. Files are written to a temporary name and renamed into place, so a reader
//! never sees half a file.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::engine::compatibility_hash;
use crate::error::{Error, Result};

type HmacSha256 = Hmac<Sha256>;

/// First bytes of every artifact file; the version byte changes with the header layout.
const MAGIC: &[u8; 16] = b"QUARRY-ARTIFACT\x01";
const TAG_LEN: usize = 32;
const HEADER_LEN: usize = MAGIC.len() + TAG_LEN;
/// Name of the key file inside the cache directory.
const KEY_FILE: &str = "artifact.key";

/// Counters of where compiled code came from; tests assert on these instead of timing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Components compiled with Cranelift.
    pub compiles: u64,
    /// Components deserialized from a verified artifact on disk.
    pub disk_hits: u64,
    /// Loads answered by an `InstancePre` already in memory.
    pub memory_hits: u64,
    /// Artifacts on disk that failed verification (corrupt, truncated, foreign) and were
    /// replaced.
    pub disk_rejects: u64,
    /// Artifacts written to disk.
    pub disk_writes: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    compiles: AtomicU64,
    disk_hits: AtomicU64,
    pub(crate) memory_hits: AtomicU64,
    disk_rejects: AtomicU64,
    disk_writes: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> CacheStats {
        CacheStats {
            compiles: self.compiles.load(Ordering::Relaxed),
            disk_hits: self.disk_hits.load(Ordering::Relaxed),
            memory_hits: self.memory_hits.load(Ordering::Relaxed),
            disk_rejects: self.disk_rejects.load(Ordering::Relaxed),
            disk_writes: self.disk_writes.load(Ordering::Relaxed),
        }
    }
}

/// The on-disk level of the cache (or none, when no directory is configured).
#[derive(Debug)]
pub struct ArtifactCache {
    dir: Option<PathBuf>,
    key: [u8; 32],
    compat: String,
    pub(crate) counters: Counters,
}

impl ArtifactCache {
    /// Opens the cache in `dir` (created if missing). The signing key is `key` when given (a
    /// cluster-wide key lets a coordinator hand precompiled artifacts to its workers), else
    /// the one stored in `dir/artifact.key`, created on first use.
    pub fn open(engine: &Engine, dir: Option<PathBuf>, key: Option<[u8; 32]>) -> Result<Self> {
        let compat = compatibility_hash(engine);
        if let Some(dir) = &dir {
            fs::create_dir_all(dir).map_err(|e| cache_error(dir, "cannot create", &e))?;
        }
        let key = match (&dir, key) {
            (_, Some(key)) => key,
            (Some(dir), None) => load_or_create_key(dir)?,
            (None, None) => random_key()?,
        };
        Ok(ArtifactCache {
            dir,
            key,
            compat,
            counters: Counters::default(),
        })
    }

    /// The engine compatibility hash artifacts here are built for.
    pub fn compatibility_hash(&self) -> &str {
        &self.compat
    }

    /// Counters so far.
    pub fn stats(&self) -> CacheStats {
        self.counters.snapshot()
    }

    /// Where the artifact of the component with this sha256 lives, when there is a directory.
    pub fn artifact_path(&self, sha256: &str) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|d| d.join(format!("{sha256}-{}.cwasm", self.compat)))
    }

    /// The compiled component for `bytes` (whose sha256 is `sha256`): from a verified artifact
    /// on disk if there is one, compiled (and written to disk) otherwise.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        sha256: &str,
        bytes: &[u8],
    ) -> Result<Component> {
        if let Some(path) = self.artifact_path(sha256)
            && let Some(component) = self.try_load(engine, sha256, &path)
        {
            self.counters.disk_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(component);
        }
        let component = Component::new(engine, bytes).map_err(|e| Error::InvalidComponent {
            reason: format!("does not compile: {e:#}"),
        })?;
        self.counters.compiles.fetch_add(1, Ordering::Relaxed);
        if let Some(path) = self.artifact_path(sha256) {
            match component.serialize() {
                Ok(artifact) => match self.write_artifact(sha256, &path, &artifact) {
                    Ok(()) => {
                        self.counters.disk_writes.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot write precompiled artifact"),
                },
                Err(e) => tracing::warn!(error = %e, "cannot serialize compiled component"),
            }
        }
        Ok(component)
    }

    /// The signed artifact file of a component, as stored (header and all), for handing to
    /// another host that shares the key (a coordinator serving its workers).
    pub fn read_signed(&self, sha256: &str) -> Option<Vec<u8>> {
        let path = self.artifact_path(sha256)?;
        let file = fs::read(path).ok()?;
        self.verify(sha256, &file)?;
        Some(file)
    }

    /// Stores a signed artifact file received from another host, after checking its MAC under
    /// this host's key; the next load of that component deserializes it instead of compiling.
    pub fn install_signed(&self, sha256: &str, file: &[u8]) -> Result<()> {
        let path = self.artifact_path(sha256).ok_or_else(|| Error::Cache {
            path: String::new(),
            message: "no cache directory configured".into(),
        })?;
        let artifact = self.verify(sha256, file).ok_or_else(|| Error::Cache {
            path: path.display().to_string(),
            message: "the artifact is not signed with this host's key (or is corrupt)".into(),
        })?;
        self.write_artifact(sha256, &path, artifact)
            .map_err(|e| cache_error(&path, "cannot write artifact", &e))?;
        self.counters.disk_writes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Reads, verifies and deserializes an artifact; `None` (after deleting a bad file) when
    /// there is no usable one.
    fn try_load(&self, engine: &Engine, sha256: &str, path: &Path) -> Option<Component> {
        let file = match fs::read(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot read artifact");
                return None;
            }
        };
        let Some(artifact) = self.verify(sha256, &file) else {
            self.reject(path, "failed verification (corrupt, truncated or foreign)");
            return None;
        };
        // SAFETY: `Component::deserialize` trusts its input to be an artifact wasmtime
        // produced. `verify` has just checked an HMAC-SHA256, under a key only this host (and
        // its coordinator) holds, over exactly these bytes, which we read into memory before
        // checking, so the file cannot change between the check and this call. The artifact
        // was therefore written by `write_artifact` from `Component::serialize` of an engine
        // with the same compatibility hash (part of both the file name and the MAC input).
        #[allow(unsafe_code)]
        let loaded = unsafe { Component::deserialize(engine, artifact) };
        match loaded {
            Ok(component) => Some(component),
            Err(e) => {
                self.reject(path, &format!("does not deserialize: {e}"));
                None
            }
        }
    }

    fn reject(&self, path: &Path, why: &str) {
        tracing::warn!(path = %path.display(), "precompiled artifact {why}; recompiling");
        self.counters.disk_rejects.fetch_add(1, Ordering::Relaxed);
        let _ = fs::remove_file(path);
    }

    fn mac(&self, sha256: &str) -> Option<HmacSha256> {
        let mut mac = HmacSha256::new_from_slice(&self.key).ok()?;
        mac.update(sha256.as_bytes());
        mac.update(&[0]);
        mac.update(self.compat.as_bytes());
        mac.update(&[0]);
        Some(mac)
    }

    /// The artifact inside `file` when its header holds a valid MAC for it.
    fn verify<'a>(&self, sha256: &str, file: &'a [u8]) -> Option<&'a [u8]> {
        if file.len() < HEADER_LEN || &file[..MAGIC.len()] != MAGIC {
            return None;
        }
        let (tag, artifact) = file[MAGIC.len()..].split_at(TAG_LEN);
        let mut mac = self.mac(sha256)?;
        mac.update(artifact);
        mac.verify_slice(tag).ok()?;
        Some(artifact)
    }

    /// Writes header + artifact to a temporary file in the same directory, then renames it
    /// into place (atomic on one filesystem).
    fn write_artifact(&self, sha256: &str, path: &Path, artifact: &[u8]) -> std::io::Result<()> {
        let mut mac = self
            .mac(sha256)
            .ok_or_else(|| std::io::Error::other("invalid artifact key"))?;
        mac.update(artifact);
        let tag = mac.finalize().into_bytes();
        let tmp = path.with_extension(format!("tmp-{}-{}", std::process::id(), unique()));
        let result = (|| {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(MAGIC)?;
            f.write_all(&tag)?;
            f.write_all(artifact)?;
            f.sync_all()?;
            fs::rename(&tmp, path)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }
}

fn unique() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn cache_error(path: &Path, what: &str, e: &dyn std::fmt::Display) -> Error {
    Error::Cache {
        path: path.display().to_string(),
        message: format!("{what}: {e}"),
    }
}

fn random_key() -> Result<[u8; 32]> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
    Ok(key)
}

/// Reads `dir/artifact.key`, or creates it (readable by this user only). Two processes racing
/// both write a key; the last rename wins and the loser's artifacts fail verification once and
/// are recompiled.
fn load_or_create_key(dir: &Path) -> Result<[u8; 32]> {
    let path = dir.join(KEY_FILE);
    if let Ok(bytes) = fs::read(&path) {
        if let Ok(key) = <[u8; 32]>::try_from(bytes.as_slice()) {
            return Ok(key);
        }
        tracing::warn!(path = %path.display(), "artifact key has the wrong length; replacing it");
    }
    let key = random_key()?;
    let tmp = dir.join(format!(
        "{KEY_FILE}.tmp-{}-{}",
        std::process::id(),
        unique()
    ));
    let write = || -> std::io::Result<()> {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options.open(&tmp)?;
        f.write_all(&key)?;
        f.sync_all()?;
        fs::rename(&tmp, &path)
    };
    write().map_err(|e| cache_error(&path, "cannot write artifact key", &e))?;
    let bytes = fs::read(&path).map_err(|e| cache_error(&path, "cannot read artifact key", &e))?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| cache_error(&path, "artifact key", &"wrong length"))
}
