//! The kiosk API (`/api/v1/…`, described in `docs/api.md`): enrolment, the signed rules
//! bundle with long polling, reports with their screenshots, unblock requests, heartbeats;
//! each within the limits of [`super::limits`].

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, FromRequestParts, Query, State};
use axum::http::header::{AUTHORIZATION, ETAG, IF_NONE_MATCH, RETRY_AFTER};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use tracing::{info, warn};

use super::limits::{self, Kind};
use super::store::{KioskRow, Screenshot, Sent};
use super::{hash, now, random_hex, ConsoleEvent, Server};
use crate::bundle;
use crate::protocol::{
    EnrolRequest, Enrolment, ErrorBody, FeelingRequest, Heartbeat, Received, Report, ReportContent, RulesQuery,
    UnblockRequest, ENROL_PATH, FEELING_PATH, HEARTBEAT_PATH, REPORTS_PATH, RULES_PATH, UNBLOCK_PATH,
};

/// A report's body: its fields and the base64 PNG (at most 4 MB of picture).
/// A 4K screen's screenshot of a page full of photographs, as PNG in base64, fits.
const REPORT_LIMIT: usize = 24 * 1024 * 1024;
const LONGEST_WAIT: u64 = 60;

pub fn router() -> Router<Arc<Server>> {
    Router::new()
        .route(ENROL_PATH, post(enrol).layer(DefaultBodyLimit::max(super::transport::OPEN_BODY_LIMIT)))
        .route(RULES_PATH, get(rules))
        .route(REPORTS_PATH, post(report).layer(DefaultBodyLimit::max(REPORT_LIMIT)))
        .route(FEELING_PATH, post(feeling))
        .route(UNBLOCK_PATH, post(unblock))
        .route(HEARTBEAT_PATH, post(heartbeat))
}

/// An API failure: a status and one sentence saying what is wrong, and for `429` how long to
/// wait.
pub struct ApiError(StatusCode, String, Option<Duration>);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.0, Json(ErrorBody { error: self.1 })).into_response();
        if let Some(wait) = self.2 {
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(limits::retry_after_seconds(wait)));
        }
        response
    }
}

impl From<super::store::Error> for ApiError {
    fn from(error: super::store::Error) -> Self {
        warn!(%error, "database error");
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, "the server's database failed".into(), None)
    }
}

pub(super) fn refuse(status: StatusCode, message: &str) -> ApiError {
    ApiError(status, message.to_owned(), None)
}

/// `429`: this kiosk has sent its share for now; it may send again after `wait`.
fn limited(kiosk: &KioskRow, what: &str, wait: Duration) -> ApiError {
    warn!(kiosk = kiosk.id, name = kiosk.name, what, wait_seconds = wait.as_secs(), "kiosk over its limit");
    ApiError(
        StatusCode::TOO_MANY_REQUESTS,
        format!("this kiosk has sent too many {what} for now: wait and send again"),
        Some(wait),
    )
}

/// Counts one `kind` from the kiosk against its limits.
pub(super) fn take(server: &Server, kiosk: &KioskRow, kind: Kind, what: &str) -> Result<(), ApiError> {
    server.take_allowance(&kiosk.id, kind).map_err(|wait| limited(kiosk, what, wait))
}

/// Whether an id the kiosk made is new (`Ok(true)`), a repeat of its own (`Ok(false)`: answer
/// as before), or already another kiosk's (`409`: the item can never be stored under it).
fn is_new(server: &Server, kiosk: &KioskRow, item: Sent, id: &str) -> Result<bool, ApiError> {
    match server.store().sender(item, id)? {
        None => Ok(true),
        Some(sender) if sender == kiosk.id => Ok(false),
        Some(_) => {
            Err(refuse(StatusCode::CONFLICT, "another kiosk already sent something with this id: make a new one"))
        }
    }
}

/// A request from an enrolled kiosk: `Authorization: Bearer <kiosk id>.<token>`.
pub struct Kiosk(pub(super) KioskRow);

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

async fn enrol(
    State(server): State<Arc<Server>>,
    Json(request): Json<EnrolRequest>,
) -> Result<Json<Enrolment>, ApiError> {
    let name = request.name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(refuse(StatusCode::BAD_REQUEST, "a machine name of 1 to 100 characters is needed"));
    }
    if request.code.chars().count() > limits::CODE_CHARS {
        return Err(refuse(StatusCode::BAD_REQUEST, "an enrolment code is 12 letters and digits"));
    }
    let no_randomness = |_| refuse(StatusCode::INTERNAL_SERVER_ERROR, "the server has no randomness");
    let id = crate::durable::new_uuid().map_err(no_randomness)?;
    let token = random_hex(32).map_err(no_randomness)?;
    let kiosk = KioskRow { id: id.clone(), name: name.to_owned(), room_id: 0 };
    let code = request.code.trim().to_ascii_uppercase();
    let room_id = server.store().enrol(&hash(&code), &kiosk, &hash(&token), now())?;
    let Some(room_id) = room_id else {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "this enrolment code is unknown, already used or expired: ask for a new one",
        ));
    };
    let store = server.store();
    store.audit(None, "enrol", &format!("{name} ({id}) in room {room_id}"), now())?;
    let bundle = store.bundle(&KioskRow { room_id, ..kiosk }, now())?;
    info!(kiosk = id, name, room = bundle.room, "kiosk enrolled");
    Ok(Json(Enrolment { kiosk_id: id, token, public_key: server.public_key(), room: bundle.room }))
}

/// The kiosk's signed bundle. With `If-None-Match` naming the version it has, `304` when
/// nothing changed; with `?wait=N` the answer waits up to N seconds for a change.
async fn rules(
    State(server): State<Arc<Server>>,
    Kiosk(kiosk): Kiosk,
    Query(query): Query<RulesQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let held: Option<i64> =
        headers.get(IF_NONE_MATCH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim_matches('"').parse().ok());
    let mut changes = server.watch_room(kiosk.room_id);
    let current = server.store().room_version(kiosk.room_id)?;
    let holding = server.long_polls.hold(&kiosk.id);
    if held == Some(current) && query.wait > 0 && holding.is_some() {
        let wait = Duration::from_secs(query.wait.min(LONGEST_WAIT));
        // Only a newer version wakes it: an older one announced late must not answer at once
        // (the kiosk would ask again straight away, and again).
        tokio::select! {
            _ = tokio::time::timeout(wait, changes.wait_for(|version| *version > current)) => {}
            _ = server.stopped() => {}
        }
    }
    // Retired while it waited: no bundle for it (the token is checked again at answer time).
    let Some((kiosk, version)) = server.store().kiosk_and_version(&kiosk.id)? else {
        return Err(refuse(StatusCode::UNAUTHORIZED, "this needs an enrolled kiosk's token"));
    };
    if held == Some(version) {
        return Ok(StatusCode::NOT_MODIFIED.into_response());
    }
    let now = now();
    let bundle = server.room_rules(kiosk.room_id, version, now)?.bundle_for(&kiosk.id, now);
    let etag = HeaderValue::from_str(&format!("\"{}\"", bundle.version)).expect("a number is a valid header");
    let signed = bundle::sign(&bundle, &server.key);
    Ok(([(ETAG, etag)], Json(signed)).into_response())
}

async fn report(
    State(server): State<Arc<Server>>,
    Kiosk(kiosk): Kiosk,
    Json(mut report): Json<Report>,
) -> Result<Json<Received>, ApiError> {
    if !is_uuid(&report.id) {
        return Err(refuse(StatusCode::BAD_REQUEST, "a report id is a UUID"));
    }
    // A report sent again (its answer was lost) changes nothing, its screenshot least of all,
    // and costs nothing against the limits.
    if !is_new(&server, &kiosk, Sent::Report, &report.id)? {
        return Ok(Json(Received { id: report.id, stored: true, screenshot_kept: None }));
    }
    take(&server, &kiosk, Kind::Report, "reports")?;
    cap_report(&mut report.content);
    let screenshot = match report.content.screenshot.take() {
        Some(screenshot) => {
            let png = base64::engine::general_purpose::STANDARD
                .decode(screenshot.as_bytes())
                .map_err(|_| refuse(StatusCode::BAD_REQUEST, "the screenshot is not base64"))?;
            if !is_png(&png) {
                return Err(refuse(StatusCode::UNPROCESSABLE_ENTITY, "the screenshot is not a PNG picture"));
            }
            keep_screenshot(&server, &kiosk, &report.id, png).await?
        }
        None => Screenshot::NotSent,
    };
    let new = server.store().add_report(&kiosk, &report, &screenshot, now())?;
    if new {
        info!(report = report.id, kiosk = kiosk.name, "report received");
        server.console_event(ConsoleEvent {
            kind: "report",
            id: report.id.clone(),
            room: kiosk.room_id,
            safeguarding: false,
        });
    }
    let screenshot_kept = matches!(screenshot, Screenshot::Stored { .. });
    Ok(Json(Received { id: report.id, stored: true, screenshot_kept: Some(screenshot_kept) }))
}

/// What a report may hold: its page's address and title cut to their caps (never refused: the
/// report is what matters), names cut, a feeling the console knows or none, and no date in
/// the future (where it would outlive the retention period).
fn cap_report(report: &mut ReportContent) {
    limits::cut_bytes(&mut report.url, limits::URL_BYTES);
    limits::cut_bytes(&mut report.title, limits::TITLE_BYTES);
    for name in [&mut report.profile, &mut report.lesson].into_iter().flatten() {
        limits::cut_chars(name, limits::NAME_CHARS);
    }
    report.feeling = report.feeling.take().filter(|feeling| is_feeling(feeling));
    report.happened_at = report.happened_at.min(now());
}

/// Stores a report's screenshot if the kiosk's quota and the disk floor allow; otherwise the
/// report goes without it.
async fn keep_screenshot(
    server: &Arc<Server>,
    kiosk: &KioskRow,
    report_id: &str,
    png: Vec<u8>,
) -> Result<Screenshot, ApiError> {
    let bytes = png.len() as u64;
    if server.store().screenshot_bytes(&kiosk.id)? + bytes > limits::SCREENSHOT_BYTES {
        warn!(
            kiosk = kiosk.id,
            name = kiosk.name,
            report = report_id,
            "screenshot quota used up: the report is kept without its screenshot"
        );
        return Ok(Screenshot::Refused("quota"));
    }
    // The file is named by the UUID checked before, so no name can leave the folder.
    let name = format!("{report_id}.png");
    let (server, stored) = (Arc::clone(server), name.clone());
    let written = tokio::task::spawn_blocking(move || server.put_screenshot(&stored, &png)).await;
    match written {
        Ok(Ok(true)) => Ok(Screenshot::Stored { name, bytes }),
        Ok(Ok(false)) => Ok(Screenshot::Refused("disk")),
        _ => Err(refuse(StatusCode::INTERNAL_SERVER_ERROR, "the screenshot could not be stored")),
    }
}

fn is_feeling(feeling: &str) -> bool {
    matches!(feeling, "scary" | "rude" | "sad" | "other")
}

/// The feeling a pupil picked on the thank-you page, after the report went.
async fn feeling(
    State(server): State<Arc<Server>>,
    Kiosk(kiosk): Kiosk,
    axum::extract::Path(id): axum::extract::Path<String>,
    Json(request): Json<FeelingRequest>,
) -> Result<StatusCode, ApiError> {
    if !is_uuid(&id) {
        return Err(refuse(StatusCode::BAD_REQUEST, "a report id is a UUID"));
    }
    if !is_feeling(&request.feeling) {
        return Err(refuse(StatusCode::BAD_REQUEST, "a feeling is scary, rude, sad or other"));
    }
    take(&server, &kiosk, Kind::Feeling, "feelings")?;
    if server.store().set_feeling(&kiosk, &id, &request.feeling)? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(refuse(StatusCode::NOT_FOUND, "no such report from this kiosk"))
    }
}

async fn unblock(
    State(server): State<Arc<Server>>,
    Kiosk(kiosk): Kiosk,
    Json(request): Json<UnblockRequest>,
) -> Result<Json<Received>, ApiError> {
    // Cut, an address would name another page, and a teacher would allow that one.
    if !is_uuid(&request.id) || request.url.len() > limits::URL_BYTES {
        return Err(refuse(StatusCode::BAD_REQUEST, "an unblock request has a UUID and a URL of at most 8 KB"));
    }
    if !is_new(&server, &kiosk, Sent::Ask, &request.id)? {
        return Ok(Json(Received { id: request.id, stored: true, screenshot_kept: None }));
    }
    if server.store().open_asks(&kiosk.id)? >= limits::OPEN_ASKS {
        return Err(limited(&kiosk, "requests waiting for a teacher", limits::OPEN_ASKS_WAIT));
    }
    take(&server, &kiosk, Kind::Ask, "requests")?;
    // A kiosk's clock may be wrong: no request dated in the future, where it would stay at the
    // top of the list and outlive the retention period.
    let requested_at = request.requested_at.min(now());
    if server.store().add_unblock_request(&kiosk, &request.id, &request.url, requested_at, now())? {
        server.console_event(ConsoleEvent {
            kind: "unblock",
            id: request.id.clone(),
            room: kiosk.room_id,
            safeguarding: false,
        });
    }
    Ok(Json(Received { id: request.id, stored: true, screenshot_kept: None }))
}

async fn heartbeat(
    State(server): State<Arc<Server>>,
    Kiosk(kiosk): Kiosk,
    Json(beat): Json<Heartbeat>,
) -> Result<StatusCode, ApiError> {
    let version_chars = beat.satchel_version.as_deref().map_or(0, |version| version.chars().count());
    if beat.state.chars().count() > limits::STATE_CHARS || version_chars > limits::VERSION_CHARS {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "a heartbeat's state is at most 200 characters and its version at most 50",
        ));
    }
    take(&server, &kiosk, Kind::Heartbeat, "heartbeats")?;
    server.store().heartbeat(&kiosk, &beat, now())?;
    Ok(StatusCode::NO_CONTENT)
}

fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit() && !c.is_ascii_uppercase()
            }
        })
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
