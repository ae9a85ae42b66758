//! A real `satchel-server` against slow and numerous connections, over HTTP and HTTPS: a request
//! whose headers or body never finish is cut off, more such connections than the server has
//! descriptors for do not keep a real request out, kiosks' long polls are not taken for such
//! connections, and a server out of descriptors waits rather than spins, then recovers.
#![cfg(feature = "server")]

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use support::server::{admin, admin_session, start_in, start_with_open_files, Enrolled, Running};
use support::{wait_for, TempDir};

/// Far longer than any of the server's bounds: a read that times out means the server kept the
/// connection open.
const PATIENT: Duration = Duration::from_secs(60);
/// How long a flooding client waits for the server before giving that connection up.
const HASTY: Duration = Duration::from_secs(5);

fn data() -> TempDir {
    let data = TempDir::new("server");
    admin(data.path(), &["add-room", "Class 1"]);
    data
}

fn options(tls: bool) -> &'static [&'static str] {
    if tls {
        &["--tls"]
    } else {
        &[]
    }
}

trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// Trusts exactly the server's own certificate.
fn trusting(server: &Running) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(server.data.path().join("tls/cert.pem")).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// A new connection, over TLS (handshake done) with a configuration, whose reads and writes
/// give up after `patience`.
fn connect(
    server: &Running,
    tls: Option<&Arc<rustls::ClientConfig>>,
    patience: Duration,
) -> std::io::Result<Box<dyn Stream>> {
    let tcp = TcpStream::connect(("127.0.0.1", server.port))?;
    tcp.set_read_timeout(Some(patience))?;
    tcp.set_write_timeout(Some(patience))?;
    let Some(config) = tls else { return Ok(Box::new(tcp)) };
    let connection = rustls::ClientConnection::new(Arc::clone(config), "localhost".try_into().unwrap())
        .map_err(std::io::Error::other)?;
    let mut stream = rustls::StreamOwned::new(connection, tcp);
    while stream.conn.is_handshaking() {
        stream.conn.complete_io(&mut stream.sock)?;
    }
    Ok(Box::new(stream))
}

/// A connection on which `request` has been sent.
fn sent(
    server: &Running,
    tls: Option<&Arc<rustls::ClientConfig>>,
    patience: Duration,
    request: &[u8],
) -> std::io::Result<Box<dyn Stream>> {
    let mut stream = connect(server, tls, patience)?;
    stream.write_all(request)?;
    stream.flush()?;
    Ok(stream)
}

/// Everything the server sends until it closes the connection; panics if it keeps it open.
fn until_closed(stream: &mut dyn Stream) -> String {
    let mut received = Vec::new();
    match stream.read_to_end(&mut received) {
        // A TLS peer that closes without a close_notify is closed all the same.
        Ok(_) => {}
        Err(error) if matches!(error.kind(), ErrorKind::ConnectionReset | ErrorKind::UnexpectedEof) => {}
        Err(error) => panic!(
            "the server kept the connection open ({error}); it had sent {:?}",
            String::from_utf8_lossy(&received)
        ),
    }
    String::from_utf8_lossy(&received).into_owned()
}

/// A client that has not talked to the server before (no kept-alive connection to reuse).
fn new_client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder().timeout(PATIENT).danger_accept_invalid_certs(true).build().unwrap()
}

fn bearer(kiosk: &Enrolled) -> String {
    format!("Bearer {}.{}", kiosk.id, kiosk.token)
}

/// A sign-in whose body stops half way.
const UNFINISHED_LOGIN: &[u8] = b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nname=admin&pass";

#[test]
fn a_request_whose_headers_or_body_never_finish_is_cut_off_over_http_and_https() {
    std::thread::scope(|scope| {
        for tls in [false, true] {
            scope.spawn(move || {
                let server = start_in(data(), options(tls));
                let kiosk = server.enrolled();
                let config = tls.then(|| trusting(&server));
                let headers = sent(&server, config.as_ref(), PATIENT, b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n");
                let login = sent(&server, config.as_ref(), PATIENT, UNFINISHED_LOGIN);
                let report = format!(
                    "POST /api/v1/reports HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{\"id\": \"",
                    bearer(&kiosk)
                );
                let report = sent(&server, config.as_ref(), PATIENT, report.as_bytes());

                assert_eq!(until_closed(&mut *headers.unwrap()), "", "tls {tls}: headers that never end are closed without an answer");
                let login = until_closed(&mut *login.unwrap());
                assert!(login.starts_with("HTTP/1.1 408"), "tls {tls}: an unfinished sign-in is refused: {login}");
                assert!(login.contains("took too long to arrive"), "tls {tls}: in words: {login}");
                let report = until_closed(&mut *report.unwrap());
                assert!(report.starts_with("HTTP/1.1 408"), "tls {tls}: a kiosk's unfinished report is refused too: {report}");
                assert!(report.contains(r#"{"error":"the request's body did not arrive in time"}"#), "tls {tls}: {report}");
                assert_eq!(server.count("SELECT COUNT(*) FROM reports"), 0);
            });
        }
    });
}

#[test]
fn enrolment_and_signing_in_take_no_more_than_a_few_words() {
    let server = start_in(data(), &[]);
    let long = "A".repeat(100 * 1024);
    let enrol = server
        .client
        .post(format!("{}/api/v1/enrol", server.base))
        .json(&serde_json::json!({ "code": long, "name": "PC-01" }))
        .send()
        .unwrap();
    assert_eq!(enrol.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let login = server
        .client
        .post(format!("{}/login", server.base))
        .form(&[("csrf", "x"), ("name", &long), ("password", "x")])
        .send()
        .unwrap();
    assert_eq!(login.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(server.enrol(&server.code(60)).0, StatusCode::OK, "a real enrolment still fits");
}

#[test]
fn more_unfinished_requests_than_the_server_has_descriptors_for_do_not_keep_a_real_request_out() {
    std::thread::scope(|scope| {
        for tls in [false, true] {
            scope.spawn(move || {
                let server = start_with_open_files(data(), options(tls), 512);
                let kiosk = server.enrolled();
                let config = tls.then(|| trusting(&server));
                // The flooding client's own failures (a server that no longer accepts) only end
                // the flood.
                let mut flood = Vec::new();
                let mut failures = 0;
                while flood.len() < 600 && failures < 10 {
                    match sent(&server, config.as_ref(), HASTY, UNFINISHED_LOGIN) {
                        Ok(stream) => flood.push(stream),
                        Err(_) => failures += 1,
                    }
                }
                assert!(
                    flood.len() > 256,
                    "tls {tls}: the flood holds more connections than the cap ({})",
                    flood.len()
                );

                let client = new_client();
                let page = client.get(format!("{}/login", server.base)).send();
                assert_eq!(
                    page.map(|page| page.status()).ok(),
                    Some(StatusCode::OK),
                    "tls {tls}: the sign-in page answers during the flood"
                );
                let rules =
                    client.get(format!("{}/api/v1/rules", server.base)).header("Authorization", bearer(&kiosk)).send();
                assert_eq!(
                    rules.map(|rules| rules.status()).ok(),
                    Some(StatusCode::OK),
                    "tls {tls}: a kiosk is answered during the flood"
                );
            });
        }
    });
}

#[test]
fn kiosks_long_polls_are_not_closed_as_strangers_however_many_wait() {
    // 256 descriptors: at most 128 connections that have not shown who they are.
    let server = start_with_open_files(data(), &[], 256);
    let staff = admin_session(&server, "it.tech");
    // 200 kiosks, one long poll each (a kiosk may hold only a few at once).
    let codes = admin(server.data.path(), &["enrol-code", "--room", "Class 1", "--count", "200"]);
    let kiosks: Vec<Enrolled> = codes
        .lines()
        .map(|code| {
            let (status, body) = server.enrol(code.trim());
            assert_eq!(status, StatusCode::OK, "{body}");
            Enrolled {
                id: body["kiosk_id"].as_str().unwrap().into(),
                token: body["token"].as_str().unwrap().into(),
                public_key: String::new(),
            }
        })
        .collect();
    let version = new_client()
        .get(format!("{}/api/v1/rules", server.base))
        .header("Authorization", bearer(&kiosks[0]))
        .send()
        .unwrap()
        .headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let mut polls: Vec<_> = kiosks
        .iter()
        .map(|kiosk| {
            let poll = format!("GET /api/v1/rules?wait=60 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {}\r\nIf-None-Match: {version}\r\n\r\n", bearer(kiosk));
            sent(&server, None, PATIENT, poll.as_bytes()).unwrap()
        })
        .collect();
    // Counted as strangers, the first would be closed to make room for the 129th once it had
    // waited 2 s.
    std::thread::sleep(Duration::from_secs(4));
    staff.start_lesson(&server, "Trees", "www.bbc.co.uk/bitesize", 30);
    for (index, poll) in polls.iter_mut().enumerate() {
        let mut head = [0u8; 12];
        poll.read_exact(&mut head).unwrap_or_else(|error| panic!("long poll {index} was closed: {error}"));
        assert_eq!(&head, b"HTTP/1.1 200", "long poll {index} has the lesson");
    }
}

/// CPU time the process has used, user and system.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // After the command's name (in brackets, and it may hold spaces): utime and stime are
    // fields 14 and 15 of the line, the 12th and 13th after the name.
    let fields: Vec<u64> =
        stat[stat.rfind(')').unwrap() + 2..].split(' ').skip(11).take(2).map(|field| field.parse().unwrap()).collect();
    // SAFETY: sysconf reads a constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    Duration::from_millis((fields[0] + fields[1]) * 1000 / ticks)
}

#[test]
fn out_of_descriptors_the_server_waits_rather_than_spins_and_recovers_once_connections_close() {
    std::thread::scope(|scope| {
        for tls in [false, true] {
            scope.spawn(move || {
                let server = start_with_open_files(data(), options(tls), 256);
                let kiosk = server.enrolled();
                let client = new_client();
                let version = client.get(format!("{}/api/v1/rules", server.base)).header("Authorization", bearer(&kiosk)).send().unwrap().headers()["etag"].to_str().unwrap().to_owned();
                // More kiosks' long polls than the server has descriptors for, as a school
                // bigger than its limit would have; the last ones wait in the listen queue.
                let config = tls.then(|| trusting(&server));
                let poll = format!("GET /api/v1/rules?wait=60 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {}\r\nIf-None-Match: {version}\r\n\r\n", bearer(&kiosk));
                let mut polls = Vec::new();
                // Over TLS, a handshake the server cannot take on means it is out of descriptors.
                while polls.len() < 300 {
                    let Ok(stream) = sent(&server, config.as_ref(), HASTY, poll.as_bytes()) else { break };
                    polls.push(stream);
                }
                let queued: Vec<TcpStream> = (0..20).filter_map(|_| TcpStream::connect(("127.0.0.1", server.port)).ok()).collect();
                std::thread::sleep(Duration::from_secs(1));

                let before = cpu_time(server.pid());
                std::thread::sleep(Duration::from_secs(3));
                let spent = cpu_time(server.pid()) - before;
                assert!(spent < Duration::from_millis(500), "tls {tls}: out of descriptors, the server used {spent:?} of CPU in 3 s: it spins");

                drop(polls);
                drop(queued);
                wait_for("the server to answer again", Duration::from_secs(30), || {
                    new_client().get(format!("{}/login", server.base)).timeout(Duration::from_secs(5)).send().is_ok_and(|page| page.status() == StatusCode::OK)
                });
            });
        }
    });
}
