//! The safeguarding lead's monitoring pages, for the DSL and admins only: the activity log
//! (`/activity`: a search by words, room, machine, dates and kind; a session's timeline; a CSV
//! export) and alerts (`/alerts`: acknowledged with a note, live as they are raised, and the
//! school's own concerning terms, which the trust's staff keep, as they reach every school).
//! For teachers, Room now (`/rooms/now`): each machine of
//! their rooms with the page it shows and its latest blocked page. Every search of the log,
//! every export and every acknowledgement is in the audit log.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::{
    csv_field, iso_time, redirect, render, ConsoleError, Iso, Markup, Posted, Safeguarding, SignedIn, Trust, Words,
};
use crate::alerts::Severity;
use crate::server::store::{
    Acknowledgement, ActivityFilter, ActivityRow, AlertRow, MachineNow, MachineRow, RoomRow, SchoolTerm, Store, User,
};
use crate::server::{now, Server};

/// Rows a page of the log or of alerts shows.
const PER_PAGE: usize = 100;
/// Rows a CSV export holds at most (a year of a busy machine).
const CSV_ROWS: usize = 200_000;

pub(super) fn router() -> Router<Arc<Server>> {
    Router::new()
        .route("/activity", get(activity_page))
        .route("/activity.csv", get(activity_csv))
        .route("/activity/sessions/{session}", get(session_page))
        .route("/alerts", get(alerts_page))
        .route("/alerts/{id}/row", get(alert_row_fragment))
        .route("/alerts/{id}/acknowledge", post(acknowledge))
        .route("/alerts/terms", post(add_term))
        .route("/alerts/terms/{id}/remove", post(remove_term))
        .route("/rooms/now", get(rooms_now_page))
        .route("/rooms/now/machines", get(rooms_now_fragment))
}

/// The search form's fields, as the query string carries them.
#[derive(Deserialize, Default)]
struct ActivityQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    room: String,
    #[serde(default)]
    machine: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    kind: String,
    before: Option<i64>,
}

const KINDS: &[&str] = &[
    "opened",
    "titled",
    "searched",
    "blocked",
    "subresources-blocked",
    "told",
    "asked",
    "session-start",
    "session-end",
    "dropped",
];

impl ActivityQuery {
    fn filter(&self) -> ActivityFilter {
        ActivityFilter {
            words: self
                .q
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .take(8)
                .map(str::to_lowercase)
                .collect(),
            room_id: self.room.parse().ok(),
            kiosk_id: Some(self.machine.trim()).filter(|m| !m.is_empty()).map(str::to_owned),
            from: day_start(&self.from),
            until: day_start(&self.to).map(|start| start + 86_400_000),
            kind: KINDS.iter().find(|kind| **kind == self.kind).map(|kind| (*kind).to_owned()),
            before: self.before,
        }
    }

    /// The query string again (for the next page and the export), without `before`.
    fn encoded(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("q", &self.q),
                ("room", &self.room),
                ("machine", &self.machine),
                ("from", &self.from),
                ("to", &self.to),
                ("kind", &self.kind),
            ])
            .finish()
    }
}

/// `2026-11-23` as Unix milliseconds at its start (UTC).
fn day_start(date: &str) -> Option<u64> {
    let mut parts = date.trim().splitn(3, '-').map(|part| part.parse::<i64>().ok());
    let (year, month, day) = (parts.next()??, parts.next()??, parts.next()??);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    // Civil date to days since 1970 (Howard Hinnant's algorithm, the inverse of `iso_time`'s).
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    u64::try_from(days).ok().map(|days| days * 86_400_000)
}

#[derive(Template)]
#[template(path = "console/activity.html")]
struct ActivityPage<'a> {
    t: Words<'a>,
    query: &'a ActivityQuery,
    encoded: String,
    rooms: Vec<RoomRow>,
    machines: Vec<MachineRow>,
    kinds: &'static [&'static str],
    table: Markup,
    /// The id the next page starts before, when there are older entries.
    older: Option<i64>,
}

async fn activity_page(
    State(server): State<Arc<Server>>,
    Safeguarding(user): Safeguarding,
    Query(query): Query<ActivityQuery>,
) -> Result<Html<String>, ConsoleError> {
    let (filter, seen_by) = (query.filter(), user.clone());
    let rows = read_log(&server, move |log| log.search_activity(&seen_by, &filter, PER_PAGE + 1)).await?;
    let (rooms, machines) = {
        let store = server.store();
        store.audit(
            Some(user.id),
            "search-activity",
            &format!(
                "q={:?} room={} machine={} from={} to={} kind={}",
                query.q, query.room, query.machine, query.from, query.to, query.kind
            ),
            now(),
        )?;
        (store.rooms_for(&user, now())?, store.machines(&user)?)
    };
    let shown = &rows[..rows.len().min(PER_PAGE)];
    let older = if rows.len() > PER_PAGE { shown.last().map(|last| last.id) } else { None };
    let table = activity_table(&server, shown, true)?;
    let page = ActivityPage {
        t: server.words(),
        query: &query,
        encoded: query.encoded(),
        rooms,
        machines,
        kinds: KINDS,
        table,
        older,
    };
    server.page(Some(&user), "console-activity", render(&page)?)
}

/// Reads the activity log on its own connection, on a thread where waiting is allowed: a
/// search over a year of a school's log must not hold up the server's async threads.
async fn read_log<T: Send + 'static>(
    server: &Arc<Server>,
    read: impl FnOnce(&Store) -> crate::server::store::Result<T> + Send + 'static,
) -> Result<T, ConsoleError> {
    let server = Arc::clone(server);
    let read = tokio::task::spawn_blocking(move || read(&server.log_reader())).await;
    read.map_err(|_| ConsoleError::internal("The activity log could not be read."))?.map_err(ConsoleError::from)
}

#[derive(Template)]
#[template(path = "console/activity_table.html")]
struct ActivityTable<'a> {
    t: Words<'a>,
    rows: &'a [ActivityRow],
    with_session: bool,
}

/// The log as a table: when, where, what kind, what (and for a block, why).
fn activity_table(server: &Server, rows: &[ActivityRow], with_session: bool) -> Result<Markup, ConsoleError> {
    render(&ActivityTable { t: server.words(), rows, with_session })
}

#[derive(Template)]
#[template(path = "console/session.html")]
struct SessionPage<'a> {
    rows: &'a [ActivityRow],
    table: Markup,
}

async fn session_page(
    State(server): State<Arc<Server>>,
    Safeguarding(user): Safeguarding,
    Path(session): Path<i64>,
) -> Result<Html<String>, ConsoleError> {
    let seen_by = user.clone();
    let rows = read_log(&server, move |log| log.session_activity(&seen_by, session)).await?;
    if rows.is_empty() {
        return Err(ConsoleError::not_found("No such session."));
    }
    server.store().audit(Some(user.id), "view-session", &session.to_string(), now())?;
    let table = activity_table(&server, &rows, false)?;
    server.page(Some(&user), "console-activity-timeline", render(&SessionPage { rows: &rows, table })?)
}

async fn activity_csv(
    State(server): State<Arc<Server>>,
    Safeguarding(user): Safeguarding,
    Query(query): Query<ActivityQuery>,
) -> Result<Response, ConsoleError> {
    let (filter, seen_by) = (ActivityFilter { before: None, ..query.filter() }, user.clone());
    let rows = read_log(&server, move |log| log.search_activity(&seen_by, &filter, CSV_ROWS)).await?;
    let mut csv = String::from("date and time,room,computer,session,lesson,kind,url,title,search terms,engine,rule,category,reason,host,count\r\n");
    for row in &rows {
        let count = row.count.map(|c| c.to_string()).unwrap_or_default();
        let when = iso_time(row.at / 1000);
        let fields = [
            when.as_str(),
            &row.room,
            &row.machine,
            &row.session.to_string(),
            row.lesson.as_deref().unwrap_or(""),
            &row.kind,
            row.url.as_deref().unwrap_or(""),
            row.title.as_deref().unwrap_or(""),
            row.terms.as_deref().unwrap_or(""),
            row.engine.as_deref().unwrap_or(""),
            row.rule.as_deref().unwrap_or(""),
            row.category.as_deref().unwrap_or(""),
            row.reason.as_deref().unwrap_or(""),
            row.host.as_deref().unwrap_or(""),
            &count,
        ];
        csv.push_str(&fields.iter().map(|field| csv_field(field)).collect::<Vec<_>>().join(","));
        csv.push_str("\r\n");
    }
    server.store().audit(
        Some(user.id),
        "export-activity",
        &format!("{} events (q={:?})", rows.len(), query.q),
        now(),
    )?;
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8"),
            (CONTENT_DISPOSITION, "attachment; filename=\"satchel-activity.csv\""),
        ],
        csv,
    )
        .into_response())
}

#[derive(Deserialize)]
struct AlertsQuery {
    before: Option<i64>,
}

#[derive(Template)]
#[template(path = "console/alerts.html")]
struct AlertsPage<'a> {
    t: Words<'a>,
    user: &'a User,
    rows: Vec<Markup>,
    older: Option<i64>,
    terms: Vec<SchoolTerm>,
    categories: Vec<&'static str>,
}

async fn alerts_page(
    State(server): State<Arc<Server>>,
    Safeguarding(user): Safeguarding,
    Query(query): Query<AlertsQuery>,
) -> Result<Html<String>, ConsoleError> {
    let (alerts, terms) = {
        let store = server.store();
        (store.alerts(&user, query.before, PER_PAGE + 1)?, store.school_terms()?)
    };
    let schools = server.shows_schools(&user)?;
    let rows = alerts
        .iter()
        .take(PER_PAGE)
        .map(|(alert, acknowledged)| alert_row(&server, &user, alert, acknowledged.as_ref(), schools))
        .collect::<Result<_, _>>()?;
    let older = if alerts.len() > PER_PAGE { alerts.get(PER_PAGE - 1).map(|(last, _)| last.id) } else { None };
    let categories = crate::alerts::BUILT_IN.iter().map(|(category, _)| *category).collect();
    let page = AlertsPage { t: server.words(), user: &user, rows, older, terms, categories };
    server.page(Some(&user), "console-alerts", render(&page)?)
}

#[derive(Template)]
#[template(path = "console/alert_row.html")]
struct AlertRowFragment<'a> {
    t: Words<'a>,
    user: &'a User,
    alert: &'a AlertRow,
    acknowledged: Option<&'a Acknowledgement>,
    /// Whether the row names its school (the trust's staff, of several schools).
    schools: bool,
}

fn alert_row(
    server: &Server,
    user: &User,
    alert: &AlertRow,
    acknowledged: Option<&Acknowledgement>,
    schools: bool,
) -> Result<Markup, ConsoleError> {
    render(&AlertRowFragment { t: server.words(), user, alert, acknowledged, schools })
}

/// One alert's row, for the page to add as the alert arrives (`event: alert`).
async fn alert_row_fragment(
    State(server): State<Arc<Server>>,
    Safeguarding(user): Safeguarding,
    Path(id): Path<i64>,
) -> Result<Html<String>, ConsoleError> {
    let alerts = server.store().alerts(&user, Some(id + 1), 1)?;
    match alerts.first() {
        Some((alert, acknowledged)) if alert.id == id => {
            Ok(Html(alert_row(&server, &user, alert, acknowledged.as_ref(), server.shows_schools(&user)?)?.to_string()))
        }
        _ => Err(ConsoleError::not_found("No such alert.")),
    }
}

#[derive(Deserialize)]
struct AcknowledgeForm {
    note: String,
}

async fn acknowledge(
    State(server): State<Arc<Server>>,
    Path(id): Path<i64>,
    Posted(Safeguarding(user), form): Posted<Safeguarding, AcknowledgeForm>,
) -> Result<Response, ConsoleError> {
    let note = form.note.trim();
    if note.is_empty() || note.chars().count() > 2000 {
        return Err(ConsoleError(StatusCode::UNPROCESSABLE_ENTITY, server.t("console-alerts-note-needed")));
    }
    let store = server.store();
    if store.acknowledge_alert(&user, id, note, now())? {
        store.audit(Some(user.id), "acknowledge-alert", &format!("alert {id}: {note}"), now())?;
    }
    Ok(redirect("/alerts"))
}

#[derive(Deserialize)]
struct TermForm {
    phrase: String,
    category: String,
    severity: String,
}

async fn add_term(
    State(server): State<Arc<Server>>,
    Posted(Trust(Safeguarding(user)), form): Posted<Trust<Safeguarding>, TermForm>,
) -> Result<Response, ConsoleError> {
    let phrase = form.phrase.trim();
    let severity = Severity::parse(&form.severity)
        .ok_or_else(|| ConsoleError(StatusCode::UNPROCESSABLE_ENTITY, server.t("console-terms-bad")))?;
    let Some((category, _)) = crate::alerts::BUILT_IN.iter().find(|(category, _)| *category == form.category) else {
        return Err(ConsoleError(StatusCode::UNPROCESSABLE_ENTITY, server.t("console-terms-bad")));
    };
    // The same rule as the shipped lists: enough letters to mean something.
    if phrase.chars().count() > 200
        || crate::alerts::Matcher::builder().add(phrase, &(*category).into(), severity).is_err()
    {
        return Err(ConsoleError(StatusCode::UNPROCESSABLE_ENTITY, server.t("console-terms-bad")));
    }
    let store = server.store();
    if store.add_school_term(phrase, category, severity.name(), user.id, now())? {
        store.audit(Some(user.id), "add-alert-term", &format!("{phrase} ({category}, {})", severity.name()), now())?;
        server.alert_terms.changed();
    }
    Ok(redirect("/alerts#terms-h"))
}

async fn remove_term(
    State(server): State<Arc<Server>>,
    Path(id): Path<i64>,
    Posted(Trust(Safeguarding(user)), _): Posted<Trust<Safeguarding>>,
) -> Result<Response, ConsoleError> {
    let store = server.store();
    if let Some(phrase) = store.remove_school_term(id)? {
        store.audit(Some(user.id), "remove-alert-term", &phrase, now())?;
        server.alert_terms.changed();
    }
    Ok(redirect("/alerts#terms-h"))
}

#[derive(Template)]
#[template(path = "console/rooms_now.html")]
struct RoomsNowPage<'a> {
    t: Words<'a>,
    machines: Markup,
}

/// Room now: the page and its list of machines, which the page fetches again every few
/// seconds.
async fn rooms_now_page(
    State(server): State<Arc<Server>>,
    SignedIn(user): SignedIn,
) -> Result<Html<String>, ConsoleError> {
    let machines = rooms_now_html(&server, &user)?;
    server.page(Some(&user), "console-room-now", render(&RoomsNowPage { t: server.words(), machines })?)
}

async fn rooms_now_fragment(
    State(server): State<Arc<Server>>,
    SignedIn(user): SignedIn,
) -> Result<Html<String>, ConsoleError> {
    Ok(Html(rooms_now_html(&server, &user)?.to_string()))
}

struct Showing {
    row: MachineNow,
    /// The host and title of the page showing, or `None` on Satchel's own pages.
    page: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "console/rooms_now_machines.html")]
struct RoomsNowMachines<'a> {
    t: Words<'a>,
    machines: Vec<Showing>,
}

fn rooms_now_html(server: &Server, user: &User) -> Result<Markup, ConsoleError> {
    let machines = {
        let store = server.store();
        let rooms: Vec<i64> = store.rooms_for(user, now())?.iter().map(|room| room.id).collect();
        store.rooms_now(&rooms)?
    };
    let machines = machines
        .into_iter()
        .map(|row| {
            let page = row.page.as_ref().map(|(url, title)| {
                let host = url::Url::parse(url)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_owned))
                    .unwrap_or_else(|| url.clone());
                (host, title.clone().unwrap_or_default())
            });
            Showing { row, page }
        })
        .collect();
    render(&RoomsNowMachines { t: server.words(), machines })
}
