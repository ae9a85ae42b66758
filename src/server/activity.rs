//! Activity ingest: kiosks send their pupils' browsing events in gzip-compressed batches
//! (`POST /api/v1/activity`); each is checked, capped, and stored once per (kiosk, log,
//! sequence). Batches arriving together are written in one transaction by one writer task,
//! so a thousand kiosks cost a few fsyncs a second rather than a thousand.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header::CONTENT_ENCODING;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

use super::alerts::{self, Stored};
use super::api::{refuse, take, ApiError, Kiosk};
use super::limits::{cut_bytes as cut, Kind};
use super::store::{ActivityBatchRow, KioskRow, Store};
use super::{now, Server};
use crate::protocol::{ActivityAck, ActivityBatch, ActivityEvent, Happening, ACTIVITY_BATCH_EVENTS, ACTIVITY_PATH};

/// A batch as sent: a thousand events compress to far less.
const COMPRESSED_LIMIT: usize = 2 * 1024 * 1024;
/// A batch once decompressed: a thousand events of the largest allowed size would not fit, but
/// a real batch (about 200 bytes an event) fits many times over; a gzip bomb stops here.
const DECOMPRESSED_LIMIT: u64 = 16 * 1024 * 1024;
/// Events written in one transaction at most (a few tens of milliseconds of the writer's
/// time): what holds the database's write lock at once.
const TRANSACTION_EVENTS: usize = 4_000;
/// Batches waiting for the writer at most; a handler with a batch waits for room (and the
/// kiosk, for its answer), which is how a flood slows its senders.
const QUEUED: usize = 1_024;
/// The write lock left free between two transactions while batches wait: a millisecond's
/// more than the other connections' busy wait.
const WRITER_PAUSE: Duration = Duration::from_millis(3);

pub fn router() -> Router<Arc<Server>> {
    Router::new().route(ACTIVITY_PATH, post(ingest).layer(DefaultBodyLimit::max(COMPRESSED_LIMIT)))
}

/// One batch waiting for the writer, and where to tell its handler that it is stored.
pub(super) struct Job {
    kiosk: KioskRow,
    log: String,
    events: Vec<ActivityEvent>,
    stored: oneshot::Sender<bool>,
}

async fn ingest(
    State(server): State<Arc<Server>>,
    Kiosk(kiosk): Kiosk,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ActivityAck>, ApiError> {
    take(&server, &kiosk, Kind::Activity, "activity batches")?;
    let json = decompress(&headers, &body)?;
    let batch: ActivityBatch = serde_json::from_slice(&json)
        .map_err(|e| refuse(StatusCode::BAD_REQUEST, &format!("not an activity batch: {e}")))?;
    if batch.log.is_empty() || batch.log.len() > 64 || !batch.log.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(refuse(StatusCode::BAD_REQUEST, "a batch names its log: up to 64 letters, digits and dashes"));
    }
    if batch.events.len() > ACTIVITY_BATCH_EVENTS {
        return Err(refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("a batch holds at most {ACTIVITY_BATCH_EVENTS} events"),
        ));
    }
    let through = batch.events.iter().filter_map(|event| event.get("seq")?.as_u64()).max().unwrap_or(0);
    let received = batch.events.len();
    let latest = (now() + 86_400) * 1000;
    let events: Vec<ActivityEvent> = batch
        .events
        .into_iter()
        .filter_map(|event| serde_json::from_value::<ActivityEvent>(event).ok())
        .filter(|event| event.seq > 0)
        .map(|event| capped(event, latest))
        .collect();
    if events.len() < received {
        // A newer kiosk's kind of event, or a damaged one: the rest still count.
        warn!(kiosk = kiosk.id, skipped = received - events.len(), "activity events not understood were skipped");
    }
    let (stored, answer) = oneshot::channel();
    let queue = server.activity_queue.get_or_init(|| start_writer(Arc::clone(&server)));
    let job = Job { kiosk, log: batch.log, events, stored };
    if queue.send(job).await.is_err() || !answer.await.unwrap_or(false) {
        return Err(refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "the activity could not be stored just now; send it again later",
        ));
    }
    Ok(Json(ActivityAck { through }))
}

fn decompress(headers: &HeaderMap, body: &Bytes) -> Result<Vec<u8>, ApiError> {
    let encoding = headers.get(CONTENT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or("identity");
    let reader: Box<dyn Read + '_> = match encoding.trim().to_ascii_lowercase().as_str() {
        "gzip" => Box::new(flate2::read::GzDecoder::new(&body[..])),
        "identity" => Box::new(&body[..]),
        other => {
            return Err(refuse(StatusCode::UNSUPPORTED_MEDIA_TYPE, &format!("activity is sent as gzip, not {other}")))
        }
    };
    let mut json = Vec::new();
    reader
        .take(DECOMPRESSED_LIMIT + 1)
        .read_to_end(&mut json)
        .map_err(|_| refuse(StatusCode::BAD_REQUEST, "the batch is not valid gzip"))?;
    if json.len() as u64 > DECOMPRESSED_LIMIT {
        return Err(refuse(StatusCode::PAYLOAD_TOO_LARGE, "the batch is too large once decompressed"));
    }
    Ok(json)
}

/// Every text field cut to a length the console can show, and no time in the future (a
/// kiosk's clock may be wrong; such an event would stay on top of every list).
fn capped(mut event: ActivityEvent, latest: u64) -> ActivityEvent {
    event.at = event.at.min(latest);
    cut(&mut event.session, 64);
    if let Some(lesson) = &mut event.lesson {
        cut(lesson, 200);
    }
    match &mut event.what {
        Happening::SessionStart | Happening::SessionEnd { .. } | Happening::Dropped { .. } => {}
        Happening::Opened { url } => cut(url, 8192),
        Happening::Titled { url, title } => {
            cut(url, 8192);
            cut(title, 1024);
        }
        Happening::Blocked { url, rule, category, reason } => {
            cut(url, 8192);
            rule.iter_mut().chain(category.iter_mut()).for_each(|text| cut(text, 1024));
            cut(reason, 1024);
        }
        Happening::Searched { engine, terms, url } => {
            cut(engine, 32);
            cut(terms, 1024);
            cut(url, 8192);
        }
        Happening::Told { url, report: item } | Happening::Asked { url, ask: item } => {
            cut(url, 8192);
            cut(item, 64);
        }
        Happening::SubresourcesBlocked { page, host, .. } => {
            cut(page, 8192);
            cut(host, 255);
        }
    }
    event
}

fn start_writer(server: Arc<Server>) -> mpsc::Sender<Job> {
    let (queue, jobs) = mpsc::channel(QUEUED);
    let started =
        std::thread::Builder::new().name("activity-writer".into()).spawn(move || write_batches(&server, jobs));
    if let Err(error) = started {
        // The queue's receiver went with the thread: every batch is answered 503 and sent again.
        warn!(%error, "cannot start the activity writer");
    }
    queue
}

/// The writer, on a thread and a database connection of its own: it takes every batch waiting
/// (up to [`TRANSACTION_EVENTS`]) and stores them, with their alerts, in one transaction.
/// Between transactions it leaves the write lock free a moment while more batches wait, so a
/// lesson started or a report sent is never kept waiting behind a stream of activity.
fn write_batches(server: &Server, mut jobs: mpsc::Receiver<Job>) {
    let store = match server.open_activity_store() {
        Ok(store) => store,
        Err(error) => {
            warn!(%error, "the activity writer cannot open the database; batches will be sent again");
            while let Some(job) = jobs.blocking_recv() {
                let _ = job.stored.send(false);
            }
            return;
        }
    };
    while let Some(first) = jobs.blocking_recv() {
        let mut events = first.events.len();
        let mut group = vec![first];
        while events < TRANSACTION_EVENTS {
            let Ok(job) = jobs.try_recv() else { break };
            events += job.events.len();
            group.push(job);
        }
        let stored = write_group(server, &store, &group);
        for job in group {
            let _ = job.stored.send(stored);
        }
        if !jobs.is_empty() {
            std::thread::sleep(WRITER_PAUSE);
        }
    }
}

fn write_group(server: &Server, store: &Store, group: &[Job]) -> bool {
    let matcher = server.alert_terms.current(store);
    let now = now();
    let written = store.in_transaction(|store| {
        let rows: Vec<ActivityBatchRow<'_>> = group
            .iter()
            .map(|job| ActivityBatchRow { kiosk: &job.kiosk, log: &job.log, events: &job.events })
            .collect();
        let new = store.add_activity(&rows, now)?;
        let stored: Vec<Stored<'_>> = group
            .iter()
            .zip(&new)
            .map(|(job, new)| Stored {
                kiosk_id: &job.kiosk.id,
                machine: new.machine,
                room_id: job.kiosk.room_id,
                events: new.rows.iter().map(|row| (*row, &job.events[row.index])).collect(),
            })
            .collect();
        alerts::scan(store, &matcher, &stored, now)
    });
    match written {
        Ok(raised) => {
            alerts::announce(server, &raised);
            true
        }
        Err(error) => {
            warn!(%error, "activity not stored; the kiosks will send it again");
            false
        }
    }
}

/// Deletes activity older than the school's retention period, a slice at a time.
pub(super) async fn expire(server: Arc<Server>, retention_days: u64) {
    loop {
        let cutoff = now().saturating_sub(retention_days * 86_400) * 1000;
        let mut deleted = 0;
        loop {
            match server.store().expire_activity(cutoff, 10_000) {
                Ok(0) => break,
                Ok(count) => deleted += count,
                Err(error) => {
                    warn!(%error, "cannot delete old activity");
                    break;
                }
            }
            tokio::task::yield_now().await;
        }
        if deleted > 0 {
            info!(deleted, retention_days, "old activity deleted");
            let _ = server.store().audit(
                None,
                "retention",
                &format!("{deleted} activity events older than {retention_days} days deleted"),
                now(),
            );
        }
        tokio::time::sleep(Duration::from_secs(6 * 3600)).await;
    }
}
