//! The kiosk's link with its school server, on its own thread: it long-polls for the signed
//! rules bundle (verified, newer only, cached durably), empties the outbox (reports, unblock
//! requests, feelings) until the server acknowledges each, and sends heartbeats. With the
//! server away it keeps the rules in force and retries with backoff and jitter; when the
//! server limits what this kiosk sends, it waits as long as the server says.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ed25519_dalek::VerifyingKey;
use reqwest::StatusCode;
use tokio::sync::Notify;
use tracing::{info, warn};

use crate::activity::ActivityLog;
use crate::bundle::{self, Bundle, Signed};
use crate::config::ServerLink;
use crate::durable::{unix_now, write_durably};
use crate::protocol::{
    feeling_path, ActivityAck, ActivityBatch, FeelingRequest, Heartbeat, OutboxItem, Outgoing, Report, ReportContent,
    RulesQuery, UnblockRequest, ACTIVITY_BATCH_EVENTS, ACTIVITY_PATH, HEARTBEAT_PATH, REPORTS_PATH, RULES_PATH,
    UNBLOCK_PATH,
};

const LONG_POLL_SECONDS: u64 = 30;
const LONGEST_BACKOFF: Duration = Duration::from_secs(60);
const HEARTBEAT: Duration = Duration::from_secs(60);
/// How often the activity log is checked for events to send: with the log's own one-second
/// flush, a pupil's search reaches the server within about two seconds.
const ACTIVITY_EVERY: Duration = Duration::from_secs(1);
/// The wait when the server limits this kiosk without saying for how long, and the longest
/// wait it can ask for (then one try an hour is no flood).
const LIMITED_WAIT: Duration = Duration::from_secs(60);
const LONGEST_LIMITED_WAIT: Duration = Duration::from_secs(3600);

/// The client for the school server. Over HTTPS it trusts exactly the certificate whose
/// fingerprint was pinned at enrolment, and nothing else.
pub fn http_client(url: &str, fingerprint: Option<&str>) -> Result<reqwest::Client, String> {
    let builder = reqwest::Client::builder().connect_timeout(Duration::from_secs(10));
    let builder = match (url.starts_with("https://"), fingerprint) {
        (false, _) => builder,
        (true, None) => {
            return Err("an https server needs its certificate fingerprint (satchel enrol --fingerprint)".into())
        }
        (true, Some(text)) => {
            let pinned = crate::keys::parse_fingerprint(text).ok_or("the fingerprint is not 64 hexadecimal digits")?;
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Pinned { fingerprint: pinned, provider }))
                .with_no_client_auth();
            builder.use_preconfigured_tls(config)
        }
    };
    builder.build().map_err(|e| e.to_string())
}

/// What to tell the technician (`satchel status`) about an answer the kiosk cannot use.
fn unexpected_answer(status: StatusCode) -> String {
    if status == StatusCode::UNAUTHORIZED {
        "the server does not accept this kiosk (retired in the console?): enrol it again".into()
    } else {
        format!("the server answered {status}")
    }
}

/// Accepts the one certificate pinned at enrolment; the TLS handshake's signatures are still
/// checked against it.
#[derive(Debug)]
struct Pinned {
    fingerprint: [u8; 32],
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl rustls::client::danger::ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        use sha2::Digest;
        if sha2::Sha256::digest(end_entity.as_ref()).as_slice() == self.fingerprint {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General("the server's certificate is not the one pinned at enrolment".into()))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        signature: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            signature,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        signature: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            signature,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// Where the link notes the last thing that went wrong (Unix time, then the error).
pub fn last_error_path(state_dir: &Path) -> PathBuf {
    state_dir.join("last-error")
}

/// The outbox items waiting, and those set aside as damaged.
pub fn outbox_counts(state_dir: &Path) -> (usize, usize) {
    let outbox = state_dir.join("outbox");
    let damaged = std::fs::read_dir(outbox.join("damaged")).map(|d| d.flatten().count()).unwrap_or(0);
    (pending(&outbox).len(), damaged)
}

/// The last good bundle, as the server signed it.
pub fn cache_path(state_dir: &Path) -> PathBuf {
    state_dir.join("rules.json")
}

/// The cached bundle if it verifies with the server's key and parses; anything else is
/// moved aside (kept for whoever investigates) and never used.
pub fn load_cached(state_dir: &Path, key: &VerifyingKey) -> Option<Bundle> {
    let path = cache_path(state_dir);
    let text = std::fs::read(&path).ok()?;
    let checked = serde_json::from_slice::<Signed>(&text)
        .map_err(|e| e.to_string())
        .and_then(|signed| bundle::verify(&signed, key).map_err(|e| e.to_string()));
    match checked {
        Ok(bundle) => Some(bundle),
        Err(error) => {
            let aside = path.with_extension(format!("bad-{}", unix_now()));
            warn!(path = %path.display(), %error, aside = %aside.display(), "the cached rules are damaged: set aside, not used");
            let _ = std::fs::rename(&path, &aside);
            None
        }
    }
}

/// What the kiosk's main loop learns from the link.
pub struct Callbacks {
    /// A verified bundle newer than the one in force, and the server clock's lead over ours
    /// (seconds).
    pub rules: Box<dyn Fn(Bundle, i64) + Send>,
    /// How many reports wait in the outbox (the toolbar badge).
    pub waiting: Box<dyn Fn(usize) + Send>,
}

/// Shared with the kiosk: what it holds, whether a pupil is active, and a nudge for the
/// outbox.
#[derive(Default)]
pub struct Shared {
    pub version: AtomicU64,
    /// When the server last answered a rules request (Unix seconds; 0: not yet).
    pub last_sync: AtomicU64,
    pub active: AtomicBool,
    pub outbox_changed: Notify,
}

pub struct Link {
    base: String,
    authorization: String,
    kiosk_id: String,
    key: VerifyingKey,
    client: reqwest::Client,
    state_dir: PathBuf,
    shared: Arc<Shared>,
}

impl Link {
    pub fn new(server: &ServerLink, state_dir: &Path, shared: Arc<Shared>) -> Option<Link> {
        Some(Link {
            base: server.url.trim_end_matches('/').to_owned(),
            authorization: format!("Bearer {}.{}", server.kiosk_id, server.token),
            kiosk_id: server.kiosk_id.clone(),
            key: crate::keys::parse_public_key(&server.public_key)?,
            client: http_client(&server.url, server.fingerprint.as_deref()).ok()?,
            state_dir: state_dir.to_owned(),
            shared,
        })
    }

    /// Runs the link on its own thread until the process ends.
    pub fn start(self, activity: Arc<ActivityLog>, callbacks: Callbacks) -> std::io::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        std::thread::Builder::new().name("satchel-sync".into()).spawn(move || {
            let link = Arc::new(self);
            runtime.block_on(async {
                tokio::join!(
                    link.follow_rules(&callbacks),
                    link.empty_outbox(&callbacks),
                    link.heartbeats(),
                    link.ship_activity(&activity)
                );
            });
        })?;
        Ok(())
    }

    async fn follow_rules(&self, callbacks: &Callbacks) {
        let mut backoff = Backoff::default();
        loop {
            let held = self.shared.version.load(Ordering::Relaxed);
            let request = self
                .client
                .get(format!("{}{RULES_PATH}", self.base))
                .query(&RulesQuery { wait: LONG_POLL_SECONDS })
                .header("Authorization", &self.authorization)
                .header("If-None-Match", format!("\"{held}\""))
                .timeout(Duration::from_secs(LONG_POLL_SECONDS + 15));
            let outcome = match request.send().await {
                Ok(response) if response.status() == StatusCode::NOT_MODIFIED => Ok(()),
                Ok(response) if response.status() == StatusCode::OK => match response.json::<Signed>().await {
                    Ok(signed) => self.take(signed, held, callbacks),
                    Err(error) => Err(format!("unreadable answer: {error}")),
                },
                Ok(response) => Err(unexpected_answer(response.status())),
                Err(error) => Err(format!("cannot reach the server: {error}")),
            };
            match outcome {
                Ok(()) => {
                    backoff.reset();
                    self.shared.last_sync.store(unix_now(), Ordering::Relaxed);
                }
                Err(error) => {
                    warn!(%error, "rules not updated; the rules in force stay");
                    self.remember_error(&error);
                    backoff.wait().await;
                }
            }
        }
    }

    /// Verifies a bundle and hands it on when it is newer, after caching it durably.
    fn take(&self, signed: Signed, held: u64, callbacks: &Callbacks) -> Result<(), String> {
        let bundle = accept(&signed, &self.key, &self.kiosk_id, held)?;
        let text = serde_json::to_vec(&signed).map_err(|e| e.to_string())?;
        if let Err(error) =
            std::fs::create_dir_all(&self.state_dir).and_then(|_| write_durably(&cache_path(&self.state_dir), &text))
        {
            warn!(%error, "cannot cache the rules; they apply anyway");
        }
        info!(version = bundle.version, lesson = bundle.lesson.as_ref().map(|l| l.name.as_str()), "new rules");
        self.shared.version.store(bundle.version, Ordering::Relaxed);
        let offset = bundle.issued_at as i64 - unix_now() as i64;
        (callbacks.rules)(bundle, offset);
        Ok(())
    }

    async fn empty_outbox(&self, callbacks: &Callbacks) {
        let outbox = self.state_dir.join("outbox");
        let mut backoff = Backoff::default();
        loop {
            let items = pending(&outbox);
            (callbacks.waiting)(items.iter().filter(|path| is_report(path)).count());
            let mut pass = Pass::Emptied;
            for path in items {
                match self.deliver(&path).await {
                    Delivery::Done => {
                        let _ = std::fs::remove_file(&path).and_then(|_| std::fs::File::open(&outbox)?.sync_all());
                    }
                    Delivery::Damaged(why) => set_aside(&outbox, &path, &why),
                    Delivery::Later(why) => {
                        warn!(item = %path.display(), why, "outbox item waits for the server");
                        self.remember_error(&why);
                        pass = Pass::Later;
                        break;
                    }
                    Delivery::Limited(wait) => {
                        let why = format!("the server limits what this kiosk sends: next try in {} s", wait.as_secs());
                        warn!(item = %path.display(), why, "outbox item waits for the server");
                        self.remember_error(&why);
                        pass = Pass::Limited(wait);
                        break;
                    }
                }
            }
            let remaining = pending(&outbox).iter().filter(|path| is_report(path)).count();
            (callbacks.waiting)(remaining);
            match pass {
                Pass::Emptied => {
                    backoff.reset();
                    let _ = tokio::time::timeout(Duration::from_secs(5), self.shared.outbox_changed.notified()).await;
                }
                // The server said how long: a new item waits too (it would be refused as well).
                Pass::Limited(wait) => tokio::time::sleep(wait).await,
                Pass::Later => {
                    tokio::select! {
                        _ = backoff.wait() => {}
                        _ = self.shared.outbox_changed.notified() => {}
                    }
                }
            }
        }
    }

    async fn deliver(&self, path: &Path) -> Delivery {
        let Ok(bytes) = std::fs::read(path) else { return Delivery::Later("unreadable just now".into()) };
        let item = match serde_json::from_slice::<OutboxItem>(&bytes) {
            Ok(item) => item,
            // Not JSON, a kind this kiosk does not know, a field missing: no send can mend it.
            Err(error) => return Delivery::Damaged(format!("not an outbox item: {error}")),
        };
        let request = match &item.what {
            Outgoing::Report(content) => {
                self.post(REPORTS_PATH, &Report { id: item.id.clone(), content: content.clone() })
            }
            Outgoing::Unblock { url } => self.post(
                UNBLOCK_PATH,
                &UnblockRequest { id: item.id.clone(), url: url.clone(), requested_at: item.created },
            ),
            Outgoing::Feeling { report, feeling } => {
                self.post(&feeling_path(report), &FeelingRequest { feeling: feeling.clone() })
            }
        };
        match request.timeout(Duration::from_secs(60)).send().await {
            Ok(response) if response.status().is_success() => Delivery::Done,
            Ok(response) if response.status() == StatusCode::TOO_MANY_REQUESTS => {
                Delivery::Limited(retry_after(response.headers()))
            }
            // Another kiosk's item has this id: it can never be stored as it is.
            Ok(response) if response.status() == StatusCode::CONFLICT => {
                Delivery::Damaged("the server has another kiosk's item with this id".into())
            }
            // Better the report without its picture than no report: the pupil was thanked.
            Ok(response)
                if response.status() == StatusCode::PAYLOAD_TOO_LARGE
                    && matches!(&item.what, Outgoing::Report(ReportContent { screenshot: Some(_), .. })) =>
            {
                let mut smaller = item;
                if let Outgoing::Report(content) = &mut smaller.what {
                    content.screenshot = None;
                }
                match write_durably(path, &serde_json::to_vec(&smaller).expect("an outbox item serialises")) {
                    Ok(()) => Delivery::Later(
                        "the screenshot was too large for the server: the report goes without it".into(),
                    ),
                    Err(error) => Delivery::Later(format!("cannot rewrite the report without its screenshot: {error}")),
                }
            }
            // Its report never reached the server (set aside, or sent by an earlier
            // enrolment): the feeling has nothing to join.
            Ok(response)
                if response.status() == StatusCode::NOT_FOUND && matches!(item.what, Outgoing::Feeling { .. }) =>
            {
                Delivery::Damaged("the server has no such report".into())
            }
            // The server will never take it as it is: keep it, aside, for a person.
            Ok(response)
                if matches!(
                    response.status(),
                    StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY | StatusCode::PAYLOAD_TOO_LARGE
                ) =>
            {
                Delivery::Damaged(format!("the server refused it: {}", response.status()))
            }
            // Kept: a retired kiosk enrolled again delivers what it held.
            Ok(response) => Delivery::Later(unexpected_answer(response.status())),
            Err(error) => Delivery::Later(format!("cannot reach the server: {error}")),
        }
    }

    fn post(&self, endpoint: &str, body: &impl serde::Serialize) -> reqwest::RequestBuilder {
        self.client.post(format!("{}{endpoint}", self.base)).header("Authorization", &self.authorization).json(body)
    }

    /// Sends the activity log's events in batches until the server has them all, and then
    /// each new one as it reaches the disk. The server stores each sequence once, so a batch
    /// sent again after a lost answer is harmless.
    async fn ship_activity(&self, activity: &ActivityLog) {
        let log = activity.id();
        let mut backoff = Backoff::default();
        loop {
            let events = match activity.unsent(ACTIVITY_BATCH_EVENTS) {
                Ok(events) => events,
                Err(error) => {
                    warn!(%error, "cannot read the activity log");
                    Vec::new()
                }
            };
            if events.is_empty() {
                tokio::time::sleep(ACTIVITY_EVERY).await;
                continue;
            }
            let full = events.len() == ACTIVITY_BATCH_EVENTS;
            match self.send_activity(ActivityBatch { log: log.clone(), events }).await {
                Ok(through) => {
                    backoff.reset();
                    if let Err(error) = activity.acknowledge(through) {
                        warn!(%error, "cannot note the activity sent; it may be sent again (harmless)");
                    }
                    if !full {
                        tokio::time::sleep(ACTIVITY_EVERY).await;
                    }
                }
                Err(Refusal::Wait(wait)) => tokio::time::sleep(wait).await,
                Err(Refusal::Failed(error)) => {
                    warn!(%error, "activity waits for the server");
                    self.remember_error(&error);
                    backoff.wait().await;
                }
            }
        }
    }

    async fn send_activity(&self, batch: ActivityBatch) -> Result<u64, Refusal> {
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        serde_json::to_writer(&mut gzip, &batch).map_err(|e| Refusal::Failed(e.to_string()))?;
        let body = gzip.finish().map_err(|e| Refusal::Failed(e.to_string()))?;
        let response = self
            .client
            .post(format!("{}{ACTIVITY_PATH}", self.base))
            .header("Authorization", &self.authorization)
            .header("Content-Type", "application/json")
            .header("Content-Encoding", "gzip")
            .body(body)
            .timeout(Duration::from_secs(60))
            .send()
            .await
            .map_err(|error| Refusal::Failed(format!("cannot reach the server: {error}")))?;
        match response.status() {
            StatusCode::OK => response
                .json::<ActivityAck>()
                .await
                .map(|ack| ack.through)
                .map_err(|e| Refusal::Failed(format!("unreadable answer: {e}"))),
            StatusCode::TOO_MANY_REQUESTS => Err(Refusal::Wait(retry_after(response.headers()))),
            status => Err(Refusal::Failed(unexpected_answer(status))),
        }
    }

    /// The last thing that went wrong, for `satchel status`.
    fn remember_error(&self, error: &str) {
        let _ = std::fs::write(last_error_path(&self.state_dir), format!("{} {error}\n", unix_now()));
    }

    async fn heartbeats(&self) {
        loop {
            // What waits in the outbox, and what was set aside, for the Machines page.
            let (waiting, damaged) = outbox_counts(&self.state_dir);
            let last_sync = self.shared.last_sync.load(Ordering::Relaxed);
            let beat = Heartbeat {
                rules_version: self.shared.version.load(Ordering::Relaxed),
                last_sync: (last_sync > 0).then_some(last_sync),
                outbox_waiting: Some(waiting as u64),
                outbox_damaged: Some(damaged as u64),
                state: if self.shared.active.load(Ordering::Relaxed) { "active" } else { "idle" }.to_owned(),
                satchel_version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            };
            let sent = self.post(HEARTBEAT_PATH, &beat).timeout(Duration::from_secs(20)).send().await;
            if let Err(error) = sent {
                warn!(%error, "heartbeat not sent");
            }
            tokio::time::sleep(HEARTBEAT).await;
        }
    }
}

/// A bundle the kiosk may enforce: signed by its server, made for it, newer than `held`.
pub fn accept(signed: &Signed, key: &VerifyingKey, kiosk_id: &str, held: u64) -> Result<Bundle, String> {
    let bundle = bundle::verify(signed, key).map_err(|e| format!("bundle refused: {e}"))?;
    if bundle.kiosk_id != kiosk_id {
        return Err("bundle refused: made for another kiosk".into());
    }
    if bundle.version <= held {
        return Err(format!("bundle refused: version {} is not newer than {held} (a replay?)", bundle.version));
    }
    Ok(bundle)
}

/// Why the server did not take a batch.
enum Refusal {
    /// It asked to wait this long (a rate limit).
    Wait(Duration),
    Failed(String),
}

enum Delivery {
    Done,
    Damaged(String),
    Later(String),
    /// The server limits this kiosk: try again after this long, not sooner.
    Limited(Duration),
}

/// How a pass over the outbox ended: every item gone (delivered or set aside), or stopped at
/// one that waits for the server, with backoff or for as long as the server said.
enum Pass {
    Emptied,
    Later,
    Limited(Duration),
}

/// How long a `429` answer asks the kiosk to wait (`Retry-After` in seconds), within reason.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Duration {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse().ok())
        .map_or(LIMITED_WAIT, |seconds| {
            Duration::from_secs(seconds).clamp(Duration::from_secs(1), LONGEST_LIMITED_WAIT)
        })
}

/// Outbox items: reports first, then the rest (feelings, which need their report there
/// first, and unblock requests), each oldest first. Temporary files are hidden and never listed.
fn pending(outbox: &Path) -> Vec<PathBuf> {
    let mut items: Vec<(bool, SystemTime, PathBuf)> = std::fs::read_dir(outbox)
        .map(|dir| {
            dir.flatten()
                .map(|entry| entry.path())
                .filter(|path| {
                    path.extension().is_some_and(|e| e == "json")
                        && !path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'))
                })
                .map(|path| {
                    (!is_report(&path), std::fs::metadata(&path).and_then(|m| m.modified()).unwrap_or(UNIX_EPOCH), path)
                })
                .collect()
        })
        .unwrap_or_default();
    items.sort();
    items.into_iter().map(|(_, _, path)| path).collect()
}

fn is_report(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("report-"))
}

/// A damaged item goes to `outbox/damaged/`, logged, so it never blocks the others.
fn set_aside(outbox: &Path, path: &Path, why: &str) {
    let damaged = outbox.join("damaged");
    let target = damaged.join(path.file_name().unwrap_or_default());
    let moved = std::fs::create_dir_all(&damaged).and_then(|_| std::fs::rename(path, &target));
    warn!(item = %path.display(), why, moved = moved.is_ok(), "outbox item set aside");
}

/// Waits that double up to a minute, with jitter so a room's kiosks do not return together.
#[derive(Default)]
struct Backoff {
    failures: u32,
}

impl Backoff {
    fn reset(&mut self) {
        self.failures = 0;
    }

    async fn wait(&mut self) {
        self.failures = (self.failures + 1).min(7);
        let base = Duration::from_millis(500 * 2u64.pow(self.failures)).min(LONGEST_BACKOFF);
        let mut byte = [0u8; 1];
        let _ = getrandom::fill(&mut byte);
        let jitter = base.mul_f64(f64::from(byte[0]) / 255.0 * 0.5);
        tokio::time::sleep(base.saturating_sub(jitter / 2) + jitter).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::{example, sign};
    use ed25519_dalek::SigningKey;

    fn bundle(version: u64) -> Bundle {
        example(version, 1_795_000_000)
    }

    #[test]
    fn a_limited_kiosk_waits_as_long_as_the_server_says_within_an_hour() {
        let headers = |value: Option<&str>| {
            let mut headers = reqwest::header::HeaderMap::new();
            if let Some(value) = value {
                headers.insert(reqwest::header::RETRY_AFTER, value.parse().unwrap());
            }
            headers
        };
        assert_eq!(retry_after(&headers(Some("120"))), Duration::from_secs(120));
        assert_eq!(retry_after(&headers(Some("0"))), Duration::from_secs(1), "never straight back");
        assert_eq!(retry_after(&headers(Some("86400"))), LONGEST_LIMITED_WAIT);
        assert_eq!(retry_after(&headers(None)), LIMITED_WAIT);
        assert_eq!(retry_after(&headers(Some("Wed, 21 Oct 2026 07:28:00 GMT"))), LIMITED_WAIT);
    }

    #[test]
    fn only_a_newer_bundle_signed_for_this_kiosk_is_accepted() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let public = key.verifying_key();
        assert_eq!(accept(&sign(&bundle(5), &key), &public, "k1", 4).unwrap().version, 5);
        assert!(
            accept(&sign(&bundle(5), &key), &public, "k1", 5).unwrap_err().contains("not newer"),
            "a replay of the version in force"
        );
        assert!(
            accept(&sign(&bundle(3), &key), &public, "k1", 5).unwrap_err().contains("not newer"),
            "an older version"
        );
        assert!(accept(&sign(&bundle(6), &key), &public, "k2", 5).unwrap_err().contains("another kiosk"));
        let other = SigningKey::from_bytes(&[8; 32]);
        assert!(accept(&sign(&bundle(6), &other), &public, "k1", 5).unwrap_err().contains("signature"));
    }

    #[test]
    fn a_cache_write_cut_short_leaves_the_previous_cache_in_force() {
        let dir = std::env::temp_dir().join(format!("satchel-cut-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = SigningKey::from_bytes(&[7; 32]);
        write_durably(&cache_path(&dir), &serde_json::to_vec(&sign(&bundle(4), &key)).unwrap()).unwrap();
        // What a kill -9 in the middle of the next write leaves: half a temporary file.
        let next = serde_json::to_vec(&sign(&bundle(5), &key)).unwrap();
        std::fs::write(dir.join(".rules.json.tmp"), &next[..next.len() / 2]).unwrap();
        assert_eq!(load_cached(&dir, &key.verifying_key()).map(|b| b.version), Some(4));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_damaged_cache_is_set_aside_and_a_good_one_read() {
        let dir = std::env::temp_dir().join(format!("satchel-cache-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = SigningKey::from_bytes(&[7; 32]);
        let signed = serde_json::to_vec(&sign(&bundle(9), &key)).unwrap();
        std::fs::write(cache_path(&dir), &signed).unwrap();
        assert_eq!(load_cached(&dir, &key.verifying_key()).map(|b| b.version), Some(9));

        let mut flipped = signed.clone();
        let middle = flipped.len() / 3;
        flipped[middle] = if flipped[middle] == b'A' { b'B' } else { b'A' };
        std::fs::write(cache_path(&dir), &flipped).unwrap();
        assert_eq!(load_cached(&dir, &key.verifying_key()), None);
        assert!(!cache_path(&dir).exists(), "set aside");
        let aside = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("rules.bad-"))
            .count();
        assert_eq!(aside, 1, "kept for whoever investigates");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
