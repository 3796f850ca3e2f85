//! Executions' JSON, rendered once per virtual instant and served again until it could differ.
//!
//! An execution's JSON is a function of its plan, its cancel time, the virtual clock and names
//! that never change (workspace, job, cluster, `inline_tasks_max`): see [`timeline`]. The clock
//! moves only when `advance_clock` is called, so between two moves every page showing an
//! execution shows the same bytes. [`RenderCache`] keeps, per execution, the last JSON with the
//! (instant, cancel time) it was rendered for and serves it while both are unchanged: a page is
//! then a copy of its executions' bytes, instead of building and serializing each model again
//! (about four fifths of the emulator's instructions for a page of 20 with every field:
//! `bench/callgrind.sh`'s notes in the README).
//!
//! Bounded: entries are kept while their bytes total at most the [`RenderBudget`] (one per
//! emulator); past it executions are rendered as before, uncached, never wrongly.
//!
//! [`timeline`]: crate::timeline

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicUsize, Ordering},
};

use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

use crate::state::lock;

/// Bytes of JSON an emulator keeps rendered: 32 MiB, about 10,000 executions of ~3 kB.
pub(crate) const RENDER_BUDGET_BYTES: usize = 32 << 20;

/// One execution's JSON, written verbatim where it is serialized.
#[derive(Debug, Clone)]
pub(crate) struct Rendered(Arc<RawValue>);

impl Rendered {
    /// The JSON text.
    #[cfg(test)]
    pub(crate) fn get(&self) -> &str {
        self.0.get()
    }
}

impl Serialize for Rendered {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// Bytes an emulator may still keep rendered, shared by every execution's [`RenderCache`].
#[derive(Debug)]
pub(crate) struct RenderBudget(AtomicUsize);

impl RenderBudget {
    /// A budget of `bytes`.
    pub(crate) fn new(bytes: usize) -> Self {
        Self(AtomicUsize::new(bytes))
    }

    /// Takes `bytes` if that many are left.
    fn take(&self, bytes: usize) -> bool {
        self.0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| {
                left.checked_sub(bytes)
            })
            .is_ok()
    }

    fn give_back(&self, bytes: usize) {
        self.0.fetch_add(bytes, Ordering::AcqRel);
    }
}

/// The last rendering of one execution and what it was rendered for.
struct Entry {
    at: i64,
    cancel_at: Option<i64>,
    json: Arc<RawValue>,
}

/// One execution's remembered JSON (empty when created or cloned).
#[derive(Default)]
pub(crate) struct RenderCache(Mutex<Option<Entry>>);

impl Clone for RenderCache {
    /// An empty cache: a copied execution renders for itself.
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl std::fmt::Debug for RenderCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RenderCache")
    }
}

impl RenderCache {
    /// The JSON of the execution at instant `at` with cancel time `cancel_at`: the remembered
    /// one when it was rendered for both, else `render()` serialized (and remembered, within
    /// `budget`). Concurrent callers for one execution wait for one rendering.
    ///
    /// # Errors
    /// The model's serialization error (none is known: every field is a string, number, bool or
    /// a map of them).
    pub(crate) fn get_or_render<T: Serialize>(
        &self,
        at: i64,
        cancel_at: Option<i64>,
        budget: &RenderBudget,
        render: impl FnOnce() -> T,
    ) -> serde_json::Result<Rendered> {
        let mut slot = lock(&self.0);
        if let Some(e) = slot.as_ref()
            && e.at == at
            && e.cancel_at == cancel_at
        {
            return Ok(Rendered(e.json.clone()));
        }
        let json: Arc<RawValue> = serde_json::value::to_raw_value(&render())?.into();
        if let Some(old) = slot.take() {
            budget.give_back(old.json.get().len());
        }
        if budget.take(json.get().len()) {
            *slot = Some(Entry {
                at,
                cancel_at,
                json: json.clone(),
            });
        }
        Ok(Rendered(json))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{seed, timeline::START};

    fn exec() -> crate::timeline::Exec {
        seed::seed_executions(3, "w", "j", 1).remove(0)
    }

    fn fresh(e: &crate::timeline::Exec, at: i64) -> String {
        serde_json::to_string(&e.model("w", "j", "c", at, 100)).unwrap()
    }

    #[test]
    fn a_rendering_is_served_again_only_for_the_same_instant_and_cancel() {
        let budget = RenderBudget::new(1 << 20);
        let mut e = exec();
        let renders = std::cell::Cell::new(0);
        let get = |e: &crate::timeline::Exec, at: i64| {
            e.rendered
                .get_or_render(at, e.cancel_at, &budget, || {
                    renders.set(renders.get() + 1);
                    e.model("w", "j", "c", at, 100)
                })
                .unwrap()
                .get()
                .to_owned()
        };
        assert_eq!(get(&e, START), fresh(&e, START));
        assert_eq!(get(&e, START), fresh(&e, START));
        assert_eq!(renders.get(), 1, "the second read is the remembered one");
        assert_eq!(get(&e, START + 60), fresh(&e, START + 60));
        assert_eq!(renders.get(), 2, "another instant renders again");
        e.cancel_at = Some(START + 30);
        assert_eq!(get(&e, START + 60), fresh(&e, START + 60));
        assert_eq!(renders.get(), 3, "a cancel renders again");
        let used = (1 << 20) - budget.0.load(Ordering::Acquire);
        assert_eq!(used, fresh(&e, START + 60).len(), "one entry held");
    }

    #[test]
    fn past_the_budget_executions_are_rendered_uncached() {
        let e = exec();
        let len = fresh(&e, START).len();
        let budget = RenderBudget::new(len - 1);
        let renders = std::cell::Cell::new(0);
        for _ in 0..3 {
            let json = e
                .rendered
                .get_or_render(START, None, &budget, || {
                    renders.set(renders.get() + 1);
                    e.model("w", "j", "c", START, 100)
                })
                .unwrap();
            assert_eq!(json.get(), fresh(&e, START));
        }
        assert_eq!(renders.get(), 3);
        assert_eq!(budget.0.load(Ordering::Acquire), len - 1, "nothing taken");
    }

    #[test]
    fn a_replaced_rendering_gives_its_bytes_back() {
        let e = exec();
        let budget = RenderBudget::new(1 << 20);
        for dt in 0..50 {
            e.rendered
                .get_or_render(START + dt, None, &budget, || {
                    e.model("w", "j", "c", START + dt, 100)
                })
                .unwrap();
        }
        let used = (1 << 20) - budget.0.load(Ordering::Acquire);
        assert_eq!(used, fresh(&e, START + 49).len());
    }

    #[test]
    fn concurrent_readers_of_one_execution_share_one_rendering() {
        let e = exec();
        let budget = RenderBudget::new(1 << 20);
        let renders = AtomicUsize::new(0);
        let want = fresh(&e, START);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..100 {
                        let json = e
                            .rendered
                            .get_or_render(START, None, &budget, || {
                                renders.fetch_add(1, Ordering::Relaxed);
                                e.model("w", "j", "c", START, 100)
                            })
                            .unwrap();
                        assert_eq!(json.get(), want);
                    }
                });
            }
        });
        assert_eq!(renders.load(Ordering::Relaxed), 1);
        assert_eq!((1 << 20) - budget.0.load(Ordering::Acquire), want.len());
    }

    #[test]
    fn a_page_of_rendered_executions_is_the_page_of_models() {
        let execs = seed::seed_executions(11, "w", "j", 30);
        let budget = RenderBudget::new(1 << 20);
        let models: Vec<_> = execs
            .iter()
            .map(|e| e.model("w", "j", "c", START, 100))
            .collect();
        for _ in 0..2 {
            let rendered: Vec<Rendered> = execs
                .iter()
                .map(|e| {
                    e.rendered
                        .get_or_render(START, e.cancel_at, &budget, || {
                            e.model("w", "j", "c", START, 100)
                        })
                        .unwrap()
                })
                .collect();
            assert_eq!(
                serde_json::to_string(&rendered).unwrap(),
                serde_json::to_string(&models).unwrap()
            );
        }
    }
}
