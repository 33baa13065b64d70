//! A Karpenter-like provisioner, active once a NodePool (`karpenter.sh/v1`) exists:
//!
//! - pending pods that fit no node become NodeClaims for a NodePool whose requirements they
//!   satisfy, on an instance type from a small built-in catalogue ([`catalogue`]), within the
//!   NodePool's limits (pods stay Pending with an event naming the limit otherwise);
//! - a NodeClaim's node registers and turns Ready `node_startup` after launch, on the
//!   simulator's clock (the scenario's `kubernetes.karpenter.node_startup`, default 60 s);
//! - the scheduler then checks requests against nodes' allocatable, and a pod that fits
//!   nowhere preempts lower-priority pods (the placeholders) ([`fit`]);
//! - empty nodes are consolidated after the NodePool's `consolidateAfter` ([`consolidate`]).
//!
//! The state changes with time, so the server ticks the controllers (see
//! [`crate::k8s::KubeState::tick`]).

pub mod catalogue;
mod consolidate;
pub mod fit;
mod lifecycle;
mod limits;
pub mod printers;
mod provision;
mod requirements;

use serde_json::Value;

use crate::k8s::events::{self, EventType, Source};
use crate::k8s::obj;
use crate::k8s::store::Store;

pub use crate::scenario::KarpenterSettings;

/// Runs the provisioner once: launched NodeClaims progress, pending pods get NodeClaims,
/// empty nodes go, NodePools report their resources.
pub fn reconcile(store: &mut Store) {
    if !fit::installed(store) {
        return;
    }
    let startup = store.karpenter.node_startup;
    lifecycle::progress(store, startup);
    provision::reconcile(store);
    consolidate::reconcile(store);
    lifecycle::pool_status(store);
}

/// Records an event unless the same one (object, reason, message) is already there: a
/// controller that runs every second must not bump a count each time.
pub(super) fn record_once(
    store: &mut Store,
    regarding: &Value,
    kind: EventType,
    reason: &str,
    message: &str,
) {
    let namespace = match obj::namespace(regarding) {
        "" => "default",
        ns => ns,
    };
    let uid = obj::uid(regarding);
    let seen = store.list("events", Some(namespace)).any(|e| {
        obj::str_at(e, "/involvedObject/uid") == Some(uid)
            && obj::str_at(e, "/reason") == Some(reason)
            && obj::str_at(e, "/message") == Some(message)
    });
    if !seen {
        events::record(
            store,
            regarding,
            kind,
            reason,
            message,
            Source::controller("karpenter"),
        );
    }
}
