//! The kiosk API (`/api/v1/…`, described in `docs/api.md`): enrolment, the signed rules
//! bundle with long polling, reports with their screenshots, unblock requests, heartbeats.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, FromRequestParts, Query, State};
use axum::http::header::{AUTHORIZATION, ETAG, IF_NONE_MATCH};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::json;
use tracing::{info, warn};

use super::store::{Heartbeat, KioskRow, NewReport};
use super::{hash, now, random_hex, ConsoleEvent, Server};
use crate::bundle;

/// A report's body: its fields and the base64 PNG (at most 4 MB of picture).
/// A 4K screen's screenshot of a page full of photographs, as PNG in base64, fits.
const REPORT_LIMIT: usize = 24 * 1024 * 1024;
const LONGEST_WAIT: u64 = 60;

pub fn router() -> Router<Arc<Server>> {
    Router::new()
        .route("/api/v1/enrol", post(enrol).layer(DefaultBodyLimit::max(super::transport::OPEN_BODY_LIMIT)))
        .route("/api/v1/rules", get(rules))
        .route("/api/v1/reports", post(report).layer(DefaultBodyLimit::max(REPORT_LIMIT)))
        .route("/api/v1/reports/{id}/feeling", post(feeling))
        .route("/api/v1/unblock", post(unblock))
        .route("/api/v1/heartbeat", post(heartbeat))
}

/// An API failure: a status and one sentence saying what is wrong.
pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(error: rusqlite::Error) -> Self {
        warn!(%error, "database error");
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, "the server's database failed".into())
    }
}

fn refuse(status: StatusCode, message: &str) -> ApiError {
    ApiError(status, message.to_owned())
}

/// A request from an enrolled kiosk: `Authorization: Bearer <kiosk id>.<token>`.
pub struct Kiosk(KioskRow);

impl FromRequestParts<Arc<Server>> for Kiosk {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, server: &Arc<Server>) -> Result<Self, Self::Rejection> {
        let unauthorised = || refuse(StatusCode::UNAUTHORIZED, "this needs an enrolled kiosk's token");
        let value = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).ok_or_else(unauthorised)?;
        let (id, token) = value.strip_prefix("Bearer ").and_then(|t| t.split_once('.')).ok_or_else(unauthorised)?;
        let kiosk = server.store().kiosk_by_token(id, &hash(token))?.map(Kiosk).ok_or_else(unauthorised)?;
        super::transport::proven(&parts.extensions);
        Ok(kiosk)
    }
}

#[derive(Deserialize)]
struct EnrolRequest {
    code: String,
    name: String,
}

async fn enrol(State(server): State<Arc<Server>>, Json(request): Json<EnrolRequest>) -> Result<Json<serde_json::Value>, ApiError> {
    let name = request.name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(refuse(StatusCode::BAD_REQUEST, "a machine name of 1 to 100 characters is needed"));
    }
    let no_randomness = |_| refuse(StatusCode::INTERNAL_SERVER_ERROR, "the server has no randomness");
    let id = crate::outbox::new_uuid().map_err(no_randomness)?;
    let token = random_hex(32).map_err(no_randomness)?;
    let kiosk = KioskRow { id: id.clone(), name: name.to_owned(), room_id: 0 };
    let code = request.code.trim().to_ascii_uppercase();
    let room_id = server.store().enrol(&hash(&code), &kiosk, &hash(&token), now())?;
    let Some(room_id) = room_id else {
        return Err(refuse(StatusCode::FORBIDDEN, "this enrolment code is unknown, already used or expired: ask for a new one"));
    };
    let store = server.store();
    store.audit(None, "enrol", &format!("{name} ({id}) in room {room_id}"), now())?;
    let bundle = store.bundle(&KioskRow { room_id, ..kiosk }, now())?;
    info!(kiosk = id, name, room = bundle.room, "kiosk enrolled");
    Ok(Json(json!({ "kiosk_id": id, "token": token, "public_key": server.public_key(), "room": bundle.room })))
}

#[derive(Deserialize)]
struct RulesQuery {
    #[serde(default)]
    wait: u64,
}

/// The kiosk's signed bundle. With `If-None-Match` naming the version it has, `304` when
/// nothing changed; with `?wait=N` the answer waits up to N seconds for a change.
async fn rules(State(server): State<Arc<Server>>, Kiosk(kiosk): Kiosk, Query(query): Query<RulesQuery>, headers: HeaderMap) -> Result<Response, ApiError> {
    let held: Option<i64> = headers.get(IF_NONE_MATCH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim_matches('"').parse().ok());
    let mut changes = server.watch_room(kiosk.room_id);
    let current = server.store().room_version(kiosk.room_id)?;
    if held == Some(current) && query.wait > 0 {
        let wait = Duration::from_secs(query.wait.min(LONGEST_WAIT));
        // Only a newer version wakes it: an older one announced late must not answer at once
        // (the kiosk would ask again straight away, and again).
        tokio::select! {
            _ = tokio::time::timeout(wait, changes.wait_for(|version| *version > current)) => {}
            _ = server.stopped() => {}
        }
    }
    // Retired while it waited: no bundle for it (the token is checked again at answer time).
    let Some(kiosk) = server.store().kiosk_by_id(&kiosk.id)? else {
        return Err(refuse(StatusCode::UNAUTHORIZED, "this needs an enrolled kiosk's token"));
    };
    let bundle = server.store().bundle(&kiosk, now())?;
    if held == Some(bundle.version as i64) {
        return Ok(StatusCode::NOT_MODIFIED.into_response());
    }
    let etag = HeaderValue::from_str(&format!("\"{}\"", bundle.version)).expect("a number is a valid header");
    let signed = bundle::sign(&bundle, &server.key);
    Ok(([(ETAG, etag)], Json(signed)).into_response())
}

#[derive(Deserialize)]
struct ReportRequest {
    #[serde(flatten)]
    report: NewReport,
    /// The screenshot, a PNG, base64; `null` when the kiosk could not take one (the report
    /// still counts).
    screenshot: Option<String>,
}

async fn report(State(server): State<Arc<Server>>, Kiosk(kiosk): Kiosk, Json(request): Json<ReportRequest>) -> Result<Json<serde_json::Value>, ApiError> {
    let report = request.report;
    if !is_uuid(&report.id) {
        return Err(refuse(StatusCode::BAD_REQUEST, "a report id is a UUID"));
    }
    // A report sent again (its answer was lost) changes nothing, its screenshot least of all.
    let known = server.store().report_exists(&report.id)?;
    if known {
        return Ok(Json(json!({ "id": report.id, "stored": true })));
    }
    let name = match request.screenshot {
        Some(screenshot) => {
            let png = base64::engine::general_purpose::STANDARD
                .decode(screenshot.as_bytes())
                .map_err(|_| refuse(StatusCode::BAD_REQUEST, "the screenshot is not base64"))?;
            if !is_png(&png) {
                return Err(refuse(StatusCode::UNPROCESSABLE_ENTITY, "the screenshot is not a PNG picture"));
            }
            // The file is named by the UUID checked above, so no name can leave the folder.
            let name = format!("{}.png", report.id);
            let path = server.data.join("screenshots").join(&name);
            let written = tokio::task::spawn_blocking(move || crate::outbox::write_durably(&path, &png)).await;
            if !matches!(written, Ok(Ok(()))) {
                return Err(refuse(StatusCode::INTERNAL_SERVER_ERROR, "the screenshot could not be stored"));
            }
            name
        }
        None => String::new(),
    };
    let new = server.store().add_report(&kiosk, &report, &name, now())?;
    if new {
        info!(report = report.id, kiosk = kiosk.name, "report received");
        let _ = server.events.send(ConsoleEvent { kind: "report", id: report.id.clone(), room: kiosk.room_id });
    }
    Ok(Json(json!({ "id": report.id, "stored": true })))
}

#[derive(Deserialize)]
struct FeelingRequest {
    feeling: String,
}

/// The feeling a pupil picked on the thank-you page, after the report went.
async fn feeling(State(server): State<Arc<Server>>, Kiosk(kiosk): Kiosk, axum::extract::Path(id): axum::extract::Path<String>, Json(request): Json<FeelingRequest>) -> Result<StatusCode, ApiError> {
    if !matches!(request.feeling.as_str(), "scary" | "rude" | "sad" | "other") {
        return Err(refuse(StatusCode::BAD_REQUEST, "a feeling is scary, rude, sad or other"));
    }
    if server.store().set_feeling(&kiosk, &id, &request.feeling)? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(refuse(StatusCode::NOT_FOUND, "no such report from this kiosk"))
    }
}

#[derive(Deserialize)]
struct UnblockRequest {
    id: String,
    url: String,
    requested_at: u64,
}

async fn unblock(State(server): State<Arc<Server>>, Kiosk(kiosk): Kiosk, Json(request): Json<UnblockRequest>) -> Result<Json<serde_json::Value>, ApiError> {
    if !is_uuid(&request.id) || request.url.len() > 8192 {
        return Err(refuse(StatusCode::BAD_REQUEST, "an unblock request has a UUID and a URL of at most 8 KB"));
    }
    // A kiosk's clock may be wrong: no request dated in the future, where it would stay at the
    // top of the list and outlive the retention period.
    let requested_at = request.requested_at.min(now());
    if server.store().add_unblock_request(&kiosk, &request.id, &request.url, requested_at)? {
        let _ = server.events.send(ConsoleEvent { kind: "unblock", id: request.id.clone(), room: kiosk.room_id });
    }
    Ok(Json(json!({ "id": request.id, "stored": true })))
}

async fn heartbeat(State(server): State<Arc<Server>>, Kiosk(kiosk): Kiosk, Json(beat): Json<Heartbeat>) -> Result<StatusCode, ApiError> {
    server.store().heartbeat(&kiosk, &beat, now())?;
    Ok(StatusCode::NO_CONTENT)
}

fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { c == '-' } else { c.is_ascii_hexdigit() && !c.is_ascii_uppercase() })
}

/// The PNG signature followed by an IHDR chunk of a sensible size.
fn is_png(bytes: &[u8]) -> bool {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.len() < 33 || &bytes[..8] != SIGNATURE || &bytes[12..16] != b"IHDR" {
        return false;
    }
    let width = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
    let height = u32::from_be_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]);
    (1..=16384).contains(&width) && (1..=16384).contains(&height)
}
