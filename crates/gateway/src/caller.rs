//! Who is calling: the credential and workspace of one request, read once from its headers (HTTP
//! headers for GraphQL, metadata for gRPC) and used by every upstream call it causes.
//!
//! Headers (Blaxel's own names, DESIGN.md "Tenancy and security"): `Authorization: Bearer <token>`
//! or `X-Blaxel-Authorization: Bearer <token>` (a bare token is accepted too), and
//! `X-Blaxel-Workspace`. A header that is present but malformed (not visible ASCII, an empty
//! token, a scheme other than Bearer) is an error: it never falls through to another header or to
//! the configured credential, so a caller is never served as someone else.

use blaxel_transport::{Credentials, Token, X_BLAXEL_AUTHORIZATION, X_BLAXEL_WORKSPACE};
use http::{HeaderMap, HeaderName, header::AUTHORIZATION};

/// Longest workspace name accepted from a header, bytes (Blaxel names are DNS labels, at most 63).
pub const MAX_WORKSPACE_BYTES: usize = 128;

/// The caller of one request.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// Token and workspace forwarded upstream; `None` parts fall back to the configured ones in
    /// the transport.
    pub credentials: Credentials,
    /// The workspace cursors and global ids are bound to: the caller's `X-Blaxel-Workspace`, else
    /// the configured workspace, else empty.
    pub workspace: String,
}

/// Why the credential headers were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallerError {
    /// `Authorization` or `X-Blaxel-Authorization` is present but unusable.
    #[error("the `{header}` header is malformed: {reason}")]
    Authorization {
        /// The header's name.
        header: &'static str,
        /// What is wrong, never the value.
        reason: &'static str,
    },
    /// `X-Blaxel-Workspace` is present but not a workspace name.
    #[error("the `x-blaxel-workspace` header is malformed: {0}")]
    Workspace(&'static str),
}

impl Caller {
    /// Reads the caller from `headers`; `default_workspace` is the configured one.
    ///
    /// # Errors
    /// [`CallerError`] when a credential header is present but malformed.
    pub fn from_headers(
        headers: &HeaderMap,
        default_workspace: Option<&str>,
    ) -> Result<Caller, CallerError> {
        let token = match bearer(headers, &AUTHORIZATION)? {
            Some(token) => Some(token),
            None => bearer(headers, &X_BLAXEL_AUTHORIZATION)?,
        };
        let workspace = match headers.get(X_BLAXEL_WORKSPACE) {
            None => None,
            Some(value) => {
                let value = value
                    .to_str()
                    .map_err(|_| CallerError::Workspace("not visible ASCII"))?
                    .trim();
                if value.is_empty() {
                    return Err(CallerError::Workspace("empty"));
                }
                if value.len() > MAX_WORKSPACE_BYTES {
                    return Err(CallerError::Workspace("longer than 128 bytes"));
                }
                Some(value.to_owned())
            }
        };
        Ok(Caller {
            workspace: workspace
                .clone()
                .or_else(|| default_workspace.map(str::to_owned))
                .unwrap_or_default(),
            credentials: Credentials { token, workspace },
        })
    }
}

/// The token of header `name`: `Bearer <token>` (scheme case-insensitive) or a bare token.
fn bearer(headers: &HeaderMap, name: &HeaderName) -> Result<Option<Token>, CallerError> {
    let Some(value) = headers.get(name) else {
        return Ok(None);
    };
    let header = if *name == AUTHORIZATION {
        "authorization"
    } else {
        "x-blaxel-authorization"
    };
    let malformed = |reason| CallerError::Authorization { header, reason };
    let value = value
        .to_str()
        .map_err(|_| malformed("not visible ASCII"))?
        .trim();
    let (first, rest) = value.split_once(' ').unwrap_or((value, ""));
    let token = if first.eq_ignore_ascii_case("bearer") {
        rest.trim()
    } else if rest.is_empty() {
        first
    } else {
        return Err(malformed("only the Bearer scheme is supported"));
    };
    if token.is_empty() {
        return Err(malformed("the token is empty"));
    }
    Ok(Some(Token::new(token)))
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn reads_either_header_and_the_workspace() {
        let caller = Caller::from_headers(
            &headers(&[
                ("authorization", b"bearer  t1 "),
                ("x-blaxel-workspace", b"ws"),
            ]),
            Some("default"),
        )
        .unwrap();
        assert_eq!(caller.credentials.token.unwrap().expose(), "t1");
        assert_eq!(caller.workspace, "ws");
        let caller = Caller::from_headers(
            &headers(&[("x-blaxel-authorization", b"t2")]),
            Some("default"),
        )
        .unwrap();
        assert_eq!(caller.credentials.token.unwrap().expose(), "t2");
        assert_eq!(caller.credentials.workspace, None);
        assert_eq!(caller.workspace, "default");
        let none = Caller::from_headers(&HeaderMap::new(), None).unwrap();
        assert!(none.credentials.token.is_none());
        assert_eq!(none.workspace, "");
    }

    #[test]
    fn malformed_headers_are_errors_not_a_fallback() {
        for pairs in [
            &[
                ("authorization", &b"Bearer \xff"[..]),
                ("x-blaxel-authorization", b"ok"),
            ][..],
            &[("authorization", b"Basic dXNlcjpwdw==")],
            &[("authorization", b"Bearer ")],
            &[("x-blaxel-authorization", b"  ")],
            &[("x-blaxel-workspace", b"caf\xc3\xa9")],
            &[("x-blaxel-workspace", b" ")],
        ] {
            let err = Caller::from_headers(&headers(pairs), Some("default")).unwrap_err();
            assert!(!err.to_string().contains("dXNlcjpwdw"), "{err}");
        }
        let long = vec![b'a'; MAX_WORKSPACE_BYTES + 1];
        assert!(Caller::from_headers(&headers(&[("x-blaxel-workspace", &long)]), None).is_err());
    }
}
