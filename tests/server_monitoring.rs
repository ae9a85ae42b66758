//! The monitoring pages of the console on a real `satchel-server`: the activity log, alerts
//! and the school's terms for the DSL and admins, never for teachers; Room now for teachers.
#![cfg(feature = "server")]

mod support;

use std::io::Write;

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::server::{admin, login, start, Enrolled, Running, Staff};

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Sends events as a kiosk's activity log would (sequence numbers from `first`).
fn send(server: &Running, kiosk: &Enrolled, first: u64, events: &[Value]) {
    let events: Vec<Value> = events
        .iter()
        .enumerate()
        .map(|(index, fields)| {
            let mut event = json!({ "seq": first + index as u64, "at": 1_795_000_000_000u64 + index as u64, "session": "4a0e7a3e-5b1c-4c2d-8e9f-0a1b2c3d4e5f" });
            event.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
            event
        })
        .collect();
    let body = gzip(json!({ "log": "log-1", "events": events }).to_string().as_bytes());
    let response = server
        .as_kiosk(kiosk, reqwest::Method::POST, "/api/v1/activity")
        .header("Content-Encoding", "gzip")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

fn staff(server: &Running, name: &str, role: &str) -> Staff {
    let password = admin(server.data.path(), &["add-user", name, "--role", role, "--room", "Class 1"]);
    login(server, name, password.trim())
}

fn session_events() -> Vec<Value> {
    vec![
        json!({ "kind": "session-start" }),
        json!({ "kind": "opened", "url": "https://www.bbc.co.uk/bitesize/dinosaurs" }),
        json!({ "kind": "titled", "url": "https://www.bbc.co.uk/bitesize/dinosaurs", "title": "Dinosaurs - BBC Bitesize" }),
        json!({ "kind": "searched", "engine": "google", "terms": "=HYPERLINK(\"http://evil.test\") red fox", "url": "https://www.google.co.uk/search?q=red+fox" }),
        json!({ "kind": "blocked", "url": "https://games.test/play", "rule": "games.test (school.list:4)", "reason": "blocked by the list" }),
    ]
}

#[test]
fn teachers_are_refused_the_activity_log_and_alerts() {
    let server = start();
    let teacher = staff(&server, "mr.jones", "teacher");
    for path in ["/activity", "/activity.csv", "/activity/sessions/1", "/alerts", "/alerts/1/row"] {
        assert_eq!(teacher.get(path).status(), StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(
        teacher
            .post("/alerts/terms", &[("phrase", "secret words"), ("category", "extremism"), ("severity", "urgent")])
            .status(),
        StatusCode::FORBIDDEN
    );
    assert!(!teacher.get("/lessons").text().unwrap().contains("href=\"/activity\""), "no link either");
}

#[test]
fn the_dsl_searches_the_log_follows_a_session_and_every_search_is_audited() {
    let server = start();
    let kiosk = server.enrolled();
    send(&server, &kiosk, 1, &session_events());
    let dsl = staff(&server, "mrs.khan", "dsl");
    let found = dsl.get("/activity?q=fox").text().unwrap();
    assert!(found.contains("red fox"), "{found}");
    assert!(!found.contains("bitesize/dinosaurs"), "only the matching event");
    let blocked = dsl.get("/activity?kind=blocked").text().unwrap();
    assert!(blocked.contains("games.test (school.list:4)"), "a block shows its rule");
    assert!(!blocked.contains("red fox"));
    let link =
        found.find("href=\"/activity/sessions/").map(|at| &found[at + 6..]).expect("a link to the session's timeline");
    let timeline = dsl.get(&link[..link.find('"').unwrap()]).text().unwrap();
    let order: Vec<usize> = ["bitesize/dinosaurs", "red fox", "games.test/play"]
        .iter()
        .map(|text| timeline.find(text).expect(text))
        .collect();
    assert!(order.windows(2).all(|pair| pair[0] < pair[1]), "in the order it happened");
    assert!(dsl.get("/activity?q=%22%20OR%20x").status().is_success(), "search syntax typed in the box is only words");
    assert_eq!(server.count("SELECT count(*) FROM audit WHERE action = 'search-activity' AND detail LIKE '%fox%'"), 1);
    assert_eq!(server.count("SELECT count(*) FROM audit WHERE action = 'view-session'"), 1);
}

#[test]
fn a_search_finds_latin_words_with_or_without_their_accents_on_either_engine() {
    let server = start();
    let kiosk = server.enrolled();
    let title = json!({ "kind": "titled", "url": "https://cafe.test/", "title": "Crème brûlée at the café" });
    send(&server, &kiosk, 1, &[json!({ "kind": "session-start" }), title]);
    let dsl = staff(&server, "mrs.khan", "dsl");
    for words in ["cafe", "CAFÉ", "brulee", "crème"] {
        let found = dsl.get(&format!("/activity?q={words}")).text().unwrap();
        assert!(found.contains("Crème brûlée at the café"), "{words}: {found}");
    }
    let none = dsl.get("/activity?q=caff").text().unwrap();
    assert!(!none.contains("Crème brûlée"), "only what the words start");
}

#[test]
fn the_activity_export_defuses_formulas() {
    let server = start();
    let kiosk = server.enrolled();
    send(&server, &kiosk, 1, &session_events());
    let dsl = staff(&server, "mrs.khan", "dsl");
    let response = dsl.get("/activity.csv?q=fox");
    assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = response.text().unwrap();
    assert!(csv.contains("\"'=HYPERLINK(\"\"http://evil.test\"\") red fox\""), "{csv}");
    assert_eq!(csv.lines().count(), 2, "the header and the one match");
    assert_eq!(server.count("SELECT count(*) FROM audit WHERE action = 'export-activity'"), 1);
}

#[test]
fn an_alert_is_acknowledged_with_a_note_and_school_terms_raise_alerts_of_their_own() {
    let server = start();
    let kiosk = server.enrolled();
    let dsl = staff(&server, "mrs.khan", "dsl");
    // The school's own term: a local game the pupils are drawn into.
    assert_eq!(
        dsl.post(
            "/alerts/terms",
            &[("phrase", "midnight dare"), ("category", "bullying-abuse"), ("severity", "urgent")]
        )
        .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        dsl.post("/alerts/terms", &[("phrase", "ab"), ("category", "bullying-abuse"), ("severity", "urgent")]).status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    send(
        &server,
        &kiosk,
        1,
        &[
            json!({ "kind": "searched", "engine": "google", "terms": "midnight dare video", "url": "https://www.google.co.uk/search?q=midnight+dare+video" }),
        ],
    );
    let page = dsl.get("/alerts").text().unwrap();
    assert!(page.contains("midnight dare video") && page.contains("bullying-abuse"), "{page}");
    let alert = server.count("SELECT id FROM alerts");
    let without_csrf =
        dsl.client.post(format!("{}/alerts/{alert}/acknowledge", dsl.base)).form(&[("note", "x")]).send().unwrap();
    assert_eq!(without_csrf.status(), StatusCode::UNPROCESSABLE_ENTITY, "no token, no change");
    assert_eq!(
        dsl.post(&format!("/alerts/{alert}/acknowledge"), &[("note", "")]).status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a note is needed"
    );
    assert_eq!(
        dsl.post(&format!("/alerts/{alert}/acknowledge"), &[("note", "Spoke to the class teacher; parents called.")])
            .status(),
        StatusCode::SEE_OTHER
    );
    let page = dsl.get("/alerts").text().unwrap();
    assert!(page.contains("Spoke to the class teacher; parents called."));
    assert_eq!(server.count("SELECT count(*) FROM audit WHERE action = 'acknowledge-alert'"), 1);
    assert_eq!(
        server.count("SELECT count(*) FROM audit WHERE action = 'add-alert-term' AND detail LIKE 'midnight dare%'"),
        1
    );
    let term = server.count("SELECT id FROM alert_terms");
    assert_eq!(dsl.post(&format!("/alerts/terms/{term}/remove"), &[]).status(), StatusCode::SEE_OTHER);
    send(
        &server,
        &kiosk,
        2,
        &[
            json!({ "kind": "searched", "engine": "google", "terms": "midnight dare", "url": "https://www.google.co.uk/search?q=midnight+dare" }),
        ],
    );
    assert_eq!(server.count("SELECT count(*) FROM alerts"), 1, "a removed term raises nothing");
}

#[test]
fn room_now_shows_a_teacher_each_machine_and_its_page() {
    let server = start();
    let kiosk = server.enrolled();
    send(&server, &kiosk, 1, &session_events());
    let teacher = staff(&server, "mr.jones", "teacher");
    let page = teacher.get("/rooms/now").text().unwrap();
    assert!(page.contains("PC-01"), "{page}");
    assert!(page.contains("www.bbc.co.uk") && page.contains("Dinosaurs - BBC Bitesize"), "the host and title showing");
    assert!(page.contains("games.test/play"), "the latest blocked page");
    let other = admin(server.data.path(), &["add-room", "Class 2"]);
    drop(other);
    let elsewhere = {
        let password = admin(server.data.path(), &["add-user", "ms.owen", "--role", "teacher", "--room", "Class 2"]);
        login(&server, "ms.owen", password.trim())
    };
    assert!(
        !elsewhere.get("/rooms/now/machines").text().unwrap().contains("PC-01"),
        "another room's teacher sees none of it"
    );
}

#[test]
fn a_word_search_pages_newest_first_and_its_next_page_goes_on_from_the_last_row() {
    let server = start();
    let kiosk = server.enrolled();
    let events: Vec<Value> = (0..150)
        .flat_map(|n| {
            [
                json!({ "kind": "searched", "engine": "google", "terms": format!("fox {n:03}"), "url": format!("https://www.google.co.uk/search?q=fox+{n:03}") }),
                json!({ "kind": "opened", "url": format!("https://www.bbc.co.uk/bitesize/owls-{n:03}") }),
            ]
        })
        .collect();
    send(&server, &kiosk, 1, &events);
    let dsl = staff(&server, "mrs.khan", "dsl");
    let shown = |page: &str| -> Vec<String> {
        page.match_indices("<q>fox ").map(|(at, _)| page[at + 7..at + 10].to_owned()).collect()
    };
    let first = dsl.get("/activity?q=fox").text().unwrap();
    let expected: Vec<String> = (50..150).rev().map(|n| format!("{n:03}")).collect();
    assert_eq!(shown(&first), expected, "the newest hundred, newest first");
    assert!(!first.contains("bitesize/owls"), "only the matching events");
    let at = first.rfind("href=\"/activity?").expect("a link to older entries");
    // The page escapes `&` in the link (as `&#38;` or `&amp;`); a browser reads both as `&`.
    let next = first[at + 6..].split('"').next().unwrap().replace("&#38;", "&").replace("&amp;", "&");
    let second = dsl.get(&next).text().unwrap();
    let expected: Vec<String> = (0..50).rev().map(|n| format!("{n:03}")).collect();
    assert_eq!(shown(&second), expected, "the rest, from where the first page stopped");
}

#[test]
fn an_admin_sets_where_a_safeguarding_leads_alert_emails_go_and_it_is_audited() {
    let server = start();
    let dsl = staff(&server, "mrs.khan", "dsl");
    let head = support::server::admin_session(&server, "head");
    let id = server.count("SELECT id FROM users WHERE name = 'mrs.khan'");
    let path = format!("/admin/users/{id}/email");
    let page = head.get("/admin").text().unwrap();
    assert!(page.contains(&format!("action=\"{path}\"")), "a DSL's account has the e-mail field");

    assert_eq!(head.post(&path, &[("email", "not an address")]).status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(dsl.post(&path, &[("email", "dsl@school.example")]).status(), StatusCode::FORBIDDEN, "admins only");
    assert_eq!(server.count("SELECT count(*) FROM users WHERE email IS NOT NULL"), 0, "nothing changed");

    assert_eq!(head.post(&path, &[("email", " k.khan@school.example ")]).status(), StatusCode::SEE_OTHER);
    assert_eq!(
        server.count("SELECT count(*) FROM users WHERE name = 'mrs.khan' AND email = 'k.khan@school.example'"),
        1
    );
    assert!(head.get("/admin").text().unwrap().contains("value=\"k.khan@school.example\""), "the page shows it");
    let head_id = server.count("SELECT id FROM users WHERE name = 'head'");
    assert_eq!(
        server.count(&format!("SELECT count(*) FROM audit WHERE action = 'set-email' AND user_id = {head_id} AND detail LIKE 'mrs.khan:%'")),
        1
    );
    assert_eq!(head.post(&path, &[("email", "")]).status(), StatusCode::SEE_OTHER, "emptied: no e-mails");
    assert_eq!(server.count("SELECT count(*) FROM users WHERE email IS NOT NULL"), 0);
}
