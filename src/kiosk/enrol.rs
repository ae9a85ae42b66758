//! Enrolment (`satchel enrol`, and the enrol step of `satchel setup-kiosk`): a kiosk trades a
//! one-time code for its **link** with the school server: its id and token, and the key the
//! server signs its rules with. The link, with the server's address and the pinned certificate
//! fingerprint, becomes the configuration's `[server]` section; the rest of the file stays.

use std::fmt;
use std::path::{Path, PathBuf};

use reqwest::StatusCode;
use serde_json::Value;

use super::sync;
use crate::config::{with_server_section, ServerLink};
use crate::durable::write_durably;
use crate::protocol::{EnrolRequest, Enrolment, ErrorBody, ENROL_PATH};

/// What the technician asked for.
#[derive(Clone, Debug)]
pub struct Request {
    /// The school server, e.g. `https://satchel.school.local:8470`.
    pub server: String,
    /// The one-time code from the console or `satchel-server enrol-code`.
    pub code: String,
    /// This machine's name in the console; the host name when not given.
    pub name: Option<String>,
    /// The SHA-256 fingerprint of the server's certificate (https servers).
    pub fingerprint: Option<String>,
    /// The configuration the link is written into.
    pub config: PathBuf,
}

/// A machine enrolled: its name, its room, and the configuration that now holds its link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enrolled {
    pub name: String,
    pub room: String,
    pub config: PathBuf,
}

impl fmt::Display for Enrolled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Enrolled `{}` in room `{}`; written to {}", self.name, self.room, self.config.display())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No client for that server: an https address without a fingerprint, or a fingerprint
    /// that is not one.
    #[error("{0}")]
    Client(String),
    #[error("cannot reach the school server at {server}: {why}")]
    Unreachable { server: String, why: String },
    /// The server's own words (an unknown, used or expired code; a bad name).
    #[error("the server refused: {0}")]
    Refused(String),
    /// The answer is not a whole link (serde's words: which field is missing).
    #[error("the server's answer is not a whole enrolment: {0}")]
    Incomplete(String),
    #[error("cannot write {}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
    /// No runtime for the request (no threads or file descriptors left).
    #[error(transparent)]
    Runtime(#[from] std::io::Error),
}

/// Enrols this machine and writes its link into the configuration. Nothing is written unless
/// the server gave a whole link.
pub fn enrol(request: &Request) -> Result<Enrolled, Error> {
    let name = request.name.clone().unwrap_or_else(host_name);
    let server = request.server.trim_end_matches('/').to_owned();
    let client = sync::http_client(&server, request.fingerprint.as_deref()).map_err(Error::Client)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let answer = runtime.block_on(async {
        let response = client
            .post(format!("{server}{ENROL_PATH}"))
            .json(&EnrolRequest { code: request.code.clone(), name: name.clone() })
            .send()
            .await
            .map_err(|error| Error::Unreachable { server: server.clone(), why: error_chain(&error) })?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or_default();
        read_answer(status, body)
    })?;
    let link = ServerLink {
        url: server,
        kiosk_id: answer.kiosk_id,
        token: answer.token,
        public_key: answer.public_key,
        fingerprint: request.fingerprint.clone(),
    };
    write_link(&request.config, &link)?;
    Ok(Enrolled { name, room: answer.room, config: request.config.clone() })
}

/// The name the console shows for a machine not given one.
fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname").map(|name| name.trim().to_owned()).unwrap_or_else(|_| "kiosk".into())
}

fn read_answer(status: StatusCode, body: Value) -> Result<Enrolment, Error> {
    if !status.is_success() {
        let words =
            serde_json::from_value::<ErrorBody>(body).map_or_else(|_| status.as_str().to_owned(), |body| body.error);
        return Err(Error::Refused(words));
    }
    serde_json::from_value(body).map_err(|error| Error::Incomplete(error.to_string()))
}

/// Writes `link` as the `[server]` section of the configuration at `path`, keeping the rest.
fn write_link(path: &Path, link: &ServerLink) -> Result<(), Error> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let failed = |source| Error::Write { path: path.to_owned(), source };
    let existing = std::fs::read_to_string(path).unwrap_or_default();
    // The package makes the file root:satchel 0640 so the kiosk's own user can read it; the
    // new file keeps that group and mode (a new file is the owner's alone).
    let kept = std::fs::metadata(path).ok().map(|m| (m.gid(), m.mode() & 0o640));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(failed)?;
    }
    write_durably(path, with_server_section(&existing, link).as_bytes()).map_err(failed)?;
    if let Some((gid, mode)) = kept.filter(|(_, mode)| mode & 0o040 != 0) {
        std::os::unix::fs::chown(path, None, Some(gid)).map_err(failed)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(failed)?;
    }
    Ok(())
}

/// An error and its causes, in one line (reqwest's own message hides the TLS reason).
pub(super) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use serde_json::json;

    use super::*;
    use crate::config::KioskConfig;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("satchel-enrol-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn link(url: &str) -> ServerLink {
        let public_key = crate::keys::public_key_text(&ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key());
        ServerLink { url: url.into(), kiosk_id: "k1".into(), token: "t1".into(), public_key, fingerprint: None }
    }

    /// A loopback port nothing listens on.
    fn closed_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
    }

    fn request(server: String, config: PathBuf) -> Request {
        Request { server, code: "ABCD2345EFGH".into(), name: Some("PC-01".into()), fingerprint: None, config }
    }

    #[test]
    fn a_refusal_is_told_in_the_servers_own_words_or_by_its_status() {
        let used = json!({ "error": "this enrolment code is unknown, already used or expired: ask for a new one" });
        let refused = read_answer(StatusCode::FORBIDDEN, used).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "the server refused: this enrolment code is unknown, already used or expired: ask for a new one"
        );
        assert!(
            matches!(read_answer(StatusCode::BAD_GATEWAY, Value::Null), Err(Error::Refused(status)) if status == "502")
        );
    }

    #[test]
    fn an_answer_missing_part_of_the_link_is_refused() {
        let mut answer = json!({ "kiosk_id": "k1", "token": "t1", "public_key": "key", "room": "Class 1" });
        let read = read_answer(StatusCode::OK, answer.clone()).unwrap();
        assert_eq!(
            read,
            Enrolment { kiosk_id: "k1".into(), token: "t1".into(), public_key: "key".into(), room: "Class 1".into() }
        );
        answer.as_object_mut().unwrap().remove("token");
        assert!(matches!(read_answer(StatusCode::OK, answer), Err(Error::Incomplete(why)) if why.contains("`token`")));
    }

    #[test]
    fn the_link_replaces_the_server_section_and_keeps_the_rest_the_group_and_the_mode() {
        let dir = scratch("keep");
        let path = dir.join("kiosk.toml");
        let before = "locale = \"cy\"\n\n[server]\nurl = \"http://old.school\"\nkiosk_id = \"k0\"\ntoken = \"t0\"\npublic_key = \"x\"\n\n[hosts]\n\"intranet.school\" = \"10.0.0.5\"\n";
        std::fs::write(&path, before).unwrap();
        // Group-readable as the package ships it (0640), with a slip to world-readable.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_link(&path, &link("http://satchel.school:8470")).unwrap();
        let config = KioskConfig::load(&path).unwrap();
        assert_eq!(config.locale, "cy");
        assert!(config.hosts.contains_key("intranet.school"), "other sections kept");
        let server = config.server.unwrap();
        assert_eq!((server.url.as_str(), server.kiosk_id.as_str()), ("http://satchel.school:8470", "k1"));
        assert_eq!(std::fs::read_to_string(&path).unwrap().matches("[server]").count(), 1);
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640,
            "the token is never readable by everyone"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_new_configuration_is_its_owners_alone() {
        let dir = scratch("new");
        let path = dir.join("etc").join("kiosk.toml");
        write_link(&path, &link("http://satchel.school:8470")).unwrap();
        assert!(KioskConfig::load(&path).unwrap().server.is_some());
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_server_that_cannot_be_reached_changes_nothing() {
        let dir = scratch("away");
        let path = dir.join("kiosk.toml");
        std::fs::write(&path, "locale = \"cy\"\n").unwrap();
        let away = format!("http://127.0.0.1:{}/", closed_port());
        let error = enrol(&request(away, path.clone())).unwrap_err();
        assert!(
            matches!(&error, Error::Unreachable { server, why } if !server.ends_with('/') && why.contains("Connection refused")),
            "{error}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "locale = \"cy\"\n");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_https_server_needs_its_fingerprint_before_anything_is_sent() {
        let dir = scratch("https");
        let path = dir.join("kiosk.toml");
        let error = enrol(&request(format!("https://127.0.0.1:{}", closed_port()), path.clone())).unwrap_err();
        assert!(matches!(&error, Error::Client(why) if why.contains("fingerprint")), "{error}");
        assert!(!path.exists());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
