//! Outgoing `wasi:http` through the pod network: the same routing as a socket `connect`. A name
//! outside the cluster (with egress open) is resolved once, by [`super::host_lookup`], and the
//! request goes to the address checked here — never resolved again on the way out. (So HTTPS to
//! such a name presents the address, not the name, to TLS: absent for now.)

use super::{LookupError, NetError, PodNetwork, Proto};
use http::uri::{Authority, Scheme};
use http_body_util::BodyExt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

/// The `WasiHttpHooks` of a pod's components.
pub struct PodHttpHooks {
    pod: Ipv4Addr,
    net: Arc<dyn PodNetwork>,
}

impl PodHttpHooks {
    pub fn new(pod: Ipv4Addr, net: Arc<dyn PodNetwork>) -> Self {
        PodHttpHooks { pod, net }
    }
}

/// The real address to connect to (the URI's authority is replaced by it).
async fn route(net: Arc<dyn PodNetwork>, pod: Ipv4Addr, uri: &http::Uri) -> Result<Authority, Error> {
    let authority = uri.authority().ok_or(Error::HttpRequestUriInvalid)?;
    let default_port = if uri.scheme() == Some(&Scheme::HTTPS) { 443 } else { 80 };
    let port = authority.port_u16().unwrap_or(default_port);
    let host = authority.host().trim_start_matches('[').trim_end_matches(']');
    let nxdomain = || Error::DnsError { rcode: Some("NXDOMAIN".into()), info_code: None };
    let ip = match host.parse::<IpAddr>() {
        Ok(ip) => ip,
        Err(_) => {
            let found = match net.lookup(pod, host) {
                Ok(found) => found,
                Err(LookupError::Outside(name)) => {
                    super::host_lookup(net.clone(), name).await.map_err(|_| nxdomain())?
                }
                Err(_) => return Err(nxdomain()),
            };
            *found.iter().find(|a| a.is_ipv4()).ok_or(Error::DestinationNotFound)?
        }
    };
    let real = net.route(pod, Proto::Tcp, SocketAddr::new(ip, port)).map_err(|e| match e {
        NetError::Refused(_) => Error::ConnectionRefused,
        NetError::Denied(_) => Error::DestinationIpProhibited,
        _ => Error::DestinationIpUnroutable,
    })?;
    real.to_string().parse().map_err(|_| Error::HttpRequestUriInvalid)
}

type SendResult =
    Result<(http::Response<WasiBody>, Box<dyn Future<Output = Result<(), Error>> + Send>), Error>;

impl WasiHttpHooks for PodHttpHooks {
    fn send_request(
        &mut self,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        _ = fut;
        let (net, pod) = (self.net.clone(), self.pod);
        Box::new(async move {
            let real = route(net, pod, request.uri()).await?;
            // Connect to the real address, but tell the server the name the guest used.
            if let Some(original) = request.uri().authority().cloned()
                && !request.headers().contains_key(http::header::HOST)
            {
                let value = http::HeaderValue::from_str(original.as_str())
                    .map_err(|_| Error::HttpRequestUriInvalid)?;
                request.headers_mut().insert(http::header::HOST, value);
            }
            let mut parts = request.uri().clone().into_parts();
            parts.authority = Some(real);
            *request.uri_mut() = http::Uri::from_parts(parts).map_err(|_| Error::HttpRequestUriInvalid)?;
            let (res, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                res.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = Result<(), Error>> + Send>,
            ))
        })
    }
}
