//! Creating, altering, reading and deleting catalogs.

use std::collections::BTreeMap;

use sqlx::types::Json;

use crate::catalog::{Catalog, CatalogSpec};
use crate::error::{Entity, Error, Result, is_foreign_key_violation, is_unique_violation};
use crate::plugin::{ConfigField, plugin_reference};
use crate::secret_redaction::redact_properties;
use crate::store::{BeginWrite, Store, now, on_backend};
use crate::validation::{validate_identifier, validate_version};

impl Store {
    /// Creates the catalog `name` at generation 1.
    ///
    /// [`Error::Conflict`] if the name is taken, [`Error::NotFound`] if the plugin does not
    /// exist; either way nothing is written.
    pub async fn create_catalog(&self, name: &str, spec: &CatalogSpec) -> Result<Catalog> {
        validate_identifier("catalog name", name)?;
        validate_spec(spec)?;
        let created_at = now();
        let created = on_backend!(self, pool => {
            sqlx::query_as::<_, Catalog>(
                "INSERT INTO catalogs \
                 (name, plugin_name, plugin_version, properties, grants, generation, \
                  created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, 1, $6, $6) RETURNING *",
            )
            .bind(name)
            .bind(&spec.plugin_name)
            .bind(&spec.plugin_version)
            .bind(Json(&spec.properties))
            .bind(Json(&spec.grants))
            .bind(created_at)
            .fetch_one(pool)
            .await
        });
        created.map_err(|error| {
            if is_unique_violation(&error) {
                Error::Conflict(format!("catalog \"{name}\" already exists"))
            } else {
                write_error(error, spec)
            }
        })
    }

    /// The catalog `name`, with its properties as stored (see
    /// [`Store::catalog_properties_redacted`] for what to show a user).
    pub async fn get_catalog(&self, name: &str) -> Result<Catalog> {
        let found = on_backend!(self, pool => {
            sqlx::query_as::<_, Catalog>("SELECT * FROM catalogs WHERE name = $1")
                .bind(name)
                .fetch_optional(pool)
                .await?
        });
        found.ok_or_else(|| Error::not_found(Entity::Catalog, name))
    }

    /// Every catalog, ordered by name.
    pub async fn list_catalogs(&self) -> Result<Vec<Catalog>> {
        Ok(on_backend!(self, pool => {
            sqlx::query_as::<_, Catalog>("SELECT * FROM catalogs ORDER BY name")
                .fetch_all(pool)
                .await?
        }))
    }

    /// Replaces the definition of the catalog `name` and bumps its generation.
    ///
    /// With `expected_generation`, the change applies only if the catalog is still at that
    /// generation ([`Error::Conflict`] otherwise), so two editors cannot silently overwrite
    /// each other.
    pub async fn alter_catalog(
        &self,
        name: &str,
        spec: &CatalogSpec,
        expected_generation: Option<i64>,
    ) -> Result<Catalog> {
        validate_spec(spec)?;
        let updated_at = now();
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let altered = sqlx::query_as::<_, Catalog>(
                "UPDATE catalogs SET plugin_name = $2, plugin_version = $3, properties = $4, \
                 grants = $5, generation = generation + 1, updated_at = $6 \
                 WHERE name = $1 AND ($7 IS NULL OR generation = $7) RETURNING *",
            )
            .bind(name)
            .bind(&spec.plugin_name)
            .bind(&spec.plugin_version)
            .bind(Json(&spec.properties))
            .bind(Json(&spec.grants))
            .bind(updated_at)
            .bind(expected_generation)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|error| write_error(error, spec))?;
            if let Some(altered) = altered {
                tx.commit().await?;
                return Ok(altered);
            }
            let current: Option<i64> =
                sqlx::query_scalar("SELECT generation FROM catalogs WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&mut *tx)
                    .await?;
            Err(match (current, expected_generation) {
                (Some(current), Some(expected)) => Error::Conflict(format!(
                    "catalog \"{name}\" is at generation {current}, not {expected}"
                )),
                _ => Error::not_found(Entity::Catalog, name),
            })
        })
    }

    /// Deletes the catalog `name` and what workers reported about it.
    pub async fn delete_catalog(&self, name: &str) -> Result<()> {
        let deleted = on_backend!(self, pool => {
            sqlx::query("DELETE FROM catalogs WHERE name = $1")
                .bind(name)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if deleted == 0 {
            return Err(Error::not_found(Entity::Catalog, name));
        }
        Ok(())
    }

    /// The catalog's properties with the values of secret fields (as the plugin's config
    /// declarations say) replaced by `***`.
    pub async fn catalog_properties_redacted(
        &self,
        name: &str,
    ) -> Result<BTreeMap<String, String>> {
        type Row = (Json<BTreeMap<String, String>>, Json<Vec<ConfigField>>);
        let found: Option<Row> = on_backend!(self, pool => {
            sqlx::query_as(
                "SELECT c.properties, p.config_fields FROM catalogs c \
                 JOIN plugins p ON p.name = c.plugin_name AND p.version = c.plugin_version \
                 WHERE c.name = $1",
            )
            .bind(name)
            .fetch_optional(pool)
            .await?
        });
        let (Json(properties), Json(fields)) =
            found.ok_or_else(|| Error::not_found(Entity::Catalog, name))?;
        Ok(redact_properties(&properties, &fields))
    }
}

fn validate_spec(spec: &CatalogSpec) -> Result<()> {
    validate_identifier("plugin name", &spec.plugin_name)?;
    validate_version("plugin version", &spec.plugin_version)
}

/// Maps a failed catalog write: the only foreign key a catalog has is its plugin.
fn write_error(error: sqlx::Error, spec: &CatalogSpec) -> Error {
    if is_foreign_key_violation(&error) {
        Error::not_found(
            Entity::Plugin,
            plugin_reference(&spec.plugin_name, &spec.plugin_version),
        )
    } else {
        Error::Database(error)
    }
}
