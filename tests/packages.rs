//! The Debian packages as `make deb` builds them (`cargo deb`): what each installs, its
//! conffiles, dependencies, systemd unit and maintainer scripts, what lintian says of them,
//! and the technician's whole round in a clean Debian 12 root, booted with systemd-nspawn:
//! install with apt, the server as a service logging to the journal, setup-kiosk over HTTPS,
//! upgrade, remove, purge.
#![cfg(all(feature = "kiosk", feature = "server"))]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::wait_for;

/// Builds a package (`variant` `server` for satchel-server) with Debian revision `revision`,
/// into a folder of the tests' own: cargo deb deletes other versions of a package from
/// target/debian, and `make deb`'s packages are left alone. One build at a time: two `cargo
/// deb` runs side by side strip and copy the same binaries.
fn build_revision(variant: Option<&str>, revision: u32) -> PathBuf {
    let output = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("debian-revision-{revision}"));
    static ONE_BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_BUILD.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut command = Command::new("cargo");
    command.args(["deb", "--locked", "--deb-revision", &revision.to_string()]).current_dir(env!("CARGO_MANIFEST_DIR"));
    if let Some(variant) = variant {
        command.args(["--variant", variant]);
    }
    command.arg("--output").arg(&output);
    let output = command.output().expect("cargo-deb runs (make deps installs it)");
    assert!(output.status.success(), "cargo deb: {}", String::from_utf8_lossy(&output.stderr));
    PathBuf::from(String::from_utf8(output.stdout).unwrap().lines().last().unwrap().trim())
}

/// The kiosk and server packages as `make deb` makes them, built once for all the tests.
fn packages() -> &'static [PathBuf; 2] {
    static BUILT: std::sync::OnceLock<[PathBuf; 2]> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| [build_revision(None, 1), build_revision(Some("server"), 1)])
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
    let mut check = Command::new("sh").arg("-n").stdin(Stdio::piped()).spawn().unwrap();
    use std::io::Write;
    check.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    check.wait().unwrap().success()
}

#[test]
fn the_kiosk_and_server_packages_install_what_a_lab_needs() {
    let [kiosk, server] = packages();
    let contents = dpkg_deb(&["--contents"], kiosk);
    for path in [
        "./usr/bin/satchel",
        "./etc/satchel/kiosk.toml",
        "./usr/lib/systemd/system/satchel-kiosk.service",
        "./usr/share/satchel/allowlists/ks1.list",
        "./usr/share/doc/satchel/deploy.md",
    ] {
        assert!(contents.contains(path), "satchel has {path}:\n{contents}");
    }
    assert!(
        contents.lines().any(|l| l.starts_with("-rw-r-----") && l.ends_with("./etc/satchel/kiosk.toml")),
        "the kiosk config is not world-readable"
    );
    let info = dpkg_deb(&["--info"], kiosk);
    for dependency in ["libwebkit2gtk-4.1-0", "cage", "xwayland", "fonts-noto-color-emoji"] {
        assert!(info.contains(dependency), "satchel depends on {dependency}:\n{info}");
    }
    assert_eq!(control_file(kiosk, "conffiles").trim(), "/etc/satchel/kiosk.toml");
    let postinst = control_file(kiosk, "postinst");
    assert!(
        postinst.contains("adduser --system") && postinst.contains("chown root:satchel /etc/satchel/kiosk.toml"),
        "{postinst}"
    );
    let postrm = control_file(kiosk, "postrm");
    assert!(
        postrm.contains("purge") && postrm.contains("rm -rf /var/lib/satchel-kiosk"),
        "data goes only on purge:\n{postrm}"
    );
    assert!(shell_syntax_ok(&postinst) && shell_syntax_ok(&postrm));
    let unit =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/kiosk/satchel-kiosk.service"))
            .unwrap();
    assert!(
        unit.contains("ExecStart=/usr/bin/cage -d -- /usr/bin/satchel")
            && unit.contains("Restart=always")
            && unit.contains("User=satchel")
    );

    let contents = dpkg_deb(&["--contents"], server);
    for path in
        ["./usr/bin/satchel-server", "./etc/satchel/server.env", "./usr/lib/systemd/system/satchel-server.service"]
    {
        assert!(contents.contains(path), "satchel-server has {path}:\n{contents}");
    }
    assert!(!contents.contains("./usr/bin/satchel\n"), "the server package carries no kiosk");
    assert_eq!(control_file(server, "conffiles").trim(), "/etc/satchel/server.env");
    let postinst = control_file(server, "postinst");
    assert!(postinst.contains("satchel-server") && shell_syntax_ok(&postinst), "{postinst}");
    let postrm = control_file(server, "postrm");
    assert!(
        postrm.contains("purge") && postrm.contains("rm -rf /var/lib/satchel") && shell_syntax_ok(&postrm),
        "{postrm}"
    );
    let unit =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/server/satchel-server.service"))
            .unwrap();
    for hardening in [
        "User=satchel-server",
        "StateDirectory=satchel",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=",
    ] {
        assert!(unit.contains(hardening), "the service has {hardening}");
    }
    assert!(unit.contains("LimitNOFILE=65536"), "the service may hold a descriptor for each of thousands of kiosks");
}

#[test]
fn lintian_finds_nothing_to_fix_in_either_package() {
    let output = Command::new("lintian")
        .args(["--fail-on", "error,warning", "--tag-display-limit", "0"])
        .args(packages())
        .output()
        .expect("lintian (apt-get install lintian) runs");
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && !said.lines().any(|l| l.starts_with("E:") || l.starts_with("W:")),
        "lintian:\n{said}{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A Debian 12 root made by debootstrap (minbase, with systemd so that it can boot);
/// deleted on drop.
struct Chroot {
    path: PathBuf,
}

impl Chroot {
    fn bootstrap() -> Chroot {
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("debian-root-{}", std::process::id()));
        let mirror = std::env::var("SATCHEL_DEBIAN_MIRROR").unwrap_or_else(|_| "http://deb.debian.org/debian".into());
        let status = Command::new("debootstrap")
            .args(["--variant=minbase", "--include=systemd,systemd-sysv,dbus", "bookworm"])
            .arg(&path)
            .arg(&mirror)
            .stdout(Stdio::null())
            .status()
            .expect("debootstrap (apt-get install debootstrap) runs");
        let chroot = Chroot { path };
        assert!(status.success(), "debootstrap bookworm from {mirror}");
        std::fs::copy("/etc/resolv.conf", chroot.path.join("etc/resolv.conf")).unwrap();
        chroot
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("chroot");
        command.arg(&self.path).args(args);
        clean_environment(&mut command);
        command
    }

    /// Runs a command in the root and returns its standard output; panics if it fails.
    fn run(&self, args: &[&str]) -> String {
        succeeded(self.command(args), args)
    }

    /// apt-get install, with /proc mounted for the maintainer scripts.
    fn apt_install(&self, packages: &[String]) {
        let proc = self.path.join("proc");
        assert!(Command::new("mount").args(["-t", "proc", "proc"]).arg(&proc).status().unwrap().success());
        let mut args = vec!["apt-get", "install", "-y", "-q", "--no-install-recommends"];
        args.extend(packages.iter().map(String::as_str));
        let output = self.command(&args).output().unwrap();
        assert!(Command::new("umount").arg(&proc).status().unwrap().success(), "/proc of the root unmounted");
        assert!(output.status.success(), "apt-get install: {}", String::from_utf8_lossy(&output.stderr));
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

    /// Boots the root with systemd-nspawn (sharing the host's network) until it is up.
    fn boot(&self) -> Booted {
        let nspawn = Command::new("systemd-nspawn")
            .args(["--register=no", "--keep-unit", "--quiet", "--boot", "--directory"])
            .arg(&self.path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("systemd-nspawn (apt-get install systemd-container) runs");
        let mut booted = Booted { nspawn, init: 0 };
        wait_for("the root's systemd", Duration::from_secs(30), || {
            booted.init = children_of(booted.nspawn.id()).first().copied().unwrap_or(0);
            booted.init != 0
        });
        wait_for("the boot to finish", Duration::from_secs(90), || {
            let state = booted
                .command(&["systemctl", "is-system-running"])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
                .unwrap_or_default();
            state == "running" || state == "degraded"
        });
        booted
    }
}

impl Drop for Chroot {
    fn drop(&mut self) {
        let proc = self.path.join("proc");
        let mounted =
            std::fs::read_to_string("/proc/mounts").is_ok_and(|mounts| mounts.contains(&*proc.to_string_lossy()));
        // Never delete a tree with a live /proc in it.
        if !mounted {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// The root booted: its systemd runs as the child of systemd-nspawn.
struct Booted {
    nspawn: Child,
    init: u32,
}

impl Booted {
    /// A command in the booted machine's namespaces.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("nsenter");
        command.args(["--target", &self.init.to_string(), "--all", "--"]).args(args);
        clean_environment(&mut command);
        command
    }

    fn run(&self, args: &[&str]) -> String {
        succeeded(self.command(args), args)
    }

    fn run_as(&self, user: &str, args: &[&str]) -> String {
        let mut all = vec!["runuser", "-u", user, "--"];
        all.extend_from_slice(args);
        self.run(&all)
    }
}

impl Drop for Booted {
    fn drop(&mut self) {
        // One SIGTERM asks the machine to shut down; wait, then make sure.
        let _ = Command::new("kill").args(["-TERM", &self.nspawn.id().to_string()]).status();
        for _ in 0..200 {
            if self.nspawn.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.nspawn.kill();
        let _ = self.nspawn.wait();
    }
}

fn clean_environment(command: &mut Command) {
    command
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .env("LANG", "C.UTF-8");
}

fn succeeded(mut command: Command, args: &[&str]) -> String {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|child| {
            // The parent is the fourth field of /proc/PID/stat, after the name in parentheses.
            let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
            stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok()) == Some(pid)
        })
        .collect()
}

#[test]
fn in_a_booted_debian_root_the_packages_install_run_as_services_enrol_upgrade_keeping_settings_and_keep_data_until_purged(
) {
    assert!(
        std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0).unwrap_or(false),
        "this test builds and boots a Debian root: run the tests as root (CI does)"
    );
    let root = Chroot::bootstrap();

    // Install, as docs/deploy.md says: apt pulls in WebKitGTK, cage, Xwayland and the fonts.
    root.apt_install(&root.take(packages()));
    for user in ["satchel", "satchel-server"] {
        assert!(
            root.run(&["getent", "passwd", user]).contains("/usr/sbin/nologin"),
            "{user} is a system user without a shell"
        );
    }
    assert_eq!(root.owner_and_mode("/etc/satchel/kiosk.toml"), "root:satchel:640");
    assert_eq!(root.owner_and_mode("/var/lib/satchel"), "satchel-server:satchel-server:700");
    // The links point into the root (absolute targets): look at the links themselves.
    assert!(
        root.path("/etc/systemd/system/multi-user.target.wants/satchel-server.service").symlink_metadata().is_ok(),
        "the server starts at boot"
    );
    assert!(
        root.path("/etc/systemd/system/display-manager.service").symlink_metadata().is_err(),
        "the kiosk session waits for setup-kiosk"
    );
    assert!(root
        .run(&[
            "satchel",
            "check",
            "--explain",
            "--list",
            "/usr/share/satchel/allowlists/ks1.list",
            "https://www.bbc.co.uk/bitesize"
        ])
        .starts_with("ALLOW"));
    root.run(&["systemd-analyze", "verify", "satchel-server.service", "satchel-kiosk.service"]);

    // The school's settings: the server on a free loopback port, over HTTPS.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let settings =
        format!("SATCHEL_SERVER_ARGS=\"--listen 127.0.0.1:{port} --tls --retention-days 30\"\nSATCHEL_LOG=info\n");
    std::fs::write(root.path("/etc/satchel/server.env"), &settings).unwrap();

    {
        let machine = root.boot();
        wait_for("satchel-server.service to be active", Duration::from_secs(30), || {
            machine
                .command(&["systemctl", "is-active", "--quiet", "satchel-server"])
                .status()
                .is_ok_and(|s| s.success())
        });
        // Active as soon as it is started; its first lines follow.
        let journal = || machine.run(&["journalctl", "--unit", "satchel-server", "--output", "verbose", "--no-pager"]);
        wait_for("the server's start in the journal", Duration::from_secs(30), || {
            journal().contains("MESSAGE=satchel-server listening (HTTPS)")
        });
        let journal = journal();
        for field in [
            "SYSLOG_IDENTIFIER=satchel-server",
            "MESSAGE=satchel-server listening (HTTPS)",
            &format!("SATCHEL_ADDRESS=127.0.0.1:{port}"),
            "SATCHEL_FINGERPRINT=",
        ] {
            assert!(journal.contains(field), "the journal has {field}:\n{journal}");
        }
        assert!(journal.contains("one-time password"), "the first start's admin password is in the journal");

        // The technician's round: a room, a code and the fingerprint from the server, then
        // setup-kiosk on the machine (here the same one), over HTTPS with the pinned certificate.
        let server = ["satchel-server", "--data", "/var/lib/satchel"];
        machine.run_as("satchel-server", &[&server[..], &["add-room", "Lab"]].concat());
        let code = machine
            .run_as("satchel-server", &[&server[..], &["enrol-code", "--room", "Lab"]].concat())
            .trim()
            .to_owned();
        let fingerprint = machine.run_as("satchel-server", &[&server[..], &["fingerprint"]].concat()).trim().to_owned();
        let url = format!("https://127.0.0.1:{port}");
        let setup = [
            "satchel",
            "setup-kiosk",
            "--server",
            &url,
            "--code",
            &code,
            "--fingerprint",
            &fingerprint,
            "--name",
            "LAB-01",
        ];
        let first = machine.run(&setup);
        for line in [
            "already so   create the `satchel` user",
            "already so   write /etc/satchel/kiosk.toml",
            &format!("done         enrol this machine with {url}"),
            "done         start the kiosk session (satchel-kiosk.service: cage on tty1) at boot",
        ] {
            assert!(first.contains(line), "setup-kiosk says {line:?}:\n{first}");
        }
        let again = machine.run(&setup);
        assert!(again.lines().all(|line| line.starts_with("already so")), "a second run changes nothing:\n{again}");
        assert_eq!(machine.run(&["systemctl", "is-enabled", "satchel-kiosk"]).trim(), "enabled");
        assert!(
            machine
                .run(&["readlink", "/etc/systemd/system/display-manager.service"])
                .trim()
                .ends_with("/satchel-kiosk.service"),
            "the kiosk session is the display manager"
        );
        assert_eq!(
            root.owner_and_mode("/etc/satchel/kiosk.toml"),
            "root:satchel:640",
            "enrolment keeps the config private"
        );
        let status = machine.run(&["satchel", "status"]);
        assert!(status.contains(&format!("with {url}")) && status.contains("server          reachable"), "{status}");
    }
    std::fs::create_dir_all(root.path("/var/lib/satchel-kiosk/outbox")).unwrap();
    std::fs::write(root.path("/var/lib/satchel-kiosk/outbox/report-waiting.json"), "{}").unwrap();

    // An upgrade keeps both conffiles as the school left them, and the server's data.
    let upgrade = root.take(&[build_revision(None, 2), build_revision(Some("server"), 2)]);
    let mut dpkg = vec!["dpkg", "-i"];
    dpkg.extend(upgrade.iter().map(String::as_str));
    root.run(&dpkg);
    assert!(root.run(&["dpkg-query", "-W", "-f", "${Version}", "satchel"]).ends_with("-2"));
    let config = std::fs::read_to_string(root.path("/etc/satchel/kiosk.toml")).unwrap();
    assert!(
        config.contains("[server]") && config.contains(&format!("127.0.0.1:{port}")),
        "the upgrade kept the enrolment:\n{config}"
    );
    assert_eq!(root.owner_and_mode("/etc/satchel/kiosk.toml"), "root:satchel:640");
    assert_eq!(
        std::fs::read_to_string(root.path("/etc/satchel/server.env")).unwrap(),
        settings,
        "the upgrade kept the server's settings"
    );
    assert!(root.path("/var/lib/satchel/satchel.db").exists(), "the upgrade kept the database");

    // Removing keeps reports, rules and the database; purging deletes them.
    root.run(&["dpkg", "--remove", "satchel", "satchel-server"]);
    assert!(!root.path("/usr/bin/satchel").exists() && !root.path("/usr/bin/satchel-server").exists());
    for kept in
        ["/var/lib/satchel/satchel.db", "/var/lib/satchel-kiosk/outbox/report-waiting.json", "/etc/satchel/kiosk.toml"]
    {
        assert!(root.path(kept).exists(), "remove keeps {kept}");
    }
    root.run(&["dpkg", "--purge", "satchel", "satchel-server"]);
    for gone in ["/var/lib/satchel", "/var/lib/satchel-kiosk", "/etc/satchel/kiosk.toml", "/etc/satchel/server.env"] {
        assert!(!root.path(gone).exists(), "purge deletes {gone}");
    }
}

/// The commands and long options `--help` lists for `program` and each of its commands.
fn commands_and_options(program: &str) -> Vec<String> {
    let help = |args: &[&str]| {
        String::from_utf8(Command::new(program).args(args).arg("--help").output().unwrap().stdout).unwrap()
    };
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
    for (program, page) in [
        (support::SATCHEL, "packaging/man/satchel.1"),
        (env!("CARGO_BIN_EXE_satchel-server"), "packaging/man/satchel-server.1"),
    ] {
        let text =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(page)).unwrap().replace("\\-", "-");
        let named = commands_and_options(program);
        assert!(named.len() > 8, "{program} --help lists its commands and options: {named:?}");
        let missing: Vec<_> = named.iter().filter(|name| !text.contains(name.as_str())).collect();
        assert!(missing.is_empty(), "{page} does not mention {missing:?}");
    }
}
