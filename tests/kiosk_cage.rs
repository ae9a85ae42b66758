//! The kiosk in cage, the Wayland kiosk compositor the lab session runs it in
//! (`packaging/kiosk/satchel-kiosk.service`): it fills the output with its toolbar on top,
//! Tell's snapshot works, and the teacher's exit chord and PIN reach it, after which cage
//! ends too (and systemd would start the session again).
//!
//! cage runs on wlroots' X11 backend inside Xvfb, so xdotool's clicks and keys reach it as
//! input; the kiosk sees only Wayland (no `DISPLAY`, `GDK_BACKEND=wayland`). The headless
//! backend of Debian 12's wlroots 0.15 is no stand-in for a screen: there the window stayed
//! 800×600 and was never painted. Screenshots come from Wayland itself, through grim. cage
//! refuses to run as root, so as root the test runs it as `nobody`, as the package runs it as
//! `satchel`.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use support::{one_at_a_time, png_pixel, wait_for, Display, TempDir, SATCHEL};

/// The output wlroots' X11 backend opens.
const OUTPUT: (u32, u32) = (1024, 768);
const TOOLBAR_HEIGHT: u32 = 80;
/// A point of the Tell button (amber), right of its hand.
const TELL: (u32, u32) = (1000, 10);
const AMBER: &str = "#ffb020";
/// The pupil pages' background.
const PAGE: &str = "#f4f8fb";
/// echo 1234 | satchel hash-pin
const PIN_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$LPr3Jf494V+SPwY28jfMDw$DUTG/ppEHFLZzjmINTyXaCBnaFKhra9V/RZpq29NR5s";

struct Cage {
    display: Display,
    dir: TempDir,
    child: Child,
    /// Who cage and grim run as: `nobody` when the tests run as root.
    user: Option<&'static str>,
}

impl Cage {
    fn start() -> Cage {
        let display = Display::without_window_manager();
        let dir = TempDir::new("cage");
        let runtime = dir.path().join("runtime");
        std::fs::create_dir_all(&runtime).unwrap();
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::write(
            dir.path().join("kiosk.toml"),
            format!("state_dir = \"state\"\nexit_pin_hash = \"{PIN_HASH}\"\n"),
        )
        .unwrap();
        let user = is_root().then_some("nobody");
        if user.is_some() {
            give_to_nobody(dir.path());
        }
        let mut cage = as_user(user, "cage");
        cage.args(["-d", "--", "env", "-u", "DISPLAY", "GDK_BACKEND=wayland", SATCHEL, "--config"])
            .arg(dir.path().join("kiosk.toml"))
            .current_dir(dir.path())
            .env("DISPLAY", &display.name)
            .env("HOME", dir.path())
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("WLR_BACKENDS", "x11")
            .env("WLR_RENDERER", "pixman")
            .env("SATCHEL_LOG", "satchel=debug,warn")
            .env_remove("WAYLAND_DISPLAY")
            .stdout(Stdio::null());
        let child = cage.spawn().expect("cage (apt-get install cage xwayland) runs");
        Cage { display, dir, child, user }
    }

    fn outbox(&self) -> PathBuf {
        self.dir.path().join("state").join("outbox")
    }

    /// cage's Wayland socket, once it is there.
    fn wayland_socket(&self) -> Option<String> {
        std::fs::read_dir(self.dir.path().join("runtime"))
            .unwrap()
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .find(|name| name.starts_with("wayland-") && !name.ends_with(".lock"))
    }

    /// A screenshot of cage's output, taken through Wayland.
    fn screenshot(&self, name: &str) -> PathBuf {
        let runtime = self.dir.path().join("runtime");
        let socket = self.wayland_socket().expect("cage's Wayland socket");
        let path = self.dir.path().join(name);
        let status = as_user(self.user, "grim")
            .arg(&path)
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("WAYLAND_DISPLAY", socket)
            .status()
            .expect("grim (apt-get install grim) runs");
        assert!(status.success(), "grim took a screenshot");
        path
    }

    fn pixel(&self, x: u32, y: u32) -> String {
        png_pixel(&self.screenshot("pixel.png"), x, y)
    }
}

impl Drop for Cage {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").map(|meta| std::os::unix::fs::MetadataExt::uid(&meta) == 0).unwrap_or(false)
}

fn as_user(user: Option<&str>, program: &str) -> Command {
    match user {
        Some(user) => {
            let mut command = Command::new("setpriv");
            command.args(["--reuid", user, "--regid", "nogroup", "--clear-groups", program]);
            command
        }
        None => Command::new(program),
    }
}

fn give_to_nobody(dir: &Path) {
    let status = Command::new("chown").args(["-R", "nobody:nogroup"]).arg(dir).status().unwrap();
    assert!(status.success());
}

fn png_size(path: &Path) -> (u32, u32) {
    let png = std::fs::read(path).unwrap();
    (u32::from_be_bytes(png[16..20].try_into().unwrap()), u32::from_be_bytes(png[20..24].try_into().unwrap()))
}

#[test]
fn under_cage_the_kiosk_fills_the_screen_keeps_its_toolbar_snapshots_for_tell_and_lets_the_teacher_leave() {
    let _turn = one_at_a_time();
    let mut cage = Cage::start();
    wait_for("cage's Wayland socket", Duration::from_secs(10), || cage.wayland_socket().is_some());
    let (right, bottom) = (OUTPUT.0 - 4, OUTPUT.1 - 4);
    // The toolbar on top, and the page below it to the output's bottom-right corner (the two
    // views paint one after the other).
    wait_for("the kiosk to fill cage's output", Duration::from_secs(30), || {
        let screen = cage.screenshot("screen.png");
        png_pixel(&screen, TELL.0, TELL.1) == AMBER
            && png_pixel(&screen, right, bottom) == PAGE
            && png_pixel(&screen, 4, TOOLBAR_HEIGHT + 600) == PAGE
    });
    let home = cage.screenshot("home.png");
    assert_eq!(png_size(&home), OUTPUT, "grim sees the whole output");

    cage.display.click(TELL.0, TELL.1);
    wait_for("the report in the outbox", Duration::from_secs(10), || {
        std::fs::read_dir(cage.outbox())
            .map(|dir| dir.flatten().any(|e| e.file_name().to_string_lossy().starts_with("report-")))
            .unwrap_or(false)
    });
    let report = std::fs::read_dir(cage.outbox())
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("report-"))
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(report.path()).unwrap()).unwrap();
    assert_eq!(report["url"], "satchel://pupil/home.html");
    let snapshot = cage.dir.path().join("snapshot.png");
    std::fs::write(
        &snapshot,
        base64::engine::general_purpose::STANDARD.decode(report["screenshot"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(
        png_size(&snapshot),
        (OUTPUT.0, OUTPUT.1 - TOOLBAR_HEIGHT),
        "the snapshot is the content view, toolbar excluded"
    );
    for (x, y) in [(4, 600), (OUTPUT.0 / 2, 300)] {
        assert_eq!(
            png_pixel(&snapshot, x, y),
            png_pixel(&home, x, y + TOOLBAR_HEIGHT),
            "the snapshot shows what was on screen at {x},{y}"
        );
    }

    cage.display.xdotool(&["key", "ctrl+alt+shift+t"]);
    wait_for("the PIN prompt in place of the toolbar", Duration::from_secs(10), || cage.pixel(TELL.0, TELL.1) != AMBER);
    cage.display.xdotool(&["type", "1234"]);
    cage.display.xdotool(&["key", "Return"]);
    wait_for("cage to end with the kiosk", Duration::from_secs(15), || cage.child.try_wait().unwrap().is_some());
}
