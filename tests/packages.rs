//! The Debian packages as `make deb` builds them (`cargo deb`): what each installs, its
//! conffiles, dependencies, systemd unit and maintainer scripts, what lintian says of them,
//! and the technician's whole round in a clean Debian 12 root: install with apt, enrol,
//! upgrade, remove, purge.
#![cfg(all(feature = "kiosk", feature = "server"))]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::wait_for;

/// Builds a package (`variant` `server` for satchel-server) with Debian revision `revision`,
/// into `output` or target/debian.
fn build_revision(variant: Option<&str>, revision: u32, output: Option<&Path>) -> PathBuf {
    let mut command = Command::new("cargo");
    command.args(["deb", "--locked", "--deb-revision", &revision.to_string()]).current_dir(env!("CARGO_MANIFEST_DIR"));
    if let Some(variant) = variant {
        command.args(["--variant", variant]);
    }
    if let Some(output) = output {
        command.arg("--output").arg(output);
    }
    let output = command.output().expect("cargo-deb runs (make deps installs it)");
    assert!(output.status.success(), "cargo deb: {}", String::from_utf8_lossy(&output.stderr));
    PathBuf::from(String::from_utf8(output.stdout).unwrap().lines().last().unwrap().trim())
}

fn build(variant: Option<&str>) -> PathBuf {
    build_revision(variant, 1, None)
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

#[test]
fn lintian_finds_nothing_to_fix_in_either_package() {
    let packages = [build(None), build(Some("server"))];
    let output = Command::new("lintian").args(["--fail-on", "error,warning", "--tag-display-limit", "0"]).args(&packages).output().expect("lintian (apt-get install lintian) runs");
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success() && !said.lines().any(|l| l.starts_with("E:") || l.starts_with("W:")), "lintian:\n{said}{}", String::from_utf8_lossy(&output.stderr));
}

/// A Debian 12 root made by debootstrap, with /proc mounted; unmounted and deleted on drop.
struct Chroot {
    path: PathBuf,
    proc_mounted: bool,
}

impl Chroot {
    fn bootstrap() -> Chroot {
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("debian-root-{}", std::process::id()));
        let mirror = std::env::var("SATCHEL_DEBIAN_MIRROR").unwrap_or_else(|_| "http://deb.debian.org/debian".into());
        let status = Command::new("debootstrap")
            .args(["--variant=minbase", "bookworm"])
            .arg(&path)
            .arg(&mirror)
            .stdout(Stdio::null())
            .status()
            .expect("debootstrap (apt-get install debootstrap) runs");
        let mut chroot = Chroot { path, proc_mounted: false };
        assert!(status.success(), "debootstrap bookworm from {mirror}");
        std::fs::copy("/etc/resolv.conf", chroot.path.join("etc/resolv.conf")).unwrap();
        assert!(Command::new("mount").args(["-t", "proc", "proc"]).arg(chroot.path.join("proc")).status().unwrap().success());
        chroot.proc_mounted = true;
        chroot
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("chroot");
        command.arg(&self.path).args(args).env("DEBIAN_FRONTEND", "noninteractive").env_remove("SATCHEL_LOG");
        command
    }

    /// Runs a command in the root and returns its standard output; panics if it fails.
    fn run(&self, args: &[&str]) -> String {
        let output = self.command(args).output().unwrap();
        assert!(output.status.success(), "{args:?} in the root: {}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    }

    /// Runs a command in the root as `user`.
    fn run_as(&self, user: &str, args: &[&str]) -> String {
        let mut all = vec!["setpriv", "--reuid", user, "--regid", user, "--init-groups"];
        all.extend_from_slice(args);
        self.run(&all)
    }

    fn path(&self, inside: &str) -> PathBuf {
        self.path.join(inside.trim_start_matches('/'))
    }

    /// `user:group:mode` of a path in the root, as the root's own names.
    fn owner_and_mode(&self, inside: &str) -> String {
        self.run(&["stat", "-c", "%U:%G:%a", inside]).trim().to_owned()
    }

    /// Copies packages into the root's /tmp; returns their paths there.
    fn take(&self, packages: &[PathBuf]) -> Vec<String> {
        packages
            .iter()
            .map(|package| {
                let name = package.file_name().unwrap().to_string_lossy().into_owned();
                std::fs::copy(package, self.path("/tmp").join(&name)).unwrap();
                format!("/tmp/{name}")
            })
            .collect()
    }
}

impl Drop for Chroot {
    fn drop(&mut self) {
        if self.proc_mounted && !Command::new("umount").arg(self.path.join("proc")).status().is_ok_and(|s| s.success()) {
            // Never delete a tree with a live /proc in it.
            return;
        }
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The server, as its service would run it, inside the root.
struct ServerInRoot(Child);

impl Drop for ServerInRoot {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn in_a_clean_debian_root_the_packages_install_enrol_upgrade_keeping_settings_and_leave_data_until_purged() {
    assert!(std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0).unwrap_or(false), "this test builds a chroot: run the tests as root (CI does)");
    let packages = [build(None), build(Some("server"))];
    let root = Chroot::bootstrap();

    // Install, as docs/deploy.md says: apt pulls in WebKitGTK, cage, Xwayland and the fonts.
    let first = root.take(&packages);
    let mut install = vec!["apt-get", "install", "-y", "-q", "--no-install-recommends"];
    install.extend(first.iter().map(String::as_str));
    root.run(&install);
    for user in ["satchel", "satchel-server"] {
        assert!(root.run(&["getent", "passwd", user]).contains("/usr/sbin/nologin"), "{user} is a system user without a shell");
    }
    assert_eq!(root.owner_and_mode("/etc/satchel/kiosk.toml"), "root:satchel:640");
    assert_eq!(root.owner_and_mode("/var/lib/satchel"), "satchel-server:satchel-server:700");
    // The links point into the root (absolute targets): look at the links themselves.
    assert!(root.path("/etc/systemd/system/multi-user.target.wants/satchel-server.service").symlink_metadata().is_ok(), "the server starts at boot");
    assert!(root.path("/etc/systemd/system/display-manager.service").symlink_metadata().is_err(), "the kiosk session waits for setup-kiosk");
    assert!(root.run(&["satchel", "check", "--explain", "--list", "/usr/share/satchel/allowlists/ks1.list", "https://www.bbc.co.uk/bitesize"]).starts_with("ALLOW"));

    // The server, as its user, then a kiosk enrolled with it.
    root.run_as("satchel-server", &["satchel-server", "--data", "/var/lib/satchel", "add-room", "Lab"]);
    let code = root.run_as("satchel-server", &["satchel-server", "--data", "/var/lib/satchel", "enrol-code", "--room", "Lab"]).trim().to_owned();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let server = ServerInRoot(
        root.command(&["setpriv", "--reuid", "satchel-server", "--regid", "satchel-server", "--init-groups", "satchel-server", "--data", "/var/lib/satchel", "--listen", &listen])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("the server in the root to listen", Duration::from_secs(20), || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    let url = format!("http://{listen}");
    let plan = root.run(&["satchel", "setup-kiosk", "--dry-run", "--server", &url, "--code", &code, "--name", "LAB-01"]);
    assert!(plan.contains("already so   write /etc/satchel/kiosk.toml") && plan.contains("would do     enrol this machine"), "{plan}");
    root.run(&["satchel", "enrol", "--server", &url, "--code", &code, "--name", "LAB-01"]);
    assert_eq!(root.owner_and_mode("/etc/satchel/kiosk.toml"), "root:satchel:640", "enrolment keeps the config private");
    let status = root.run(&["satchel", "status"]);
    assert!(status.contains("enrolment       kiosk ") && status.contains(&format!("with {url}")) && status.contains("server          reachable"), "{status}");
    drop(server);
    std::fs::create_dir_all(root.path("/var/lib/satchel-kiosk/outbox")).unwrap();
    std::fs::write(root.path("/var/lib/satchel-kiosk/outbox/report-waiting.json"), "{}").unwrap();

    // An upgrade keeps the enrolled configuration and the server's data.
    let output = Path::new(env!("CARGO_TARGET_TMPDIR")).join("debian-revision-2");
    let upgrade = root.take(&[build_revision(None, 2, Some(&output)), build_revision(Some("server"), 2, Some(&output))]);
    let mut dpkg = vec!["dpkg", "-i"];
    dpkg.extend(upgrade.iter().map(String::as_str));
    root.run(&dpkg);
    assert!(root.run(&["dpkg-query", "-W", "-f", "${Version}", "satchel"]).ends_with("-2"));
    let config = std::fs::read_to_string(root.path("/etc/satchel/kiosk.toml")).unwrap();
    assert!(config.contains("[server]") && config.contains(&url), "the upgrade kept the enrolment:\n{config}");
    assert_eq!(root.owner_and_mode("/etc/satchel/kiosk.toml"), "root:satchel:640");
    assert!(root.path("/var/lib/satchel/satchel.db").exists(), "the upgrade kept the database");

    // Removing keeps reports, rules and the database; purging deletes them.
    root.run(&["dpkg", "--remove", "satchel", "satchel-server"]);
    assert!(!root.path("/usr/bin/satchel").exists() && !root.path("/usr/bin/satchel-server").exists());
    for kept in ["/var/lib/satchel/satchel.db", "/var/lib/satchel-kiosk/outbox/report-waiting.json", "/etc/satchel/kiosk.toml"] {
        assert!(root.path(kept).exists(), "remove keeps {kept}");
    }
    root.run(&["dpkg", "--purge", "satchel", "satchel-server"]);
    for gone in ["/var/lib/satchel", "/var/lib/satchel-kiosk", "/etc/satchel/kiosk.toml", "/etc/satchel/server.env"] {
        assert!(!root.path(gone).exists(), "purge deletes {gone}");
    }
}

/// The commands and long options `--help` lists for `program` and each of its commands.
fn commands_and_options(program: &str) -> Vec<String> {
    let help = |args: &[&str]| String::from_utf8(Command::new(program).args(args).arg("--help").output().unwrap().stdout).unwrap();
    let top = help(&[]);
    let commands: Vec<String> = top
        .split("Commands:")
        .nth(1)
        .and_then(|rest| rest.split("Options:").next())
        .unwrap_or("")
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect();
    let mut found = commands.clone();
    for text in std::iter::once(top.clone()).chain(commands.iter().map(|command| help(&[command.as_str()]))) {
        for word in text.split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == ']') {
            let option: String = word.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
            if option.starts_with("--") && option.len() > 2 && !["--help", "--version"].contains(&option.as_str()) {
                found.push(option);
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

#[test]
fn the_manual_pages_name_every_command_and_option() {
    for (program, page) in [(support::SATCHEL, "packaging/man/satchel.1"), (env!("CARGO_BIN_EXE_satchel-server"), "packaging/man/satchel-server.1")] {
        let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(page)).unwrap().replace("\\-", "-");
        let named = commands_and_options(program);
        assert!(named.len() > 8, "{program} --help lists its commands and options: {named:?}");
        let missing: Vec<_> = named.iter().filter(|name| !text.contains(name.as_str())).collect();
        assert!(missing.is_empty(), "{page} does not mention {missing:?}");
    }
}
