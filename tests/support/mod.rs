//! What the end-to-end tests run the real kiosk with: an X server with a window manager,
//! test sites on loopback that log every request, WebKitWebDriver, and xdotool.
#![allow(dead_code)] // each test binary uses part of it

#[cfg(feature = "server")]
pub mod postgres;
#[cfg(feature = "server")]
pub mod server;
pub mod smtp;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The kiosk binary under test.
pub const SATCHEL: &str = env!("CARGO_BIN_EXE_satchel");

/// One kiosk at a time in a test binary: they share two cores, and each wants the screen.
pub fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Waits until `condition` holds, polling; panics with `what` after `limit`.
pub fn wait_for(what: &str, limit: Duration, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(start.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A scratch directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("satchel-{name}-{}-{}", std::process::id(), fastrand()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    /// A placeholder owning nothing (for moving a directory out of its owner).
    pub fn empty() -> TempDir {
        TempDir(PathBuf::new())
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if self.0.as_os_str().is_empty() {
            return;
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn fastrand() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(Instant::now())
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// A private X display (Xvfb 1280×800) with openbox, so fullscreen is real.
pub struct Display {
    pub name: String,
    xvfb: Child,
    window_manager: Option<Child>,
}

impl Display {
    pub fn start() -> Display {
        let mut display = Display::without_window_manager();
        let window_manager = Command::new("openbox")
            .env("DISPLAY", &display.name)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openbox (apt-get install openbox) runs");
        display.window_manager = Some(window_manager);
        std::thread::sleep(Duration::from_millis(300));
        display
    }

    /// A bare X server, for a program that is its own window manager (a nested compositor).
    pub fn without_window_manager() -> Display {
        // Xvfb picks a free display number and writes it to the descriptor given.
        let mut xvfb = Command::new("Xvfb")
            .args(["-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb (apt-get install xvfb) runs");
        let mut number = String::new();
        BufReader::new(xvfb.stdout.take().unwrap()).read_line(&mut number).unwrap();
        let name = format!(":{}", number.trim());
        Display { name, xvfb, window_manager: None }
    }

    /// Clicks at a point of the screen (the kiosk is fullscreen, so screen = window).
    pub fn click(&self, x: u32, y: u32) {
        self.xdotool(&["mousemove", &x.to_string(), &y.to_string(), "click", "1"]);
    }

    pub fn xdotool(&self, args: &[&str]) {
        let status = Command::new("xdotool").env("DISPLAY", &self.name).args(args).status().expect("xdotool runs");
        assert!(status.success(), "xdotool {args:?}");
    }

    /// A screenshot of the whole screen, as PNG bytes.
    pub fn screenshot(&self, path: &Path) {
        let status = Command::new("import")
            .env("DISPLAY", &self.name)
            .args(["-window", "root"])
            .arg(path)
            .status()
            .expect("import (imagemagick) runs");
        assert!(status.success());
    }

    /// The colour of one pixel of the screen, as `#rrggbb`.
    pub fn pixel(&self, x: u32, y: u32) -> String {
        let output = Command::new("import")
            .env("DISPLAY", &self.name)
            .args(["-window", "root", "-crop", &format!("1x1+{x}+{y}"), "-depth", "8", "txt:-"])
            .output()
            .expect("import (imagemagick) runs");
        let text = String::from_utf8_lossy(&output.stdout);
        text.split_whitespace().find(|word| word.starts_with('#') && word.len() == 7).unwrap_or("").to_ascii_lowercase()
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        if let Some(window_manager) = &mut self.window_manager {
            kill(window_manager);
        }
        kill(&mut self.xvfb);
    }
}

/// The colour of a pixel of a PNG file, as `#rrggbb`.
pub fn png_pixel(path: &Path, x: u32, y: u32) -> String {
    let output = Command::new("convert")
        .arg(path)
        .args(["-crop", &format!("1x1+{x}+{y}"), "-depth", "8", "txt:-"])
        .output()
        .expect("convert (imagemagick) runs");
    let text = String::from_utf8_lossy(&output.stdout).to_ascii_lowercase();
    text.split_whitespace().find(|w| w.starts_with('#') && w.len() == 7).unwrap_or("").to_owned()
}

/// One request a test site received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub target: String,
    pub headers: HashMap<String, String>,
}

impl Seen {
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
}

/// A response a test site sends: status, extra headers, body.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn html(body: &str) -> Reply {
        Reply {
            status: 200,
            headers: vec![("Content-Type".into(), "text/html; charset=utf-8".into())],
            body: body.as_bytes().to_vec(),
        }
    }
    pub fn with(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }
    pub fn redirect(location: &str) -> Reply {
        Reply { status: 302, headers: vec![("Location".into(), location.into())], body: Vec::new() }
    }
    pub fn typed(content_type: &str, body: &[u8]) -> Reply {
        Reply { status: 200, headers: vec![("Content-Type".into(), content_type.into())], body: body.to_vec() }
    }
}

type Routes = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

/// A plain-http test site on a loopback port that logs every request it gets.
pub struct Site {
    pub port: u16,
    log: Arc<Mutex<Vec<Seen>>>,
}

impl Site {
    pub fn start(routes: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Site {
        Site::serving(routes, |stream| stream)
    }

    /// The same, over TLS with a self-signed certificate for `names` (a browser takes it only
    /// when told to accept insecure certificates, as [`WebDriver::start_accepting_any_certificate`] does).
    #[cfg(feature = "server")]
    pub fn start_tls(names: &[&str], routes: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Site {
        let made =
            rcgen::generate_simple_self_signed(names.iter().map(|name| name.to_string()).collect::<Vec<_>>()).unwrap();
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(made.signing_key.serialize_der().into());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![made.cert.der().clone()], key)
            .unwrap();
        let config = Arc::new(config);
        Site::serving(routes, move |stream| {
            rustls::StreamOwned::new(rustls::ServerConnection::new(Arc::clone(&config)).unwrap(), stream)
        })
    }

    /// Serves each connection on a thread of its own, through `wrap` (plain, or TLS).
    fn serving<S: Read + Write + 'static>(
        routes: impl Fn(&Seen) -> Reply + Send + Sync + 'static,
        wrap: impl Fn(TcpStream) -> S + Send + Sync + 'static,
    ) -> Site {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let routes: Routes = Arc::new(routes);
        let wrap = Arc::new(wrap);
        let site_log = Arc::clone(&log);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (log, routes, wrap) = (Arc::clone(&site_log), Arc::clone(&routes), Arc::clone(&wrap));
                std::thread::spawn(move || serve(wrap(stream), &log, &*routes));
            }
        });
        Site { port, log }
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }

    pub fn paths(&self) -> Vec<String> {
        self.requests().iter().map(|seen| seen.path().to_owned()).collect()
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

fn serve(stream: impl Read + Write, log: &Mutex<Vec<Seen>>, routes: &(dyn Fn(&Seen) -> Reply + Send + Sync)) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (Some(method), Some(target)) = (parts.next(), parts.next()) else { return };
        let mut headers = HashMap::new();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
            }
        }
        let length: usize = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let seen = Seen { method: method.to_owned(), target: target.to_owned(), headers };
        log.lock().unwrap().push(seen.clone());
        if seen.headers.contains_key("upgrade") {
            // WebSocket handshakes are logged, not answered: arriving is what the tests check.
            return;
        }
        let reply = routes(&seen);
        let mut head = format!("HTTP/1.1 {} X\r\nContent-Length: {}\r\n", reply.status, reply.body.len());
        for (name, value) in &reply.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let close = seen.headers.get("connection").is_some_and(|c| c.eq_ignore_ascii_case("close"));
        let writer = reader.get_mut();
        if writer
            .write_all(head.as_bytes())
            .and_then(|_| writer.write_all(&reply.body))
            .and_then(|_| writer.flush())
            .is_err()
            || close
        {
            return;
        }
    }
}

/// A WebKitWebDriver session driving the kiosk's content view.
pub struct WebDriver {
    driver: Child,
    base: String,
    session: String,
    client: reqwest::blocking::Client,
}

impl WebDriver {
    /// Starts WebKitWebDriver and, through it, `satchel --automation --config <config>`.
    pub fn start(display: &Display, config: &Path) -> WebDriver {
        WebDriver::kiosk(display, config, false)
    }

    /// The same, with WebKit taking any certificate (WebDriver's `acceptInsecureCerts`), for
    /// test sites on https with certificates of their own.
    pub fn start_accepting_any_certificate(display: &Display, config: &Path) -> WebDriver {
        WebDriver::kiosk(display, config, true)
    }

    fn kiosk(display: &Display, config: &Path, any_certificate: bool) -> WebDriver {
        let mut driver = Command::new("WebKitWebDriver");
        driver.env("DISPLAY", &display.name).env("SATCHEL_LOG", "satchel=debug,warn");
        let capabilities = json!({ "acceptInsecureCerts": any_certificate, "webkitgtk:browserOptions": {
            "binary": SATCHEL,
            "args": ["--automation", "--config", config.to_str().unwrap()],
        }});
        WebDriver::session(driver, "WebKitWebDriver (apt-get install webkit2gtk-driver)", capabilities)
    }

    /// Starts chromedriver and a headless Debian Chromium with a fresh profile.
    pub fn chromium(profile: &Path) -> WebDriver {
        let capabilities = json!({ "browserName": "chrome", "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--window-size=1280,900", format!("--user-data-dir={}", profile.display())],
        }});
        WebDriver::session(Command::new("chromedriver"), "chromedriver (apt-get install chromium-driver)", capabilities)
    }

    fn session(mut driver: Command, what: &str, capabilities: Value) -> WebDriver {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = driver
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{what} runs: {e}"));
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
        wait_for(&format!("{what} to listen"), Duration::from_secs(20), || {
            client.get(format!("{base}/status")).send().is_ok()
        });
        let request = json!({ "capabilities": { "alwaysMatch": capabilities } });
        let response: Value = client.post(format!("{base}/session")).json(&request).send().unwrap().json().unwrap();
        let session =
            response["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {response}")).to_owned();
        WebDriver { driver, base, session, client }
    }

    /// Types into the element matching a CSS selector.
    pub fn type_into(&self, selector: &str, text: &str) {
        let id = self.element(selector);
        self.call(reqwest::Method::POST, &format!("/element/{id}/value"), Some(json!({ "text": text })));
    }

    fn element(&self, selector: &str) -> String {
        let element =
            self.call(reqwest::Method::POST, "/element", Some(json!({ "using": "css selector", "value": selector })));
        element
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {selector}: {element}"))
            .to_owned()
    }

    /// A PNG of the page. Chromium's driver only: WebKitWebDriver's never answers when WebKit
    /// draws without compositing, as the kiosk does on a machine without a GPU (Xvfb's among
    /// them); [`Display::screenshot`] takes the kiosk's screen.
    pub fn screenshot(&self) -> Vec<u8> {
        use base64::Engine as _;
        let data = self.call(reqwest::Method::GET, "/screenshot", None);
        base64::engine::general_purpose::STANDARD.decode(data.as_str().unwrap_or("")).unwrap()
    }

    fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let request = self.client.request(method, url);
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        let response: Value = request.send().unwrap().json().unwrap();
        response["value"].clone()
    }

    pub fn navigate(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })));
    }

    /// Navigates and waits until the page is showing.
    pub fn open(&self, url: &str) {
        self.navigate(url);
        self.wait_for_url(url);
    }

    pub fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None).as_str().unwrap_or("").to_owned()
    }

    /// Clicks the element matching a CSS selector, as a pupil would.
    pub fn click(&self, selector: &str) {
        let id = self.element(selector);
        self.call(reqwest::Method::POST, &format!("/element/{id}/click"), Some(json!({})));
    }

    pub fn run(&self, script: &str) -> Value {
        self.call(reqwest::Method::POST, "/execute/sync", Some(json!({ "script": script, "args": [] })))
    }

    /// Runs a script that calls its last argument (the WebDriver callback) when done.
    pub fn run_async(&self, script: &str) -> Value {
        self.call(reqwest::Method::POST, "/execute/async", Some(json!({ "script": script, "args": [] })))
    }

    pub fn window_count(&self) -> usize {
        self.call(reqwest::Method::GET, "/window/handles", None).as_array().map_or(0, Vec::len)
    }

    /// Waits until the content view shows `url` (compared as a prefix).
    pub fn wait_for_url(&self, url: &str) {
        wait_for(&format!("the kiosk to show {url}"), Duration::from_secs(20), || self.url().starts_with(url));
    }
}

impl Drop for WebDriver {
    fn drop(&mut self) {
        let _ = self.client.delete(format!("{}/session/{}", self.base, self.session)).send();
        kill(&mut self.driver);
    }
}

/// The kiosk started directly, as on a pupil's machine (no automation).
pub struct KioskProcess {
    child: Child,
}

impl KioskProcess {
    /// Starts the kiosk and returns once it logs that it is ready (Home loaded), its log
    /// passed on to the test's own.
    pub fn start(display: &Display, config: &Path) -> KioskProcess {
        let mut child = Command::new(SATCHEL)
            .args(["--config", config.to_str().unwrap()])
            .env("DISPLAY", &display.name)
            .env("SATCHEL_LOG", "satchel=debug,warn")
            .stderr(Stdio::piped())
            .spawn()
            .expect("satchel runs");
        let (ready, ready_seen) = std::sync::mpsc::channel();
        let log = BufReader::new(child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for line in log.lines().map_while(Result::ok) {
                eprintln!("{line}");
                if line.contains("kiosk ready") {
                    let _ = ready.send(());
                }
            }
        });
        let mut kiosk = KioskProcess { child };
        if ready_seen.recv_timeout(Duration::from_secs(60)).is_err() {
            panic!("the kiosk did not log that it was ready within a minute (exited: {:?})", kiosk.exited());
        }
        kiosk
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().unwrap()
    }
}

impl Drop for KioskProcess {
    fn drop(&mut self) {
        kill(&mut self.child);
    }
}

/// A TCP relay on loopback standing in for the network between a kiosk and its server:
/// `cut()` drops every connection and refuses new ones, `mend()` lets them through again.
pub struct Relay {
    pub port: u16,
    up: Arc<std::sync::atomic::AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Relay {
    pub fn start(target_port: u16) -> Relay {
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (relay_up, relay_open) = (Arc::clone(&up), Arc::clone(&open));
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if !relay_up.load(Ordering::SeqCst) {
                    continue; // dropped: the network is cut
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", target_port)) else { continue };
                relay_open.lock().unwrap().extend([client.try_clone().unwrap(), server.try_clone().unwrap()]);
                for (mut from, mut to) in [(client.try_clone().unwrap(), server.try_clone().unwrap()), (server, client)]
                {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Relay { port, up, open }
    }

    pub fn cut(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        for stream in self.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }

    pub fn mend(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}
