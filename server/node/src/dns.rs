//! Cluster DNS for clients outside the pod network (`dig`) and for OCI containers: the zone the
//! wasm pods resolve in-process (`wasmkube_runtime::network::services`), served by
//! `hickory-server` over UDP and TCP on `--dns-listen`, and inside each OCI pod's network
//! namespace on sockets the runtime makes there ([`InPod`]). It answers authoritatively for
//! `cluster.local` only — A records for Services (headless ones: their ready pods) and
//! `a-b-c-d.ns.pod` names, CNAME for ExternalName Services, SRV for named ports. Other names are refused, unless pods may
//! reach real addresses (`--allow-egress`): then they are looked up with the host's resolver and
//! answered with the A records egress allows, as a pod's own lookup would be.

use crate::NodeAgent;
use hickory_server::ServerFuture;
use hickory_server::authority::MessageResponseBuilder;
use hickory_server::proto::op::{Header, ResponseCode};
use hickory_server::proto::rr::rdata::{A, CNAME, SRV};
use hickory_server::proto::rr::{Name, RData, Record, RecordType};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use std::sync::Arc;
use std::time::Duration;
use wasmkube_runtime::NodeNetwork;
use wasmkube_runtime::network::{Proto, Resolved, ServiceAddress};

/// Cluster answers change as pods come and go: clients should not keep them long (CoreDNS's
/// `kubernetes` plugin defaults to 5 s too).
const TTL: u32 = 5;

/// Serve cluster DNS on these sockets until the process ends.
pub fn start(agent: &NodeAgent, udp: tokio::net::UdpSocket, tcp: tokio::net::TcpListener) {
    serve(agent.inner.runtime.network().clone(), udp, tcp);
}

fn serve(
    net: Arc<NodeNetwork>,
    udp: tokio::net::UdpSocket,
    tcp: tokio::net::TcpListener,
) -> tokio::task::JoinHandle<()> {
    let mut server = ServerFuture::new(ClusterDns { net });
    server.register_socket(udp);
    server.register_listener(tcp, Duration::from_secs(5));
    // Aborting the task drops the server, and with it every task serving these sockets.
    tokio::spawn(async move {
        if let Err(e) = server.block_until_done().await {
            tracing::warn!(error = %e, "cluster DNS stopped");
        }
    })
}

/// The same zone inside OCI pods' network namespaces, on sockets the runtime makes there.
pub(crate) struct InPod(pub(crate) std::sync::Weak<NodeNetwork>);

impl wasmkube_runtime::network::PodDns for InPod {
    fn serve(&self, udp: tokio::net::UdpSocket, tcp: tokio::net::TcpListener) -> tokio::task::JoinHandle<()> {
        match self.0.upgrade() {
            Some(net) => serve(net, udp, tcp),
            None => tokio::spawn(async {}),
        }
    }
}

struct ClusterDns {
    net: Arc<NodeNetwork>,
}

/// What one question gets.
enum Answer {
    Records(Vec<Record>),
    /// The name exists, but has nothing of the asked type (NODATA).
    Empty,
    NoSuchName,
    NotOurs,
    /// The host's resolver failed or is busy (SERVFAIL).
    Failed,
}

impl ClusterDns {
    fn answer(&self, name: &Name, kind: RecordType) -> Answer {
        let text = name.to_ascii().to_ascii_lowercase();
        let text = text.trim_end_matches('.');
        let zone = wasmkube_runtime::network::services::CLUSTER_DOMAIN;
        if text != zone && !text.ends_with(&format!(".{zone}")) {
            return Answer::NotOurs;
        }
        if text.starts_with('_') {
            return self.srv(name, text, kind);
        }
        // A full name needs no search path; the namespace passed is never used for it.
        match self.net.resolve("default", text) {
            Some(Resolved::Ips(ips)) if kind == RecordType::A || kind == RecordType::ANY => Answer::Records(
                ips.into_iter().map(|ip| Record::from_rdata(name.clone(), TTL, RData::A(A(ip)))).collect(),
            ),
            Some(Resolved::Alias(target)) => {
                match Name::from_ascii(format!("{}.", target.trim_end_matches('.'))) {
                    Ok(target) => Answer::Records(vec![Record::from_rdata(
                        name.clone(),
                        TTL,
                        RData::CNAME(CNAME(target)),
                    )]),
                    Err(_) => Answer::Empty,
                }
            }
            Some(_) => Answer::Empty,
            None => Answer::NoSuchName,
        }
    }

    /// A name outside the cluster, by the host's resolver (only called when egress is open).
    async fn forward(&self, name: &Name, kind: RecordType) -> Answer {
        let text = name.to_ascii();
        let net: Arc<dyn wasmkube_runtime::network::PodNetwork> = self.net.clone();
        match wasmkube_runtime::network::host_lookup(net, text.trim_end_matches('.').to_string()).await {
            Ok(_) if kind != RecordType::A && kind != RecordType::ANY => Answer::Empty,
            Ok(ips) => Answer::Records(
                ips.into_iter()
                    .filter_map(|ip| match ip {
                        std::net::IpAddr::V4(v4) => {
                            Some(Record::from_rdata(name.clone(), TTL, RData::A(A(v4))))
                        }
                        std::net::IpAddr::V6(_) => None,
                    })
                    .collect(),
            ),
            Err(wasmkube_runtime::network::LookupCode::NameUnresolvable) => Answer::NoSuchName,
            Err(_) => Answer::Failed,
        }
    }

    /// `_<port name>._<tcp|udp>.<service>.<namespace>.svc.cluster.local`
    fn srv(&self, name: &Name, text: &str, kind: RecordType) -> Answer {
        let labels: Vec<&str> = text.split('.').collect();
        let [port, proto, svc, ns, "svc", ..] = labels.as_slice() else { return Answer::NoSuchName };
        let proto = match *proto {
            "_tcp" => Proto::Tcp,
            "_udp" => Proto::Udp,
            _ => return Answer::NoSuchName,
        };
        let port_name = port.trim_start_matches('_');
        let Some(service) = self.net.service(ns, svc) else {
            return Answer::NoSuchName;
        };
        let Some(sp) = service.ports.iter().find(|p| p.proto == proto && p.name == port_name) else {
            return Answer::NoSuchName;
        };
        if kind != RecordType::SRV && kind != RecordType::ANY {
            return Answer::Empty;
        }
        let zone = wasmkube_runtime::network::services::CLUSTER_DOMAIN;
        let targets: Vec<(String, u16)> = match service.address {
            // A headless service's SRV records name each endpoint under the service, by the
            // hostname it publishes (a StatefulSet's pods) or its dashed address, with its own
            // port — names that resolve to that endpoint alone.
            ServiceAddress::Headless => sp
                .endpoints
                .iter()
                .map(|e| {
                    let published =
                        service.hostnames.iter().find(|(_, ip)| ip == e.ip()).map(|(h, _)| h.clone());
                    let host = published.unwrap_or_else(|| e.ip().to_string().replace('.', "-"));
                    (format!("{host}.{svc}.{ns}.svc.{zone}."), e.port())
                })
                .collect(),
            _ => vec![(format!("{svc}.{ns}.svc.{zone}."), sp.port)],
        };
        let records = targets
            .into_iter()
            .filter_map(|(t, p)| Name::from_ascii(t).ok().map(|t| (t, p)))
            .map(|(target, p)| Record::from_rdata(name.clone(), TTL, RData::SRV(SRV::new(0, 100, p, target))))
            .collect();
        Answer::Records(records)
    }
}

#[async_trait::async_trait]
impl RequestHandler for ClusterDns {
    async fn handle_request<R: ResponseHandler>(&self, request: &Request, mut response: R) -> ResponseInfo {
        let builder = MessageResponseBuilder::from_message_request(request);
        let mut header = Header::response_from_request(request.header());
        let mut forwarded = false;
        let answer = match request.request_info() {
            Ok(info) => {
                let (name, kind) = (Name::from(info.query.name().clone()), info.query.query_type());
                match self.answer(&name, kind) {
                    Answer::NotOurs if self.net.forwards_lookups() => {
                        header.set_recursion_available(true);
                        forwarded = true;
                        self.forward(&name, kind).await
                    }
                    answer => answer,
                }
            }
            Err(_) => {
                header.set_response_code(ResponseCode::FormErr);
                Answer::Empty
            }
        };
        let records = match answer {
            Answer::Records(r) => {
                header.set_authoritative(!forwarded);
                r
            }
            Answer::Empty => {
                header.set_authoritative(!forwarded && header.response_code() == ResponseCode::NoError);
                Vec::new()
            }
            Answer::NoSuchName => {
                header.set_authoritative(!forwarded);
                header.set_response_code(ResponseCode::NXDomain);
                Vec::new()
            }
            Answer::NotOurs => {
                header.set_response_code(ResponseCode::Refused);
                Vec::new()
            }
            Answer::Failed => {
                header.set_response_code(ResponseCode::ServFail);
                Vec::new()
            }
        };
        let message = builder.build(header, records.iter(), [], [], []);
        match response.send_response(message).await {
            Ok(info) => info,
            Err(e) => {
                tracing::debug!(error = %e, "could not send a DNS answer");
                let mut failed = Header::new();
                failed.set_response_code(ResponseCode::ServFail);
                failed.into()
            }
        }
    }
}
