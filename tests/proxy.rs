//! The kiosk's loopback proxy on its own, with real sockets: who may use it, what it lets
//! through, where it connects, and what reaches the sites.
#![cfg(feature = "kiosk")]

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use satchel::config::HostAddress;
use satchel::kiosk::proxy::{self, Passage, PolicyCell, Proxy, Resolver, PROXY_USER};
use satchel::policy::Policy;
use support::{Reply, Site};

fn policy(list: &str) -> Policy {
    let mut builder = Policy::builder();
    builder.add_list("test.list", list);
    assert!(builder.errors().is_empty(), "{:?}", builder.errors());
    builder.build()
}

struct Setup {
    proxy: Proxy,
    policy: Arc<PolicyCell>,
    allowed: Site,
    unlisted: Site,
    safe_google: Site,
    /// The host of each request decided, and its passage, as the proxy told them.
    told: Arc<Mutex<Vec<(String, Passage)>>>,
}

fn setup() -> Setup {
    let allowed = Site::start(|seen| Reply::html(&format!("page {}", seen.target)));
    let unlisted = Site::start(|_| Reply::html("unlisted"));
    let safe_google = Site::start(|_| Reply::html("safe"));
    let mut hosts = BTreeMap::new();
    for (name, site) in [
        ("allowed.test", &allowed),
        ("cdn.test", &allowed),
        ("unlisted.test", &unlisted),
        ("forcesafesearch.google.com", &safe_google),
    ] {
        hosts.insert(name.to_owned(), HostAddress { ip: "127.0.0.1".parse().unwrap(), port: Some(site.port) });
    }
    let policy = Arc::new(PolicyCell::new(policy(
        "[allow]\nallowed.test uses: cdn.test\n.www.google.co.uk/search\n[block]\nallowed.test/private\n",
    )));
    let told = Arc::new(Mutex::new(Vec::new()));
    let telling = Arc::clone(&told);
    let proxy = proxy::start(
        Arc::clone(&policy),
        Resolver::new(hosts),
        Box::new(move |host, passage| telling.lock().unwrap().push((host.to_owned(), passage))),
    )
    .unwrap();
    Setup { proxy, policy, allowed, unlisted, safe_google, told }
}

impl Setup {
    fn credentials(&self) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{PROXY_USER}:{}", self.proxy.token))
        )
    }

    /// Sends one request through the proxy and returns the status line, headers and body.
    fn send(&self, request_line: &str, authorization: Option<&str>) -> (u16, String, String) {
        let mut stream = TcpStream::connect(self.proxy.address).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut request = format!("{request_line}\r\n");
        if let Some(value) = authorization {
            request.push_str(&format!("Proxy-Authorization: {value}\r\n"));
        }
        request.push_str("Connection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        if request_line.starts_with("CONNECT") {
            // A tunnel stays open: read its answer's head only.
            let mut reader = BufReader::new(stream);
            while reader.read_line(&mut response).unwrap_or(0) > 2 {}
        } else {
            let _ = stream.read_to_string(&mut response);
        }
        let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        (status, head.to_owned(), body.to_owned())
    }

    fn get(&self, url: &str) -> (u16, String, String) {
        let host = url::Url::parse(url).unwrap().host_str().unwrap().to_owned();
        self.send(&format!("GET {url} HTTP/1.1\r\nHost: {host}"), Some(&self.credentials()))
    }
}

#[test]
fn other_local_programs_without_the_token_get_nothing() {
    let setup = setup();
    for authorization in [None, Some("Basic c2F0Y2hlbDp3cm9uZw==".to_owned()), Some(setup.credentials() + "x")] {
        let (status, head, _) =
            setup.send("GET http://allowed.test/ HTTP/1.1\r\nHost: allowed.test", authorization.as_deref());
        assert_eq!(status, 407, "{authorization:?}");
        assert!(head.to_ascii_lowercase().contains("proxy-authenticate: basic"));
        let (status, _, _) =
            setup.send("CONNECT allowed.test:443 HTTP/1.1\r\nHost: allowed.test:443", authorization.as_deref());
        assert_eq!(status, 407);
    }
    assert!(setup.allowed.requests().is_empty());
}

#[test]
fn listed_pages_and_resource_hosts_go_through_and_nothing_else_reaches_a_site() {
    let setup = setup();
    let (status, _, body) = setup.get("http://allowed.test/lesson?a=1");
    assert_eq!((status, body.as_str()), (200, "page /lesson?a=1"));
    assert_eq!(setup.get("http://cdn.test/picture.png").0, 200);
    assert_eq!(setup.get("http://unlisted.test/").0, 403);
    assert_eq!(setup.get("http://allowed.test/private/diary").0, 403);
    assert_eq!(setup.get("http://127.0.0.1:9/").0, 403);
    assert!(setup.unlisted.requests().is_empty());
    let told = setup.told.lock().unwrap().clone();
    let hosts = |passage| told.iter().filter(|(_, p)| *p == passage).map(|(host, _)| host.as_str()).collect::<Vec<_>>();
    assert_eq!(hosts(Passage::Blocked), ["unlisted.test", "allowed.test", "127.0.0.1"], "each block is told");
    assert_eq!(hosts(Passage::Allowed), ["allowed.test", "cdn.test"], "and each request let through");
    let paths = setup.allowed.paths();
    assert_eq!(paths, ["/lesson", "/picture.png"]);
    let first = &setup.allowed.requests()[0];
    assert_eq!(first.target, "/lesson?a=1", "sent on in origin form");
    assert!(!first.headers.contains_key("proxy-authorization"), "the token never leaves the machine");
}

#[test]
fn connect_is_decided_by_host_and_tunnels_bytes_to_the_site() {
    let setup = setup();
    let (status, _, _) =
        setup.send("CONNECT unlisted.test:443 HTTP/1.1\r\nHost: unlisted.test:443", Some(&setup.credentials()));
    assert_eq!(status, 403);
    assert_eq!(*setup.told.lock().unwrap(), [("unlisted.test".to_owned(), Passage::Blocked)]);

    // Through an allowed tunnel, speak plain HTTP to the site: the bytes arrive as sent.
    let mut stream = TcpStream::connect(setup.proxy.address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        stream,
        "CONNECT cdn.test:443 HTTP/1.1\r\nHost: cdn.test:443\r\nProxy-Authorization: {}\r\n\r\n",
        setup.credentials()
    )
    .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    assert!(status_line.starts_with("HTTP/1.1 200"), "{status_line}");
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap() > 2 {
        line.clear();
    }
    stream.write_all(b"GET /tunnelled HTTP/1.1\r\nHost: cdn.test\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    reader.read_to_string(&mut response).unwrap();
    assert!(response.ends_with("page /tunnelled"), "{response}");
    assert!(setup.unlisted.requests().is_empty());
    assert_eq!(setup.told.lock().unwrap()[1], ("cdn.test".to_owned(), Passage::Allowed), "the tunnel is told too");
}

#[test]
fn google_searches_go_to_the_safe_search_address_with_safe_search_forced() {
    let setup = setup();
    let (status, head, _) = setup.get("http://www.google.co.uk/search?q=cats&safe=off");
    assert_eq!(status, 302);
    assert!(head.contains("location: http://www.google.co.uk/search?q=cats&safe=active&ssui=on"), "{head}");
    let (status, _, body) = setup.get("http://www.google.co.uk/search?q=cats&safe=active&ssui=on");
    assert_eq!((status, body.as_str()), (200, "safe"));
    assert_eq!(setup.safe_google.requests()[0].headers["host"], "www.google.co.uk");

    // An https search: the tunnel for www.google.co.uk is opened to forcesafesearch.google.com.
    let (status, _, _) =
        setup.send("CONNECT www.google.co.uk:443 HTTP/1.1\r\nHost: www.google.co.uk:443", Some(&setup.credentials()));
    assert_eq!(status, 200);
}

#[test]
fn an_unreachable_site_gets_no_answer_so_the_browser_reports_a_failed_load() {
    let setup = setup();
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut hosts = BTreeMap::new();
    hosts.insert("allowed.test".to_owned(), HostAddress { ip: "127.0.0.1".parse().unwrap(), port: Some(closed) });
    let down = proxy::start(Arc::clone(&setup.policy), Resolver::new(hosts), Box::new(|_, _| {})).unwrap();
    let setup = Setup { proxy: down, ..setup };
    let (status, head, _) = setup.get("http://allowed.test/lesson");
    assert_eq!((status, head.as_str()), (0, ""), "the connection closes without a response");
}

#[test]
fn new_rules_apply_to_the_next_request() {
    let setup = setup();
    assert_eq!(setup.get("http://unlisted.test/").0, 403);
    setup.policy.replace(policy("[allow]\nunlisted.test\n"));
    assert_eq!(setup.get("http://unlisted.test/").0, 200);
    assert_eq!(setup.get("http://allowed.test/").0, 403);
}
