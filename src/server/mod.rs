//! `satchel-server`: the one service a school runs. Kiosks enrol with it, long-poll it for
//! their signed rules bundle, and send it reports and unblock requests; teachers use its
//! console. One SQLite file and the signing key live in the data directory.

mod activity;
mod alerts;
mod api;
mod console;
pub mod disk;
mod lessons;
mod limits;
mod login;
pub mod mail;
mod replicas;
mod screenshots;
pub mod store;
pub mod tls;
mod transport;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};
use tokio::sync::{broadcast, watch, Notify};

use crate::pages::Pages;
use tracing::{info, warn};

use store::Store;

pub const DEFAULT_DATA: &str = "/var/lib/satchel";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8470";
/// How long an enrolment code works unless told otherwise: a technician's afternoon and more.
pub const ENROL_CODE_MINUTES: u64 = 24 * 60;
/// The longest account name.
pub const ACCOUNT_NAME_CHARS: usize = 64;

/// Whether `text` can be an e-mail address (the relay is the judge of whether it exists).
pub fn is_email_address(text: &str) -> bool {
    text.len() <= 254 && text.contains('@') && !text.contains(char::is_whitespace)
}

/// The database's file in the data directory.
const DATABASE: &str = "satchel.db";

/// Where the server keeps its records: SQLite in the data directory (one school), or a
/// PostgreSQL database that several replicas share (a trust).
#[derive(Clone, Debug)]
pub enum Database {
    Sqlite(PathBuf),
    /// With how many connections each replica's requests share (`--database-connections`).
    Postgres {
        url: String,
        connections: usize,
    },
}

impl Database {
    /// Whether replicas may share it (and so must tell each other, and keep in it what a
    /// single server keeps in memory or on its disk).
    pub fn is_shared(&self) -> bool {
        matches!(self, Database::Postgres { .. })
    }

    /// SQLite in the data directory: the default.
    pub fn in_data(data: &Path) -> Database {
        Database::Sqlite(data.join(DATABASE))
    }

    /// `--database`: a `postgres://` (or `postgresql://`) URL, and the connections each
    /// replica's requests share (at least one).
    pub fn from_url(url: &str, connections: usize) -> Result<Database> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Database::Postgres { url: url.to_owned(), connections: connections.max(1) })
        } else {
            bail!("--database takes a postgres:// URL (without it, the server keeps SQLite in --data)")
        }
    }

    fn open(&self) -> store::Result<Store> {
        match self {
            Database::Sqlite(path) => Store::open(path),
            Database::Postgres { url, .. } => Store::connect(url),
        }
    }

    /// The connections requests share: SQLite has one writer whatever it is given; on
    /// PostgreSQL several let requests wait on the network side by side.
    fn open_pool(&self) -> store::Result<Vec<Mutex<Store>>> {
        let size = match self {
            Database::Sqlite(_) => 1,
            Database::Postgres { connections, .. } => *connections,
        };
        (0..size).map(|_| self.open().map(Mutex::new)).collect()
    }

    /// The activity writer's connection of its own (see [`Store::open_for_activity`]).
    fn open_for_activity(&self) -> store::Result<Store> {
        match self {
            Database::Sqlite(path) => Store::open_for_activity(path),
            Database::Postgres { url, .. } => Store::connect(url),
        }
    }

    /// Where it is, for messages: never a password.
    fn describe(&self) -> String {
        match self {
            Database::Sqlite(path) => path.display().to_string(),
            Database::Postgres { url, .. } => match url::Url::parse(url) {
                Ok(url) => format!("PostgreSQL at {}{}", url.host_str().unwrap_or("the local socket"), url.path()),
                Err(_) => "PostgreSQL".to_owned(),
            },
        }
    }
}

/// Something new for the consoles: a report or an unblock request, from a room.
#[derive(Clone, Debug)]
pub struct ConsoleEvent {
    /// The SSE event name: `report` or `unblock`.
    pub kind: &'static str,
    pub id: String,
    pub room: i64,
    /// For the safeguarding lead and admins only (alerts), never a teacher's stream.
    pub safeguarding: bool,
}

/// Connections each replica's requests share on PostgreSQL by default (besides the log
/// reader's, the activity writer's and the listener's).
pub const POSTGRES_CONNECTIONS: usize = 4;

/// The server's shared state: the database, the signing key, and who waits for which room.
pub struct Server {
    /// The first is also the one that holds this replica's leads (see [`Server::lead`]).
    stores: Vec<Mutex<Store>>,
    /// Where a request waits when every connection is busy, in turn.
    next_store: AtomicUsize,
    /// A second connection for the activity log's searches, which may take a while over a
    /// year of a school's activity: kiosks and other pages keep the first.
    log_reader: Mutex<Store>,
    key: SigningKey,
    data: PathBuf,
    database: Database,
    /// This process among the replicas sharing a database (random at each start).
    replica: u64,
    rooms: Mutex<HashMap<i64, watch::Sender<i64>>>,
    /// Each room's rules at their newest version read: a change wakes every kiosk in the room
    /// at once, and they are read for the first of them only.
    room_rules: Mutex<HashMap<i64, Arc<store::RoomRules>>>,
    lessons_changed: Notify,
    /// What the consoles listening should know at once.
    events: broadcast::Sender<ConsoleEvent>,
    /// The console's words.
    messages: Pages,
    login_guard: login::LoginGuard,
    /// Bumped whenever sessions end (sign-out, a disabled account, a password changed): the
    /// consoles' event streams check that theirs is still alive.
    sessions_ended: watch::Sender<u64>,
    /// The HTTPS certificate's fingerprint, shown with enrolment codes.
    fingerprint: std::sync::OnceLock<String>,
    /// Set at SIGTERM: long polls answer and the consoles' event streams end, so that
    /// stopping waits only for requests doing real work.
    stopping: watch::Sender<bool>,
    /// Woken at each urgent alert: the mailer sends it at once.
    urgent_alert: Notify,
    /// The concerning terms in force.
    alert_terms: alerts::Terms,
    /// Activity batches waiting for the one writer (started by the first batch).
    activity_queue: std::sync::OnceLock<tokio::sync::mpsc::Sender<activity::Job>>,
    /// What each kiosk has sent lately, against its limits.
    limits: limits::KioskLimits,
    /// The long polls each kiosk holds.
    long_polls: limits::LongPolls,
    /// The free space kept on the data directory's disk, in bytes (see [`disk`]).
    disk_floor: AtomicU64,
    disk_guard: Mutex<()>,
}

impl Server {
    /// Opens (creating on first start) the data directory: database, signing key, the
    /// built-in KS1 profile, and an admin account whose one-time password is returned once.
    pub fn open(data: &Path, database: &Database, locale: &str) -> Result<(Arc<Server>, Option<String>)> {
        let messages = Pages::new(locale)?;
        std::fs::create_dir_all(data.join("screenshots"))
            .with_context(|| format!("cannot create {}", data.display()))?;
        let key = load_or_create_key(&data.join("signing.key"))?;
        let stores =
            database.open_pool().with_context(|| format!("cannot open the database ({})", database.describe()))?;
        let log_reader = database.open()?;
        let admin_password = first_start(&stores[0].lock().unwrap_or_else(|poisoned| poisoned.into_inner()))?;
        let server = Server {
            stores,
            next_store: AtomicUsize::new(0),
            log_reader: Mutex::new(log_reader),
            key,
            data: data.to_owned(),
            database: database.clone(),
            replica: getrandom::u64().map_err(|e| anyhow::anyhow!("no randomness: {e}"))?,
            rooms: Mutex::default(),
            room_rules: Mutex::default(),
            lessons_changed: Notify::new(),
            events: broadcast::channel(256).0,
            messages,
            login_guard: login::LoginGuard::default(),
            sessions_ended: watch::channel(0).0,
            fingerprint: std::sync::OnceLock::new(),
            stopping: watch::channel(false).0,
            activity_queue: std::sync::OnceLock::new(),
            alert_terms: alerts::Terms::default(),
            urgent_alert: Notify::new(),
            limits: limits::KioskLimits::default(),
            long_polls: limits::LongPolls::default(),
            disk_floor: AtomicU64::new(disk::DEFAULT_FLOOR_MB * 1024 * 1024),
            disk_guard: Mutex::new(()),
        };
        Ok((Arc::new(server), admin_password))
    }

    pub fn store(&self) -> MutexGuard<'_, Store> {
        for store in &self.stores {
            match store.try_lock() {
                Ok(free) => return free,
                Err(std::sync::TryLockError::Poisoned(poisoned)) => return poisoned.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => {}
            }
        }
        let next = self.next_store.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % self.stores.len();
        self.stores[next].lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether this replica leads in `role` (see [`Store::lead`]): asked always on the same
    /// connection, whose session holds the lock.
    pub fn lead(&self, role: i64) -> store::Result<bool> {
        self.stores[0].lock().unwrap_or_else(|poisoned| poisoned.into_inner()).lead(role)
    }

    /// The connection for reading the activity log (see [`Server::log_reader`]).
    pub fn log_reader(&self) -> MutexGuard<'_, Store> {
        self.log_reader.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn open_activity_store(&self) -> store::Result<Store> {
        self.database.open_for_activity()
    }

    pub fn public_key(&self) -> String {
        crate::keys::public_key_text(&self.key.verifying_key())
    }

    /// Tells the kiosks waiting on a room, here and on the other replicas, that its rules
    /// are now at `version`.
    pub fn rules_changed(&self, room_id: i64, version: i64) {
        self.rules_changed_here(room_id, version);
        self.tell_replicas(replicas::Signal::Rules { room: room_id, version });
    }

    /// Tells the kiosks waiting on a room here. Two changes may tell in either order; the
    /// room's channel keeps the newest.
    fn rules_changed_here(&self, room_id: i64, version: i64) {
        let rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(sender) = rooms.get(&room_id) {
            sender.send_if_modified(|newest| {
                let newer = version > *newest;
                if newer {
                    *newest = version;
                }
                newer
            });
        }
        drop(rooms);
        self.lessons_changed.notify_one();
    }

    /// Sessions ended (sign-out, a disabled account, a password changed): the consoles' event
    /// streams here and on the other replicas check that theirs is still alive.
    pub(super) fn sessions_changed(&self) {
        self.sessions_ended_here();
        self.tell_replicas(replicas::Signal::SessionsEnded);
    }

    fn sessions_ended_here(&self) {
        self.sessions_ended.send_modify(|generation| *generation += 1);
    }

    /// Something new for the consoles listening here and on the other replicas.
    pub(super) fn console_event(&self, event: ConsoleEvent) {
        self.tell_replicas(replicas::Signal::Console {
            kind: event.kind.to_owned(),
            id: event.id.clone(),
            room: event.room,
            safeguarding: event.safeguarding,
        });
        let _ = self.events.send(event);
    }

    /// A room's rules at `version` or newer, read from the database once per version.
    fn room_rules(&self, room_id: i64, version: i64, now: u64) -> store::Result<Arc<store::RoomRules>> {
        let known = self.room_rules.lock().unwrap_or_else(|p| p.into_inner()).get(&room_id).cloned();
        if let Some(rules) = known.filter(|rules| rules.version >= version) {
            return Ok(rules);
        }
        let rules = Arc::new(self.store().room_rules(room_id, now)?);
        let mut cache = self.room_rules.lock().unwrap_or_else(|p| p.into_inner());
        let newest = cache.entry(room_id).or_insert_with(|| Arc::clone(&rules));
        if newest.version < rules.version {
            *newest = Arc::clone(&rules);
        }
        Ok(rules)
    }

    /// Resolves once the server has begun to stop.
    async fn stopped(&self) {
        let _ = self.stopping.subscribe().wait_for(|stopping| *stopping).await;
    }

    /// The newest version announced for a room. Subscribe before reading the room's version
    /// from the database, so that no change falls between the two.
    fn watch_room(&self, room_id: i64) -> watch::Receiver<i64> {
        let mut rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        rooms.entry(room_id).or_insert_with(|| watch::channel(i64::MIN).0).subscribe()
    }

    /// Creates a one-time enrolment code for a room and returns it.
    pub fn enrol_code(&self, room: &str, valid_minutes: u64) -> Result<String> {
        let store = self.store();
        let Some(room_id) = store.room_id(room)? else {
            bail!("no room called `{room}`: add it with `satchel-server add-room`")
        };
        let code = random_code()?;
        store.add_enrol_code(&hash(&code), room_id, now() + valid_minutes * 60)?;
        store.audit(None, "enrol-code", room, now())?;
        Ok(code)
    }

    /// Adds a console account of a school (or, `None`, of the trust) and returns its one-time
    /// password; a teacher is given rooms, of their school.
    pub fn add_user(&self, name: &str, role: &str, rooms: &[String], school: Option<i64>) -> Result<String> {
        if store::Role::parse(role).is_none() {
            bail!("no role `{role}`: use teacher, dsl or admin");
        }
        // Sign-in reads at most this much of a name: a longer one could never sign in.
        if name.chars().count() > ACCOUNT_NAME_CHARS {
            bail!("{}", self.messages.message("console-name-too-long").unwrap_or_default());
        }
        // Hashed first: argon2 takes a while, and the store's lock holds up every request.
        let password = random_code()?;
        let password_hash = hash_password(&password)?;
        let store = self.store();
        let mut room_ids = Vec::new();
        for room in rooms {
            let Some(id) = store.room_id(room)? else { bail!("no room called `{room}`") };
            if school.is_some() && store.room_school(id)? != school {
                bail!("the room `{room}` is in another school");
            }
            room_ids.push(id);
        }
        if store.user_login(name)?.is_some() {
            bail!("there is already an account called `{name}`");
        }
        let id = store.add_user(name, &password_hash, role, school, now())?;
        for room in room_ids {
            store.assign_room(id, room)?;
        }
        store.audit(None, "add-user", &format!("{name} ({role})"), now())?;
        Ok(password)
    }

    /// Sets where an account's alert e-mails go (`None` clears it); `by` is the member of
    /// staff who did it (`None` on the command line), for the audit log.
    pub fn set_email(&self, name: &str, email: Option<&str>, by: Option<i64>) -> Result<()> {
        if let Some(email) = email.filter(|email| !is_email_address(email)) {
            bail!("`{email}` is not an e-mail address");
        }
        let store = self.store();
        let Some((id, _)) = store.user_login(name)? else { bail!("no account called `{name}`") };
        store.set_email(id, email)?;
        store.audit(by, "set-email", &format!("{name}: {}", email.unwrap_or("none")), now())?;
        Ok(())
    }

    /// Gives an account a new one-time password (changed at its next sign-in) and ends its
    /// sessions; returns the password to hand over.
    pub fn reset_password(&self, user_id: i64) -> Result<String> {
        let password = random_code()?;
        let password_hash = hash_password(&password)?;
        self.store().set_password(user_id, &password_hash, true, None)?;
        self.sessions_changed();
        Ok(password)
    }

    /// Where the first admin's one-time password is written when it cannot be shown on a
    /// terminal (started by systemd, whose journal keeps what a service prints).
    fn first_admin_password_file(&self) -> PathBuf {
        self.data.join("first-admin-password")
    }

    /// Writes the first admin's one-time password to a file only the server's user can read,
    /// and returns its path.
    pub fn keep_first_admin_password(&self, password: &str) -> Result<PathBuf> {
        let file = self.first_admin_password_file();
        let _ = std::fs::remove_file(&file);
        write_private(&file, format!("{password}\n").as_bytes())
            .with_context(|| format!("cannot write {}", file.display()))?;
        Ok(file)
    }

    /// The first admin has chosen a password: the file holding the one-time one goes.
    fn forget_first_admin_password(&self, user_id: i64) {
        if matches!(self.store().first_admin(), Ok(Some(first)) if first == user_id) {
            let _ = std::fs::remove_file(self.first_admin_password_file());
        }
    }

    /// Adds a lesson site list (the console's format: `address | title | picture` a line).
    pub fn add_lesson(&self, name: &str, sites: &str) -> std::result::Result<(), Vec<String>> {
        let (list, tiles) = lessons::parse_sites(sites)?;
        let store = self.store();
        store.add_lesson(name, &list, &tiles, None).map_err(|e| vec![e.to_string()])?;
        let _ = store.audit(None, "add-lesson", name, now());
        Ok(())
    }

    /// Adds a room to a school, using a profile (the built-in KS1 profile by default); `by` is
    /// the member of staff who did it (`None` on the command line), for the audit log.
    pub fn add_room(&self, room: &str, profile: &str, school: i64, by: Option<i64>) -> Result<()> {
        if room.is_empty() {
            bail!("a room needs a name");
        }
        let store = self.store();
        let Some(profile_id) = store.profile_id(profile)? else { bail!("no profile called `{profile}`") };
        // One name for one room across the trust: kiosks, reports and the log name rooms.
        if store.room_id(room)?.is_some() {
            bail!("there is already a room called `{room}`");
        }
        store.add_room(room, profile_id, school)?;
        store.audit(by, "add-room", &format!("{room} (school {school})"), now())?;
        Ok(())
    }

    /// Adds a school to the trust and returns its id.
    pub fn add_school(&self, name: &str, by: Option<i64>) -> Result<i64> {
        check_school_name(name)?;
        let store = self.store();
        let Some(id) = store.add_school(name)? else { bail!("there is already a school called `{name}`") };
        store.audit(by, "add-school", &format!("{name} (school {id})"), now())?;
        Ok(id)
    }

    pub fn rename_school(&self, id: i64, name: &str, by: Option<i64>) -> Result<()> {
        check_school_name(name)?;
        let store = self.store();
        if !store.rename_school(id, name)? {
            bail!("no school {id}, or there is already a school called `{name}`");
        }
        store.audit(by, "rename-school", &format!("school {id} is now {name}"), now())?;
        Ok(())
    }

    /// Whether pages name each row's school: for the trust's staff looking at every school,
    /// once there are several.
    pub fn shows_schools(&self, user: &store::User) -> Result<bool, store::Error> {
        Ok(user.shown_school().is_none() && self.store().schools()?.len() > 1)
    }

    /// The school named on the command line; one left out is the only school, while there is
    /// only one.
    pub fn school_named(&self, name: Option<&str>) -> Result<i64> {
        let store = self.store();
        match name {
            Some(name) => store.school_id(name)?.ok_or_else(|| anyhow::anyhow!("no school called `{name}`")),
            None => match store.schools()?.as_slice() {
                [only] => Ok(only.id),
                _ => bail!("this server has several schools: say which with --school"),
            },
        }
    }

    /// Deletes reports and their screenshots once they are older than the retention period.
    async fn expire_reports(self: Arc<Self>, retention_days: u64) {
        loop {
            let cutoff = now().saturating_sub(retention_days * 86_400);
            let expired = self.store().expire_reports(cutoff);
            match expired {
                Ok(names) => {
                    self.remove_screenshots(&names);
                    if !names.is_empty() {
                        info!(count = names.len(), retention_days, "old reports deleted");
                        let _ = self.store().audit(
                            None,
                            "retention",
                            &format!("{} reports older than {retention_days} days deleted", names.len()),
                            now(),
                        );
                    }
                }
                Err(error) => warn!(%error, "cannot delete old reports"),
            }
            tokio::time::sleep(Duration::from_secs(6 * 3600)).await;
        }
    }

    /// Ends lessons when their time is up, so rules never follow a class into the next one.
    async fn end_lessons_on_time(self: Arc<Self>) {
        loop {
            let due = self.store().end_lessons_due(now());
            match due {
                Ok(rooms) => {
                    for (room, version) in rooms {
                        info!(room, version, "lesson ended on time");
                        self.rules_changed(room, version);
                    }
                }
                Err(error) => warn!(%error, "cannot end lessons"),
            }
            let next = self.store().next_lesson_end().ok().flatten();
            let wait =
                next.map_or(Duration::from_secs(60), |at| Duration::from_secs(at.saturating_sub(now()).clamp(0, 60)));
            tokio::select! {
                _ = tokio::time::sleep(wait.max(Duration::from_millis(200))) => {}
                _ = self.lessons_changed.notified() => {}
            }
        }
    }
}

/// How long the server keeps what it is sent, in days: the school's own policy decides.
#[derive(Clone, Copy, Debug)]
pub struct Retention {
    pub reports_days: u64,
    pub activity_days: u64,
}

/// Serves until SIGTERM or Ctrl+C. Plain HTTP only on loopback (tests, the demo); anywhere
/// else, or with `tls`, HTTPS.
pub async fn serve(server: Arc<Server>, listen: SocketAddr, retention: Retention, tls: Option<tls::Tls>) -> Result<()> {
    if tls.is_none() && !listen.ip().is_loopback() {
        bail!("{listen}: plain HTTP only on loopback; beyond it satchel-server needs HTTPS");
    }
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    tokio::spawn(replicas::listen(Arc::clone(&server)));
    tokio::spawn(Arc::clone(&server).end_lessons_on_time());
    tokio::spawn(Arc::clone(&server).expire_reports(retention.reports_days));
    tokio::spawn(activity::expire(Arc::clone(&server), retention.activity_days));
    match &tls {
        None => info!(address = %listener.local_addr()?, "satchel-server listening (HTTP)"),
        Some(tls) => {
            info!(address = %listener.local_addr()?, fingerprint = tls.fingerprint, "satchel-server listening (HTTPS)");
            // Shown with each enrolment code made in the console.
            let _ = server.fingerprint.set(tls.fingerprint.clone());
        }
    }
    let app = api::router()
        .merge(activity::router())
        .merge(console::router())
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&server), transport::bound_body))
        .with_state(Arc::clone(&server));
    let stop = async move {
        shutdown_signal().await;
        info!("stopping: finishing the requests in flight");
        server.stopping.send_replace(true);
    };
    transport::serve(listener, app, tls.map(|tls| tls.config), stop).await;
    info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("a SIGTERM handler");
    tokio::select! {
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// A school's name: something, and no longer than an account's.
fn check_school_name(name: &str) -> Result<()> {
    if name.is_empty() || name.chars().count() > ACCOUNT_NAME_CHARS {
        bail!("a school needs a name of 1 to {ACCOUNT_NAME_CHARS} characters");
    }
    Ok(())
}

/// The built-in profile and the first admin, on a database that has neither. Replicas of a
/// new trust may start at the same moment: what another made first is left as it is.
fn first_start(store: &Store) -> Result<Option<String>> {
    if store.profile_id("KS1")?.is_none() {
        let config = crate::config::KioskConfig::default();
        store.add_built_in_profile("KS1", crate::config::BUILT_IN_LIST.1, config.search, &config.tiles)?;
    }
    if store.user_count()? > 0 {
        return Ok(None);
    }
    let password = random_code()?;
    if !store.add_first_admin(&hash_password(&password)?, now())? {
        return Ok(None);
    }
    store.audit(None, "first-start", "admin account created", now())?;
    Ok(Some(password))
}

fn load_or_create_key(path: &Path) -> Result<SigningKey> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let seed: [u8; 32] =
                bytes.try_into().map_err(|_| anyhow::anyhow!("{}: not a 32-byte ed25519 key", path.display()))?;
            Ok(SigningKey::from_bytes(&seed))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
            write_private(path, &seed)?;
            Ok(SigningKey::from_bytes(&seed))
        }
        Err(error) => Err(error).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

/// The server's clock, as every stored time uses it.
pub use crate::durable::unix_now as now;

/// SHA-256 of a long random secret (tokens, codes): enough, as they cannot be guessed.
pub fn hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn hash_password(password: &str) -> Result<String> {
    crate::secrets::hash(password).map_err(|e| anyhow::anyhow!(e))
}

/// A secret of `bytes` random bytes, as hex.
pub fn random_hex(bytes: usize) -> std::io::Result<String> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).map_err(std::io::Error::other)?;
    Ok(buffer.iter().map(|b| format!("{b:02x}")).collect())
}

/// A code a person can read aloud and type: 12 letters and digits without look-alikes.
fn random_code() -> Result<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect())
}

#[cfg(test)]
mod tests {
    use super::{Database, Server};

    #[test]
    fn a_database_url_is_postgresql_with_at_least_one_connection() {
        assert!(matches!(
            Database::from_url("postgres://db.trust.example/satchel", 0),
            Ok(Database::Postgres { connections: 1, .. })
        ));
        assert!(Database::from_url("mysql://db.trust.example/satchel", 4).is_err());
    }

    #[test]
    fn a_rooms_channel_keeps_the_newest_version_whatever_order_changes_are_told_in() {
        let data = std::env::temp_dir().join(format!("satchel-server-unit-{}", std::process::id()));
        let (server, _) = Server::open(&data, &Database::in_data(&data), "en-GB").unwrap();
        let mut watching = server.watch_room(7);
        server.rules_changed(7, 11);
        server.rules_changed(7, 10);
        assert_eq!(*watching.borrow_and_update(), 11, "the late, older version is not announced");
        server.rules_changed(7, 10);
        assert!(!watching.has_changed().unwrap(), "nothing newer: no wake-up");
        server.rules_changed(7, 12);
        assert_eq!(*watching.borrow_and_update(), 12);
        std::fs::remove_dir_all(data).unwrap();
    }
}
