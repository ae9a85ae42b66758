//! Monitoring end to end: the real kiosk under Xvfb, enrolled to a real server, with the DSL's
//! console in headless Chromium. A pupil's concerning search typed into Home's search box
//! reaches the DSL's Alerts page live; a blocked link makes an activity row with its rule; with
//! the server away the events wait on the kiosk, survive a SIGKILL, and arrive exactly once.
#![cfg(all(feature = "kiosk", feature = "server"))]

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;
use support::server::{admin, admin_session, start, start_at, Running};
use support::{one_at_a_time, wait_for, Display, KioskProcess, Reply, Site, TempDir, WebDriver, SATCHEL};

const FIRST_TILE: (u32, u32) = (178, 294);

struct Setup {
    server: Running,
    page: Site,
    dir: TempDir,
    display: Display,
}

fn setup() -> Setup {
    let server = start();
    let staff = admin_session(&server, "it.tech");
    staff.set_profile_list(&server, "[allow]\nallowed.test\n[block]\ngames.test\n");
    // Home's one tile is the lesson's site.
    staff.start_lesson(&server, "Minibeasts", "http://allowed.test/ | Page | 🐞", 60);
    let page = Site::start(|_| {
        Reply::html(
            r#"<!doctype html><title>Minibeasts</title><body style="margin:0;background:#33cc33;height:100vh"><a id="games" href="http://games.test/play" style="font-size:40px">games</a></body>"#,
        )
    });
    let dir = TempDir::new("monitored");
    std::fs::write(
        dir.path().join("tiles.toml"),
        "[[tile]]\ntitle = \"Page\"\nurl = \"http://allowed.test/\"\nicon = \"🐞\"\n",
    )
    .unwrap();
    let config = format!("tiles = \"tiles.toml\"\nstate_dir = \"state\"\n[hosts]\n\"allowed.test\" = \"{0}\"\n\"games.test\" = \"{0}\"\n", page.address());
    std::fs::write(dir.path().join("kiosk.toml"), config).unwrap();
    let code = admin(server.data.path(), &["enrol-code", "--room", "Class 1"]).trim().to_owned();
    let output = Command::new(SATCHEL)
        .args(["enrol", "--server", &server.base, "--code", &code, "--name", "PC-07", "--config"])
        .arg(dir.path().join("kiosk.toml"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    Setup { server, page, dir, display: Display::start() }
}

impl Setup {
    fn config(&self) -> PathBuf {
        self.dir.path().join("kiosk.toml")
    }
}

/// The DSL signed in to the console's Alerts page in Chromium (a new account chooses its
/// password first).
fn dsl_on_alerts(server: &Running, profile: &TempDir) -> WebDriver {
    let password = admin(server.data.path(), &["add-user", "mrs.khan", "--role", "dsl"]);
    let password = password.trim();
    let driver = WebDriver::chromium(profile.path());
    driver.navigate(&format!("{}/login", server.base));
    driver.type_into("input[name=name]", "mrs.khan");
    driver.type_into("input[name=password]", password);
    driver.click("form.login button");
    driver.wait_for_url(&format!("{}/password", server.base));
    let chosen = format!("{password} chosen by its owner");
    driver.type_into("input[name=current]", password);
    driver.type_into("input[name=new]", &chosen);
    driver.type_into("input[name=repeat]", &chosen);
    driver.click("form.login button");
    driver.wait_for_url(&format!("{}/lessons", server.base));
    driver.navigate(&format!("{}/alerts", server.base));
    driver.run("window.notReloaded = true;");
    driver
}

#[test]
fn a_concerning_search_on_home_reaches_the_dsl_live_and_a_blocked_link_is_logged_with_its_rule() {
    let _turn = one_at_a_time();
    let setup = setup();
    let profile = TempDir::new("chromium");
    let console = dsl_on_alerts(&setup.server, &profile);
    let kiosk = WebDriver::start(&setup.display, &setup.config());
    wait_for("the kiosk's first rules", Duration::from_secs(30), || {
        setup.server.count("SELECT count(*) FROM kiosks WHERE last_seen IS NOT NULL") == 1
    });

    // The pupil types into Home's search box and presses Enter.
    kiosk.type_into("#search-words", "k1ll mys3lf\u{E007}");
    let typed = Instant::now();
    let row = "document.querySelector('#alerts tbody tr')";
    wait_for("the alert on the DSL's page", Duration::from_secs(30), || {
        console
            .run(&format!("const r = {row}; return r ? r.innerText : ''"))
            .as_str()
            .unwrap_or("")
            .contains("k1ll mys3lf")
    });
    println!("search to alert on the DSL's console: {:?}", typed.elapsed());
    assert_eq!(console.run("return window.notReloaded === true"), json!(true), "it arrived without a reload");
    let shown = console.run(&format!("return {row}.innerText")).as_str().unwrap_or("").to_owned();
    assert!(shown.contains("suicide-self-harm") && shown.contains("kill myself") && shown.contains("PC-07"), "{shown}");
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("console-alert-live.png"), console.screenshot()).unwrap();
    assert_eq!(
        setup.server.count(
            "SELECT count(*) FROM activity WHERE kind = 'searched' AND engine = 'google' AND terms = 'k1ll mys3lf'"
        ),
        1
    );

    // A link to a blocked site: an activity row with the rule that blocked it.
    kiosk.navigate("http://allowed.test/");
    kiosk.click("#games");
    wait_for("the blocked page in the log", Duration::from_secs(30), || {
        setup.server.count("SELECT count(*) FROM activity WHERE kind = 'blocked' AND url = 'http://games.test/play' AND rule LIKE 'games.test (%'") == 1
    });
    assert_eq!(
        setup.server.count("SELECT count(*) FROM activity WHERE kind = 'opened' AND url = 'http://allowed.test/'"),
        1
    );
    assert!(
        setup.server.count("SELECT count(*) FROM activity WHERE kind = 'titled' AND title = 'Minibeasts'") >= 1,
        "the page's title follows it"
    );
    assert!(setup.page.requests().iter().all(|seen| seen.path() != "/play"), "the blocked page was never fetched");
}

#[test]
fn activity_waits_while_the_server_is_away_survives_a_killed_kiosk_and_arrives_once() {
    let _turn = one_at_a_time();
    let mut setup = setup();
    let port = setup.server.port;
    let mut kiosk = Some(KioskProcess::start(&setup.display, &setup.config()));
    wait_for("the kiosk's first rules", Duration::from_secs(30), || {
        setup.server.count("SELECT count(*) FROM kiosks WHERE last_seen IS NOT NULL") == 1
    });
    let data = setup.server.stop_keeping_data();

    let tap_tile = |setup: &Setup| {
        let before = setup.page.requests().len();
        wait_for("the listed page to open", Duration::from_secs(30), || {
            setup.display.click(FIRST_TILE.0, FIRST_TILE.1);
            std::thread::sleep(Duration::from_millis(500));
            setup.page.requests().len() > before
        });
    };
    tap_tile(&setup);
    // Written to the kiosk's log within a second; then the kiosk is killed outright.
    std::thread::sleep(Duration::from_secs(2));
    drop(kiosk.take());
    let _kiosk = KioskProcess::start(&setup.display, &setup.config());
    tap_tile(&setup);
    std::thread::sleep(Duration::from_secs(2));

    let server = start_at(data, port, &[]);
    wait_for("both sittings' pages on the server", Duration::from_secs(60), || {
        server.count("SELECT count(*) FROM activity WHERE kind = 'opened' AND url = 'http://allowed.test/'") == 2
    });
    std::thread::sleep(Duration::from_secs(3));
    let (events, highest) =
        (server.count("SELECT count(*) FROM activity"), server.count("SELECT max(seq) FROM activity"));
    assert_eq!(events, highest, "every event once: no sequence missing, none twice");
    assert_eq!(
        server.count("SELECT count(DISTINCT session) FROM activity WHERE kind = 'opened'"),
        2,
        "two sittings, two sessions"
    );
    assert_eq!(
        server.count("SELECT count(*) FROM activity WHERE kind = 'session-start'"),
        2,
        "the start and the restart"
    );
}
