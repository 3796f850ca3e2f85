//! The request header names of the Blaxel API, in one place for the transport and its callers
//! (the gateway reads the same names from its clients' requests and forwards them).

use http::HeaderName;

/// `Authorization: Bearer <token>`, the standard credential header (re-exported from `http`).
pub use http::header::AUTHORIZATION;

/// `X-Blaxel-Authorization: Bearer <token>`, the documented alternative to `Authorization`
/// (contract §2.3; the official SDKs send this one).
pub const X_BLAXEL_AUTHORIZATION: HeaderName = HeaderName::from_static("x-blaxel-authorization");

/// `X-Blaxel-Workspace: <workspace name>`, which workspace a multi-workspace credential acts in.
pub const X_BLAXEL_WORKSPACE: HeaderName = HeaderName::from_static("x-blaxel-workspace");

/// `Blaxel-Version: YYYY-MM-DD[.preview]`, the API version (contract §2.4).
pub const BLAXEL_VERSION: HeaderName = HeaderName::from_static("blaxel-version");

/// The headers that may carry the bearer credential, in the order a server should read them:
/// `Authorization`, then `X-Blaxel-Authorization`. The transport itself sends `Authorization`.
pub const CREDENTIAL_HEADERS: [HeaderName; 2] = [AUTHORIZATION, X_BLAXEL_AUTHORIZATION];
