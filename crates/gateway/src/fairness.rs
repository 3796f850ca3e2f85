//! Fairness between callers: at most `per_caller` requests of one credential run at once (the
//! others wait their turn, within their own request deadline), so one caller's burst of heavy
//! requests queues behind itself instead of taking every worker and upstream slot from the
//! others. Used by every face.
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

    /// Waits for `caller`'s turn. The wait is bounded by the caller's request deadline (the
    /// HTTP guard, the gRPC deadline), not here.
    pub async fn enter(&self, caller: &Caller) -> Turn {
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
        match slot.acquire_owned().await {
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
}
