//! Load on a real `satchel-server` (release build, its own data directory, loopback):
//! N enrolled kiosks hold their long polls; while they wait, a teacher's console page is timed;
//! then the teacher starts a lesson and the time from that click until each kiosk has the new
//! signed bundle is measured, p50 and p99, for N = 100, 1,000 and 5,000 (more descriptors than
//! the usual limit of 1,024); with the server's memory (PSS) while it holds them; the same with
//! N = 100 and 500 headless kiosks running the real sync code; and report ingest with 100 KB
//! screenshots. Then a trust's deployment beside the single school's, in one run: 10,000
//! kiosks long-polling two replicas on one PostgreSQL database against one server on SQLite,
//! with the replicas' and PostgreSQL's memory, and report ingest on both; and the replicas
//! again with PostgreSQL across a network (a proxy that holds every byte 0.5 ms each way),
//! sharing one connection each and sharing four. Run with
//! `cargo bench --bench server_load` (or `make bench`); `-- trust` runs only the trust part.

#[allow(dead_code)] // the tests' cluster, of which the bench uses part
#[path = "../tests/support/postgres.rs"]
mod postgres;
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use support::{admin_on, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const REPORTS: usize = 1_000;
const REPORT_CONCURRENCY: usize = 16;
/// Kiosks the reports come from: 25 each, within a kiosk's 30 in any ten minutes.
const INGEST_KIOSKS: usize = 40;
/// Console pages timed while the kiosks wait, one after another.
const CONSOLE_SAMPLES: usize = 200;

/// Where the records are kept: one server on SQLite, or replicas sharing PostgreSQL, each
/// with `connections` for its requests, the database `latency` away each way.
#[derive(Clone, Copy, Debug)]
enum Deployment {
    Sqlite,
    Postgres { replicas: usize, connections: usize, latency: Duration },
}

/// The servers of one deployment, with the room the bench uses.
struct Fleet {
    servers: Vec<Server>,
    /// The options that give each server its database (none for SQLite).
    database: Vec<String>,
}

impl Fleet {
    fn start(name: &str, deployment: Deployment) -> Fleet {
        let (database, replicas) = match deployment {
            Deployment::Sqlite => (Vec::new(), 1),
            Deployment::Postgres { replicas, connections, latency } => {
                let url = postgres::cluster().new_database();
                let url = if latency.is_zero() { url } else { behind_latency(&url, latency) };
                (vec!["--database".into(), url, "--database-connections".into(), connections.to_string()], replicas)
            }
        };
        let data = |replica: usize| {
            let data = std::env::temp_dir().join(format!("satchel-load-{name}-{replica}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&data);
            std::fs::create_dir_all(&data).unwrap();
            data
        };
        let first = data(0);
        admin_on(&first, &database, &["add-room", "Lab"]);
        let mut servers = vec![Server::start_on(&first, &database, "warn", false)];
        for replica in 1..replicas {
            // Every replica signs with the one key.
            let own = data(replica);
            std::fs::copy(first.join("signing.key"), own.join("signing.key")).unwrap();
            servers.push(Server::start_on(&own, &database, "warn", false));
        }
        Fleet { servers, database }
    }

    fn admin(&self, args: &[&str]) -> String {
        admin_on(&self.servers[0].data, &self.database, args)
    }

    /// Enrols `count` kiosks, one after another over the replicas; their authorizations.
    async fn enrol_kiosks(&self, count: usize) -> Vec<Arc<String>> {
        let codes = self.admin(&["enrol-code", "--room", "Lab", "--count", &count.to_string()]);
        let mut kiosks = Vec::new();
        for (index, code) in codes.lines().enumerate() {
            kiosks.push(Arc::new(enrol(self.port(index), code.trim().to_owned(), index).await.authorization));
        }
        kiosks
    }

    /// The port of the replica that kiosk `index` uses (round robin, as a load balancer).
    fn port(&self, index: usize) -> u16 {
        self.servers[index % self.servers.len()].port
    }

    /// The servers' memory, together.
    fn servers_kib(&self) -> u64 {
        self.servers.iter().map(|server| pss_kib(server.pid())).sum()
    }

    /// PostgreSQL's memory (its postmaster and every backend), or none with SQLite.
    fn database_kib(&self) -> u64 {
        if self.database.is_empty() {
            return 0;
        }
        postgres::cluster().server_pids().into_iter().map(pss_kib).sum()
    }
}

/// The database's URL by way of a proxy that holds every byte `latency` before passing it on,
/// each way, as a network between the replicas and their database would: a round trip costs
/// twice `latency`, however many are on the way at once. Plain threads, whose sleeps keep to
/// the microsecond (tokio's timer ticks by the millisecond), and which the bench's kiosks do
/// not slow.
fn behind_latency(url: &str, latency: Duration) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let upstream = url.split('@').nth(1).and_then(|rest| rest.split('/').next()).unwrap().to_owned();
    let proxied = url.replacen(&upstream, &format!("127.0.0.1:{port}"), 1);
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let server = std::net::TcpStream::connect(&upstream).unwrap();
            for (from, to) in [(client.try_clone().unwrap(), server.try_clone().unwrap()), (server, client)] {
                delayed(from, to, latency);
            }
        }
    });
    proxied
}

/// Passes what `from` sends to `to`, each chunk `latency` after it arrived.
fn delayed(mut from: std::net::TcpStream, mut to: std::net::TcpStream, latency: Duration) {
    use std::io::{Read, Write};
    let (chunks, due) = std::sync::mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        for (at, chunk) in due {
            std::thread::sleep((at + latency).saturating_duration_since(Instant::now()));
            if to.write_all(&chunk).is_err() {
                return;
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Write);
    });
    std::thread::spawn(move || {
        let mut buffer = vec![0; 64 * 1024];
        while let Ok(read) = from.read(&mut buffer) {
            if read == 0 || chunks.send((Instant::now(), buffer[..read].to_vec())).is_err() {
                return;
            }
        }
    });
}

fn start_server(name: &str) -> Fleet {
    Fleet::start(name, Deployment::Sqlite)
}

/// One HTTP/1.1 exchange on a new connection: status and body.
async fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let status = std::str::from_utf8(&response[9..12]).ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").map_or(response.len(), |i| i + 4);
    (status, response[split..].to_vec())
}

struct Kiosk {
    authorization: String,
    etag: String,
}

async fn enrol(port: u16, code: String, index: usize) -> Kiosk {
    let body = serde_json::json!({ "code": code, "name": format!("PC-{index:04}") }).to_string();
    let (status, answer) =
        http(port, "POST", "/api/v1/enrol", &[("Content-Type", "application/json")], body.as_bytes()).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap();
    let authorization =
        format!("Bearer {}.{}", answer["kiosk_id"].as_str().unwrap(), answer["token"].as_str().unwrap());
    let (status, bundle) = http(port, "GET", "/api/v1/rules", &[("Authorization", &authorization)], b"").await;
    assert_eq!(status, 200);
    let signed: serde_json::Value = serde_json::from_slice(&bundle).unwrap();
    let bytes = base64::engine::general_purpose::STANDARD.decode(signed["bundle"].as_str().unwrap()).unwrap();
    let version = serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()["version"].as_u64().unwrap();
    Kiosk { authorization, etag: format!("\"{version}\"") }
}

/// A teacher's console session, with a lesson ready to start.
struct Teacher {
    client: reqwest::blocking::Client,
    base: String,
    csrf: String,
}

fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .map(|i| i + 19)
        .or_else(|| html.find("name=\"csrf\" content=\"").map(|i| i + 21))
        .unwrap();
    html[at..].split('"').next().unwrap().to_owned()
}

impl Teacher {
    /// Signs a new teacher in, choosing a password in place of the one-time one as every new
    /// account must, and makes a lesson.
    fn log_in(fleet: &Fleet) -> Teacher {
        let password = fleet.admin(&["add-user", "teacher", "--role", "teacher", "--room", "Lab"]);
        let port = fleet.port(0);
        let password = password.trim();
        let client = reqwest::blocking::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let page = client.get(format!("{base}/login")).send().unwrap().text().unwrap();
        let form = [("csrf", csrf_of(&page)), ("name", "teacher".into()), ("password", password.into())];
        assert_eq!(client.post(format!("{base}/login")).form(&form).send().unwrap().status(), 303);
        let page = client.get(format!("{base}/password")).send().unwrap().text().unwrap();
        let chosen = format!("{password} chosen");
        let form =
            [("csrf", csrf_of(&page)), ("current", password.into()), ("new", chosen.clone()), ("repeat", chosen)];
        assert_eq!(client.post(format!("{base}/password")).form(&form).send().unwrap().status(), 303);
        let page = client.get(format!("{base}/lessons")).send().unwrap().text().unwrap();
        let teacher = Teacher { csrf: csrf_of(&page), client, base };
        teacher.post("/lessons", &[("name", "Counting"), ("sites", "www.topmarks.co.uk | Topmarks | 🔢")]);
        teacher
    }

    /// How long the lessons page takes, each of `count` times, sorted.
    fn time_page(&self, count: usize) -> Vec<Duration> {
        let mut times: Vec<Duration> = (0..count)
            .map(|_| {
                let start = Instant::now();
                let page = self.client.get(format!("{}/lessons", self.base)).send().unwrap();
                assert_eq!(page.status(), 200);
                page.bytes().unwrap();
                start.elapsed()
            })
            .collect();
        times.sort();
        times
    }

    fn post(&self, path: &str, fields: &[(&str, &str)]) {
        let mut form = vec![("csrf", self.csrf.as_str())];
        form.extend_from_slice(fields);
        let status = self.client.post(format!("{}{path}", self.base)).form(&form).send().unwrap().status();
        assert_eq!(status, 303, "{path}");
    }
}

fn pss_kib(pid: u32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with("Pss:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

struct Propagation {
    /// Lesson start to bundle, each kiosk, sorted.
    arrivals: Vec<Duration>,
    /// The servers' PSS while they hold the polls.
    memory_kib: u64,
    /// PostgreSQL's PSS then (none with SQLite).
    database_kib: u64,
    /// The console's lessons page while the polls are held, sorted.
    console: Vec<Duration>,
}

/// Enrols `n` kiosks, holds their long polls (spread over the replicas), times a console page
/// while they wait, starts a lesson on the first replica, and times its arrival.
async fn propagation(n: usize, deployment: Deployment) -> Propagation {
    let fleet = Arc::new(Fleet::start(&format!("n{n}"), deployment));
    let codes = fleet.admin(&["enrol-code", "--room", "Lab", "--count", &n.to_string()]);
    // Enrolment is not what is measured: 32 at a time, as a lab would.
    let gate = Arc::new(tokio::sync::Semaphore::new(32));
    let mut enrolments = Vec::new();
    for (index, code) in codes.lines().map(str::to_owned).enumerate() {
        let port = fleet.port(index);
        let permit = Arc::clone(&gate).acquire_owned().await.unwrap();
        enrolments.push(tokio::spawn(async move {
            let kiosk = enrol(port, code, index).await;
            drop(permit);
            kiosk
        }));
    }
    let mut kiosks = Vec::new();
    for enrolment in enrolments {
        kiosks.push(enrolment.await.unwrap());
    }
    let signing_in = Arc::clone(&fleet);
    let teacher = tokio::task::spawn_blocking(move || Teacher::log_in(&signing_in)).await.unwrap();

    let started = Arc::new(std::sync::OnceLock::<Instant>::new());
    let mut polls = Vec::new();
    for (index, kiosk) in kiosks.into_iter().enumerate() {
        let port = fleet.port(index);
        let started = Arc::clone(&started);
        polls.push(tokio::spawn(async move {
            let (status, _) = http(
                port,
                "GET",
                "/api/v1/rules?wait=60",
                &[("Authorization", &kiosk.authorization), ("If-None-Match", &kiosk.etag)],
                b"",
            )
            .await;
            let arrived = Instant::now();
            assert_eq!(status, 200, "the long poll ended without the new bundle");
            arrived.duration_since(*started.get().expect("the lesson started first"))
        }));
    }
    // Let every poll reach the server and wait there.
    tokio::time::sleep(Duration::from_millis(1_000 + n as u64 * 2)).await;
    let (memory_kib, database_kib) = (fleet.servers_kib(), fleet.database_kib());
    let (teacher, console) = tokio::task::spawn_blocking(move || {
        let console = teacher.time_page(CONSOLE_SAMPLES);
        (teacher, console)
    })
    .await
    .unwrap();
    tokio::task::spawn_blocking(move || {
        started.set(Instant::now()).unwrap();
        teacher.post("/lessons/1/start", &[("room", "1"), ("minutes", "60")]);
    })
    .await
    .unwrap();
    let mut arrivals = Vec::new();
    for poll in polls {
        arrivals.push(poll.await.unwrap());
    }
    arrivals.sort();
    Propagation { arrivals, memory_kib, database_kib, console }
}

/// `n` headless kiosks running the real sync code (`satchel::kiosk::sync::Link`: long poll,
/// signature check, durable cache, then building the policy as the kiosk does), a teacher
/// starting a lesson, and the time until each has it in force.
async fn sync_clients(n: usize) -> (Duration, Duration, Duration) {
    use satchel::config::ServerLink;
    use satchel::kiosk::sync::{Callbacks, Link, Shared};
    let fleet = Arc::new(start_server(&format!("sync{n}")));
    let codes = fleet.admin(&["enrol-code", "--room", "Lab", "--count", &n.to_string()]);
    let port = fleet.port(0);
    let (sender, mut arrivals) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    let states = std::env::temp_dir().join(format!("satchel-sync-states-{}", std::process::id()));
    for (index, code) in codes.lines().enumerate() {
        let body = serde_json::json!({ "code": code, "name": format!("PC-{index:04}") }).to_string();
        let (status, answer) =
            http(port, "POST", "/api/v1/enrol", &[("Content-Type", "application/json")], body.as_bytes()).await;
        assert_eq!(status, 200);
        let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap();
        let link = ServerLink {
            url: format!("http://127.0.0.1:{port}"),
            kiosk_id: answer["kiosk_id"].as_str().unwrap().into(),
            token: answer["token"].as_str().unwrap().into(),
            public_key: answer["public_key"].as_str().unwrap().into(),
            fingerprint: None,
        };
        let sender = sender.clone();
        let state = states.join(index.to_string());
        let link = Link::new(&link, &state, Arc::new(Shared::default())).unwrap();
        let activity =
            Arc::new(satchel::activity::ActivityLog::open(&state.join("activity"), Default::default()).unwrap());
        link.start(
            activity,
            Callbacks {
                rules: Box::new(move |bundle, offset| {
                    let server_now =
                        (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
                            + offset) as u64;
                    let enforced = satchel::bundle::enforce(&bundle, server_now, None).unwrap();
                    if enforced.lesson_ends_at.is_some() {
                        let _ = sender.send(Instant::now());
                    }
                }),
                waiting: Box::new(|_| {}),
            },
        )
        .unwrap();
    }
    // Every client has its first bundle and is waiting in its long poll.
    tokio::time::sleep(Duration::from_millis(2_000 + n as u64 * 4)).await;
    let signing_in = Arc::clone(&fleet);
    let teacher = tokio::task::spawn_blocking(move || Teacher::log_in(&signing_in)).await.unwrap();
    let started = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        teacher.post("/lessons/1/start", &[("room", "1"), ("minutes", "60")]);
        started
    })
    .await
    .unwrap();
    let mut latencies = Vec::new();
    while latencies.len() < n {
        let arrived = tokio::time::timeout(Duration::from_secs(30), arrivals.recv())
            .await
            .expect("every client gets the lesson")
            .unwrap();
        latencies.push(arrived.saturating_duration_since(started));
    }
    latencies.sort();
    let _ = std::fs::remove_dir_all(&states);
    (percentile(&latencies, 0.5), percentile(&latencies, 0.99), *latencies.last().unwrap())
}

/// Reports per second with 100 KB screenshots, `REPORT_CONCURRENCY` at a time (over the
/// replicas in turn).
async fn ingest(deployment: Deployment) -> f64 {
    let fleet = Fleet::start("ingest", deployment);
    // Spread over kiosks as a school's reports are: one kiosk may send 30 in ten minutes.
    let kiosks = fleet.enrol_kiosks(INGEST_KIOSKS).await;
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x05\0\0\0\x02\xd0\x08\x06\0\0\0".to_vec();
    let mut noise = vec![0u8; 100 * 1024 - png.len()];
    getrandom::fill(&mut noise).unwrap();
    png.extend(noise);
    let screenshot = base64::engine::general_purpose::STANDARD.encode(&png);
    let posts = (0..REPORTS).map(|index| {
        let body =
            serde_json::json!({ "id": format!("00000000-0000-4000-8000-{index:012}"), "happened_at": 1_795_000_000u64,
            "url": "http://bad.test/", "title": "page", "screenshot": screenshot })
            .to_string();
        (Arc::clone(&kiosks[index % INGEST_KIOSKS]), body.into_bytes())
    });
    REPORTS as f64 / post_all(&fleet, "/api/v1/reports", &[], posts.collect()).await.as_secs_f64()
}

/// Posts each body as its kiosk, `REPORT_CONCURRENCY` at a time over the replicas in turn,
/// each answered 200 (JSON, with `headers` besides); how long it all took.
async fn post_all(
    fleet: &Fleet,
    path: &'static str,
    headers: &'static [(&'static str, &'static str)],
    posts: Vec<(Arc<String>, Vec<u8>)>,
) -> Duration {
    let semaphore = Arc::new(tokio::sync::Semaphore::new(REPORT_CONCURRENCY));
    let start = Instant::now();
    let mut sends = Vec::new();
    for (index, (authorization, body)) in posts.into_iter().enumerate() {
        let permit = Arc::clone(&semaphore).acquire_owned().await.unwrap();
        let port = fleet.port(index);
        sends.push(tokio::spawn(async move {
            let mut all = vec![("Authorization", authorization.as_str()), ("Content-Type", "application/json")];
            all.extend_from_slice(headers);
            let (status, answer) = http(port, "POST", path, &all, &body).await;
            drop(permit);
            assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
        }));
    }
    for send in sends {
        send.await.unwrap();
    }
    start.elapsed()
}

/// Kiosks sending activity in the ingest figure, each this many batches of this many events
/// (ten batches is within a kiosk's 120 a minute).
const ACTIVITY_KIOSKS: usize = 100;
const ACTIVITY_BATCHES: usize = 10;
const ACTIVITY_EVENTS: usize = 200;

/// Activity events stored per second: every kiosk's batches (pages opened and titled, as
/// kiosks send them, gzip-compressed before the clock starts) sent `REPORT_CONCURRENCY` at a
/// time, over the replicas in turn.
async fn activity_ingest(deployment: Deployment) -> f64 {
    use satchel::protocol::{ActivityBatch, ActivityEvent, Happening, ACTIVITY_PATH};
    let fleet = Fleet::start("activity", deployment);
    let kiosks = fleet.enrol_kiosks(ACTIVITY_KIOSKS).await;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let batch = |kiosk: usize, number: usize| {
        let events = (0..ACTIVITY_EVENTS).map(|i| {
            let seq = (number * ACTIVITY_EVENTS + i + 1) as u64;
            let what = Happening::Titled {
                url: format!("https://site{}.test/topic/{seq}", seq % 50),
                title: format!("Topic {seq}: animals, counting and phonics"),
            };
            let event = ActivityEvent { seq, at: now + seq * 100, session: format!("s-{kiosk}"), lesson: None, what };
            serde_json::to_value(event).unwrap()
        });
        let batch = ActivityBatch { log: format!("log-{kiosk}"), events: events.collect() };
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        serde_json::to_writer(&mut gzip, &batch).unwrap();
        gzip.finish().unwrap()
    };
    let posts = (0..ACTIVITY_BATCHES)
        .flat_map(|number| (0..ACTIVITY_KIOSKS).map(move |kiosk| (kiosk, number)))
        .map(|(kiosk, number)| (Arc::clone(&kiosks[kiosk]), batch(kiosk, number)))
        .collect();
    let took = post_all(&fleet, ACTIVITY_PATH, &[("Content-Encoding", "gzip")], posts).await;
    (ACTIVITY_KIOSKS * ACTIVITY_BATCHES * ACTIVITY_EVENTS) as f64 / took.as_secs_f64()
}

/// Raises this process's soft limit on open files to its hard limit (the server started from
/// here inherits it, and raises its own likewise): 5,000 kiosks' polls are 5,000 descriptors on
/// each side. Returns the limit.
fn raise_open_files_limit() -> u64 {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit and setrlimit read and write only the struct given.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = limit.rlim_max;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
    limit.rlim_cur
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn main() {
    let open_files = raise_open_files_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    println!(
        "## satchel-server under load (release build, loopback, {} CPUs, open-files limit {open_files})\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if !std::env::args().any(|arg| arg == "trust") {
        one_school(&runtime);
    }
    trust(&runtime);
}

/// The single school's figures: one server on SQLite.
fn one_school(runtime: &tokio::runtime::Runtime) {
    println!("| kiosks | lesson start to bundle at every kiosk: p50 | p99 | max | server PSS holding the polls | console page while they wait: p50 | p99 | goal |");
    println!("|---|---|---|---|---|---|---|---|");
    for n in [100, 1_000, 5_000] {
        let Propagation { arrivals, memory_kib, console, .. } = runtime.block_on(propagation(n, Deployment::Sqlite));
        println!(
            "| {n} | {:.0} ms | {:.0} ms | {:.0} ms | {:.1} MB | {:.1} ms | {:.1} ms | p99 ≤ 1,000 ms, ≤ 150 MB at 1,000 |",
            ms(percentile(&arrivals, 0.5)),
            ms(percentile(&arrivals, 0.99)),
            ms(*arrivals.last().unwrap()),
            memory_kib as f64 / 1024.0,
            ms(percentile(&console, 0.5)),
            ms(percentile(&console, 0.99)),
        );
    }
    println!("\n| headless kiosks (the real sync code) | change to enforced at every kiosk: p50 | p99 | max | goal |");
    println!("|---|---|---|---|---|");
    for n in [100, 500] {
        let (p50, p99, max) = runtime.block_on(sync_clients(n));
        println!(
            "| {n} | {:.0} ms | {:.0} ms | {:.0} ms | p99 ≤ 1,000 ms at 500 |",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3
        );
    }
    let rate = runtime.block_on(ingest(Deployment::Sqlite));
    println!("\nReport ingest: {rate:.0} reports/s ({REPORTS} reports with 100 KB screenshots, {REPORT_CONCURRENCY} at a time, each fsynced before the answer; goal ≥ 200/s)");
}

/// Kiosks a trust's bench holds at once.
const TRUST_KIOSKS: usize = 10_000;
/// The database's distance each way when it is across a network, and the kiosks then.
const NETWORK_LATENCY: Duration = Duration::from_micros(500);
const NETWORK_KIOSKS: usize = 1_000;

/// A trust's deployment beside the single school's, on the same machine in one run.
fn trust(runtime: &tokio::runtime::Runtime) {
    println!("\n### A trust: {TRUST_KIOSKS} kiosks long-polling, lesson started on the first server\n");
    println!("| deployment | lesson start to bundle at every kiosk: p50 | p99 | max | satchel-servers' PSS | PostgreSQL's PSS | report ingest (100 KB screenshots) | activity ingest |");
    println!("|---|---|---|---|---|---|---|---|");
    for (name, deployment) in [
        ("one server, SQLite", Deployment::Sqlite),
        ("two replicas, PostgreSQL 15", Deployment::Postgres { replicas: 2, connections: 4, latency: Duration::ZERO }),
    ] {
        let Propagation { arrivals, memory_kib, database_kib, .. } =
            runtime.block_on(propagation(TRUST_KIOSKS, deployment));
        let rate = runtime.block_on(ingest(deployment));
        let events = runtime.block_on(activity_ingest(deployment));
        println!(
            "| {name} | {:.0} ms | {:.0} ms | {:.0} ms | {:.1} MB | {:.1} MB | {rate:.0} reports/s | {events:.0} events/s |",
            ms(percentile(&arrivals, 0.5)),
            ms(percentile(&arrivals, 0.99)),
            ms(*arrivals.last().unwrap()),
            memory_kib as f64 / 1024.0,
            database_kib as f64 / 1024.0,
        );
    }
    // Across a network each query waits a round trip: what the replicas' shared connections
    // are for. Fewer kiosks, since with one connection their polls would wait to be told who
    // they are longer than the server lets 1,024 strangers wait.
    println!("\n### The replicas with PostgreSQL {NETWORK_LATENCY:?} away each way, {NETWORK_KIOSKS} kiosks\n");
    println!("| connections each replica's requests share | lesson start to bundle at every kiosk: p50 | p99 | max | report ingest (100 KB screenshots) |");
    println!("|---|---|---|---|---|");
    for connections in [1, 4] {
        let deployment = Deployment::Postgres { replicas: 2, connections, latency: NETWORK_LATENCY };
        let Propagation { arrivals, .. } = runtime.block_on(propagation(NETWORK_KIOSKS, deployment));
        let rate = runtime.block_on(ingest(deployment));
        println!(
            "| {connections} | {:.0} ms | {:.0} ms | {:.0} ms | {rate:.0} reports/s |",
            ms(percentile(&arrivals, 0.5)),
            ms(percentile(&arrivals, 0.99)),
            ms(*arrivals.last().unwrap()),
        );
    }
}
