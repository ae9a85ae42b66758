//! Logs: the kiosk logs at the level its configuration names (`SATCHEL_LOG` overrides it for
//! one run), and a program started by systemd writes to the journal with each event's fields
//! as journal fields. The journal is a datagram socket of the test's, mounted at journald's
//! path in a private mount namespace (`unshare`, as root), so nothing of the host's changes.

mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::{one_at_a_time, wait_for, Display, TempDir, SATCHEL};

/// Starts the kiosk with `log_level` in its configuration and returns what it logged: up to
/// its ready line when the level logs it, or else once its window is up and a moment has
/// passed for lines that must not come.
fn kiosk_log(display: &Display, log_level: &str, override_level: Option<&str>, logs_ready: bool) -> String {
    let dir = TempDir::new("logging");
    let config = dir.path().join("kiosk.toml");
    std::fs::write(&config, format!("state_dir = \"state\"\nlog_level = \"{log_level}\"\n")).unwrap();
    let mut command = Command::new(SATCHEL);
    command
        .arg("--config")
        .arg(&config)
        .env("DISPLAY", &display.name)
        .env_remove("SATCHEL_LOG")
        .env_remove("JOURNAL_STREAM");
    if let Some(level) = override_level {
        command.env("SATCHEL_LOG", level);
    }
    let mut kiosk = command.stderr(Stdio::piped()).spawn().unwrap();
    let log = Arc::new(Mutex::new(String::new()));
    let reader = {
        let (log, stderr) = (Arc::clone(&log), BufReader::new(kiosk.stderr.take().unwrap()));
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                let mut log = log.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        })
    };
    if logs_ready {
        wait_for("the kiosk's ready line", Duration::from_secs(60), || log.lock().unwrap().contains("kiosk ready"));
    } else {
        // Looked for again and again: under load the window can take a while, and xdotool's
        // own wait gives up on a display that is slow to answer.
        wait_for("the kiosk's window", Duration::from_secs(60), || {
            Command::new("xdotool")
                .env("DISPLAY", &display.name)
                .args(["search", "--onlyvisible", "--name", "^Satchel$"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
        });
        std::thread::sleep(Duration::from_secs(2));
    }
    kiosk.kill().unwrap();
    kiosk.wait().unwrap();
    reader.join().unwrap();
    let log = log.lock().unwrap().clone();
    log
}

#[test]
fn the_configured_level_decides_what_the_kiosk_logs_and_satchel_log_overrides_it() {
    let _turn = one_at_a_time();
    let display = Display::start();

    let quiet = kiosk_log(&display, "warn", None, false);
    assert!(!quiet.contains("kiosk ready") && !quiet.contains(" INFO "), "warn logs no info lines:\n{quiet}");

    let module = kiosk_log(&display, "warn,satchel::kiosk=info", None, true);
    assert!(module.contains("kiosk ready"), "a module's own level applies:\n{module}");

    let overridden = kiosk_log(&display, "warn", Some("info"), true);
    assert!(overridden.contains("kiosk ready"), "SATCHEL_LOG overrides the configuration:\n{overridden}");

    let bad_override = kiosk_log(&display, "info", Some("loud"), true);
    assert!(
        bad_override.contains("`loud` is not one of") && bad_override.contains("kiosk ready"),
        "a bad SATCHEL_LOG is named and ignored:\n{bad_override}"
    );
}

#[test]
fn started_by_systemd_the_server_logs_to_the_journal_with_structured_fields() {
    let dir = TempDir::new("journal");
    let socket_path = dir.path().join("journal.socket");
    let journal = UnixDatagram::bind(&socket_path).unwrap();
    journal.set_read_timeout(Some(Duration::from_secs(30))).unwrap();

    // systemd connects standard error to the journal and names that stream in JOURNAL_STREAM.
    let stderr_path = dir.path().join("stderr");
    let stderr = std::fs::File::create(&stderr_path).unwrap();
    let stream = stderr.metadata().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let script = format!(
        "mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journal && touch /run/systemd/journal/socket \
         && mount --bind '{}' /run/systemd/journal/socket && exec '{}' --data '{}' --listen 127.0.0.1:{port}",
        socket_path.display(),
        env!("CARGO_BIN_EXE_satchel-server"),
        dir.path().join("data").display()
    );
    let mut server = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .env("JOURNAL_STREAM", format!("{}:{}", stream.dev(), stream.ino()))
        .env_remove("SATCHEL_LOG")
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("unshare (util-linux) runs");

    let mut entries = Vec::new();
    let mut buffer = vec![0u8; 65536];
    let is_listening = |entry: &HashMap<String, String>| entry.get("MESSAGE").is_some_and(|m| m.contains("listening"));
    wait_for("the listening entry in the journal", Duration::from_secs(30), || {
        if let Ok(length) = journal.recv(&mut buffer) {
            entries.push(journal_fields(&buffer[..length]));
        }
        entries.iter().any(is_listening)
    });
    server.kill().unwrap();
    server.wait().unwrap();

    let listening = entries.iter().find(|entry| is_listening(entry)).unwrap();
    let port = port.to_string();
    for (name, value) in [
        ("MESSAGE", "satchel-server listening (HTTP)"),
        ("PRIORITY", "6"),
        ("SYSLOG_IDENTIFIER", "satchel-server"),
        ("SATCHEL_ADDRESS", &format!("127.0.0.1:{port}")),
    ] {
        assert_eq!(listening.get(name).map(String::as_str), Some(value), "{name} in {listening:?}");
    }
    let text = std::fs::read_to_string(&stderr_path).unwrap();
    assert!(!text.contains("listening"), "nothing also went to standard error as text:\n{text}");
}

/// The fields of one datagram of journald's native protocol: `NAME=value` lines, or for
/// values that may hold a newline, `NAME`, a little-endian 64-bit length, the value, `\n`.
fn journal_fields(mut datagram: &[u8]) -> HashMap<String, String> {
    let mut fields = HashMap::new();
    while let Some(end) = datagram.iter().position(|&byte| byte == b'\n') {
        let line = String::from_utf8_lossy(&datagram[..end]).into_owned();
        datagram = &datagram[end + 1..];
        match line.split_once('=') {
            Some((name, value)) => {
                fields.insert(name.to_owned(), value.to_owned());
            }
            None => {
                let length = u64::from_le_bytes(datagram[..8].try_into().unwrap()) as usize;
                fields.insert(line, String::from_utf8_lossy(&datagram[8..8 + length]).into_owned());
                datagram = &datagram[8 + length + 1..];
            }
        }
    }
    fields
}
