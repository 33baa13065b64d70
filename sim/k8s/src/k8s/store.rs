//! The object store: every object by (storage key, namespace, name), the resource version
//! counter, and the changes a write produced (for watches).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::obj;
use crate::scenario::Metrics;
use crate::time;

use super::logs::LogBook;

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeType {
    Added,
    Modified,
    Deleted,
}

impl ChangeType {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::Added => "ADDED",
            ChangeType::Modified => "MODIFIED",
            ChangeType::Deleted => "DELETED",
        }
    }
}

/// One write, as a watch reports it.
#[derive(Debug, Clone)]
pub struct Change {
    pub rv: u64,
    pub store_key: &'static str,
    pub change: ChangeType,
    pub object: Value,
}

type Key = (&'static str, String, String);

/// The simulated cluster's state. Cloning it is how dry runs work: the write runs on a
/// copy that is then dropped.
#[derive(Debug, Clone)]
pub struct Store {
    objects: BTreeMap<Key, Value>,
    rv: u64,
    rng: SplitMix,
    changes: Vec<Change>,
    counter: u64,
    /// Whether controllers record events; off while the scenario loads, so a scenario
    /// describes a steady state rather than its own creation.
    pub recording: bool,
    /// Uids of pods the simulator could not place; retried after every write.
    pub unscheduled: std::collections::BTreeSet<String>,
    pub logs: Arc<LogBook>,
    pub metrics: Arc<Metrics>,
    /// Who makes the API write under way (set by the handler, taken by the write that
    /// records it in `managedFields`); controllers' own writes have none.
    pub writer: Option<super::managed::Writer>,
    /// The simulated Karpenter's settings (node startup time).
    pub karpenter: super::controllers::karpenter::KarpenterSettings,
}

impl Store {
    pub fn new(seed: u64, logs: LogBook, metrics: Metrics) -> Self {
        Store {
            objects: BTreeMap::new(),
            rv: 1000,
            rng: SplitMix(seed),
            changes: Vec::new(),
            counter: 0,
            recording: true,
            unscheduled: std::collections::BTreeSet::new(),
            logs: Arc::new(logs),
            metrics: Arc::new(metrics),
            writer: None,
            karpenter: Default::default(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    pub fn now_string(&self) -> String {
        time::rfc3339(self.now())
    }

    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    pub fn get(&self, store_key: &'static str, namespace: &str, name: &str) -> Option<&Value> {
        self.objects
            .get(&(store_key, namespace.to_owned(), name.to_owned()))
    }

    /// Objects of one store key, in one namespace or all, sorted by namespace and name.
    pub fn list<'a>(
        &'a self,
        store_key: &'static str,
        namespace: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Value> + 'a {
        let start: Key = (store_key, namespace.unwrap_or("").to_owned(), String::new());
        self.objects
            .range(start..)
            .take_while(move |((k, ns, _), _)| {
                *k == store_key && namespace.is_none_or(|want| want == ns)
            })
            .map(|(_, v)| v)
    }

    /// Clones of the objects of one store key (for loops that write while they iterate).
    pub fn list_owned(&self, store_key: &'static str, namespace: Option<&str>) -> Vec<Value> {
        self.list(store_key, namespace).cloned().collect()
    }

    /// Stores a new object, filling uid, creationTimestamp, resourceVersion and generation.
    pub fn insert_new(&mut self, store_key: &'static str, mut object: Value) -> Value {
        let uid = self.uid();
        let now = self.now_string();
        if let Some(meta) = obj::object_mut(&mut object, &["metadata"]) {
            meta.entry("uid").or_insert_with(|| Value::from(uid));
            meta.entry("creationTimestamp")
                .or_insert_with(|| Value::from(now));
            meta.remove("deletionTimestamp");
        }
        if object.get("spec").is_some() && object.pointer("/metadata/generation").is_none() {
            obj::set(&mut object, &["metadata", "generation"], json!(1));
        }
        self.write(store_key, object, ChangeType::Added)
    }

    /// Replaces a stored object, bumping its generation when its spec changed.
    pub fn replace(&mut self, store_key: &'static str, mut object: Value) -> Value {
        let key = key_of(store_key, &object);
        if let Some(old) = self.objects.get(&key) {
            if old == &object {
                return object;
            }
            if old.get("spec") != object.get("spec") {
                let generation = obj::i64_at(old, "/metadata/generation")
                    .unwrap_or(0)
                    .saturating_add(1);
                obj::set(&mut object, &["metadata", "generation"], json!(generation));
            }
        }
        self.write(store_key, object, ChangeType::Modified)
    }

    fn write(&mut self, store_key: &'static str, mut object: Value, change: ChangeType) -> Value {
        self.rv += 1;
        obj::set(
            &mut object,
            &["metadata", "resourceVersion"],
            Value::from(self.rv.to_string()),
        );
        self.objects
            .insert(key_of(store_key, &object), object.clone());
        self.changes.push(Change {
            rv: self.rv,
            store_key,
            change,
            object: object.clone(),
        });
        object
    }

    /// Removes an object; the returned copy carries the deletion's resource version.
    pub fn remove(
        &mut self,
        store_key: &'static str,
        namespace: &str,
        name: &str,
    ) -> Option<Value> {
        let mut object =
            self.objects
                .remove(&(store_key, namespace.to_owned(), name.to_owned()))?;
        self.rv += 1;
        obj::set(
            &mut object,
            &["metadata", "resourceVersion"],
            Value::from(self.rv.to_string()),
        );
        self.changes.push(Change {
            rv: self.rv,
            store_key,
            change: ChangeType::Deleted,
            object: object.clone(),
        });
        Some(object)
    }

    /// The changes made since the last call, oldest first.
    pub fn take_changes(&mut self) -> Vec<Change> {
        std::mem::take(&mut self.changes)
    }

    /// A fresh uid (UUID v4 form).
    pub fn uid(&mut self) -> String {
        let a = self.rng.next();
        let b = self.rng.next();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0x0fff,
            ((b >> 48) & 0x3fff) | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }

    /// A random name suffix in the alphabet Kubernetes uses (no vowels, no look-alikes).
    pub fn suffix(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        (0..len)
            .map(|_| {
                let i = (self.rng.next() % ALPHABET.len() as u64) as usize;
                char::from(ALPHABET[i])
            })
            .collect()
    }

    /// A random 64-bit number (container ids, image digests).
    pub fn random(&mut self) -> u64 {
        self.rng.next()
    }

    /// A counter that only goes up (pod IPs, event names).
    pub fn next_counter(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }
}

fn key_of(store_key: &'static str, object: &Value) -> Key {
    (
        store_key,
        obj::namespace(object).to_owned(),
        obj::name(object).to_owned(),
    )
}

/// A small deterministic generator (SplitMix64): names and uids repeat for a given seed,
/// which keeps test failures reproducible.
#[derive(Debug, Clone)]
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_bump_versions_and_record_changes() {
        let mut s = Store::new(1, LogBook::default(), Metrics::default());
        let a = s.insert_new(
            "pods",
            json!({"metadata": {"name": "a", "namespace": "x"}, "spec": {}}),
        );
        assert_eq!(a["metadata"]["resourceVersion"], "1001");
        assert_eq!(a["metadata"]["generation"], 1);
        let mut b = a.clone();
        b["spec"]["x"] = json!(1);
        let b = s.replace("pods", b);
        assert_eq!(b["metadata"]["generation"], 2);
        assert_eq!(s.list("pods", Some("x")).count(), 1);
        assert_eq!(s.list("pods", Some("y")).count(), 0);
        assert_eq!(s.list("nodes", None).count(), 0);
        let gone = s.remove("pods", "x", "a").unwrap();
        assert_eq!(gone["metadata"]["resourceVersion"], "1003");
        let kinds: Vec<ChangeType> = s.take_changes().iter().map(|c| c.change).collect();
        assert_eq!(
            kinds,
            [ChangeType::Added, ChangeType::Modified, ChangeType::Deleted]
        );
        assert_eq!(s.suffix(5).len(), 5);
        assert_ne!(s.uid(), s.uid());
    }
}
