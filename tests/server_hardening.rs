//! The console held against careless and hostile staff-side use, over real HTTP against a real
//! server: approvals that allow exactly one page, incident notes that are never overwritten,
//! passwords that are really changed, sign-in guesses that cost the guesser, an audit log that
//! stays within reach, sessions that end everywhere, and the browser's security headers.
#![cfg(feature = "server")]

mod support;

use std::io::Read;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use satchel::policy::{Policy, RequestKind, Verdict};
use serde_json::json;
use support::server::{
    admin, admin_session, browser, chosen_password, hidden_csrf, login, start, try_login, Enrolled, Running, Staff,
};

fn teacher(server: &Running, name: &str) -> Staff {
    let password = admin(server.data.path(), &["add-user", name, "--role", "teacher", "--room", "Class 1"]);
    login(server, name, password.trim())
}

fn ask(server: &Running, kiosk: &Enrolled, id: &str, url: &str) {
    let ask = json!({ "id": id, "url": url, "requested_at": 1_795_000_000u64 });
    assert!(server
        .as_kiosk(kiosk, reqwest::Method::POST, "/api/v1/unblock")
        .json(&ask)
        .send()
        .unwrap()
        .status()
        .is_success());
}

/// The running lesson's list as the kiosk gets it.
fn lesson_list(server: &Running, kiosk: &Enrolled) -> String {
    let signed: satchel::bundle::Signed =
        server.as_kiosk(kiosk, reqwest::Method::GET, "/api/v1/rules").send().unwrap().json().unwrap();
    let bundle =
        satchel::bundle::verify(&signed, &satchel::keys::parse_public_key(&kiosk.public_key).unwrap()).unwrap();
    bundle.lesson.map(|lesson| lesson.list).unwrap_or_default()
}

fn allows(list: &str, url: &str) -> bool {
    let mut builder = Policy::builder();
    builder.add_list("lesson", list);
    assert!(builder.errors().is_empty(), "{:?}", builder.errors());
    builder.build().decide(url, RequestKind::Navigation).verdict == Verdict::Allow
}

#[test]
fn approving_a_pupils_ask_allows_exactly_that_page_and_never_the_whole_web() {
    let server = start();
    let kiosk = server.enrolled();
    let staff = teacher(&server, "mr.jones");
    staff.start_lesson(&server, "Animals", "www.bbc.co.uk/bitesize", 30);
    let cases = [
        ("10000000-d9cb-469f-a165-70867728950e", "https://www.youtube.com/watch?v=abc123&feature=share"),
        ("20000000-d9cb-469f-a165-70867728950e", "https://www.woodlandtrust.org.uk/"),
        ("30000000-d9cb-469f-a165-70867728950e", "https://*/"),
        ("40000000-d9cb-469f-a165-70867728950e", "https://%2A/"),
        ("50000000-d9cb-469f-a165-70867728950e", "http://192.168.1.1/admin"),
    ];
    for (id, url) in cases {
        ask(&server, &kiosk, id, url);
    }
    // Before pressing Allow, the teacher reads what it will open.
    let page = staff.get("/lessons").text().unwrap();
    assert!(
        page.contains("Allowing this opens only this page: <code dir=\"ltr\">.www.youtube.com/watch?v=abc123</code>"),
        "{page}"
    );
    assert!(page.contains("Allowing this opens every page of this one site (not its other sites): <code dir=\"ltr\">.www.woodlandtrust.org.uk/</code>"));
    assert_eq!(
        page.matches("This address cannot be allowed on its own").count(),
        3,
        "the wildcards and the IP address"
    );

    for (id, _) in &cases[..2] {
        assert_eq!(staff.post(&format!("/asks/{id}/approve"), &[]).status(), StatusCode::SEE_OTHER);
    }
    for (id, _) in &cases[2..] {
        assert_eq!(staff.post(&format!("/asks/{id}/approve"), &[]).status(), StatusCode::UNPROCESSABLE_ENTITY, "{id}");
    }
    let list = lesson_list(&server, &kiosk);
    assert!(allows(&list, "https://www.youtube.com/watch?v=abc123"));
    assert!(!allows(&list, "https://www.youtube.com/watch?v=other"), "one video, not every video: {list}");
    assert!(!allows(&list, "https://www.youtube.com/"), "{list}");
    assert!(!allows(&list, "https://m.youtube.com/watch?v=abc123"), "that host only");
    assert!(allows(&list, "https://www.woodlandtrust.org.uk/"));
    assert!(
        !allows(&list, "https://shop.woodlandtrust.org.uk/"),
        "a front page opens its host, never its subdomains: {list}"
    );
    assert!(!allows(&list, "https://example.org/") && !list.contains('*'), "never the whole web: {list}");
    assert!(!allows(&list, "http://192.168.1.1/admin"));
    assert_eq!(
        server.count("SELECT count(*) FROM unblock_requests WHERE status = 'new'"),
        3,
        "refused approvals keep their asks"
    );
}

#[test]
fn approving_after_the_lesson_ended_says_so_and_keeps_the_ask() {
    let server = start();
    let kiosk = server.enrolled();
    let staff = teacher(&server, "mr.jones");
    staff.start_lesson(&server, "Trees", "www.bbc.co.uk/bitesize", 30);
    ask(&server, &kiosk, "60000000-d9cb-469f-a165-70867728950e", "https://www.woodlandtrust.org.uk/trees/");
    staff.end_lesson(&server);
    // The page was loaded while the lesson ran; the teacher presses Allow after it ended.
    let answer = staff.post("/asks/60000000-d9cb-469f-a165-70867728950e/approve", &[]);
    assert_eq!(answer.status(), StatusCode::CONFLICT);
    assert!(answer.text().unwrap().contains("The lesson in that room has ended, so nothing was allowed."));
    assert_eq!(server.count("SELECT count(*) FROM unblock_requests WHERE status = 'new'"), 1, "the ask is kept");
    assert!(staff.get("/lessons").text().unwrap().contains("https://www.woodlandtrust.org.uk/trees/"));
    assert_eq!(server.count("SELECT count(*) FROM audit WHERE action = 'approve-unblock'"), 0);
}

#[test]
fn a_teachers_lesson_cannot_open_the_whole_web_or_run_script_from_a_tile() {
    let server = start();
    let staff = teacher(&server, "mr.jones");
    for sites in [
        "*",
        "https://*/ | Everything",
        "javascript://x.org/%0Aalert(document.cookie) | Games | 🎲",
        "file:///etc/passwd",
    ] {
        let answer = staff.post("/lessons", &[("name", "Sneaky"), ("sites", sites)]);
        assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY, "{sites}");
        assert!(answer.text().unwrap().contains("line 1:"), "{sites}: the line is named");
    }
    assert_eq!(server.count("SELECT count(*) FROM lessons"), 0);
}

#[test]
fn retention_of_zero_days_is_refused_rather_than_deleting_every_report() {
    let data = support::TempDir::new("server");
    let output = std::process::Command::new(support::server::SERVER)
        .arg("--data")
        .arg(data.path())
        .args(["--retention-days", "0", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("--retention-days") && error.contains("0"), "{error}");
}

fn incident(version: &str, details: &str) -> Vec<(&'static str, String)> {
    [
        ("edit_version", version),
        ("incident_type", "upsetting image"),
        ("details", details),
        ("passed_to", "DSL"),
        ("action_taken", ""),
        ("status", "in hand"),
    ]
    .into_iter()
    .map(|(key, value)| (key, value.to_owned()))
    .collect()
}

fn post_owned(staff: &Staff, path: &str, fields: &[(&'static str, String)]) -> reqwest::blocking::Response {
    let fields: Vec<(&str, &str)> = fields.iter().map(|(key, value)| (*key, value.as_str())).collect();
    staff.post(path, &fields)
}

#[test]
fn a_save_from_a_stale_incident_form_is_refused_and_every_save_is_kept() {
    let server = start();
    let kiosk = server.enrolled();
    let id = "70000000-d9cb-469f-a165-70867728950e";
    let report = json!({ "id": id, "happened_at": 1_795_000_000u64, "url": "http://a.test/", "title": "a page", "screenshot": null });
    assert_eq!(
        server.as_kiosk(&kiosk, reqwest::Method::POST, "/api/v1/reports").json(&report).send().unwrap().status(),
        StatusCode::OK
    );
    let dsl = admin_session(&server, "mrs.dsl");
    let head = admin_session(&server, "mr.head");
    // Both opened the inbox (edit version 0); the DSL saves first.
    assert!(dsl.get("/reports").text().unwrap().contains("name=\"edit_version\" value=\"0\""));
    assert_eq!(
        post_owned(&dsl, &format!("/reports/{id}"), &incident("0", "Spoke to the pupil; parents called.")).status(),
        StatusCode::SEE_OTHER
    );
    let stale = post_owned(&head, &format!("/reports/{id}"), &incident("0", "Head's note"));
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    let page = stale.text().unwrap();
    assert!(page.contains("Head&#39;s note") || page.contains("Head's note"), "what was typed is shown back: {page}");
    assert!(page.contains("Spoke to the pupil; parents called."), "beside the report as it now stands");
    assert_eq!(
        server.count(&format!(
            "SELECT count(*) FROM reports WHERE id = '{id}' AND details = 'Spoke to the pupil; parents called.'"
        )),
        1,
        "nothing overwritten"
    );

    assert_eq!(
        post_owned(
            &head,
            &format!("/reports/{id}"),
            &incident("1", "Spoke to the pupil; parents called. Head informed.")
        )
        .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        server.count(&format!("SELECT count(*) FROM report_edits WHERE report_id = '{id}'")),
        2,
        "every save is in the history"
    );
    let row = dsl.get(&format!("/reports/{id}/row")).text().unwrap();
    assert!(row.contains("2 saves") && row.contains("mrs.dsl") && row.contains("mr.head"), "{row}");
    assert!(
        row.contains("Spoke to the pupil; parents called.</li>") || row.contains("parents called. · "),
        "the first save's text stays readable: {row}"
    );
}

#[test]
fn a_one_time_password_must_be_changed_and_an_admin_can_reset_a_forgotten_one() {
    let server = start();
    let one_time = admin(server.data.path(), &["add-user", "ms.khan", "--role", "teacher", "--room", "Class 1"]);
    let one_time = one_time.trim();
    let client = browser();
    assert_eq!(try_login(&server, &client, "ms.khan", one_time), StatusCode::SEE_OTHER);
    let lessons = client.get(format!("{}/lessons", server.base)).send().unwrap();
    assert_eq!(lessons.status(), StatusCode::SEE_OTHER);
    assert_eq!(lessons.headers()["location"], "/password", "nothing else until a password is chosen");
    let form_page = client.get(format!("{}/password", server.base)).send().unwrap().text().unwrap();
    let csrf = hidden_csrf(&form_page);
    let change = |current: &str, new: &str, repeat: &str| {
        let form = [("csrf", csrf.as_str()), ("current", current), ("new", new), ("repeat", repeat)];
        client.post(format!("{}/password", server.base)).form(&form).send().unwrap().status()
    };
    assert_eq!(change(one_time, "short", "short"), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(change(one_time, "a long enough one", "a different one!!"), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(change("wrong password", "a long enough one", "a long enough one"), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(change(one_time, "a long enough one", "a long enough one"), StatusCode::SEE_OTHER);
    assert_eq!(client.get(format!("{}/lessons", server.base)).send().unwrap().status(), StatusCode::OK);
    assert_eq!(
        try_login(&server, &browser(), "ms.khan", one_time),
        StatusCode::UNAUTHORIZED,
        "the one-time password is spent"
    );
    assert_eq!(try_login(&server, &browser(), "ms.khan", "a long enough one"), StatusCode::SEE_OTHER);

    // Forgotten: the admin resets it; the open session ends and a new one-time password works once.
    let technician = admin_session(&server, "it.tech");
    let id = server.count("SELECT id FROM users WHERE name = 'ms.khan'");
    let reset = technician.post(&format!("/admin/users/{id}/reset-password"), &[]);
    assert_eq!(reset.status(), StatusCode::OK);
    assert_eq!(reset.headers()["cache-control"], "no-store", "a page with a password is never cached");
    let page = reset.text().unwrap();
    let new_one = page.split("<strong class=\"code\">").nth(1).and_then(|s| s.split('<').next()).unwrap().to_owned();
    assert_eq!(
        client.get(format!("{}/lessons", server.base)).send().unwrap().headers()["location"],
        "/login",
        "signed out at once"
    );
    assert_eq!(try_login(&server, &browser(), "ms.khan", "a long enough one"), StatusCode::UNAUTHORIZED);
    let again = browser();
    assert_eq!(try_login(&server, &again, "ms.khan", &new_one), StatusCode::SEE_OTHER);
    assert_eq!(again.get(format!("{}/reports", server.base)).send().unwrap().headers()["location"], "/password");
    let own = server.count("SELECT id FROM users WHERE name = 'it.tech'");
    assert_eq!(
        technician.post(&format!("/admin/users/{own}/reset-password"), &[]).status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let teacher = login(&server, "ms.khan", &new_one);
    assert_eq!(
        teacher.post(&format!("/admin/users/{own}/reset-password"), &[]).status(),
        StatusCode::FORBIDDEN,
        "admins only"
    );
    assert_eq!(server.count("SELECT count(*) FROM audit WHERE action = 'reset-password' AND detail = 'ms.khan'"), 1);
    assert_eq!(server.count("SELECT count(*) FROM audit WHERE action = 'change-password'"), 3);
}

#[test]
fn the_first_admin_password_goes_to_a_private_file_not_to_a_log() {
    use std::os::unix::fs::PermissionsExt;
    let data = support::TempDir::new("server");
    // Standard output is a pipe here, as under systemd.
    let printed = admin(data.path(), &["add-room", "Class 1"]);
    let file = data.path().join("first-admin-password");
    assert!(printed.contains(&file.display().to_string()), "{printed}");
    let password = std::fs::read_to_string(&file).unwrap();
    assert!(!printed.contains(password.trim()), "the password is not printed");
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    let server = support::server::start_in(data, &[]);
    login(&server, "admin", password.trim());
    assert!(!file.exists(), "gone once the admin has chosen a password");
}

fn attempts(server: &Running, client: &reqwest::blocking::Client, name: &str, tries: usize) -> Vec<u16> {
    (0..tries).map(|_| try_login(server, client, name, "a wrong guess").as_u16()).collect()
}

#[test]
fn guesses_slow_the_guesser_not_the_owner_and_tell_nothing_about_which_names_exist() {
    let server = start();
    let password = admin(server.data.path(), &["add-user", "mrs.dsl", "--role", "dsl"]);
    let owner = login(&server, "mrs.dsl", password.trim());
    let chosen = chosen_password(password.trim());
    assert_eq!(owner.post("/logout", &[]).status(), StatusCode::SEE_OTHER);

    // Someone else hammers the account, and a name that is no account, the same way.
    let guesser = browser();
    let real = attempts(&server, &guesser, "mrs.dsl", 8);
    let refused = {
        let page = guesser.get(format!("{}/login", server.base)).send().unwrap().text().unwrap();
        let form = [("csrf", hidden_csrf(&page)), ("name", "mrs.dsl".to_owned()), ("password", chosen.clone())];
        guesser.post(format!("{}/login", server.base)).form(&form).send().unwrap()
    };
    assert_eq!(
        refused.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits, from the guesser's browser"
    );
    assert!(refused.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    let made_up = attempts(&server, &guesser, "mrs.nobody", 8);
    assert_eq!(real, made_up, "the answers do not tell which name exists");
    assert_eq!(&real[..5], &[401; 5]);
    assert!(real[5..].iter().all(|status| *status == 429), "{real:?}");

    // The owner's own browser, which signed in before, is not held up.
    assert_eq!(try_login(&server, &owner.client, "mrs.dsl", &chosen), StatusCode::SEE_OTHER);
    assert_eq!(server.count("SELECT count(*) FROM audit WHERE action = 'login-failed' AND detail = 'mrs.dsl'"), 5);
    assert_eq!(server.count("SELECT count(*) FROM audit WHERE action = 'login-failed' AND detail = 'mrs.nobody'"), 5);
}

#[test]
fn a_name_that_is_no_account_takes_as_long_to_refuse_as_a_real_one() {
    let server = start();
    admin(server.data.path(), &["add-user", "mrs.dsl", "--role", "dsl"]);
    let median = |name: &str| {
        let mut times: Vec<Duration> = (0..5)
            .map(|_| {
                let client = browser();
                let page = client.get(format!("{}/login", server.base)).send().unwrap().text().unwrap();
                let form =
                    [("csrf", hidden_csrf(&page)), ("name", name.to_owned()), ("password", "a wrong guess".to_owned())];
                let started = Instant::now();
                assert_eq!(
                    client.post(format!("{}/login", server.base)).form(&form).send().unwrap().status(),
                    StatusCode::UNAUTHORIZED
                );
                started.elapsed()
            })
            .collect();
        times.sort();
        times[2]
    };
    let (real, made_up) = (median("mrs.dsl"), median("mr.nobody"));
    // A password hash is checked either way; before, an unknown name answered ~20 times faster.
    assert!(made_up * 3 > real, "unknown name {made_up:?}, real account {real:?}");
}

#[test]
fn the_audit_log_pages_back_to_its_first_entry_and_filters_by_action() {
    let server = start();
    let kiosk = server.enrolled();
    let id = "80000000-d9cb-469f-a165-70867728950e";
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0".to_vec();
    png.extend([0u8; 64]);
    use base64::Engine as _;
    let report = json!({ "id": id, "happened_at": 1_795_000_000u64, "url": "http://a.test/", "title": "t",
        "screenshot": base64::engine::general_purpose::STANDARD.encode(&png) });
    server.as_kiosk(&kiosk, reqwest::Method::POST, "/api/v1/reports").json(&report).send().unwrap();
    let dsl = admin_session(&server, "mrs.dsl");
    assert_eq!(dsl.post(&format!("/reports/{id}/reveal"), &[]).status(), StatusCode::OK);
    // 500 downloads used to push the reveal out of sight.
    for _ in 0..510 {
        assert_eq!(dsl.get("/reports.csv").status(), StatusCode::OK);
    }
    let rows = |html: &str| html.matches("<tr><td><time").count();
    let first = dsl.get("/audit").text().unwrap();
    assert_eq!(rows(&first), 100);
    assert!(!first.contains("reveal-screenshot</td>"));
    let last = dsl.get("/audit?page=5").text().unwrap();
    assert!(last.contains("reveal-screenshot</td>"), "the reveal is a few pages back, still within reach");
    let filtered = dsl.get("/audit?action=reveal-screenshot").text().unwrap();
    assert_eq!(rows(&filtered), 1);
    assert!(filtered.contains(&format!("<td>reveal-screenshot</td><td>{id}</td>")));
    assert!(filtered.contains("<option value=\"reveal-screenshot\" selected>"));
}

/// Reads an event stream on a thread; the receiver hears once the server closes it.
fn watch_stream(staff: &Staff) -> std::sync::mpsc::Receiver<()> {
    let mut response =
        staff.client.get(format!("{}/events", staff.base)).timeout(Duration::from_secs(300)).send().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (ended, heard) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 1024];
        while matches!(response.read(&mut buffer), Ok(n) if n > 0) {}
        let _ = ended.send(());
    });
    heard
}

#[test]
fn an_event_stream_ends_when_its_session_is_signed_out_or_its_account_disabled() {
    let server = start();
    let leaver = teacher(&server, "mr.jones");
    let stream = watch_stream(&leaver);
    let technician = admin_session(&server, "it.tech");
    let own_stream = watch_stream(&technician);
    let id = server.count("SELECT id FROM users WHERE name = 'mr.jones'");
    assert!(stream.recv_timeout(Duration::from_secs(2)).is_err(), "open while the session lives");
    assert_eq!(technician.post(&format!("/admin/users/{id}/disable"), &[]).status(), StatusCode::OK);
    assert!(stream.recv_timeout(Duration::from_secs(30)).is_ok(), "a disabled account's stream is closed");
    assert!(own_stream.recv_timeout(Duration::from_millis(500)).is_err(), "other sessions' streams stay open");
    assert_eq!(technician.post("/logout", &[]).status(), StatusCode::SEE_OTHER);
    assert!(own_stream.recv_timeout(Duration::from_secs(30)).is_ok(), "signing out closes the stream");
}

#[test]
fn a_kiosk_retired_while_its_long_poll_waits_gets_no_bundle() {
    let server = start();
    let kiosk = server.enrolled();
    let response = server.as_kiosk(&kiosk, reqwest::Method::GET, "/api/v1/rules").send().unwrap();
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let waiting = {
        let (client, base, id, token) =
            (server.client.clone(), server.base.clone(), kiosk.id.clone(), kiosk.token.clone());
        std::thread::spawn(move || {
            let url = format!("{base}/api/v1/rules?wait=30");
            client
                .get(url)
                .header("Authorization", format!("Bearer {id}.{token}"))
                .header("If-None-Match", etag)
                .send()
                .unwrap()
                .status()
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    let technician = admin_session(&server, "it.tech");
    assert_eq!(technician.post(&format!("/machines/{}/retire", kiosk.id), &[]).status(), StatusCode::SEE_OTHER);
    // A rule change wakes every poll in the room, the retired kiosk's too.
    technician.start_lesson(&server, "Wake", "www.bbc.co.uk/bitesize", 30);
    assert_eq!(waiting.join().unwrap(), StatusCode::UNAUTHORIZED);
}

#[test]
fn console_answers_forbid_framing_sniffing_inline_script_and_caching() {
    let server = start();
    let staff = teacher(&server, "mr.jones");
    for path in ["/login", "/lessons", "/reports", "/reports.csv", "/password"] {
        let response = staff.get(path);
        let headers = response.headers();
        let policy = headers["content-security-policy"].to_str().unwrap();
        assert!(
            policy.contains("script-src 'self'")
                && policy.contains("frame-ancestors 'none'")
                && !policy.contains("unsafe-inline"),
            "{path}: {policy}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(headers["cache-control"], "no-store", "{path}");
    }
    let html = staff.get("/lessons").text().unwrap();
    assert!(
        !html.contains("<script>") && !html.contains(" style=\"") && !html.contains(" onclick="),
        "no inline script or style for the policy to refuse"
    );
    assert_eq!(staff.get("/static/console.css").headers()["cache-control"], "no-cache");
}
