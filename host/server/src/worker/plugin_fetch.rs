//! [`PluginFetcher`]: a plugin on this worker, by sha256, fetched at most once.
//!
//! The component comes from the local cache directory if a file there hashes right, else from
//! the coordinator (and is hashed before it is used or kept). Compiled code comes from the
//! runtime's artifact cache; on a miss the worker first asks the coordinator for its artifact
//! (same engine compatibility hash, a bundle signed with the coordinator's Ed25519 key, whose
//! public half the worker asks for once and trusts), so a plugin compiled on the coordinator is
//! not compiled again here. Only when that fails does the worker compile it itself (see
//! docs/adr/0009-worker-plugin-artifacts.md and 0016-worker-identity-and-artifact-keys.md).

use std::collections::HashMap;
use std::path::PathBuf;

use quarry_runtime::{Plugin, Runtime};
use sha2::{Digest, Sha256};

use crate::worker::coordinator_link::CoordinatorLink;

/// Fetches and loads plugins, remembering the loaded ones.
#[derive(Debug)]
pub struct PluginFetcher {
    runtime: Runtime,
    link: CoordinatorLink,
    components_dir: PathBuf,
    loaded: tokio::sync::Mutex<HashMap<String, Plugin>>,
    /// Set once the coordinator's artifact key is trusted.
    trusts_coordinator: tokio::sync::OnceCell<()>,
}

/// Hex sha256 of `bytes`.
fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl PluginFetcher {
    pub fn new(runtime: Runtime, link: CoordinatorLink, components_dir: PathBuf) -> Self {
        PluginFetcher {
            runtime,
            link,
            components_dir,
            loaded: tokio::sync::Mutex::new(HashMap::new()),
            trusts_coordinator: tokio::sync::OnceCell::new(),
        }
    }

    /// The plugin whose component hashes to `sha256`, loaded; the error names the plugin and
    /// the reason.
    pub async fn plugin(&self, sha256: &str, reference: &str) -> Result<Plugin, String> {
        // One fetch at a time: a burst of catalogs of a new plugin fetches and compiles it once.
        let mut loaded = self.loaded.lock().await;
        if let Some(plugin) = loaded.get(sha256) {
            return Ok(plugin.clone());
        }
        let bytes = self.component(sha256, reference).await?;
        if self
            .runtime
            .artifact_path(sha256)
            .is_some_and(|path| !path.exists())
        {
            self.install_coordinator_artifact(sha256, reference).await;
        }
        let plugin = self
            .runtime
            .load_plugin(bytes)
            .await
            .map_err(|e| format!("plugin \"{reference}\" does not load: {e}"))?;
        tracing::info!(plugin = %reference, sha256, cache = ?self.runtime.cache_stats(), "plugin loaded");
        loaded.insert(sha256.to_owned(), plugin.clone());
        Ok(plugin)
    }

    /// The component bytes: from the cache directory if they hash right, else fetched.
    async fn component(&self, sha256: &str, reference: &str) -> Result<Vec<u8>, String> {
        let path = self.components_dir.join(format!("{sha256}.wasm"));
        if let Ok(bytes) = tokio::fs::read(&path).await {
            if sha256_hex(&bytes) == sha256 {
                return Ok(bytes);
            }
            tracing::warn!(path = %path.display(), "cached component does not match its hash; fetching it again");
        }
        let bytes = self
            .link
            .component(sha256)
            .await
            .map_err(|e| format!("cannot fetch plugin \"{reference}\": {e}"))?;
        let got = sha256_hex(&bytes);
        if got != sha256 {
            return Err(format!(
                "plugin \"{reference}\" fetched from {} hashes to {got}, not {sha256}: refused",
                self.link.base_url()
            ));
        }
        if let Err(error) = self.keep(&path, &bytes).await {
            tracing::warn!(path = %path.display(), %error, "cannot cache the component");
        }
        Ok(bytes)
    }

    async fn keep(&self, path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
        tokio::fs::create_dir_all(&self.components_dir).await?;
        let partial = path.with_extension("wasm.partial");
        tokio::fs::write(&partial, bytes).await?;
        tokio::fs::rename(&partial, path).await
    }

    /// Asks the coordinator for its compiled artifact; any failure just means compiling here.
    async fn install_coordinator_artifact(&self, sha256: &str, reference: &str) {
        let trusted = self
            .trusts_coordinator
            .get_or_try_init(|| async {
                let key = self.link.artifact_key().await?;
                self.runtime.trust_artifact_key(key);
                tracing::info!(key = %hex::encode(key), "trusting the coordinator's artifact key");
                Ok::<(), crate::worker::coordinator_link::LinkError>(())
            })
            .await;
        if let Err(error) = trusted {
            tracing::warn!(plugin = %reference, %error, "cannot fetch the coordinator's artifact key; compiling here");
            return;
        }
        let compat = self.runtime.compatibility_hash().to_owned();
        match self.link.artifact(sha256, &compat).await {
            Ok(artifact) => match self.runtime.install_signed_artifact(sha256, &artifact) {
                Ok(()) => {
                    tracing::debug!(plugin = %reference, "installed the coordinator's artifact")
                }
                Err(error) => tracing::warn!(plugin = %reference, %error,
                    "the coordinator's artifact was refused; compiling here"),
            },
            Err(error) if error.is_not_found() => {
                tracing::info!(plugin = %reference, "no usable artifact on the coordinator; compiling here");
            }
            Err(error) => tracing::warn!(plugin = %reference, %error,
                "cannot fetch the coordinator's artifact; compiling here"),
        }
    }
}
