//! The listing engine: keyset pages over sorted indexes, cursors bound to a query, and the
//! `meta` envelope.

use axum::http::StatusCode;
use blaxel_models::{Page, PaginationMeta, PaginationSort};
use serde::Serialize;

use super::{
    ApiError,
    error::{ApiResult, json},
    request::{Params, parse_limit, parse_q, parse_sort},
};
use crate::{
    Emulator,
    cursor::{CursorError, Position, fingerprint},
};

/// The checked arguments of one cursor listing and where it resumes: its fingerprint (what
/// the cursor is bound to) and the decoded position of `cursor`.
pub(crate) struct Listing {
    /// `limit`, after the listing's rules.
    pub limit: usize,
    /// `sort` (default `createdAt:desc`).
    pub sort: PaginationSort,
    /// `q`, normalised (`None`: no filter).
    pub q: Option<String>,
    fp: String,
    after: Option<Position>,
}

/// `limit` rules of a listing: default, maximum, and whether above the maximum is clamped
/// (else 400).
#[derive(Debug, Clone, Copy)]
pub(crate) struct LimitRule {
    pub default: usize,
    pub max: usize,
    pub clamp: bool,
}

/// The shared `PaginationLimit` of jobs and tasks: default 50, "clamped to 200".
pub(crate) const SHARED_LIMIT: LimitRule = LimitRule {
    default: 50,
    max: 200,
    clamp: true,
};

/// What one page is made of: `len` index positions with their sort `key`, the ones to `keep`,
/// how to render one (`item`, about `item_bytes` of JSON, or the error that fails the page), and
/// the `total` to report.
pub(crate) struct PageSource<K, F, I> {
    pub len: usize,
    pub key: K,
    pub keep: F,
    pub item: I,
    pub total: Total,
    pub item_bytes: usize,
}

impl Listing {
    /// Parses `limit`, `sort` and `q`, in that order (the first bad one is reported); the
    /// listing is not bound yet ([`Listing::bind`]).
    ///
    /// # Errors
    /// 400 for a bad parameter.
    pub(crate) fn parse(params: &Params, rule: LimitRule) -> Result<Self, ApiError> {
        Ok(Self {
            limit: parse_limit(params, rule.default, rule.max, rule.clamp)?,
            sort: parse_sort(params)?,
            q: parse_q(params)?,
            fp: String::new(),
            after: None,
        })
    }

    /// Binds the listing to its query: the cursor fingerprint is `scope` (the listing's kind,
    /// workspace, job, ...), the sort, `q`, then `extra` (other filters); a `cursor` parameter
    /// is decoded against it.
    ///
    /// # Errors
    /// 400 `invalid_cursor` or `cursor_expired`.
    pub(crate) fn bind(
        mut self,
        emu: &Emulator,
        params: &Params,
        scope: &[&str],
        extra: &[&str],
    ) -> Result<Self, ApiError> {
        let mut parts = scope.to_vec();
        parts.extend([sort_key(self.sort), self.q.as_deref().unwrap_or("")]);
        parts.extend(extra);
        self.fp = fingerprint(&parts);
        self.after = decode_cursor(emu, params, &self.fp)?;
        Ok(self)
    }

    /// Whether the sort is by `createdAt` (else by name).
    pub(crate) fn by_created(&self) -> bool {
        is_created(self.sort)
    }

    /// Serves one page: scans `src` in sort order from the cursor (or, with `tail`, the last
    /// page), then writes `{data, meta}` with the next cursor when more follow.
    ///
    /// # Errors
    /// The first error of `src.item`.
    pub(crate) fn page<'k, K, F, I, T>(
        &self,
        emu: &Emulator,
        tail: bool,
        src: PageSource<K, F, I>,
    ) -> ApiResult
    where
        K: Fn(usize) -> (i64, &'k str) + Copy,
        F: Fn(usize) -> bool,
        I: Fn(usize) -> Result<T, ApiError>,
        T: Serialize,
    {
        let (positions, more) = scan(
            src.len,
            src.key,
            is_desc(self.sort),
            self.after.as_ref(),
            self.limit,
            tail,
            src.keep,
        );
        let next = next_cursor(emu, &self.fp, &positions, more, src.key);
        let items = positions
            .iter()
            .map(|i| (src.item)(*i))
            .collect::<Result<Vec<T>, _>>()?;
        let page = Page {
            meta: meta(more, next, src.total),
            items,
        };
        Ok(json(
            StatusCode::OK,
            &page,
            src.item_bytes * positions.len() + 256,
        ))
    }
}

/// Case-insensitive substring test; `needle` is already lowercase.
pub(crate) fn contains_ci(hay: &str, needle: &str) -> bool {
    if hay.is_ascii() && needle.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        n.len() <= h.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
    } else {
        hay.to_lowercase().contains(needle)
    }
}

fn cursor_error(e: CursorError) -> ApiError {
    match e {
        CursorError::Invalid => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_cursor",
            "the cursor is malformed or was issued for another query (workspace, job, sort, q or filters)",
        ),
        CursorError::Expired => ApiError::new(
            StatusCode::BAD_REQUEST,
            "cursor_expired",
            "the cursor is older than 24h: restart from the first page",
        ),
    }
}

fn decode_cursor(emu: &Emulator, params: &Params, fp: &str) -> Result<Option<Position>, ApiError> {
    match params.get("cursor").filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(raw) => emu
            .inner()
            .cursors
            .decode(raw, fp, emu.now_secs())
            .map(Some)
            .map_err(cursor_error),
    }
}

fn sort_key(sort: PaginationSort) -> &'static str {
    match sort {
        PaginationSort::CreatedAtDesc => "createdAt:desc",
        PaginationSort::CreatedAtAsc => "createdAt:asc",
        PaginationSort::NameAsc => "name:asc",
        PaginationSort::NameDesc => "name:desc",
    }
}

pub(crate) fn is_created(sort: PaginationSort) -> bool {
    matches!(
        sort,
        PaginationSort::CreatedAtAsc | PaginationSort::CreatedAtDesc
    )
}

fn is_desc(sort: PaginationSort) -> bool {
    matches!(
        sort,
        PaginationSort::CreatedAtDesc | PaginationSort::NameDesc
    )
}

/// First position in `0..len` where `pred` turns false (`pred` must be monotone).
fn partition(len: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, len);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// One page over an index sorted ascending by `key`: resumes strictly after `after` by binary
/// search, then scans in sort order keeping items that pass `keep`. Returns index positions and
/// whether more matching items follow. `tail` returns the last page instead (`anchor=end`).
fn scan<'k>(
    len: usize,
    key: impl Fn(usize) -> (i64, &'k str),
    desc: bool,
    after: Option<&Position>,
    limit: usize,
    tail: bool,
    keep: impl Fn(usize) -> bool,
) -> (Vec<usize>, bool) {
    let mut out = Vec::with_capacity(limit + 1);
    if tail {
        // Walk from the end of the sort order backwards, then restore the order.
        let from_end: Box<dyn Iterator<Item = usize>> = if desc {
            Box::new(0..len)
        } else {
            Box::new((0..len).rev())
        };
        out.extend(from_end.filter(|i| keep(*i)).take(limit));
        out.reverse();
        return (out, false);
    }
    let order: Box<dyn Iterator<Item = usize>> = match (desc, after) {
        (false, None) => Box::new(0..len),
        (true, None) => Box::new((0..len).rev()),
        (false, Some(p)) => {
            let start = partition(len, |i| key(i) <= (p.time, p.name.as_str()));
            Box::new(start..len)
        }
        (true, Some(p)) => {
            let end = partition(len, |i| key(i) < (p.time, p.name.as_str()));
            Box::new((0..end).rev())
        }
    };
    out.extend(order.filter(|i| keep(*i)).take(limit + 1));
    let more = out.len() > limit;
    out.truncate(limit);
    (out, more)
}

/// The cursor of the page's last item when more follow (`more`), bound to `fp`. `key` gives
/// an index position's sort key, as given to [`scan`].
fn next_cursor<'k>(
    emu: &Emulator,
    fp: &str,
    positions: &[usize],
    more: bool,
    key: impl Fn(usize) -> (i64, &'k str),
) -> Option<String> {
    let last = positions.last().filter(|_| more)?;
    let (time, name) = key(*last);
    let position = Position {
        time,
        name: name.to_owned(),
    };
    Some(emu.inner().cursors.encode(fp, position, emu.now_secs()))
}

/// Total of a listing as sent: the exact count, or `limit` and `totalIsPartial: true` when the
/// count exceeds `limit` (a bounded count, as the real API does for very large listings).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Total {
    /// Items counted, never above `limit`.
    pub count: usize,
    /// Whether `count` is a lower bound.
    pub partial: bool,
}

impl Total {
    /// The exact count.
    pub(crate) fn exact(count: usize) -> Self {
        Self {
            count,
            partial: false,
        }
    }

    /// `count` bounded by `limit` (`None`: unbounded).
    pub(crate) fn bounded(count: usize, limit: Option<usize>) -> Self {
        match limit {
            Some(limit) if count > limit => Self {
                count: limit,
                partial: true,
            },
            _ => Self::exact(count),
        }
    }
}

/// The `meta` of a page: `hasMore`, `nextCursor` (`""` on the last page), `total`, and
/// `totalIsPartial: true` only when the total is a lower bound (absent otherwise, as before
/// API version 2026-09-22 introduced it).
fn meta(more: bool, next: Option<String>, total: Total) -> Option<PaginationMeta> {
    Some(PaginationMeta {
        has_more: Some(more),
        next_cursor: Some(if more {
            next.unwrap_or_default()
        } else {
            String::new()
        }),
        total: Some(total.count as i64),
        total_is_partial: total.partial.then_some(true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_resumes_after_key() {
        let keys: Vec<(i64, String)> = (0..10).map(|i| (i, format!("k{i}"))).collect();
        let key = |i: usize| (keys[i].0, keys[i].1.as_str());
        let (p, more) = scan(10, key, false, None, 3, false, |_| true);
        assert_eq!((p, more), (vec![0, 1, 2], true));
        let after = Position {
            time: 2,
            name: "k2".into(),
        };
        let (p, _) = scan(10, key, false, Some(&after), 3, false, |_| true);
        assert_eq!(p, vec![3, 4, 5]);
        let (p, more) = scan(10, key, true, Some(&after), 3, false, |_| true);
        assert_eq!((p, more), (vec![1, 0], false));
        let (p, more) = scan(10, key, true, None, 3, true, |_| true);
        assert_eq!((p, more), (vec![2, 1, 0], false));
        let (p, _) = scan(10, key, false, None, 3, true, |_| true);
        assert_eq!(p, vec![7, 8, 9]);
    }
}
