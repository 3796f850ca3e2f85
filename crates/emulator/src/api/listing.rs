//! The listing engine: keyset pages over sorted indexes, cursors bound to a query, and the
//! `meta` envelope.

use axum::http::StatusCode;
use blaxel_models::{PaginationMeta, PaginationSort};

use super::{ApiError, request::Params};
use crate::{
    Emulator,
    cursor::{CursorError, Position},
};

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

pub(crate) fn decode_cursor(
    emu: &Emulator,
    params: &Params,
    fp: &str,
) -> Result<Option<Position>, ApiError> {
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

pub(crate) fn sort_key(sort: PaginationSort) -> &'static str {
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

pub(crate) fn is_desc(sort: PaginationSort) -> bool {
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
pub(crate) fn scan<'k>(
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
pub(crate) fn next_cursor<'k>(
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
pub(crate) fn meta(more: bool, next: Option<String>, total: Total) -> Option<PaginationMeta> {
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
