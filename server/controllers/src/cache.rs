//! The controllers' view of one resource: what the watch said, plus what we wrote ourselves.
//!
//! Upstream controllers track "expectations" (creations and deletions they made but have not yet
//! seen in their informer) so that a burst of events never makes them act twice. We get the same
//! guarantee more directly: every successful write of ours goes into the cache at once
//! ([`Objects::wrote`], [`Objects::removed`]), and watch events older than what the cache holds do
//! not change it. Since the watch delivers every revision in order, the cache never goes
//! backwards; and since every event is still reported as a change, every write by anyone leads
//! to a sync after it, as with upstream's informers.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use wasmkube_api::meta;

/// Namespace and name.
pub(crate) type Key = (String, String);

pub(crate) fn key_of(obj: &Value) -> Key {
    (meta::namespace(obj).to_string(), meta::name(obj).to_string())
}

/// The revision an object was read at (`metadata.resourceVersion`).
pub(crate) fn revision(obj: &Value) -> u64 {
    meta::str_at(obj, &["metadata", "resourceVersion"]).and_then(|rv| rv.parse().ok()).unwrap_or(0)
}

/// The ownerReference with `controller: true`, if any.
pub(crate) fn controller_ref(obj: &Value) -> Option<&Value> {
    obj.pointer("/metadata/ownerReferences")?
        .as_array()?
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
}

pub(crate) fn controller_uid(obj: &Value) -> Option<&str> {
    controller_ref(obj)?.get("uid")?.as_str()
}

/// A change the cache accepted: the object before and after (None = absent).
pub(crate) struct Change {
    pub old: Option<Arc<Value>>,
    pub new: Option<Arc<Value>>,
}

/// Every object of one resource, indexed by name, uid and controlling owner.
#[derive(Default)]
pub(crate) struct Objects {
    items: BTreeMap<Key, Arc<Value>>,
    uids: HashMap<String, Key>,
    owned: HashMap<String, BTreeSet<Key>>,
    orphans: BTreeSet<Key>,
    /// Uids we deleted whose deletion event has not arrived: their late events are stale.
    tombstones: HashSet<String>,
}

impl Objects {
    pub fn clear(&mut self) {
        *self = Objects::default();
    }

    pub fn get_key(&self, key: &Key) -> Option<&Arc<Value>> {
        self.items.get(key)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Value>> {
        self.items.values()
    }

    pub fn keys(&self) -> Vec<Key> {
        self.items.keys().cloned().collect()
    }

    pub fn by_uid(&self, uid: &str) -> Option<&Arc<Value>> {
        self.items.get(self.uids.get(uid)?)
    }

    pub fn in_namespace<'a>(&'a self, ns: &str) -> impl Iterator<Item = &'a Arc<Value>> + 'a {
        let start = (ns.to_string(), String::new());
        let ns = ns.to_string();
        self.items.range(start..).take_while(move |((n, _), _)| *n == ns).map(|(_, v)| v)
    }

    /// Objects whose controlling ownerReference names `uid`.
    pub fn owned_by<'a>(&'a self, uid: &str) -> impl Iterator<Item = &'a Arc<Value>> + 'a {
        self.owned.get(uid).into_iter().flatten().filter_map(|k| self.items.get(k))
    }

    /// Objects in `ns` without a controlling owner (candidates for adoption).
    pub fn orphans_in<'a>(&'a self, ns: &str) -> impl Iterator<Item = &'a Arc<Value>> + 'a {
        let start = (ns.to_string(), String::new());
        let ns = ns.to_string();
        self.orphans.range(start..).take_while(move |(n, _)| *n == ns).filter_map(|k| self.items.get(k))
    }

    /// A watch event. Returns the change if the event is newer than what we hold.
    pub fn observe(&mut self, obj: &Arc<Value>, deleted: bool) -> Option<Change> {
        let key = key_of(obj);
        let uid = meta::uid(obj);
        if deleted {
            self.tombstones.remove(uid);
            let same = self.items.get(&key).is_some_and(|cur| meta::uid(cur) == uid);
            return same.then(|| Change { old: self.take(&key), new: None });
        }
        if self.tombstones.contains(uid) {
            return None;
        }
        if let Some(cur) = self.items.get(&key)
            && meta::uid(cur) == uid
            && revision(cur) >= revision(obj)
        {
            // We already hold this state or a newer one (from our own write). The content
            // stays, but the event still counts as a change: the write that got ahead may have
            // carried someone else's change, which only this event announces.
            return Some(Change { old: Some(cur.clone()), new: Some(cur.clone()) });
        }
        Some(self.put(key, obj.clone()))
    }

    /// An object as one of our writes returned it.
    pub fn wrote(&mut self, obj: Value) -> Change {
        self.put(key_of(&obj), Arc::new(obj))
    }

    /// An object one of our deletes removed outright.
    pub fn removed(&mut self, obj: &Value) -> Change {
        let key = key_of(obj);
        let uid = meta::uid(obj).to_string();
        let same = self.items.get(&key).is_some_and(|cur| meta::uid(cur) == uid);
        self.tombstones.insert(uid);
        Change { old: if same { self.take(&key) } else { None }, new: None }
    }

    fn put(&mut self, key: Key, obj: Arc<Value>) -> Change {
        let old = self.take(&key);
        self.uids.insert(meta::uid(&obj).to_string(), key.clone());
        match controller_uid(&obj) {
            Some(owner) => {
                self.owned.entry(owner.to_string()).or_default().insert(key.clone());
            }
            None => {
                self.orphans.insert(key.clone());
            }
        }
        self.items.insert(key, obj.clone());
        Change { old, new: Some(obj) }
    }

    fn take(&mut self, key: &Key) -> Option<Arc<Value>> {
        let old = self.items.remove(key)?;
        self.uids.remove(meta::uid(&old));
        self.orphans.remove(key);
        if let Some(owner) = controller_uid(&old)
            && let Some(set) = self.owned.get_mut(owner)
        {
            set.remove(key);
            if set.is_empty() {
                self.owned.remove(owner);
            }
        }
        Some(old)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(name: &str, uid: &str, rv: u64, owner: Option<&str>) -> Value {
        let mut o = json!({"metadata": {"namespace": "ns", "name": name, "uid": uid,
                                         "resourceVersion": rv.to_string()}});
        if let Some(owner) = owner {
            o["metadata"]["ownerReferences"] = json!([{"uid": owner, "controller": true}]);
        }
        o
    }

    #[test]
    fn stale_events_do_not_roll_back_our_own_write() {
        let mut c = Objects::default();
        c.wrote(obj("a", "u1", 5, Some("o")));
        let change = c.observe(&Arc::new(obj("a", "u1", 3, None)), false).expect("still reported");
        assert_eq!(revision(change.new.as_ref().unwrap()), 5, "but the newer state is kept");
        assert_eq!(c.owned_by("o").count(), 1);
        assert!(c.observe(&Arc::new(obj("a", "u1", 6, None)), false).is_some());
        assert_eq!(c.owned_by("o").count(), 0);
        assert_eq!(c.orphans_in("ns").count(), 1);
    }

    #[test]
    fn removed_objects_stay_gone_until_their_delete_event() {
        let mut c = Objects::default();
        c.wrote(obj("a", "u1", 5, None));
        c.removed(&obj("a", "u1", 5, None));
        assert!(c.observe(&Arc::new(obj("a", "u1", 7, None)), false).is_none());
        assert!(c.observe(&Arc::new(obj("a", "u1", 8, None)), true).is_none());
        // A new object with the same name is a different uid.
        assert!(c.observe(&Arc::new(obj("a", "u2", 9, None)), false).is_some());
        assert_eq!(c.by_uid("u2").map(|o| meta::name(o).to_string()), Some("a".into()));
        assert_eq!(c.in_namespace("ns").count(), 1);
        assert_eq!(c.in_namespace("n").count(), 0);
    }
}
