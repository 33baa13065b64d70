//! The shared state behind the Kubernetes API: the store under one lock, the watch feed,
//! and the in-process accessors tests and the demo use.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::{Semaphore, broadcast, watch};

use super::controllers;
use super::obj;
use super::resources;
use super::status::ApiStatus;
use super::store::{Change, Store};
use crate::K8sSimError;
use crate::scenario::KubernetesScenario;

/// Limits that keep one misbehaving client from exhausting the simulator.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The largest request body accepted (the real API's limit is 3 MiB).
    pub max_body_bytes: usize,
    /// Watches open at once; more get 429.
    pub max_watches: usize,
    /// Changes kept for watches that resume from a resourceVersion; older ones get 410.
    pub history: usize,
    /// The longest a watch stays open before the server ends it (clients re-watch).
    pub max_watch_seconds: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 3 * 1024 * 1024,
            max_watches: 64,
            history: 10_000,
            max_watch_seconds: 1800,
        }
    }
}

/// The simulated cluster, shared by every request handler. Cheap to clone.
#[derive(Debug, Clone)]
pub struct KubeState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    world: Mutex<World>,
    feed: broadcast::Sender<Arc<Change>>,
    watch_slots: Arc<Semaphore>,
    stop: watch::Sender<bool>,
    limits: Limits,
    started: DateTime<Utc>,
    tokens: super::rbac::Tokens,
}

#[derive(Debug)]
struct World {
    store: Store,
    history: VecDeque<Arc<Change>>,
}

/// Where a watch starts: what it replays, and the live feed after it.
pub(crate) struct WatchStart {
    pub replay: Vec<Arc<Change>>,
    pub feed: broadcast::Receiver<Arc<Change>>,
    pub rv: u64,
}

impl KubeState {
    /// Loads the scenario's `kubernetes` section, resolving relative times against now,
    /// and lets the controllers settle the world (without recording events for it).
    pub fn new(
        scenario: &KubernetesScenario,
        seed: u64,
        limits: Limits,
    ) -> Result<Self, K8sSimError> {
        let now = Utc::now();
        let store = super::load::load(scenario, seed, now)?;
        let (feed, _) = broadcast::channel(1024);
        let (stop, _) = watch::channel(false);
        Ok(KubeState {
            inner: Arc::new(Inner {
                world: Mutex::new(World {
                    store,
                    history: VecDeque::new(),
                }),
                feed,
                watch_slots: Arc::new(Semaphore::new(limits.max_watches)),
                stop,
                limits,
                started: now,
                tokens: super::rbac::Tokens::default(),
            }),
        })
    }

    fn world(&self) -> MutexGuard<'_, World> {
        // A panic elsewhere cannot leave the store half-written (writes are whole-object
        // replacements), so a poisoned lock is still safe to use.
        self.inner.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One object, in its stored shape (core/v1 for events). `kind` is a kind, plural or
    /// short name (`Deployment`, `deployments`, `deploy`); `namespace` is ignored for
    /// cluster-scoped kinds.
    pub fn get(&self, kind: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        let rt = resources::lookup(kind)?;
        let ns = if rt.namespaced {
            namespace.unwrap_or("default")
        } else {
            ""
        };
        self.world().store.get(rt.store_key()?, ns, name).cloned()
    }

    /// Every object of a kind, in one namespace or (with `None`) all, sorted by
    /// namespace and name.
    pub fn list(&self, kind: &str, namespace: Option<&str>) -> Vec<Value> {
        let Some(rt) = resources::lookup(kind) else {
            return Vec::new();
        };
        let Some(key) = rt.store_key() else {
            return Vec::new();
        };
        let ns = if rt.namespaced { namespace } else { None };
        self.world().store.list_owned(key, ns)
    }

    /// Creates or replaces an object as a client would (validation, defaults, controller
    /// effects, watch events): for demos and rehearsals that change the world mid-run.
    pub fn apply(&self, object: Value) -> Result<Value, K8sSimError> {
        let api_version = obj::str_at(&object, "/apiVersion").unwrap_or("").to_owned();
        let rt = resources::by_kind(&api_version, obj::kind(&object)).ok_or_else(|| {
            K8sSimError::Refused(format!(
                "unknown kind {} in {api_version}",
                obj::kind(&object)
            ))
        })?;
        let namespace = if rt.namespaced {
            obj::namespace(&object).to_owned()
        } else {
            String::new()
        };
        let namespace = if rt.namespaced && namespace.is_empty() {
            "default".to_owned()
        } else {
            namespace
        };
        let name = obj::name(&object).to_owned();
        self.write(false, |store| {
            let key = super::write::store_key(rt)?;
            match store.get(key, &namespace, &name).cloned() {
                Some(existing) => {
                    let mut replacement = object.clone();
                    obj::set(
                        &mut replacement,
                        &["metadata", "resourceVersion"],
                        existing["metadata"]["resourceVersion"].clone(),
                    );
                    let main = super::write::update(
                        store,
                        rt,
                        &namespace,
                        &name,
                        replacement.clone(),
                        super::write::Part::Main,
                    )?;
                    match replacement.get("status") {
                        Some(_) if rt.subresources.iter().any(|s| s.name == "status") => {
                            let mut status = replacement;
                            obj::set(
                                &mut status,
                                &["metadata", "resourceVersion"],
                                main["metadata"]["resourceVersion"].clone(),
                            );
                            super::write::update(
                                store,
                                rt,
                                &namespace,
                                &name,
                                status,
                                super::write::Part::Status,
                            )
                        }
                        _ => Ok(main),
                    }
                }
                None => super::write::create(store, rt, &namespace, object.clone()),
            }
        })
        .map_err(|status| K8sSimError::Refused(status.message))
    }

    /// Deletes an object as a client would (pods are replaced by their controllers,
    /// owned objects are collected). `Ok(None)` when there was nothing to delete.
    pub fn delete(
        &self,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>, K8sSimError> {
        let rt = resources::lookup(kind)
            .ok_or_else(|| K8sSimError::Refused(format!("unknown kind {kind}")))?;
        let ns = if rt.namespaced {
            namespace.unwrap_or("default")
        } else {
            ""
        };
        let result = self.write(false, |store| {
            super::write::delete(store, rt, ns, name, &super::write::DeleteOptions::default())
        });
        match result {
            Ok(answer) => Ok(Some(answer)),
            Err(status) if status.reason == super::status::Reason::NotFound => Ok(None),
            Err(status) => Err(K8sSimError::Refused(status.message)),
        }
    }

    /// Runs the controllers again so that what depends on time happens (the simulated
    /// Karpenter's nodes turn Ready, empty ones are consolidated); the server calls it every
    /// second, tests call it after a pause.
    pub fn tick(&self) {
        if self.read(controllers::karpenter::fit::installed) {
            // A write of nothing: the controllers run and watches see their changes.
            let _ = self.write(false, |_| Ok(()));
        }
    }

    /// Ticks every second until the simulator stops.
    pub(crate) fn spawn_ticker(&self) -> tokio::task::JoinHandle<()> {
        let state = self.clone();
        let mut stopped = self.stopped();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = every.tick() => state.tick(),
                    _ = stopped.changed() => return,
                }
            }
        })
    }

    /// The latest resource version.
    pub fn resource_version(&self) -> u64 {
        self.world().store.resource_version()
    }

    /// When this state was loaded (the "now" relative scenario times were resolved to).
    pub fn started_at(&self) -> DateTime<Utc> {
        self.inner.started
    }

    /// The ServiceAccount tokens issued by the TokenRequest API.
    pub(crate) fn tokens(&self) -> &super::rbac::Tokens {
        &self.inner.tokens
    }

    pub(crate) fn limits(&self) -> Limits {
        self.inner.limits
    }

    /// Runs a read under the lock.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Store) -> T) -> T {
        f(&self.world().store)
    }

    /// Runs a write. A dry run works on a copy that is dropped; a real one runs the
    /// controllers, publishes the changes to watches, and is undone whole if it fails.
    pub(crate) fn write<T>(
        &self,
        dry_run: bool,
        f: impl FnOnce(&mut Store) -> Result<T, ApiStatus>,
    ) -> Result<T, ApiStatus> {
        let mut world = self.world();
        if dry_run {
            let mut copy = world.store.clone();
            return f(&mut copy);
        }
        let backup = world.store.clone();
        let result = f(&mut world.store);
        if result.is_err() {
            world.store = backup;
            return result;
        }
        controllers::reconcile(&mut world.store);
        let changes = world.store.take_changes();
        for change in changes {
            let change = Arc::new(change);
            world.history.push_back(change.clone());
            // No receivers is fine: nobody is watching.
            let _ = self.inner.feed.send(change);
        }
        let cap = self.inner.limits.history;
        while world.history.len() > cap {
            world.history.pop_front();
        }
        result
    }

    /// Starts a watch: from `rv` (replaying the kept history after it) or, with `None`,
    /// from now. `snapshot` runs under the same lock, so the objects it reads and the
    /// live feed leave no gap. `Err` carries the oldest version still available when
    /// `rv` is older than that.
    pub(crate) fn watch_from<T>(
        &self,
        rv: Option<u64>,
        snapshot: impl FnOnce(&Store) -> T,
    ) -> Result<(WatchStart, T), u64> {
        let world = self.world();
        let current = world.store.resource_version();
        let feed = self.inner.feed.subscribe();
        let taken = snapshot(&world.store);
        let Some(rv) = rv.filter(|rv| *rv < current) else {
            return Ok((
                WatchStart {
                    replay: Vec::new(),
                    feed,
                    rv: current,
                },
                taken,
            ));
        };
        match world.history.front().map(|c| c.rv) {
            Some(oldest) if oldest <= rv + 1 => Ok((
                WatchStart {
                    replay: world
                        .history
                        .iter()
                        .filter(|c| c.rv > rv)
                        .cloned()
                        .collect(),
                    feed,
                    rv: current,
                },
                taken,
            )),
            // Nothing kept, or a gap: the client must re-list.
            oldest => Err(oldest.unwrap_or(current)),
        }
    }

    /// How many watches are open (for tests that must act after a client started one).
    pub fn open_watches(&self) -> usize {
        self.inner
            .limits
            .max_watches
            .saturating_sub(self.inner.watch_slots.available_permits())
    }

    /// A slot for one more watch, or `None` when the cap is reached.
    pub(crate) fn watch_slot(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.inner.watch_slots.clone().try_acquire_owned().ok()
    }

    /// Resolves when the simulator is shutting down (watches end then).
    pub(crate) fn stopped(&self) -> watch::Receiver<bool> {
        self.inner.stop.subscribe()
    }

    /// Ends every open watch, so a graceful shutdown does not wait on them.
    pub fn stop_watches(&self) {
        self.inner.stop.send_replace(true);
    }
}
