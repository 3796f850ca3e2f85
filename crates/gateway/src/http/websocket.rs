//! GraphQL over WebSocket at `GET /graphql`: subprotocol `graphql-transport-ws` (the
//! `graphql-ws` library) or the legacy `graphql-ws` (Apollo's subscriptions-transport-ws),
//! served by async-graphql's protocol state machine.
//!
//! The caller: the upgrade request's headers (`Authorization`, `X-Blaxel-Authorization`,
//! `X-Blaxel-Workspace`), unless the `connection_init` payload names credentials (browsers
//! cannot set headers on a WebSocket), as top-level keys or under `headers`, e.g.
//! `{"Authorization": "Bearer TOKEN", "X-Blaxel-Workspace": "my-workspace"}`; malformed ones
//! refuse the connection. Every operation gets its own DataLoaders ([`LiveExecutor`]); the
//! connection holds at most `--subscription-max-per-connection` subscriptions.
//!
//! A browser page of another origin (an `Origin` header whose host is not the `Host`) must bring
//! its own token in `connection_init`: WebSockets escape CORS, and the configured `--token`
//! would otherwise let any page act with it (cross-site WebSocket hijacking).
//!
//! Keep-alives: every `--subscription-keepalive-ms` the server sends `{"type":"ping"}`
//! (graphql-transport-ws; clients answer `pong`) or `{"type":"ka"}` (graphql-ws). On a drain
//! the subscriptions end with a `STREAM_CLOSED` error and `complete`, then the server closes
//! the socket with 1001 (going away).

use std::{str::FromStr as _, time::Duration};

use async_graphql::{
    Data,
    http::{ALL_WEBSOCKET_PROTOCOLS, WebSocketProtocols, WsMessage},
};
use axum::{
    extract::{
        FromRequestParts as _, Request, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket},
    },
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse as _, Response},
};
use futures::{FutureExt as _, SinkExt as _, StreamExt as _, future};

use super::{AppState, error_response, live::LiveExecutor};
use crate::{caller::Caller, error::Error};

/// How long a draining connection waits for its last messages before it closes.
const DRAIN_GRACE: Duration = Duration::from_millis(100);

/// Upgrades `req` to a GraphQL WebSocket.
pub async fn upgrade(state: AppState, req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let protocol = parts
        .headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|list| {
            list.split(',')
                .find_map(|p| WebSocketProtocols::from_str(p.trim()).ok())
        });
    let Some(protocol) = protocol else {
        return error_response(
            StatusCode::BAD_REQUEST,
            Error::bad_input(
                "`Sec-WebSocket-Protocol` must name `graphql-transport-ws` or `graphql-ws`",
            ),
        );
    };
    let default_workspace = state.client().config().workspace.clone();
    let caller = match Caller::from_headers(&parts.headers, default_workspace.as_deref()) {
        Ok(caller) => caller,
        Err(e) => return error_response(StatusCode::BAD_REQUEST, e.into()),
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let connection = Connection {
        default_workspace,
        cross_origin: cross_origin(&parts.headers),
        keepalive: state.limits().watch.keepalive,
        watcher: state.watcher().clone(),
    };
    let executor = LiveExecutor::new(state, caller);
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| serve(socket, executor, protocol, connection))
}

/// True when a browser opened the socket from a page of another origin: the `Origin` header's
/// host and port differ from the `Host` header.
fn cross_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    !origin_host.eq_ignore_ascii_case(host)
}

/// What one connection knows besides its executor.
struct Connection {
    default_workspace: Option<String>,
    cross_origin: bool,
    keepalive: Duration,
    watcher: crate::watch::Watcher,
}

/// The caller named by a `connection_init` payload, if it names credentials.
fn init_caller(
    payload: &serde_json::Value,
    default_workspace: Option<&str>,
) -> Result<Option<Caller>, Error> {
    let mut headers = HeaderMap::new();
    let nested = payload.get("headers").into_iter();
    for object in std::iter::once(payload).chain(nested) {
        let Some(object) = object.as_object() else {
            continue;
        };
        for (name, value) in object {
            let name = name.to_ascii_lowercase();
            let known = [
                "authorization",
                "x-blaxel-authorization",
                "x-blaxel-workspace",
            ];
            let (Some(value), true) = (value.as_str(), known.contains(&name.as_str())) else {
                continue;
            };
            let value = HeaderValue::from_str(value).map_err(|_| {
                Error::bad_input(format!(
                    "`{name}` in the connection_init payload is not a valid header value"
                ))
            })?;
            if let Ok(name) = HeaderName::from_bytes(name.as_bytes()) {
                headers.insert(name, value);
            }
        }
    }
    if headers.is_empty() {
        return Ok(None);
    }
    Caller::from_headers(&headers, default_workspace)
        .map(Some)
        .map_err(Error::from)
}

/// Runs one connection until either side closes it or the gateway drains.
async fn serve(
    socket: WebSocket,
    executor: LiveExecutor,
    protocol: WebSocketProtocols,
    connection: Connection,
) {
    let Connection {
        default_workspace,
        cross_origin,
        keepalive,
        watcher,
    } = connection;
    let (mut sink, stream) = socket.split();
    let input = stream
        .take_while(|message| future::ready(message.is_ok()))
        .filter_map(|message| {
            future::ready(match message {
                Ok(message @ (Message::Text(_) | Message::Binary(_))) => Some(message.into_data()),
                _ => None,
            })
        });
    let init = executor.clone();
    let mut messages = async_graphql::http::WebSocket::new(executor, input, protocol)
        .on_connection_init(move |payload| async move {
            match init_caller(&payload, default_workspace.as_deref()) {
                Ok(Some(caller)) => init.set_caller(caller),
                Ok(None) => {}
                Err(e) => return Err(async_graphql::Error::new(e.message)),
            }
            if cross_origin && init.caller().credentials.token.is_none() {
                return Err(async_graphql::Error::new(
                    "a WebSocket opened from another origin must send its own credentials in connection_init (`Authorization: Bearer <token>`)",
                ));
            }
            Ok(Data::default())
        });
    let keepalive_message = match protocol {
        WebSocketProtocols::GraphQLWS => r#"{"type":"ping"}"#,
        WebSocketProtocols::SubscriptionsTransportWS => r#"{"type":"ka"}"#,
    };
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + keepalive, keepalive);
    let mut drain = watcher.drain_signal();
    let mut draining = false;
    loop {
        let out = tokio::select! {
            message = messages.next() => match message {
                Some(WsMessage::Text(text)) => Message::Text(text.into()),
                Some(WsMessage::Close(code, reason)) => {
                    let _ = sink.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
                    return;
                }
                None => return,
            },
            _ = ticker.tick() => Message::Text(keepalive_message.into()),
            () = drain.wait_for(|d| *d).map(|_| ()), if !draining => {
                draining = true;
                continue;
            }
            () = tokio::time::sleep(DRAIN_GRACE), if draining => {
                let frame = CloseFrame { code: 1001, reason: "the gateway is shutting down".into() };
                let _ = sink.send(Message::Close(Some(frame))).await;
                return;
            }
        };
        if sink.send(out).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn init_payload_names_the_caller_or_defers_to_the_headers() {
        let caller = init_caller(
            &json!({"Authorization": "Bearer t1", "X-Blaxel-Workspace": "ws"}),
            Some("default"),
        )
        .unwrap()
        .unwrap();
        assert_eq!(caller.credentials.token.unwrap().expose(), "t1");
        assert_eq!(caller.workspace, "ws");
        let nested = init_caller(&json!({"headers": {"authorization": "t2"}}), None)
            .unwrap()
            .unwrap();
        assert_eq!(nested.credentials.token.unwrap().expose(), "t2");
        assert!(init_caller(&json!({}), None).unwrap().is_none());
        assert!(init_caller(&json!(null), None).unwrap().is_none());
        assert!(init_caller(&json!({"authorization": "Basic x y"}), None).is_err());
    }

    #[test]
    fn cross_origin_compares_the_origin_with_the_host() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut map = HeaderMap::new();
            for (k, v) in pairs {
                map.insert(*k, HeaderValue::from_static(v));
            }
            map
        };
        assert!(!cross_origin(&headers(&[("host", "gw:8080")])));
        assert!(!cross_origin(&headers(&[
            ("host", "gw:8080"),
            ("origin", "http://gw:8080")
        ])));
        assert!(cross_origin(&headers(&[
            ("host", "gw:8080"),
            ("origin", "https://evil.example")
        ])));
        assert!(cross_origin(&headers(&[("origin", "http://gw:8080")])));
    }
}
