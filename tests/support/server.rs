//! A real `satchel-server` process on loopback with its own data directory, and kiosks
//! enrolled to it.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::blocking::Client;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{wait_for, TempDir};

pub const SERVER: &str = env!("CARGO_BIN_EXE_satchel-server");

pub struct Running {
    child: Child,
    pub base: String,
    pub data: TempDir,
    pub client: Client,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn admin(data: &std::path::Path, args: &[&str]) -> String {
    let output = Command::new(SERVER).arg("--data").arg(data).args(args).output().unwrap();
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

pub fn start() -> Running {
    let data = TempDir::new("server");
    admin(data.path(), &["add-room", "Class 1"]);
    start_in(data, &[])
}

/// Starts the server on an existing data directory, with extra options.
pub fn start_in(data: TempDir, options: &[&str]) -> Running {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(SERVER)
        .arg("--data")
        .arg(data.path())
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(options)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
    wait_for("the server to listen", Duration::from_secs(20), || client.get(format!("{base}/api/v1/rules")).send().is_ok());
    Running { child, base, data, client }
}

pub struct Enrolled {
    pub id: String,
    pub token: String,
    pub public_key: String,
}

impl Running {
    /// Stops the server (as SIGKILL would) and hands back its data directory.
    pub fn stop(mut self) -> TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let data = std::mem::replace(&mut self.data, TempDir::empty());
        data
    }

    pub fn code(&self, minutes: u64) -> String {
        admin(self.data.path(), &["enrol-code", "--room", "Class 1", "--valid-minutes", &minutes.to_string()]).trim().to_owned()
    }

    pub fn enrol(&self, code: &str) -> (StatusCode, Value) {
        let response = self.client.post(format!("{}/api/v1/enrol", self.base)).json(&json!({ "code": code, "name": "PC-01" })).send().unwrap();
        (response.status(), response.json().unwrap_or(Value::Null))
    }

    pub fn enrolled(&self) -> Enrolled {
        let (status, body) = self.enrol(&self.code(60));
        assert_eq!(status, StatusCode::OK, "{body}");
        Enrolled {
            id: body["kiosk_id"].as_str().unwrap().into(),
            token: body["token"].as_str().unwrap().into(),
            public_key: body["public_key"].as_str().unwrap().into(),
        }
    }

    pub fn as_kiosk(&self, kiosk: &Enrolled, method: reqwest::Method, path: &str) -> reqwest::blocking::RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base)).bearer_auth(format!("{}.{}", kiosk.id, kiosk.token))
    }

    /// A long poll for a kiosk's rules from another thread: the status and body.
    pub fn kiosk_request(client: &Client, base: &str, id: &str, token: &str, etag: &str) -> (StatusCode, String) {
        let response = client.get(format!("{base}/api/v1/rules?wait=10")).bearer_auth(format!("{id}.{token}")).header("If-None-Match", etag).send().unwrap();
        (response.status(), response.text().unwrap())
    }

    /// Reads the server's database beside it (SQLite in WAL mode allows a second reader).
    pub fn count(&self, sql: &str) -> i64 {
        let db = rusqlite::Connection::open(self.data.path().join("satchel.db")).unwrap();
        db.query_row(sql, [], |row| row.get(0)).unwrap()
    }
}
