//! The service registry's allocators: cluster IPs from the service CIDR (default 10.96.0.0/12)
//! and node ports from 30000-32767, as upstream's `ipallocator` and `portallocator`.
//!
//! What is taken lives in memory, loaded from the stored Services on first use (so it survives a
//! restart without a table of its own). A create or update that allocates holds the allocator's
//! lock until its write is done; a [`Claim`] that is dropped without [`Claim::commit`] gives back
//! what it took, so every error path releases. Deleting a Service releases its addresses.

use super::Api;
use super::list::ListOptions;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::net::Ipv4Addr;
use tokio::sync::{Mutex, MutexGuard};
use wasmkube_api::status::ApiError;
use wasmkube_api::{meta, registry};

/// Upstream's default `--service-node-port-range`.
pub const NODE_PORTS: std::ops::RangeInclusive<u16> = 30000..=32767;

/// An IPv4 network, `10.96.0.0/12`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceCidr {
    network: u32,
    prefix: u8,
}

impl ServiceCidr {
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Result<Self, String> {
        if !(8..=30).contains(&prefix) {
            return Err(format!("a service CIDR needs a prefix between /8 and /30, not /{prefix}"));
        }
        let mask = u32::MAX << (32 - prefix);
        Ok(ServiceCidr { network: u32::from(addr) & mask, prefix })
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let (addr, prefix) =
            text.split_once('/').ok_or_else(|| format!("{text:?} is not a CIDR (a.b.c.d/n)"))?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| format!("{addr:?} is not an IPv4 address"))?;
        let prefix: u8 = prefix.parse().map_err(|_| format!("{prefix:?} is not a prefix length"))?;
        ServiceCidr::new(addr, prefix)
    }

    /// The network address and prefix length.
    pub fn network(&self) -> (Ipv4Addr, u8) {
        (Ipv4Addr::from(self.network), self.prefix)
    }

    fn size(&self) -> u32 {
        1u32 << (32 - self.prefix)
    }

    /// Whether `ip` may be handed out: inside, and neither the network nor the broadcast address.
    pub fn usable(&self, ip: Ipv4Addr) -> bool {
        let offset = u32::from(ip).wrapping_sub(self.network);
        offset > 0 && offset < self.size() - 1
    }

    /// The `n`th address of the network (1 is the `kubernetes` Service's).
    pub fn nth(&self, n: u32) -> Ipv4Addr {
        Ipv4Addr::from(self.network + n)
    }
}

impl Default for ServiceCidr {
    fn default() -> Self {
        ServiceCidr::new(Ipv4Addr::new(10, 96, 0, 0), 12).expect("a valid default")
    }
}

impl std::fmt::Display for ServiceCidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.network), self.prefix)
    }
}

#[derive(Default)]
struct Taken {
    ips: HashSet<Ipv4Addr>,
    ports: HashSet<u16>,
    /// Where the next search starts, so freed addresses are not reused at once.
    next_ip: u32,
    next_port: u16,
}

impl Taken {
    fn free(&mut self, ips: &[Ipv4Addr], ports: &[u16]) {
        for ip in ips {
            self.ips.remove(ip);
        }
        for port in ports {
            self.ports.remove(port);
        }
    }
}

pub(crate) struct ServiceAddresses {
    cidr: ServiceCidr,
    taken: Mutex<Option<Taken>>,
}

impl ServiceAddresses {
    pub(crate) fn new(cidr: ServiceCidr) -> Self {
        ServiceAddresses { cidr, taken: Mutex::new(None) }
    }

    pub(crate) fn cidr(&self) -> ServiceCidr {
        self.cidr
    }
}

/// What one service write took (and, on update, gave up). Dropped without [`Claim::commit`],
/// it gives back what it took.
pub(crate) struct Claim<'a> {
    taken: MutexGuard<'a, Option<Taken>>,
    new_ips: Vec<Ipv4Addr>,
    new_ports: Vec<u16>,
    old_ips: Vec<Ipv4Addr>,
    old_ports: Vec<u16>,
    committed: bool,
}

impl Claim<'_> {
    /// The write happened: keep what was taken, free what the service no longer holds.
    pub(crate) fn commit(mut self) {
        self.committed = true;
        let (ips, ports) = (std::mem::take(&mut self.old_ips), std::mem::take(&mut self.old_ports));
        if let Some(t) = self.taken.as_mut() {
            t.free(&ips, &ports);
        }
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        if let Some(t) = self.taken.as_mut() {
            t.free(&self.new_ips, &self.new_ports);
        }
    }
}

fn ips_of(svc: &Value) -> Vec<Ipv4Addr> {
    let spec = svc.get("spec");
    let mut ips: Vec<Ipv4Addr> = spec
        .and_then(|s| s.get("clusterIPs"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .chain(spec.and_then(|s| s.get("clusterIP")))
        .filter_map(|v| v.as_str()?.parse().ok())
        .collect();
    ips.sort();
    ips.dedup();
    ips
}

fn node_ports_of(svc: &Value) -> Vec<u16> {
    svc.pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| u16::try_from(p.get("nodePort")?.as_u64()?).ok())
        .filter(|p| *p != 0)
        .collect()
}

fn wants_node_ports(svc: &Value) -> bool {
    match svc.pointer("/spec/type").and_then(Value::as_str) {
        Some("NodePort") => true,
        Some("LoadBalancer") => svc.pointer("/spec/allocateLoadBalancerNodePorts") != Some(&json!(false)),
        _ => false,
    }
}

impl Api {
    /// Fill in a Service's cluster IP and node ports (create: `old` is `None`), refusing ones
    /// that are taken or out of range as upstream does. Hold the claim until the write is done.
    pub(crate) async fn claim_service_addresses(
        &self,
        old: Option<&Value>,
        svc: &mut Value,
    ) -> Result<Claim<'_>, ApiError> {
        let mut taken = self.services.taken.lock().await;
        if taken.is_none() {
            *taken = Some(self.load_service_addresses().await?);
        }
        let mut claim = Claim {
            taken,
            new_ips: Vec::new(),
            new_ports: Vec::new(),
            old_ips: Vec::new(),
            old_ports: Vec::new(),
            committed: false,
        };
        let cidr = self.services.cidr;
        let name = meta::name(svc).to_string();
        let invalid = |field: String, value: String, why: String| {
            ApiError::invalid(
                "",
                "Service",
                &name,
                vec![("FieldValueInvalid".into(), field, format!("Invalid value: {value}: {why}"))],
            )
        };
        let t = claim.taken.as_mut().expect("loaded above");
        // Cluster IP.
        let kind = svc.pointer("/spec/type").and_then(Value::as_str).unwrap_or("ClusterIP").to_string();
        let had: Vec<Ipv4Addr> = old.map(ips_of).unwrap_or_default();
        let requested = svc.pointer("/spec/clusterIP").and_then(Value::as_str).unwrap_or("").to_string();
        let old_text = old.and_then(|o| o.pointer("/spec/clusterIP")).and_then(Value::as_str).unwrap_or("");
        if kind == "ExternalName" {
            // Upstream's dropTypeDependentFields: becoming ExternalName gives up the address the
            // update still carries over from the old object.
            let was_external =
                old.and_then(|o| o.pointer("/spec/type")).and_then(Value::as_str) == Some("ExternalName");
            if old.is_some()
                && !was_external
                && (requested.is_empty() || requested == old_text)
                && let Some(spec) = svc.get_mut("spec").and_then(Value::as_object_mut)
            {
                for key in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
                    spec.remove(key);
                }
            }
            claim.old_ips = had;
        } else if requested == "None" {
            claim.old_ips = had;
        } else if requested.is_empty() && old_text == "None" {
            // A headless service stays headless when an update leaves the field out.
            svc["spec"]["clusterIP"] = json!("None");
            svc["spec"]["clusterIPs"] = json!(["None"]);
        } else if requested.is_empty() {
            match had.first() {
                // An update that dropped the field keeps the address it had (upstream refuses
                // to unset it; validation words that).
                Some(ip) => set_cluster_ip(svc, *ip),
                None => {
                    let ip = next_free_ip(t, cidr)
                        .ok_or_else(|| ApiError::internal("failed to allocate a serviceIP: range is full"))?;
                    t.ips.insert(ip);
                    claim.new_ips.push(ip);
                    set_cluster_ip(svc, ip);
                }
            }
        } else if let Ok(ip) = requested.parse::<Ipv4Addr>() {
            if !had.contains(&ip) {
                if !cidr.usable(ip) {
                    let why = format!(
                        "failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. The range of valid IPs is {cidr}"
                    );
                    return Err(invalid("spec.clusterIPs[0]".into(), format!("{requested:?}"), why));
                }
                if !t.ips.insert(ip) {
                    let why = format!("failed to allocate IP {ip}: provided IP is already allocated");
                    return Err(invalid("spec.clusterIPs[0]".into(), format!("{requested:?}"), why));
                }
                claim.new_ips.push(ip);
            }
            claim.old_ips = had.into_iter().filter(|h| *h != ip).collect();
            set_cluster_ip(svc, ip);
        }
        // Node ports.
        let had_ports = old.map(node_ports_of).unwrap_or_default();
        let wants = wants_node_ports(svc);
        let mut keep = Vec::new();
        let ports = svc.pointer_mut("/spec/ports").and_then(Value::as_array_mut);
        for (i, p) in ports.into_iter().flatten().enumerate() {
            if !wants {
                // Upstream clears node ports when a service stops being NodePort.
                if let Some(m) = p.as_object_mut() {
                    m.remove("nodePort");
                }
                continue;
            }
            let mut asked = p.get("nodePort").and_then(Value::as_u64).unwrap_or(0);
            if asked == 0 {
                // An update that left it out keeps the port this service port had (upstream
                // carries node ports over the same way).
                if let Some(kept) = old.and_then(|o| kept_node_port(o, p)).filter(|k| had_ports.contains(k)) {
                    p["nodePort"] = json!(kept);
                    asked = u64::from(kept);
                }
            }
            if asked == 0 {
                let port = next_free_port(t)
                    .ok_or_else(|| ApiError::internal("failed to allocate a nodePort: range is full"))?;
                t.ports.insert(port);
                claim.new_ports.push(port);
                p["nodePort"] = json!(port);
                keep.push(port);
                continue;
            }
            let field = format!("spec.ports[{i}].nodePort");
            let port = u16::try_from(asked).ok().filter(|p| NODE_PORTS.contains(p)).ok_or_else(|| {
                let why = format!(
                    "provided port is not in the valid range. The range of valid ports is {}-{}",
                    NODE_PORTS.start(),
                    NODE_PORTS.end()
                );
                invalid(field.clone(), asked.to_string(), why)
            })?;
            if !had_ports.contains(&port) && !claim.new_ports.contains(&port) {
                if !t.ports.insert(port) {
                    return Err(invalid(
                        field,
                        asked.to_string(),
                        "provided port is already allocated".into(),
                    ));
                }
                claim.new_ports.push(port);
            }
            keep.push(port);
        }
        claim.old_ports = had_ports.into_iter().filter(|p| !keep.contains(p)).collect();
        Ok(claim)
    }

    /// A Service left the store: its addresses are free again.
    pub(crate) async fn release_service_addresses(&self, svc: &Value) {
        if let Some(t) = self.services.taken.lock().await.as_mut() {
            t.free(&ips_of(svc), &node_ports_of(svc));
        }
    }

    async fn load_service_addresses(&self) -> Result<Taken, ApiError> {
        let def = registry::by_storage("services").expect("services are served");
        let services = self.list(def, None, &ListOptions::default()).await?.items;
        let mut taken = Taken { next_ip: 2, next_port: random_node_port(), ..Default::default() };
        for svc in &services {
            taken.ips.extend(ips_of(svc));
            taken.ports.extend(node_ports_of(svc));
        }
        Ok(taken)
    }
}

/// The node port `old` gave the service port matching `port` (by port number and protocol).
fn kept_node_port(old: &Value, port: &Value) -> Option<u16> {
    let key = |p: &Value| {
        (
            p.get("port").and_then(Value::as_u64),
            p.get("protocol").and_then(Value::as_str).unwrap_or("TCP").to_string(),
        )
    };
    old.pointer("/spec/ports")
        .and_then(Value::as_array)?
        .iter()
        .find(|p| key(p) == key(port))
        .and_then(|p| u16::try_from(p.get("nodePort")?.as_u64()?).ok())
        .filter(|p| *p != 0)
}

fn set_cluster_ip(svc: &mut Value, ip: Ipv4Addr) {
    svc["spec"]["clusterIP"] = json!(ip.to_string());
    svc["spec"]["clusterIPs"] = json!([ip.to_string()]);
}

fn next_free_ip(t: &mut Taken, cidr: ServiceCidr) -> Option<Ipv4Addr> {
    let usable = cidr.size() - 2;
    for step in 0..usable {
        let n = 1 + (t.next_ip.wrapping_sub(1).wrapping_add(step)) % usable;
        let ip = cidr.nth(n);
        if !t.ips.contains(&ip) {
            t.next_ip = n + 1;
            return Some(ip);
        }
    }
    None
}

/// Where node port allocation starts: random, as upstream's allocator picks, so two clusters
/// on one machine (or a restarted one) do not hand out the same ports in the same order.
fn random_node_port() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
    let span = u64::from(NODE_PORTS.end() - NODE_PORTS.start()) + 1;
    NODE_PORTS.start() + u16::try_from(random % span).expect("within the range")
}

fn next_free_port(t: &mut Taken) -> Option<u16> {
    let span = u32::from(NODE_PORTS.end() - NODE_PORTS.start()) + 1;
    let start = u32::from(t.next_port.saturating_sub(*NODE_PORTS.start()));
    for step in 0..span {
        let port = NODE_PORTS.start() + u16::try_from((start + step) % span).expect("within the range");
        if !t.ports.contains(&port) {
            t.next_port =
                port.checked_add(1).filter(|p| NODE_PORTS.contains(p)).unwrap_or(*NODE_PORTS.start());
            return Some(port);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_come_from_the_range_skipping_taken_ones_and_the_edges() {
        let cidr = ServiceCidr::parse("10.96.0.0/29").unwrap();
        assert_eq!(cidr.to_string(), "10.96.0.0/29");
        assert!(!cidr.usable(Ipv4Addr::new(10, 96, 0, 0)) && !cidr.usable(Ipv4Addr::new(10, 96, 0, 7)));
        assert!(cidr.usable(Ipv4Addr::new(10, 96, 0, 6)) && !cidr.usable(Ipv4Addr::new(10, 97, 0, 1)));
        let mut t = Taken { next_ip: 2, ..Default::default() };
        t.ips.insert(Ipv4Addr::new(10, 96, 0, 1));
        t.ips.insert(Ipv4Addr::new(10, 96, 0, 3));
        let mut got = Vec::new();
        while let Some(ip) = next_free_ip(&mut t, cidr) {
            t.ips.insert(ip);
            got.push(ip.octets()[3]);
        }
        assert_eq!(got, [2, 4, 5, 6], "every usable address once, then the range is full");
        assert!(ServiceCidr::parse("10.96.0.0").is_err() && ServiceCidr::parse("10.96.0.0/31").is_err());
    }

    #[test]
    fn node_ports_wrap_around_the_range() {
        let mut t = Taken { next_port: *NODE_PORTS.end(), ..Default::default() };
        assert_eq!(next_free_port(&mut t), Some(32767));
        t.ports.insert(32767);
        assert_eq!(next_free_port(&mut t), Some(30000));
    }
}
