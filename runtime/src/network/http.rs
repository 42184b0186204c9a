//! Outgoing `wasi:http` through the pod network: the same routing as a socket `connect`. A name
//! outside the cluster (with egress open) is resolved once, by [`super::host_lookup`], and the
//! request goes to the address checked here — never resolved again on the way out. HTTPS
//! speaks TLS to the name the guest used (SNI and certificate check), over a connection to
//! that checked address, trusting the system's roots (Mozilla's when the system has none).
//!
//! Host calls here are bounded: what the guest's request options leave unset gets the node's
//! timeouts ([`CONNECT_TIMEOUT`], [`FIRST_BYTE_TIMEOUT`], [`BETWEEN_BYTES_TIMEOUT`]) rather
//! than wasmtime's ten minutes.

use super::{LookupError, NetError, PodNetwork, Proto};
use bytes::Bytes;
use http::uri::{Authority, Scheme};
use http_body_util::BodyExt;
use rustls::pki_types::ServerName;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

/// How long a connection (TCP, and TLS on it) may take when the guest does not say.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the response head may take when the guest does not say.
pub const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the response body may pause when the guest does not say.
pub const BETWEEN_BYTES_TIMEOUT: Duration = Duration::from_secs(120);

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

/// The real address to connect to.
async fn route(net: Arc<dyn PodNetwork>, pod: Ipv4Addr, uri: &http::Uri) -> Result<SocketAddr, Error> {
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
    net.route(pod, Proto::Tcp, SocketAddr::new(ip, port)).map_err(|e| match e {
        NetError::Refused(_) => Error::ConnectionRefused,
        NetError::Denied(_) => Error::DestinationIpProhibited,
        _ => Error::DestinationIpUnroutable,
    })
}

/// The guest's options, with the node's timeouts where it set none.
fn bounded(options: Option<RequestOptions>) -> RequestOptions {
    let o = options.unwrap_or_default();
    RequestOptions {
        connect_timeout: Some(o.connect_timeout.unwrap_or(CONNECT_TIMEOUT)),
        first_byte_timeout: Some(o.first_byte_timeout.unwrap_or(FIRST_BYTE_TIMEOUT)),
        between_bytes_timeout: Some(o.between_bytes_timeout.unwrap_or(BETWEEN_BYTES_TIMEOUT)),
    }
}

type IoFuture = Box<dyn Future<Output = Result<(), Error>> + Send>;
type SendResult = Result<(http::Response<WasiBody>, IoFuture), Error>;

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
            let options = bounded(options);
            let real = route(net, pod, request.uri()).await?;
            let original = request.uri().authority().cloned().ok_or(Error::HttpRequestUriInvalid)?;
            // Connect to the real address, but tell the server the name the guest used.
            if !request.headers().contains_key(http::header::HOST) {
                let value = http::HeaderValue::from_str(original.as_str())
                    .map_err(|_| Error::HttpRequestUriInvalid)?;
                request.headers_mut().insert(http::header::HOST, value);
            }
            if request.uri().scheme() == Some(&Scheme::HTTPS) {
                let host = original.host().trim_start_matches('[').trim_end_matches(']');
                let name = ServerName::try_from(host.to_owned()).map_err(|_| Error::HttpRequestUriInvalid)?;
                return send_tls(request, real, name, outgoing_tls().await?, options).await;
            }
            let mut parts = request.uri().clone().into_parts();
            parts.authority =
                Some(real.to_string().parse::<Authority>().map_err(|_| Error::HttpRequestUriInvalid)?);
            *request.uri_mut() = http::Uri::from_parts(parts).map_err(|_| Error::HttpRequestUriInvalid)?;
            let (res, io) = wasmtime_wasi_http::default_send_request(request, Some(options)).await?;
            Ok((res.map(BodyExt::boxed_unsync), Box::new(io) as IoFuture))
        })
    }
}

/// The client TLS configuration of every outgoing HTTPS request, built once (reading the
/// system's roots, off the async threads).
async fn outgoing_tls() -> Result<Arc<rustls::ClientConfig>, Error> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    let failed = |e: String| Error::InternalError(Some(format!("TLS client configuration: {e}")));
    if let Some(config) = CONFIG.get() {
        return config.clone().map_err(failed);
    }
    let built = tokio::task::spawn_blocking(|| CONFIG.get_or_init(build_outgoing_tls).clone()).await;
    built.map_err(|e| failed(e.to_string()))?.map_err(failed)
}

fn build_outgoing_tls() -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let config = match builder.clone().with_platform_verifier() {
        Ok(verified) => verified.with_no_client_auth(),
        Err(e) => {
            tracing::warn!(error = %e, "no usable system certificate roots; outgoing HTTPS trusts Mozilla's");
            let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.into() };
            builder.with_root_certificates(roots).with_no_client_auth()
        }
    };
    Ok(Arc::new(config))
}

/// HTTPS to `real`, the address routing chose, with TLS to `name`, the host the guest used.
async fn send_tls(
    mut request: http::Request<WasiBody>,
    real: SocketAddr,
    name: ServerName<'static>,
    tls: Arc<rustls::ClientConfig>,
    options: RequestOptions,
) -> SendResult {
    let connect_timeout = options.connect_timeout.unwrap_or(CONNECT_TIMEOUT);
    let connect = async {
        let tcp = tokio::net::TcpStream::connect(real).await.map_err(Error::Connect)?;
        let _ = tcp.set_nodelay(true);
        let tls = tokio_rustls::TlsConnector::from(tls).connect(name, tcp).await.map_err(Error::Tls)?;
        hyper::client::conn::http1::handshake(wasmtime_wasi_http::io::TokioIo::new(tls))
            .await
            .map_err(Error::from)
    };
    let (mut sender, conn) =
        tokio::time::timeout(connect_timeout, connect).await.map_err(|_| Error::ConnectionTimeout)??;
    // Not through a proxy: only the path goes on the wire.
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str()).to_owned();
    *request.uri_mut() = path.parse().map_err(|_| Error::HttpRequestUriInvalid)?;
    let connection = tokio::spawn(conn);
    let first_byte = options.first_byte_timeout.unwrap_or(FIRST_BYTE_TIMEOUT);
    let response = tokio::time::timeout(first_byte, sender.send_request(request))
        .await
        .map_err(|_| Error::ConnectionReadTimeout)?
        .map_err(Error::from)?;
    let gap = options.between_bytes_timeout.unwrap_or(BETWEEN_BYTES_TIMEOUT);
    let response = response.map(|body| Paced::new(body, gap).boxed_unsync());
    let io = async move {
        match connection.await {
            Ok(result) => result.map_err(Error::from),
            Err(_) => Err(Error::ConnectionTerminated),
        }
    };
    Ok((response, Box::new(io) as IoFuture))
}

/// A response body that fails when the server pauses longer than `gap` between frames.
struct Paced {
    body: hyper::body::Incoming,
    gap: Duration,
    timer: Pin<Box<tokio::time::Sleep>>,
}

impl Paced {
    fn new(body: hyper::body::Incoming, gap: Duration) -> Self {
        Paced { body, gap, timer: Box::pin(tokio::time::sleep(gap)) }
    }
}

impl hyper::body::Body for Paced {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                this.timer.as_mut().reset(tokio::time::Instant::now() + this.gap);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Error::from(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                ready!(this.timer.as_mut().poll(cx));
                Poll::Ready(Some(Err(Error::ConnectionReadTimeout)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{Empty, Full};
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    /// A self-signed certificate for `host` (openssl, as the ingress e2e test makes them).
    fn self_signed(dir: &std::path::Path, host: &str) -> (Vec<u8>, Vec<u8>) {
        let (crt, key) = (dir.join("tls.crt"), dir.join("tls.key"));
        let status = std::process::Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
            .args([
                "-days",
                "2",
                "-subj",
                &format!("/CN={host}"),
                "-addext",
                &format!("subjectAltName=DNS:{host}"),
            ])
            .args(["-addext", "basicConstraints=critical,CA:FALSE"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&crt)
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl runs");
        assert!(status.success());
        (std::fs::read(crt).unwrap(), std::fs::read(key).unwrap())
    }

    /// A real TLS server on 127.0.0.1: `/` answers with the Host header it got, `/slow` sends
    /// its head and then nothing.
    async fn tls_server(crt: &[u8], key: &[u8]) -> SocketAddr {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                CertificateDer::pem_slice_iter(crt).collect::<Result<_, _>>().unwrap(),
                PrivateKeyDer::from_pem_slice(key).unwrap(),
            )
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else { return };
                    let service =
                        hyper::service::service_fn(|req: http::Request<hyper::body::Incoming>| async move {
                            let host = req.headers().get("host").map(|h| h.to_str().unwrap_or("").to_owned());
                            let body: http_body_util::combinators::BoxBody<Bytes, std::convert::Infallible> =
                                if req.uri().path() == "/slow" {
                                    http_body_util::StreamBody::new(futures::stream::pending::<
                                        Result<hyper::body::Frame<Bytes>, std::convert::Infallible>,
                                    >())
                                    .boxed()
                                } else {
                                    Full::new(Bytes::from(format!(
                                        "hello over TLS to {}",
                                        host.unwrap_or_default()
                                    )))
                                    .boxed()
                                };
                            Ok::<_, std::convert::Infallible>(http::Response::new(body))
                        });
                    let io = wasmtime_wasi_http::io::TokioIo::new(tls);
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
                });
            }
        });
        addr
    }

    fn get(url: &str) -> http::Request<WasiBody> {
        let body = Empty::<Bytes>::new().map_err(|never| match never {}).boxed_unsync();
        let mut request = http::Request::new(body);
        *request.uri_mut() = url.parse().unwrap();
        request.headers_mut().insert(http::header::HOST, "secure.test".parse().unwrap());
        request
    }

    #[tokio::test]
    async fn https_speaks_tls_to_the_name_the_guest_used_over_the_routed_address_within_timeouts() {
        let dir = tempfile::tempdir().unwrap();
        let (crt, key) = self_signed(dir.path(), "secure.test");
        let real = tls_server(&crt, &key).await;
        let mut roots = rustls::RootCertStore::empty();
        roots.add(CertificateDer::from_pem_slice(&crt).unwrap()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let client = Arc::new(
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        );
        let name = |n: &str| ServerName::try_from(n.to_owned()).unwrap();
        let url = format!("https://secure.test:{}/", real.port());
        let (response, io) =
            send_tls(get(&url), real, name("secure.test"), client.clone(), bounded(None)).await.unwrap();
        tokio::spawn(Box::into_pin(io));
        assert_eq!(response.status(), 200);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "hello over TLS to secure.test");

        // The same address under a name its certificate does not carry: refused by TLS.
        let refused = send_tls(get(&url), real, name("other.test"), client.clone(), bounded(None)).await;
        assert!(matches!(refused, Err(Error::Tls(_))), "{:?}", refused.err());

        // A server that stops sending mid-body: the body fails after the pause allowed.
        let quick =
            RequestOptions { between_bytes_timeout: Some(Duration::from_millis(200)), ..Default::default() };
        let slow = format!("https://secure.test:{}/slow", real.port());
        let (response, io) =
            send_tls(get(&slow), real, name("secure.test"), client, bounded(Some(quick))).await.unwrap();
        tokio::spawn(Box::into_pin(io));
        let err = response.into_body().collect().await.err();
        assert!(matches!(err, Some(Error::ConnectionReadTimeout)), "{err:?}");
    }

    #[tokio::test]
    async fn the_outgoing_tls_configuration_is_built_once() {
        let first = outgoing_tls().await.expect("system roots, or Mozilla's");
        let again = outgoing_tls().await.unwrap();
        assert!(Arc::ptr_eq(&first, &again));
    }

    #[test]
    fn unset_request_options_get_the_nodes_timeouts() {
        let set = RequestOptions { connect_timeout: Some(Duration::from_secs(1)), ..Default::default() };
        let o = bounded(Some(set));
        assert_eq!(o.connect_timeout, Some(Duration::from_secs(1)), "the guest's own value stays");
        assert_eq!(o.first_byte_timeout, Some(FIRST_BYTE_TIMEOUT));
        assert_eq!(o.between_bytes_timeout, Some(BETWEEN_BYTES_TIMEOUT));
        assert_eq!(bounded(None).connect_timeout, Some(CONNECT_TIMEOUT));
    }
}
