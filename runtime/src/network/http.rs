//! Outgoing `wasi:http` through the pod network: the same routing as a socket `connect`.

use super::{NetError, PodNetwork, Proto};
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

    /// The real address to connect to, if it differs from what the URI names (a virtual
    /// address or a cluster name); `None` to connect as the URI says (an allowed outside host).
    fn route(&self, uri: &http::Uri) -> Result<Option<Authority>, Error> {
        let authority = uri.authority().ok_or(Error::HttpRequestUriInvalid)?;
        let default_port = if uri.scheme() == Some(&Scheme::HTTPS) { 443 } else { 80 };
        let port = authority.port_u16().unwrap_or(default_port);
        let host = authority.host().trim_start_matches('[').trim_end_matches(']');
        let ip = match host.parse::<IpAddr>() {
            Ok(ip) => ip,
            Err(_) => {
                let found = self
                    .net
                    .lookup(self.pod, host)
                    .map_err(|_| Error::DnsError { rcode: Some("NXDOMAIN".into()), info_code: None })?;
                *found.iter().find(|a| a.is_ipv4()).ok_or(Error::DestinationNotFound)?
            }
        };
        let wanted = SocketAddr::new(ip, port);
        let real = self.net.route(self.pod, Proto::Tcp, wanted).map_err(|e| match e {
            NetError::Refused(_) => Error::ConnectionRefused,
            NetError::Denied(_) => Error::DestinationIpProhibited,
            _ => Error::DestinationIpUnroutable,
        })?;
        if real == wanted && host.parse::<IpAddr>().is_err() {
            return Ok(None);
        }
        real.to_string().parse().map(Some).map_err(|_| Error::HttpRequestUriInvalid)
    }
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
        let routed = self.route(request.uri());
        Box::new(async move {
            if let Some(real) = routed? {
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
                *request.uri_mut() =
                    http::Uri::from_parts(parts).map_err(|_| Error::HttpRequestUriInvalid)?;
            }
            let (res, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                res.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = Result<(), Error>> + Send>,
            ))
        })
    }
}
