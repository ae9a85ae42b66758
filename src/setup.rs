//! `satchel setup-kiosk`: turns a Debian or Ubuntu machine with the `satchel` package into a
//! locked kiosk: the `satchel` user, the configuration, enrolment, and the kiosk session in
//! place of the desktop. Each step first checks whether it is already so, so running it
//! twice changes nothing; `--dry-run` prints the plan and changes nothing.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::kiosk::enrol::{self, Request};

/// The configuration the package ships, for a machine that has none.
const DEFAULT_CONFIG: &str = include_str!("../packaging/kiosk/kiosk.toml");
const DISPLAY_MANAGERS: [&str; 4] = ["gdm3", "gdm", "lightdm", "sddm"];

/// One thing the setup makes true.
struct Step {
    what: String,
    done: bool,
    /// Makes it so, and may say what came of it (the room a machine was enrolled in).
    run: Box<dyn FnOnce() -> Result<Option<String>>>,
}

/// Runs (or with `dry_run` only prints) the setup; returns the report, a line a step.
pub fn setup_kiosk(request: Request, dry_run: bool) -> Result<Vec<String>> {
    if !dry_run && !running_as_root() {
        bail!("setup-kiosk changes users and services: run it as root (or with --dry-run)");
    }
    let mut report = Vec::new();
    for step in plan(request) {
        match (step.done, dry_run) {
            (true, _) => report.push(format!("already so   {}", step.what)),
            (false, true) => report.push(format!("would do     {}", step.what)),
            (false, false) => {
                let outcome = (step.run)().with_context(|| format!("while trying to {}", step.what))?;
                report.push(format!("done         {}", step.what));
                report.extend(outcome.map(|outcome| format!("             {outcome}")));
            }
        }
    }
    Ok(report)
}

fn plan(request: Request) -> Vec<Step> {
    let config = request.config.clone();
    let enrolled = std::fs::read_to_string(&config).is_ok_and(|text| {
        text.contains("[server]") && text.contains(&format!("url = \"{}\"", request.server.trim_end_matches('/')))
    });
    let mut steps = vec![
        Step {
            what: "create the `satchel` user (no password, no shell) in the video, input and render groups".into(),
            done: user_exists("satchel"),
            run: Box::new(|| {
                run(
                    "adduser",
                    &["--system", "--group", "--home", "/var/lib/satchel-kiosk", "--no-create-home", "satchel"],
                )?;
                for group in ["video", "input", "render"] {
                    let _ = run("adduser", &["satchel", group]);
                }
                Ok(None)
            }),
        },
        Step {
            what: format!("write {} (group satchel, mode 0640)", config.display()),
            done: config.exists(),
            run: Box::new({
                let config = config.clone();
                move || write_config(&config).map(|()| None)
            }),
        },
        Step {
            what: format!("enrol this machine with {}", request.server),
            done: enrolled,
            run: Box::new(move || Ok(Some(enrol::enrol(&request)?.to_string()))),
        },
    ];
    for manager in DISPLAY_MANAGERS {
        if unit_enabled(&format!("{manager}.service")) {
            steps.push(Step {
                what: format!("disable the {manager} desktop login"),
                done: false,
                run: Box::new(move || run("systemctl", &["disable", &format!("{manager}.service")]).map(|()| None)),
            });
        }
    }
    steps.push(Step {
        what: "start the kiosk session (satchel-kiosk.service: cage on tty1) at boot".into(),
        done: unit_enabled("satchel-kiosk.service"),
        run: Box::new(|| run("systemctl", &["enable", "satchel-kiosk.service"]).map(|()| None)),
    });
    steps.push(Step {
        what: "boot to the graphical target".into(),
        done: Command::new("systemctl")
            .arg("get-default")
            .stderr(std::process::Stdio::null())
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "graphical.target"),
        run: Box::new(|| run("systemctl", &["set-default", "graphical.target"]).map(|()| None)),
    });
    steps
}

fn write_config(path: &Path) -> Result<()> {
    crate::durable::write_durably(path, DEFAULT_CONFIG.as_bytes())?;
    run("chown", &["root:satchel", &path.to_string_lossy()])?;
    run("chmod", &["0640", &path.to_string_lossy()])
}

fn run(program: &str, args: &[&str]) -> Result<()> {
    let status = Command::new(program).args(args).status().with_context(|| format!("cannot run {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

fn user_exists(name: &str) -> bool {
    Command::new("getent").args(["passwd", name]).output().is_ok_and(|o| o.status.success())
}

fn unit_enabled(unit: &str) -> bool {
    Command::new("systemctl")
        .args(["is-enabled", "--quiet", unit])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn running_as_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
