//! Schools in a trust on a real `satchel-server` (SQLite, and PostgreSQL with
//! `SATCHEL_TEST_DATABASE=postgres`): a school's safeguarding lead and admin reach nothing of
//! another school's (reports, alerts, the activity log, asks, computers, accounts), whichever
//! way they ask; the trust's see every school, each row named by its school; each school's lead
//! is mailed their school's alerts. The command line will not guess a school.
#![cfg(feature = "server")]

mod support;

use std::io::{BufRead, BufReader};
use std::process::Command;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::server::{admin, database_options, login, start_in, Enrolled, Running, Staff};
use support::smtp::Sink;
use support::{wait_for, TempDir};

const ASH_REPORT: &str = "a5a5a5a5-d9cb-469f-a165-70867728950e";
const OAK_REPORT: &str = "0a0a0a0a-d9cb-469f-a165-70867728950e";

/// A trust of two schools, Ashgrove (the school the server had: renamed) and Oakfield, a room
/// each.
fn two_schools(options: &[&str]) -> Running {
    let data = TempDir::new("server");
    let path = data.path();
    admin(path, &["add-room", "Ash 1"]);
    admin(path, &["rename-school", "Our school", "Ashgrove"]);
    admin(path, &["add-school", "Oakfield"]);
    admin(path, &["add-room", "Oak 1", "--school", "Oakfield"]);
    start_in(data, options)
}

/// Two schools whose kiosks have each sent a report, raised an alert and asked for a page;
/// the server and the kiosks (Ashgrove's, Oakfield's).
fn two_schools_in_use() -> (Running, Enrolled, Enrolled) {
    let server = two_schools(&[]);
    let (ash, oak) = (server.enrolled_in("Ash 1"), server.enrolled_in("Oak 1"));
    server.send_report(&ash, ASH_REPORT, "https://ashgrove.test/upsetting", "ashgrove page");
    server.send_report(&oak, OAK_REPORT, "https://oakfield.test/upsetting", "oakfield page");
    sitting(&server, &ash, "ashgrove");
    sitting(&server, &oak, "oakfield");
    (server, ash, oak)
}

/// Signs in a new account of a school, or (`None`) of the trust.
fn staff(server: &Running, name: &str, role: &str, school: Option<&str>) -> Staff {
    let scope = school.map_or("--trust".to_owned(), |school| format!("--school={school}"));
    let password = admin(server.data.path(), &["add-user", name, "--role", role, &scope]);
    login(server, name, password.trim())
}

/// A pupil's sitting: a search that raises an urgent alert naming the school's own word, and
/// an ask to unblock a page.
fn sitting(server: &Running, kiosk: &Enrolled, word: &str) {
    let event = |seq: u64, kind: &str, fields: Value| {
        let mut event = json!({ "seq": seq, "at": 1_795_000_000_000u64 + seq, "session": "s-1", "kind": kind });
        event.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
        event
    };
    let terms = format!("how to kill myself {word}");
    let events = [
        event(1, "session-start", json!({})),
        event(
            2,
            "searched",
            json!({ "engine": "google", "terms": terms, "url": format!("https://www.google.co.uk/search?q={word}") }),
        ),
    ];
    assert_eq!(server.send_activity(kiosk, "log-1", &events).0, StatusCode::OK);
    let ask =
        json!({ "id": ask_of(word), "url": format!("https://{word}.test/asked"), "requested_at": 1_795_000_000u64 });
    let response = server.as_kiosk(kiosk, reqwest::Method::POST, "/api/v1/unblock").json(&ask).send().unwrap();
    assert!(response.status().is_success());
}

/// The id of the school's pupil's ask.
fn ask_of(word: &str) -> String {
    let prefix = if word == "ashgrove" { "a5a5b5b5" } else { "0a0ab0b0" };
    format!("{prefix}-d9cb-469f-a165-70867728950e")
}

/// What one of the school's words a page shows: (Ashgrove's, Oakfield's).
fn shows(page: &str) -> (bool, bool) {
    (page.contains("ashgrove") || page.contains("Ash 1"), page.contains("oakfield") || page.contains("Oak 1"))
}

fn id(server: &Running, sql: &str) -> String {
    server.count(sql).to_string()
}

#[test]
fn a_schools_staff_reach_nothing_of_another_school_and_the_trusts_see_every_school() {
    let (server, _, oak) = two_schools_in_use();
    let oak_alert = id(&server, "SELECT id FROM alerts WHERE text LIKE '%oakfield%'");
    let oak_session = id(&server, "SELECT session_id FROM alerts WHERE text LIKE '%oakfield%'");
    let oak_room = id(&server, "SELECT id FROM rooms WHERE name = 'Oak 1'");

    let dsl = staff(&server, "ash.dsl", "dsl", Some("Ashgrove"));
    for page in [
        "/reports",
        "/reports.csv",
        "/alerts",
        "/activity?q=kill",
        "/activity.csv?q=kill",
        "/lessons",
        "/rooms/now",
        "/junk",
    ] {
        let response = dsl.get(page);
        assert_eq!(response.status(), StatusCode::OK, "{page}");
        assert_eq!(shows(&response.text().unwrap()), (true, false), "{page}: Ashgrove's only");
    }
    for (path, what) in [
        (format!("/reports/{OAK_REPORT}/row"), "another school's report"),
        (format!("/alerts/{oak_alert}/row"), "another school's alert"),
        (format!("/activity/sessions/{oak_session}"), "another school's sitting"),
        (format!("/machines/{}/junk", oak.id), "another school's computer"),
    ] {
        assert_eq!(dsl.get(&path).status(), StatusCode::NOT_FOUND, "{what}");
    }
    assert_eq!(dsl.post(&format!("/reports/{OAK_REPORT}/reveal"), &[]).status(), StatusCode::NOT_FOUND);
    assert_eq!(server.count("SELECT count(*) FROM reveals"), 0, "nothing revealed");
    dsl.post(&format!("/alerts/{oak_alert}/acknowledge"), &[("note", "not mine to close")]);
    assert_eq!(
        server.count(&format!("SELECT count(*) FROM alerts WHERE id = {oak_alert} AND acknowledged_at IS NULL")),
        1
    );
    assert_eq!(dsl.post(&format!("/asks/{}/decline", ask_of("oakfield")), &[]).status(), StatusCode::FORBIDDEN);
    assert_eq!(
        server.count("SELECT count(*) FROM unblock_requests WHERE status = 'new'"),
        2,
        "another school's ask stays open"
    );
    assert_eq!(
        dsl.post(&format!("/machines/{}/junk", oak.id), &[("hours", "24"), ("until", "99999999999")]).status(),
        StatusCode::NOT_FOUND,
        "another school's junk is not removed"
    );
    assert_eq!(server.count("SELECT count(*) FROM reports"), 2);
    let term = [("phrase", "midnight dare"), ("category", "bullying-abuse"), ("severity", "urgent")];
    assert_eq!(dsl.post("/alerts/terms", &term).status(), StatusCode::FORBIDDEN, "terms reach every school");

    let school_admin = staff(&server, "ash.admin", "admin", Some("Ashgrove"));
    let oak_dsl = staff(&server, "oak.dsl", "dsl", Some("Oakfield"));
    let page = school_admin.get("/machines").text().unwrap();
    assert_eq!(shows(&page), (true, false), "{page}");
    assert_eq!(school_admin.post(&format!("/machines/{}/retire", oak.id), &[]).status(), StatusCode::NOT_FOUND);
    assert_eq!(server.count("SELECT count(*) FROM kiosks WHERE retired_at IS NULL"), 2, "both still in service");
    let page = school_admin.get("/admin").text().unwrap();
    assert_eq!(shows(&page), (true, false));
    assert!(page.contains("ash.dsl") && !page.contains("oak.dsl"), "{page}");
    let oak_dsl_id = id(&server, "SELECT id FROM users WHERE name = 'oak.dsl'");
    for action in ["disable", "reset-password"] {
        let response = school_admin.post(&format!("/admin/users/{oak_dsl_id}/{action}"), &[]);
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{action} another school's account");
    }
    assert_eq!(oak_dsl.get("/reports").status(), StatusCode::OK, "still signed in");
    assert_eq!(school_admin.post(&format!("/admin/rooms/{oak_room}/code"), &[]).status(), StatusCode::NOT_FOUND);
    let ks1 = id(&server, "SELECT id FROM profiles WHERE name = 'KS1'");
    let moved = school_admin.post(&format!("/admin/rooms/{oak_room}/profile"), &[("profile", &ks1)]);
    assert_eq!(moved.status(), StatusCode::NOT_FOUND);
    assert_eq!(school_admin.get("/profiles").status(), StatusCode::FORBIDDEN, "profiles are the trust's");
    assert_eq!(school_admin.post("/admin/schools", &[("name", "Elmtree")]).status(), StatusCode::FORBIDDEN);
    // What a school's admin makes is their school's, whatever the form says.
    let oakfield = id(&server, "SELECT id FROM schools WHERE name = 'Oakfield'");
    school_admin.post("/admin/rooms", &[("name", "Ash 2"), ("school", &oakfield)]);
    let made = school_admin.post("/admin/users", &[("name", "ash.two"), ("role", "admin"), ("school", "trust")]);
    assert_eq!(made.status(), StatusCode::OK);
    assert_eq!(
        server.count("SELECT count(*) FROM rooms JOIN schools ON schools.id = rooms.school_id WHERE rooms.name = 'Ash 2' AND schools.name = 'Ashgrove'"),
        1
    );
    assert_eq!(
        server.count("SELECT count(*) FROM users JOIN schools ON schools.id = users.school_id WHERE users.name = 'ash.two' AND schools.name = 'Ashgrove'"),
        1,
        "never an account of the trust"
    );

    let trust_dsl = staff(&server, "trust.dsl", "dsl", None);
    for page in ["/reports", "/alerts", "/activity?q=kill", "/junk"] {
        assert_eq!(shows(&trust_dsl.get(page).text().unwrap()), (true, true), "{page}: every school's");
    }
    let inbox = trust_dsl.get("/reports").text().unwrap();
    assert!(inbox.contains("Ashgrove<br>Ash 1") && inbox.contains("Oakfield<br>Oak 1"), "each report names its school");
    assert_eq!(trust_dsl.get(&format!("/activity/sessions/{oak_session}")).status(), StatusCode::OK);
    assert_eq!(trust_dsl.post("/alerts/terms", &term).status(), StatusCode::SEE_OTHER);

    let trust_admin = staff(&server, "trust.admin", "admin", None);
    let machines = trust_admin.get("/machines").text().unwrap();
    assert_eq!(shows(&machines), (true, true));
    assert!(machines.contains("<td>Oakfield</td>"), "a school column");
    assert_eq!(trust_admin.get("/profiles").status(), StatusCode::OK);
    // A school's lead moved to another school sees that school's from their next sign-in.
    let ash_dsl_id = id(&server, "SELECT id FROM users WHERE name = 'ash.dsl'");
    let moved = trust_admin.post(&format!("/admin/users/{ash_dsl_id}/school"), &[("school", &oakfield)]);
    assert_eq!(moved.status(), StatusCode::SEE_OTHER);
    assert_eq!(dsl.get("/reports").status(), StatusCode::SEE_OTHER, "signed out when moved");
    assert_eq!(server.count("SELECT count(*) FROM audit WHERE action = 'account-school'"), 1);

    // The audit log: a school's admin reads what their school's accounts did.
    let audit = school_admin.get("/audit").text().unwrap();
    assert!(audit.contains("ash.admin") && !audit.contains("trust.admin") && !audit.contains("trust.dsl"), "{audit}");
    assert!(trust_admin.get("/audit").text().unwrap().contains("trust.admin"));
}

#[test]
fn the_live_stream_tells_a_schools_lead_of_their_schools_reports_only() {
    let server = two_schools(&[]);
    let (ash, oak) = (server.enrolled_in("Ash 1"), server.enrolled_in("Oak 1"));
    let dsl = staff(&server, "ash.dsl", "dsl", Some("Ashgrove"));
    let stream = dsl.client.get(format!("{}/events", dsl.base)).timeout(Duration::from_secs(60)).send().unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let (heard, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { return };
            if heard.send(line).is_err() {
                return;
            }
        }
    });
    // Told in this order: had Oakfield's reached the stream, it would come first.
    server.send_report(&oak, OAK_REPORT, "https://oakfield.test/upsetting", "oakfield page");
    server.send_report(&ash, ASH_REPORT, "https://ashgrove.test/upsetting", "ashgrove page");
    let mut seen = Vec::new();
    while !seen.iter().any(|line: &String| line.contains(ASH_REPORT)) {
        seen.push(lines.recv_timeout(Duration::from_secs(30)).expect("Ashgrove's report on the stream"));
    }
    assert!(!seen.iter().any(|line| line.contains(OAK_REPORT)), "{seen:?}");
}

#[test]
fn each_schools_lead_is_mailed_their_schools_alerts_and_the_trusts_lead_every_schools() {
    let sink = Sink::start();
    let server = two_schools(&["--smtp-url", &sink.url(), "--smtp-from", "satchel@trust.test"]);
    for (name, school, address) in [
        ("ash.dsl", "--school=Ashgrove", "dsl@ashgrove.test"),
        ("oak.dsl", "--school=Oakfield", "dsl@oakfield.test"),
        ("trust.dsl", "--trust", "safeguarding@trust.test"),
    ] {
        admin(server.data.path(), &["add-user", name, "--role", "dsl", school, "--email", address]);
    }
    let (ash, oak) = (server.enrolled_in("Ash 1"), server.enrolled_in("Oak 1"));
    sitting(&server, &ash, "ashgrove");
    sitting(&server, &oak, "oakfield");
    wait_for("both alerts' e-mails", Duration::from_secs(30), || sink.received().len() >= 2);
    std::thread::sleep(Duration::from_secs(2));
    let mails = sink.received();
    assert_eq!(mails.len(), 2, "{mails:?}");
    for (word, school_lead) in [("ashgrove", "dsl@ashgrove.test"), ("oakfield", "dsl@oakfield.test")] {
        let mail = mails.iter().find(|mail| mail.data.contains(word)).expect("an e-mail for each school's alert");
        let mut to = mail.recipients.clone();
        to.sort();
        let mut expected = vec![school_lead.to_owned(), "safeguarding@trust.test".to_owned()];
        expected.sort();
        assert_eq!(to, expected, "{word}: its school's lead and the trust's, no other school's");
    }
}

#[test]
fn the_command_line_asks_which_school_once_there_are_several_and_never_guesses() {
    let data = TempDir::new("server");
    let path = data.path();
    let refused = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_satchel-server"))
            .arg("--data")
            .arg(path)
            .args(database_options(path))
            .args(args)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{args:?} was let through");
        String::from_utf8(output.stderr).unwrap()
    };
    // A school of its own: no new step.
    admin(path, &["add-room", "Class 1"]);
    admin(path, &["add-user", "mrs.khan", "--role", "dsl"]);
    admin(path, &["add-school", "Oakfield"]);
    assert!(refused(&["add-school", "Oakfield"]).contains("already a school called `Oakfield`"));
    assert!(refused(&["add-room", "Class 2"]).contains("--school"));
    assert!(refused(&["add-user", "mr.lee", "--role", "dsl"]).contains("--trust"));
    assert!(refused(&["add-user", "mr.lee", "--role", "teacher", "--school", "Oakfield", "--room", "Class 1"])
        .contains("another school"));
    assert!(refused(&["add-room", "Class 2", "--school", "Elmtree"]).contains("no school called `Elmtree`"));
    admin(path, &["add-room", "Oak 1", "--school", "Oakfield"]);
    admin(path, &["add-user", "mr.lee", "--role", "teacher", "--school", "Oakfield", "--room", "Oak 1"]);
    let server = start_in(data, &[]);
    assert_eq!(
        server.count("SELECT count(*) FROM users WHERE name = 'mrs.khan' AND school_id IS NULL"),
        1,
        "the school's lead became the trust's"
    );
    assert_eq!(server.count("SELECT count(*) FROM rooms WHERE name = 'Class 1' AND school_id = 1"), 1);
}

#[test]
fn the_trusts_lead_looks_at_one_school_at_a_time_and_a_schools_lead_cannot_look_beyond_theirs() {
    let (server, _, _) = two_schools_in_use();
    let oakfield = id(&server, "SELECT id FROM schools WHERE name = 'Oakfield'");
    let trust = staff(&server, "trust.dsl", "dsl", None);
    let chosen = trust.post("/school-view", &[("school", &oakfield), ("back", "/alerts")]);
    assert_eq!((chosen.status(), chosen.headers()["location"].to_str().unwrap()), (StatusCode::SEE_OTHER, "/alerts"));
    let pages =
        ["/reports", "/reports.csv", "/alerts", "/activity?q=kill", "/activity.csv?q=kill", "/junk", "/rooms/now"];
    for page in pages {
        assert_eq!(shows(&trust.get(page).text().unwrap()), (false, true), "{page}: Oakfield's only");
    }
    assert_eq!(trust.get(&format!("/reports/{ASH_REPORT}/row")).status(), StatusCode::NOT_FOUND);
    let everything = trust.post("/school-view", &[("school", ""), ("back", "//evil.test/")]);
    assert_eq!(everything.headers()["location"], "/reports", "never to another site");
    for page in pages {
        assert_eq!(shows(&trust.get(page).text().unwrap()), (true, true), "{page}: every school's again");
    }
    assert_eq!(trust.post("/school-view", &[("school", "9999")]).status(), StatusCode::NOT_FOUND);

    // A school's lead keeps to their school, whatever they ask to look at.
    let dsl = staff(&server, "ash.dsl", "dsl", Some("Ashgrove"));
    assert_eq!(dsl.post("/school-view", &[("school", &oakfield)]).status(), StatusCode::FORBIDDEN);
    // Looking at Oakfield when moved to Ashgrove: their own school wins.
    trust.post("/school-view", &[("school", &oakfield)]);
    let trust_id = id(&server, "SELECT id FROM users WHERE name = 'trust.dsl'");
    let admin = staff(&server, "trust.admin", "admin", None);
    let ashgrove = id(&server, "SELECT id FROM schools WHERE name = 'Ashgrove'");
    assert_eq!(
        admin.post(&format!("/admin/users/{trust_id}/school"), &[("school", &ashgrove)]).status(),
        StatusCode::SEE_OTHER
    );
    let password = admin.post(&format!("/admin/users/{trust_id}/reset-password"), &[]).text().unwrap();
    let one_time = password.split("<strong class=\"code\">").nth(1).unwrap().split('<').next().unwrap();
    let moved = login(&server, "trust.dsl", one_time);
    assert_eq!(shows(&moved.get("/reports").text().unwrap()), (true, false), "Ashgrove's, its own");
}
