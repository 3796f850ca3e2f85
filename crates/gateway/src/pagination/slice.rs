//! Relay forward pagination over the upstream's page cursors: the core of the gateway.
//!
//! A Relay client asks for `first` items `after` an edge. The upstream serves pages of at most
//! `max_page` items that start at an opaque `cursor` and report `meta.hasMore` / `nextCursor`.
//! [`fetch_slice`] maps one onto the other:
//!
//! - every edge gets its own [`Position`]: `(cursor of its upstream page, index + 1)`, except the
//!   last edge of an upstream page with more to come, whose position is `(nextCursor, 0)`. So an
//!   end cursor on a page boundary resumes with exactly one upstream request, and `after:` any
//!   middle edge resumes right after it;
//! - resuming at `(cursor, skip)` asks the upstream for `skip + first` items from `cursor`
//!   (upstream cursors are not bound to `limit`), so it is still one request when that fits a page;
//!   a mid-page position also names its edge's item (the anchor), so a resume lands right after
//!   that item even when items were inserted or removed ahead of it since (new executions
//!   arrive at the head of a `createdAt:desc` listing);
//! - `first` beyond one upstream page follows `nextCursor` until served;
//! - on the legacy contract (bare arrays), positions are plain offsets, and one extra item is
//!   requested when it fits so that `hasNextPage` is exact;
//! - each page's edges are made (by the caller's `node`) as soon as the page arrives, before the
//!   next page is asked for, so a caller that renders its items there holds one page at a time
//!   however large `first` is.

use std::{future::Future, sync::Arc};

use blaxel_models::Page;

use super::{
    Contract,
    cursor::{MAX_SKIP, Position},
};

/// Pages a resume reads past its own while looking for its anchor (items that arrived at the
/// head of a `createdAt:desc` listing push it down; 5 pages of 100 follow 400 arrivals or more).
pub const MAX_ANCHOR_PAGES: u32 = 5;

/// One upstream page request, as [`fetch_slice`] asks for it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageRequest {
    /// Upstream cursor; `None` for the first page or on the legacy contract.
    pub cursor: Option<String>,
    /// Upstream `limit`, 1..=max_page.
    pub limit: u32,
    /// Legacy `offset`; `None` on the cursor contract.
    pub offset: Option<u64>,
}

/// One edge of a slice: what the caller made of an item of a fetched upstream page, and where a
/// listing resumes after it.
#[derive(Debug)]
pub struct SliceEdge<N> {
    /// The edge's node, made from the item by the `node` function given to [`fetch_slice`].
    pub node: N,
    /// Position right after this item: the edge's cursor.
    pub after: Position,
}

/// An item left in its upstream page (shared, not copied): the node of callers that read items
/// after the slice is complete, and so hold every page of it until they are done.
#[derive(Debug)]
pub struct InPage<T> {
    /// The upstream page holding the item.
    pub page: Arc<Page<T>>,
    /// Index of the item in `page.items`.
    pub index: usize,
}

impl<T> InPage<T> {
    /// The node function of [`fetch_slice`] that keeps each item in its page.
    pub fn of(page: &Arc<Page<T>>, index: usize) -> Self {
        Self {
            page: Arc::clone(page),
            index,
        }
    }

    /// The item.
    pub fn item(&self) -> &T {
        &self.page.items[self.index]
    }
}

/// A Relay slice: up to `first` edges, and its page info.
#[derive(Debug)]
pub struct Slice<N> {
    /// The edges, in upstream order.
    pub edges: Vec<SliceEdge<N>>,
    /// True when items follow the last edge (upstream `hasMore`, or items left in its page).
    pub has_next_page: bool,
    /// True when the slice does not start at the beginning of the listing.
    pub has_previous_page: bool,
    /// `meta.total` of the first page fetched; `None` on the legacy contract.
    pub total: Option<i64>,
    /// `meta.totalIsPartial` of that page (absent: false): `total` is a lower bound (API version
    /// 2026-09-22); `None` on the legacy contract, which has no `meta`.
    pub total_is_partial: Option<bool>,
    /// Upstream requests the slice cost.
    pub upstream_requests: u32,
    /// Position after the slice (for an empty slice, the start position).
    pub end: Position,
}

/// Error of [`fetch_slice`]: the fetcher's own error, or an upstream that does not advance.
#[derive(Debug)]
pub enum SliceError<E> {
    /// The fetcher failed.
    Fetch(E),
    /// The upstream repeated a cursor or kept answering without advancing.
    NoProgress {
        /// The cursor that was repeated.
        cursor: String,
    },
    /// The item a mid-page cursor follows was not found within [`MAX_ANCHOR_PAGES`] pages of
    /// its position: it was deleted, or more items arrived ahead of it than those pages hold.
    AnchorLost,
}

/// Serves `first` items after `start`, fetching upstream pages of at most `max_page` items with
/// `fetch`. `key` gives an item's id (the anchor of mid-page positions); `node(page, index)`
/// makes the edge of `page.items[index]`, called for the edges of a page before the next page is
/// fetched ([`InPage::of`] keeps the page; a node that copies or renders what it needs lets the
/// page go).
///
/// # Errors
/// [`SliceError::Fetch`] as soon as one fetch fails (no partial slice), [`SliceError::NoProgress`]
/// when the upstream repeats a `nextCursor`.
pub async fn fetch_slice<T, N, E, K, F, Fut>(
    start: Position,
    first: u32,
    max_page: u32,
    key: K,
    mut fetch: F,
    mut node: impl FnMut(&Arc<Page<T>>, usize) -> N,
) -> Result<Slice<N>, SliceError<E>>
where
    K: Fn(&T) -> &str,
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = Result<Arc<Page<T>>, E>>,
{
    let max_page = max_page.clamp(1, u32::from(MAX_SKIP));
    let contract = match start {
        Position::Upstream { .. } => Contract::Cursor,
        Position::Offset(_) => Contract::Legacy,
    };
    let has_previous_page = start != contract.start();
    let mut slice = Slice {
        edges: Vec::with_capacity(first.min(1000) as usize),
        has_next_page: false,
        has_previous_page,
        total: None,
        total_is_partial: None,
        upstream_requests: 0,
        end: start.clone(),
    };
    match start {
        Position::Upstream {
            cursor,
            skip,
            mut anchor,
        } => {
            let mut cursor = cursor;
            let mut skip = u32::from(skip);
            let mut seen = Vec::new();
            // Pages read past the first while looking for the anchor.
            let mut searched = 0;
            loop {
                let need = first - slice.edges.len() as u32;
                let limit = if searched > 0 {
                    max_page
                } else {
                    (skip + need.max(1)).clamp(1, max_page)
                };
                let request = PageRequest {
                    cursor: (!cursor.is_empty()).then(|| cursor.clone()),
                    limit,
                    offset: None,
                };
                let page = fetch(request).await.map_err(SliceError::Fetch)?;
                slice.upstream_requests += 1;
                if slice.total.is_none() {
                    slice.total = page.total();
                    slice.total_is_partial = page.total_is_partial();
                }
                let len = page.items.len();
                let next = page.next_cursor().map(str::to_owned);
                let items = &page.items;
                let at_skip = (skip as usize).min(len);
                // Here with an anchor means it was found (else: continue or error below).
                let anchored = !anchor.is_empty();
                // Land right after the anchor when it moved; else trust `skip`.
                let start_at = if anchor.is_empty() {
                    at_skip
                } else {
                    let found = if at_skip > 0 && key(&items[at_skip - 1]) == anchor {
                        Some(at_skip)
                    } else {
                        items
                            .iter()
                            .position(|item| key(item) == anchor)
                            .map(|j| j + 1)
                    };
                    match found {
                        Some(start_at) => {
                            anchor.clear();
                            start_at
                        }
                        // New items at the head pushed it past this page: look further, a bounded
                        // number of pages; never serve items from a guessed position.
                        None => match &next {
                            Some(n)
                                if searched + 1 < MAX_ANCHOR_PAGES
                                    && len > 0
                                    && !seen.contains(n)
                                    && *n != cursor =>
                            {
                                searched += 1;
                                seen.push(std::mem::replace(&mut cursor, n.clone()));
                                skip = 0;
                                continue;
                            }
                            _ => return Err(SliceError::AnchorLost),
                        },
                    }
                };
                let take = (need as usize).min(len - start_at);
                for (index, item) in items.iter().enumerate().skip(start_at).take(take) {
                    let after = match &next {
                        Some(next) if index + 1 == len => Position::Upstream {
                            cursor: next.clone(),
                            skip: 0,
                            anchor: String::new(),
                        },
                        _ => Position::Upstream {
                            cursor: cursor.clone(),
                            skip: (index + 1) as u8,
                            anchor: key(item).to_owned(),
                        },
                    };
                    slice.end = after.clone();
                    slice.edges.push(SliceEdge {
                        node: node(&page, index),
                        after,
                    });
                }
                let left_in_page = start_at + take < len;
                if slice.edges.len() as u32 == first {
                    slice.has_next_page = left_in_page || next.is_some();
                    return Ok(slice);
                }
                let Some(next) = next else {
                    slice.has_next_page = false;
                    return Ok(slice);
                };
                if len == 0 || seen.contains(&next) || next == cursor {
                    return Err(SliceError::NoProgress { cursor: next });
                }
                seen.push(cursor);
                skip = if anchored {
                    0
                } else {
                    skip.saturating_sub(len as u32)
                };
                cursor = next;
            }
        }
        Position::Offset(mut offset) => loop {
            let need = first - slice.edges.len() as u32;
            // One extra item, when it fits, makes hasNextPage exact.
            let limit = (need + 1).clamp(1, max_page);
            let page = fetch(PageRequest {
                cursor: None,
                limit,
                offset: Some(offset),
            })
            .await
            .map_err(SliceError::Fetch)?;
            slice.upstream_requests += 1;
            let len = page.items.len();
            let take = (need as usize).min(len);
            for index in 0..take {
                let after = Position::Offset(offset + index as u64 + 1);
                slice.end = after.clone();
                slice.edges.push(SliceEdge {
                    node: node(&page, index),
                    after,
                });
            }
            if slice.edges.len() as u32 == first {
                // A full page at the cap may or may not have a successor: say yes, the next
                // request answers empty if not.
                slice.has_next_page = len > take || (len as u32 == limit && take as u32 == limit);
                return Ok(slice);
            }
            if (len as u32) < limit || len == 0 {
                slice.has_next_page = false;
                return Ok(slice);
            }
            offset += len as u64;
        },
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use blaxel_models::PaginationMeta;
    use proptest::prelude::*;

    use super::*;

    /// An in-memory upstream of `n` items (0..n) with cursors "c<offset>", recording requests.
    struct Upstream {
        n: u32,
        /// Items inserted at the head since the start (a live createdAt:desc listing).
        head: Mutex<Vec<u32>>,
        requests: Mutex<Vec<PageRequest>>,
    }

    impl Upstream {
        fn new(n: u32) -> Self {
            Self {
                n,
                head: Mutex::new(Vec::new()),
                requests: Mutex::new(Vec::new()),
            }
        }

        async fn fetch(&self, req: PageRequest, legacy: bool) -> Result<Arc<Page<u32>>, String> {
            self.requests.lock().unwrap().push(req.clone());
            let from = match (&req.cursor, req.offset) {
                (Some(c), _) => c[1..].parse::<u32>().map_err(|e| e.to_string())?,
                (None, Some(o)) => o as u32,
                (None, None) => 0,
            };
            let to = (from + req.limit).min(self.n);
            let mut items: Vec<u32> = (from.min(self.n)..to).collect();
            if req.cursor.is_none() && req.offset.is_none() {
                // The first page shows the items inserted at the head since.
                let head = self.head.lock().unwrap().clone();
                items.splice(0..0, head);
                items.truncate(req.limit as usize);
            }
            // Like the real upstream, the next cursor follows the last item returned.
            let to = items
                .iter()
                .rev()
                .find(|&&i| i < self.n)
                .map_or(from, |&i| i + 1);
            let meta = (!legacy).then(|| PaginationMeta {
                has_more: Some(to < self.n),
                next_cursor: Some(if to < self.n {
                    format!("c{to}")
                } else {
                    String::new()
                }),
                total: Some(i64::from(self.n)),
                total_is_partial: None,
            });
            Ok(Arc::new(Page { items, meta }))
        }

        fn count(&self) -> usize {
            self.requests.lock().unwrap().len()
        }
    }

    fn run<T>(f: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    /// The id of a test item: its number as text.
    fn id(item: &u32) -> &str {
        static IDS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
        &IDS.get_or_init(|| (0..3000).map(|i| i.to_string()).collect())[*item as usize]
    }

    fn slice(up: &Upstream, start: Position, first: u32, legacy: bool) -> Slice<u32> {
        run(fetch_slice(
            start,
            first,
            100,
            id,
            |r| up.fetch(r, legacy),
            item,
        ))
        .unwrap()
    }

    /// The node of a test edge: the item itself (a copy; its page is let go).
    fn item(page: &Arc<Page<u32>>, index: usize) -> u32 {
        page.items[index]
    }

    fn items(s: &Slice<u32>) -> Vec<u32> {
        s.edges.iter().map(|e| e.node).collect()
    }

    fn contract(legacy: bool) -> Contract {
        if legacy {
            Contract::Legacy
        } else {
            Contract::Cursor
        }
    }

    /// Follows end cursors to the end; returns the items and the upstream request count.
    fn walk(n: u32, first: u32, legacy: bool) -> (Vec<u32>, usize) {
        let up = Upstream::new(n);
        let mut pos = contract(legacy).start();
        let mut all = Vec::new();
        loop {
            let s = slice(&up, pos, first, legacy);
            all.extend(items(&s));
            if !s.has_next_page {
                return (all, up.count());
            }
            pos = s.end;
        }
    }

    #[test]
    fn end_cursor_paging_costs_one_request_per_page() {
        let (all, requests) = walk(200, 20, false);
        assert_eq!(all, (0..200).collect::<Vec<_>>());
        assert_eq!(requests, 10);
        let (all, requests) = walk(200, 7, false);
        assert_eq!(all, (0..200).collect::<Vec<_>>());
        assert_eq!(requests, 29, "ceil(200 / 7)");
    }

    #[test]
    fn legacy_paging_uses_offsets() {
        let (all, requests) = walk(200, 20, true);
        assert_eq!(all, (0..200).collect::<Vec<_>>());
        assert_eq!(requests, 10);
        let up = Upstream::new(50);
        let s = slice(&up, Position::Offset(10), 5, true);
        assert_eq!(items(&s), vec![10, 11, 12, 13, 14]);
        assert_eq!(s.end, Position::Offset(15));
        assert_eq!(s.total, None);
        assert!(s.has_next_page && s.has_previous_page);
        assert_eq!(up.requests.lock().unwrap()[0].limit, 6);
    }

    #[test]
    fn after_a_middle_edge_resumes_right_after_it_in_one_request() {
        let up = Upstream::new(100);
        let first = slice(&up, Contract::Cursor.start(), 20, false);
        let middle = first.edges[6].after.clone();
        assert_eq!(
            middle,
            Position::Upstream {
                cursor: String::new(),
                skip: 7,
                anchor: "6".into(),
            }
        );
        let next = slice(&up, middle, 20, false);
        assert_eq!(items(&next), (7..27).collect::<Vec<_>>());
        assert_eq!(up.count(), 2);
        assert_eq!(up.requests.lock().unwrap()[1].limit, 27);
        // The end edge of that request sits on its page boundary: it carries nextCursor.
        assert_eq!(
            next.end,
            Position::Upstream {
                cursor: "c27".into(),
                skip: 0,
                anchor: String::new(),
            }
        );
    }

    #[test]
    fn first_above_one_page_follows_upstream_pages() {
        let up = Upstream::new(1000);
        let s = slice(&up, Contract::Cursor.start(), 250, false);
        assert_eq!(items(&s), (0..250).collect::<Vec<_>>());
        assert_eq!(up.count(), 3);
        assert!(s.has_next_page);
        assert_eq!(s.total, Some(1000));
    }

    /// Pages alive when each page of a 250-item slice is fetched, nodes made by `node`.
    fn pages_alive_at_each_fetch<N>(node: fn(&Arc<Page<u32>>, usize) -> N) -> Vec<usize> {
        let up = Upstream::new(1000);
        let fetched: Mutex<Vec<std::sync::Weak<Page<u32>>>> = Mutex::default();
        let alive = Mutex::new(Vec::new());
        let fetch = |r| {
            let live = fetched
                .lock()
                .unwrap()
                .iter()
                .filter(|page| page.strong_count() > 0)
                .count();
            alive.lock().unwrap().push(live);
            let (up, fetched) = (&up, &fetched);
            async move {
                let page = up.fetch(r, false).await?;
                fetched.lock().unwrap().push(Arc::downgrade(&page));
                Ok::<_, String>(page)
            }
        };
        let s = run(fetch_slice(
            Contract::Cursor.start(),
            250,
            100,
            id,
            fetch,
            node,
        ))
        .unwrap();
        assert_eq!(s.edges.len(), 250);
        alive.into_inner().unwrap()
    }

    #[test]
    fn each_page_is_let_go_once_its_edges_are_made() {
        assert_eq!(pages_alive_at_each_fetch(item), vec![0, 0, 0]);
        // Nodes that keep their page keep every page of the slice.
        assert_eq!(pages_alive_at_each_fetch(InPage::of), vec![0, 1, 2]);
    }

    #[test]
    fn first_zero_returns_no_edges_but_page_info() {
        let up = Upstream::new(3);
        let s = slice(&up, Contract::Cursor.start(), 0, false);
        assert!(s.edges.is_empty());
        assert!(s.has_next_page);
        assert_eq!(s.total, Some(3));
        let empty = Upstream::new(0);
        let s = slice(&empty, Contract::Cursor.start(), 0, false);
        assert!(!s.has_next_page);
    }

    #[test]
    fn last_page_has_no_next() {
        let up = Upstream::new(25);
        let s = slice(
            &up,
            Position::Upstream {
                cursor: "c20".into(),
                skip: 0,
                anchor: String::new(),
            },
            20,
            false,
        );
        assert_eq!(items(&s), (20..25).collect::<Vec<_>>());
        assert!(!s.has_next_page);
        assert!(s.has_previous_page);
    }

    #[test]
    fn repeated_upstream_cursor_is_an_error_not_a_loop() {
        let result = run(fetch_slice(
            Contract::Cursor.start(),
            50,
            100,
            id,
            |_req| async {
                Ok::<_, ()>(Arc::new(Page {
                    items: vec![1u32],
                    meta: Some(PaginationMeta {
                        has_more: Some(true),
                        next_cursor: Some("same".into()),
                        total: None,
                        total_is_partial: None,
                    }),
                }))
            },
            item,
        ));
        assert!(matches!(result, Err(SliceError::NoProgress { .. })));
    }

    #[test]
    fn resume_after_a_middle_edge_survives_inserts_at_the_head() {
        // Items 1000.. arrive at the head of the first page after the client read it.
        let up = Upstream::new(100);
        let first = slice(&up, Contract::Cursor.start(), 20, false);
        let middle = first.edges[9].after.clone();
        assert_eq!(first.edges[9].node, 9);
        up.head.lock().unwrap().extend([1000, 1001, 1002]);
        let next = slice(&up, middle, 5, false);
        assert_eq!(
            items(&next),
            vec![10, 11, 12, 13, 14],
            "lands right after item 9"
        );
        // Removed ahead of it: the anchor is found earlier in the page.
        let up = Upstream::new(100);
        let start = Position::Upstream {
            cursor: String::new(),
            skip: 12,
            anchor: "9".into(),
        };
        assert_eq!(items(&slice(&up, start, 3, false)), vec![10, 11, 12]);
        // An anchor that is gone is an error, never items from a guessed position.
        let start = Position::Upstream {
            cursor: String::new(),
            skip: 4,
            anchor: "gone".into(),
        };
        let lost = run(fetch_slice(start, 2, 100, id, |r| up.fetch(r, false), item));
        assert!(matches!(lost, Err(SliceError::AnchorLost)));
    }

    #[test]
    fn resume_after_a_middle_edge_survives_more_arrivals_than_a_page() {
        // 250 items arrive at the head after the client read edge 9 of a page of 20: the anchor
        // is now 260th, past the first window and the first full page.
        let up = Upstream::new(1000);
        let first = slice(&up, Contract::Cursor.start(), 20, false);
        let middle = first.edges[9].after.clone();
        up.head.lock().unwrap().extend(2000..2250);
        let before = up.count();
        let next = slice(&up, middle, 5, false);
        assert_eq!(
            items(&next),
            vec![10, 11, 12, 13, 14],
            "exactly after item 9"
        );
        assert!(up.count() - before <= MAX_ANCHOR_PAGES as usize);
    }

    proptest! {
        /// Whatever the page sizes, following end cursors and resuming from any edge yields
        /// each item once, in order.
        #[test]
        fn every_item_exactly_once(n in 0u32..400, first in 1u32..130, resume in 0usize..130, legacy in any::<bool>()) {
            let (all, requests) = walk(n, first, legacy);
            prop_assert_eq!(&all, &(0..n).collect::<Vec<_>>());
            if !legacy && first <= 100 {
                prop_assert!(requests as u32 <= n.div_ceil(first).max(1));
            }
            let up = Upstream::new(n);
            let s = slice(&up, contract(legacy).start(), first, legacy);
            if let Some(edge) = s.edges.get(resume % s.edges.len().max(1)) {
                let next = slice(&up, edge.after.clone(), first, legacy);
                let from = edge.node + 1;
                let expected: Vec<u32> = (from..(from + first).min(n)).collect();
                prop_assert_eq!(items(&next), expected);
            }
        }
    }
}
