//! `satchel status`: what the technician needs to know about a kiosk, read from its
//! configuration and state folder: the enrolment, the rules in force and their age, the
//! outbox, the last error the link noted. Whether the server answers is a separate
//! [`Status::probe`], since it waits on the network.

use std::path::Path;
use std::time::Duration;

use reqwest::StatusCode;

use super::enrol::error_chain;
use super::sync;
use crate::config::{ConfigError, KioskConfig, ServerLink};

/// An enrolled kiosk, as its files show it. (Not `Debug`: it holds the kiosk's token.)
pub struct Status {
    pub kiosk_id: String,
    pub server: String,
    /// The cached rules, which the kiosk enforces; none until the server is first reached.
    pub rules: Option<Rules>,
    /// Outbox items waiting to be sent.
    pub waiting: usize,
    /// Outbox items set aside as damaged (`outbox/damaged/`), kept for a person to look at.
    pub damaged: usize,
    pub last_error: Option<LastError>,
    link: ServerLink,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rules {
    pub version: u64,
    pub room: String,
    pub profile: String,
    /// The lesson the bundle carries (which may have ended since).
    pub lesson: Option<String>,
    /// Since the server signed them.
    pub minutes_old: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastError {
    pub minutes_ago: u64,
    pub what: String,
}

/// How the server answered a request for newer rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reach {
    UpToDate,
    /// Newer rules than the cached ones; the running kiosk takes them on its next poll.
    Newer,
    /// Any other answer (a retired kiosk's token gets 401).
    Answered(StatusCode),
    Unreachable(String),
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// No client for the server (an https address without a fingerprint).
    #[error("{0}")]
    Client(String),
    /// No runtime for the request (no threads or file descriptors left).
    #[error(transparent)]
    Runtime(#[from] std::io::Error),
}

impl Status {
    /// The kiosk configured at `config`; `None` when it is not enrolled (the built-in list is
    /// in force). Damaged cached rules are set aside, as the kiosk itself would.
    pub fn read(config: &Path) -> Result<Option<Status>, Error> {
        Status::read_at(config, crate::durable::unix_now())
    }

    fn read_at(config: &Path, now: u64) -> Result<Option<Status>, Error> {
        let config = KioskConfig::load(config)?;
        let Some(link) = config.server else { return Ok(None) };
        // As the kiosk reads them (loading has already refused a configuration with a bad key).
        let cached =
            crate::keys::parse_public_key(&link.public_key).and_then(|key| sync::load_cached(&config.state_dir, &key));
        let rules = cached.map(|bundle| Rules {
            version: bundle.version,
            room: bundle.room,
            profile: bundle.profile.name,
            lesson: bundle.lesson.map(|lesson| lesson.name),
            minutes_old: now.saturating_sub(bundle.issued_at) / 60,
        });
        let (waiting, damaged) = sync::outbox_counts(&config.state_dir);
        let last_error = std::fs::read_to_string(sync::last_error_path(&config.state_dir)).ok().map(|text| {
            // As the link notes it: Unix time, a space, the error.
            let (when, what) = text.trim().split_once(' ').unwrap_or(("0", text.trim()));
            LastError { minutes_ago: now.saturating_sub(when.parse().unwrap_or(0)) / 60, what: what.to_owned() }
        });
        Ok(Some(Status {
            kiosk_id: link.kiosk_id.clone(),
            server: link.url.clone(),
            rules,
            waiting,
            damaged,
            last_error,
            link,
        }))
    }

    /// Asks the server, as the kiosk would, whether it has newer rules than the cached ones;
    /// waits ten seconds at most.
    pub fn probe(&self) -> Result<Reach, Error> {
        let held = self.rules.as_ref().map_or(0, |rules| rules.version);
        let client = sync::http_client(&self.link.url, self.link.fingerprint.as_deref()).map_err(Error::Client)?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        // Built inside the runtime: the request's timer needs it.
        let answer = runtime.block_on(async {
            client
                .get(format!("{}/api/v1/rules", self.link.url.trim_end_matches('/')))
                .bearer_auth(format!("{}.{}", self.link.kiosk_id, self.link.token))
                .header("If-None-Match", format!("\"{held}\""))
                .timeout(Duration::from_secs(10))
                .send()
                .await
        });
        Ok(match answer {
            Ok(response) if response.status() == StatusCode::NOT_MODIFIED => Reach::UpToDate,
            Ok(response) if response.status().is_success() => Reach::Newer,
            Ok(response) => Reach::Answered(response.status()),
            Err(error) => Reach::Unreachable(error_chain(&error)),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::bundle::{example, sign, Bundle, Lesson};
    use crate::durable::write_durably;

    const NOW: u64 = 1_795_000_000;

    /// A kiosk folder: its configuration (enrolled with `server` when given) and its state.
    fn kiosk(name: &str, server: Option<&str>) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("satchel-status-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("state")).unwrap();
        let mut config = "state_dir = \"state\"\n".to_owned();
        if let Some(url) = server {
            let link = ServerLink {
                url: url.into(),
                kiosk_id: "k1".into(),
                token: "t1".into(),
                public_key: crate::keys::public_key_text(&key().verifying_key()),
                fingerprint: None,
            };
            config = crate::config::with_server_section(&config, &link);
        }
        std::fs::write(dir.join("kiosk.toml"), config).unwrap();
        dir
    }

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7; 32])
    }

    fn bundle(lesson: Option<&str>) -> Bundle {
        Bundle {
            lesson: lesson.map(|name| Lesson {
                name: name.into(),
                list: String::new(),
                tiles: vec![],
                ends_at: NOW + 600,
            }),
            ..example(12, NOW - 10 * 60)
        }
    }

    #[test]
    fn a_kiosk_without_a_server_is_not_enrolled() {
        let dir = kiosk("alone", None);
        assert!(Status::read_at(&dir.join("kiosk.toml"), NOW).unwrap().is_none());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_rules_the_outbox_and_the_last_error_are_read_from_the_state_folder() {
        let dir = kiosk("full", Some("http://satchel.school:8470"));
        let state = dir.join("state");
        write_durably(&sync::cache_path(&state), &serde_json::to_vec(&sign(&bundle(Some("Colours")), &key())).unwrap())
            .unwrap();
        let outbox = state.join("outbox");
        std::fs::create_dir_all(outbox.join("damaged")).unwrap();
        for item in ["report-a.json", "unblock-b.json", ".report-c.json.tmp", "damaged/feeling-d.json"] {
            std::fs::write(outbox.join(item), "{}").unwrap();
        }
        std::fs::write(
            sync::last_error_path(&state),
            format!("{} the server answered 500 Internal Server Error\n", NOW - 3 * 60),
        )
        .unwrap();

        let status = Status::read_at(&dir.join("kiosk.toml"), NOW).unwrap().expect("enrolled");
        assert_eq!((status.kiosk_id.as_str(), status.server.as_str()), ("k1", "http://satchel.school:8470"));
        let rules = Rules {
            version: 12,
            room: "Class 1".into(),
            profile: "KS1".into(),
            lesson: Some("Colours".into()),
            minutes_old: 10,
        };
        assert_eq!(status.rules, Some(rules));
        assert_eq!((status.waiting, status.damaged), (2, 1), "a half-written item is not counted");
        assert_eq!(
            status.last_error,
            Some(LastError { minutes_ago: 3, what: "the server answered 500 Internal Server Error".into() })
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_new_kiosk_has_no_rules_nothing_waiting_and_no_error() {
        let dir = kiosk("new", Some("http://satchel.school:8470"));
        let status = Status::read_at(&dir.join("kiosk.toml"), NOW).unwrap().expect("enrolled");
        assert_eq!(status.rules, None);
        assert_eq!((status.waiting, status.damaged), (0, 0));
        assert_eq!(status.last_error, None);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn rules_signed_with_another_key_are_not_shown_as_in_force() {
        let dir = kiosk("forged", Some("http://satchel.school:8470"));
        let state = dir.join("state");
        let forged = sign(&bundle(None), &SigningKey::from_bytes(&[8; 32]));
        write_durably(&sync::cache_path(&state), &serde_json::to_vec(&forged).unwrap()).unwrap();
        let status = Status::read_at(&dir.join("kiosk.toml"), NOW).unwrap().expect("enrolled");
        assert_eq!(status.rules, None);
        assert!(!sync::cache_path(&state).exists(), "set aside, as the kiosk would");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_broken_configuration_is_named_with_its_line() {
        let dir = kiosk("broken", None);
        std::fs::write(dir.join("kiosk.toml"), "state_dir = \"state\"\nidle_timeout_seconds = \"ten\"\n").unwrap();
        let error = Status::read_at(&dir.join("kiosk.toml"), NOW).err().expect("refused");
        assert!(error.to_string().starts_with(&format!("{}:2: ", dir.join("kiosk.toml").display())), "{error}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_server_that_cannot_be_reached_is_told_with_the_reason() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = kiosk("away", Some(&format!("http://127.0.0.1:{port}")));
        let status = Status::read_at(&dir.join("kiosk.toml"), NOW).unwrap().expect("enrolled");
        assert!(matches!(status.probe().unwrap(), Reach::Unreachable(why) if why.contains("Connection refused")));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
