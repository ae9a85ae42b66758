//! The report inbox: each report with its screenshot hidden until a member of staff reveals
//! it (every reveal recorded), the school incident form with its history, and the CSV export.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::{csv_field, iso_time, redirect, render, ConsoleError, Iso, Markup, Posted, SignedIn, Words};
use crate::server::store::{IncidentFields, ReportRow, User};
use crate::server::{now, Server};

const STATUSES: [&str; 3] = ["new", "in hand", "closed"];
/// Reports on one page of the inbox; older ones are a link away, never out of reach.
const REPORTS_PER_PAGE: usize = 100;

pub(super) fn router() -> Router<Arc<Server>> {
    Router::new()
        .route("/reports", get(reports_page))
        .route("/reports.csv", get(reports_csv))
        .route("/reports/{id}/row", get(report_row))
        .route("/reports/{id}/reveal", post(reveal))
        .route("/reports/{id}", post(update_report))
}

#[derive(Deserialize)]
struct PageQuery {
    #[serde(default)]
    page: usize,
}

#[derive(Template)]
#[template(path = "console/reports.html")]
struct ReportsPage<'a> {
    t: Words<'a>,
    rows: Vec<Markup>,
    page: usize,
    older: bool,
}

async fn reports_page(
    State(server): State<Arc<Server>>,
    SignedIn(user): SignedIn,
    Query(query): Query<PageQuery>,
) -> Result<Html<String>, ConsoleError> {
    let mut reports =
        server.store().reports_for(&user, Some((query.page.saturating_mul(REPORTS_PER_PAGE), REPORTS_PER_PAGE + 1)))?;
    let older = reports.len() > REPORTS_PER_PAGE;
    reports.truncate(REPORTS_PER_PAGE);
    let schools = server.shows_schools(&user)?;
    let rows = reports.iter().map(|report| report_html(&server, &user, report, schools)).collect::<Result<_, _>>()?;
    let body = render(&ReportsPage { t: server.words(), rows, page: query.page, older })?;
    server.page(Some(&user), "console-reports", body)
}

/// What the evidence column shows.
enum Evidence {
    /// "Do not view: refer": the picture is shown to nobody.
    Referred,
    /// No screenshot, and the message saying why.
    Missing(&'static str),
    /// The button that reveals it.
    Reveal,
}

/// An earlier save of the incident form.
struct HistoryItem {
    at: u64,
    who: String,
    text: String,
}

#[derive(Template)]
#[template(path = "console/report_row.html")]
struct ReportRowFragment<'a> {
    t: Words<'a>,
    user: &'a User,
    report: &'a ReportRow,
    /// The report's school, for the trust's staff of several schools.
    school: Option<&'a str>,
    evidence: Evidence,
    statuses: Vec<(&'static str, bool)>,
    history: Vec<HistoryItem>,
    history_summary: String,
}

/// One report as a table row (the inbox's, and what the page fetches as a report arrives),
/// naming its school when `schools` (see [`Server::shows_schools`]).
fn report_html(server: &Server, user: &User, report: &ReportRow, schools: bool) -> Result<Markup, ConsoleError> {
    let edits = server.store().report_edits(&report.id)?;
    let t = server.words();
    let evidence = if report.refer_only {
        Evidence::Referred
    } else if report.screenshot.is_empty() {
        Evidence::Missing(match report.screenshot_missing.as_deref() {
            Some("quota") => "console-no-screenshot-quota",
            Some("disk") => "console-no-screenshot-disk",
            _ => "console-no-screenshot",
        })
    } else {
        Evidence::Reveal
    };
    let history = edits
        .iter()
        .map(|edit| {
            let f = &edit.fields;
            let status = t.of("console-status", &f.status);
            let parts = [status.as_str(), &f.incident_type, &f.details, &f.passed_to, &f.action_taken];
            let text = parts.iter().filter(|part| !part.is_empty()).copied().collect::<Vec<_>>().join(" · ");
            HistoryItem { at: edit.at, who: edit.user.clone().unwrap_or_else(|| "satchel-server".into()), text }
        })
        .collect();
    let school = schools.then_some(report.school.as_str());
    let row = ReportRowFragment {
        t,
        user,
        report,
        school,
        evidence,
        statuses: STATUSES.iter().map(|status| (*status, *status == report.status)).collect(),
        history,
        history_summary: t.count("console-history", &[("count", edits.len() as u64)]),
    };
    render(&row)
}

async fn report_row(
    State(server): State<Arc<Server>>,
    SignedIn(user): SignedIn,
    Path(id): Path<String>,
) -> Result<Html<String>, ConsoleError> {
    let report = server.store().report_for(&user, &id)?.ok_or_else(|| ConsoleError::not_found("No such report."))?;
    Ok(Html(report_html(&server, &user, &report, server.shows_schools(&user)?)?.to_string()))
}

/// The screenshot, only on purpose (a POST from the Reveal button), and every reveal is
/// recorded. A report marked "do not view: refer" shows its picture to nobody.
async fn reveal(
    State(server): State<Arc<Server>>,
    Path(id): Path<String>,
    Posted(SignedIn(user), _): Posted<SignedIn>,
) -> Result<Response, ConsoleError> {
    let report = server.store().report_for(&user, &id)?.ok_or_else(|| ConsoleError::not_found("No such report."))?;
    if report.refer_only {
        return Err(ConsoleError(StatusCode::FORBIDDEN, server.t("console-refer-hidden")));
    }
    // The stored name was made by the server from a checked UUID; it is read from the
    // database, never from the request.
    let (keeper, name) = (Arc::clone(&server), report.screenshot.clone());
    let png = match tokio::task::spawn_blocking(move || keeper.screenshot(&name)).await {
        Ok(Ok(Some(png))) => png,
        _ => return Err(ConsoleError::not_found("The screenshot is missing.")),
    };
    let store = server.store();
    store.record_reveal(&id, user.id, now())?;
    store.audit(Some(user.id), "reveal-screenshot", &id, now())?;
    Ok(([(CONTENT_TYPE, "image/png"), (CACHE_CONTROL, "no-store")], png).into_response())
}

#[derive(Deserialize)]
struct IncidentForm {
    /// The report's edit version when the form was loaded (a string: flattened forms carry
    /// only strings).
    edit_version: String,
    #[serde(flatten)]
    fields: IncidentFields,
}

async fn update_report(
    State(server): State<Arc<Server>>,
    Path(id): Path<String>,
    Posted(SignedIn(user), form): Posted<SignedIn, IncidentForm>,
) -> Result<Response, ConsoleError> {
    if server.store().report_for(&user, &id)?.is_none() {
        return Err(ConsoleError::not_found("No such report."));
    }
    if !STATUSES.contains(&form.fields.status.as_str()) {
        return Err(ConsoleError(StatusCode::BAD_REQUEST, "Unknown status.".into()));
    }
    let seen: i64 = form
        .edit_version
        .parse()
        .map_err(|_| ConsoleError(StatusCode::BAD_REQUEST, "This form has no version: reload the page.".into()))?;
    let saved = server.store().update_incident(&id, &form.fields, seen, user.id, now())?;
    if !saved {
        return stale_save(&server, &user, &id, &form.fields);
    }
    server.store().audit(
        Some(user.id),
        "update-report",
        &format!("{id}: {} / {}", form.fields.status, form.fields.incident_type),
        now(),
    )?;
    Ok(redirect(&format!("/reports#report-{id}")))
}

#[derive(Template)]
#[template(path = "console/stale.html")]
struct StaleSave<'a> {
    t: Words<'a>,
    yours: [(&'static str, &'a str); 5],
    row: Markup,
}

/// Someone saved the report after this form was loaded: nothing is overwritten, and what was
/// typed here is shown back beside the report as it now stands, to copy in and save again.
fn stale_save(server: &Server, user: &User, id: &str, typed: &IncidentFields) -> Result<Response, ConsoleError> {
    let report = server.store().report_for(user, id)?.ok_or_else(|| ConsoleError::not_found("No such report."))?;
    let yours = [
        ("console-incident-type", typed.incident_type.as_str()),
        ("console-details", &typed.details),
        ("console-passed-to", &typed.passed_to),
        ("console-action-taken", &typed.action_taken),
        ("console-status", &typed.status),
    ];
    let row = report_html(server, user, &report, server.shows_schools(user)?)?;
    let body = render(&StaleSave { t: server.words(), yours, row })?;
    Ok((StatusCode::CONFLICT, server.page(Some(user), "console-reports", body)?).into_response())
}

async fn reports_csv(State(server): State<Arc<Server>>, SignedIn(user): SignedIn) -> Result<Response, ConsoleError> {
    let reports = server.store().reports_for(&user, None)?;
    let mut csv = String::from("date and time,room,computer,url,title,details from pupil,type of incident,details,passed to,action taken,status\r\n");
    for report in &reports {
        let fields = [
            iso_time(report.happened_at),
            report.room.clone(),
            report.machine.clone(),
            report.url.clone(),
            report.title.clone(),
            report.feeling.clone().unwrap_or_default(),
            report.incident_type.clone(),
            report.details.clone(),
            report.passed_to.clone(),
            report.action_taken.clone(),
            report.status.clone(),
        ];
        csv.push_str(&fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        csv.push_str("\r\n");
    }
    server.store().audit(Some(user.id), "export-reports", &format!("{} reports", reports.len()), now())?;
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8"),
            (CONTENT_DISPOSITION, "attachment; filename=\"satchel-reports.csv\""),
        ],
        csv,
    )
        .into_response())
}
