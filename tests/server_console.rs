//! The teacher console over real HTTP against a real server: who may do what, CSRF, the
//! lesson that reaches a kiosk within a second, and the report inbox.
#![cfg(feature = "server")]

mod support;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use support::server::{admin, admin_session, browser, login, start, try_login, Enrolled, Running, Staff};

fn teacher(server: &Running, name: &str, room: &str) -> Staff {
    let password = admin(server.data.path(), &["add-user", name, "--role", "teacher", "--room", room]);
    login(server, name, password.trim())
}

fn bundle(
    server: &Running,
    kiosk: &Enrolled,
    etag: Option<&str>,
) -> (StatusCode, Option<satchel::bundle::Bundle>, String) {
    let mut request = server.as_kiosk(
        kiosk,
        reqwest::Method::GET,
        if etag.is_some() { "/api/v1/rules?wait=10" } else { "/api/v1/rules" },
    );
    if let Some(etag) = etag {
        request = request.header("If-None-Match", etag);
    }
    let response = request.send().unwrap();
    let status = response.status();
    let etag = response.headers().get("etag").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    if status != StatusCode::OK {
        return (status, None, etag);
    }
    let signed: satchel::bundle::Signed = response.json().unwrap();
    let key = satchel::keys::parse_public_key(&kiosk.public_key).unwrap();
    (status, Some(satchel::bundle::verify(&signed, &key).unwrap()), etag)
}

#[test]
fn every_console_page_needs_a_login() {
    let server = start();
    let anonymous = browser();
    for path in
        ["/", "/lessons", "/reports", "/reports.csv", "/events", "/reports/0f8fad5b-d9cb-469f-a165-70867728950e/row"]
    {
        let response = anonymous.get(format!("{}{path}", server.base)).send().unwrap();
        assert!(matches!(response.status(), StatusCode::SEE_OTHER), "{path}: {}", response.status());
    }
    for path in ["/lessons", "/lessons/1/start", "/rooms/1/end", "/reports/x/reveal", "/logout"] {
        let response = anonymous.post(format!("{}{path}", server.base)).form(&[("csrf", "x")]).send().unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(response.headers()["location"], "/login");
    }
}

#[test]
fn login_is_refused_with_a_wrong_password_and_rate_limited() {
    let server = start();
    let password = admin(server.data.path(), &["add-user", "ms.khan", "--role", "teacher", "--room", "Class 1"]);
    let client = browser();
    for _ in 0..5 {
        assert_eq!(try_login(&server, &client, "ms.khan", "guess"), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        try_login(&server, &client, "ms.khan", password.trim()),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    // A login form posted without its CSRF cookie is refused.
    let bare = browser()
        .post(format!("{}/login", server.base))
        .form(&[("csrf", "abc"), ("name", "ms.khan"), ("password", "x")])
        .send()
        .unwrap();
    assert_eq!(bare.status(), StatusCode::FORBIDDEN);
}

#[test]
fn a_lesson_started_in_the_console_wakes_the_waiting_kiosk_and_extending_and_ending_it_reach_it_too() {
    let server = start();
    let kiosk = server.enrolled();
    let staff = teacher(&server, "mr.jones", "Class 1");
    let (_, first, etag) = bundle(&server, &kiosk, None);
    assert!(first.unwrap().lesson.is_none());

    let created = staff.post(
        "/lessons",
        &[
            ("name", "Phonics"),
            ("sites", "www.phonicsplay.co.uk | Phonics Play | 🔤\nhttps://www.topmarks.co.uk/maths-games/ | Topmarks"),
        ],
    );
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let page = staff.get("/lessons").text().unwrap();
    assert!(page.contains("Phonics Play"));
    let room_id = server.count("SELECT id FROM rooms WHERE name = 'Class 1'").to_string();
    let lesson_id = server.count("SELECT id FROM lessons WHERE name = 'Phonics'");

    // The kiosk is already waiting when the teacher presses Start.
    let waiting = {
        let (base, client, kiosk_id, token, key) = (
            server.base.clone(),
            server.client.clone(),
            kiosk.id.clone(),
            kiosk.token.clone(),
            kiosk.public_key.clone(),
        );
        let etag = etag.clone();
        std::thread::spawn(move || {
            let waiting = Running::kiosk_request(&client, &base, &kiosk_id, &token, &etag);
            (waiting, key)
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        staff.post(&format!("/lessons/{lesson_id}/start"), &[("room", room_id.as_str()), ("minutes", "30")]).status(),
        StatusCode::SEE_OTHER
    );
    // Woken by the change, not by its 10-second wait, which ends in 304 (how fast: the
    // server_load bench).
    let ((status, body), key) = waiting.join().unwrap();
    assert_eq!(status, StatusCode::OK);
    let signed: satchel::bundle::Signed = serde_json::from_str(&body).unwrap();
    let with_lesson = satchel::bundle::verify(&signed, &satchel::keys::parse_public_key(&key).unwrap()).unwrap();
    let lesson = with_lesson.lesson.clone().expect("the lesson is in the bundle");
    assert_eq!(lesson.name, "Phonics");
    assert!(
        lesson.list.contains("www.phonicsplay.co.uk\n") && lesson.list.contains("www.topmarks.co.uk/maths-games\n")
    );
    assert_eq!(lesson.tiles[0].title, "Phonics Play");
    assert!(lesson.ends_at >= with_lesson.issued_at + 29 * 60);
    assert!(with_lesson.version > first_version(&etag));

    assert_eq!(staff.post(&format!("/rooms/{room_id}/extend"), &[]).status(), StatusCode::SEE_OTHER);
    let (status, extended, _) = bundle(&server, &kiosk, Some(&format!("\"{}\"", with_lesson.version)));
    assert_eq!(status, StatusCode::OK);
    let extended = extended.unwrap();
    assert_eq!(extended.lesson.as_ref().map(|l| l.ends_at), Some(lesson.ends_at + 15 * 60), "Extend adds 15 minutes");
    assert_eq!(server.count("SELECT count(*) FROM audit WHERE action = 'extend-lesson'"), 1);

    assert_eq!(staff.post(&format!("/rooms/{room_id}/end"), &[]).status(), StatusCode::SEE_OTHER);
    let (status, ended, _) = bundle(&server, &kiosk, Some(&format!("\"{}\"", extended.version)));
    assert_eq!(status, StatusCode::OK);
    let ended = ended.unwrap();
    assert!(ended.lesson.is_none() && ended.version > extended.version);
}

fn first_version(etag: &str) -> u64 {
    etag.trim_matches('"').parse().unwrap()
}

#[test]
fn posts_without_the_csrf_token_or_for_another_teachers_room_change_nothing() {
    let server = start();
    admin(server.data.path(), &["add-room", "Class 2"]);
    let staff = teacher(&server, "mr.jones", "Class 1");
    let forged = staff
        .client
        .post(format!("{}/lessons", server.base))
        .form(&[("name", "Forged"), ("sites", "example.org"), ("csrf", "wrong")])
        .send()
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(server.count("SELECT count(*) FROM lessons"), 0);

    staff.post("/lessons", &[("name", "Stories"), ("sites", "www.oxfordowl.co.uk")]);
    let other_room = server.count("SELECT id FROM rooms WHERE name = 'Class 2'").to_string();
    let lesson = server.count("SELECT id FROM lessons").to_string();
    let refused = staff.post(&format!("/lessons/{lesson}/start"), &[("room", other_room.as_str()), ("minutes", "30")]);
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(server.count("SELECT count(*) FROM lesson_runs"), 0);
}

#[test]
fn a_bad_site_line_is_named_and_the_list_is_not_saved() {
    let server = start();
    let staff = teacher(&server, "mr.jones", "Class 1");
    let response = staff.post("/lessons", &[("name", "Maths"), ("sites", "www.topmarks.co.uk\nco.uk")]);
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().unwrap();
    assert!(page.contains("line 2: `co.uk`"), "{page}");
    assert!(page.contains("www.topmarks.co.uk\nco.uk</textarea>"), "what was typed is kept");
    assert_eq!(server.count("SELECT count(*) FROM lessons"), 0);
}

#[test]
fn reports_show_as_text_only_to_staff_of_that_room_and_screenshots_only_when_revealed() {
    let server = start();
    admin(server.data.path(), &["add-room", "Class 2"]);
    let kiosk = server.enrolled();
    let id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    server.send_report(&kiosk, id, "http://evil.test/<script>alert(1)</script>", "<img src=x onerror=alert(1)>");

    let mine = teacher(&server, "mr.jones", "Class 1");
    let inbox = mine.get("/reports").text().unwrap();
    // Escaped as the templates escape (numeric character references): text, never markup.
    assert!(inbox.contains("&#60;img src=x onerror=alert(1)&#62;") && !inbox.contains("<img src=x"));
    assert!(inbox.contains("&#60;script&#62;alert(1)&#60;/script&#62;") && !inbox.contains("<script>alert"));
    assert!(!inbox.contains("/screenshots/"), "no picture before a reveal");

    let other = teacher(&server, "ms.patel", "Class 2");
    assert!(!other.get("/reports").text().unwrap().contains(id));
    assert_eq!(other.post(&format!("/reports/{id}/reveal"), &[]).status(), StatusCode::NOT_FOUND);

    let revealed = mine.post(&format!("/reports/{id}/reveal"), &[]);
    assert_eq!(revealed.status(), StatusCode::OK);
    assert_eq!(revealed.headers()["content-type"], "image/png");
    assert!(revealed.bytes().unwrap().starts_with(b"\x89PNG"));
    assert_eq!(server.count("SELECT count(*) FROM reveals"), 1, "the reveal is recorded");

    let fields = [
        ("edit_version", "0"),
        ("incident_type", "=cmd()"),
        ("details", "rude picture"),
        ("passed_to", "DSL"),
        ("action_taken", "site blocked"),
        ("status", "in hand"),
        ("refer_only", "1"),
    ];
    assert_eq!(mine.post(&format!("/reports/{id}"), &fields).status(), StatusCode::SEE_OTHER);
    assert_eq!(
        mine.post(&format!("/reports/{id}/reveal"), &[]).status(),
        StatusCode::FORBIDDEN,
        "referred: nobody views it"
    );
    let csv = mine.get("/reports.csv").text().unwrap();
    assert!(csv.contains("\"'=cmd()\"") && csv.contains("\"in hand\""), "{csv}");
    assert_eq!(server.count("SELECT count(*) FROM audit WHERE action = 'reveal-screenshot'"), 1);
}

#[test]
fn a_pupils_request_approved_for_the_lesson_joins_its_list_at_once() {
    let server = start();
    let kiosk = server.enrolled();
    let staff = teacher(&server, "mr.jones", "Class 1");
    let ask = json!({ "id": "4f8fad5b-d9cb-469f-a165-70867728950e", "url": "https://www.woodlandtrust.org.uk/trees/oak/?x=1", "requested_at": 1_795_000_000u64 });
    assert!(server
        .as_kiosk(&kiosk, reqwest::Method::POST, "/api/v1/unblock")
        .json(&ask)
        .send()
        .unwrap()
        .status()
        .is_success());
    let page = staff.get("/lessons").text().unwrap();
    assert!(page.contains("https://www.woodlandtrust.org.uk/trees/oak/?x=1"));
    assert!(page.contains("Start a lesson in this room to allow it."), "no lesson running: nothing to add it to");

    staff.post("/lessons", &[("name", "Trees"), ("sites", "www.bbc.co.uk/bitesize")]);
    let lesson = server.count("SELECT id FROM lessons");
    let room = server.count("SELECT id FROM rooms WHERE name = 'Class 1'").to_string();
    staff.post(&format!("/lessons/{lesson}/start"), &[("room", room.as_str()), ("minutes", "30")]);
    let (_, before, _) = bundle(&server, &kiosk, None);
    let before = before.unwrap();
    assert_eq!(staff.post("/asks/4f8fad5b-d9cb-469f-a165-70867728950e/approve", &[]).status(), StatusCode::SEE_OTHER);
    let (_, after, _) = bundle(&server, &kiosk, Some(&format!("\"{}\"", before.version)));
    let after = after.unwrap();
    assert!(after.version > before.version);
    let list = after.lesson.unwrap().list;
    assert!(list.ends_with("\n.www.woodlandtrust.org.uk/trees/oak/?x=1\n"), "that page exactly: {list}");
    assert!(!staff.get("/lessons").text().unwrap().contains("woodlandtrust"), "an answered request leaves the list");
    assert_eq!(server.count("SELECT count(*) FROM audit WHERE action = 'approve-unblock'"), 1);

    let declined = json!({ "id": "5a9fad5b-d9cb-469f-a165-70867728950f", "url": "https://games.example/", "requested_at": 1_795_000_060u64 });
    assert!(server
        .as_kiosk(&kiosk, reqwest::Method::POST, "/api/v1/unblock")
        .json(&declined)
        .send()
        .unwrap()
        .status()
        .is_success());
    assert_eq!(staff.post("/asks/5a9fad5b-d9cb-469f-a165-70867728950f/decline", &[]).status(), StatusCode::SEE_OTHER);
    assert!(!staff.get("/lessons").text().unwrap().contains("games.example"), "a declined request leaves the list");
    let (_, _, etag) = bundle(&server, &kiosk, None);
    assert_eq!(etag, format!("\"{}\"", after.version), "declining changes no rules");
    assert_eq!(server.count("SELECT count(*) FROM audit WHERE action = 'decline-unblock'"), 1);
}

#[test]
fn the_audit_log_and_machines_pages_are_for_their_roles_only() {
    let server = start();
    let kiosk = server.enrolled();
    let beat = json!({ "rules_version": 0, "last_sync": 1_795_000_000u64, "state": "active", "satchel_version": "0.1.0", "outbox_waiting": 3, "outbox_damaged": 1 });
    server.as_kiosk(&kiosk, reqwest::Method::POST, "/api/v1/heartbeat").json(&beat).send().unwrap();
    let staff = teacher(&server, "mr.jones", "Class 1");
    assert_eq!(staff.get("/audit").status(), StatusCode::FORBIDDEN);
    assert_eq!(staff.get("/machines").status(), StatusCode::FORBIDDEN);

    let dsl_password = admin(server.data.path(), &["add-user", "mrs.dsl", "--role", "dsl"]);
    let dsl = login(&server, "mrs.dsl", dsl_password.trim());
    let audit = dsl.get("/audit").text().unwrap();
    assert!(audit.contains("enrol") && audit.contains("login"));
    assert_eq!(dsl.get("/machines").status(), StatusCode::FORBIDDEN);

    let admin_password = admin(server.data.path(), &["add-user", "it.tech", "--role", "admin"]);
    let technician = login(&server, "it.tech", admin_password.trim());
    let machines = technician.get("/machines").text().unwrap();
    assert!(machines.contains("PC-01") && machines.contains("Class 1") && machines.contains("0.1.0"), "{machines}");
    assert!(machines.contains("Running outdated rules"), "version 0 is behind the room's");
    assert!(
        machines.contains("3 waiting, 1 set aside") && machines.contains("Items it could not send"),
        "its outbox, as its heartbeat said"
    );
    assert!(
        !machines.contains("<strong class=\"error\">Silent")
            && machines.contains("Silent for more than 10 minutes: 0."),
        "it was heard from just now"
    );
}

#[test]
fn the_machines_page_sums_up_the_lab_and_a_retired_computer_is_refused_at_once() {
    let server = start();
    let heard = server.enrolled();
    let never_heard = server.enrolled();
    let beat =
        json!({ "rules_version": 0, "last_sync": 1_795_000_000u64, "state": "active", "satchel_version": "0.1.0" });
    server.as_kiosk(&heard, reqwest::Method::POST, "/api/v1/heartbeat").json(&beat).send().unwrap();
    let technician = admin_session(&server, "it.tech");
    let page = technician.get("/machines").text().unwrap();
    assert!(page.contains("Computers: 2. Silent for more than 10 minutes: 1. Running outdated rules: 1."), "{page}");

    let retire = format!("/machines/{}/retire", never_heard.id);
    let staff = teacher(&server, "mr.jones", "Class 1");
    assert_eq!(staff.post(&retire, &[]).status(), StatusCode::FORBIDDEN, "teachers cannot retire computers");
    let forged = technician.client.post(format!("{}{retire}", server.base)).form(&[("csrf", "wrong")]).send().unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let rules = |kiosk| server.as_kiosk(kiosk, reqwest::Method::GET, "/api/v1/rules").send().unwrap().status();
    assert_eq!(rules(&never_heard), StatusCode::OK, "refused posts change nothing");

    assert_eq!(technician.post(&retire, &[]).status(), StatusCode::SEE_OTHER);
    assert_eq!(rules(&never_heard), StatusCode::UNAUTHORIZED, "a retired computer's token stops working at once");
    assert_eq!(rules(&heard), StatusCode::OK, "the others go on");
    let page = technician.get("/machines").text().unwrap();
    assert!(page.contains("Computers: 1. Silent for more than 10 minutes: 0."), "{page}");
    assert!(!page.contains(&never_heard.id), "a retired computer leaves the page");
    assert_eq!(server.count("SELECT count(*) FROM audit WHERE action = 'retire-kiosk'"), 1);
    assert_eq!(technician.post(&retire, &[]).status(), StatusCode::NOT_FOUND, "retiring twice");
}

#[test]
fn an_admin_edits_a_profile_list_checked_line_by_line_and_its_rooms_get_it() {
    let server = start();
    let kiosk = server.enrolled();
    let (_, before, _) = bundle(&server, &kiosk, None);
    let before = before.unwrap();
    let password = admin(server.data.path(), &["add-user", "it.tech", "--role", "admin"]);
    assert!(before.profile.image_search);
    let technician = login(&server, "it.tech", password.trim());
    let profile = server.count("SELECT id FROM profiles WHERE name = 'KS1'");

    let bad = technician.post(
        &format!("/profiles/{profile}"),
        &[("list", "[allow]\r\ncbeebies.com\r\ngithub.io\r\n"), ("search", "kiddle")],
    );
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().unwrap().contains("line 3: `github.io`"));
    let bad_block = technician.post(
        &format!("/profiles/{profile}"),
        &[("list", "[allow]\r\ncbeebies.com\r\n[block]\r\ncbeebies.com:99999/grownups\r\n"), ("search", "kiddle")],
    );
    assert_eq!(
        bad_block.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a block line that cannot be read is never dropped"
    );
    assert!(
        bad_block.text().unwrap().contains("line 4: `cbeebies.com:99999/grownups`: `99999` is not a port number"),
        "which line and why"
    );
    let good = technician
        .post(&format!("/profiles/{profile}"), &[("list", "[allow]\r\ncbeebies.com\r\n"), ("search", "kiddle")]);
    assert_eq!(good.status(), StatusCode::SEE_OTHER);
    let (_, after, _) = bundle(&server, &kiosk, Some(&format!("\"{}\"", before.version)));
    let after = after.unwrap();
    assert_eq!(after.profile.list, "[allow]\ncbeebies.com\n");
    assert_eq!(after.profile.search, satchel::safesearch::SearchEngine::Kiddle);
    assert!(!after.profile.image_search, "the box was not ticked");
    assert!(!after.profile.open_web);

    let open = technician.post(
        &format!("/profiles/{profile}"),
        &[
            ("list", "[block]\nexample.org\n"),
            ("search", "google"),
            ("open_web", "1"),
            ("blocked_categories", "gambling, adult ,"),
        ],
    );
    assert_eq!(open.status(), StatusCode::SEE_OTHER);
    let (_, opened, _) = bundle(&server, &kiosk, Some(&format!("\"{}\"", after.version)));
    let opened = opened.unwrap();
    assert!(opened.profile.open_web);
    assert_eq!(opened.profile.blocked_categories, ["gambling", "adult"]);
    assert!(before.profile.image_search, "image search is on by default");
    assert_eq!(technician.get(&format!("/profiles/{profile}/list")).text().unwrap(), "[block]\nexample.org\n");

    let staff = teacher(&server, "mr.jones", "Class 1");
    assert_eq!(staff.get("/profiles").status(), StatusCode::FORBIDDEN);
    assert_eq!(
        staff.post(&format!("/profiles/{profile}"), &[("list", "[allow]\n*\n"), ("search", "google")]).status(),
        StatusCode::FORBIDDEN
    );
}

#[test]
fn an_admin_adds_a_room_and_an_account_moves_a_room_to_a_profile_and_makes_an_enrolment_code() {
    let server = start();
    let kiosk = server.enrolled();
    let password = admin(server.data.path(), &["add-user", "it.tech", "--role", "admin"]);
    let technician = login(&server, "it.tech", password.trim());
    assert_eq!(technician.post("/admin/rooms", &[("name", "Class 2")]).status(), StatusCode::SEE_OTHER);
    assert_eq!(server.count("SELECT count(*) FROM rooms WHERE name = 'Class 2'"), 1);

    let added = technician.post("/admin/users", &[("name", "ms.patel"), ("role", "teacher"), ("room", "Class 2")]);
    assert_eq!(added.status(), StatusCode::OK);
    let page = added.text().unwrap();
    let shown = page.split("<strong class=\"code\">").nth(1).and_then(|s| s.split('<').next()).unwrap().to_owned();
    login(&server, "ms.patel", &shown);

    let code_page = technician
        .post(&format!("/admin/rooms/{}/code", server.count("SELECT id FROM rooms WHERE name = 'Class 2'")), &[])
        .text()
        .unwrap();
    let code = code_page.split("<strong class=\"code\">").nth(1).and_then(|s| s.split('<').next()).unwrap().to_owned();
    let (status, body) = server.enrol(&code);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["room"], "Class 2");

    // A new profile for Class 1 reaches its kiosk.
    let (_, before, _) = bundle(&server, &kiosk, None);
    let ks1 = server.count("SELECT id FROM profiles WHERE name = 'KS1'");
    let room = server.count("SELECT id FROM rooms WHERE name = 'Class 1'");
    assert_eq!(
        technician.post(&format!("/admin/rooms/{room}/profile"), &[("profile", &ks1.to_string())]).status(),
        StatusCode::SEE_OTHER
    );
    let (_, after, _) = bundle(&server, &kiosk, Some(&format!("\"{}\"", before.unwrap().version)));
    assert!(after.is_some(), "the room's kiosks get a new bundle");

    let teacher = login(&server, "ms.patel", &support::server::chosen_password(&shown));
    assert_eq!(teacher.get("/admin").status(), StatusCode::FORBIDDEN);
    assert_eq!(teacher.post("/admin/rooms", &[("name", "Sneaky")]).status(), StatusCode::FORBIDDEN);
}

#[test]
fn over_https_the_console_cookies_are_secure_only() {
    for (options, secure) in [(&["--tls"][..], true), (&[][..], false)] {
        let data = support::TempDir::new("server");
        admin(data.path(), &["add-room", "Class 1"]);
        let server = support::server::start_in(data, options);
        let page = server.client.get(format!("{}/login", server.base)).send().unwrap();
        let cookie = page.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert_eq!(cookie.ends_with("; Secure"), secure, "{options:?}: {cookie}");
    }
}

#[test]
fn an_admin_disables_an_account_and_its_sessions_end_at_once() {
    let server = start();
    let password = admin(server.data.path(), &["add-user", "mr.jones", "--role", "teacher", "--room", "Class 1"]);
    let password = password.trim();
    let leaver = login(&server, "mr.jones", password);
    assert_eq!(leaver.get("/reports").status(), StatusCode::OK);
    let technician = admin_session(&server, "it.tech");
    let id = server.count("SELECT id FROM users WHERE name = 'mr.jones'");
    let own = server.count("SELECT id FROM users WHERE name = 'it.tech'");

    assert_eq!(
        leaver.post(&format!("/admin/users/{own}/disable"), &[]).status(),
        StatusCode::FORBIDDEN,
        "a teacher cannot"
    );
    assert_eq!(
        technician.post(&format!("/admin/users/{own}/disable"), &[]).status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "not your own"
    );
    assert_eq!(technician.post(&format!("/admin/users/{id}/disable"), &[]).status(), StatusCode::OK);

    assert_eq!(leaver.get("/reports").status(), StatusCode::SEE_OTHER, "the open session ends at once");
    assert_eq!(
        try_login(&server, &browser(), "mr.jones", password),
        StatusCode::UNAUTHORIZED,
        "the right password no longer signs in"
    );
    let page = technician.get("/admin").text().unwrap();
    assert!(page.contains("mr.jones (teacher) <em>disabled</em>"), "{page}");
    assert_eq!(server.count("SELECT count(*) FROM audit WHERE action = 'disable-account' AND detail = 'mr.jones'"), 1);
    assert_eq!(
        technician.post(&format!("/admin/users/{id}/disable"), &[]).status(),
        StatusCode::NOT_FOUND,
        "disabling twice"
    );
}

#[test]
fn every_report_stays_within_reach_a_page_at_a_time_and_the_csv_has_them_all() {
    let server = start();
    // A lab's worth of machines: one sends at most 30 reports in ten minutes.
    let kiosks: Vec<Enrolled> = (0..4).map(|_| server.enrolled()).collect();
    for n in 0..105 {
        server.send_report(
            &kiosks[n % 4],
            &format!("{n:08x}-d9cb-469f-a165-70867728950e"),
            &format!("http://page{n}.test/"),
            "page",
        );
    }
    let dsl_password = admin(server.data.path(), &["add-user", "mrs.dsl", "--role", "dsl"]);
    let dsl = login(&server, "mrs.dsl", dsl_password.trim());
    let rows = |html: &str| html.matches("<tr id=\"report-").count();
    let first = dsl.get("/reports").text().unwrap();
    assert_eq!(rows(&first), 100);
    assert!(first.contains("href=\"/reports?page=1\"") && !first.contains("Newer reports"), "a link to the older ones");
    let second = dsl.get("/reports?page=1").text().unwrap();
    assert_eq!(rows(&second), 5);
    assert!(second.contains("href=\"/reports?page=0\"") && !second.contains("Older reports"));
    assert!(second.contains("http://page0.test/"), "the oldest report is on the last page");
    let csv = dsl.get("/reports.csv").text().unwrap();
    assert_eq!(csv.lines().count(), 1 + 105, "the CSV has every report");
}
