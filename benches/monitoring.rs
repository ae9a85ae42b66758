//! Monitoring (issue 14) under load, each figure beside its goal, in one run:
//! - **ingest**: a real `satchel-server` (release build, loopback), 1,000 enrolled kiosks each
//!   sending a gzip batch of activity a second while the same 1,000 hold their rules long polls;
//!   a teacher starts a lesson mid-way (lesson start to each poll answered) and a few kiosks
//!   send reports and a teacher opens a console page (each timed with and without the ingest);
//! - **search**: the DSL's `/activity` page over real HTTP against a log of
//!   `SATCHEL_BENCH_EVENTS` events (default 10,000,000; built once under
//!   `target/monitoring-bench/` through the server's own store and kept for the next run),
//!   by common, rare and absent words and by room, kind and dates; and the disk it takes;
//! - **kiosk**: what logging adds to a navigation on the UI thread.
//!
//! Run with `cargo bench --locked --bench monitoring`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod support;

use satchel::protocol::{ActivityBatch, ActivityEvent, Happening, ACTIVITY_PATH};
use support::{admin, Server};

const KIOSKS: usize = 1_000;
/// Events in each kiosk's batch, one batch a second: 60,000 events/s offered in all.
const BATCH_EVENTS: usize = 60;
const INGEST_SECONDS: usize = 25;
/// Reports and console pages timed in each phase, one at a time.
const PROBES: usize = 40;
/// Kiosks that send the reports: each stays well within its 30 reports in 10 minutes.
const REPORTERS: usize = 10;
const SEARCH_ROOMS: usize = 15;
const SEARCH_KIOSKS_PER_ROOM: usize = 20;
/// Each search is asked this many times.
const SEARCHES: usize = 50;

fn main() {
    let events: u64 =
        std::env::var("SATCHEL_BENCH_EVENTS").ok().and_then(|n| n.replace('_', "").parse().ok()).unwrap_or(10_000_000);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "## Monitoring (issue 14): release build, loopback, {} CPUs (load average at the start: {})\n",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );

    let kiosk = kiosk_cost();
    println!("| kiosk: logging a navigation on the UI thread (opened, titled, search words), {} navigations | p50 | p99 | goal |\n|---|---|---|---|", kiosk.navigations);
    println!("| wall-clock | {} | {} | ≤ 20 µs |", micros(kiosk.wall.0), micros(kiosk.wall.1));
    println!(
        "| the thread's own CPU time (without the time other processes had the CPU) | {} | {} | ≤ 20 µs |\n",
        micros(kiosk.cpu.0),
        micros(kiosk.cpu.1)
    );

    let ingest = runtime.block_on(ingest());
    println!("| server: {KIOSKS} kiosks, one batch of {BATCH_EVENTS} events a second each, for {INGEST_SECONDS} s | figure | goal |\n|---|---|---|");
    println!(
        "| events stored per second | {:.0} ({} events in {:.1} s; {} batches refused) | ≥ 50,000/s |",
        ingest.stored as f64 / ingest.seconds,
        ingest.stored,
        ingest.seconds,
        ingest.refused
    );
    println!("| batch POST to ack, p50 / p99 | {} / {} | (for information) |", ms(ingest.batch.0), ms(ingest.batch.1));
    println!("| lesson start to each of {KIOSKS} long polls answered, during ingest, p50 / p99 / max | {} / {} / {} | p99 ≤ 1,000 ms |", ms(ingest.lesson.0), ms(ingest.lesson.1), ms(ingest.lesson.2));
    println!(
        "| report POST (100 KB screenshot), p50 / p99: without ingest | {} / {} | unaffected |",
        ms(ingest.reports_quiet.0),
        ms(ingest.reports_quiet.1)
    );
    println!(
        "| report POST (100 KB screenshot), p50 / p99: during ingest | {} / {} | unaffected |",
        ms(ingest.reports_busy.0),
        ms(ingest.reports_busy.1)
    );
    println!(
        "| console page (/lessons), p50 / p99: without ingest | {} / {} | usable |",
        ms(ingest.console_quiet.0),
        ms(ingest.console_quiet.1)
    );
    println!(
        "| console page (/lessons), p50 / p99: during ingest | {} / {} | usable |",
        ms(ingest.console_busy.0),
        ms(ingest.console_busy.1)
    );
    println!(
        "| disk per million events (ingested: rows, indexes, full-text index) | {:.0} MB | (for information) |\n",
        ingest.mb_per_million
    );

    let search = runtime.block_on(search(events));
    println!(
        "| /activity as the DSL, {} events ({} kiosks in {SEARCH_ROOMS} rooms, 365 days), {SEARCHES} times each | matches | p50 | p99 | goal |\n|---|---|---|---|---|",
        search.events,
        SEARCH_ROOMS * SEARCH_KIOSKS_PER_ROOM
    );
    for query in &search.queries {
        println!("| `{}` | {} | {} | {} | p99 ≤ 200 ms |", query.label, query.matches, ms(query.p50), ms(query.p99));
    }
    println!("\nDisk: {:.0} MB per million events ({:.2} GB for {} events, full-text index included); the log was {} ({:.0} s).", search.mb_per_million, search.bytes as f64 / 1e9, search.events, if search.built { "built in this run" } else { "reused from target/" }, search.build_seconds);
}

fn micros(duration: Duration) -> String {
    format!("{:.2} µs", duration.as_secs_f64() * 1e6)
}

fn ms(duration: Duration) -> String {
    format!("{:.0} ms", duration.as_secs_f64() * 1e3)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn p50_p99(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    (percentile(&times, 0.5), percentile(&times, 0.99))
}

fn unix_millis() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

// ---- Made-up but realistic browsing: KS1 sites, titles, searches, blocks. ----

/// SplitMix64: reproducible content without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const SITES: &[&str] = &[
    "www.bbc.co.uk/bitesize/topics",
    "www.bbc.co.uk/cbeebies/games",
    "www.topmarks.co.uk/maths-games",
    "www.natgeokids.com/uk/discover/animals",
    "www.oxfordowl.co.uk/for-home/reading",
    "www.phonicsplay.co.uk/resources",
    "kids.britannica.com/kids/article",
    "www.woodlands-junior.kent.sch.uk/homework",
    "www.sciencekids.co.nz/sciencefacts",
    "www.coolmath4kids.com/math-games",
];
const TOPICS: &[&str] = &[
    "dinosaurs",
    "volcanoes",
    "minibeasts",
    "frogs",
    "castles",
    "space",
    "planets",
    "weather",
    "seasons",
    "plants",
    "seeds",
    "rainforest",
    "ocean",
    "sharks",
    "pirates",
    "vikings",
    "romans",
    "egypt",
    "knights",
    "dragons",
    "farm",
    "pets",
    "butterflies",
    "bees",
    "habitats",
    "materials",
    "magnets",
    "light",
    "sound",
    "number-bonds",
    "times-tables",
    "fractions",
    "shapes",
    "money",
    "telling-time",
    "phonics",
    "rhyming",
    "spelling",
    "handwriting",
    "stories",
    "fairy-tales",
    "polar-bears",
    "penguins",
    "jungle",
    "desert",
    "rivers",
    "mountains",
    "london",
    "wales",
    "senses",
];
const TITLE_WORDS: &[&str] = &[
    "Fun",
    "Facts",
    "for",
    "Kids",
    "Game",
    "Learn",
    "about",
    "KS1",
    "Activities",
    "Quiz",
    "Video",
    "Explore",
    "Amazing",
    "Guide",
];
const BLOCKED: &[&str] = &[
    "www.roblox.com/games",
    "www.tiktok.com/discover",
    "poki.com/en/g",
    "www.twitch.tv/directory",
    "www.reddit.com/r",
    "discord.com/invite",
];
/// Appears about once in 100,000 events: the DSL's needle.
const RARE: &str = "zeppelin";

fn happening(rng: &mut Rng, page: &mut String) -> Happening {
    let roll = rng.below(1000);
    let topic = rng.pick(TOPICS);
    if roll == 0 && rng.below(100) == 0 {
        return Happening::Searched {
            engine: "google".into(),
            terms: format!("{RARE} {topic}"),
            url: format!("https://www.google.co.uk/search?q={RARE}+{topic}&safe=active"),
        };
    }
    match roll {
        0..=449 => {
            *page = format!("https://{}/{topic}-{}", rng.pick(SITES), rng.below(500));
            Happening::Opened { url: page.clone() }
        }
        450..=799 => {
            let title = format!(
                "{} {} {} - {}",
                rng.pick(TITLE_WORDS),
                topic.replace('-', " "),
                rng.pick(TITLE_WORDS),
                rng.pick(TITLE_WORDS)
            );
            Happening::Titled { url: page.clone(), title }
        }
        800..=899 => {
            let terms = format!(
                "{} {}",
                topic.replace('-', " "),
                rng.pick(&["facts", "for kids", "video", "pictures", "game", "ks1"])
            );
            let url = format!("https://www.google.co.uk/search?q={}&safe=active", terms.replace(' ', "+"));
            Happening::Searched { engine: "google".into(), terms, url }
        }
        900..=949 => Happening::Blocked {
            url: format!("https://{}/{}", rng.pick(BLOCKED), rng.below(10_000)),
            rule: None,
            category: Some(rng.pick(&["games", "social_networks", "chat"]).into()),
            reason: "not on today's list".into(),
        },
        950..=979 => Happening::SubresourcesBlocked {
            page: page.clone(),
            host: rng.pick(&["ads.doubleclick.net", "www.google-analytics.com", "connect.facebook.net"]).into(),
            count: 1 + rng.below(20) as u32,
        },
        980..=989 => Happening::SessionStart,
        _ => Happening::SessionEnd { reason: satchel::protocol::SessionEnd::Idle },
    }
}

/// One kiosk's events, numbered from `first_seq`, `spacing_ms` apart from `first_at`.
fn events(
    rng: &mut Rng,
    session: &mut String,
    first_seq: u64,
    count: usize,
    first_at: u64,
    spacing_ms: u64,
) -> Vec<ActivityEvent> {
    let mut page = format!("https://{}/", SITES[0]);
    (0..count as u64)
        .map(|i| {
            let what = happening(rng, &mut page);
            if matches!(what, Happening::SessionStart) {
                *session = format!("s-{:016x}", rng.next());
            }
            ActivityEvent {
                seq: first_seq + i,
                at: first_at + i * spacing_ms,
                session: session.clone(),
                lesson: None,
                what,
            }
        })
        .collect()
}

// ---- The server and its clients. ----

fn start_server(data: &Path) -> Server {
    // The search bench's database is built once and used again.
    Server::start(data, "error", true)
}

fn kiosk_client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(120)).build().unwrap()
}

#[derive(Clone)]
struct Kiosk {
    authorization: String,
    etag: String,
}

async fn enrol(client: &reqwest::Client, base: &str, codes: &str) -> Vec<Kiosk> {
    let mut kiosks = Vec::new();
    let codes: Vec<String> = codes.lines().map(str::to_owned).collect();
    // Enrolment is not what is measured: 32 at a time, as a lab would.
    for (chunk_index, chunk) in codes.chunks(32).enumerate() {
        let enrolments = chunk.iter().enumerate().map(|(i, code)| {
            let body = serde_json::json!({ "code": code, "name": format!("PC-{:04}", chunk_index * 32 + i) });
            async move {
                let answer: serde_json::Value = client
                    .post(format!("{base}/api/v1/enrol"))
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .error_for_status()
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let authorization =
                    format!("Bearer {}.{}", answer["kiosk_id"].as_str().unwrap(), answer["token"].as_str().unwrap());
                let rules = client
                    .get(format!("{base}/api/v1/rules"))
                    .header("Authorization", &authorization)
                    .send()
                    .await
                    .unwrap();
                let etag = rules.headers()["etag"].to_str().unwrap().to_owned();
                Kiosk { authorization, etag }
            }
        });
        kiosks.extend(futures_util::future::join_all(enrolments).await);
    }
    kiosks
}

/// A member of staff signed in to the console (a new account first chooses its password).
struct Staff {
    client: reqwest::Client,
    base: String,
    csrf: String,
}

fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .map(|i| i + 19)
        .or_else(|| html.find("name=\"csrf\" content=\"").map(|i| i + 21))
        .expect("a CSRF token");
    html[at..].split('"').next().unwrap().to_owned()
}

impl Staff {
    async fn sign_in(server: &Server, data: &Path, name: &str, role_and_rooms: &[&str]) -> Staff {
        let mut args = vec!["add-user", name, "--role"];
        args.extend_from_slice(role_and_rooms);
        let password = admin(data, &args).trim().to_owned();
        let client =
            reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let base = server.base();
        let page = client.get(format!("{base}/login")).send().await.unwrap().text().await.unwrap();
        let form = [("csrf", csrf_of(&page)), ("name", name.into()), ("password", password.clone())];
        assert_eq!(client.post(format!("{base}/login")).form(&form).send().await.unwrap().status(), 303);
        let lessons = client.get(format!("{base}/lessons")).send().await.unwrap();
        if lessons.headers().get("location").is_some_and(|to| to == "/password") {
            let page = client.get(format!("{base}/password")).send().await.unwrap().text().await.unwrap();
            let chosen = format!("{password} chosen by its owner");
            let form = [("csrf", csrf_of(&page)), ("current", password), ("new", chosen.clone()), ("repeat", chosen)];
            assert_eq!(client.post(format!("{base}/password")).form(&form).send().await.unwrap().status(), 303);
        }
        let page = client.get(format!("{base}/lessons")).send().await.unwrap().text().await.unwrap();
        Staff { csrf: csrf_of(&page), client, base }
    }

    async fn post(&self, path: &str, fields: &[(&str, &str)]) {
        let mut form = vec![("csrf", self.csrf.as_str())];
        form.extend_from_slice(fields);
        let status = self.client.post(format!("{}{path}", self.base)).form(&form).send().await.unwrap().status();
        assert_eq!(status, 303, "{path}");
    }

    /// A page: its status, body and how long it took.
    async fn get(&self, path: &str) -> (u16, String, Duration) {
        let started = Instant::now();
        let response = self.client.get(format!("{}{path}", self.base)).send().await.unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        (status, body, started.elapsed())
    }
}

// ---- Ingest, with lessons, reports and the console at the same time. ----

struct Ingest {
    stored: i64,
    seconds: f64,
    refused: usize,
    batch: (Duration, Duration),
    lesson: (Duration, Duration, Duration),
    reports_quiet: (Duration, Duration),
    reports_busy: (Duration, Duration),
    console_quiet: (Duration, Duration),
    console_busy: (Duration, Duration),
    mb_per_million: f64,
}

/// `PROBES` reports (100 KB screenshots) from the first `REPORTERS` kiosks and as many console
/// pages, one after the other: how long each took.
async fn probe(
    client: &reqwest::Client,
    base: &str,
    kiosks: &[Kiosk],
    teacher: &Staff,
    screenshot: &str,
    phase: usize,
) -> (Vec<Duration>, Vec<Duration>) {
    let (mut reports, mut pages) = (Vec::new(), Vec::new());
    for index in 0..PROBES {
        let kiosk = &kiosks[index % REPORTERS];
        let body = serde_json::json!({ "id": format!("00000000-0000-4000-8000-{:06}{index:06}", phase), "happened_at": unix_millis() / 1000,
            "url": "https://www.roblox.com/games/1", "title": "page", "screenshot": screenshot });
        let started = Instant::now();
        let response = client
            .post(format!("{base}/api/v1/reports"))
            .header("Authorization", &kiosk.authorization)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap_or_default());
        reports.push(started.elapsed());
        let (status, _, took) = teacher.get("/lessons").await;
        assert_eq!(status, 200);
        pages.push(took);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    (reports, pages)
}

fn screenshot() -> String {
    use base64::Engine as _;
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x05\0\0\0\x02\xd0\x08\x06\0\0\0".to_vec();
    let mut noise = vec![0u8; 100 * 1024 - png.len()];
    getrandom::fill(&mut noise).unwrap();
    png.extend(noise);
    base64::engine::general_purpose::STANDARD.encode(&png)
}

/// Each kiosk's batches, gzip-compressed as the kiosk sends them, made before the clock starts
/// (on real kiosks that is their own CPUs' work, not the server's).
fn batches(kiosks: usize) -> Vec<Vec<Vec<u8>>> {
    let start = unix_millis();
    let make = |kiosk: usize| {
        let mut rng = Rng(kiosk as u64);
        let mut session = format!("s-{kiosk}");
        (0..INGEST_SECONDS)
            .map(|second| {
                let events = events(
                    &mut rng,
                    &mut session,
                    (second * BATCH_EVENTS) as u64 + 1,
                    BATCH_EVENTS,
                    start + second as u64 * 1000,
                    1000 / BATCH_EVENTS as u64,
                );
                let batch = ActivityBatch {
                    log: format!("log-{kiosk}"),
                    events: events.iter().map(|e| serde_json::to_value(e).unwrap()).collect(),
                };
                let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                serde_json::to_writer(&mut gzip, &batch).unwrap();
                gzip.finish().unwrap()
            })
            .collect::<Vec<_>>()
    };
    std::thread::scope(|scope| {
        let halves: Vec<_> = [0..kiosks / 2, kiosks / 2..kiosks]
            .into_iter()
            .map(|range| scope.spawn(move || range.map(make).collect::<Vec<_>>()))
            .collect();
        halves.into_iter().flat_map(|half| half.join().unwrap()).collect()
    })
}

async fn ingest() -> Ingest {
    let data = std::env::temp_dir().join(format!("satchel-monitoring-ingest-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    admin(&data, &["add-room", "Lab"]);
    let server = start_server(&data);
    let codes = admin(&data, &["enrol-code", "--room", "Lab", "--count", &KIOSKS.to_string()]);
    let client = kiosk_client();
    let base = server.base();
    let kiosks = enrol(&client, &base, &codes).await;
    let teacher = Staff::sign_in(&server, &data, "teacher", &["teacher", "--room", "Lab"]).await;
    teacher.post("/lessons", &[("name", "Counting"), ("sites", "www.topmarks.co.uk | Topmarks | 🔢")]).await;
    let screenshot = screenshot();
    let bodies = tokio::task::spawn_blocking(|| batches(KIOSKS)).await.unwrap();

    let (reports_quiet, console_quiet) = probe(&client, &base, &kiosks, &teacher, &screenshot, 1).await;

    // Every kiosk waits for its rules, as kiosks do all day.
    let started = Arc::new(std::sync::OnceLock::<Instant>::new());
    let polls: Vec<_> = kiosks
        .iter()
        .map(|kiosk| {
            let (client, base, kiosk, started) = (client.clone(), base.clone(), kiosk.clone(), Arc::clone(&started));
            tokio::spawn(async move {
                let response = client
                    .get(format!("{base}/api/v1/rules?wait=60"))
                    .header("Authorization", &kiosk.authorization)
                    .header("If-None-Match", &kiosk.etag)
                    .send()
                    .await
                    .unwrap();
                let status = response.status();
                let _ = response.bytes().await.unwrap();
                let arrived = Instant::now();
                assert_eq!(status, 200, "the long poll ended without the new bundle");
                arrived.duration_since(*started.get().expect("the lesson started first"))
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1_000 + KIOSKS as u64 * 2)).await;

    let begun = Instant::now();
    let senders: Vec<_> = kiosks
        .iter()
        .zip(bodies)
        .enumerate()
        .map(|(index, (kiosk, bodies))| {
            let (client, base, authorization) = (client.clone(), base.clone(), kiosk.authorization.clone());
            tokio::spawn(async move {
                // Kiosks are not in step: each has its own moment in the second.
                let phase = Duration::from_millis((index * 997 % 1000) as u64);
                let (mut acks, mut refused, mut last) = (Vec::new(), 0, begun);
                for (second, body) in bodies.into_iter().enumerate() {
                    tokio::time::sleep_until((begun + phase + Duration::from_secs(second as u64)).into()).await;
                    let sent = Instant::now();
                    let response = client
                        .post(format!("{base}{ACTIVITY_PATH}"))
                        .header("Authorization", &authorization)
                        .header("Content-Type", "application/json")
                        .header("Content-Encoding", "gzip")
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    let ok = response.status() == 200;
                    let _ = response.bytes().await;
                    last = Instant::now();
                    if ok {
                        acks.push(last - sent);
                    } else {
                        refused += 1;
                    }
                }
                (acks, refused, last)
            })
        })
        .collect();

    let (probes, lesson) = {
        let busy = probe(&client, &base, &kiosks, &teacher, &screenshot, 2);
        let lesson = async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            started.set(Instant::now()).unwrap();
            teacher.post("/lessons/1/start", &[("room", "1"), ("minutes", "60")]).await;
            let mut latencies = Vec::new();
            for poll in polls {
                latencies.push(poll.await.unwrap());
            }
            latencies.sort();
            (percentile(&latencies, 0.5), percentile(&latencies, 0.99), *latencies.last().unwrap())
        };
        tokio::join!(busy, lesson)
    };
    let (reports_busy, console_busy) = probes;
    let (mut acks, mut refused, mut ended) = (Vec::new(), 0, begun);
    for sender in senders {
        let (a, r, last) = sender.await.unwrap();
        acks.extend(a);
        refused += r;
        ended = ended.max(last);
    }
    let seconds = (ended - begun).as_secs_f64();
    let db = rusqlite::Connection::open(data.join("satchel.db")).unwrap();
    let stored: i64 = db.query_row("SELECT count(*) FROM activity", [], |row| row.get(0)).unwrap();
    drop(server);
    let bytes = database_bytes(&data);
    let _ = std::fs::remove_dir_all(&data);
    Ingest {
        stored,
        seconds,
        refused,
        batch: p50_p99(acks),
        lesson,
        reports_quiet: p50_p99(reports_quiet),
        reports_busy: p50_p99(reports_busy),
        console_quiet: p50_p99(console_quiet),
        console_busy: p50_p99(console_busy),
        mb_per_million: bytes as f64 / 1e6 / (stored.max(1) as f64 / 1e6),
    }
}

/// The database with its write-ahead log, once checkpointed.
fn database_bytes(data: &Path) -> u64 {
    let db = rusqlite::Connection::open(data.join("satchel.db")).unwrap();
    db.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
    drop(db);
    ["satchel.db", "satchel.db-wal"]
        .iter()
        .filter_map(|name| std::fs::metadata(data.join(name)).ok())
        .map(|m| m.len())
        .sum()
}

// ---- Search over a big log. ----

struct Search {
    events: u64,
    bytes: u64,
    mb_per_million: f64,
    built: bool,
    build_seconds: f64,
    queries: Vec<Query>,
}

struct Query {
    label: String,
    matches: String,
    p50: Duration,
    p99: Duration,
}

const DAY_MS: u64 = 86_400_000;

/// The store's schema version, read off a new database: a log kept from a run under an older
/// schema is built again rather than measured.
fn schema_version() -> i64 {
    let dir = std::env::temp_dir().join(format!("satchel-monitoring-schema-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    drop(satchel::server::store::Store::open(&dir.join("satchel.db")).unwrap());
    let db = rusqlite::Connection::open(dir.join("satchel.db")).unwrap();
    let version = db.pragma_query_value(None, "user_version", |row| row.get(0)).unwrap();
    drop(db);
    std::fs::remove_dir_all(dir).unwrap();
    version
}

/// The log of `events` events under `target/`, built if it is not there yet (under this
/// schema).
fn search_data(events: u64) -> (PathBuf, bool, f64) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/monitoring-bench");
    let data = root.join(format!("activity-{events}"));
    let marker = format!("{events} events, schema {}", schema_version());
    if std::fs::read_to_string(data.join("built")).is_ok_and(|text| text.trim() == marker) {
        return (data, false, 0.0);
    }
    let started = Instant::now();
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&root).unwrap();
    let mut codes = String::new();
    for room in 1..=SEARCH_ROOMS {
        admin(&data, &["add-room", &format!("Room {room:02}")]);
        codes.push_str(&admin(
            &data,
            &["enrol-code", "--room", &format!("Room {room:02}"), "--count", &SEARCH_KIOSKS_PER_ROOM.to_string()],
        ));
    }
    {
        let server = start_server(&data);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(enrol(&kiosk_client(), &server.base(), &codes));
    }
    let store = satchel::server::store::Store::open(&data.join("satchel.db")).unwrap();
    let kiosks: Vec<satchel::server::store::KioskRow> = {
        let db = rusqlite::Connection::open(data.join("satchel.db")).unwrap();
        let mut statement = db.prepare("SELECT id, name, room_id FROM kiosks ORDER BY name").unwrap();
        statement
            .query_map([], |row| {
                Ok(satchel::server::store::KioskRow { id: row.get(0)?, name: row.get(1)?, room_id: row.get(2)? })
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    // A year of school days, oldest first, as the server would have received them: each
    // chunk is one kiosk's batch of a thousand events.
    const CHUNK: u64 = 1_000;
    const CHUNKS_PER_TRANSACTION: usize = 100;
    let first_at = unix_millis() - 365 * DAY_MS;
    let spacing = 365 * DAY_MS / events.max(1);
    let mut rng = Rng(14);
    let mut next_seq = vec![1u64; kiosks.len()];
    let mut sessions: Vec<String> = (0..kiosks.len()).map(|k| format!("s-{k}")).collect();
    let mut done = 0u64;
    while done < events {
        let mut chunks = Vec::new();
        while chunks.len() < CHUNKS_PER_TRANSACTION && done < events {
            let k = rng.below(kiosks.len());
            let count = CHUNK.min(events - done);
            let batch = self::events(
                &mut rng,
                &mut sessions[k],
                next_seq[k],
                count as usize,
                first_at + done * spacing,
                spacing,
            );
            next_seq[k] += count;
            chunks.push((k, batch));
            done += count;
        }
        let rows: Vec<_> = chunks
            .iter()
            .map(|(k, batch)| satchel::server::store::ActivityBatchRow {
                kiosk: &kiosks[*k],
                log: "log",
                events: batch,
            })
            .collect();
        store.in_transaction(|store| store.add_activity(&rows, unix_millis() / 1000)).unwrap();
        if done % 1_000_000 < CHUNK * CHUNKS_PER_TRANSACTION as u64 {
            eprintln!("  {done} of {events} events stored ({:.0} s)", started.elapsed().as_secs_f64());
        }
    }
    drop(store);
    std::fs::write(data.join("built"), marker).unwrap();
    (data, true, started.elapsed().as_secs_f64())
}

/// Days since 1970 as `YYYY-MM-DD` (Howard Hinnant's civil-from-days).
fn date(unix_ms: u64) -> String {
    let z = (unix_ms / DAY_MS) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    format!("{:04}-{month:02}-{day:02}", yoe + era * 400 + i64::from(month <= 2))
}

async fn search(events: u64) -> Search {
    let (data, built, build_seconds) = tokio::task::spawn_blocking(move || search_data(events)).await.unwrap();
    let bytes = database_bytes(&data);
    let server = start_server(&data);
    // A new account each run: the one-time password is only ever shown once.
    let name = format!("dsl-{}", unix_millis());
    let dsl = Staff::sign_in(&server, &data, &name, &["dsl"]).await;
    let now = unix_millis();
    let week_ago = date(now - 7 * DAY_MS);
    let (old_from, old_to) = (date(now - 200 * DAY_MS), date(now - 194 * DAY_MS));
    let yesterday = date(now - DAY_MS);
    let queries = [
        "q=bbc".to_owned(),
        "q=dinosaurs".to_owned(),
        format!("q={RARE}"),
        "q=qwertyuiop".to_owned(),
        "q=dinosaurs+facts".to_owned(),
        "q=bbc&room=3".to_owned(),
        "q=bbc&kind=searched".to_owned(),
        format!("q=dinosaurs&from={week_ago}&to={}", date(now)),
        format!("q=bbc&from={old_from}&to={old_to}"),
        format!("q={RARE}&room=3"),
        "room=3".to_owned(),
        "kind=blocked&room=5".to_owned(),
        format!("from={yesterday}&to={yesterday}"),
        String::new(),
    ];
    let mut timed = Vec::new();
    for query in queries {
        let path = format!("/activity?{query}");
        let mut times = Vec::new();
        let mut matches = 0;
        for _ in 0..SEARCHES {
            let (status, body, took) = dsl.get(&path).await;
            assert_eq!(status, 200, "{path}");
            matches = body.matches("<tr class=\"kind-").count();
            times.push(took);
        }
        let (p50, p99) = p50_p99(times);
        let label = if query.is_empty() { "/activity (no filter)".to_owned() } else { format!("/activity?{query}") };
        timed.push(Query {
            label,
            matches: if matches >= 100 { "100 (a full page)".into() } else { matches.to_string() },
            p50,
            p99,
        });
    }
    drop(server);
    Search {
        events,
        bytes,
        mb_per_million: bytes as f64 / 1e6 / (events as f64 / 1e6),
        built,
        build_seconds,
        queries: timed,
    }
}

// ---- What the kiosk's UI thread adds to a navigation. ----

struct KioskCost {
    navigations: usize,
    /// Wall-clock time a navigation: p50 and p99 of the batches.
    wall: (Duration, Duration),
    /// The thread's own CPU time: the same less the time other processes had the CPU.
    cpu: (Duration, Duration),
}

/// This thread's CPU time so far.
fn thread_cpu() -> Duration {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid timespec for the call to fill.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(status, 0, "the thread's CPU clock");
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// The gate's and the commit's logging for each navigation, timed `PER_BATCH` at a time (the
/// clock costs about as much as a navigation's logging), with the log's writer thread flushing
/// to disk once a second alongside, as on a kiosk.
fn kiosk_cost() -> KioskCost {
    const NAVIGATIONS: usize = 1_000_000;
    const PER_BATCH: usize = 100;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut builder = satchel::policy::Policy::builder();
    builder.add_list("ks1.list", &std::fs::read_to_string(root.join("allowlists/ks1.list")).unwrap());
    builder.add_list("google.list", &std::fs::read_to_string(root.join("allowlists/search/google.list")).unwrap());
    let policy = builder.build();
    let dir = std::env::temp_dir().join(format!("satchel-monitoring-kiosk-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let log = Arc::new(satchel::activity::ActivityLog::open(&dir, satchel::activity::Limits::default()).unwrap());
    log.keep_flushing().unwrap();
    let mut rng = Rng(7);
    let urls: Vec<String> = (0..4096)
        .map(|i| {
            let topic = rng.pick(TOPICS);
            if i % 5 == 0 {
                format!("https://www.google.co.uk/search?q={topic}+for+kids&safe=active")
            } else {
                format!("https://{}/{topic}-{}", rng.pick(SITES), rng.below(500))
            }
        })
        .collect();
    assert!(policy.search_terms(&urls[0]).is_some(), "the search URLs are searches to the policy");
    let (mut wall, mut cpu) =
        (Vec::with_capacity(NAVIGATIONS / PER_BATCH), Vec::with_capacity(NAVIGATIONS / PER_BATCH));
    for batch in 0..NAVIGATIONS / PER_BATCH {
        let (started, started_cpu) = (Instant::now(), thread_cpu());
        for i in 0..PER_BATCH {
            let url = &urls[(batch * PER_BATCH + i) % urls.len()];
            satchel::kiosk::note_search(&log, &policy, url);
            if satchel::kiosk::note_page(&log, url) {
                log.titled("Dinosaur Facts for Kids - KS1");
            }
        }
        wall.push(started.elapsed() / PER_BATCH as u32);
        cpu.push((thread_cpu() - started_cpu) / PER_BATCH as u32);
    }
    let _ = std::fs::remove_dir_all(&dir);
    KioskCost { navigations: NAVIGATIONS, wall: p50_p99(wall), cpu: p50_p99(cpu) }
}
