//! Leader election for what must run once across replicas: the Kubernetes event watcher and
//! the cron schedules run only on the replica holding a `coordination.k8s.io/v1` Lease.
//!
//! - [`decide`]: the pure decision (acquire, renew, wait) with client-go's semantics.
//! - [`lease`]: reading and writing the Lease (optimistic concurrency: a stale
//!   `resourceVersion` is refused with 409, so of two replicas taking a lease one wins).
//! - [`elector`]: the loop: retry every `retry_period` while following; renew every
//!   `retry_period` while leading; stand down when no renewal succeeded for
//!   `renew_deadline`.
//!
//! **Fencing.** Leadership is a sequence of [`Term`]s published on a watch channel. Each term
//! has a cancellation token: the work that must run once ([`while_leading`]) runs inside a
//! term and is cancelled when it ends. A leader that cannot renew ends its term
//! `renew_deadline` after its last successful renewal *began*; another replica may take the
//! lease only `lease_duration` (longer) after it *read* that renewal, so the deposed term has
//! ended before the next one begins. A term's fencing token is the Lease's
//! `leaseTransitions` when it began; runs started in it are logged with it. Runs already
//! started when a term ends go on to their end: a run is not "must run once" work, and
//! cancelling it half way would leave remediations half done.

pub mod decide;
pub mod elector;
pub mod lease;
#[cfg(test)]
mod sim_tests;
pub mod work;

use std::future::Future;

use chrono::{DateTime, Utc};
use sopilot_runtime::CancellationToken;
use tokio::sync::watch;

pub use decide::Timing;
pub use elector::Elector;
pub use work::RunOnce;

/// `serve.leader_election`, resolved.
#[derive(Debug, Clone)]
pub struct LeaderOptions {
    /// The Lease's namespace (default: the client's: the pod's own in a cluster).
    pub namespace: Option<String>,
    /// The Lease's name.
    pub name: String,
    pub timing: Timing,
    /// This replica's `holderIdentity` (see [`identity`]).
    pub identity: String,
}

/// One stretch of leadership of this replica.
#[derive(Debug, Clone)]
pub struct Term {
    /// This replica's identity.
    pub holder: String,
    /// The fencing token: the Lease's `leaseTransitions` when the term began.
    pub fencing: u64,
    /// When it began, on this replica's clock.
    pub began: DateTime<Utc>,
    /// Until when (about) the previous leader may have been working, on this replica's
    /// clock: when this replica last saw the lease it took change. Work that catches up on
    /// the past (the event watcher's initial list) leaves what came before it to that
    /// leader. `None`: no previous leader was seen.
    pub previous_until: Option<DateTime<Utc>>,
    stop: CancellationToken,
}

impl Term {
    /// A term that ends when `stop` is cancelled.
    pub fn new(
        holder: String,
        fencing: u64,
        began: DateTime<Utc>,
        stop: CancellationToken,
    ) -> Term {
        Term {
            holder,
            fencing,
            began,
            previous_until: None,
            stop,
        }
    }

    /// Cancelled when the term ends: the work of the term selects on it.
    pub fn stop(&self) -> CancellationToken {
        self.stop.clone()
    }

    pub fn is_over(&self) -> bool {
        self.stop.is_cancelled()
    }
}

/// Whether this replica leads, and in which term: what [`Elector`] publishes.
#[derive(Debug, Clone)]
pub struct Leadership(watch::Receiver<Option<Term>>);

impl Leadership {
    /// A channel and its sender (the elector's end).
    pub fn channel() -> (watch::Sender<Option<Term>>, Leadership) {
        let (tx, rx) = watch::channel(None);
        (tx, Leadership(rx))
    }

    /// Without election (a single replica): one term, fencing token 0, that lasts until
    /// `stop`.
    pub fn always(identity: &str, stop: &CancellationToken) -> Leadership {
        let term = Term::new(identity.to_owned(), 0, Utc::now(), stop.child_token());
        let (_tx, rx) = watch::channel(Some(term));
        Leadership(rx)
    }

    /// The current term, if this replica leads.
    pub fn current(&self) -> Option<Term> {
        self.0.borrow().clone().filter(|t| !t.is_over())
    }
}

/// Runs `work` once in each term of `leadership`, until `stop`. Each `work(term)` must end
/// when `term.stop()` is cancelled (the schedules and the watcher do).
pub async fn while_leading<F, Fut>(leadership: Leadership, stop: CancellationToken, work: F)
where
    F: Fn(Term) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut rx = leadership.0;
    loop {
        let term = rx.borrow_and_update().clone();
        if let Some(term) = term.filter(|t| !t.is_over()) {
            tokio::spawn(work(term));
        }
        tokio::select! {
            () = stop.cancelled() => return,
            changed = rx.changed() => if changed.is_err() {
                // No elector any more (or none: always leading): nothing new will begin.
                stop.cancelled().await;
                return;
            },
        }
    }
}

/// This replica's `holderIdentity`: the pod's name (`POD_NAME`, from the downward API) or
/// the host name, and a random suffix, so a restarted pod never passes for its former self.
pub fn identity() -> String {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let host = env("POD_NAME").or_else(|| env("HOSTNAME")).or_else(|| {
        std::fs::read_to_string("/etc/hostname")
            .ok()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
    });
    let mut suffix = [0u8; 4];
    // On the (unseen) failure of the system's random source, the process id still tells
    // two processes of one host apart.
    if aws_lc_rs::rand::fill(&mut suffix).is_err() {
        suffix = std::process::id().to_be_bytes();
    }
    identity_of(host.as_deref(), suffix)
}

fn identity_of(host: Option<&str>, suffix: [u8; 4]) -> String {
    format!(
        "{}-{}",
        host.unwrap_or("sopilot").trim(),
        hex::encode(suffix)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_are_the_pod_name_and_a_suffix() {
        assert_eq!(
            identity_of(Some("sopilot-5d9c-x2k9p"), [0xde, 0xad, 0xbe, 0xef]),
            "sopilot-5d9c-x2k9p-deadbeef"
        );
        assert_eq!(identity_of(None, [0, 0, 0, 1]), "sopilot-00000001");
        assert_ne!(identity(), identity());
    }

    #[tokio::test]
    async fn work_runs_once_per_term_and_stops_with_it() {
        let (tx, leadership) = Leadership::channel();
        let stop = CancellationToken::new();
        let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
        let task = tokio::spawn(while_leading(
            leadership.clone(),
            stop.clone(),
            move |term: Term| {
                let seen_tx = seen_tx.clone();
                async move {
                    let _ = seen_tx.send(("began", term.fencing));
                    term.stop().cancelled().await;
                    let _ = seen_tx.send(("ended", term.fencing));
                }
            },
        ));
        let first = CancellationToken::new();
        tx.send_replace(Some(Term::new("me".into(), 3, Utc::now(), first.clone())));
        assert_eq!(seen.recv().await, Some(("began", 3)));
        assert_eq!(leadership.current().map(|t| t.fencing), Some(3));
        first.cancel();
        tx.send_replace(None);
        assert_eq!(seen.recv().await, Some(("ended", 3)));
        assert!(leadership.current().is_none());
        tx.send_replace(Some(Term::new(
            "me".into(),
            5,
            Utc::now(),
            CancellationToken::new(),
        )));
        assert_eq!(seen.recv().await, Some(("began", 5)));
        stop.cancel();
        task.await.unwrap();
    }

    #[test]
    fn without_election_one_term_lasts_until_stop() {
        let stop = CancellationToken::new();
        let l = Leadership::always("me", &stop);
        assert_eq!(l.current().map(|t| t.fencing), Some(0));
        stop.cancel();
        assert!(l.current().is_none());
    }
}
