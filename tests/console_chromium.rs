//! The teacher console in real headless Chromium against a real server: a teacher logs in,
//! makes and starts a lesson that reaches an enrolled kiosk, sees a report arrive without a
//! reload, reveals its screenshot, fills in the incident form and exports the inbox; and
//! axe-core finds no serious accessibility problem on the pages.
#![cfg(feature = "server")]

mod support;

use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};
use support::server::{admin, start};
use support::{wait_for, TempDir, WebDriver};

const REPORT_ID: &str = "6f8fad5b-d9cb-469f-a165-70867728950e";

/// Where screenshots of the console go, to look at (not part of the repository).
fn screenshot(driver: &WebDriver, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("console-{name}.png")), driver.screenshot()).unwrap();
}

/// axe-core's serious and critical violations on the page showing now.
fn accessibility_problems(driver: &WebDriver) -> Vec<String> {
    let axe = std::env::var("SATCHEL_AXE")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/target/npm/node_modules/axe-core/axe.min.js").into());
    let source =
        std::fs::read_to_string(&axe).unwrap_or_else(|e| panic!("axe-core at {axe} ({e}): `make deps` installs it"));
    driver.run(&source);
    let result = driver.run_async(
        "const done = arguments[arguments.length - 1];
         axe.run(document, { resultTypes: ['violations'] }).then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }))));",
    );
    result
        .as_array()
        .unwrap_or_else(|| panic!("axe did not run: {result}"))
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .map(Value::to_string)
        .collect()
}

/// Signs in on the login page; a new account chooses its own password first, as the console
/// asks, and lands on the lessons page.
fn sign_in(driver: &WebDriver, base: &str, name: &str, one_time: &str) {
    driver.navigate(&format!("{base}/login"));
    driver.type_into("input[name=name]", name);
    driver.type_into("input[name=password]", one_time);
    driver.click("form.login button");
    driver.wait_for_url(&format!("{base}/password"));
    assert_eq!(accessibility_problems(driver), Vec::<String>::new(), "password page");
    let chosen = format!("{one_time} chosen by its owner");
    driver.type_into("input[name=current]", one_time);
    driver.type_into("input[name=new]", &chosen);
    driver.type_into("input[name=repeat]", &chosen);
    driver.click("form.login button");
    driver.wait_for_url(&format!("{base}/lessons"));
}

#[test]
fn a_teacher_runs_a_lesson_and_handles_a_report_in_chromium() {
    let server = start();
    let password = admin(server.data.path(), &["add-user", "ms.khan", "--role", "teacher", "--room", "Class 1"]);
    let kiosk = server.enrolled();
    let profile = TempDir::new("chromium");
    let driver = WebDriver::chromium(profile.path());

    driver.navigate(&format!("{}/login", server.base));
    assert_eq!(accessibility_problems(&driver), Vec::<String>::new(), "login page");
    sign_in(&driver, &server.base, "ms.khan", password.trim());

    driver.type_into(".new-lesson input[name=name]", "Counting");
    driver.type_into(
        ".new-lesson textarea",
        "www.topmarks.co.uk/maths-games | Topmarks | 🔢\nwww.ictgames.com | ICT Games | 🎲",
    );
    driver.click(".new-lesson button");
    wait_for("the new lesson", Duration::from_secs(10), || {
        driver.run("return document.body.innerText").as_str().unwrap_or("").contains("ICT Games")
    });
    assert_eq!(accessibility_problems(&driver), Vec::<String>::new(), "lessons page");
    screenshot(&driver, "lessons");
    driver.click("form.start button");
    wait_for("the lesson to run", Duration::from_secs(10), || {
        driver.run("return document.querySelector('#rooms').innerText").as_str().unwrap_or("").contains("Counting")
    });
    let rules = server
        .as_kiosk(&kiosk, reqwest::Method::GET, "/api/v1/rules")
        .send()
        .unwrap()
        .json::<satchel::bundle::Signed>()
        .unwrap();
    let bundle = satchel::bundle::verify(&rules, &satchel::keys::parse_public_key(&kiosk.public_key).unwrap()).unwrap();
    assert_eq!(bundle.lesson.map(|l| l.name).as_deref(), Some("Counting"), "the kiosk's bundle has the lesson");

    driver.navigate(&format!("{}/reports", server.base));
    driver.run("window.notReloaded = true;");
    let mut png = Vec::new();
    png.extend_from_slice(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89");
    png.extend_from_slice(b"\0\0\0\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\0\x05\0\x01\xff\x89\x99=\x1d\0\0\0\0IEND\xaeB`\x82");
    let report = json!({ "id": REPORT_ID, "happened_at": 1_795_000_000u64, "url": "http://bad.test/<b>page</b>", "title": "Scary <i>page</i>", "feeling": "scary",
        "screenshot": base64::engine::general_purpose::STANDARD.encode(&png) });
    assert!(server
        .as_kiosk(&kiosk, reqwest::Method::POST, "/api/v1/reports")
        .json(&report)
        .send()
        .unwrap()
        .status()
        .is_success());
    let row = format!("#report-{REPORT_ID}");
    wait_for("the report to appear live", Duration::from_secs(5), || {
        driver.run(&format!("return !!document.querySelector('{row}')")) == json!(true)
    });
    assert_eq!(driver.run("return window.notReloaded === true"), json!(true), "no reload");
    assert_eq!(
        driver.run(&format!("return document.querySelector('{row} .title').textContent")),
        json!("Scary <i>page</i>")
    );
    assert_eq!(
        driver.run(&format!("return document.querySelectorAll('{row} img').length")),
        json!(0),
        "the screenshot stays hidden"
    );

    driver.click(&format!("{row} form.reveal button"));
    wait_for("the revealed screenshot", Duration::from_secs(5), || {
        driver.run(&format!(
            "const i = document.querySelector('{row} img'); return !!(i && i.complete && i.naturalWidth === 1)"
        )) == json!(true)
    });
    assert_eq!(server.count("SELECT count(*) FROM reveals"), 1);
    assert_eq!(accessibility_problems(&driver), Vec::<String>::new(), "reports page");
    screenshot(&driver, "reports");

    driver.type_into(&format!("{row} input[name=incident_type]"), "Inappropriate image");
    driver.type_into(&format!("{row} input[name=passed_to]"), "DSL");
    driver.run(&format!("document.querySelector('{row} select[name=status]').value = 'in hand';"));
    driver.click(&format!("{row} form.incident button"));
    wait_for("the saved form", Duration::from_secs(5), || {
        server.count("SELECT count(*) FROM reports WHERE status = 'in hand' AND passed_to = 'DSL'") == 1
    });
    let csv = driver.run_async(
        "const done = arguments[arguments.length - 1]; fetch('/reports.csv').then(r => r.text()).then(done);",
    );
    let csv = csv.as_str().unwrap();
    assert!(csv.starts_with("date and time,room,computer,url,title"), "{csv}");
    assert!(
        csv.contains("\"Inappropriate image\"") && csv.contains("\"in hand\"") && csv.contains("\"PC-01\""),
        "{csv}"
    );
}

#[test]
fn the_admin_pages_have_no_serious_accessibility_problems() {
    let server = start();
    // A trust of two schools, so the pages show each row's school and the forms ask for one.
    admin(server.data.path(), &["add-school", "Oakfield Primary"]);
    admin(server.data.path(), &["add-room", "Oak 1", "--school", "Oakfield Primary"]);
    let password = admin(server.data.path(), &["add-user", "it.tech", "--role", "admin", "--trust"]);
    // A safeguarding lead's account, so the admin page shows its alert e-mail field.
    let school = "--school=Oakfield Primary";
    admin(server.data.path(), &["add-user", "mrs.khan", "--role", "dsl", school, "--email", "k.khan@school.example"]);
    let _kiosk = server.enrolled();
    let profile = TempDir::new("chromium");
    let driver = WebDriver::chromium(profile.path());
    sign_in(&driver, &server.base, "it.tech", password.trim());
    for page in ["admin", "profiles", "machines", "audit", "activity", "alerts", "rooms/now", "junk"] {
        driver.navigate(&format!("{}/{page}", server.base));
        assert_eq!(accessibility_problems(&driver), Vec::<String>::new(), "{page}");
        screenshot(&driver, &page.replace('/', "-"));
    }
    driver.navigate(&format!("{}/admin", server.base));
    driver.run("document.querySelector('form[action$=\"/email\"]').scrollIntoView()");
    screenshot(&driver, "admin-accounts");
    driver.run("document.getElementById('schools-h').scrollIntoView()");
    screenshot(&driver, "admin-schools");
}
