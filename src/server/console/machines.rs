//! The lab's computers: the Machines page (the admin: each kiosk's state, retiring one) and
//! junk removal (the DSL and the admin: a computer's reports no one has worked on and its
//! unanswered asks of the last hours, after a preview).

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tracing::info;

use super::{iso_time, redirect, render, Admin, ConsoleError, Iso, Posted, Safeguarding, Words};
use crate::server::store::{JunkItem, KioskActivity, MachineRow, User};
use crate::server::{now, Server};

/// How far back junk removal looks unless told otherwise, and at most.
const JUNK_HOURS: u64 = 24;
const JUNK_HOURS_MOST: u64 = 30 * 24;
/// Reports and asks the preview lists of each (its counts are of all).
const JUNK_SHOWN: usize = 100;
/// A machine not heard from for longer is silent.
const SILENT_AFTER: u64 = 600;

pub(super) fn router() -> Router<Arc<Server>> {
    Router::new()
        .route("/machines", get(machines_page))
        .route("/machines/{id}/retire", post(retire_machine))
        .route("/junk", get(junk_page))
        .route("/machines/{id}/junk", get(junk_preview).post(remove_junk))
}

struct Machine<'a> {
    row: &'a MachineRow,
    silent: bool,
    outdated: bool,
    set_aside: bool,
    outbox: String,
}

#[derive(Template)]
#[template(path = "console/machines.html")]
struct MachinesPage<'a> {
    t: Words<'a>,
    user: &'a User,
    summary: String,
    machines: Vec<Machine<'a>>,
    junk_hours: u64,
    /// Whether a column names each machine's school (the trust's staff, of several schools).
    schools: bool,
}

async fn machines_page(State(server): State<Arc<Server>>, Admin(user): Admin) -> Result<Html<String>, ConsoleError> {
    let rows = server.store().machines(&user)?;
    let t = server.words();
    let machines: Vec<Machine<'_>> = rows
        .iter()
        .map(|row| Machine {
            row,
            silent: row.last_seen.is_none_or(|seen| now().saturating_sub(seen) > SILENT_AFTER),
            outdated: row.rules_version.is_some_and(|v| v < row.room_version),
            set_aside: row.outbox.is_some_and(|(_, damaged)| damaged > 0),
            outbox: row.outbox.map_or_else(String::new, |(waiting, damaged)| {
                t.count("console-outbox-counts", &[("waiting", waiting), ("damaged", damaged)])
            }),
        })
        .collect();
    let count = |test: fn(&Machine<'_>) -> bool| machines.iter().filter(|m| test(m)).count() as u64;
    let summary = t.count(
        "console-machines-summary",
        &[("total", machines.len() as u64), ("silent", count(|m| m.silent)), ("outdated", count(|m| m.outdated))],
    );
    let schools = server.shows_schools(&user)?;
    let body = render(&MachinesPage { t, user: &user, summary, machines, junk_hours: JUNK_HOURS, schools })?;
    server.page(Some(&user), "console-machines", body)
}

/// Retires a kiosk (a machine replaced, re-imaged or lost): its token stops working at once.
async fn retire_machine(
    State(server): State<Arc<Server>>,
    Path(id): Path<String>,
    Posted(Admin(user), _): Posted<Admin>,
) -> Result<Response, ConsoleError> {
    let retired = server.store().retire_kiosk(&user, &id, now())?;
    let Some(name) = retired else { return Err(ConsoleError::not_found("No such computer in service.")) };
    server.store().audit(Some(user.id), "retire-kiosk", &name, now())?;
    Ok(redirect("/machines"))
}

#[derive(Deserialize)]
struct JunkQuery {
    #[serde(default = "junk_hours")]
    hours: u64,
}

fn junk_hours() -> u64 {
    JUNK_HOURS
}

/// The window junk removal looks at: the `hours` before `until`.
fn junk_window(hours: u64, until: u64) -> (u64, u64) {
    (until.saturating_sub(hours * 3600), until)
}

#[derive(Template)]
#[template(path = "console/junk.html")]
struct JunkPage<'a> {
    t: Words<'a>,
    removed: Option<String>,
    hours: u64,
    most_hours: u64,
    machines: Vec<KioskActivity>,
}

/// The computers that sent reports or asks lately, the most first, each a link to remove
/// its junk (the DSL and the admin).
async fn junk_page(
    State(server): State<Arc<Server>>,
    Safeguarding(user): Safeguarding,
    Query(query): Query<JunkQuery>,
) -> Result<Html<String>, ConsoleError> {
    junk_list(&server, &user, query.hours.clamp(1, JUNK_HOURS_MOST), None)
}

fn junk_list(server: &Server, user: &User, hours: u64, removed: Option<String>) -> Result<Html<String>, ConsoleError> {
    let (since, _) = junk_window(hours, now());
    let machines = server.store().kiosk_activity(user, since)?;
    let body = render(&JunkPage { t: server.words(), removed, hours, most_hours: JUNK_HOURS_MOST, machines })?;
    server.page(Some(user), "console-junk", body)
}

/// A list of the preview: reports or asks, the first of them, and how many more.
struct JunkList<'a> {
    heading: &'static str,
    items: &'a [JunkItem],
    more: Option<String>,
}

#[derive(Template)]
#[template(path = "console/junk_preview.html")]
struct JunkPreview<'a> {
    t: Words<'a>,
    user: &'a User,
    id: &'a str,
    machine: String,
    room: String,
    summary: String,
    kept: Option<String>,
    lists: Vec<JunkList<'a>>,
    nothing: bool,
    hours: u64,
    until: u64,
}

/// What removing a computer's junk of the last hours would remove, listed, with the button
/// that removes exactly that (nothing that arrives after this page was made).
async fn junk_preview(
    State(server): State<Arc<Server>>,
    Safeguarding(user): Safeguarding,
    Path(id): Path<String>,
    Query(query): Query<JunkQuery>,
) -> Result<Html<String>, ConsoleError> {
    let (machine, room) =
        server.store().kiosk_name(&user, &id)?.ok_or_else(|| ConsoleError::not_found("No such computer."))?;
    let hours = query.hours.clamp(1, JUNK_HOURS_MOST);
    let (since, until) = junk_window(hours, now());
    let junk = server.store().junk(&id, since, until, JUNK_SHOWN)?;
    let t = server.words();
    let lists =
        [(&junk.reports, junk.report_count, "console-reports"), (&junk.asks, junk.ask_count, "console-junk-asks")]
            .into_iter()
            .filter(|(items, _, _)| !items.is_empty())
            .map(|(items, total, heading)| JunkList {
                heading,
                items,
                more: (total > items.len())
                    .then(|| t.count("console-junk-more", &[("more", (total - items.len()) as u64)])),
            })
            .collect();
    let page = JunkPreview {
        t,
        user: &user,
        id: &id,
        summary: t.count(
            "console-junk-summary",
            &[("hours", hours), ("reports", junk.report_count as u64), ("asks", junk.ask_count as u64)],
        ),
        machine,
        room,
        kept: (junk.kept > 0).then(|| t.count("console-junk-kept", &[("kept", junk.kept as u64)])),
        lists,
        nothing: junk.report_count + junk.ask_count == 0,
        hours,
        until,
    };
    server.page(Some(&user), "console-junk", render(&page)?)
}

#[derive(Deserialize)]
struct JunkForm {
    hours: u64,
    /// When the preview was made: what arrived since was not shown, and stays.
    until: u64,
}

/// Removes what the preview showed: the computer's reports no one has worked on (with their
/// screenshots) and its unanswered asks, audited with the counts.
async fn remove_junk(
    State(server): State<Arc<Server>>,
    Path(id): Path<String>,
    Posted(Safeguarding(user), form): Posted<Safeguarding, JunkForm>,
) -> Result<Html<String>, ConsoleError> {
    let (machine, _) =
        server.store().kiosk_name(&user, &id)?.ok_or_else(|| ConsoleError::not_found("No such computer."))?;
    let hours = form.hours.clamp(1, JUNK_HOURS_MOST);
    let (since, until) = junk_window(hours, form.until.min(now()));
    let (names, asks) = server.store().remove_junk(&id, since, until)?;
    server.remove_screenshots(&names);
    let detail = format!(
        "{machine} ({id}): {} reports and {asks} requests received from {} to {}",
        names.len(),
        iso_time(since),
        iso_time(until)
    );
    info!(user = user.name, detail, "junk removed");
    server.store().audit(Some(user.id), "remove-junk", &detail, now())?;
    let removed =
        server.words().count("console-junk-removed", &[("reports", names.len() as u64), ("asks", asks as u64)]);
    junk_list(&server, &user, hours, Some(removed))
}
