//! NetworkPolicy, enforced where every pod-to-pod connection is made: the pod network asks
//! [`Policies::allows`] before it routes a connect (or a datagram) from one pod to another,
//! directly or through a Service. Semantics as upstream's: a pod selected by a policy with
//! `Ingress` (or `Egress`) in its `policyTypes` is isolated in that direction, and then only
//! what some selecting policy's rules allow gets through — peers by podSelector (in the
//! policy's namespace), namespaceSelector (optionally narrowed by a podSelector) or ipBlock,
//! ports by number, name or range. A connection must be allowed out of the client and into the
//! server. Something a CNI plugin does elsewhere, done here in the socket layer.
//!
//! Fail closed: until the first list has loaded the table nothing pod-to-pod is allowed (the
//! node agent starts no pod before that), and a pod is known by its IP from the moment the
//! agent allocates it ([`Policies::learn`]), before the pod runs and before its status (with
//! `podIP`) comes back through the watch.

use crate::NodeAgent;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use wasmkube_api::meta;
use wasmkube_api::selector::LabelSelector;
use wasmkube_runtime::network::{ConnectPolicy, Proto};

/// A pod as policies see it.
#[derive(Debug, Clone, Default)]
struct PodView {
    /// The pod this address belongs to (another pod of the same name may come and go).
    uid: String,
    namespace: String,
    labels: Map<String, Value>,
    /// Named container ports: name -> (protocol, port).
    ports: HashMap<String, (Proto, u16)>,
}

#[derive(Default)]
struct Table {
    pods: HashMap<Ipv4Addr, PodView>,
    /// pod uid -> its IP, to forget a deleted pod.
    pod_ips: HashMap<String, Ipv4Addr>,
    namespaces: HashMap<String, Map<String, Value>>,
    policies: BTreeMap<(String, String), Arc<Value>>,
    /// IPs the agent gave to pods (by uid): they win over what the pod's status says (perhaps
    /// still the IP of a run before a restart) until the status reports them.
    learned: HashMap<String, Ipv4Addr>,
}

#[derive(Clone)]
pub(crate) struct Policies {
    table: Arc<RwLock<Table>>,
    /// Whether the table has been loaded once (it is kept, not emptied, across relists).
    loaded: tokio::sync::watch::Sender<bool>,
}

impl Default for Policies {
    fn default() -> Self {
        Policies { table: Arc::default(), loaded: tokio::sync::watch::Sender::new(false) }
    }
}

pub(crate) async fn run(agent: NodeAgent, policies: Policies) {
    loop {
        if let Err(e) = policies.follow(&agent).await {
            tracing::warn!(error = %e, "network policy watch ended; relisting");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn protocol(v: Option<&Value>) -> Option<Proto> {
    match v.and_then(Value::as_str).unwrap_or("TCP") {
        "TCP" => Some(Proto::Tcp),
        "UDP" => Some(Proto::Udp),
        _ => None,
    }
}

impl Policies {
    async fn follow(&self, agent: &NodeAgent) -> Result<(), wasmkube_api::ApiError> {
        use futures::StreamExt;
        let (objects, mut events) = agent.inner.api.list_watch_everything().await?;
        {
            let mut t = self.write();
            let old = std::mem::take(&mut *t);
            // Pods this agent gave an IP to whose status may not say so yet stay known.
            for (uid, ip) in old.learned {
                if let Some(view) = old.pods.get(&ip).filter(|v| v.uid == uid) {
                    t.pods.insert(ip, view.clone());
                    t.pod_ips.insert(uid.clone(), ip);
                    t.learned.insert(uid, ip);
                }
            }
            for (def, obj) in &objects {
                t.take(def.storage, obj, false);
            }
        }
        self.loaded.send_replace(true);
        while let Some(ev) = events.next().await {
            let ev = ev?;
            self.write().take(ev.def.storage, &ev.object, ev.deleted);
        }
        Ok(())
    }

    /// Wait until the table has been loaded once.
    pub(crate) async fn loaded(&self) {
        let mut loaded = self.loaded.subscribe();
        // The sender lives in `self`, so this cannot fail.
        let _ = loaded.wait_for(|l| *l).await;
    }

    /// The agent gave `pod` the IP `ip` and is about to start it: policies apply to it from now
    /// on, before its status reports the IP.
    pub(crate) fn learn(&self, pod: &Value, ip: Ipv4Addr) {
        let mut t = self.write();
        t.place(pod_view(pod), ip);
        t.learned.insert(meta::uid(pod).to_string(), ip);
    }

    /// The agent released `ip` of `pod`: forget it unless it is someone else's by now.
    pub(crate) fn forget(&self, pod: &Value, ip: Ipv4Addr) {
        let uid = meta::uid(pod);
        let mut t = self.write();
        if t.learned.get(uid) == Some(&ip) {
            t.learned.remove(uid);
        }
        if t.pod_ips.get(uid) == Some(&ip) {
            t.unplace(uid);
        }
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Table> {
        self.table.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Table {
    /// `view`'s pod has `ip` now (and no other address).
    fn place(&mut self, view: PodView, ip: Ipv4Addr) {
        if self.pod_ips.get(&view.uid).is_some_and(|old| *old != ip) {
            self.unplace(&view.uid);
        }
        self.pod_ips.insert(view.uid.clone(), ip);
        self.pods.insert(ip, view);
    }

    /// Forget pod `uid`'s address, unless another pod holds it by now.
    fn unplace(&mut self, uid: &str) {
        if let Some(ip) = self.pod_ips.remove(uid)
            && self.pods.get(&ip).is_some_and(|v| v.uid == uid)
        {
            self.pods.remove(&ip);
        }
    }

    fn take(&mut self, storage: &str, obj: &Arc<Value>, deleted: bool) {
        let key = (meta::namespace(obj).to_string(), meta::name(obj).to_string());
        match storage {
            "pods" => {
                let uid = meta::uid(obj);
                if deleted {
                    self.learned.remove(uid);
                    self.unplace(uid);
                    return;
                }
                let reported: Option<Ipv4Addr> =
                    obj.pointer("/status/podIP").and_then(Value::as_str).and_then(|s| s.parse().ok());
                let learned = self.learned.get(uid).copied();
                if learned.is_some() && reported == learned {
                    self.learned.remove(uid);
                }
                // What the agent gave the pod wins over a status that does not say so yet.
                match learned.or(reported) {
                    Some(ip) => self.place(pod_view(obj), ip),
                    None => self.unplace(uid),
                }
            }
            "namespaces" => {
                if deleted {
                    self.namespaces.remove(&key.1);
                } else {
                    self.namespaces.insert(key.1, meta::labels(obj).cloned().unwrap_or_default());
                }
            }
            "networking.k8s.io/networkpolicies" => {
                if deleted {
                    self.policies.remove(&key);
                } else {
                    self.policies.insert(key, obj.clone());
                }
            }
            _ => {}
        }
    }

    /// The policies of `pod`'s namespace that select it and cover `direction`.
    fn selecting<'a>(&'a self, pod: &'a PodView, direction: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.policies.values().map(|p| p.as_ref()).filter(move |p| {
            meta::namespace(p) == pod.namespace
                && selects(p.pointer("/spec/podSelector"), &pod.labels)
                && covers(p, direction)
        })
    }

    /// Whether `peer` (a `from`/`to` entry of a rule in a policy of `policy_ns`) matches the
    /// other end of the connection.
    fn peer_matches(&self, peer: &Value, policy_ns: &str, other: Ipv4Addr) -> bool {
        if let Some(block) = peer.get("ipBlock") {
            return ip_block(block, other);
        }
        let Some(pod) = self.pods.get(&other) else { return false };
        let ns_ok = match peer.get("namespaceSelector") {
            Some(sel) => selects(Some(sel), self.namespaces.get(&pod.namespace).unwrap_or(&Map::new())),
            None => pod.namespace == policy_ns,
        };
        ns_ok && peer.get("podSelector").is_none_or(|sel| selects(Some(sel), &pod.labels))
    }

    /// Whether a policy's `ingress` rules (`from` peers) or `egress` rules (`to` peers) let
    /// `other` (the far end) through to `target`.
    fn rules_allow(&self, policy: &Value, egress: bool, other: Ipv4Addr, target: &Target<'_>) -> bool {
        let ns = meta::namespace(policy);
        let (key, peers_key) = if egress { ("egress", "to") } else { ("ingress", "from") };
        policy.pointer(&format!("/spec/{key}")).and_then(Value::as_array).into_iter().flatten().any(|rule| {
            let peers = rule.get(peers_key).and_then(Value::as_array);
            let peer_ok =
                peers.is_none_or(|p| p.is_empty() || p.iter().any(|peer| self.peer_matches(peer, ns, other)));
            let ports = rule.get("ports").and_then(Value::as_array);
            let port_ok = ports.is_none_or(|p| p.is_empty() || p.iter().any(|pp| port_matches(pp, target)));
            peer_ok && port_ok
        })
    }
}

/// The serving end of a connection: its pod (when it is one), protocol and port.
struct Target<'a> {
    server: Option<&'a PodView>,
    proto: Proto,
    port: u16,
}

impl ConnectPolicy for Policies {
    fn allows(&self, from: Ipv4Addr, to: Ipv4Addr, proto: Proto, port: u16) -> bool {
        if !*self.loaded.borrow() {
            return false;
        }
        let t = self.table.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let server = t.pods.get(&to);
        let target = Target { server, proto, port };
        // Out of the client.
        if let Some(client) = t.pods.get(&from) {
            let mut selecting = t.selecting(client, "Egress").peekable();
            if selecting.peek().is_some() && !selecting.any(|p| t.rules_allow(p, true, to, &target)) {
                return false;
            }
        }
        // Into the server.
        if let Some(server) = server {
            let mut selecting = t.selecting(server, "Ingress").peekable();
            if selecting.peek().is_some() && !selecting.any(|p| t.rules_allow(p, false, from, &target)) {
                return false;
            }
        }
        true
    }
}

fn pod_view(pod: &Value) -> PodView {
    let mut ports = HashMap::new();
    for key in ["containers", "initContainers"] {
        for c in pod.pointer(&format!("/spec/{key}")).and_then(Value::as_array).into_iter().flatten() {
            for p in c.get("ports").and_then(Value::as_array).into_iter().flatten() {
                let (Some(name), Some(number), Some(proto)) = (
                    p.get("name").and_then(Value::as_str),
                    p.get("containerPort").and_then(Value::as_u64).and_then(|n| u16::try_from(n).ok()),
                    protocol(p.get("protocol")),
                ) else {
                    continue;
                };
                ports.insert(name.to_string(), (proto, number));
            }
        }
    }
    PodView {
        uid: meta::uid(pod).to_string(),
        namespace: meta::namespace(pod).to_string(),
        labels: meta::labels(pod).cloned().unwrap_or_default(),
        ports,
    }
}

/// An unparseable selector selects nothing (validation refuses those anyway).
fn selects(selector: Option<&Value>, labels: &Map<String, Value>) -> bool {
    match selector {
        None => true,
        Some(sel) => LabelSelector::from_json(sel).is_ok_and(|s| s.matches(Some(labels))),
    }
}

/// `policyTypes`, defaulted as upstream does: Ingress always, Egress when there are egress rules.
fn covers(policy: &Value, direction: &str) -> bool {
    match policy.pointer("/spec/policyTypes").and_then(Value::as_array) {
        Some(types) if !types.is_empty() => types.iter().any(|t| t.as_str() == Some(direction)),
        _ => direction == "Ingress" || policy.pointer("/spec/egress").is_some_and(|e| !e.is_null()),
    }
}

fn port_matches(rule: &Value, target: &Target<'_>) -> bool {
    if protocol(rule.get("protocol")) != Some(target.proto) {
        return false;
    }
    match rule.get("port") {
        None | Some(Value::Null) => true,
        Some(Value::String(name)) => target
            .server
            .and_then(|s| s.ports.get(name))
            .is_some_and(|(p, n)| *p == target.proto && *n == target.port),
        Some(v) => {
            let start = v.as_u64().unwrap_or(0);
            let end = rule.get("endPort").and_then(Value::as_u64).unwrap_or(start);
            (start..=end).contains(&u64::from(target.port))
        }
    }
}

fn ip_block(block: &Value, ip: Ipv4Addr) -> bool {
    let inside = |cidr: &str| {
        let Some((net, prefix)) = cidr.split_once('/') else { return false };
        let (Ok(net), Ok(prefix)) = (net.parse::<Ipv4Addr>(), prefix.parse::<u32>()) else { return false };
        let mask = if prefix == 0 { 0 } else { u32::MAX.checked_shl(32 - prefix.min(32)).unwrap_or(0) };
        u32::from(ip) & mask == u32::from(net) & mask
    };
    let cidr = block.get("cidr").and_then(Value::as_str).unwrap_or("");
    let except =
        block.get("except").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str);
    inside(cidr) && !except.into_iter().any(inside)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const A: Ipv4Addr = Ipv4Addr::new(10, 244, 0, 2);
    const B: Ipv4Addr = Ipv4Addr::new(10, 244, 0, 3);

    fn table(policies: &[Value]) -> Policies {
        let p = Policies::default();
        p.loaded.send_replace(true);
        {
            let mut t = p.write();
            let pod = |ns: &str, name: &str, ip: &str, labels: Value| {
                Arc::new(json!({"metadata": {"namespace": ns, "name": name, "uid": name, "labels": labels},
                    "spec": {"containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 8080}]}]},
                    "status": {"podIP": ip}}))
            };
            t.take("pods", &pod("a", "client", "10.244.0.2", json!({"role": "client"})), false);
            t.take("pods", &pod("b", "server", "10.244.0.3", json!({"app": "web"})), false);
            t.take(
                "namespaces",
                &Arc::new(json!({"metadata": {"name": "a", "labels": {"team": "a"}}})),
                false,
            );
            t.take(
                "namespaces",
                &Arc::new(json!({"metadata": {"name": "b", "labels": {"team": "b"}}})),
                false,
            );
            for (i, pol) in policies.iter().enumerate() {
                let mut pol = pol.clone();
                pol["metadata"] = json!({"namespace": "b", "name": format!("p{i}")});
                t.take("networking.k8s.io/networkpolicies", &Arc::new(pol), false);
            }
        }
        p
    }

    #[test]
    fn default_deny_then_a_namespace_and_port_allowance() {
        assert!(table(&[]).allows(A, B, Proto::Tcp, 8080), "no policy: open");
        let deny = json!({"spec": {"podSelector": {}, "policyTypes": ["Ingress"]}});
        assert!(!table(std::slice::from_ref(&deny)).allows(A, B, Proto::Tcp, 8080));
        let allow = json!({"spec": {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{
            "from": [{"namespaceSelector": {"matchLabels": {"team": "a"}}}], "ports": [{"port": "http"}]}]}});
        let t = table(&[deny.clone(), allow]);
        assert!(t.allows(A, B, Proto::Tcp, 8080), "allowed from namespace a on the named port");
        assert!(!t.allows(A, B, Proto::Tcp, 9090), "only that port");
        assert!(!t.allows(A, B, Proto::Udp, 8080), "only TCP");
        let same_ns_only = json!({"spec": {"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}]}});
        assert!(
            !table(&[same_ns_only]).allows(A, B, Proto::Tcp, 8080),
            "a podSelector alone means the policy's namespace"
        );
        let block = json!({"spec": {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "10.244.0.0/16", "except": ["10.244.0.2/32"]}}]}]}});
        assert!(!table(&[block]).allows(A, B, Proto::Tcp, 8080), "except wins");
    }

    #[test]
    fn closed_until_loaded_and_a_starting_pod_is_isolated_before_its_status_has_an_ip() {
        let fresh = Policies::default();
        assert!(!fresh.allows(A, B, Proto::Tcp, 8080), "nothing is allowed before the first list");
        let deny = json!({"spec": {"podSelector": {}, "policyTypes": ["Ingress"]}});
        let t = table(&[deny]);
        const C: Ipv4Addr = Ipv4Addr::new(10, 244, 0, 9);
        let starting =
            json!({"metadata": {"namespace": "b", "name": "new", "uid": "u2"}, "spec": {"containers": []}});
        assert!(t.allows(A, C, Proto::Tcp, 8080), "an unknown address is not a pod of b");
        t.learn(&starting, C);
        assert!(!t.allows(A, C, Proto::Tcp, 8080), "learned: b's default deny applies at once");
        // Its first watch event (labels changed, no IP in the status yet) keeps the learned IP.
        let mut labelled = starting.clone();
        labelled["metadata"]["labels"] = json!({"x": "y"});
        t.write().take("pods", &Arc::new(labelled), false);
        assert!(!t.allows(A, C, Proto::Tcp, 8080), "still known by its IP");
        // A pod of the same name that went before (a StatefulSet's, a forced delete) goes
        // away after the new one was learned: the new one stays known.
        const OLD: Ipv4Addr = Ipv4Addr::new(10, 244, 0, 8);
        let before = json!({"metadata": {"namespace": "b", "name": "new", "uid": "u1"}, "spec": {"containers": []},
            "status": {"podIP": "10.244.0.8"}});
        t.write().take("pods", &Arc::new(before.clone()), false);
        t.forget(&before, OLD);
        t.write().take("pods", &Arc::new(before), true);
        assert!(!t.allows(A, C, Proto::Tcp, 8080), "the new pod is still isolated");
        // A status still carrying an IP of an earlier run does not replace the learned one.
        let mut stale = starting.clone();
        stale["status"] = json!({"podIP": "10.244.0.8"});
        t.write().take("pods", &Arc::new(stale), false);
        assert!(!t.allows(A, C, Proto::Tcp, 8080), "learned IP kept over a stale status");
        t.forget(&starting, C);
        assert!(t.allows(A, C, Proto::Tcp, 8080), "forgotten once the agent releases the IP");
    }
}
