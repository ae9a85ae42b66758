//! One kiosk's token held to its limits, over real HTTP against a real server: rates answered
//! with 429 and Retry-After, a screenshot quota that never loses the report, field caps, ids
//! another kiosk used, a disk floor that keeps staff signing in, junk removed by the DSL after
//! a preview, and the kiosk's outbox waiting as the server says.
#![cfg(feature = "server")]

mod support;

use base64::Engine as _;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::server::{admin, admin_session, login, png, start, start_in, Enrolled, Running, Staff};

/// Enough of a PNG for the server's check, `size` bytes in all.
fn id(n: usize) -> String {
    format!("{n:08x}-0000-4000-8000-000000000000")
}

fn report(id: &str, screenshot: Option<&[u8]>) -> Value {
    json!({ "id": id, "happened_at": 1_795_000_000u64, "url": "http://a.test/", "title": "a page",
        "screenshot": screenshot.map(|png| base64::engine::general_purpose::STANDARD.encode(png)) })
}

fn send(server: &Running, kiosk: &Enrolled, path: &str, body: &Value) -> reqwest::blocking::Response {
    server.as_kiosk(kiosk, Method::POST, path).json(body).send().unwrap()
}

fn retry_after(response: &reqwest::blocking::Response) -> u64 {
    response.headers()["retry-after"].to_str().unwrap().parse().unwrap()
}

fn ask(id: &str, url: &str) -> Value {
    json!({ "id": id, "url": url, "requested_at": 1_795_000_000u64 })
}

fn dsl(server: &Running) -> Staff {
    let password = admin(server.data.path(), &["add-user", "mrs.dsl", "--role", "dsl"]);
    login(server, "mrs.dsl", password.trim())
}

#[test]
fn a_flood_of_reports_feelings_asks_or_heartbeats_is_refused_with_retry_after() {
    let server = start();
    let kiosk = server.enrolled();
    for n in 0..30 {
        assert_eq!(
            send(&server, &kiosk, "/api/v1/reports", &report(&id(n), None)).status(),
            StatusCode::OK,
            "report {n}"
        );
    }
    let refused = send(&server, &kiosk, "/api/v1/reports", &report(&id(30), None));
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!((1..=600).contains(&retry_after(&refused)), "until the first of the 30 is ten minutes old");
    assert!(refused.json::<Value>().unwrap()["error"].as_str().unwrap().contains("too many reports"));
    assert_eq!(server.count("SELECT count(*) FROM reports"), 30);
    assert_eq!(
        send(&server, &kiosk, "/api/v1/reports", &report(&id(0), None)).status(),
        StatusCode::OK,
        "a repeat whose answer was lost still gets one"
    );
    let other = server.enrolled();
    assert_eq!(
        send(&server, &other, "/api/v1/reports", &report(&id(31), None)).status(),
        StatusCode::OK,
        "another kiosk has its own allowance"
    );

    for n in 0..30 {
        assert_eq!(
            send(&server, &kiosk, &format!("/api/v1/reports/{}/feeling", id(n)), &json!({ "feeling": "sad" })).status(),
            StatusCode::NO_CONTENT
        );
    }
    let refused = send(&server, &kiosk, &format!("/api/v1/reports/{}/feeling", id(0)), &json!({ "feeling": "scary" }));
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&refused) >= 1);

    for n in 0..60 {
        let status =
            send(&server, &kiosk, "/api/v1/unblock", &ask(&id(100 + n), &format!("https://site{n}.test/"))).status();
        assert_eq!(status, StatusCode::OK, "ask {n}");
    }
    let refused = send(&server, &kiosk, "/api/v1/unblock", &ask(&id(160), "https://one-more.test/"));
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!((1..=600).contains(&retry_after(&refused)));
    assert_eq!(server.count("SELECT count(*) FROM unblock_requests"), 60);

    let beat =
        json!({ "rules_version": 1, "last_sync": 1_795_000_000u64, "state": "active", "satchel_version": "0.1.0" });
    assert_eq!(send(&server, &kiosk, "/api/v1/heartbeat", &beat).status(), StatusCode::NO_CONTENT);
    let refused = send(&server, &kiosk, "/api/v1/heartbeat", &beat);
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!((1..=10).contains(&retry_after(&refused)));
}

#[test]
fn a_kiosk_with_a_hundred_asks_waiting_for_a_teacher_must_wait_for_answers() {
    let server = start();
    let kiosk = server.enrolled();
    // A hundred asks sent over the last day (the rate allows 60 in ten minutes).
    let room = server.count("SELECT id FROM rooms WHERE name = 'Class 1'");
    let asks: Vec<String> = (0..100)
        .map(|n| format!("('{}', '{}', {room}, 'https://site{n}.test/', 1795000000)", id(n), kiosk.id))
        .collect();
    support::server::sql(
        server.data.path(),
        &format!("INSERT INTO unblock_requests (id, kiosk_id, room_id, url, requested_at) VALUES {}", asks.join(", ")),
    );
    let refused = send(&server, &kiosk, "/api/v1/unblock", &ask(&id(100), "https://one-more.test/"));
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&refused), 600);
    assert!(refused.json::<Value>().unwrap()["error"].as_str().unwrap().contains("waiting for a teacher"));
    let teacher = admin_session(&server, "it.tech");
    assert_eq!(teacher.post(&format!("/asks/{}/decline", id(0)), &[]).status(), StatusCode::SEE_OTHER);
    assert_eq!(
        send(&server, &kiosk, "/api/v1/unblock", &ask(&id(100), "https://one-more.test/")).status(),
        StatusCode::OK,
        "an answer makes room"
    );
}

#[test]
fn beyond_its_screenshot_quota_a_kiosks_report_is_stored_without_its_screenshot() {
    let server = start();
    let kiosk = server.enrolled();
    let picture = png(16 * 1024 * 1024);
    // Twelve 16 MB screenshots are 192 MB, within the 200 MB a kiosk may keep; a thirteenth is not.
    for n in 0..12 {
        let response = send(&server, &kiosk, "/api/v1/reports", &report(&id(n), Some(&picture)));
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.json::<Value>().unwrap()["screenshot_kept"], true, "report {n}");
    }
    let response = send(&server, &kiosk, "/api/v1/reports", &report(&id(12), Some(&picture)));
    assert_eq!(response.status(), StatusCode::OK, "the report itself is never refused");
    assert_eq!(response.json::<Value>().unwrap()["screenshot_kept"], false);
    assert_eq!(server.count(&format!("SELECT count(*) FROM reports WHERE id = '{}' AND screenshot = ''", id(12))), 1);
    assert!(support::server::screenshot(server.data.path(), &format!("{}.png", id(12))).is_none());
    let stored: u64 = support::server::stored_screenshots(server.data.path()).iter().map(|(_, bytes)| bytes).sum();
    assert!(stored <= 200 * 1024 * 1024, "{stored} bytes of screenshots");
    let other = server.enrolled();
    let response = send(&server, &other, "/api/v1/reports", &report(&id(13), Some(&png(1024))));
    assert_eq!(response.json::<Value>().unwrap()["screenshot_kept"], true, "another kiosk's quota is its own");
    let inbox = dsl(&server).get("/reports").text().unwrap();
    assert!(inbox.contains("this computer had already sent its share of screenshots (200 MB)"), "the inbox says why");
}

#[test]
fn oversized_fields_are_cut_or_refused_and_an_unknown_feeling_is_not_stored() {
    let server = start();
    let kiosk = server.enrolled();
    let long = json!({ "id": id(1), "happened_at": 4_000_000_000u64, "url": format!("http://a.test/{}", "u".repeat(100_000)),
        "title": "t".repeat(2 * 1024 * 1024), "feeling": "evil", "profile": "p".repeat(1000), "lesson": "l".repeat(1000), "screenshot": null });
    assert_eq!(
        send(&server, &kiosk, "/api/v1/reports", &long).status(),
        StatusCode::OK,
        "a report is cut, never refused"
    );
    let stored = |sql: &str| server.count(&format!("SELECT {sql} FROM reports WHERE id = '{}'", id(1)));
    assert!(stored("octet_length(url)") <= 8192 && stored("url LIKE 'http://a.test/uuu%…'") == 1);
    assert!(stored("octet_length(title)") <= 1024 && stored("title LIKE '%…'") == 1);
    assert_eq!(stored("length(profile)"), 200);
    assert_eq!(stored("length(lesson)"), 200);
    assert_eq!(stored("feeling IS NULL"), 1, "an unknown feeling is dropped");
    assert!(stored("happened_at") < 4_000_000_000, "no date in the future");
    let page = dsl(&server).get("/reports").text().unwrap();
    assert!(page.len() < 64 * 1024, "the inbox stays a page: {} bytes", page.len());

    let beat = |state: &str, version: &str| json!({ "rules_version": 1, "last_sync": null, "state": state, "satchel_version": version });
    assert_eq!(
        send(&server, &kiosk, "/api/v1/heartbeat", &beat(&"a".repeat(201), "0.1.0")).status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        send(&server, &kiosk, "/api/v1/heartbeat", &beat("active", &"9".repeat(51))).status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(server.count("SELECT count(*) FROM kiosks WHERE state IS NOT NULL"), 0, "nothing stored");
    assert_eq!(
        send(&server, &kiosk, "/api/v1/heartbeat", &beat(&"a".repeat(200), &"9".repeat(50))).status(),
        StatusCode::NO_CONTENT,
        "at the caps"
    );

    let long_ask = ask(&id(2), &format!("https://a.test/{}", "x".repeat(9000)));
    assert_eq!(send(&server, &kiosk, "/api/v1/unblock", &long_ask).status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        send(&server, &kiosk, "/api/v1/reports/not-a-uuid/feeling", &json!({ "feeling": "sad" })).status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        send(&server, &kiosk, &format!("/api/v1/reports/{}/feeling", id(1)), &json!({ "feeling": "evil" })).status(),
        StatusCode::BAD_REQUEST
    );
    let enrol = |code: String| {
        server
            .client
            .post(format!("{}/api/v1/enrol", server.base))
            .json(&json!({ "code": code, "name": "PC-02" }))
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(enrol("C".repeat(100)), StatusCode::BAD_REQUEST, "no code is that long");
    assert_eq!(enrol("C".repeat(100_000)), StatusCode::PAYLOAD_TOO_LARGE, "nor a body that big");
}

#[test]
fn an_id_another_kiosk_used_is_refused_with_409_and_a_repeat_of_ones_own_is_acknowledged() {
    let server = start();
    let (first, second) = (server.enrolled(), server.enrolled());
    assert_eq!(send(&server, &first, "/api/v1/reports", &report(&id(1), None)).status(), StatusCode::OK);
    assert_eq!(send(&server, &first, "/api/v1/unblock", &ask(&id(2), "https://a.test/")).status(), StatusCode::OK);
    let taken = send(&server, &second, "/api/v1/reports", &report(&id(1), None));
    assert_eq!(taken.status(), StatusCode::CONFLICT);
    assert!(taken.json::<Value>().unwrap()["error"].as_str().unwrap().contains("another kiosk"));
    assert_eq!(
        send(&server, &second, "/api/v1/unblock", &ask(&id(2), "https://b.test/")).status(),
        StatusCode::CONFLICT
    );
    assert_eq!(send(&server, &first, "/api/v1/reports", &report(&id(1), None)).status(), StatusCode::OK);
    assert_eq!(send(&server, &first, "/api/v1/unblock", &ask(&id(2), "https://a.test/")).status(), StatusCode::OK);
    assert_eq!(server.count(&format!("SELECT count(*) FROM reports WHERE kiosk_id = '{}'", first.id)), 1);
    assert_eq!(server.count("SELECT count(*) FROM unblock_requests WHERE url = 'https://a.test/'"), 1);
}

#[test]
fn an_account_name_over_64_characters_is_refused_with_a_clear_message() {
    let server = start();
    let technician = admin_session(&server, "it.tech");
    let long = "a".repeat(65);
    let answer = technician.post("/admin/users", &[("name", &long), ("role", "teacher"), ("room", "")]);
    assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer.text().unwrap().contains("An account name has at most 64 characters."));
    let output = std::process::Command::new(support::server::SERVER)
        .arg("--data")
        .arg(server.data.path())
        .args(["add-user", &long, "--role", "dsl"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("at most 64 characters"));
    assert_eq!(server.count("SELECT count(*) FROM users WHERE length(name) > 64"), 0);
    let longest = "b".repeat(64);
    let made = technician.post("/admin/users", &[("name", &longest), ("role", "teacher"), ("room", "")]);
    assert_eq!(made.status(), StatusCode::OK);
    let page = made.text().unwrap();
    let password = page.split("<strong class=\"code\">").nth(1).and_then(|s| s.split('<').next()).unwrap().to_owned();
    login(&server, &longest, &password);
}

fn save_incident(staff: &Staff, report: &str) {
    let form = [
        ("edit_version", "0"),
        ("incident_type", "upsetting image"),
        ("details", "Spoke to the pupil."),
        ("passed_to", "DSL"),
        ("action_taken", ""),
        ("status", "in hand"),
    ];
    assert_eq!(staff.post(&format!("/reports/{report}"), &form).status(), StatusCode::SEE_OTHER);
}

#[test]
fn below_the_disk_floor_old_screenshots_go_worked_on_ones_stay_and_staff_can_still_sign_in() {
    let server = start();
    let kiosk = server.enrolled();
    for n in 0..3 {
        assert_eq!(
            send(&server, &kiosk, "/api/v1/reports", &report(&id(n), Some(&png(4096)))).status(),
            StatusCode::OK
        );
    }
    let password = admin(server.data.path(), &["add-user", "mrs.dsl", "--role", "dsl"]);
    let staff = login(&server, "mrs.dsl", password.trim());
    save_incident(&staff, &id(0));
    if support::postgres::wanted() {
        // Screenshots in the database are not on the data directory's disk: its floor takes
        // none of them, and a new one is still kept.
        let server = start_in(server.stop(), &["--disk-floor-mb", "1000000000"]);
        let response = send(&server, &kiosk, "/api/v1/reports", &report(&id(3), Some(&png(4096))));
        assert_eq!(response.json::<Value>().unwrap()["screenshot_kept"], true);
        assert_eq!(support::server::stored_screenshots(server.data.path()).len(), 4);
        assert_eq!(server.count("SELECT count(*) FROM audit WHERE action = 'disk-floor'"), 0);
        return;
    }
    let folder = server.data.path().join("screenshots");
    let screenshot = |n: usize| folder.join(format!("{}.png", id(n)));
    let (worked_on, old) = (screenshot(0), [screenshot(1), screenshot(2)]);
    let data = server.stop();
    // A floor larger than any disk: the server is below it from the start.
    let server = start_in(data, &["--disk-floor-mb", "1000000000"]);
    support::wait_for("the disk floor to be kept", std::time::Duration::from_secs(20), || {
        server.count("SELECT count(*) FROM audit WHERE action = 'disk-floor'") > 0
    });
    assert!(old.iter().all(|path| !path.exists()), "the old screenshots went");
    assert!(worked_on.exists(), "never one of a report staff worked on");
    assert_eq!(server.count("SELECT count(*) FROM reports"), 3, "the reports stay");
    assert!(
        server.count(
            "SELECT count(*) FROM audit WHERE action = 'disk-floor' AND detail LIKE '2 oldest screenshots removed%'"
        ) == 1
    );

    let response = send(&server, &kiosk, "/api/v1/reports", &report(&id(3), Some(&png(4096))));
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().unwrap()["screenshot_kept"],
        false,
        "a new report is kept without its screenshot"
    );
    assert!(!screenshot(3).exists());
    // Signing in still works, and so does the inbox.
    let staff = login(&server, "mrs.dsl", &support::server::chosen_password(password.trim()));
    let inbox = staff.get("/reports").text().unwrap();
    assert!(inbox.contains("the server was short of disk space"), "the inbox says why");
    assert_eq!(inbox.matches("<tr id=\"report-").count(), 4);
}

#[test]
fn the_dsl_previews_a_machines_junk_and_removes_it_but_not_what_staff_worked_on() {
    let server = start();
    let (junk, good) = (server.enrolled(), server.enrolled());
    for n in 0..5 {
        assert_eq!(send(&server, &junk, "/api/v1/reports", &report(&id(n), Some(&png(1024)))).status(), StatusCode::OK);
    }
    for n in 0..3 {
        assert_eq!(
            send(&server, &junk, "/api/v1/unblock", &ask(&id(10 + n), &format!("https://junk{n}.test/"))).status(),
            StatusCode::OK
        );
    }
    assert_eq!(send(&server, &good, "/api/v1/reports", &report(&id(20), Some(&png(1024)))).status(), StatusCode::OK);
    assert_eq!(send(&server, &good, "/api/v1/unblock", &ask(&id(21), "https://real.test/")).status(), StatusCode::OK);
    let dsl = dsl(&server);
    save_incident(&dsl, &id(0));
    assert_eq!(dsl.post(&format!("/reports/{}/reveal", id(1)), &[]).status(), StatusCode::OK);

    let listing = dsl.get("/junk").text().unwrap();
    assert!(listing.contains(&format!("/machines/{}/junk?hours=24", junk.id)), "{listing}");
    let preview = dsl.get(&format!("/machines/{}/junk?hours=2", junk.id));
    assert_eq!(preview.status(), StatusCode::OK);
    let preview = preview.text().unwrap();
    assert!(preview.contains("Sent in the last 2 hours, to remove: reports 4, requests 3."), "{preview}");
    assert!(preview.contains("Reports that someone has worked on stay: 1."));
    assert!(preview.contains("https://junk2.test/") && !preview.contains("https://real.test/"));
    let until = preview.split("name=\"until\" value=\"").nth(1).and_then(|s| s.split('"').next()).unwrap().to_owned();

    let teacher = {
        let password = admin(server.data.path(), &["add-user", "mr.jones", "--role", "teacher", "--room", "Class 1"]);
        login(&server, "mr.jones", password.trim())
    };
    assert_eq!(teacher.get("/junk").status(), StatusCode::FORBIDDEN);
    assert_eq!(
        teacher.post(&format!("/machines/{}/junk", junk.id), &[("hours", "2"), ("until", &until)]).status(),
        StatusCode::FORBIDDEN
    );
    let forged = dsl
        .client
        .post(format!("{}/machines/{}/junk", server.base, junk.id))
        .form(&[("csrf", "wrong"), ("hours", "2"), ("until", until.as_str())])
        .send()
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(server.count("SELECT count(*) FROM reports"), 6, "refused posts remove nothing");

    // A report that arrives after the preview was made was not shown, and stays.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(send(&server, &junk, "/api/v1/reports", &report(&id(5), None)).status(), StatusCode::OK);
    let removed = dsl.post(&format!("/machines/{}/junk", junk.id), &[("hours", "2"), ("until", &until)]);
    assert_eq!(removed.status(), StatusCode::OK);
    assert!(removed.text().unwrap().contains("Removed: reports 4, requests 3."));
    let from = |table: &str, kiosk: &Enrolled| {
        server.count(&format!("SELECT count(*) FROM {table} WHERE kiosk_id = '{}'", kiosk.id))
    };
    assert_eq!(from("reports", &junk), 2, "the worked-on report and the late one stay");
    assert_eq!(server.count(&format!("SELECT count(*) FROM reports WHERE id IN ('{}', '{}')", id(0), id(5))), 2);
    assert_eq!(from("unblock_requests", &junk), 0);
    assert_eq!((from("reports", &good), from("unblock_requests", &good)), (1, 1), "other machines' are untouched");
    assert_eq!(server.count("SELECT count(*) FROM reveals"), 0, "the removed report's reveal went with it");
    assert_eq!(server.count(&format!("SELECT count(*) FROM report_edits WHERE report_id = '{}'", id(0))), 1);
    let kept = |n: usize| support::server::screenshot(server.data.path(), &format!("{}.png", id(n))).is_some();
    assert!((1..5).all(|n| !kept(n)), "their screenshots went");
    assert!(kept(0) && kept(20));
    assert_eq!(server.count(&format!("SELECT count(*) FROM audit WHERE action = 'remove-junk' AND detail LIKE 'PC-01 ({}): 4 reports and 3 requests%'", junk.id)), 1);
    // The inbox pages on as before.
    let inbox = dsl.get("/reports").text().unwrap();
    assert_eq!(inbox.matches("<tr id=\"report-").count(), 3);
}

/// The kiosk's real sync code against the real server: a report whose id another kiosk used is
/// set aside, and once the server limits the kiosk, what is left waits in the outbox for as
/// long as the server said.
#[cfg(feature = "kiosk")]
#[test]
fn the_kiosks_outbox_waits_as_the_server_says_and_sets_aside_an_id_another_kiosk_used() {
    use satchel::kiosk::sync::{Callbacks, Link, Shared};
    let server = start();
    let (kiosk, other) = (server.enrolled(), server.enrolled());
    assert_eq!(send(&server, &other, "/api/v1/reports", &report(&id(99), None)).status(), StatusCode::OK);
    let state = support::TempDir::new("limited-kiosk");
    let outbox = satchel::outbox::Outbox::new(state.path().join("outbox"));
    for _ in 0..31 {
        let item = json!({ "kind": "report", "happened_at": 1_795_000_000u64, "url": "http://a.test/", "title": "a page", "screenshot": null });
        outbox.put(serde_json::from_value(item).unwrap()).unwrap();
    }
    // The oldest item, so it is sent before the limit is reached.
    let taken = json!({ "id": id(99), "kind": "report", "created": 1_795_000_000u64, "happened_at": 1_795_000_000u64, "url": "http://b.test/", "title": "b", "screenshot": null });
    let taken_path = state.path().join("outbox").join(format!("report-{}.json", id(99)));
    std::fs::write(&taken_path, taken.to_string()).unwrap();
    let long_ago = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    std::fs::File::options().write(true).open(&taken_path).unwrap().set_modified(long_ago).unwrap();
    let link = satchel::config::ServerLink {
        url: server.base.clone(),
        kiosk_id: kiosk.id.clone(),
        token: kiosk.token.clone(),
        public_key: kiosk.public_key.clone(),
        fingerprint: None,
    };
    Link::new(&link, state.path(), std::sync::Arc::new(Shared::default()))
        .unwrap()
        .start(
            std::sync::Arc::new(
                satchel::activity::ActivityLog::open(&state.path().join("activity"), Default::default()).unwrap(),
            ),
            Callbacks { rules: Box::new(|_, _| {}), waiting: Box::new(|_| {}) },
        )
        .unwrap();

    let damaged = state.path().join("outbox").join("damaged").join(format!("report-{}.json", id(99)));
    support::wait_for("the other kiosk's id to be set aside", std::time::Duration::from_secs(30), || damaged.exists());
    let last_error = state.path().join("last-error");
    support::wait_for("the server to limit the kiosk", std::time::Duration::from_secs(60), || {
        std::fs::read_to_string(&last_error).is_ok_and(|e| e.contains("limits"))
    });
    let error = std::fs::read_to_string(&last_error).unwrap();
    let wait: u64 = error
        .split("next try in ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{error}"));
    assert!(wait > 60, "the server's wait (until the first report is ten minutes old), not a backoff: {error}");
    assert_eq!(server.count(&format!("SELECT count(*) FROM reports WHERE kiosk_id = '{}'", kiosk.id)), 30);
    let waiting = std::fs::read_dir(state.path().join("outbox"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .count();
    assert_eq!(waiting, 1, "the refused report waits in the outbox, not set aside");
}

#[test]
fn a_copied_kiosk_token_cannot_hold_more_than_a_few_long_polls() {
    let server = start();
    let kiosk = server.enrolled();
    // The version the kiosk holds, from a plain request.
    let held = server.as_kiosk(&kiosk, Method::GET, "/api/v1/rules").send().unwrap().headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let (sender, answered) = std::sync::mpsc::channel();
    for _ in 0..4 {
        let (client, base, id, token, held, sender) = (
            server.client.clone(),
            server.base.clone(),
            kiosk.id.clone(),
            kiosk.token.clone(),
            held.clone(),
            sender.clone(),
        );
        std::thread::spawn(move || {
            let _ = sender.send(Running::kiosk_request(&client, &base, &id, &token, &held).0);
        });
    }
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert!(answered.try_recv().is_err(), "four long polls wait for a change");
    let (status, _) = Running::kiosk_request(&server.client, &server.base, &kiosk.id, &kiosk.token, &held);
    assert_eq!(status, StatusCode::NOT_MODIFIED, "the fifth is answered at once");
    assert!(answered.try_recv().is_err(), "while the four still wait");
}
