//! Creating, altering and deleting a catalog: one implementation for the HTTP API and for
//! SQL's `CREATE`/`ALTER`/`DROP CATALOG`, so both validate the same way, commit the same way and
//! push the change to the workers at once.
//!
//! A change is validated completely (see `catalog_validation.rs`) before anything is written,
//! and written in one transaction, so a refused change leaves nothing behind.

use quarry_store::{Catalog, CatalogSpec, ConfigField};

use crate::api_error::{ApiError, ApiResult};
use crate::coordinator::catalog_validation::validate_catalog;
use crate::coordinator::state::AppState;

/// Creates catalog `name`; answers it with its plugin's config fields.
pub async fn create(
    state: &AppState,
    name: &str,
    spec: &CatalogSpec,
) -> ApiResult<(Catalog, Vec<ConfigField>)> {
    quarry_store::validation::validate_identifier("catalog name", name)?;
    if name == quarry_sql::pg_catalog_setup::SYSTEM_CATALOG {
        return Err(ApiError::BadRequest(format!(
            "catalog name \"{name}\" is reserved: it is the system catalog every SQL session \
             starts in (public, pg_catalog)"
        )));
    }
    // Cheap early answer; the insert below is what decides under concurrency.
    match state.store().get_catalog(name).await {
        Ok(_) => {
            return Err(ApiError::Conflict(format!(
                "catalog \"{name}\" already exists"
            )));
        }
        Err(quarry_store::Error::NotFound { .. }) => {}
        Err(other) => return Err(other.into()),
    }
    let plugin = validate_catalog(state, name, spec).await?;
    let catalog = state
        .store()
        .create_catalog(name, spec)
        .await
        .map_err(plugin_gone)?;
    tracing::info!(catalog = %catalog.name, plugin = %catalog.plugin_reference(), "catalog created");
    state.sync().catalogs_changed();
    Ok((catalog, plugin.config_fields))
}

/// Replaces the definition of catalog `name`, if it is still at `expected_generation` when one
/// is given.
pub async fn alter(
    state: &AppState,
    name: &str,
    spec: &CatalogSpec,
    expected_generation: Option<i64>,
) -> ApiResult<(Catalog, Vec<ConfigField>)> {
    let current = state.store().get_catalog(name).await?;
    if let Some(expected) = expected_generation
        && expected != current.generation
    {
        return Err(ApiError::Conflict(format!(
            "catalog \"{name}\" is at generation {}, not {expected}",
            current.generation
        )));
    }
    let plugin = validate_catalog(state, name, spec).await?;
    let catalog = state
        .store()
        .alter_catalog(name, spec, expected_generation)
        .await
        .map_err(plugin_gone)?;
    tracing::info!(catalog = %catalog.name, generation = catalog.generation, "catalog altered");
    state.sync().catalogs_changed();
    Ok((catalog, plugin.config_fields))
}

/// Deletes catalog `name`; workers unload it.
pub async fn delete(state: &AppState, name: &str) -> ApiResult<()> {
    state.store().delete_catalog(name).await?;
    tracing::info!(catalog = %name, "catalog deleted");
    state.sync().catalogs_changed();
    Ok(())
}

/// A plugin deleted between validation and the write is the caller's unknown plugin.
fn plugin_gone(error: quarry_store::Error) -> ApiError {
    match error {
        quarry_store::Error::NotFound {
            kind: quarry_store::Entity::Plugin,
            ..
        } => ApiError::UnknownPlugin(error.to_string()),
        other => other.into(),
    }
}
