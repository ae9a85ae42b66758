//! Starting the kiosk with a bad configuration or list stops before any window opens, with
//! the file, the line and what is wrong.

mod support;

use std::process::Command;

use support::{TempDir, SATCHEL};

fn start(args: &[&str]) -> (Option<i32>, String) {
    // No display: the kiosk must fail on its configuration before it needs one.
    let output = Command::new(SATCHEL).args(args).env_remove("DISPLAY").env_remove("WAYLAND_DISPLAY").output().unwrap();
    (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn a_bad_configuration_line_is_named_and_nothing_starts() {
    let dir = TempDir::new("start");
    let config = dir.path().join("kiosk.toml");
    std::fs::write(&config, "locale = \"en-GB\"\nidle_timeout_seconds = \"ten\"\n").unwrap();
    let (code, stderr) = start(&["--config", config.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains(&format!("{}:2: ", config.display())), "{stderr}");
}

#[test]
fn a_bad_list_line_is_named_and_nothing_starts() {
    let dir = TempDir::new("start");
    let list = dir.path().join("lesson.list");
    std::fs::write(&list, "[allow]\nwww.topmarks.co.uk\nco.uk\n").unwrap();
    let config = dir.path().join("kiosk.toml");
    std::fs::write(&config, "state_dir = \"state\"\n").unwrap();
    let (code, stderr) = start(&["--config", config.to_str().unwrap(), "--list", list.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains(&format!("{}:3: `co.uk`", list.display())), "{stderr}");
}
