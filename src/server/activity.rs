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

use super::api::{refuse, take, ApiError, Kiosk};
use super::limits::{cut_bytes as cut, Kind};
use super::store::{ActivityBatchRow, KioskRow};
use super::alerts::{self, Stored};
use super::{now, Server};
use crate::protocol::{ActivityAck, ActivityBatch, ActivityEvent, Happening, ACTIVITY_BATCH_EVENTS, ACTIVITY_PATH};

/// A batch as sent: a thousand events compress to far less.
const COMPRESSED_LIMIT: usize = 2 * 1024 * 1024;
/// A batch once decompressed: a thousand events of the largest allowed size would not fit, but
/// a real batch (about 200 bytes an event) fits many times over; a gzip bomb stops here.
const DECOMPRESSED_LIMIT: u64 = 16 * 1024 * 1024;
/// Batches written in one transaction at most.
const GROUP: usize = 256;

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

async fn ingest(State(server): State<Arc<Server>>, Kiosk(kiosk): Kiosk, headers: HeaderMap, body: Bytes) -> Result<Json<ActivityAck>, ApiError> {
    take(&server, &kiosk, Kind::Activity, "activity batches")?;
    let json = decompress(&headers, &body)?;
    let batch: ActivityBatch = serde_json::from_slice(&json).map_err(|e| refuse(StatusCode::BAD_REQUEST, &format!("not an activity batch: {e}")))?;
    if batch.log.is_empty() || batch.log.len() > 64 || !batch.log.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(refuse(StatusCode::BAD_REQUEST, "a batch names its log: up to 64 letters, digits and dashes"));
    }
    if batch.events.len() > ACTIVITY_BATCH_EVENTS {
        return Err(refuse(StatusCode::PAYLOAD_TOO_LARGE, &format!("a batch holds at most {ACTIVITY_BATCH_EVENTS} events")));
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
        return Err(refuse(StatusCode::SERVICE_UNAVAILABLE, "the activity could not be stored just now; send it again later"));
    }
    Ok(Json(ActivityAck { through }))
}

fn decompress(headers: &HeaderMap, body: &Bytes) -> Result<Vec<u8>, ApiError> {
    let encoding = headers.get(CONTENT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or("identity");
    let reader: Box<dyn Read + '_> = match encoding.trim().to_ascii_lowercase().as_str() {
        "gzip" => Box::new(flate2::read::GzDecoder::new(&body[..])),
        "identity" => Box::new(&body[..]),
        other => return Err(refuse(StatusCode::UNSUPPORTED_MEDIA_TYPE, &format!("activity is sent as gzip, not {other}"))),
    };
    let mut json = Vec::new();
    reader.take(DECOMPRESSED_LIMIT + 1).read_to_end(&mut json).map_err(|_| refuse(StatusCode::BAD_REQUEST, "the batch is not valid gzip"))?;
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
    let (queue, jobs) = mpsc::channel(4 * GROUP);
    tokio::spawn(write_batches(server, jobs));
    queue
}

/// Takes every batch waiting (up to [`GROUP`]) and stores them in one transaction.
async fn write_batches(server: Arc<Server>, mut jobs: mpsc::Receiver<Job>) {
    let mut group = Vec::with_capacity(GROUP);
    while jobs.recv_many(&mut group, GROUP).await > 0 {
        let taken = std::mem::take(&mut group);
        let writer = Arc::clone(&server);
        let written = tokio::task::spawn_blocking(move || {
            let result = {
                let rows: Vec<ActivityBatchRow<'_>> = taken.iter().map(|job| ActivityBatchRow { kiosk: &job.kiosk, log: &job.log, events: &job.events }).collect();
                writer.store().add_activity(&rows, now())
            };
            let stored = match result {
                Ok(new) => {
                    let stored: Vec<Stored<'_>> = taken
                        .iter()
                        .zip(&new)
                        .map(|(job, new)| Stored { kiosk_id: &job.kiosk.id, room_id: job.kiosk.room_id, events: new.iter().map(|&(index, row)| (row, &job.events[index])).collect() })
                        .collect();
                    alerts::scan(&writer, &stored, now());
                    true
                }
                Err(error) => {
                    warn!(%error, "activity not stored; the kiosks will send it again");
                    false
                }
            };
            (stored, taken)
        })
        .await;
        let Ok((ok, taken)) = written else { continue };
        for job in taken {
            let _ = job.stored.send(ok);
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
            let _ = server.store().audit(None, "retention", &format!("{deleted} activity events older than {retention_days} days deleted"), now());
        }
        tokio::time::sleep(Duration::from_secs(6 * 3600)).await;
    }
}
