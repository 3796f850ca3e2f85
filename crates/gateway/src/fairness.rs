//! Fairness between callers: at most `per_caller` turns of one credential are taken at once (the
//! others wait, within their own request deadline), so one caller's burst of heavy requests
//! queues behind itself instead of taking every worker and upstream slot from the others. Used
//! by every face.
//!
//! A request takes turns in proportion to the upstream calls its document is priced at
//! ([`Fairness::weight`]): most take one, and one at the cap on upstream calls takes a
//! [`HEAVY_SHARE`]th of the caller's turns. The pages a request holds grow with its upstream
//! calls, so this bounds what one credential's requests hold at once, whatever their shape.
//!
//! Callers are told apart by a keyed hash of (token, workspace): no credential is kept, and the
//! hash key is random per process, so nobody can aim at another caller's slot.

use std::{
    collections::HashMap,
    hash::{BuildHasher, RandomState},
    sync::{Arc, Mutex, PoisonError},
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::caller::Caller;

/// Distinct callers tracked before idle ones are forgotten.
const MAX_TRACKED: usize = 10_000;

/// Requests at the cap on upstream calls (`--max-upstream-calls`) one credential runs at once:
/// each takes this fraction of its turns. With the defaults (64 turns, 100 calls), a request
/// priced at up to 6 calls takes one turn, one at 25 takes four and one at 100 sixteen. The
/// upstream calls one credential's running requests may make together are then about
/// `HEAVY_SHARE` times the cap (at most turns x the calls one turn buys), whatever the number
/// of turns: the turns set how many light requests run at once, the share what they hold.
pub const HEAVY_SHARE: u64 = 4;

/// The per-credential admission of one gateway.
pub struct Fairness {
    per_caller: usize,
    hasher: RandomState,
    slots: Mutex<HashMap<u64, Arc<Semaphore>>>,
}

/// A caller's turn: its request runs while this is held.
#[derive(Debug)]
pub struct Turn(#[allow(dead_code)] OwnedSemaphorePermit);

impl Fairness {
    /// At most `per_caller` requests of one credential at once (0 reads as 1).
    pub fn new(per_caller: usize) -> Self {
        Self {
            per_caller: per_caller.max(1),
            hasher: RandomState::new(),
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The turns of a request priced at `upstream_calls` under the cap `max_calls`: one, plus a
    /// share in proportion, up to [`HEAVY_SHARE`] requests at the cap per credential. A request
    /// over the cap is refused before it runs: one turn.
    pub fn weight(&self, upstream_calls: u64, max_calls: u64) -> u32 {
        if upstream_calls > max_calls {
            return 1;
        }
        let turns = self.per_caller as u64;
        let weight = upstream_calls
            .saturating_mul(turns)
            .div_ceil(HEAVY_SHARE.saturating_mul(max_calls).max(1));
        u32::try_from(weight.clamp(1, turns)).unwrap_or(1)
    }

    /// Waits for one of `caller`'s turns: [`Fairness::enter_weighted`] with a weight of one.
    pub async fn enter(&self, caller: &Caller) -> Turn {
        self.enter_weighted(caller, 1).await
    }

    /// Waits until `weight` of `caller`'s turns are free and takes them at once (never some
    /// now and the rest later, so two heavy requests cannot each hold half and wait for the
    /// other; tokio's semaphore serves waiters in order, so a heavy request is not overtaken
    /// for ever by light ones). The wait is bounded by the caller's request deadline (the HTTP
    /// guard, the gRPC deadline), not here.
    pub async fn enter_weighted(&self, caller: &Caller, weight: u32) -> Turn {
        let key = self.hasher.hash_one((
            caller.credentials.token.as_ref().map(|t| t.expose()),
            &caller.workspace,
        ));
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            if slots.len() >= MAX_TRACKED {
                // Forget callers with no request running (nobody else holds their semaphore).
                let full = self.per_caller;
                slots.retain(|_, s| Arc::strong_count(s) > 1 || s.available_permits() < full);
            }
            Arc::clone(
                slots
                    .entry(key)
                    .or_insert_with(|| Arc::new(Semaphore::new(self.per_caller))),
            )
        };
        // Never closed: acquire cannot fail.
        let weight = weight.clamp(1, u32::try_from(self.per_caller).unwrap_or(u32::MAX));
        match slot.acquire_many_owned(weight).await {
            Ok(permit) => Turn(permit),
            Err(_) => unreachable_turn(),
        }
    }

    /// Callers tracked now (for tests and metrics).
    pub fn tracked(&self) -> usize {
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// A semaphore of ours is never closed; should it be, the request runs rather than hangs.
fn unreachable_turn() -> Turn {
    let semaphore = Arc::new(Semaphore::new(1));
    Turn(
        semaphore
            .try_acquire_owned()
            .unwrap_or_else(|_| unreachable!("a fresh semaphore has a permit")),
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use blaxel_transport::{Credentials, Token};

    use super::*;

    fn caller(token: &str) -> Caller {
        Caller {
            credentials: Credentials {
                token: Some(Token::new(token)),
                workspace: None,
            },
            workspace: String::new(),
        }
    }

    #[tokio::test]
    async fn one_callers_burst_waits_for_itself_and_not_for_others() {
        let fairness = Fairness::new(2);
        let a1 = fairness.enter(&caller("a")).await;
        let _a2 = fairness.enter(&caller("a")).await;
        // A third request of `a` waits...
        let a = caller("a");
        let third = tokio::time::timeout(Duration::from_millis(50), fairness.enter(&a));
        assert!(
            third.await.is_err(),
            "a's third request waits for a's own turn"
        );
        // ...while `b` is admitted at once.
        let b = tokio::time::timeout(Duration::from_secs(5), fairness.enter(&caller("b"))).await;
        assert!(b.is_ok());
        drop(a1);
        let third = tokio::time::timeout(Duration::from_secs(5), fairness.enter(&a));
        assert!(third.await.is_ok(), "admitted once a turn ends");
        assert_eq!(fairness.tracked(), 2);
    }

    #[test]
    fn weights_grow_with_the_upstream_calls_up_to_a_share_of_the_turns() {
        let fairness = Fairness::new(16);
        let weights: Vec<u32> = [0, 1, 25, 26, 50, 100, 101, u64::MAX]
            .into_iter()
            .map(|calls| fairness.weight(calls, 100))
            .collect();
        assert_eq!(weights, [1, 1, 1, 2, 2, 4, 1, 1]);
        assert_eq!(Fairness::new(1).weight(100, 100), 1);
        assert_eq!(Fairness::new(16).weight(5, 0), 1, "a cap of 0 refuses");
        // The defaults (64 turns, a cap of 100 calls).
        let weights: Vec<u32> = [6, 7, 25, 100]
            .into_iter()
            .map(|calls| Fairness::new(64).weight(calls, 100))
            .collect();
        assert_eq!(weights, [1, 2, 4, 16]);
    }

    /// What [`HEAVY_SHARE`] promises: however many turns, the requests of one credential that
    /// run at once may make at most `HEAVY_SHARE` times the cap of upstream calls together.
    #[test]
    fn running_requests_call_at_most_a_share_of_the_cap_whatever_the_turns() {
        for max_calls in [1, 7, 100, 1000] {
            for turns in 1..=300 {
                let fairness = Fairness::new(turns);
                for calls in 0..=max_calls {
                    let running = turns as u64 / u64::from(fairness.weight(calls, max_calls));
                    assert!(
                        running * calls <= HEAVY_SHARE * max_calls,
                        "{turns} turns, {calls} calls of {max_calls}: {running} run"
                    );
                }
            }
        }
    }

    /// Heavy requests of one caller hold several turns each; a light one of another caller is
    /// admitted at once, and a heavy one waiting is served before a later light one of its own
    /// caller (turns are taken in order, all at once).
    #[tokio::test]
    async fn heavy_requests_take_a_share_of_their_callers_turns() {
        let fairness = Arc::new(Fairness::new(8));
        let heavy = fairness.weight(100, 100);
        assert_eq!(heavy, 2);
        let mut held = Vec::new();
        for _ in 0..4 {
            held.push(fairness.enter_weighted(&caller("a"), heavy).await);
        }
        let b = tokio::time::timeout(Duration::from_secs(5), fairness.enter(&caller("b"))).await;
        assert!(b.is_ok(), "another caller is admitted at once");

        let wait = |weight| {
            let fairness = Arc::clone(&fairness);
            tokio::spawn(async move { fairness.enter_weighted(&caller("a"), weight).await })
        };
        let waiting_heavy = wait(heavy);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let waiting_light = wait(1);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !waiting_heavy.is_finished(),
            "a's turns are all held by 4 heavy requests"
        );
        drop(held.pop());
        let heavy_turn = tokio::time::timeout(Duration::from_secs(5), waiting_heavy).await;
        assert!(
            heavy_turn.is_ok(),
            "the heavy request that waited first gets both turns"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !waiting_light.is_finished(),
            "the light one waits for a turn to end"
        );
        drop(held.pop());
        let light_turn = tokio::time::timeout(Duration::from_secs(5), waiting_light).await;
        assert!(light_turn.is_ok());
    }
}
