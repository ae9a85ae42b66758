//! Activity ingest on a real `satchel-server` on loopback: batches stored once by sequence,
//! compressed as the kiosk sends them, damaged or hostile ones refused without losing the rest.
#![cfg(feature = "server")]

mod support;

use std::io::Write;

use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

use support::server::{admin, start, start_in, Enrolled, Running};
use support::smtp::Sink;
use support::{wait_for, TempDir};

const LOG: &str = "0f6c1d2e-7a4b-4c3d-9e8f-001122334455";

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn event(seq: u64, kind: &str, fields: Value) -> Value {
    let mut event = json!({ "seq": seq, "at": 1_795_000_000_000u64 + seq, "session": "s-1", "kind": kind });
    event.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
    event
}

fn send(server: &Running, kiosk: &Enrolled, events: &[Value]) -> (StatusCode, Value) {
    server.send_activity(kiosk, LOG, events)
}

fn send_raw(server: &Running, kiosk: &Enrolled, body: Vec<u8>, encoding: &str) -> (StatusCode, Value) {
    server.post_activity(kiosk, body, encoding)
}

#[test]
fn a_batch_is_stored_once_however_often_it_is_sent() {
    let server = start();
    let kiosk = server.enrolled();
    let events = [
        event(1, "session-start", json!({})),
        event(2, "opened", json!({ "url": "https://www.bbc.co.uk/bitesize" })),
        event(
            3,
            "searched",
            json!({ "engine": "google", "terms": "red fox", "url": "https://www.google.co.uk/search?q=red+fox" }),
        ),
        event(
            4,
            "blocked",
            json!({ "url": "https://games.test/", "rule": "games.test (school.list:4)", "reason": "blocked by the list" }),
        ),
    ];
    let (status, answer) = send(&server, &kiosk, &events);
    assert_eq!((status, answer["through"].as_u64()), (StatusCode::OK, Some(4)), "{answer}");
    // The answer was lost on the way: the kiosk sends the same batch, and a longer one.
    assert_eq!(send(&server, &kiosk, &events).0, StatusCode::OK);
    let mut longer = events.to_vec();
    longer.push(event(5, "told", json!({ "url": "https://games.test/", "report": "r-1" })));
    assert_eq!(send(&server, &kiosk, &longer).1["through"], 5);
    assert_eq!(server.count("SELECT count(*) FROM activity"), 5);
    assert_eq!(
        server
            .count("SELECT count(*) FROM activity WHERE kind = 'searched' AND terms = 'red fox' AND engine = 'google'"),
        1
    );
    assert_eq!(
        server.count("SELECT count(*) FROM activity WHERE kind = 'blocked' AND rule = 'games.test (school.list:4)'"),
        1
    );
    assert_eq!(
        server.count(if support::postgres::wanted() {
            "SELECT count(*) FROM activity_text WHERE words @@ CAST('fox' AS tsquery)"
        } else {
            "SELECT count(*) FROM activity_text WHERE activity_text MATCH 'fox'"
        }),
        1,
        "the words are searchable"
    );
    let room: i64 = server.count("SELECT count(DISTINCT room_id) FROM activity WHERE room_id IS NOT NULL");
    assert_eq!(room, 1, "each event knows the kiosk's room");
}

#[test]
fn an_event_the_server_does_not_understand_does_not_hold_back_the_others() {
    let server = start();
    let kiosk = server.enrolled();
    let events = [
        event(1, "opened", json!({ "url": "https://a.test/" })),
        event(2, "teleported", json!({ "to": "the moon" })),
        json!({ "kind": "opened", "url": "https://no-sequence.test/" }),
        event(3, "opened", json!({ "url": format!("https://a.test/{}", "x".repeat(20_000)) })),
    ];
    let (status, answer) = send(&server, &kiosk, &events);
    assert_eq!((status, answer["through"].as_u64()), (StatusCode::OK, Some(3)));
    assert_eq!(server.count("SELECT count(*) FROM activity"), 2);
    assert_eq!(server.count("SELECT max(octet_length(url)) FROM activity"), 8192, "cut to the cap, in bytes");
    assert_eq!(server.count("SELECT count(*) FROM activity WHERE url LIKE '%…'"), 1, "and marked as cut");
}

#[test]
fn hostile_batches_are_refused_with_a_reason() {
    let server = start();
    let kiosk = server.enrolled();
    let stranger = Enrolled { id: kiosk.id.clone(), token: "wrong".into(), public_key: String::new() };
    assert_eq!(send(&server, &stranger, &[event(1, "session-start", json!({}))]).0, StatusCode::UNAUTHORIZED);
    // 24 MB of spaces, compressed to a few tens of kilobytes.
    let bomb = gzip(&vec![b' '; 24 * 1024 * 1024]);
    assert!(bomb.len() < 1024 * 1024);
    let (status, answer) = send_raw(&server, &kiosk, bomb, "gzip");
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    assert_eq!(send_raw(&server, &kiosk, b"not gzip".to_vec(), "gzip").0, StatusCode::BAD_REQUEST);
    assert_eq!(send_raw(&server, &kiosk, b"{}".to_vec(), "br").0, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let too_many: Vec<Value> = (1..=1001).map(|seq| event(seq, "session-start", json!({}))).collect();
    assert_eq!(send(&server, &kiosk, &too_many).0, StatusCode::PAYLOAD_TOO_LARGE);
    let body = json!({ "log": "../../etc", "events": [] }).to_string();
    assert_eq!(send_raw(&server, &kiosk, gzip(body.as_bytes()), "gzip").0, StatusCode::BAD_REQUEST);
    assert_eq!(server.count("SELECT count(*) FROM activity"), 0);
}

#[test]
fn each_kiosk_has_its_own_sequence() {
    let server = start();
    let (first, second) = (server.enrolled(), server.enrolled());
    let events = [event(1, "opened", json!({ "url": "https://a.test/" }))];
    assert_eq!(send(&server, &first, &events).0, StatusCode::OK);
    assert_eq!(send(&server, &second, &events).0, StatusCode::OK);
    assert_eq!(
        server.count("SELECT count(DISTINCT machine) FROM activity"),
        2,
        "the same number from two kiosks is two events"
    );
    assert_eq!(
        server.count("SELECT count(DISTINCT session) FROM activity"),
        2,
        "a session named the same on another kiosk is another sitting"
    );
}

#[test]
fn a_batch_held_back_and_sent_after_newer_ones_does_not_store_older_events_twice() {
    let server = start();
    let kiosk = server.enrolled();
    let opened = |seq| event(seq, "opened", json!({ "url": format!("https://a.test/{seq}") }));
    assert_eq!(send(&server, &kiosk, &[opened(1), opened(2), opened(3)]).1["through"], 3);
    // A retry of the first two, late, and then the rest with the last one again.
    assert_eq!(send(&server, &kiosk, &[opened(1), opened(2)]).0, StatusCode::OK);
    assert_eq!(send(&server, &kiosk, &[opened(3), opened(4)]).1["through"], 4);
    assert_eq!(server.count("SELECT count(*) FROM activity"), 4);
    assert_eq!(server.count("SELECT count(DISTINCT seq) FROM activity"), 4);
}

#[test]
fn a_concerning_search_raises_an_alert_in_its_category_and_severity() {
    let server = start();
    let kiosk = server.enrolled();
    let events = [
        event(
            1,
            "searched",
            json!({ "engine": "google", "terms": "k1ll mys3lf", "url": "https://www.google.co.uk/search?q=k1ll+mys3lf" }),
        ),
        event(
            2,
            "searched",
            json!({ "engine": "google", "terms": "dinosaurs", "url": "https://www.google.co.uk/search?q=dinosaurs" }),
        ),
        event(3, "opened", json!({ "url": "https://example.test/everyone-hates-me" })),
    ];
    assert_eq!(send(&server, &kiosk, &events).0, StatusCode::OK);
    assert_eq!(server.count("SELECT count(*) FROM alerts"), 2);
    assert_eq!(server.count("SELECT count(*) FROM alerts WHERE severity = 'urgent' AND category = 'suicide-self-harm' AND words = 'kill myself' AND text = 'k1ll mys3lf'"), 1);
    assert_eq!(
        server.count("SELECT count(*) FROM alerts WHERE severity = 'review' AND category = 'bullying-abuse'"),
        1
    );
    // Sent again (the answer was lost): no second alert.
    assert_eq!(send(&server, &kiosk, &events).0, StatusCode::OK);
    assert_eq!(server.count("SELECT count(*) FROM alerts"), 2);
}

#[test]
fn many_blocked_pages_in_a_few_minutes_raise_one_review_alert() {
    let server = start();
    let kiosk = server.enrolled();
    let blocked = |seq: u64| {
        event(seq, "blocked", json!({ "url": format!("https://game{seq}.test/"), "reason": "not on the list" }))
    };
    let nine: Vec<Value> = (1..=9).map(blocked).collect();
    assert_eq!(send(&server, &kiosk, &nine).0, StatusCode::OK);
    assert_eq!(server.count("SELECT count(*) FROM alerts"), 0, "nine is not yet many");
    assert_eq!(send(&server, &kiosk, &[blocked(10)]).0, StatusCode::OK);
    assert_eq!(send(&server, &kiosk, &[blocked(11), blocked(12)]).0, StatusCode::OK);
    assert_eq!(
        server.count("SELECT count(*) FROM alerts WHERE reason = 'repeated-blocks' AND severity = 'review'"),
        1,
        "one alert for the burst"
    );
}

#[test]
fn an_urgent_alert_is_mailed_to_the_safeguarding_leads_at_once_and_review_ones_wait_for_the_digest() {
    let sink = Sink::start();
    let data = TempDir::new("server");
    admin(data.path(), &["add-room", "Class 1"]);
    admin(data.path(), &["add-user", "mrs.khan", "--role", "dsl", "--email", "dsl@school.test"]);
    admin(data.path(), &["add-user", "mr.jones", "--role", "teacher", "--email", "teacher@school.test"]);
    // The digest hour is an hour away, so only the urgent alert goes now.
    let hour = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() / 3600 + 1) % 24;
    let server = start_in(
        data,
        &["--smtp-url", &sink.url(), "--smtp-from", "satchel@school.test", "--digest-hour", &hour.to_string()],
    );
    let kiosk = server.enrolled();
    let events = [
        event(
            1,
            "searched",
            json!({ "engine": "google", "terms": "how to kill myself", "url": "https://www.google.co.uk/search?q=how+to+kill+myself" }),
        ),
        event(
            2,
            "searched",
            json!({ "engine": "google", "terms": "everyone hates me", "url": "https://www.google.co.uk/search?q=everyone+hates+me" }),
        ),
    ];
    assert_eq!(send(&server, &kiosk, &events).0, StatusCode::OK);
    wait_for("the urgent alert's e-mail", Duration::from_secs(20), || !sink.received().is_empty());
    std::thread::sleep(Duration::from_secs(2));
    let mails = sink.received();
    assert_eq!(mails.len(), 1, "one e-mail, for the urgent alert only: {mails:?}");
    assert_eq!(mails[0].recipients, ["dsl@school.test"], "the safeguarding lead, not the teacher");
    assert!(mails[0].data.contains("Subject: Satchel: urgent alert: suicide-self-harm"), "{}", mails[0].data);
    assert!(mails[0].data.contains("how to kill myself"), "{}", mails[0].data);
    assert!(!mails[0].data.contains("everyone hates me"), "review alerts go in the digest");
    assert_eq!(server.count("SELECT count(*) FROM alerts WHERE emailed_at IS NOT NULL"), 1);

    // The next day's digest (its hour now), after a restart: the review alert, once.
    let mut server = server;
    let data = server.stop_keeping_data();
    let now_hour = (hour + 23) % 24;
    let server = start_in(
        data,
        &["--smtp-url", &sink.url(), "--smtp-from", "satchel@school.test", "--digest-hour", &now_hour.to_string()],
    );
    wait_for("the digest", Duration::from_secs(20), || sink.received().len() == 2);
    let digest = &sink.received()[1];
    assert!(digest.data.contains("review"), "{}", digest.data);
    assert!(digest.data.contains("everyone hates me"), "{}", digest.data);
    assert!(!digest.data.contains("how to kill myself"), "the urgent one was mailed already");
    // Marked once the relay took it (just after the sink kept it).
    wait_for("the digest marked as sent", Duration::from_secs(10), || {
        server.count("SELECT count(*) FROM alerts WHERE digested_at IS NOT NULL") == 1
    });
    assert_eq!(server.count("SELECT count(*) FROM alerts WHERE severity = 'review' AND digested_at IS NULL"), 0);
}
