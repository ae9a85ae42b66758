//! The Debian packages as `make deb` builds them (`cargo deb`): what each installs, its
//! conffiles, dependencies, systemd unit and maintainer scripts.
#![cfg(all(feature = "kiosk", feature = "server"))]

use std::path::{Path, PathBuf};
use std::process::Command;

fn build(variant: Option<&str>) -> PathBuf {
    let mut command = Command::new("cargo");
    command.args(["deb", "--locked"]).current_dir(env!("CARGO_MANIFEST_DIR"));
    if let Some(variant) = variant {
        command.args(["--variant", variant]);
    }
    let output = command.output().expect("cargo-deb runs (make deps installs it)");
    assert!(output.status.success(), "cargo deb: {}", String::from_utf8_lossy(&output.stderr));
    PathBuf::from(String::from_utf8(output.stdout).unwrap().lines().last().unwrap().trim())
}

fn dpkg_deb(args: &[&str], deb: &Path) -> String {
    let output = Command::new("dpkg-deb").args(args).arg(deb).output().unwrap();
    assert!(output.status.success(), "dpkg-deb {args:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// A control-area file (postinst, conffiles, …) of a package.
fn control_file(deb: &Path, name: &str) -> String {
    let output = Command::new("dpkg-deb").args(["--info"]).arg(deb).arg(name).output().unwrap();
    String::from_utf8(output.stdout).unwrap()
}

fn shell_syntax_ok(script: &str) -> bool {
    let mut check = Command::new("sh").arg("-n").stdin(std::process::Stdio::piped()).spawn().unwrap();
    use std::io::Write;
    check.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    check.wait().unwrap().success()
}

#[test]
fn the_kiosk_and_server_packages_install_what_a_lab_needs() {
    let kiosk = build(None);
    let contents = dpkg_deb(&["--contents"], &kiosk);
    for path in ["./usr/bin/satchel", "./etc/satchel/kiosk.toml", "./usr/lib/systemd/system/satchel-kiosk.service", "./usr/share/satchel/allowlists/ks1.list", "./usr/share/doc/satchel/deploy.md"] {
        assert!(contents.contains(path), "satchel has {path}:\n{contents}");
    }
    assert!(contents.lines().any(|l| l.starts_with("-rw-r-----") && l.ends_with("./etc/satchel/kiosk.toml")), "the kiosk config is not world-readable");
    let info = dpkg_deb(&["--info"], &kiosk);
    for dependency in ["libwebkit2gtk-4.1-0", "cage", "xwayland", "fonts-noto-color-emoji"] {
        assert!(info.contains(dependency), "satchel depends on {dependency}:\n{info}");
    }
    assert_eq!(control_file(&kiosk, "conffiles").trim(), "/etc/satchel/kiosk.toml");
    let postinst = control_file(&kiosk, "postinst");
    assert!(postinst.contains("adduser --system") && postinst.contains("chown root:satchel /etc/satchel/kiosk.toml"), "{postinst}");
    let postrm = control_file(&kiosk, "postrm");
    assert!(postrm.contains("purge") && postrm.contains("rm -rf /var/lib/satchel-kiosk"), "data goes only on purge:\n{postrm}");
    assert!(shell_syntax_ok(&postinst) && shell_syntax_ok(&postrm));
    let unit = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/kiosk/satchel-kiosk.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/bin/cage -d -- /usr/bin/satchel") && unit.contains("Restart=always") && unit.contains("User=satchel"));

    let server = build(Some("server"));
    let contents = dpkg_deb(&["--contents"], &server);
    for path in ["./usr/bin/satchel-server", "./etc/satchel/server.env", "./usr/lib/systemd/system/satchel-server.service"] {
        assert!(contents.contains(path), "satchel-server has {path}:\n{contents}");
    }
    assert!(!contents.contains("./usr/bin/satchel\n"), "the server package carries no kiosk");
    assert_eq!(control_file(&server, "conffiles").trim(), "/etc/satchel/server.env");
    let postinst = control_file(&server, "postinst");
    assert!(postinst.contains("satchel-server") && shell_syntax_ok(&postinst), "{postinst}");
    let postrm = control_file(&server, "postrm");
    assert!(postrm.contains("purge") && postrm.contains("rm -rf /var/lib/satchel") && shell_syntax_ok(&postrm), "{postrm}");
    let unit = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/server/satchel-server.service")).unwrap();
    for hardening in ["User=satchel-server", "StateDirectory=satchel", "ProtectSystem=strict", "NoNewPrivileges=yes", "CapabilityBoundingSet="] {
        assert!(unit.contains(hardening), "the service has {hardening}");
    }
}
