//! Compiled code, cached by the sha256 of the component bytes.
//!
//! Two levels: the [`crate::runtime::Runtime`] keeps an `InstancePre` per sha256 in memory;
//! below it, this module keeps precompiled artifacts on disk, keyed by sha256 and the engine's
//! compatibility hash, so a restart (or another worker with the same key) deserializes in
//! milliseconds instead of compiling for a second.
//!
//! Deserializing an artifact is `unsafe` in wasmtime: the bytes are trusted to be machine code
//! wasmtime produced. So every artifact file starts with a header holding an HMAC-SHA256 of the
//! artifact under a key only this host knows (`artifact.key`). A truncated, corrupted or foreign
//! file fails the check, is deleted, and the component is compiled again. Files are written to
//! a temporary name and renamed into place, so a reader never sees half a file.
//!
//! Artifacts move between hosts (a coordinator handing its compiled code to its workers) as a
//! *bundle* signed with the sending host's Ed25519 key (`artifact-signing.pk8`). A host installs
//! a bundle only when the signature is one of the public keys it was told to trust
//! ([`ArtifactCache::trust`]), then keeps it under its own HMAC like code it compiled. A worker
//! holds no key its peers trust, so it cannot mint machine code for them.

use std::borrow::Cow;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use std::sync::RwLock;

use hmac::{Hmac, Mac};
use ring::rand::SystemRandom;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
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
/// First bytes of a bundle: an artifact signed for another host.
const BUNDLE_MAGIC: &[u8; 16] = b"QUARRY-BUNDLE\x00\x00\x01";
const SIGNATURE_LEN: usize = 64;
/// Name of the Ed25519 key (PKCS#8) that signs bundles, inside the cache directory.
const SIGNING_KEY_FILE: &str = "artifact-signing.pk8";

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
pub struct ArtifactCache {
    dir: Option<PathBuf>,
    key: [u8; 32],
    /// Signs the bundles this host hands out.
    signing: Ed25519KeyPair,
    /// Public keys whose bundles this host installs.
    trusted: RwLock<Vec<[u8; 32]>>,
    compat: String,
    pub(crate) counters: Counters,
}

impl std::fmt::Debug for ArtifactCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArtifactCache")
            .field("dir", &self.dir)
            .field("compat", &self.compat)
            .field(
                "signing_key",
                &hex::encode(self.signing.public_key().as_ref()),
            )
            .finish_non_exhaustive()
    }
}

impl ArtifactCache {
    /// Opens the cache in `dir` (created if missing), with this host's keys from it (created
    /// on first use; without a directory, keys that last as long as the process), trusting
    /// bundles signed by `trusted` public keys. `pre_initialize` is part of the compatibility
    /// hash: such a host compiles a component's snapshot, not the upload.
    pub fn open(
        engine: &Engine,
        dir: Option<PathBuf>,
        trusted: Vec<[u8; 32]>,
        pre_initialize: bool,
    ) -> Result<Self> {
        let compat = compatibility_hash(engine, pre_initialize);
        if let Some(dir) = &dir {
            fs::create_dir_all(dir).map_err(|e| cache_error(dir, "cannot create", &e))?;
        }
        let key = match &dir {
            Some(dir) => load_or_create_key(dir)?,
            None => random_key()?,
        };
        let signing = match &dir {
            Some(dir) => load_or_create_signing_key(dir)?,
            None => new_signing_key()?,
        };
        Ok(ArtifactCache {
            dir,
            key,
            signing,
            trusted: RwLock::new(trusted),
            compat,
            counters: Counters::default(),
        })
    }

    /// The public half of the key this host signs bundles with.
    pub fn signing_public_key(&self) -> [u8; 32] {
        let mut key = [0u8; 32];
        key.copy_from_slice(self.signing.public_key().as_ref());
        key
    }

    /// Installs bundles signed by `public_key` from now on.
    pub fn trust(&self, public_key: [u8; 32]) {
        if let Ok(mut trusted) = self.trusted.write()
            && !trusted.contains(&public_key)
        {
            trusted.push(public_key);
        }
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

    /// The compiled component of the upload whose sha256 is `sha256`: from a verified artifact
    /// on disk if there is one; otherwise `prepare` gives the bytes to compile (the upload, or
    /// its pre-initialised rewrite), which are compiled and written to disk.
    pub fn load_or_compile<'a>(
        &self,
        engine: &Engine,
        sha256: &str,
        prepare: impl FnOnce() -> Result<Cow<'a, [u8]>>,
    ) -> Result<Component> {
        if let Some(path) = self.artifact_path(sha256)
            && let Some(component) = self.try_load(engine, sha256, &path)
        {
            self.counters.disk_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(component);
        }
        let bytes = prepare()?;
        let started = std::time::Instant::now();
        let component = Component::new(engine, &bytes).map_err(|e| Error::InvalidComponent {
            reason: format!("does not compile: {e:#}"),
        })?;
        let compiled_at = started.elapsed();
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
        tracing::info!(
            sha256 = %&sha256[..12.min(sha256.len())],
            component_bytes = bytes.len(),
            compile_ms = compiled_at.as_millis() as u64,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "component compiled and cached"
        );
        Ok(component)
    }

    /// Deletes the artifact of a component (refused after it compiled), if there is one.
    pub fn forget(&self, sha256: &str) {
        if let Some(path) = self.artifact_path(sha256)
            && fs::remove_file(&path).is_ok()
        {
            tracing::debug!(path = %path.display(), "artifact of a refused component deleted");
        }
    }

    /// A bundle of a component's compiled artifact, signed with this host's Ed25519 key, for
    /// a host that trusts it (a coordinator serving its workers).
    pub fn read_signed(&self, sha256: &str) -> Option<Vec<u8>> {
        let path = self.artifact_path(sha256)?;
        let file = fs::read(path).ok()?;
        let artifact = self.verify(sha256, &file)?;
        let signature = self
            .signing
            .sign(&bundle_message(sha256, &self.compat, artifact));
        let mut bundle = Vec::with_capacity(BUNDLE_MAGIC.len() + SIGNATURE_LEN + artifact.len());
        bundle.extend_from_slice(BUNDLE_MAGIC);
        bundle.extend_from_slice(signature.as_ref());
        bundle.extend_from_slice(artifact);
        Some(bundle)
    }

    /// Stores a bundle received from another host after checking its signature against the
    /// trusted keys; the next load of that component deserializes it instead of compiling.
    pub fn install_signed(&self, sha256: &str, bundle: &[u8]) -> Result<()> {
        let path = self.artifact_path(sha256).ok_or_else(|| Error::Cache {
            path: String::new(),
            message: "no cache directory configured".into(),
        })?;
        let artifact = self
            .verify_bundle(sha256, bundle)
            .ok_or_else(|| Error::Cache {
                path: path.display().to_string(),
                message: "the artifact is not signed by a key this host trusts (or is corrupt)"
                    .into(),
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
        // produced. `verify` has just checked an HMAC-SHA256, under a key only this host
        // holds, over exactly these bytes, which we read into memory before
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

    /// The artifact inside `bundle` when a trusted key signed it for this component and this
    /// engine.
    fn verify_bundle<'a>(&self, sha256: &str, bundle: &'a [u8]) -> Option<&'a [u8]> {
        if bundle.len() < BUNDLE_MAGIC.len() + SIGNATURE_LEN
            || &bundle[..BUNDLE_MAGIC.len()] != BUNDLE_MAGIC
        {
            return None;
        }
        let (signature, artifact) = bundle[BUNDLE_MAGIC.len()..].split_at(SIGNATURE_LEN);
        let message = bundle_message(sha256, &self.compat, artifact);
        let trusted = self.trusted.read().ok()?;
        trusted
            .iter()
            .any(|key| {
                UnparsedPublicKey::new(&ED25519, key)
                    .verify(&message, signature)
                    .is_ok()
            })
            .then_some(artifact)
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

/// What a bundle's signature covers: the component, the engine it was compiled for, the code.
fn bundle_message(sha256: &str, compat: &str, artifact: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(sha256.len() + compat.len() + artifact.len() + 32);
    message.extend_from_slice(b"quarry artifact bundle v1\0");
    message.extend_from_slice(sha256.as_bytes());
    message.push(0);
    message.extend_from_slice(compat.as_bytes());
    message.push(0);
    message.extend_from_slice(artifact);
    message
}

fn new_signing_key_document() -> Result<Vec<u8>> {
    Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
        .map(|document| document.as_ref().to_vec())
        .map_err(|_| Error::Internal("cannot generate an Ed25519 key".into()))
}

fn new_signing_key() -> Result<Ed25519KeyPair> {
    Ed25519KeyPair::from_pkcs8(&new_signing_key_document()?)
        .map_err(|_| Error::Internal("a new Ed25519 key does not parse".into()))
}

/// Reads `dir/artifact-signing.pk8`, or creates it (readable by this user only).
fn load_or_create_signing_key(dir: &Path) -> Result<Ed25519KeyPair> {
    let path = dir.join(SIGNING_KEY_FILE);
    if let Ok(bytes) = fs::read(&path) {
        if let Ok(pair) = Ed25519KeyPair::from_pkcs8(&bytes) {
            return Ok(pair);
        }
        tracing::warn!(path = %path.display(), "artifact signing key does not parse; replacing it");
    }
    let document = new_signing_key_document()?;
    write_owner_only(dir, SIGNING_KEY_FILE, &document)
        .map_err(|e| cache_error(&path, "cannot write artifact signing key", &e))?;
    let bytes =
        fs::read(&path).map_err(|e| cache_error(&path, "cannot read artifact signing key", &e))?;
    Ed25519KeyPair::from_pkcs8(&bytes)
        .map_err(|_| cache_error(&path, "artifact signing key", &"does not parse"))
}

/// Writes `dir/name` through a temporary file with mode 0600, renamed into place.
fn write_owner_only(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = dir.join(format!("{name}.tmp-{}-{}", std::process::id(), unique()));
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    fs::rename(&tmp, dir.join(name))
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
    write_owner_only(dir, KEY_FILE, &key)
        .map_err(|e| cache_error(&path, "cannot write artifact key", &e))?;
    let bytes = fs::read(&path).map_err(|e| cache_error(&path, "cannot read artifact key", &e))?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| cache_error(&path, "artifact key", &"wrong length"))
}
