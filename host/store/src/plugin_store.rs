//! Uploading, reading and deleting plugins, and serving their component bytes.
//!
//! The bytes live in `plugin_blobs`, keyed by sha256 (see docs/adr/0002): identical bytes are
//! stored once however many `name@version`s they were uploaded as, and a blob goes away with the
//! last plugin that uses it.

use sha2::{Digest, Sha256};
use sqlx::Connection;
use sqlx::types::Json;

use crate::error::{Entity, Error, Result, is_foreign_key_violation, is_unique_violation};
use crate::plugin::{NewPlugin, Plugin, plugin_reference};
use crate::store::{BeginWrite, Store, now, on_backend};
use crate::validation::{validate_identifier, validate_version};

impl Store {
    /// Stores a plugin and its component bytes; the sha256 and size are computed here.
    ///
    /// [`Error::Conflict`] if `name@version` already exists (plugins are immutable).
    pub async fn create_plugin(&self, plugin: &NewPlugin, component: &[u8]) -> Result<Plugin> {
        validate_identifier("plugin name", &plugin.name)?;
        validate_version("plugin version", &plugin.version)?;
        validate_version("contract version", &plugin.contract_version)?;
        let sha256 = hex::encode(Sha256::digest(component));
        let size = i64::try_from(component.len()).unwrap_or(i64::MAX);
        let uploaded_at = now();
        let reference = plugin_reference(&plugin.name, &plugin.version);

        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            // `DO UPDATE` rather than `DO NOTHING`: it locks an existing blob row, so a concurrent
            // delete of the last other plugin with these bytes cannot remove it under us.
            sqlx::query(
                "INSERT INTO plugin_blobs (sha256, bytes) VALUES ($1, $2) \
                 ON CONFLICT (sha256) DO UPDATE SET sha256 = excluded.sha256",
            )
            .bind(&sha256)
            .bind(component)
            .execute(&mut *tx)
            .await?;
            let stored = sqlx::query_as::<_, Plugin>(
                "INSERT INTO plugins \
                 (name, version, sha256, contract_version, size, config_fields, description, \
                  uploaded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
            )
            .bind(&plugin.name)
            .bind(&plugin.version)
            .bind(&sha256)
            .bind(&plugin.contract_version)
            .bind(size)
            .bind(Json(&plugin.config_fields))
            .bind(&plugin.description)
            .bind(uploaded_at)
            .fetch_one(&mut *tx)
            .await
            .map_err(|error| {
                if is_unique_violation(&error) {
                    Error::Conflict(format!("plugin \"{reference}\" already exists"))
                } else {
                    Error::Database(error)
                }
            })?;
            tx.commit().await?;
            Ok(stored)
        })
    }

    /// The plugin `name@version`.
    pub async fn get_plugin(&self, name: &str, version: &str) -> Result<Plugin> {
        let found = on_backend!(self, pool => {
            sqlx::query_as::<_, Plugin>("SELECT * FROM plugins WHERE name = $1 AND version = $2")
                .bind(name)
                .bind(version)
                .fetch_optional(pool)
                .await?
        });
        found.ok_or_else(|| Error::not_found(Entity::Plugin, plugin_reference(name, version)))
    }

    /// Every plugin, ordered by name and version.
    pub async fn list_plugins(&self) -> Result<Vec<Plugin>> {
        Ok(on_backend!(self, pool => {
            sqlx::query_as::<_, Plugin>("SELECT * FROM plugins ORDER BY name, version")
                .fetch_all(pool)
                .await?
        }))
    }

    /// Every version of the plugin `name`, ordered by version (as text); empty if none.
    pub async fn list_plugin_versions(&self, name: &str) -> Result<Vec<Plugin>> {
        Ok(on_backend!(self, pool => {
            sqlx::query_as::<_, Plugin>("SELECT * FROM plugins WHERE name = $1 ORDER BY version")
                .bind(name)
                .fetch_all(pool)
                .await?
        }))
    }

    /// The component bytes with this sha256 (lowercase hex), for a worker that lacks them.
    pub async fn plugin_component(&self, sha256: &str) -> Result<Vec<u8>> {
        let found: Option<Vec<u8>> = on_backend!(self, pool => {
            sqlx::query_scalar("SELECT bytes FROM plugin_blobs WHERE sha256 = $1")
                .bind(sha256)
                .fetch_optional(pool)
                .await?
        });
        found.ok_or_else(|| Error::not_found(Entity::PluginComponent, sha256))
    }

    /// Deletes the plugin `name@version`, and its bytes if no other plugin has the same.
    ///
    /// [`Error::InUse`] (listing the catalogs) while a catalog uses it.
    pub async fn delete_plugin(&self, name: &str, version: &str) -> Result<()> {
        let reference = plugin_reference(name, version);
        let in_use = |catalogs| Error::InUse {
            plugin: reference.clone(),
            catalogs,
        };
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let catalogs: Vec<String> = sqlx::query_scalar(
                "SELECT name FROM catalogs WHERE plugin_name = $1 AND plugin_version = $2 \
                 ORDER BY name",
            )
            .bind(name)
            .bind(version)
            .fetch_all(&mut *tx)
            .await?;
            if !catalogs.is_empty() {
                return Err(in_use(catalogs));
            }
            let deleted = sqlx::query_scalar::<_, String>(
                "DELETE FROM plugins WHERE name = $1 AND version = $2 RETURNING sha256",
            )
            .bind(name)
            .bind(version)
            .fetch_optional(&mut *tx)
            .await;
            let sha256 = match deleted {
                Ok(Some(sha256)) => sha256,
                Ok(None) => return Err(Error::not_found(Entity::Plugin, reference.clone())),
                // A catalog that started using the plugin after the check above (PostgreSQL
                // only: SQLite's write lock excludes it).
                Err(error) if is_foreign_key_violation(&error) => {
                    drop(tx);
                    let catalogs = sqlx::query_scalar(
                        "SELECT name FROM catalogs \
                         WHERE plugin_name = $1 AND plugin_version = $2 ORDER BY name",
                    )
                    .bind(name)
                    .bind(version)
                    .fetch_all(pool)
                    .await?;
                    return Err(in_use(catalogs));
                }
                Err(error) => return Err(error.into()),
            };
            // Drop the bytes unless another plugin has them. A plugin with the same bytes
            // created concurrently makes this delete fail on the foreign key; the savepoint
            // keeps that from aborting the plugin's deletion, and the bytes stay.
            let mut savepoint = Connection::begin(&mut *tx).await?;
            let collected = sqlx::query(
                "DELETE FROM plugin_blobs WHERE sha256 = $1 \
                 AND NOT EXISTS (SELECT 1 FROM plugins WHERE sha256 = $1)",
            )
            .bind(&sha256)
            .execute(&mut *savepoint)
            .await;
            match collected {
                Ok(_) => savepoint.commit().await?,
                Err(error) if is_foreign_key_violation(&error) => savepoint.rollback().await?,
                Err(error) => return Err(error.into()),
            }
            tx.commit().await?;
            Ok(())
        })
    }
}
