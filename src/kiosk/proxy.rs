//! The loopback proxy every request of the pupil's views goes through (WebKit is pointed at
//! it). It decides each `CONNECT` by host and each plain-http request by URL with the policy
//! engine, answers everything else with `403`, and resolves names itself, so a page can reach
//! nothing the list does not allow, whatever it asks for.
//!
//! Only WebKit knows the per-run token, so no other local program can use the proxy.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::Engine as _;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, HOST, LOCATION, PROXY_AUTHENTICATE, PROXY_AUTHORIZATION};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tracing::{debug, info, warn};

use crate::config::HostAddress;
use crate::policy::{Policy, RequestKind, Verdict};

/// The user name WebKit presents with the token.
pub const PROXY_USER: &str = "satchel";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The policy in force, replaced whole when new rules arrive: a request in flight keeps the
/// policy it started with.
pub struct PolicyCell(RwLock<Arc<Policy>>);

impl PolicyCell {
    pub fn new(policy: Policy) -> PolicyCell {
        PolicyCell(RwLock::new(Arc::new(policy)))
    }

    pub fn current(&self) -> Arc<Policy> {
        Arc::clone(&self.0.read().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    pub fn replace(&self, policy: Policy) {
        *self.0.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(policy);
    }
}

/// Looks a name up in DNS: the system's resolver, or a test's.
pub type Lookup =
    Arc<dyn Fn(String, u16) -> Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send>> + Send + Sync>;

/// Connects to names, with the configuration's `hosts` table first. A name DNS resolves may
/// lead only to public addresses: a listed site must not point one of its names at the
/// kiosk itself or the school's network (the router, a printer, the school server), unless the
/// `hosts` table names it or an IP rule allows that address.
#[derive(Clone)]
pub struct Resolver {
    hosts: BTreeMap<String, HostAddress>,
    lookup: Lookup,
}

impl Resolver {
    pub fn new(hosts: BTreeMap<String, HostAddress>) -> Resolver {
        Resolver::with_lookup(
            hosts,
            Arc::new(|host, port| {
                Box::pin(async move { Ok(tokio::net::lookup_host((host.as_str(), port)).await?.collect()) })
            }),
        )
    }

    pub fn with_lookup(hosts: BTreeMap<String, HostAddress>, lookup: Lookup) -> Resolver {
        Resolver { hosts, lookup }
    }

    /// Connects to `host`; `ip_allowed` says whether an IP rule allows a local or private
    /// address DNS gave.
    pub async fn connect(&self, host: &str, port: u16, ip_allowed: impl Fn(IpAddr) -> bool) -> io::Result<TcpStream> {
        let host = host.trim_start_matches('[').trim_end_matches(']').trim_end_matches('.');
        let attempt = async {
            if let Some(address) = self.hosts.get(&host.to_ascii_lowercase()) {
                return TcpStream::connect((address.ip, address.port.unwrap_or(port))).await;
            }
            // An address in the request itself: the policy let it through only by an IP rule.
            if let Ok(ip) = host.parse::<IpAddr>() {
                return TcpStream::connect((ip, port)).await;
            }
            let found = (self.lookup)(host.to_owned(), port).await?;
            let (usable, refused): (Vec<SocketAddr>, Vec<SocketAddr>) =
                found.into_iter().partition(|address| is_public(address.ip()) || ip_allowed(address.ip()));
            if usable.is_empty() {
                let refused: Vec<String> = refused.iter().map(|a| a.ip().to_string()).collect();
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!("{host} resolves only to local or private addresses ({})", refused.join(", ")),
                ));
            }
            let mut last = None;
            for address in usable {
                match TcpStream::connect(address).await {
                    Ok(stream) => return Ok(stream),
                    Err(error) => last = Some(error),
                }
            }
            Err(last.unwrap_or_else(|| io::Error::other("no address")))
        };
        tokio::time::timeout(CONNECT_TIMEOUT, attempt)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))?
    }
}

/// Whether an address is on the public internet: not loopback, private, link-local, shared
/// (CGNAT), unique-local, multicast, unspecified or reserved, in any IPv4 or IPv6 form.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            let segments = v6.segments();
            // IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::/96)
            // addresses reach the IPv4 address inside.
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            if segments[..6] == [0, 0, 0, 0, 0, 0] || segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let [a, b] = segments[6].to_be_bytes();
                let [c, d] = segments[7].to_be_bytes();
                return is_public_v4(std::net::Ipv4Addr::new(a, b, c, d));
            }
            let first = segments[0];
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || first & 0xfe00 == 0xfc00 // unique-local fc00::/7
                || first & 0xffc0 == 0xfe80 // link-local fe80::/10
                || first & 0xffc0 == 0xfec0 // site-local fec0::/10 (deprecated)
                || (first == 0x2001 && segments[1] == 0x0db8)) // documentation
        }
    }
}

fn is_public_v4(v4: std::net::Ipv4Addr) -> bool {
    let [a, b, ..] = v4.octets();
    !(v4.is_unspecified()
        || a == 0 // "this network"
        || v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && v4.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || v4.is_multicast()
        || a >= 240 // reserved, and broadcast
        || v4.is_documentation())
}

struct State {
    policy: Arc<PolicyCell>,
    resolver: Resolver,
    expected_authorization: HeaderValue,
    /// Told the host of every request decided: the activity log counts the blocked ones per
    /// page, `satchel learn` lists the hosts a site uses.
    watch: Watch,
}

/// What became of a request at the proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Passage {
    Allowed,
    Blocked,
}

/// What the proxy tells of each request it decides: the host asked for, and its passage.
pub type Watch = Box<dyn Fn(&str, Passage) + Send + Sync>;

/// A running proxy: where WebKit should send requests, and the credentials it must present.
pub struct Proxy {
    pub address: SocketAddr,
    pub token: String,
    state: Arc<State>,
    runtime: tokio::runtime::Handle,
}

impl Proxy {
    /// Tries a connection to the site of `url` as the proxy would make it (today's rules, the
    /// hosts table, public addresses only) and tells `answer` whether one opened: the offline
    /// page tries again by itself once the site can be reached.
    pub fn probe(&self, url: &str, answer: impl FnOnce(bool) + Send + 'static) {
        let site =
            url::Url::parse(url).ok().and_then(|url| Some((url.host_str()?.to_owned(), url.port_or_known_default()?)));
        let Some((host, port)) = site else { return answer(false) };
        let state = Arc::clone(&self.state);
        self.runtime.spawn(async move {
            let policy = state.policy.current();
            let decision = policy.decide_connect(&host, port);
            let target = decision.connect_to.unwrap_or(&host);
            let reachable = decision.allows()
                && state.resolver.connect(target, port, |ip| ip_rule_allows(&policy, ip, port)).await.is_ok();
            answer(reachable);
        });
    }
}

type Body = BoxBody<Bytes, hyper::Error>;

/// Starts the proxy on a random loopback port, on its own thread with its own runtime.
pub fn start(policy: Arc<PolicyCell>, resolver: Resolver, watch: Watch) -> io::Result<Proxy> {
    // A random UUID: 122 random bits, more than enough for a token that lives one run.
    let token = crate::durable::new_uuid()?;
    let std_listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    std_listener.set_nonblocking(true)?;
    let address = std_listener.local_addr()?;
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{PROXY_USER}:{token}"));
    let state = Arc::new(State {
        policy,
        resolver,
        expected_authorization: HeaderValue::from_str(&format!("Basic {credentials}"))
            .expect("base64 is a valid header"),
        watch,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("satchel-proxy")
        .enable_all()
        .build()?;
    let handle = runtime.handle().clone();
    let serving = Arc::clone(&state);
    std::thread::Builder::new().name("satchel-proxy".into()).spawn(move || {
        runtime.block_on(async move {
            match TcpListener::from_std(std_listener) {
                Ok(listener) => serve(listener, serving).await,
                Err(error) => warn!(%error, "the proxy cannot listen"),
            }
        })
    })?;
    info!(%address, "proxy listening");
    Ok(Proxy { address, token, state, runtime: handle })
}

async fn serve(listener: TcpListener, state: Arc<State>) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                warn!(%error, "proxy accept failed");
                continue;
            }
        };
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| handle(Arc::clone(&state), request));
            let connection = hyper::server::conn::http1::Builder::new()
                .preserve_header_case(true)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            if let Err(error) = connection.await {
                debug!(%error, "proxy connection ended");
            }
        });
    }
}

/// A site that cannot be reached: the connection to WebKit is dropped without an answer, so
/// WebKit reports a failed load, for plain http as for https, and the kiosk shows its own
/// friendly page (a page served here would sit under the site's address, beyond the reach
/// of the kiosk's buttons).
#[derive(Debug, thiserror::Error)]
#[error("{url} cannot be reached: {source}")]
struct Unreachable {
    url: String,
    source: Box<dyn std::error::Error + Send + Sync>,
}

async fn handle(state: Arc<State>, request: Request<Incoming>) -> Result<Response<Body>, Unreachable> {
    if !authorized(&state, &request) {
        debug!(method = %request.method(), uri = %request.uri(), "proxy credentials asked for");
        let mut response = small(StatusCode::PROXY_AUTHENTICATION_REQUIRED, "proxy authentication required");
        response.headers_mut().insert(PROXY_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"satchel\""));
        return Ok(response);
    }
    if request.method() == Method::CONNECT {
        tunnel(state, request).await
    } else {
        forward(state, request).await
    }
}

fn authorized(state: &State, request: &Request<Incoming>) -> bool {
    let presented = request.headers().get(PROXY_AUTHORIZATION).map_or(&b""[..], |v| v.as_bytes());
    let expected = state.expected_authorization.as_bytes();
    // Constant time, so the token cannot be guessed byte by byte.
    presented.len() == expected.len() && presented.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// `CONNECT host:port`: decided by host; the tunnel goes to the safe-search address when one
/// applies.
async fn tunnel(state: Arc<State>, request: Request<Incoming>) -> Result<Response<Body>, Unreachable> {
    let Some(authority) = request.uri().authority().cloned() else {
        return Ok(small(StatusCode::BAD_REQUEST, "CONNECT needs host:port"));
    };
    let host = authority.host().to_owned();
    let port = authority.port_u16().unwrap_or(443);
    let policy = state.policy.current();
    let decision = policy.decide_connect(&host, port);
    if !decision.allows() {
        info!(host, port, reason = %decision.reason, "blocked CONNECT");
        (state.watch)(&host, Passage::Blocked);
        return Ok(small(StatusCode::FORBIDDEN, "not on today's list"));
    }
    (state.watch)(&host, Passage::Allowed);
    let target = decision.connect_to.unwrap_or(&host);
    let upstream =
        state.resolver.connect(target, port, |ip| ip_rule_allows(&policy, ip, port)).await.map_err(|error| {
            info!(host, target, %error, "CONNECT upstream unreachable");
            Unreachable { url: format!("https://{host}:{port}/"), source: error.into() }
        })?;
    debug!(host, port, target, "CONNECT");
    tokio::spawn(async move {
        match hyper::upgrade::on(request).await {
            Ok(upgraded) => {
                let mut upstream = upstream;
                let _ = tokio::io::copy_bidirectional(&mut TokioIo::new(upgraded), &mut upstream).await;
            }
            Err(error) => debug!(%error, "CONNECT upgrade failed"),
        }
    });
    Ok(Response::new(empty()))
}

/// A plain-http request (or a `ws:` WebSocket handshake, which WebKit sends with its own
/// scheme) in absolute form: decided by its full URL, then sent on in origin form with the
/// proxy's own headers removed.
async fn forward(state: Arc<State>, mut request: Request<Incoming>) -> Result<Response<Body>, Unreachable> {
    let url = request.uri().to_string();
    let (Some(host), true) =
        (request.uri().host().map(str::to_owned), matches!(request.uri().scheme_str(), Some("http" | "ws")))
    else {
        info!(url, "refused: not an absolute http or ws URL");
        return Ok(small(StatusCode::BAD_REQUEST, "the proxy takes absolute http URLs"));
    };
    let port = request.uri().port_u16().unwrap_or(80);
    let policy = state.policy.current();
    let decision = policy.decide(&url, RequestKind::Subresource);
    match decision.verdict {
        Verdict::Block => {
            info!(url, reason = %decision.reason, "blocked request");
            (state.watch)(&host, Passage::Blocked);
            return Ok(small(StatusCode::FORBIDDEN, "not on today's list"));
        }
        Verdict::Rewrite => {
            let mut response = small(StatusCode::FOUND, "safe search");
            if let Some(location) = decision.location.as_deref().and_then(|l| HeaderValue::from_str(l).ok()) {
                response.headers_mut().insert(LOCATION, location);
            }
            return Ok(response);
        }
        Verdict::Allow => (state.watch)(&host, Passage::Allowed),
    }
    let target = decision.connect_to.unwrap_or(&host);
    let upstream =
        state.resolver.connect(target, port, |ip| ip_rule_allows(&policy, ip, port)).await.map_err(|error| {
            info!(url, %error, "upstream unreachable");
            Unreachable { url: url.clone(), source: error.into() }
        })?;
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str()).to_owned();
    *request.uri_mut() = path.parse().expect("a path and query taken from a URI parse");
    let headers = request.headers_mut();
    headers.remove(PROXY_AUTHORIZATION);
    headers.remove("proxy-connection");
    if !headers.contains_key(HOST) {
        if let Ok(value) = HeaderValue::from_str(&host) {
            headers.insert(HOST, value);
        }
    }
    for (name, value) in decision.headers {
        headers.insert(*name, HeaderValue::from_static(value));
    }
    drop(policy);
    send_upstream(upstream, request).await.map_err(|error| {
        info!(url, %error, "upstream failed");
        Unreachable { url, source: error.into() }
    })
}

/// Whether the lists allow this address by an IP rule (a name's DNS answer that is local or
/// private is used only then).
fn ip_rule_allows(policy: &Policy, ip: IpAddr, port: u16) -> bool {
    let host = match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    };
    policy.decide_connect(&host, port).allows()
}

async fn send_upstream(upstream: TcpStream, mut request: Request<Incoming>) -> Result<Response<Body>, hyper::Error> {
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(upstream)).await?;
    tokio::spawn(async move {
        if let Err(error) = connection.with_upgrades().await {
            debug!(%error, "upstream connection ended");
        }
    });
    let wants_upgrade = request.headers().contains_key(hyper::header::UPGRADE);
    let client_upgrade = wants_upgrade.then(|| hyper::upgrade::on(&mut request));
    let mut response = sender.send_request(request).await?;
    if let (Some(client_upgrade), StatusCode::SWITCHING_PROTOCOLS) = (client_upgrade, response.status()) {
        // A WebSocket: join the two upgraded connections once both sides have switched.
        let server_upgrade = hyper::upgrade::on(&mut response);
        tokio::spawn(async move {
            if let (Ok(client), Ok(server)) = (client_upgrade.await, server_upgrade.await) {
                let _ = tokio::io::copy_bidirectional(&mut TokioIo::new(client), &mut TokioIo::new(server)).await;
            }
        });
    }
    Ok(response.map(BodyExt::boxed))
}

fn empty() -> Body {
    Full::new(Bytes::new()).map_err(|never| match never {}).boxed()
}

fn small(status: StatusCode, text: &'static str) -> Response<Body> {
    reply(status, "text/plain; charset=utf-8", Bytes::from_static(text.as_bytes()))
}

fn reply(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Full::new(body).map_err(|never| match never {}).boxed());
    *response.status_mut() = status;
    response.headers_mut().insert(hyper::header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_count_as_public_in_every_form() {
        let local = [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.0.8",
            "198.18.0.1",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:192.168.0.1",
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b::a00:1",
            "2001:db8::1",
        ];
        for address in local {
            assert!(!is_public(address.parse().unwrap()), "{address} is not public");
        }
        for address in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2a00:1450:4009:81f::200e",
            "::ffff:93.184.216.34",
            "64:ff9b::5db8:d822",
        ] {
            assert!(is_public(address.parse().unwrap()), "{address} is public");
        }
    }

    /// A resolver whose DNS answers every name with `addresses`.
    fn resolving_to(hosts: BTreeMap<String, HostAddress>, addresses: &'static [&'static str]) -> Resolver {
        Resolver::with_lookup(
            hosts,
            Arc::new(move |_, port| {
                Box::pin(
                    async move { Ok(addresses.iter().map(|ip| SocketAddr::new(ip.parse().unwrap(), port)).collect()) },
                )
            }),
        )
    }

    #[tokio::test]
    async fn a_listed_name_that_resolves_to_a_local_address_is_not_connected_to() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let rebinding = resolving_to(BTreeMap::new(), &["127.0.0.1"]);
        let refused = rebinding.connect("cdn.listed.example", port, |_| false).await.unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::PermissionDenied);
        assert!(refused.to_string().contains("resolves only to local or private addresses (127.0.0.1)"), "{refused}");
        let mixed = resolving_to(BTreeMap::new(), &["10.0.0.1", "::ffff:192.168.1.1", "fe80::1"]);
        assert!(mixed.connect("printer.listed.example", port, |_| false).await.is_err());

        // An IP rule naming the address, or the hosts table naming the name, allows it.
        assert!(rebinding.connect("cdn.listed.example", port, |ip| ip == IpAddr::from([127, 0, 0, 1])).await.is_ok());
        let mut hosts = BTreeMap::new();
        hosts.insert("intranet.school".to_owned(), HostAddress { ip: "127.0.0.1".parse().unwrap(), port: Some(port) });
        assert!(resolving_to(hosts, &["127.0.0.1"]).connect("intranet.school", 80, |_| false).await.is_ok());
    }
}
