//! The browser-facing side of the HTTP face: its settings (CORS, GraphiQL, introspection,
//! persisted queries, trusted documents), compression, and the cache headers of answers that
//! depend on the caller.

use axum::{
    Router,
    http::{HeaderValue, header},
    response::Response,
};
use tower_http::compression::{CompressionLayer, CompressionLevel};

use super::{
    apq::{ApqLimits, ApqStore},
    cors::{self, AllowedOrigins},
    graphiql::{self, GraphiqlConfig},
    trusted::TrustedDocuments,
};

/// Settings of the browser-facing side; the defaults serve GraphiQL and introspection, without
/// CORS.
#[derive(Debug, Clone)]
pub struct FrontendConfig {
    /// Origins allowed by CORS (`--cors-allow-origin`); None: no CORS headers at all.
    pub cors_allow_origin: Option<AllowedOrigins>,
    /// Serve GraphiQL at `GET /graphql` for browsers (`--graphiql`).
    pub graphiql: bool,
    /// The GraphiQL page's settings.
    pub graphiql_config: GraphiqlConfig,
    /// Answer introspection queries (`--introspection`); off, `__schema` and `__type` fail.
    pub introspection: bool,
    /// Bounds of the Automatic Persisted Queries store.
    pub apq: ApqLimits,
    /// Trusted documents (`--trusted-documents`): when set, only these operations run, and
    /// persisted queries are looked up here instead of being registered.
    pub trusted_documents: Option<TrustedDocuments>,
}

impl Default for FrontendConfig {
    fn default() -> Self {
        Self {
            cors_allow_origin: None,
            graphiql: true,
            graphiql_config: GraphiqlConfig::default(),
            introspection: true,
            apq: ApqLimits::default(),
            trusted_documents: None,
        }
    }
}

/// The browser-facing side at run time: its settings and the persisted-query store.
#[derive(Clone)]
pub struct Frontend {
    /// Settings.
    pub config: FrontendConfig,
    /// Registered persisted queries, shared by every caller (texts only).
    pub apq: ApqStore,
}

impl Frontend {
    /// The run-time side of `config`.
    pub fn new(config: FrontendConfig) -> Self {
        Self {
            apq: ApqStore::new(config.apq),
            config,
        }
    }
}

impl Default for Frontend {
    fn default() -> Self {
        Self::new(FrontendConfig::default())
    }
}

/// Adds the GraphiQL asset routes and wraps `router` in compression and (when configured) CORS.
/// CORS is outermost, so a preflight is answered before any other layer or route runs.
pub fn wrap<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    config: &FrontendConfig,
) -> Router<S> {
    let router = if config.graphiql {
        router.merge(graphiql::routes())
    } else {
        router
    };
    // Brotli at quality 4 (tower-http's default, nginx's too): most of quality 11's gain on JSON
    // at a fraction of the CPU; gzip for the clients without brotli.
    let router = router.layer(CompressionLayer::new().quality(CompressionLevel::Default));
    match &config.cors_allow_origin {
        Some(origins) => router.layer(cors::layer(origins)),
        None => router,
    }
}

/// The request headers a GraphQL answer depends on, for `Vary`: content negotiation,
/// compression, and the caller's credentials and workspace.
pub const VARY: &str =
    "Accept, Accept-Encoding, Authorization, X-Blaxel-Authorization, X-Blaxel-Workspace";

/// Marks a GraphQL answer as private to the caller: it depends on the caller's token, so no
/// shared cache may keep it and no cache may reuse it for other credentials.
pub fn private_answer(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    headers.append(header::VARY, HeaderValue::from_static(VARY));
}
