//! The kiosk API of a real `satchel-server` process on loopback, with its own data directory.
#![cfg(feature = "server")]

mod support;

use std::io::{Read, Write};
use std::time::Duration;

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::server::{start, start_in, Enrolled};

fn png(width: u32, height: u32) -> Vec<u8> {
    // Just enough of a PNG for the server's check: signature and an IHDR chunk.
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend(width.to_be_bytes());
    bytes.extend(height.to_be_bytes());
    bytes.extend([8, 6, 0, 0, 0, 0, 0, 0, 0]);
    bytes.extend([0u8; 64]);
    bytes
}

fn report(id: &str, screenshot: &[u8]) -> Value {
    json!({
        "id": id, "happened_at": 1_795_000_000u64, "url": "http://a.test/<script>", "title": "<b>title</b>",
        "feeling": "scary", "screenshot": base64::engine::general_purpose::STANDARD.encode(screenshot),
    })
}

#[test]
fn an_enrolment_code_works_once_and_not_after_it_expires() {
    let server = start();
    let code = server.code(60);
    assert_eq!(server.enrol(&code).0, StatusCode::OK);
    let (status, body) = server.enrol(&code);
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["error"].as_str().unwrap().contains("already used or expired"), "{body}");
    assert_eq!(server.enrol("NOTACODE1234").0, StatusCode::FORBIDDEN);
    assert_eq!(server.enrol(&server.code(0)).0, StatusCode::FORBIDDEN, "an expired code");
    // Codes are typed by people: case and spaces do not matter.
    assert_eq!(server.enrol(&format!(" {} ", server.code(60).to_lowercase())).0, StatusCode::OK);
}

#[test]
fn the_rules_bundle_is_signed_with_the_key_given_at_enrolment_and_304_when_unchanged() {
    let server = start();
    let kiosk = server.enrolled();
    let response = server.as_kiosk(&kiosk, reqwest::Method::GET, "/api/v1/rules").send().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let signed: satchel::bundle::Signed = response.json().unwrap();
    let key = satchel::keys::parse_public_key(&kiosk.public_key).unwrap();
    let bundle = satchel::bundle::verify(&signed, &key).unwrap();
    assert_eq!(bundle.room, "Class 1");
    assert_eq!(bundle.kiosk_id, kiosk.id);
    assert_eq!(bundle.profile.name, "KS1");
    assert_eq!(etag, format!("\"{}\"", bundle.version));

    let again =
        server.as_kiosk(&kiosk, reqwest::Method::GET, "/api/v1/rules").header("If-None-Match", &etag).send().unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    let start = std::time::Instant::now();
    let held = server
        .as_kiosk(&kiosk, reqwest::Method::GET, "/api/v1/rules?wait=1")
        .header("If-None-Match", &etag)
        .send()
        .unwrap();
    assert_eq!(held.status(), StatusCode::NOT_MODIFIED);
    assert!(start.elapsed() >= Duration::from_millis(900), "the long poll held the request");
}

#[test]
fn the_api_refuses_requests_without_a_valid_kiosk_token() {
    let server = start();
    let kiosk = server.enrolled();
    let wrong = Enrolled { token: "0".repeat(64), ..kiosk };
    for (method, path) in [
        ("GET", "/api/v1/rules"),
        ("POST", "/api/v1/reports"),
        ("POST", "/api/v1/unblock"),
        ("POST", "/api/v1/heartbeat"),
    ] {
        let method: reqwest::Method = method.parse().unwrap();
        let anonymous =
            server.client.request(method.clone(), format!("{}{path}", server.base)).json(&json!({})).send().unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED, "{path} without a token");
        let forged = server.as_kiosk(&wrong, method, path).json(&json!({})).send().unwrap();
        assert_eq!(forged.status(), StatusCode::UNAUTHORIZED, "{path} with a wrong token");
    }
}

#[test]
fn a_report_is_stored_once_however_often_it_is_sent_and_only_with_a_png() {
    let server = start();
    let kiosk = server.enrolled();
    let id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    for _ in 0..3 {
        let response = server
            .as_kiosk(&kiosk, reqwest::Method::POST, "/api/v1/reports")
            .json(&report(id, &png(1280, 720)))
            .send()
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.json::<Value>().unwrap()["id"], id);
    }
    let stored: Vec<String> =
        support::server::stored_screenshots(server.data.path()).into_iter().map(|(name, _)| name).collect();
    assert_eq!(stored, [format!("{id}.png")]);
    let database = server.count("SELECT count(*) FROM reports");
    assert_eq!(database, 1);
    // Sent again with another picture, by this kiosk or another: the evidence stays as it was
    // (another kiosk's is refused: it could never be stored under that id).
    let screenshot = || support::server::screenshot(server.data.path(), &format!("{id}.png"));
    let evidence = screenshot().unwrap();
    let other = server.enrolled();
    for (sender, status) in [(&kiosk, StatusCode::OK), (&other, StatusCode::CONFLICT)] {
        let response = server
            .as_kiosk(sender, reqwest::Method::POST, "/api/v1/reports")
            .json(&report(id, &png(64, 64)))
            .send()
            .unwrap();
        assert_eq!(response.status(), status);
    }
    assert_eq!(screenshot().unwrap(), evidence, "a resent report does not replace its screenshot");

    let not_png = server
        .as_kiosk(&kiosk, reqwest::Method::POST, "/api/v1/reports")
        .json(&report("1f8fad5b-d9cb-469f-a165-70867728950e", b"GIF89a not a png at all, not at all............"))
        .send()
        .unwrap();
    assert_eq!(not_png.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Too large: the server answers 413 as soon as the limit is passed and stops reading, so
    // the body is written from another thread (its end may meet a closed connection).
    let mut stream = std::net::TcpStream::connect(server.base.trim_start_matches("http://")).unwrap();
    let size = 25 * 1024 * 1024;
    write!(stream, "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}.{}\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n", kiosk.id, kiosk.token).unwrap();
    let mut writer = stream.try_clone().unwrap();
    std::thread::spawn(move || {
        let _ = writer.write_all(&vec![b' '; size]);
    });
    let mut status = [0u8; 12];
    stream.read_exact(&mut status).unwrap();
    assert_eq!(&status, b"HTTP/1.1 413");
    let escape = server
        .as_kiosk(&kiosk, reqwest::Method::POST, "/api/v1/reports")
        .json(&report("../../etc/passwd", &png(10, 10)))
        .send()
        .unwrap();
    assert_eq!(escape.status(), StatusCode::BAD_REQUEST, "a report id cannot name a path");
    assert_eq!(server.count("SELECT count(*) FROM reports"), 1);
}

#[test]
fn unblock_requests_and_heartbeats_are_recorded() {
    let server = start();
    let kiosk = server.enrolled();
    let request = json!({ "id": "3f8fad5b-d9cb-469f-a165-70867728950e", "url": "https://www.example.org/?a=1&b=2", "requested_at": 1_795_000_000u64 });
    for _ in 0..2 {
        let response = server.as_kiosk(&kiosk, reqwest::Method::POST, "/api/v1/unblock").json(&request).send().unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    assert_eq!(server.count("SELECT count(*) FROM unblock_requests WHERE url = 'https://www.example.org/?a=1&b=2'"), 1);
    let beat =
        json!({ "rules_version": 3, "last_sync": 1_795_000_000u64, "state": "idle", "satchel_version": "0.1.0" });
    let response = server.as_kiosk(&kiosk, reqwest::Method::POST, "/api/v1/heartbeat").json(&beat).send().unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        server
            .count("SELECT count(*) FROM kiosks WHERE rules_version = 3 AND state = 'idle' AND last_seen IS NOT NULL"),
        1
    );
}

#[test]
fn reports_and_unblock_requests_older_than_the_retention_period_are_deleted_with_their_screenshots() {
    let server = start();
    let kiosk = server.enrolled();
    let id = "5f8fad5b-d9cb-469f-a165-70867728950e";
    assert!(server
        .as_kiosk(&kiosk, reqwest::Method::POST, "/api/v1/reports")
        .json(&report(id, &png(4, 4)))
        .send()
        .unwrap()
        .status()
        .is_success());
    let name = format!("{id}.png");
    assert!(support::server::screenshot(server.data.path(), &name).is_some());
    // An unblock request, dated (by a kiosk with a wrong clock) far in the future.
    let ask = json!({ "id": "6f8fad5b-d9cb-469f-a165-70867728950e", "url": "https://games.example/", "requested_at": 4_000_000_000u64 });
    assert!(server
        .as_kiosk(&kiosk, reqwest::Method::POST, "/api/v1/unblock")
        .json(&ask)
        .send()
        .unwrap()
        .status()
        .is_success());
    // Two days pass (the server's own dates, moved back), and the server starts again keeping
    // one day (0, keeping nothing, is refused).
    let data = server.stop();
    support::server::sql(
        data.path(),
        "UPDATE reports SET received_at = received_at - 2 * 86400; UPDATE unblock_requests SET requested_at = requested_at - 2 * 86400;",
    );
    let server = start_in(data, &["--retention-days", "1"]);
    support::wait_for("the old report to go", Duration::from_secs(10), || {
        server.count("SELECT count(*) FROM reports") == 0
    });
    assert!(support::server::screenshot(server.data.path(), &name).is_none(), "its screenshot went too");
    support::wait_for("the old unblock request to go", Duration::from_secs(10), || {
        server.count("SELECT count(*) FROM unblock_requests") == 0
    });
}

/// A request body that sends its first half, then waits until the test lets it go on.
struct HeldBody {
    halves: [Vec<u8>; 2],
    sent_first: Option<std::sync::mpsc::Sender<()>>,
    go_on: std::sync::mpsc::Receiver<()>,
}

impl Read for HeldBody {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let half = if self.halves[0].is_empty() {
            if let Some(sent) = self.sent_first.take() {
                let _ = sent.send(());
                let _ = self.go_on.recv();
            }
            &mut self.halves[1]
        } else {
            &mut self.halves[0]
        };
        let length = half.len().min(buffer.len());
        buffer[..length].copy_from_slice(&half[..length]);
        half.drain(..length);
        Ok(length)
    }
}

#[test]
fn at_sigterm_the_server_answers_long_polls_finishes_a_report_being_uploaded_and_exits_cleanly() {
    for options in [&["--tls"][..], &[][..]] {
        let data = support::TempDir::new("server");
        support::server::admin(data.path(), &["add-room", "Class 1"]);
        let mut server = start_in(data, options);
        let kiosk = server.enrolled();
        let version = server.as_kiosk(&kiosk, reqwest::Method::GET, "/api/v1/rules").send().unwrap().headers()["etag"]
            .to_str()
            .unwrap()
            .to_owned();

        let long_poll = {
            let request =
                server.as_kiosk(&kiosk, reqwest::Method::GET, "/api/v1/rules?wait=60").header("If-None-Match", version);
            std::thread::spawn(move || request.send().map(|response| response.status()))
        };
        let body = serde_json::to_vec(&report("3f2c9a1e-5b7d-4c8e-9f01-23456789abcd", &png(640, 480))).unwrap();
        let (sent_first, first_sent) = std::sync::mpsc::channel();
        let (go_on, held) = std::sync::mpsc::channel();
        let middle = body.len() / 2;
        let upload = {
            let held = HeldBody {
                halves: [body[..middle].to_vec(), body[middle..].to_vec()],
                sent_first: Some(sent_first),
                go_on: held,
            };
            let request = server
                .as_kiosk(&kiosk, reqwest::Method::POST, "/api/v1/reports")
                .header("Content-Type", "application/json")
                .body(reqwest::blocking::Body::new(held));
            std::thread::spawn(move || request.send().map(|response| response.status()))
        };
        first_sent.recv().unwrap();
        std::thread::sleep(Duration::from_secs(1)); // let the headers and the first half reach the server

        server.terminate();
        assert_eq!(
            long_poll.join().unwrap().unwrap(),
            StatusCode::NOT_MODIFIED,
            "{options:?}: a waiting long poll is answered at once"
        );
        go_on.send(()).unwrap();
        assert_eq!(upload.join().unwrap().unwrap(), StatusCode::OK, "{options:?}: the report being uploaded is taken");
        assert!(server.exited_cleanly(), "{options:?}: the server exits cleanly once nothing is in flight");
        assert_eq!(server.count("SELECT COUNT(*) FROM reports"), 1, "{options:?}: the report is stored");
    }
}

#[test]
fn over_https_a_connection_that_never_says_anything_is_closed() {
    let data = support::TempDir::new("server");
    support::server::admin(data.path(), &["add-room", "Class 1"]);
    let server = start_in(data, &["--tls"]);
    let mut idle = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    // Far longer than the server's handshake limit: a read that times out here means the
    // server kept the connection open.
    idle.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut byte = [0u8; 1];
    assert_eq!(idle.read(&mut byte).unwrap(), 0, "the server closed the silent connection");
}
