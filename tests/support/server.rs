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
    pub port: u16,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The options that give a server its database: none for SQLite in the data directory, or
/// with `SATCHEL_TEST_DATABASE=postgres` a database of its own in the test binary's
/// PostgreSQL, named in the data directory so that every command and restart on that
/// directory uses it.
pub fn database_options(data: &std::path::Path) -> Vec<String> {
    let named = data.join("test-database");
    if !named.exists() && !super::postgres::wanted() {
        return Vec::new();
    }
    let url = std::fs::read_to_string(&named).unwrap_or_else(|_| on_postgres(data));
    vec!["--database".to_owned(), url]
}

/// Gives the servers on this data directory a new PostgreSQL database, whatever this run's
/// engine; returns its URL.
pub fn on_postgres(data: &std::path::Path) -> String {
    let url = super::postgres::cluster().new_database();
    std::fs::write(data.join("test-database"), &url).unwrap();
    url
}

/// Runs `sql` on the server's database (statements whose result is not wanted).
pub fn sql(data: &std::path::Path, sql: &str) {
    match database_options(data).get(1) {
        Some(url) => {
            super::postgres::cluster().psql(url, sql);
        }
        None => rusqlite::Connection::open(data.join("satchel.db")).unwrap().execute_batch(sql).unwrap(),
    }
}

/// The one integer `sql` returns from the server's database (SQLite in WAL mode allows a
/// second reader beside the server).
pub fn query_integer(data: &std::path::Path, sql: &str) -> i64 {
    match database_options(data).get(1) {
        // psql prints a boolean as t or f.
        Some(url) => match super::postgres::cluster().psql(url, sql).trim() {
            "t" => 1,
            "f" => 0,
            number => number.parse().unwrap_or_else(|_| panic!("{sql} gave {number}")),
        },
        None => {
            rusqlite::Connection::open(data.join("satchel.db")).unwrap().query_row(sql, [], |row| row.get(0)).unwrap()
        }
    }
}

/// The screenshots the server keeps, by name with their size: files in its folder, or rows
/// of its PostgreSQL database.
pub fn stored_screenshots(data: &std::path::Path) -> Vec<(String, u64)> {
    let mut stored: Vec<(String, u64)> = match database_options(data).get(1) {
        Some(url) => super::postgres::cluster()
            .psql(url, "SELECT name || ' ' || octet_length(png) FROM screenshots")
            .lines()
            .filter_map(|line| line.split_once(' '))
            .map(|(name, size)| (name.to_owned(), size.parse().unwrap()))
            .collect(),
        None => std::fs::read_dir(data.join("screenshots"))
            .unwrap()
            .flatten()
            .map(|entry| (entry.file_name().into_string().unwrap(), entry.metadata().unwrap().len()))
            .collect(),
    };
    stored.sort();
    stored
}

/// The screenshot kept under `name`, if there is one.
pub fn screenshot(data: &std::path::Path, name: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    match database_options(data).get(1) {
        Some(url) => {
            let sql =
                format!("SELECT translate(encode(png, 'base64'), E'\\n', '') FROM screenshots WHERE name = '{name}'");
            let text = super::postgres::cluster().psql(url, &sql);
            (!text.trim().is_empty()).then(|| base64::engine::general_purpose::STANDARD.decode(text.trim()).unwrap())
        }
        None => std::fs::read(data.join("screenshots").join(name)).ok(),
    }
}

/// Just enough of a PNG for the server's check (signature and an IHDR chunk), `size` bytes
/// long.
pub fn png(size: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x05\0\0\0\x02\xd0\x08\x06\0\0\0".to_vec();
    bytes.resize(size.max(bytes.len() + 8), 0);
    bytes
}

/// A first replica on a new PostgreSQL database, with the room the tests use.
pub fn first_replica() -> Running {
    let data = TempDir::new("replica-a");
    on_postgres(data.path());
    admin(data.path(), &["add-room", "Class 1"]);
    start_in(data, &[])
}

/// Another replica of `first`: its own data directory, given the same signing key and
/// database.
pub fn replica_of(first: &Running) -> Running {
    let data = TempDir::new("replica-b");
    for file in ["signing.key", "test-database"] {
        std::fs::copy(first.data.path().join(file), data.path().join(file)).unwrap();
    }
    start_in(data, &[])
}

/// Holds the kiosk's long poll on `second`, starts a lesson through `first`, and checks the
/// poll is answered with it because it was told (not when its own wait of 45 s ran out);
/// how long after the start was sent.
pub fn lesson_reaches_the_other_replica(first: &Running, second: &Running, kiosk: &Enrolled) -> Duration {
    let current = second.as_kiosk(kiosk, reqwest::Method::GET, "/api/v1/rules").send().unwrap();
    assert_eq!(current.status(), StatusCode::OK, "a kiosk enrolled through one replica is known to the other");
    let etag = current.headers()["etag"].to_str().unwrap().to_owned();
    let waiting = {
        let request =
            second.as_kiosk(kiosk, reqwest::Method::GET, "/api/v1/rules?wait=45").header("If-None-Match", &etag);
        std::thread::spawn(move || {
            let response = request.send().unwrap();
            (std::time::Instant::now(), response.status(), response.text().unwrap())
        })
    };
    std::thread::sleep(Duration::from_millis(500)); // the long poll is held on the second replica
    let teacher = admin_session(first, &format!("it.tech.{}", super::fastrand() % 1_000_000));
    let asked = std::time::Instant::now();
    let lessons = first.count("SELECT count(*) FROM lessons");
    teacher.start_lesson(first, &format!("Phonics {lessons}"), "www.phonicsplay.co.uk", 30);
    let (answered, status, body) = waiting.join().unwrap();
    assert_eq!(status, StatusCode::OK, "the held poll is answered with the new rules, not left to run out");
    let signed: satchel::bundle::Signed = serde_json::from_str(&body).unwrap();
    let bundle =
        satchel::bundle::verify(&signed, &satchel::keys::parse_public_key(&kiosk.public_key).unwrap()).unwrap();
    assert_eq!(bundle.lesson.map(|lesson| lesson.name), Some(format!("Phonics {lessons}")));
    let took = answered.duration_since(asked);
    // Without the signal the poll would be answered when its own wait of 45 s ran out (with
    // the new rules, read then): far later than this.
    assert!(took < Duration::from_secs(20), "answered when told, not when the wait ran out");
    took
}

pub fn admin(data: &std::path::Path, args: &[&str]) -> String {
    let output = Command::new(SERVER).arg("--data").arg(data).args(database_options(data)).args(args).output().unwrap();
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
    start_at(data, port, options)
}

/// Starts the server on an existing data directory and a given port (a restart).
pub fn start_at(data: TempDir, port: u16, options: &[&str]) -> Running {
    launch(data, port, options, Command::new(SERVER))
}

/// Starts the server with at most `open_files` descriptors (soft and hard limit alike, so that
/// it cannot raise them).
pub fn start_with_open_files(data: TempDir, options: &[&str], open_files: u64) -> Running {
    use std::os::unix::process::CommandExt;
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut command = Command::new(SERVER);
    let limit = libc::rlimit { rlim_cur: open_files, rlim_max: open_files };
    // SAFETY: setrlimit is async-signal-safe and touches nothing of the parent's.
    unsafe {
        command.pre_exec(move || {
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    launch(data, port, options, command)
}

fn launch(data: TempDir, port: u16, options: &[&str], mut command: Command) -> Running {
    let child = command
        .arg("--data")
        .arg(data.path())
        .args(database_options(data.path()))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(options)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let scheme = if options.contains(&"--tls") { "https" } else { "http" };
    let base = format!("{scheme}://127.0.0.1:{port}");
    // The self-signed certificate is not checked here; the kiosk's pinning has tests of its own.
    let client = Client::builder()
        .timeout(Duration::from_secs(60))
        .danger_accept_invalid_certs(scheme == "https")
        .build()
        .unwrap();
    wait_for("the server to listen", Duration::from_secs(20), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    Running { child, base, data, client, port }
}

pub struct Enrolled {
    pub id: String,
    pub token: String,
    pub public_key: String,
}

impl Running {
    /// Stops the server (as SIGKILL would) and hands back its data directory.
    pub fn stop(mut self) -> TempDir {
        self.stop_keeping_data()
    }

    /// Stops the server and takes its data directory, for a restart.
    pub fn stop_keeping_data(&mut self) -> TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::mem::replace(&mut self.data, TempDir::empty())
    }

    /// Sends SIGTERM, as systemd does to stop the service.
    pub fn terminate(&self) {
        assert!(Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap().success());
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the server to exit; whether it exited cleanly.
    pub fn exited_cleanly(&mut self) -> bool {
        self.child.wait().unwrap().success()
    }

    pub fn code(&self, minutes: u64) -> String {
        admin(self.data.path(), &["enrol-code", "--room", "Class 1", "--valid-minutes", &minutes.to_string()])
            .trim()
            .to_owned()
    }

    pub fn enrol(&self, code: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .post(format!("{}/api/v1/enrol", self.base))
            .json(&json!({ "code": code, "name": "PC-01" }))
            .send()
            .unwrap();
        (response.status(), response.json().unwrap_or(Value::Null))
    }

    pub fn enrolled(&self) -> Enrolled {
        self.enrolled_in("Class 1")
    }

    /// A kiosk enrolled into a room with a code from the command line.
    pub fn enrolled_in(&self, room: &str) -> Enrolled {
        let code = admin(self.data.path(), &["enrol-code", "--room", room]);
        let (status, body) = self.enrol(code.trim());
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

    /// Sends a report as the kiosk (with a screenshot), as Tell my teacher does.
    pub fn send_report(&self, kiosk: &Enrolled, id: &str, url: &str, title: &str) {
        use base64::Engine as _;
        let report = json!({ "id": id, "happened_at": 1_795_000_000u64, "url": url, "title": title,
            "screenshot": base64::engine::general_purpose::STANDARD.encode(png(80)) });
        let response = self.as_kiosk(kiosk, reqwest::Method::POST, "/api/v1/reports").json(&report).send().unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }

    /// Posts an activity batch as the kiosk (a body already encoded as `encoding` says).
    pub fn post_activity(&self, kiosk: &Enrolled, body: Vec<u8>, encoding: &str) -> (StatusCode, Value) {
        let response = self
            .as_kiosk(kiosk, reqwest::Method::POST, "/api/v1/activity")
            .header("Content-Type", "application/json")
            .header("Content-Encoding", encoding)
            .body(body)
            .send()
            .unwrap();
        (response.status(), response.json().unwrap_or(Value::Null))
    }

    /// A gzip-compressed batch of these events from one log, as kiosks send it.
    pub fn send_activity(&self, kiosk: &Enrolled, log: &str, events: &[Value]) -> (StatusCode, Value) {
        use std::io::Write as _;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(json!({ "log": log, "events": events }).to_string().as_bytes()).unwrap();
        self.post_activity(kiosk, encoder.finish().unwrap(), "gzip")
    }

    /// A long poll for a kiosk's rules from another thread: the status and body.
    pub fn kiosk_request(client: &Client, base: &str, id: &str, token: &str, etag: &str) -> (StatusCode, String) {
        let response = client
            .get(format!("{base}/api/v1/rules?wait=10"))
            .bearer_auth(format!("{id}.{token}"))
            .header("If-None-Match", etag)
            .send()
            .unwrap();
        (response.status(), response.text().unwrap())
    }

    /// Reads one integer from the server's database.
    pub fn count(&self, sql: &str) -> i64 {
        query_integer(self.data.path(), sql)
    }
}

/// A browser-like client of the console: cookies kept, redirects not followed.
pub struct Staff {
    pub client: Client,
    pub base: String,
    pub csrf: String,
}

pub fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

pub fn hidden_csrf(html: &str) -> String {
    let start = html
        .find("name=\"csrf\" value=\"")
        .map(|i| i + 19)
        .or_else(|| html.find("name=\"csrf\" content=\"").map(|i| i + 21))
        .expect("a CSRF token on the page");
    html[start..].split('"').next().unwrap().to_owned()
}

pub fn try_login(server: &Running, client: &Client, name: &str, password: &str) -> StatusCode {
    let page = client.get(format!("{}/login", server.base)).send().unwrap().text().unwrap();
    let form = [("csrf", hidden_csrf(&page)), ("name", name.to_owned()), ("password", password.to_owned())];
    client.post(format!("{}/login", server.base)).form(&form).send().unwrap().status()
}

/// Signs in; an account still on its one-time password first chooses its own,
/// [`chosen_password`] of it, as every new account must.
pub fn login(server: &Running, name: &str, password: &str) -> Staff {
    let client = browser();
    assert_eq!(try_login(server, &client, name, password), StatusCode::SEE_OTHER);
    let lessons = client.get(format!("{}/lessons", server.base)).send().unwrap();
    if lessons.headers().get("location").is_some_and(|to| to == "/password") {
        let page = client.get(format!("{}/password", server.base)).send().unwrap().text().unwrap();
        let chosen = chosen_password(password);
        let form = [
            ("csrf", hidden_csrf(&page)),
            ("current", password.to_owned()),
            ("new", chosen.clone()),
            ("repeat", chosen),
        ];
        let changed = client.post(format!("{}/password", server.base)).form(&form).send().unwrap();
        assert_eq!(changed.status(), StatusCode::SEE_OTHER, "{}", changed.text().unwrap_or_default());
    }
    let page = client.get(format!("{}/lessons", server.base)).send().unwrap().text().unwrap();
    Staff { csrf: hidden_csrf(&page), client, base: server.base.clone() }
}

/// The password the test helpers choose in place of a one-time one.
pub fn chosen_password(one_time: &str) -> String {
    format!("{one_time} chosen by its owner")
}

impl Staff {
    pub fn get(&self, path: &str) -> reqwest::blocking::Response {
        self.client.get(format!("{}{path}", self.base)).send().unwrap()
    }
    pub fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::blocking::Response {
        let mut form: Vec<(&str, &str)> = vec![("csrf", &self.csrf)];
        form.extend_from_slice(fields);
        self.client.post(format!("{}{path}", self.base)).form(&form).send().unwrap()
    }
}

/// Signs in a new admin account.
pub fn admin_session(server: &Running, name: &str) -> Staff {
    let password = admin(server.data.path(), &["add-user", name, "--role", "admin"]);
    login(server, name, password.trim())
}

impl Staff {
    /// Replaces the built-in KS1 profile's list (every room uses it).
    pub fn set_profile_list(&self, server: &Running, list: &str) {
        let profile = server.count("SELECT id FROM profiles WHERE name = 'KS1'");
        let response = self.post(&format!("/profiles/{profile}"), &[("list", list), ("search", "google")]);
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{}", response.text().unwrap_or_default());
    }

    /// Makes a lesson with these sites and starts it in Class 1; returns the lesson id.
    pub fn start_lesson(&self, server: &Running, name: &str, sites: &str, minutes: u32) -> i64 {
        assert_eq!(self.post("/lessons", &[("name", name), ("sites", sites)]).status(), StatusCode::SEE_OTHER);
        let lesson = server.count(&format!("SELECT max(id) FROM lessons WHERE name = '{name}'"));
        let room = server.count("SELECT id FROM rooms WHERE name = 'Class 1'").to_string();
        assert_eq!(
            self.post(&format!("/lessons/{lesson}/start"), &[("room", &room), ("minutes", &minutes.to_string())])
                .status(),
            StatusCode::SEE_OTHER
        );
        lesson
    }

    pub fn end_lesson(&self, server: &Running) {
        let room = server.count("SELECT id FROM rooms WHERE name = 'Class 1'");
        assert_eq!(self.post(&format!("/rooms/{room}/end"), &[]).status(), StatusCode::SEE_OTHER);
    }
}
