//! The pages a request has read: kept to its end while it has read few items, then held only
//! while one of its fields still uses them.
//!
//! The `dataloader` crate's cache keeps every value until the request ends: a request reading
//! 100 pages held all 100 until its answer was written. Pages (of executions above all) are the
//! bulk of what a request reads. So a request keeps its pages to the end only up to a budget of
//! items ([`KEPT_ITEMS`], shared by every kind of page): within it, a page asked for again by a
//! later field (the same executions under `jobExecutions` and under `job(name:)`, or in two
//! operations of a batch) costs no call, as with the dataloader's cache. Past it, pages are held
//! by [`Weak`] reference: a page asked for again while a field still holds it (aliases, fields
//! resolved together) is shared and costs no call; once every field that read it is done (its
//! executions written, see [`crate::graphql::prerender`]), it is freed, and a field that asks for
//! it after that reads it again (counted against the request's cap like any call).
//!
//! Reads in flight are shared as in the dataloader: a key asked while its read runs waits for
//! that read. Errors are kept (a failing key answers the same error to every field, without a
//! second call), and so are pages stored by [`HeldPages::prime`].

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{
        Arc, Mutex, PoisonError, Weak,
        atomic::{AtomicUsize, Ordering},
    },
};

use blaxel_models::Page;
use futures::{
    FutureExt as _,
    future::{BoxFuture, Shared},
};

use super::Loaded;

/// Items of pages a request keeps to its end (two full pages of executions): enough for the
/// documents of a dashboard or a page walk to read each page once, small enough that a request
/// reading thousands of items holds its pages only while it writes them.
pub const KEPT_ITEMS: usize = 200;

/// What is left of a request's [`KEPT_ITEMS`], shared by its kinds of pages.
#[derive(Debug)]
pub(super) struct KeptItems(AtomicUsize);

impl KeptItems {
    pub(super) fn new(items: usize) -> Self {
        Self(AtomicUsize::new(items))
    }

    /// Takes `items` from what is left: false, and nothing taken, when fewer are left.
    fn take(&self, items: usize) -> bool {
        self.0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(items)
            })
            .is_ok()
    }

    /// Starts over with `items`.
    pub(super) fn reset(&self, items: usize) {
        self.0.store(items, Ordering::Relaxed);
    }
}

/// What a request knows of one key.
enum Slot<V> {
    /// Being read: later asks wait for this read.
    Reading(Shared<BoxFuture<'static, Loaded<V>>>),
    /// Read: the page, while a field still holds it.
    Held(Weak<V>),
    /// A page within the request's kept items, an error, or a primed page: kept until the
    /// request ends.
    Kept(Loaded<V>),
}

/// The pages of one kind (items `T`) a request has read, by key.
pub(super) struct HeldPages<K, T> {
    slots: Mutex<HashMap<K, Slot<Page<T>>>>,
}

impl<K, T> Default for HeldPages<K, T> {
    fn default() -> Self {
        Self {
            slots: Mutex::default(),
        }
    }
}

impl<K: Eq + Hash + Clone, T: Send + Sync + 'static> HeldPages<K, T> {
    /// The page of `key`: the one kept or still held by a field, the read in flight, or a new
    /// read made by `read`. A page read is kept to the end when its items fit in what is left of
    /// `kept`, else held only while used.
    pub(super) async fn load(
        &self,
        key: K,
        kept: &KeptItems,
        read: impl FnOnce() -> BoxFuture<'static, Loaded<Page<T>>>,
    ) -> Loaded<Page<T>> {
        let flight = {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            let reading = match slots.get(&key) {
                Some(Slot::Kept(answer)) => return answer.clone(),
                Some(Slot::Held(page)) => match page.upgrade() {
                    Some(page) => return Ok(page),
                    None => None,
                },
                Some(Slot::Reading(flight)) => Some(flight.clone()),
                None => None,
            };
            reading.unwrap_or_else(|| {
                let flight = read().shared();
                slots.insert(key.clone(), Slot::Reading(flight.clone()));
                flight
            })
        };
        let answer = flight.clone().await;
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        // The first waiter to see the answer settles the slot, unless it was settled (and maybe
        // read again) meanwhile.
        if let Some(Slot::Reading(reading)) = slots.get(&key)
            && reading.ptr_eq(&flight)
        {
            let settled = match &answer {
                Ok(page) if !kept.take(page.items.len()) => Slot::Held(Arc::downgrade(page)),
                _ => Slot::Kept(answer.clone()),
            };
            slots.insert(key, settled);
        }
        answer
    }

    /// Stores `page` as the answer to `key` until the request ends.
    pub(super) fn prime(&self, key: K, page: Arc<Page<T>>) {
        self.lock().insert(key, Slot::Kept(Ok(page)));
    }

    /// Forgets every key.
    pub(super) fn clear(&self) {
        self.lock().clear();
    }

    /// Pages held by some field of the request right now (read and not yet freed).
    pub(super) fn held(&self) -> usize {
        self.lock()
            .values()
            .filter(|slot| match slot {
                Slot::Held(page) => page.strong_count() > 0,
                Slot::Kept(answer) => answer.is_ok(),
                Slot::Reading(_) => false,
            })
            .count()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Slot<Page<T>>>> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
