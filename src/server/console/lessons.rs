//! The lessons page: the user's rooms with their running lessons (extend, end), the lesson
//! lists to start, a new list, and what pupils asked for, to allow for the lesson or decline.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::{may_use_room, redirect, render, ConsoleError, Iso, Markup, Posted, SignedIn, Words};
use crate::policy::{Policy, RequestKind, Verdict};
use crate::server::lessons::parse_sites;
use crate::server::store::{AskOutcome, LessonRow, RoomRow, UnblockRow, User};
use crate::server::{now, Server};

pub(super) fn router() -> Router<Arc<Server>> {
    Router::new()
        .route("/lessons", get(lessons_page).post(create_lesson))
        .route("/lessons/{id}/start", post(start_lesson))
        .route("/rooms/{id}/end", post(end_lesson))
        .route("/rooms/{id}/extend", post(extend_lesson))
        .route("/asks", get(asks_fragment))
        .route("/asks/{id}/approve", post(approve_ask))
        .route("/asks/{id}/decline", post(decline_ask))
}

#[derive(Template)]
#[template(path = "console/lessons.html")]
struct LessonsPage<'a> {
    t: Words<'a>,
    user: &'a User,
    rooms: Vec<RoomRow>,
    lessons: Vec<LessonRow>,
    asks: Markup,
    name: &'a str,
    sites: &'a str,
    errors: &'a [String],
}

async fn lessons_page(
    State(server): State<Arc<Server>>,
    SignedIn(user): SignedIn,
) -> Result<Html<String>, ConsoleError> {
    render_lessons(&server, &user, "", "", &[])
}

/// The lessons page; `name`, `sites` and `errors` refill the new-lesson form after a mistake.
fn render_lessons(
    server: &Server,
    user: &User,
    name: &str,
    sites: &str,
    errors: &[String],
) -> Result<Html<String>, ConsoleError> {
    let (rooms, lessons) = {
        let store = server.store();
        (store.rooms_for(user, now())?, store.lessons()?)
    };
    let asks = asks_html(server, user)?;
    let body = render(&LessonsPage { t: server.words(), user, rooms, lessons, asks, name, sites, errors })?;
    server.page(Some(user), "console-lessons", body)
}

#[derive(Deserialize)]
struct LessonForm {
    name: String,
    sites: String,
}

async fn create_lesson(
    State(server): State<Arc<Server>>,
    Posted(SignedIn(user), form): Posted<SignedIn, LessonForm>,
) -> Result<Response, ConsoleError> {
    let name = form.name.trim();
    let parsed =
        if name.is_empty() { Err(vec![server.t("console-lesson-name-needed")]) } else { parse_sites(&form.sites) };
    match parsed {
        Ok((list, tiles)) => {
            let store = server.store();
            let id = store.add_lesson(name, &list, &tiles, Some(user.id))?;
            store.audit(Some(user.id), "create-lesson", &format!("{name} ({id}): {}", list.trim()), now())?;
            Ok(redirect("/lessons"))
        }
        Err(errors) => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render_lessons(&server, &user, name, &form.sites, &errors)?)
                .into_response())
        }
    }
}

#[derive(Deserialize)]
struct StartForm {
    room: i64,
    minutes: u64,
}

async fn start_lesson(
    State(server): State<Arc<Server>>,
    Path(lesson_id): Path<i64>,
    Posted(SignedIn(user), form): Posted<SignedIn, StartForm>,
) -> Result<Response, ConsoleError> {
    may_use_room(&server, &user, form.room)?;
    if !server.store().lesson_exists(lesson_id)? {
        return Err(ConsoleError::not_found("There is no such lesson."));
    }
    let minutes = form.minutes.clamp(5, 480);
    let version = server.store().start_lesson(lesson_id, form.room, now(), minutes)?;
    server.store().audit(
        Some(user.id),
        "start-lesson",
        &format!("lesson {lesson_id} in room {} for {minutes} minutes", form.room),
        now(),
    )?;
    server.rules_changed(form.room, version);
    Ok(redirect("/lessons"))
}

async fn end_lesson(
    State(server): State<Arc<Server>>,
    Path(room_id): Path<i64>,
    Posted(SignedIn(user), _): Posted<SignedIn>,
) -> Result<Response, ConsoleError> {
    may_use_room(&server, &user, room_id)?;
    let version = server.store().end_lesson(room_id)?;
    server.store().audit(Some(user.id), "end-lesson", &format!("room {room_id}"), now())?;
    server.rules_changed(room_id, version);
    Ok(redirect("/lessons"))
}

async fn extend_lesson(
    State(server): State<Arc<Server>>,
    Path(room_id): Path<i64>,
    Posted(SignedIn(user), _): Posted<SignedIn>,
) -> Result<Response, ConsoleError> {
    may_use_room(&server, &user, room_id)?;
    // Bound first: a guard in the `if let` would still be held by the `audit` below.
    let extended = server.store().extend_lesson(room_id, 15, now())?;
    if let Some(version) = extended {
        server.store().audit(Some(user.id), "extend-lesson", &format!("room {room_id} by 15 minutes"), now())?;
        server.rules_changed(room_id, version);
    }
    Ok(redirect("/lessons"))
}

/// What approving an ask would do.
enum Approval {
    /// The address cannot be allowed exactly.
    Impossible,
    /// It can, but only into a running lesson.
    NeedsLesson,
    /// The entry it adds, and that in words.
    Allows { entry: String, words: String },
}

struct Ask<'a> {
    row: &'a UnblockRow,
    approval: Approval,
}

#[derive(Template)]
#[template(path = "console/asks.html")]
struct AsksFragment<'a> {
    t: Words<'a>,
    user: &'a User,
    asks: Vec<Ask<'a>>,
}

/// "Pupils asked for": open unblock requests, to approve for the running lesson or decline.
fn asks_html(server: &Server, user: &User) -> Result<Markup, ConsoleError> {
    let rows = server.store().unblock_requests_for(user, now())?;
    let asks = rows
        .iter()
        .map(|row| {
            let approval = match entry_for(&row.url) {
                None => Approval::Impossible,
                Some(_) if !row.lesson_running => Approval::NeedsLesson,
                Some(entry) => Approval::Allows { words: entry_in_words(server, &entry), entry },
            };
            Ask { row, approval }
        })
        .collect();
    render(&AsksFragment { t: server.words(), user, asks })
}

async fn asks_fragment(
    State(server): State<Arc<Server>>,
    SignedIn(user): SignedIn,
) -> Result<Html<String>, ConsoleError> {
    Ok(Html(asks_html(&server, &user)?.to_string()))
}

/// Query keys that say where a visitor came from, never which page it is.
const TRACKING_KEYS: [&str; 9] =
    ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "fbclid", "gclid", "si", "feature"];

/// The allow entry approving an ask adds: exactly that page, that is its host alone (not its
/// subdomains), its path, and the query that picks the page (a video's `v=`), never a
/// wildcard, an IP address or a public suffix. `None` when the address cannot be allowed
/// exactly; the entry is checked by the list parser and must allow the asked address.
fn entry_for(address: &str) -> Option<String> {
    let url = url::Url::parse(address).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.username() != "" || url.password().is_some() {
        return None;
    }
    let Some(url::Host::Domain(host)) = url.host() else { return None };
    if host.contains(['*', '%']) || !host.contains('.') {
        return None;
    }
    let port = url.port().map(|port| format!(":{port}")).unwrap_or_default();
    // Kept as the address has them, escapes and all; every `*` is escaped so it stays a letter
    // (a bare `a*` would otherwise be the key prefix `a*=`).
    let query: Vec<String> = url
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| !TRACKING_KEYS.contains(&pair.split('=').next().unwrap_or("")))
        .map(|pair| pair.replace('*', "%2A"))
        .map(|pair| if pair.contains('=') { pair } else { format!("{pair}=") })
        .collect();
    let query = if query.is_empty() { String::new() } else { format!("?{}", query.join("&")) };
    let entry = format!(".{host}{port}{}{query}", url.path());
    let mut builder = Policy::builder();
    builder.add_list("ask", &format!("[allow]\n{entry}\n"));
    if !builder.errors().is_empty() {
        return None;
    }
    let allows = builder.build().decide(url.as_str(), RequestKind::Navigation).verdict == Verdict::Allow;
    allows.then_some(entry)
}

/// What an approval will allow, in words a teacher checks before pressing Allow.
fn entry_in_words(server: &Server, entry: &str) -> String {
    let (page, query) = entry.split_once('?').unwrap_or((entry, ""));
    let front_page = page.find('/').is_some_and(|slash| &page[slash..] == "/");
    server.t(match (front_page, query.is_empty()) {
        (true, true) => "console-approve-allows-host",
        (false, true) => "console-approve-allows-path",
        (_, false) => "console-approve-allows-page",
    })
}

async fn approve_ask(
    State(server): State<Arc<Server>>,
    Path(id): Path<String>,
    Posted(SignedIn(user), _): Posted<SignedIn>,
) -> Result<Response, ConsoleError> {
    decide_ask(&server, &user, &id, true)
}

async fn decline_ask(
    State(server): State<Arc<Server>>,
    Path(id): Path<String>,
    Posted(SignedIn(user), _): Posted<SignedIn>,
) -> Result<Response, ConsoleError> {
    decide_ask(&server, &user, &id, false)
}

fn decide_ask(server: &Server, user: &User, id: &str, approve: bool) -> Result<Response, ConsoleError> {
    let (room, url) = server.store().unblock_request(id)?.ok_or_else(|| ConsoleError::not_found("No such request."))?;
    may_use_room(server, user, room)?;
    let entry = if approve {
        Some(
            entry_for(&url)
                .ok_or_else(|| ConsoleError(StatusCode::UNPROCESSABLE_ENTITY, server.t("console-approve-cannot")))?,
        )
    } else {
        None
    };
    let decided = server.store().decide_unblock(id, entry.as_deref(), now())?;
    match decided {
        AskOutcome::Approved { room, version } => server.rules_changed(room, version),
        AskOutcome::Declined => {}
        AskOutcome::NoLesson => {
            return Err(ConsoleError(StatusCode::CONFLICT, server.t("console-approve-lesson-ended")))
        }
        AskOutcome::AlreadyDecided => {
            return Err(ConsoleError(StatusCode::CONFLICT, server.t("console-ask-already-answered")))
        }
    }
    let detail = match &entry {
        Some(entry) => format!("{url} as {entry}"),
        None => url,
    };
    server.store().audit(Some(user.id), if approve { "approve-unblock" } else { "decline-unblock" }, &detail, now())?;
    Ok(redirect("/lessons"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_approval_keeps_every_star_in_the_address_a_letter() {
        let entry = entry_for("https://www.example.org/page?a*&b=*&c").unwrap();
        assert_eq!(entry, ".www.example.org/page?a%2A=&b=%2A&c=");
        let mut builder = Policy::builder();
        builder.add_list("ask", &format!("[allow]\n{entry}\n"));
        let policy = builder.build();
        let verdict = |url| policy.decide(url, RequestKind::Navigation).verdict;
        assert_eq!(verdict("https://www.example.org/page?a*&b=*&c"), Verdict::Allow);
        assert_eq!(verdict("https://www.example.org/page?abc&b=*&c"), Verdict::Block, "not every key starting with a");
    }
}
