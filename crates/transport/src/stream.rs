//! Walking every execution of a job: cursor following (envelope) or offset stepping (legacy
//! bare arrays), with a guard against an upstream that hands out the same cursor twice.

use std::collections::HashSet;

use blaxel_models::{JobExecution, Page};
use futures::{Stream, StreamExt, TryStreamExt, stream};

use crate::{
    Client, Credentials, Error,
    redact::quote_upstream,
    request::{DEFAULT_EXECUTIONS_LIMIT, ListExecutionsRequest},
};

impl Client {
    /// Every execution of `job` from `req` on, page after page.
    ///
    /// Follows `meta.nextCursor` with the same `limit`, `sort` and `q`; on a legacy answer (bare
    /// array) it follows `offset` instead, in steps of the page size. It stops after a page with
    /// `hasMore: false` or an empty `nextCursor`, after an empty page, and (legacy) after a page
    /// shorter than `limit` (default 20). Each page is one call of
    /// [`Client::list_job_executions`], with its retries.
    ///
    /// The first error ends the stream. A `nextCursor` seen before yields the items of its page,
    /// then [`Error::CursorLoop`], instead of looping forever.
    pub fn job_executions_stream(
        &self,
        creds: Credentials,
        job: String,
        req: ListExecutionsRequest,
    ) -> impl Stream<Item = Result<JobExecution, Error>> + Send + 'static {
        struct State {
            client: Client,
            creds: Credentials,
            job: String,
            next: Option<ListExecutionsRequest>,
            seen: HashSet<String>,
            failed: Option<Error>,
        }

        let seen = req.cursor.iter().cloned().collect();
        let state = State {
            client: self.clone(),
            creds,
            job,
            next: Some(req),
            seen,
            failed: None,
        };
        stream::try_unfold(state, |mut st| async move {
            if let Some(error) = st.failed.take() {
                return Err(error);
            }
            let Some(req) = st.next.take() else {
                return Ok(None);
            };
            let page = st
                .client
                .list_job_executions(&st.creds, &st.job, &req)
                .await?;
            match next_request(req, &page, &mut st.seen) {
                Ok(next) => st.next = next,
                Err(loop_error) => st.failed = Some(loop_error),
            }
            Ok(Some((page.items, st)))
        })
        .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
    }
}

/// The request of the page after `page`, or `None` at the end of the listing.
///
/// Envelope: the `nextCursor` when `hasMore` is true and the cursor is not empty. Bare array
/// (legacy): the offset after this page, unless it was shorter than the limit. An empty page
/// ends either.
///
/// # Errors
/// [`Error::CursorLoop`] for a `nextCursor` already in `seen`.
fn next_request<T>(
    req: ListExecutionsRequest,
    page: &Page<T>,
    seen: &mut HashSet<String>,
) -> Result<Option<ListExecutionsRequest>, Error> {
    if page.items.is_empty() {
        return Ok(None);
    }
    if page.meta.is_some() {
        let Some(cursor) = page.next_cursor() else {
            return Ok(None);
        };
        if !seen.insert(cursor.to_owned()) {
            return Err(Error::CursorLoop {
                cursor: quote_upstream(cursor, None),
            });
        }
        return Ok(Some(ListExecutionsRequest {
            cursor: Some(cursor.to_owned()),
            offset: None,
            ..req
        }));
    }
    let len = page.items.len() as u64;
    if len < u64::from(req.limit.unwrap_or(DEFAULT_EXECUTIONS_LIMIT)) {
        return Ok(None);
    }
    Ok(Some(ListExecutionsRequest {
        offset: Some(req.offset.unwrap_or(0) + len),
        ..req
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(items: usize, meta: Option<(bool, &str)>) -> Page<u32> {
        Page {
            items: (0..items as u32).collect(),
            meta: meta.map(|(has_more, cursor)| blaxel_models::PaginationMeta {
                has_more: Some(has_more),
                next_cursor: Some(cursor.to_owned()),
                total: None,
                total_is_partial: None,
            }),
        }
    }

    #[test]
    fn next_request_follows_cursors_and_offsets() {
        let mut seen = HashSet::new();
        let req = ListExecutionsRequest {
            limit: Some(2),
            offset: Some(4),
            q: Some("ex".into()),
            ..Default::default()
        };
        let next = next_request(req.clone(), &page(2, Some((true, "c1"))), &mut seen)
            .unwrap()
            .unwrap();
        assert_eq!(next.cursor.as_deref(), Some("c1"));
        assert_eq!((next.offset, next.q.as_deref()), (None, Some("ex")));
        let err = next_request(req.clone(), &page(2, Some((true, "c1"))), &mut seen);
        assert!(matches!(err, Err(Error::CursorLoop { cursor }) if cursor == "c1"));
        // hasMore false, an empty cursor, an empty page: the end.
        for end in [
            page(2, Some((false, "c2"))),
            page(2, Some((true, ""))),
            page(0, Some((true, "c3"))),
        ] {
            assert_eq!(next_request(req.clone(), &end, &mut seen).unwrap(), None);
        }
        // Legacy: offsets while pages are full.
        let next = next_request(req.clone(), &page(2, None), &mut seen)
            .unwrap()
            .unwrap();
        assert_eq!(next.offset, Some(6));
        assert_eq!(
            next_request(req.clone(), &page(1, None), &mut seen).unwrap(),
            None
        );
        let default_limit = ListExecutionsRequest::default();
        let next = next_request(default_limit, &page(20, None), &mut seen)
            .unwrap()
            .unwrap();
        assert_eq!(next.offset, Some(20));
    }
}
