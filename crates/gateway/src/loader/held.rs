//! The pages a request has read, held only while one of its fields still uses them.
//!
//! The `dataloader` crate's cache keeps every value until the request ends: a request reading
//! 100 pages held all 100 until its answer was written. Pages (of executions above all) are the
//! bulk of what a request reads, so their loaders keep them by [`Weak`] reference instead: a
//! page asked for
//! again while a field still holds it (aliases, the same connection under two parents resolved
//! together) is shared and costs no call; once every field that read it is done (its executions
//! written, see [`crate::graphql::prerender`]), it is freed, and a field that asks for it after
//! that reads it again (counted against the request's cap like any call).
//!
//! Reads in flight are shared as in the dataloader: a key asked while its read runs waits for
//! that read. Errors are kept (a failing key answers the same error to every field, without a
//! second call), and so are pages stored by [`HeldPages::prime`].

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{Arc, Mutex, PoisonError, Weak},
};

use futures::{
    FutureExt as _,
    future::{BoxFuture, Shared},
};

use super::Loaded;

/// What a request knows of one key.
enum Slot<V> {
    /// Being read: later asks wait for this read.
    Reading(Shared<BoxFuture<'static, Loaded<V>>>),
    /// Read: the page, while a field still holds it.
    Held(Weak<V>),
    /// An error, or a primed page: kept until the request ends.
    Kept(Loaded<V>),
}

/// The pages of one kind a request has read, by key.
pub(super) struct HeldPages<K, V> {
    slots: Mutex<HashMap<K, Slot<V>>>,
}

impl<K, V> Default for HeldPages<K, V> {
    fn default() -> Self {
        Self {
            slots: Mutex::default(),
        }
    }
}

impl<K: Eq + Hash + Clone, V: Send + Sync + 'static> HeldPages<K, V> {
    /// The page of `key`: the one a field still holds, the read in flight, or a new read made by
    /// `read`.
    pub(super) async fn load(
        &self,
        key: K,
        read: impl FnOnce() -> BoxFuture<'static, Loaded<V>>,
    ) -> Loaded<V> {
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
                Ok(page) => Slot::Held(Arc::downgrade(page)),
                Err(_) => Slot::Kept(answer.clone()),
            };
            slots.insert(key, settled);
        }
        answer
    }

    /// Stores `page` as the answer to `key` until the request ends.
    pub(super) fn prime(&self, key: K, page: Arc<V>) {
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

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Slot<V>>> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
