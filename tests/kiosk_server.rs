//! The kiosk and the school server together, both real: enrolment with `satchel enrol`,
//! rules that follow the console, Tell my teacher reaching the server with its screenshot,
//! and nothing lost when the server is away or the kiosk is killed.
#![cfg(all(feature = "automation", feature = "server"))]

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use support::server::{admin, admin_session, start, start_at, start_in, Running, Staff};
use support::{
    one_at_a_time, png_pixel, wait_for, Display, KioskProcess, Relay, Reply, Site, TempDir, WebDriver, SATCHEL,
};

const FIRST_TILE: (u32, u32) = (178, 294);
const TELL_BUTTON: (u32, u32) = (1158, 40);
/// The thank-you page's Go home button, and its green.
const GO_HOME: (u32, u32) = (640, 640);
const GO_HOME_GREEN: &str = "#cfead6";
/// The first feeling picture on the thank-you page.
const SCARY_PICTURE: (u32, u32) = (295, 400);
/// The test page's colour, filling the content view.
const GREEN: &str = "#33cc33";

struct Setup {
    server: Running,
    staff: Staff,
    page: Site,
    lesson_site: Site,
    dir: TempDir,
    display: Display,
}

fn page(seen: &support::Seen) -> Reply {
    match seen.path() {
        // A tap starts a looping tone; while it plays the page tells the site ten times a second.
        "/" => Reply::html(
            r#"<!doctype html><body style="margin:0;background:#33cc33;height:100vh">
               <a id="lesson" href="http://lesson.test/" style="font-size:40px">lesson site</a>
               <audio id="tone" loop src="/tone.wav"></audio>
               <script>
                 const tone = document.getElementById("tone");
                 document.body.addEventListener("click", () => tone.play());
                 setInterval(() => { if (!tone.paused && tone.currentTime > 0) fetch("/playing"); }, 100);
               </script></body>"#,
        ),
        "/tone.wav" => Reply::typed("audio/wav", &tone()),
        _ => Reply::html("<p>page</p>"),
    }
}

/// One second of a 440 Hz tone, 8 kHz mono 16-bit PCM, as a WAV file.
fn tone() -> Vec<u8> {
    let samples: Vec<i16> =
        (0..8000).map(|i| ((i as f64 * 440.0 * std::f64::consts::TAU / 8000.0).sin() * 8000.0) as i16).collect();
    let data_len = (samples.len() * 2) as u32;
    let mut wav = Vec::new();
    wav.extend(b"RIFF");
    wav.extend((36 + data_len).to_le_bytes());
    wav.extend(b"WAVEfmt ");
    wav.extend(16u32.to_le_bytes());
    wav.extend(1u16.to_le_bytes());
    wav.extend(1u16.to_le_bytes());
    wav.extend(8000u32.to_le_bytes());
    wav.extend(16000u32.to_le_bytes());
    wav.extend(2u16.to_le_bytes());
    wav.extend(16u16.to_le_bytes());
    wav.extend(b"data");
    wav.extend(data_len.to_le_bytes());
    samples.iter().for_each(|s| wav.extend(s.to_le_bytes()));
    wav
}

fn setup() -> Setup {
    let server = start();
    let staff = admin_session(&server, "it.tech");
    staff.set_profile_list(&server, "[allow]\nallowed.test\n");
    let page = Site::start(page);
    let lesson_site = Site::start(|_| Reply::html("<p>lesson</p>"));
    let dir = TempDir::new("linked");
    std::fs::write(
        dir.path().join("tiles.toml"),
        "[[tile]]\ntitle = \"Page\"\nurl = \"http://allowed.test/\"\nicon = \"🌳\"\n",
    )
    .unwrap();
    let config = format!(
        "tiles = \"tiles.toml\"\nstate_dir = \"state\"\n[hosts]\n\"allowed.test\" = \"{}\"\n\"lesson.test\" = \"{}\"\n",
        page.address(),
        lesson_site.address()
    );
    std::fs::write(dir.path().join("kiosk.toml"), config).unwrap();
    let setup = Setup { server, staff, page, lesson_site, dir, display: Display::start() };
    let code = setup.code();
    let (ok, output) = setup.enrol(&code);
    assert!(ok, "satchel enrol: {output}");
    setup
}

impl Setup {
    fn config(&self) -> PathBuf {
        self.dir.path().join("kiosk.toml")
    }

    fn outbox(&self) -> PathBuf {
        self.dir.path().join("state").join("outbox")
    }

    fn code(&self) -> String {
        admin(self.server.data.path(), &["enrol-code", "--room", "Class 1"]).trim().to_owned()
    }

    fn enrol(&self, code: &str) -> (bool, String) {
        self.enrol_through(&self.server.base, code)
    }

    fn enrol_through(&self, base: &str, code: &str) -> (bool, String) {
        let output = Command::new(SATCHEL)
            .args(["enrol", "--server", base, "--code", code, "--name", "PC-01", "--config"])
            .arg(self.config())
            .output()
            .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr),
        )
    }

    /// Starts a lesson whose one site (the first Home tile) is the test page.
    fn lesson_with_the_page(&self) {
        self.staff.start_lesson(&self.server, "Colours", "http://allowed.test/ | Page | 🌳", 60);
    }

    /// Taps the Home tile until the test page has been asked for (the kiosk has its rules).
    fn open_page(&self) {
        let before = self.page.requests().len();
        wait_for("the kiosk to open the listed page", Duration::from_secs(30), || {
            self.display.click(FIRST_TILE.0, FIRST_TILE.1);
            std::thread::sleep(Duration::from_millis(500));
            self.page.requests().len() > before
        });
        wait_for("the page on screen", Duration::from_secs(10), || self.display.pixel(640, 600) == GREEN);
    }

    fn outbox_items(&self) -> Vec<String> {
        std::fs::read_dir(self.outbox())
            .map(|dir| {
                dir.flatten()
                    .filter(|e| e.path().is_file())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[test]
fn enrolment_writes_a_private_link_and_a_used_code_is_refused_clearly() {
    let _turn = one_at_a_time();
    let setup = setup();
    let written = std::fs::read_to_string(setup.config()).unwrap();
    assert!(written.starts_with("tiles = \"tiles.toml\""), "other settings kept:\n{written}");
    assert!(written.contains("[server]") && written.contains(&setup.server.base));
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    // The test wrote the file 0644: the token is never left readable by everyone; the file's
    // group (the package's `satchel` group) keeps read access.
    let metadata = std::fs::metadata(setup.config()).unwrap();
    assert_eq!(metadata.permissions().mode() & 0o777, 0o640);
    std::fs::set_permissions(setup.config(), std::fs::Permissions::from_mode(0o600)).unwrap();
    let (ok, _) = setup.enrol(&setup.code());
    assert!(ok);
    let metadata_after = std::fs::metadata(setup.config()).unwrap();
    assert_eq!(metadata_after.permissions().mode() & 0o777, 0o600, "a root-only file stays root-only");
    assert_eq!(metadata_after.gid(), metadata.gid());

    let used = admin(setup.server.data.path(), &["enrol-code", "--room", "Class 1", "--valid-minutes", "0"]);
    let (ok, output) = setup.enrol(used.trim());
    assert!(!ok);
    assert!(output.contains("already used or expired"), "{output}");
    // Re-enrolling with a good code replaces the link.
    let (ok, _) = setup.enrol(&setup.code());
    assert!(ok);
    assert_eq!(std::fs::read_to_string(setup.config()).unwrap().matches("[server]").count(), 1);
}

#[test]
fn tell_my_teacher_covers_the_page_and_the_report_reaches_the_server_once_with_its_screenshot() {
    let _turn = one_at_a_time();
    let setup = setup();
    setup.lesson_with_the_page();
    let _kiosk = KioskProcess::start(&setup.display, &setup.config());
    setup.open_page();
    let playing = || setup.page.paths().iter().filter(|p| *p == "/playing").count();
    setup.display.click(640, 600);
    wait_for("the page's sound to play", Duration::from_secs(10), || playing() >= 3);
    setup.display.click(TELL_BUTTON.0, TELL_BUTTON.1);
    wait_for("the page to be covered", Duration::from_secs(5), || setup.display.pixel(640, 600) != GREEN);
    std::thread::sleep(Duration::from_millis(300));
    let after_cover = playing();
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(playing(), after_cover, "the sound stopped with the page");
    wait_for("the report on the server", Duration::from_secs(15), || {
        setup.server.count("SELECT count(*) FROM reports") == 1
    });
    assert_eq!(setup.server.count("SELECT count(*) FROM reports WHERE url = 'http://allowed.test/' AND machine = 'PC-01' AND room = 'Class 1'"), 1);
    let screenshot = setup.server.data.path().join("screenshots").join(format!(
        "{}.png",
        rusqlite::Connection::open(setup.server.data.path().join("satchel.db"))
            .unwrap()
            .query_row("SELECT id FROM reports", [], |r| r.get::<_, String>(0))
            .unwrap()
    ));
    // The content view only (no toolbar): its middle is the page's green.
    assert_eq!(png_pixel(&screenshot, 640, 400), GREEN, "the screenshot shows the page the pupil saw");
    wait_for("the outbox to empty", Duration::from_secs(10), || setup.outbox_items().is_empty());

    // On the thank-you page the pupil taps how it felt; it joins the report already sent.
    setup.display.click(SCARY_PICTURE.0, SCARY_PICTURE.1);
    wait_for("the feeling on the server", Duration::from_secs(10), || {
        setup.server.count("SELECT count(*) FROM reports WHERE feeling = 'scary'") == 1
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(setup.server.count("SELECT count(*) FROM reports"), 1, "sent once");
}

#[test]
fn a_double_tap_on_tell_makes_one_report_and_the_thank_you_page_stays() {
    let _turn = one_at_a_time();
    let setup = setup();
    setup.lesson_with_the_page();
    let _kiosk = KioskProcess::start(&setup.display, &setup.config());
    setup.open_page();
    // Two taps a millisecond apart, as an eager finger (or a bouncing mouse) gives them.
    setup.display.xdotool(&[
        "mousemove",
        &TELL_BUTTON.0.to_string(),
        &TELL_BUTTON.1.to_string(),
        "click",
        "--repeat",
        "2",
        "--delay",
        "1",
        "1",
    ]);
    wait_for("the thank-you page", Duration::from_secs(10), || {
        setup.display.pixel(GO_HOME.0, GO_HOME.1) == GO_HOME_GREEN
    });
    wait_for("the outbox to empty", Duration::from_secs(15), || {
        setup.outbox_items().is_empty() && setup.server.count("SELECT count(*) FROM reports") >= 1
    });
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(setup.server.count("SELECT count(*) FROM reports"), 1, "one tap or two, one report");
    assert_eq!(setup.display.pixel(GO_HOME.0, GO_HOME.1), GO_HOME_GREEN, "the thank-you page is still there");
}

#[test]
fn reports_wait_while_the_server_is_away_survive_a_killed_kiosk_and_arrive_once() {
    let _turn = one_at_a_time();
    let mut setup = setup();
    setup.lesson_with_the_page();
    let mut kiosk = Some(KioskProcess::start(&setup.display, &setup.config()));
    setup.open_page();

    let port = setup.server.port;
    let data = setup.server.stop_keeping_data();
    setup.display.click(TELL_BUTTON.0, TELL_BUTTON.1);
    wait_for("the report in the outbox", Duration::from_secs(10), || {
        setup.outbox_items().iter().any(|n| n.starts_with("report-"))
    });
    drop(kiosk.take()); // SIGKILL, straight after
    std::fs::write(setup.outbox().join("report-00000000-0000-4000-8000-000000000bad.json"), b"{ not json").unwrap();

    // Restarted with the server still away: the cached rules are in force from the first page.
    let _kiosk = KioskProcess::start(&setup.display, &setup.config());
    setup.open_page();
    let server = start_at(data, port, &[]);
    wait_for("the report on the server", Duration::from_secs(30), || server.count("SELECT count(*) FROM reports") == 1);
    wait_for("the outbox to empty", Duration::from_secs(10), || setup.outbox_items().is_empty());
    assert!(
        setup.outbox().join("damaged").join("report-00000000-0000-4000-8000-000000000bad.json").exists(),
        "the damaged file is set aside"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(server.count("SELECT count(*) FROM reports"), 1, "exactly once");
}

#[test]
fn a_lesson_started_in_the_console_is_enforced_by_the_kiosk_and_ending_it_blocks_the_site_again() {
    let _turn = one_at_a_time();
    let setup = setup();
    let driver = WebDriver::start(&setup.display, &setup.config());
    let lesson_link_opens = |expected: &str| {
        wait_for(&format!("the lesson link to give {expected}"), Duration::from_secs(20), || {
            driver.navigate("http://allowed.test/");
            std::thread::sleep(Duration::from_millis(400));
            if driver.url() != "http://allowed.test/" {
                return false;
            }
            driver.click("#lesson");
            std::thread::sleep(Duration::from_millis(400));
            driver.url().starts_with(expected)
        });
    };
    lesson_link_opens("satchel://pupil/blocked.html");
    assert!(setup.lesson_site.requests().is_empty());

    setup.staff.start_lesson(&setup.server, "Trees", "lesson.test | Trees | 🌳", 30);
    lesson_link_opens("http://lesson.test/");
    assert!(!setup.lesson_site.requests().is_empty());

    setup.staff.end_lesson(&setup.server);
    lesson_link_opens("satchel://pupil/blocked.html");
}

#[test]
fn with_the_network_cut_the_kiosk_keeps_its_rules_and_gets_the_changes_made_meanwhile_once_it_is_back() {
    let _turn = one_at_a_time();
    let setup = setup();
    // The kiosk reaches its server only through the relay: cutting it is a network failure.
    let relay = Relay::start(setup.server.port);
    let (ok, output) = setup.enrol_through(&format!("http://127.0.0.1:{}", relay.port), &setup.code());
    assert!(ok, "{output}");
    setup.lesson_with_the_page();
    let _kiosk = KioskProcess::start(&setup.display, &setup.config());
    setup.open_page();

    relay.cut();
    setup.staff.end_lesson(&setup.server);
    setup.staff.start_lesson(&setup.server, "Trees", "http://lesson.test/ | Trees | 🌳", 60);
    // Still the old lesson: its page opens from Home.
    setup.display.click(68, 40);
    setup.open_page();
    assert!(setup.lesson_site.requests().is_empty());

    relay.mend();
    wait_for("the new lesson's tile to lead to its site", Duration::from_secs(60), || {
        setup.display.click(68, 40);
        std::thread::sleep(Duration::from_millis(400));
        setup.display.click(FIRST_TILE.0, FIRST_TILE.1);
        std::thread::sleep(Duration::from_millis(600));
        !setup.lesson_site.requests().is_empty()
    });
}

fn status(setup: &Setup) -> String {
    let output = Command::new(SATCHEL).arg("status").arg("--config").arg(setup.config()).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn satchel_status_shows_the_enrolment_the_rules_the_server_and_the_outbox() {
    let _turn = one_at_a_time();
    let mut setup = setup();
    setup.lesson_with_the_page();
    let kiosk = KioskProcess::start(&setup.display, &setup.config());
    setup.open_page();
    drop(kiosk);
    let screen = status(&setup);
    for expected in [
        "enrolment       kiosk ",
        "lesson `Colours`",
        "the rules are up to date",
        "outbox          0 waiting",
        "last error      none",
    ] {
        assert!(screen.contains(expected), "`{expected}` in:\n{screen}");
    }
    let _data = setup.server.stop_keeping_data();
    let screen = status(&setup);
    assert!(screen.contains("server          cannot be reached"), "{screen}");
}

#[test]
fn over_https_the_kiosk_trusts_the_pinned_certificate_and_no_other() {
    let data = TempDir::new("tls");
    admin(data.path(), &["add-room", "Class 1"]);
    let fingerprint = admin(data.path(), &["fingerprint"]).trim().to_owned();
    let server = start_in(data, &["--tls"]);
    assert!(server.base.starts_with("https://"));
    let dir = TempDir::new("tls-kiosk");
    let config = dir.path().join("kiosk.toml");
    std::fs::write(&config, "state_dir = \"state\"\n").unwrap();
    let enrol = |pin: &str| {
        let code = admin(server.data.path(), &["enrol-code", "--room", "Class 1"]);
        let output = Command::new(SATCHEL)
            .args([
                "enrol",
                "--server",
                &server.base,
                "--code",
                code.trim(),
                "--name",
                "PC-01",
                "--fingerprint",
                pin,
                "--config",
            ])
            .arg(&config)
            .output()
            .unwrap();
        (output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned())
    };
    // Another certificate's fingerprint (the last byte changed): refused before anything is sent.
    let last = u8::from_str_radix(&fingerprint[fingerprint.len() - 2..], 16).unwrap();
    let wrong = format!("{}{:02X}", &fingerprint[..fingerprint.len() - 2], last ^ 1);
    let (ok, error) = enrol(&wrong);
    assert!(!ok && error.contains("not the one pinned at enrolment"), "{error}");
    assert_eq!(server.count("SELECT count(*) FROM kiosks"), 0);

    let (ok, error) = enrol(&fingerprint);
    assert!(ok, "{error}");
    let status = Command::new(SATCHEL).args(["status", "--config"]).arg(&config).output().unwrap();
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(status.contains("server          reachable"), "{status}");
    assert!(std::fs::read_to_string(&config).unwrap().contains(&format!("fingerprint = \"{fingerprint}\"")));
}

#[test]
fn outbox_items_the_server_cannot_take_as_they_are_hold_nothing_up() {
    let _turn = one_at_a_time();
    let setup = setup();
    let outbox = setup.outbox();
    std::fs::create_dir_all(&outbox).unwrap();
    let write = |name: &str, item: serde_json::Value| {
        std::fs::write(outbox.join(name), item.to_string()).unwrap();
        std::thread::sleep(Duration::from_millis(20)); // oldest first: distinct times
    };
    // A feeling whose report the server never had, then a pupil's request behind it.
    write(
        "feeling-11111111-0000-4000-8000-000000000001.json",
        serde_json::json!({
        "id": "11111111-0000-4000-8000-000000000001", "kind": "feeling", "created": 1_795_000_000u64,
        "report": "99999999-0000-4000-8000-000000000009", "feeling": "sad" }),
    );
    write(
        "unblock-22222222-0000-4000-8000-000000000002.json",
        serde_json::json!({
        "id": "22222222-0000-4000-8000-000000000002", "kind": "unblock", "created": 1_795_000_001u64, "url": "https://games.example/" }),
    );
    // A report whose screenshot is larger than the server takes (25 MB of base64).
    let huge = "A".repeat(25 * 1024 * 1024);
    write(
        "report-33333333-0000-4000-8000-000000000003.json",
        serde_json::json!({
        "id": "33333333-0000-4000-8000-000000000003", "kind": "report", "created": 1_795_000_002u64, "happened_at": 1_795_000_002u64,
        "url": "http://allowed.test/", "title": "Page", "profile": "KS1", "lesson": null, "rules_version": null, "screenshot": huge }),
    );

    let _kiosk = KioskProcess::start(&setup.display, &setup.config());
    wait_for("the report on the server", Duration::from_secs(30), || {
        setup.server.count("SELECT count(*) FROM reports") == 1
    });
    assert_eq!(
        setup.server.count("SELECT count(*) FROM reports WHERE screenshot = ''"),
        1,
        "it came without its screenshot rather than not at all"
    );
    wait_for("the pupil's request on the server", Duration::from_secs(30), || {
        setup.server.count("SELECT count(*) FROM unblock_requests") == 1
    });
    wait_for("the outbox to empty", Duration::from_secs(10), || setup.outbox_items().is_empty());
    assert!(
        outbox.join("damaged").join("feeling-11111111-0000-4000-8000-000000000001.json").exists(),
        "the feeling with no report is set aside"
    );
}
