//! `GET /v1/openapi.json`: the API as an OpenAPI 3.1 document, generated from the route table
//! ([`super::ROUTES`]) so it lists exactly the routes the router serves. The schemas are written
//! by hand next to it; the tests check that every route appears with its method, parameters and
//! status codes.

use axum::Json;
use serde_json::{Map, Value, json};

use super::{ROUTES, RequestBody, ResponseBody, RouteSpec};

/// `GET /v1/openapi.json`.
pub async fn document() -> Json<Value> {
    Json(openapi())
}

/// The OpenAPI document.
pub fn openapi() -> Value {
    let mut paths = Map::new();
    for spec in ROUTES {
        let entry = paths
            .entry(spec.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(methods) = entry {
            methods.insert(spec.method.as_str().to_ascii_lowercase(), operation(spec));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Quarry coordinator API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Control API of the Quarry coordinator: plugins, catalogs, workers. \
                            Errors are {\"error\": {\"code\", \"message\"}}.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "admin_token": { "type": "http", "scheme": "bearer",
                                 "description": "QUARRY_ADMIN_TOKEN" },
                "cluster_secret": { "type": "http", "scheme": "bearer",
                                    "description": "QUARRY_CLUSTER_SECRET" },
                "sql_user": { "type": "http", "scheme": "basic",
                              "description": "a user of the coordinator's `users` list" },
            },
            "schemas": schemas(),
        },
    })
}

/// Path parameters of a template: `/v1/plugins/{name}/{version}` → `name`, `version`.
pub fn path_parameters(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .collect()
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn operation(spec: &RouteSpec) -> Value {
    let mut op = Map::new();
    op.insert("operationId".into(), json!(format!("{:?}", spec.id)));
    op.insert("summary".into(), json!(spec.summary));
    let security: Vec<Value> = spec
        .access
        .schemes()
        .iter()
        .map(|scheme| json!({ *scheme: [] }))
        .collect();
    op.insert("security".into(), json!(security));
    let parameters: Vec<Value> = path_parameters(spec.path)
        .into_iter()
        .map(|name| {
            json!({ "name": name, "in": "path", "required": true,
                    "schema": { "type": "string" } })
        })
        .collect();
    if !parameters.is_empty() {
        op.insert("parameters".into(), Value::Array(parameters));
    }
    match spec.request {
        RequestBody::None => {}
        RequestBody::Json(schema) => {
            op.insert(
                "requestBody".into(),
                json!({ "required": true,
                        "content": { "application/json": { "schema": schema_ref(schema) } } }),
            );
        }
        RequestBody::Wasm => {
            op.insert(
                "requestBody".into(),
                json!({ "required": true, "content": { "application/wasm": {
                    "schema": { "type": "string", "format": "binary" } } } }),
            );
        }
    }
    let mut responses = Map::new();
    for (status, description) in spec.statuses {
        let content = if (200..300).contains(status) {
            match spec.response {
                ResponseBody::None => None,
                ResponseBody::Json(schema) => {
                    Some(json!({ "application/json": { "schema": schema_ref(schema) } }))
                }
                ResponseBody::Wasm => Some(json!({ "application/wasm": {
                    "schema": { "type": "string", "format": "binary" } } })),
                ResponseBody::Binary => Some(json!({ "application/octet-stream": {
                    "schema": { "type": "string", "format": "binary" } } })),
                ResponseBody::Text => Some(json!({ "text/plain": {
                    "schema": { "type": "string" } } })),
            }
        } else {
            Some(json!({ "application/json": { "schema": schema_ref("Error") } }))
        };
        let mut response = Map::new();
        response.insert("description".into(), json!(description));
        if let Some(content) = content.filter(|_| *status != 204) {
            response.insert("content".into(), content);
        }
        responses.insert(status.to_string(), Value::Object(response));
    }
    op.insert("responses".into(), Value::Object(responses));
    Value::Object(op)
}

fn schemas() -> Value {
    let string = json!({ "type": "string" });
    let time = json!({ "type": "string", "format": "date-time" });
    let string_map = json!({ "type": "object", "additionalProperties": { "type": "string" } });
    json!({
        "Error": {
            "type": "object", "required": ["error"],
            "properties": { "error": {
                "type": "object", "required": ["code", "message"],
                "properties": {
                    "code": string, "message": string,
                    "issues": { "type": "array", "items": {
                        "type": "object", "required": ["message"],
                        "properties": { "field": string, "message": string } } },
                    "catalogs": { "type": "array", "items": string },
                } } },
        },
        "ConfigField": {
            "type": "object", "required": ["name", "doc", "required", "secret"],
            "properties": {
                "name": string, "doc": string,
                "required": { "type": "boolean" }, "secret": { "type": "boolean" },
                "default": { "type": ["string", "null"] },
            },
        },
        "Plugin": {
            "type": "object",
            "required": ["name", "version", "sha256", "size", "contract_version", "description",
                         "config", "uploaded_at"],
            "properties": {
                "name": string, "version": string, "sha256": string,
                "size": { "type": "integer" }, "contract_version": string,
                "description": string,
                "config": { "type": "array", "items": schema_ref("ConfigField") },
                "uploaded_at": time,
            },
        },
        "PluginList": {
            "type": "object", "required": ["plugins"],
            "properties": { "plugins": { "type": "array", "items": schema_ref("Plugin") } },
        },
        "Grants": {
            "type": "object",
            "properties": {
                "allowed_paths": { "type": "array", "items": string },
                "allowed_hosts": { "type": "array", "items": string },
                "allowed_sockets": {
                    "type": "array", "items": string,
                    "description": "TCP endpoints as host:port (a DNS name, an IPv4 address or \
                                    [IPv6]); the host resolves the names and allows connects to \
                                    those endpoints only",
                },
            },
        },
        "CatalogCreate": {
            "type": "object", "required": ["name", "plugin"], "additionalProperties": false,
            "properties": {
                "name": string,
                "plugin": { "type": "string", "description": "name@version" },
                "properties": string_map,
                "grants": schema_ref("Grants"),
            },
        },
        "Statement": {
            "type": "object", "required": ["sql"], "additionalProperties": false,
            "properties": { "sql": { "type": "string", "description": "one SQL statement" } },
        },
        "StatementResult": {
            "type": "object", "required": ["columns", "rows"],
            "properties": {
                "columns": { "type": "array", "items": {
                    "type": "object", "required": ["name", "type"],
                    "properties": { "name": string, "type": {
                        "type": "string", "description": "the SQL type: bigint, varchar, decimal(15,2)..." } } } },
                "rows": { "type": "array", "items": { "type": "array", "description":
                    "one value per column: JSON numbers for integers and floats, strings for \
                     decimals, dates, timestamps and text, booleans, null" } },
                "row_count": { "type": "integer" },
            },
        },
        "ScanList": {
            "type": "object", "required": ["scans"],
            "properties": { "scans": { "type": "array", "items": {
                "type": "object",
                "properties": {
                    "catalog": string, "generation": { "type": "integer" },
                    "schema": string, "table": string,
                    "projection": { "type": ["array", "null"], "items": { "type": "integer" },
                        "description": "column indices asked for; null for every column" },
                    "filters": { "type": "array", "items": { "enum": ["exact", "inexact", "unsupported"] } },
                    "limit": { "type": ["integer", "null"] },
                    "splits": { "type": "integer" },
                } } } },
        },
        "CatalogAlter": {
            "type": "object", "required": ["plugin"], "additionalProperties": false,
            "properties": {
                "plugin": { "type": "string", "description": "name@version" },
                "properties": string_map,
                "grants": schema_ref("Grants"),
                "expected_generation": { "type": ["integer", "null"] },
            },
        },
        "WorkerCatalogStatus": {
            "type": "object", "required": ["worker", "state"],
            "properties": {
                "worker": string,
                "generation": { "type": ["integer", "null"] },
                "state": { "enum": ["pending", "loading", "loaded", "failed"] },
                "error": { "type": ["string", "null"] },
            },
        },
        "Catalog": {
            "type": "object",
            "required": ["name", "plugin", "properties", "grants", "generation", "status",
                         "errors", "workers", "created_at", "updated_at"],
            "properties": {
                "name": string, "plugin": string,
                "properties": string_map,
                "grants": schema_ref("Grants"),
                "generation": { "type": "integer" },
                "status": { "enum": ["pending", "ready", "failed"] },
                "errors": { "type": "array", "items": {
                    "type": "object", "properties": { "worker": string, "error": string } } },
                "workers": { "type": "array", "items": schema_ref("WorkerCatalogStatus") },
                "created_at": time, "updated_at": time,
            },
        },
        "CatalogList": {
            "type": "object", "required": ["catalogs"],
            "properties": { "catalogs": { "type": "array", "items": schema_ref("Catalog") } },
        },
        "Worker": {
            "type": "object",
            "required": ["id", "address", "started_at", "last_heartbeat", "state"],
            "properties": {
                "id": string, "address": string, "started_at": time, "last_heartbeat": time,
                "state": { "enum": ["alive", "dead", "stopped"] }, "public_key": string,
            },
        },
        "RegisterWorker": {
            "type": "object",
            "required": ["id", "address", "started_at", "public_key", "signature"],
            "properties": { "id": string, "address": string, "started_at": time,
                            "public_key": string, "signature": string },
        },
        "ArtifactKey": {
            "type": "object", "required": ["public_key"],
            "properties": { "public_key": string },
        },
        "WorkerGoodbye": {
            "type": "object", "required": ["signed_at", "signature"],
            "properties": { "signed_at": time, "signature": string },
        },
        "WorkerList": {
            "type": "object", "required": ["workers"],
            "properties": { "workers": { "type": "array", "items": schema_ref("Worker") } },
        },
        "Health": {
            "type": "object", "required": ["status"],
            "properties": { "status": string, "database": string },
        },
        "OpenApi": { "type": "object" },
        "QueryList": query_list_schema(),
    })
}

/// `GET /v1/queries` (apart: one `json!` of every schema would pass the macro recursion limit).
fn query_list_schema() -> Value {
    let string = json!({ "type": "string" });
    json!({
        "type": "object", "required": ["queries"],
        "properties": { "queries": { "type": "array", "items": {
            "type": "object",
            "required": ["id", "user", "statement", "state", "started_at", "elapsed_ms",
                         "rows", "stages"],
            "properties": {
                "id": { "type": "integer", "description": "numbered from 1 since the coordinator started" },
                "user": string,
                "statement": { "type": "string", "description": "its first line, cut to 120 characters, catalog properties redacted" },
                "state": { "enum": ["running", "succeeded", "failed", "cancelled"] },
                "started_at": { "type": "string", "format": "date-time" },
                "elapsed_ms": { "type": "integer" },
                "rows": { "type": "integer", "description": "rows returned to the client" },
                "error": string,
                "stages": { "type": "array", "items": {
                    "type": "object",
                    "properties": {
                        "stage": { "type": "integer" },
                        "tasks": { "type": "integer" },
                        "to": { "type": "string", "description": "\"coordinator\" or \"stage N\": who read its output" },
                        "workers": { "type": "array", "items": string,
                            "description": "the execution service each task ran on" },
                        "rows": { "type": "integer", "description": "rows it sent on, over all its tasks" },
                        "bytes": { "type": "integer", "description": "bytes of Arrow Flight messages its consumer received" },
                    } } },
                "stages_unknown": { "type": "string", "description": "why the stages have no figures (the workers' metrics did not arrive)" },
            } } } },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_with_its_parameters_and_statuses() {
        let doc = openapi();
        for spec in ROUTES {
            let op = &doc["paths"][spec.path][spec.method.as_str().to_ascii_lowercase()];
            assert!(
                op.is_object(),
                "{} {} missing",
                spec.method.as_str(),
                spec.path
            );
            for name in path_parameters(spec.path) {
                let params = op["parameters"].as_array().cloned().unwrap_or_default();
                assert!(
                    params.iter().any(|p| p["name"] == name),
                    "{}: {name}",
                    spec.path
                );
            }
            for (status, _) in spec.statuses {
                assert!(op["responses"][status.to_string()].is_object());
            }
        }
    }

    #[test]
    fn every_schema_reference_resolves() {
        let doc = openapi();
        let text = doc.to_string();
        for part in text.split("#/components/schemas/").skip(1) {
            let name: String = part.chars().take_while(|c| c.is_alphanumeric()).collect();
            assert!(doc["components"]["schemas"][&name].is_object(), "{name}");
        }
    }
}
