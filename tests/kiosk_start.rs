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

#[test]
fn setup_kiosk_dry_run_prints_the_plan_and_changes_nothing_and_knows_what_is_already_so() {
    let dir = TempDir::new("setup");
    let config = dir.path().join("kiosk.toml");
    let plan = |config: &std::path::Path| {
        let output = Command::new(SATCHEL)
            .args([
                "setup-kiosk",
                "--dry-run",
                "--server",
                "https://satchel.school:8470",
                "--code",
                "ABCD2345EFGH",
                "--name",
                "LAB-07",
                "--config",
            ])
            .arg(config)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    let fresh = plan(&config);
    assert!(fresh.contains(&format!("would do     write {} (group satchel, mode 0640)", config.display())), "{fresh}");
    assert!(fresh.contains("would do     enrol this machine with https://satchel.school:8470"), "{fresh}");
    assert!(fresh.contains("start the kiosk session (satchel-kiosk.service: cage on tty1) at boot"), "{fresh}");
    assert!(fresh.trim_end().ends_with("(dry run: nothing was changed)"));
    assert!(!config.exists(), "a dry run writes nothing");

    std::fs::write(&config, "state_dir = \"state\"\n[server]\nurl = \"https://satchel.school:8470\"\nkiosk_id = \"k\"\ntoken = \"t\"\npublic_key = \"x\"\n").unwrap();
    let again = plan(&config);
    assert!(again.contains(&format!("already so   write {}", config.display())), "{again}");
    assert!(again.contains("already so   enrol this machine with https://satchel.school:8470"), "{again}");
}
