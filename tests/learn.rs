//! `satchel learn` for real: a learning window under Xvfb opening a local site whose pages,
//! pictures, scripts, frames and redirects come from several hosts, all reached by fake names
//! through the configuration's `[hosts]` table. What it prints is the list entry to paste.
#![cfg(feature = "automation")]

mod support;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{one_at_a_time, wait_for, Display, Reply, Seen, Site, TempDir};

const SATCHEL: &str = env!("CARGO_BIN_EXE_satchel");

/// One server standing in for every host; what it answers depends on the name asked for.
fn by_host(seen: &Seen) -> Reply {
    let host = seen.headers.get("host").map_or("", |h| h.split(':').next().unwrap_or(""));
    match (host, seen.path()) {
        ("start.test", "/") => Reply::redirect("http://www.school-site.test/"),
        ("www.school-site.test", "/") => Reply::html(
            r#"<!doctype html><title>site</title>
            <link rel="stylesheet" href="http://fonts.test/font.css">
            <img src="http://img.test/owl.png"><img src="http://static.www.school-site.test/logo.png">
            <script src="http://cdn.test/app.js"></script>
            <iframe src="http://video.test/player"></iframe>
            <p>a page</p>"#,
        ),
        ("video.test", "/player") => Reply::html(r#"<!doctype html><img src="http://frames-own.test/poster.png">"#),
        _ => Reply::typed("text/plain", b"resource"),
    }
}

fn config_for(dir: &TempDir, site: &Site) -> std::path::PathBuf {
    let names = [
        "start.test",
        "www.school-site.test",
        "static.www.school-site.test",
        "fonts.test",
        "img.test",
        "cdn.test",
        "video.test",
        "frames-own.test",
    ];
    let hosts: String = names.iter().map(|name| format!("\"{name}\" = \"{}\"\n", site.address())).collect();
    let config = dir.path().join("kiosk.toml");
    std::fs::write(&config, format!("state_dir = \"state\"\n[hosts]\n{hosts}")).unwrap();
    config
}

fn learn(display: &Display, config: &std::path::Path, seconds: &str, url: &str) -> std::process::Child {
    Command::new(SATCHEL)
        .args(["learn", "--config", config.to_str().unwrap(), "--seconds", seconds, url])
        .env("DISPLAY", &display.name)
        .env_remove("SATCHEL_KIOSK_SESSION")
        .stdout(Stdio::piped())
        .spawn()
        .expect("satchel learn runs")
}

fn finish(mut child: std::process::Child, limit: Duration) -> (std::process::ExitStatus, String) {
    let begun = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if begun.elapsed() > limit {
            let _ = child.kill();
            panic!("satchel learn did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut printed = String::new();
    child.stdout.take().unwrap().read_to_string(&mut printed).unwrap();
    (status, printed)
}

const ENTRY: &str =
    "start.test uses: cdn.test, fonts.test, frames-own.test, img.test, static.www.school-site.test, video.test, www.school-site.test";

#[test]
fn learning_a_site_prints_its_entry_with_every_host_it_loaded_from_when_time_is_up() {
    let _turn = one_at_a_time();
    let (dir, site, display) = (TempDir::new("learn"), Site::start(by_host), Display::start());
    let config = config_for(&dir, &site);
    let (status, printed) = finish(learn(&display, &config, "8", "http://start.test/"), Duration::from_secs(60));
    assert!(status.success(), "{status:?}");
    assert_eq!(printed.trim(), ENTRY, "the redirect's host, the frame's own picture's host and every resource host");
}

#[test]
fn closing_the_learning_window_ends_it_early_with_the_entry() {
    let _turn = one_at_a_time();
    let (dir, site, display) = (TempDir::new("learn"), Site::start(by_host), Display::start());
    let config = config_for(&dir, &site);
    let child = learn(&display, &config, "600", "http://start.test/");
    wait_for("the frame's picture to be asked for", Duration::from_secs(30), || {
        site.requests().iter().any(|seen| seen.path() == "/poster.png")
    });
    std::thread::sleep(Duration::from_millis(500));
    let screenshot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots").join("learn-window.png");
    std::fs::create_dir_all(screenshot.parent().unwrap()).unwrap();
    display.screenshot(&screenshot);
    // The close button on the window's title bar, as a technician closes any window (the
    // window opens at the top left, 1200 px wide, under openbox's default theme).
    display.click(1189, 11);
    let (status, printed) = finish(child, Duration::from_secs(30));
    assert!(status.success(), "{status:?}");
    assert_eq!(printed.trim(), ENTRY);
}

#[test]
fn learning_is_refused_in_a_pupils_kiosk_session() {
    let output = Command::new(SATCHEL)
        .args(["learn", "--seconds", "5", "https://www.example.org/"])
        .env("SATCHEL_KIOSK_SESSION", "1")
        .env_remove("DISPLAY")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("never in a pupil's kiosk session"), "{said}");
    assert!(output.stdout.is_empty());
}

#[test]
fn learning_a_non_web_address_is_a_clear_error() {
    let output = Command::new(SATCHEL)
        .args(["learn", "--seconds", "5", "file:///etc/passwd"])
        .env_remove("SATCHEL_KIOSK_SESSION")
        .env_remove("DISPLAY")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("opens http and https sites"));
}
