//! NodePorts: a hostPort may be claimed by one pod per node (per address and protocol).

use super::Reason;
use crate::cache::NodeInfo;
use crate::model::pod::PodInfo;

pub fn filter(pod: &PodInfo, node: &NodeInfo) -> Option<Reason> {
    let wanted = &pod.spec.host_ports;
    let clash = wanted.iter().any(|p| node.host_ports.iter().any(|q| p.conflicts(q)));
    clash.then_some(Reason::HostPorts)
}

#[cfg(test)]
mod tests {
    use crate::model::pod::HostPort;

    fn port(ip: &str, protocol: &str, port: i64) -> HostPort {
        HostPort { ip: ip.into(), protocol: protocol.into(), port }
    }

    #[test]
    fn wildcard_addresses_collide_with_everything() {
        assert!(port("0.0.0.0", "TCP", 80).conflicts(&port("10.0.0.1", "TCP", 80)));
        assert!(port("10.0.0.1", "TCP", 80).conflicts(&port("10.0.0.1", "TCP", 80)));
        assert!(!port("10.0.0.1", "TCP", 80).conflicts(&port("10.0.0.2", "TCP", 80)));
        assert!(!port("0.0.0.0", "TCP", 80).conflicts(&port("0.0.0.0", "UDP", 80)));
        assert!(!port("0.0.0.0", "TCP", 80).conflicts(&port("0.0.0.0", "TCP", 81)));
    }
}
