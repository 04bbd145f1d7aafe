//! The coordinator's HTTP API: one route table ([`ROUTES`]) from which both the router and the
//! OpenAPI document are built, so they cannot drift apart.
//!
//! Each row names the method, the path, who may call it ([`Access`]) and what it answers; the
//! handler for a row is chosen by an exhaustive `match` on its [`RouteId`], so a route without a
//! handler, or a handler without a route, does not compile. Handlers live in one file per
//! resource: `plugins.rs`, `catalogs.rs`, `statements.rs`, `workers.rs`, `health.rs`,
//! `openapi.rs`.

pub mod catalogs;
pub mod health;
pub mod openapi;
pub mod plugins;
pub mod statements;
pub mod workers;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::Uri;
use axum::middleware::from_fn_with_state;
use axum::routing::{MethodFilter, MethodRouter, on};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::{Level, Span};

use crate::api_error::ApiError;
use crate::coordinator::auth::{Access, require_admin, require_cluster, require_sql_user};
use crate::coordinator::metrics::count_requests;
use crate::coordinator::state::AppState;

/// An HTTP method the API uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpMethod {
    Get,
    Post,
    Put,
    Delete,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Delete => "DELETE",
        }
    }

    fn filter(self) -> MethodFilter {
        match self {
            HttpMethod::Get => MethodFilter::GET,
            HttpMethod::Post => MethodFilter::POST,
            HttpMethod::Put => MethodFilter::PUT,
            HttpMethod::Delete => MethodFilter::DELETE,
        }
    }
}

/// Which handler serves a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteId {
    UploadPlugin,
    ListPlugins,
    ListPluginVersions,
    GetPlugin,
    DeletePlugin,
    PluginComponent,
    PluginArtifact,
    ArtifactKey,
    CreateCatalog,
    ListCatalogs,
    GetCatalog,
    AlterCatalog,
    DeleteCatalog,
    ListWorkers,
    RunStatement,
    RecentScans,
    RecentQueries,
    RegisterWorker,
    WorkerHeartbeat,
    WorkerGoodbye,
    Healthz,
    Readyz,
    Metrics,
    OpenApi,
}

/// What a request body is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestBody {
    None,
    /// JSON, with the name of its schema in the OpenAPI document.
    Json(&'static str),
    /// Raw component bytes (`application/wasm`).
    Wasm,
}

/// What a success response body is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseBody {
    None,
    Json(&'static str),
    Wasm,
    /// Opaque bytes (`application/octet-stream`).
    Binary,
    Text,
}

/// One row of the route table.
#[derive(Clone, Copy, Debug)]
pub struct RouteSpec {
    pub id: RouteId,
    pub method: HttpMethod,
    /// The axum path template (`/v1/catalogs/{name}`), also the OpenAPI path.
    pub path: &'static str,
    pub access: Access,
    pub summary: &'static str,
    pub request: RequestBody,
    pub response: ResponseBody,
    /// Every status code the route answers with, and when.
    pub statuses: &'static [(u16, &'static str)],
}

const AUTH_ERRORS: [(u16, &str); 2] = [(401, "no bearer token"), (403, "wrong bearer token")];

/// Every route of the coordinator's API.
pub const ROUTES: &[RouteSpec] = &[
    RouteSpec {
        id: RouteId::UploadPlugin,
        method: HttpMethod::Post,
        path: "/v1/plugins",
        access: Access::Admin,
        summary: "Upload a connector component; validated in the sandbox before it is stored",
        request: RequestBody::Wasm,
        response: ResponseBody::Json("Plugin"),
        statuses: &[
            (201, "uploaded"),
            (
                200,
                "the same name@version with the same bytes was already uploaded",
            ),
            (
                400,
                "not a component, a core module, or an unsupported contract version",
            ),
            AUTH_ERRORS[0],
            AUTH_ERRORS[1],
            (409, "name@version exists with other bytes"),
            (413, "larger than the configured maximum"),
            (415, "Content-Type is not application/wasm"),
        ],
    },
    RouteSpec {
        id: RouteId::ListPlugins,
        method: HttpMethod::Get,
        path: "/v1/plugins",
        access: Access::Admin,
        summary: "List every plugin",
        request: RequestBody::None,
        response: ResponseBody::Json("PluginList"),
        statuses: &[(200, "the plugins"), AUTH_ERRORS[0], AUTH_ERRORS[1]],
    },
    RouteSpec {
        id: RouteId::ListPluginVersions,
        method: HttpMethod::Get,
        path: "/v1/plugins/{name}",
        access: Access::Admin,
        summary: "List the versions of one plugin",
        request: RequestBody::None,
        response: ResponseBody::Json("PluginList"),
        statuses: &[
            (200, "the versions"),
            AUTH_ERRORS[0],
            AUTH_ERRORS[1],
            (404, "no plugin with this name"),
        ],
    },
    RouteSpec {
        id: RouteId::GetPlugin,
        method: HttpMethod::Get,
        path: "/v1/plugins/{name}/{version}",
        access: Access::Admin,
        summary: "Get one plugin version",
        request: RequestBody::None,
        response: ResponseBody::Json("Plugin"),
        statuses: &[
            (200, "the plugin"),
            AUTH_ERRORS[0],
            AUTH_ERRORS[1],
            (404, "no such plugin"),
        ],
    },
    RouteSpec {
        id: RouteId::DeletePlugin,
        method: HttpMethod::Delete,
        path: "/v1/plugins/{name}/{version}",
        access: Access::Admin,
        summary: "Delete one plugin version",
        request: RequestBody::None,
        response: ResponseBody::None,
        statuses: &[
            (204, "deleted"),
            AUTH_ERRORS[0],
            AUTH_ERRORS[1],
            (404, "no such plugin"),
            (409, "catalogs use it (they are listed)"),
        ],
    },
    RouteSpec {
        id: RouteId::PluginComponent,
        method: HttpMethod::Get,
        path: "/v1/plugins/by-sha256/{sha256}/component",
        access: Access::Cluster,
        summary: "The component bytes with this sha256 (for workers)",
        request: RequestBody::None,
        response: ResponseBody::Wasm,
        statuses: &[
            (200, "the bytes"),
            AUTH_ERRORS[0],
            AUTH_ERRORS[1],
            (404, "no component with this sha256"),
        ],
    },
    RouteSpec {
        id: RouteId::PluginArtifact,
        method: HttpMethod::Get,
        path: "/v1/plugins/by-sha256/{sha256}/artifact",
        access: Access::Cluster,
        summary: "The precompiled artifact of a component as a bundle signed with the \
                  coordinator's Ed25519 key, for a worker whose engine compatibility hash is \
                  `?compat=`; the worker then compiles nothing",
        request: RequestBody::None,
        response: ResponseBody::Binary,
        statuses: &[
            (200, "the signed artifact"),
            AUTH_ERRORS[0],
            AUTH_ERRORS[1],
            (
                404,
                "no component with this sha256, or no artifact for that compatibility hash",
            ),
        ],
    },
    RouteSpec {
        id: RouteId::ArtifactKey,
        method: HttpMethod::Get,
        path: "/v1/plugins/artifact-key",
        access: Access::Cluster,
        summary: "The Ed25519 public key the coordinator signs artifact bundles with: the one \
                  key whose machine code a worker installs",
        request: RequestBody::None,
        response: ResponseBody::Json("ArtifactKey"),
        statuses: &[(200, "the key"), AUTH_ERRORS[0], AUTH_ERRORS[1]],
    },
    RouteSpec {
        id: RouteId::CreateCatalog,
        method: HttpMethod::Post,
        path: "/v1/catalogs",
        access: Access::Admin,
        summary: "Create a catalog; validated (config fields, then the plugin's own validate) \
                  before it is stored",
        request: RequestBody::Json("CatalogCreate"),
        response: ResponseBody::Json("Catalog"),
        statuses: &[
            (201, "created at generation 1, status pending"),
            (
                400,
                "malformed body, invalid name, unknown plugin, or invalid properties/grants \
                 (every problem is listed)",
            ),
            AUTH_ERRORS[0],
            AUTH_ERRORS[1],
            (409, "a catalog with this name exists"),
            (
                422,
                "the plugin failed while validating (trap, limit, error)",
            ),
        ],
    },
    RouteSpec {
        id: RouteId::ListCatalogs,
        method: HttpMethod::Get,
        path: "/v1/catalogs",
        access: Access::Admin,
        summary: "List every catalog with its status",
        request: RequestBody::None,
        response: ResponseBody::Json("CatalogList"),
        statuses: &[(200, "the catalogs"), AUTH_ERRORS[0], AUTH_ERRORS[1]],
    },
    RouteSpec {
        id: RouteId::GetCatalog,
        method: HttpMethod::Get,
        path: "/v1/catalogs/{name}",
        access: Access::Admin,
        summary: "Get one catalog with its status and per-worker detail",
        request: RequestBody::None,
        response: ResponseBody::Json("Catalog"),
        statuses: &[
            (200, "the catalog"),
            AUTH_ERRORS[0],
            AUTH_ERRORS[1],
            (404, "no such catalog"),
        ],
    },
    RouteSpec {
        id: RouteId::AlterCatalog,
        method: HttpMethod::Put,
        path: "/v1/catalogs/{name}",
        access: Access::Admin,
        summary: "Replace a catalog's definition (validated like a create); new generation",
        request: RequestBody::Json("CatalogAlter"),
        response: ResponseBody::Json("Catalog"),
        statuses: &[
            (200, "altered; generation + 1"),
            (400, "as for a create"),
            AUTH_ERRORS[0],
            AUTH_ERRORS[1],
            (404, "no such catalog"),
            (409, "expected_generation is not the current generation"),
            (422, "the plugin failed while validating"),
        ],
    },
    RouteSpec {
        id: RouteId::DeleteCatalog,
        method: HttpMethod::Delete,
        path: "/v1/catalogs/{name}",
        access: Access::Admin,
        summary: "Delete a catalog",
        request: RequestBody::None,
        response: ResponseBody::None,
        statuses: &[
            (204, "deleted"),
            AUTH_ERRORS[0],
            AUTH_ERRORS[1],
            (404, "no such catalog"),
        ],
    },
    RouteSpec {
        id: RouteId::ListWorkers,
        method: HttpMethod::Get,
        path: "/v1/workers",
        access: Access::Admin,
        summary: "List the workers the coordinator knows, with their state",
        request: RequestBody::None,
        response: ResponseBody::Json("WorkerList"),
        statuses: &[(200, "the workers"), AUTH_ERRORS[0], AUTH_ERRORS[1]],
    },
    RouteSpec {
        id: RouteId::RunStatement,
        method: HttpMethod::Post,
        path: "/v1/statement",
        access: Access::Sql,
        summary: "Run one SQL statement: a query, SHOW, or CREATE/ALTER/DROP CATALOG. JSON \
                  columns and rows; an Arrow IPC stream when the request accepts \
                  application/vnd.apache.arrow.stream",
        request: RequestBody::Json("Statement"),
        response: ResponseBody::Json("StatementResult"),
        statuses: &[
            (200, "the result"),
            (
                400,
                "malformed body, a syntax or planning error, or an invalid catalog definition",
            ),
            AUTH_ERRORS[0],
            AUTH_ERRORS[1],
            (
                404,
                "a catalog or schema named by the statement does not exist",
            ),
            (
                409,
                "a catalog change collides (name taken, generation moved)",
            ),
            (
                422,
                "the query failed while running (a connector error, a worker lost mid-split)",
            ),
        ],
    },
    RouteSpec {
        id: RouteId::RecentScans,
        method: HttpMethod::Get,
        path: "/v1/scans",
        access: Access::Admin,
        summary: "The most recent table scans and what each asked its connector for \
                  (projection, filters and how they were pushed down, limit, splits)",
        request: RequestBody::None,
        response: ResponseBody::Json("ScanList"),
        statuses: &[
            (200, "the scans, oldest first"),
            AUTH_ERRORS[0],
            AUTH_ERRORS[1],
        ],
    },
    RouteSpec {
        id: RouteId::RecentQueries,
        method: HttpMethod::Get,
        path: "/v1/queries",
        access: Access::Admin,
        summary: "The statements running now and the last ones to finish, from every front \
                  end: user, statement, state, time, rows, error, and for a distributed query \
                  what each stage moved between processes and the workers it ran on",
        request: RequestBody::None,
        response: ResponseBody::Json("QueryList"),
        statuses: &[
            (200, "the statements, newest first"),
            AUTH_ERRORS[0],
            AUTH_ERRORS[1],
        ],
    },
    RouteSpec {
        id: RouteId::RegisterWorker,
        method: HttpMethod::Post,
        path: "/v1/workers",
        access: Access::Cluster,
        summary: "A worker announces itself (at start, and whenever the coordinator forgot it); \
                  the sync task then brings it up to date",
        request: RequestBody::Json("RegisterWorker"),
        response: ResponseBody::Json("Worker"),
        statuses: &[
            (200, "registered"),
            (
                400,
                "invalid worker id or address, or a signature that is not the named key's",
            ),
            AUTH_ERRORS[0],
            AUTH_ERRORS[1],
            (409, "the id belongs to a live worker with another key"),
        ],
    },
    RouteSpec {
        id: RouteId::WorkerHeartbeat,
        method: HttpMethod::Post,
        path: "/v1/workers/{id}/heartbeat",
        access: Access::Cluster,
        summary: "A worker is alive; a worker marked dead is alive again",
        request: RequestBody::None,
        response: ResponseBody::None,
        statuses: &[
            (204, "recorded"),
            AUTH_ERRORS[0],
            AUTH_ERRORS[1],
            (404, "unknown worker: register again"),
            (409, "the worker stopped: register again"),
        ],
    },
    RouteSpec {
        id: RouteId::WorkerGoodbye,
        method: HttpMethod::Post,
        path: "/v1/workers/{id}/goodbye",
        access: Access::Cluster,
        summary: "A worker is shutting down, signed with its key; it leaves readiness and \
                  scheduling at once",
        request: RequestBody::Json("WorkerGoodbye"),
        response: ResponseBody::None,
        statuses: &[
            (204, "recorded"),
            (400, "malformed body"),
            AUTH_ERRORS[0],
            (
                403,
                "wrong cluster secret, or not signed by the worker's key (or too old)",
            ),
            (404, "unknown worker"),
        ],
    },
    RouteSpec {
        id: RouteId::OpenApi,
        method: HttpMethod::Get,
        path: "/v1/openapi.json",
        access: Access::Public,
        summary: "This API as an OpenAPI 3.1 document",
        request: RequestBody::None,
        response: ResponseBody::Json("OpenApi"),
        statuses: &[(200, "the document")],
    },
    RouteSpec {
        id: RouteId::Healthz,
        method: HttpMethod::Get,
        path: "/healthz",
        access: Access::Public,
        summary: "The process is up",
        request: RequestBody::None,
        response: ResponseBody::Json("Health"),
        statuses: &[(200, "up")],
    },
    RouteSpec {
        id: RouteId::Readyz,
        method: HttpMethod::Get,
        path: "/readyz",
        access: Access::Public,
        summary: "The catalog database is reachable",
        request: RequestBody::None,
        response: ResponseBody::Json("Health"),
        statuses: &[(200, "ready"), (503, "the database is not reachable")],
    },
    RouteSpec {
        id: RouteId::Metrics,
        method: HttpMethod::Get,
        path: "/metrics",
        access: Access::Public,
        summary: "Prometheus metrics (text exposition format)",
        request: RequestBody::None,
        response: ResponseBody::Text,
        statuses: &[(200, "the metrics")],
    },
];

/// The handler of a route, for the route's method.
fn handler(spec: &RouteSpec) -> MethodRouter<AppState> {
    let method = spec.method.filter();
    match spec.id {
        RouteId::UploadPlugin => on(method, plugins::upload),
        RouteId::ListPlugins => on(method, plugins::list),
        RouteId::ListPluginVersions => on(method, plugins::list_versions),
        RouteId::GetPlugin => on(method, plugins::get),
        RouteId::DeletePlugin => on(method, plugins::delete),
        RouteId::PluginComponent => on(method, plugins::component),
        RouteId::PluginArtifact => on(method, plugins::artifact),
        RouteId::ArtifactKey => on(method, plugins::artifact_key),
        RouteId::CreateCatalog => on(method, catalogs::create),
        RouteId::ListCatalogs => on(method, catalogs::list),
        RouteId::GetCatalog => on(method, catalogs::get),
        RouteId::AlterCatalog => on(method, catalogs::alter),
        RouteId::DeleteCatalog => on(method, catalogs::delete),
        RouteId::ListWorkers => on(method, workers::list),
        RouteId::RunStatement => on(method, statements::run),
        RouteId::RecentScans => on(method, statements::recent_scans),
        RouteId::RecentQueries => on(method, statements::recent_queries),
        RouteId::RegisterWorker => on(method, workers::register),
        RouteId::WorkerHeartbeat => on(method, workers::heartbeat),
        RouteId::WorkerGoodbye => on(method, workers::goodbye),
        RouteId::Healthz => on(method, health::healthz),
        RouteId::Readyz => on(method, health::readyz),
        RouteId::Metrics => on(method, health::metrics),
        RouteId::OpenApi => on(method, openapi::document),
    }
}

/// The coordinator's router: every row of [`ROUTES`] with its auth, request counting and a
/// tracing span per request (method, route template, status, latency).
pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for spec in ROUTES {
        let mut route = handler(spec);
        route = match spec.access {
            Access::Public => route,
            Access::Admin => route.route_layer(from_fn_with_state(state.clone(), require_admin)),
            Access::Cluster => {
                route.route_layer(from_fn_with_state(state.clone(), require_cluster))
            }
            Access::Sql => route.route_layer(from_fn_with_state(state.clone(), require_sql_user)),
        };
        router = router.route(spec.path, route);
    }
    router
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn_with_state(state.clone(), count_requests))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
}

/// A span per request: the method and the route template, never headers (they carry tokens).
fn request_span(request: &Request) -> Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    tracing::info_span!("http", method = %request.method(), route = %route)
}

async fn route_not_found(uri: Uri) -> ApiError {
    ApiError::RouteNotFound(uri.path().to_owned())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
