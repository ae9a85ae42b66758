//! The safeguarding lead's monitoring pages, for the DSL and admins only: the activity log
//! (`/activity`: a search by words, room, machine, dates and kind; a session's timeline; a CSV
//! export) and alerts (`/alerts`: acknowledged with a note, live as they are raised, and the
//! school's own concerning terms). For teachers, Room now (`/rooms/now`): each machine of
//! their rooms with the page it shows and its latest blocked page. Every search of the log,
//! every export and every acknowledgement is in the audit log.

use super::*;
use crate::alerts::Severity;
use crate::server::store::{ActivityFilter, ActivityRow};

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

const KINDS: &[&str] = &["opened", "titled", "searched", "blocked", "subresources-blocked", "told", "asked", "session-start", "session-end", "dropped"];

impl ActivityQuery {
    fn filter(&self) -> ActivityFilter {
        ActivityFilter {
            words: self.q.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).take(8).map(str::to_lowercase).collect(),
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
            .extend_pairs([("q", &self.q), ("room", &self.room), ("machine", &self.machine), ("from", &self.from), ("to", &self.to), ("kind", &self.kind)])
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

fn safeguarding_only(user: &User) -> Result<(), ConsoleError> {
    need_role(user.role.sees_every_room())
}

async fn activity_page(State(server): State<Arc<Server>>, SignedIn(user): SignedIn, Query(query): Query<ActivityQuery>) -> Result<Html<String>, ConsoleError> {
    safeguarding_only(&user)?;
    let filter = query.filter();
    let (rows, rooms, machines) = {
        let store = server.store();
        let rows = store.search_activity(&filter, PER_PAGE + 1)?;
        store.audit(Some(user.id), "search-activity", &format!("q={:?} room={} machine={} from={} to={} kind={}", query.q, query.room, query.machine, query.from, query.to, query.kind), now())?;
        (rows, store.rooms_for(&user, now())?, store.machines()?)
    };
    let t = |id: &str| escape(&server.t(id));
    let selected = |on: bool| if on { " selected" } else { "" };
    let room_options: String = rooms.iter().map(|room| format!("<option value=\"{}\"{}>{}</option>", room.id, selected(query.room == room.id.to_string()), escape(&room.name))).collect();
    let machine_options: String =
        machines.iter().map(|m| format!("<option value=\"{}\"{}>{} · {}</option>", escape(&m.id), selected(query.machine == m.id), escape(&m.room), escape(&m.name))).collect();
    let kind_options: String = KINDS.iter().map(|kind| format!("<option value=\"{kind}\"{}>{}</option>", selected(query.kind == *kind), t(&format!("console-activity-{kind}")))).collect();
    let mut body = format!(
        "<form method=\"get\" action=\"/activity\" class=\"filter\" role=\"search\">\
         <label>{words}<input name=\"q\" type=\"search\" value=\"{q}\"></label>\
         <label>{room}<select name=\"room\"><option value=\"\">{all}</option>{room_options}</select></label>\
         <label>{machine}<select name=\"machine\"><option value=\"\">{all}</option>{machine_options}</select></label>\
         <label>{from}<input name=\"from\" type=\"date\" value=\"{from_value}\"></label>\
         <label>{to}<input name=\"to\" type=\"date\" value=\"{to_value}\"></label>\
         <label>{kind}<select name=\"kind\"><option value=\"\">{all}</option>{kind_options}</select></label>\
         <button>{search}</button></form><p><a href=\"/activity.csv?{encoded}\" download>{export}</a></p>",
        words = t("console-activity-words"),
        q = escape(&query.q),
        room = t("console-room"),
        machine = t("console-machine"),
        from = t("console-activity-from"),
        to = t("console-activity-to"),
        from_value = escape(&query.from),
        to_value = escape(&query.to),
        kind = t("console-activity-kind"),
        all = t("console-activity-all"),
        search = t("console-activity-search"),
        encoded = escape(&query.encoded()),
        export = t("console-activity-export"),
    );
    let older = rows.len() > PER_PAGE;
    let shown = &rows[..rows.len().min(PER_PAGE)];
    activity_table(&server, shown, true, &mut body);
    if older {
        if let Some(last) = shown.last() {
            let _ = write!(body, "<nav class=\"pages\"><a href=\"/activity?{}&amp;before={}\">{}</a></nav>", escape(&query.encoded()), last.id, t("console-older-entries"));
        }
    }
    Ok(server.page(Some(&user), "console-activity", &body))
}

/// The log as a table: when, where, what kind, what (and for a block, why).
fn activity_table(server: &Server, rows: &[ActivityRow], with_session: bool, body: &mut String) {
    let t = |id: &str| escape(&server.t(id));
    if rows.is_empty() {
        let _ = write!(body, "<p class=\"empty\">{}</p>", t("console-activity-none"));
        return;
    }
    let _ = write!(
        body,
        "<table id=\"activity\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th>{}</tr></thead><tbody>",
        t("console-when"),
        t("console-room"),
        t("console-machine"),
        t("console-activity-kind"),
        t("console-activity-what"),
        if with_session { format!("<th>{}</th>", t("console-activity-session")) } else { String::new() },
    );
    for row in rows {
        let _ = write!(
            body,
            "<tr class=\"kind-{kind}\"><td><time datetime=\"{when}\">{when}</time></td><td>{room}</td><td>{machine}</td><td>{label}</td><td>{what}</td>",
            kind = escape(&row.kind),
            when = iso_time(row.at / 1000),
            room = escape(&row.room),
            machine = escape(&row.machine),
            label = t(&format!("console-activity-{}", row.kind)),
            what = what_happened(server, row),
        );
        if with_session {
            let _ = write!(body, "<td><a href=\"/activity/sessions/{}\">{}</a></td>", escape(&row.session), t("console-activity-timeline"));
        }
        body.push_str("</tr>");
    }
    body.push_str("</tbody></table>");
}

/// The address or search words of an event, and for a block the rule or category that decided.
fn what_happened(server: &Server, row: &ActivityRow) -> String {
    let url = row.url.as_deref().unwrap_or("");
    match row.kind.as_str() {
        "searched" => format!("<q>{}</q> <small>{}</small>", escape(row.terms.as_deref().unwrap_or("")), escape(row.engine.as_deref().unwrap_or(""))),
        "titled" => format!("{} <small>{}</small>", escape(row.title.as_deref().unwrap_or("")), escape(url)),
        "blocked" => {
            let why = row.rule.as_deref().or(row.category.as_deref()).unwrap_or("");
            format!("{}<br><small>{}: {} {}</small>", escape(url), escape(&server.t("console-activity-because")), escape(why), escape(row.reason.as_deref().unwrap_or("")))
        }
        "subresources-blocked" => format!("{} × {} <small>{}</small>", escape(row.host.as_deref().unwrap_or("")), row.count.unwrap_or(0), escape(url)),
        "session-end" => escape(row.reason.as_deref().unwrap_or("")),
        "dropped" => {
            let count = u64::try_from(row.count.unwrap_or(0)).unwrap_or(0);
            escape(&server.messages.message_with("console-activity-dropped-help", &[("count", count)]).unwrap_or_default())
        }
        "told" => format!("{} <small><a href=\"/reports\">{}</a></small>", escape(url), escape(&server.t("console-reports"))),
        _ => escape(url),
    }
}

async fn session_page(State(server): State<Arc<Server>>, SignedIn(user): SignedIn, Path(session): Path<String>) -> Result<Html<String>, ConsoleError> {
    safeguarding_only(&user)?;
    let rows = {
        let store = server.store();
        store.audit(Some(user.id), "view-session", &session, now())?;
        store.session_activity(&session)?
    };
    let mut body = String::new();
    if let Some(first) = rows.first() {
        let _ = write!(
            body,
            "<p>{} · {}{}</p>",
            escape(&first.room),
            escape(&first.machine),
            first.lesson.as_deref().map(|lesson| format!(" · {}", escape(lesson))).unwrap_or_default()
        );
    }
    activity_table(&server, &rows, false, &mut body);
    Ok(server.page(Some(&user), "console-activity-timeline", &body))
}

async fn activity_csv(State(server): State<Arc<Server>>, SignedIn(user): SignedIn, Query(query): Query<ActivityQuery>) -> Result<Response, ConsoleError> {
    safeguarding_only(&user)?;
    let rows = server.store().search_activity(&ActivityFilter { before: None, ..query.filter() }, CSV_ROWS)?;
    let mut csv = String::from("date and time,room,computer,session,lesson,kind,url,title,search terms,engine,rule,category,reason,host,count\r\n");
    for row in &rows {
        let count = row.count.map(|c| c.to_string()).unwrap_or_default();
        let when = iso_time(row.at / 1000);
        let fields = [
            when.as_str(),
            &row.room,
            &row.machine,
            &row.session,
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
    server.store().audit(Some(user.id), "export-activity", &format!("{} events (q={:?})", rows.len(), query.q), now())?;
    Ok(([(CONTENT_TYPE, "text/csv; charset=utf-8"), (CONTENT_DISPOSITION, "attachment; filename=\"satchel-activity.csv\"")], csv).into_response())
}

#[derive(Deserialize)]
struct AlertsQuery {
    before: Option<i64>,
}

async fn alerts_page(State(server): State<Arc<Server>>, SignedIn(user): SignedIn, Query(query): Query<AlertsQuery>) -> Result<Html<String>, ConsoleError> {
    safeguarding_only(&user)?;
    let (alerts, terms) = {
        let store = server.store();
        (store.alerts(query.before, PER_PAGE + 1)?, store.school_terms()?)
    };
    let t = |id: &str| escape(&server.t(id));
    let mut body = format!("<p>{}</p>", t("console-alerts-help"));
    let _ = write!(
        body,
        "<table id=\"alerts\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        t("console-when"),
        t("console-alert-where"),
        t("console-alert-category"),
        t("console-alert-words"),
        t("console-alert-text"),
        t("console-alerts-dealt-with"),
    );
    let older = alerts.len() > PER_PAGE;
    for (alert, acknowledged) in alerts.iter().take(PER_PAGE) {
        body.push_str(&alert_row(&server, &user, alert, acknowledged.as_ref()));
    }
    body.push_str("</tbody></table>");
    if alerts.is_empty() {
        let _ = write!(body, "<p class=\"empty\">{}</p>", t("console-alerts-none"));
    }
    if older {
        if let Some((last, _)) = alerts.get(PER_PAGE - 1) {
            let _ = write!(body, "<nav class=\"pages\"><a href=\"/alerts?before={}\">{}</a></nav>", last.id, t("console-older-entries"));
        }
    }
    body.push_str(&terms_section(&server, &user, &terms));
    Ok(server.page(Some(&user), "console-alerts", &body))
}

fn alert_row(server: &Server, user: &User, alert: &crate::server::store::AlertRow, acknowledged: Option<&crate::server::store::Acknowledgement>) -> String {
    let t = |id: &str| escape(&server.t(id));
    let words = if alert.reason == "repeated-blocks" { format!("{}: {}", t("console-alert-repeated-blocks"), escape(&alert.words)) } else { escape(&alert.words) };
    let dealt_with = match acknowledged {
        Some(ack) => format!("<time datetime=\"{when}\">{when}</time> {}<br>{}", escape(&ack.by), escape(&ack.note), when = iso_time(ack.at)),
        None => format!(
            "<form method=\"post\" action=\"/alerts/{id}/acknowledge\">{csrf}<label>{note}<input name=\"note\" maxlength=\"2000\" required></label><button>{ack}</button></form>",
            id = alert.id,
            csrf = csrf_field(user),
            note = t("console-alerts-note"),
            ack = t("console-alerts-acknowledge"),
        ),
    };
    format!(
        "<tr id=\"alert-{id}\" class=\"severity-{severity}{open}\"><td><time datetime=\"{when}\">{when}</time></td><td>{room} · {machine}</td>\
         <td><strong>{severity_label}</strong> {category}</td><td>{words}</td><td>{text}<br><a href=\"/activity/sessions/{session}\">{timeline}</a></td><td>{dealt_with}</td></tr>",
        id = alert.id,
        severity = escape(&alert.severity),
        open = if acknowledged.is_none() { " open" } else { "" },
        when = iso_time(alert.at / 1000),
        room = escape(&alert.room),
        machine = escape(&alert.machine),
        severity_label = t(&format!("console-alerts-{}", alert.severity)),
        category = escape(&alert.category),
        text = escape(&alert.text),
        session = escape(&alert.session),
        timeline = t("console-activity-timeline"),
    )
}

/// One alert's row, for the page to add as the alert arrives (`event: alert`).
async fn alert_row_fragment(State(server): State<Arc<Server>>, SignedIn(user): SignedIn, Path(id): Path<i64>) -> Result<Html<String>, ConsoleError> {
    safeguarding_only(&user)?;
    let alerts = server.store().alerts(Some(id + 1), 1)?;
    match alerts.first() {
        Some((alert, acknowledged)) if alert.id == id => Ok(Html(alert_row(&server, &user, alert, acknowledged.as_ref()))),
        _ => Err(ConsoleError(StatusCode::NOT_FOUND, "No such alert.".into())),
    }
}

#[derive(Deserialize)]
struct AcknowledgeForm {
    csrf: String,
    note: String,
}

async fn acknowledge(State(server): State<Arc<Server>>, SignedIn(user): SignedIn, Path(id): Path<i64>, Form(form): Form<AcknowledgeForm>) -> Result<Response, ConsoleError> {
    safeguarding_only(&user)?;
    check_csrf(&user, &form.csrf)?;
    let note = form.note.trim();
    if note.is_empty() || note.chars().count() > 2000 {
        return Err(ConsoleError(StatusCode::UNPROCESSABLE_ENTITY, server.t("console-alerts-note-needed")));
    }
    let store = server.store();
    if store.acknowledge_alert(id, user.id, note, now())? {
        store.audit(Some(user.id), "acknowledge-alert", &format!("alert {id}: {note}"), now())?;
    }
    Ok(redirect("/alerts"))
}

fn terms_section(server: &Server, user: &User, terms: &[crate::server::store::SchoolTerm]) -> String {
    let t = |id: &str| escape(&server.t(id));
    let csrf = csrf_field(user);
    let mut section = format!(
        "<section aria-labelledby=\"terms-h\"><h2 id=\"terms-h\">{}</h2><p>{}</p><table id=\"terms\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th></th></tr></thead><tbody>",
        t("console-terms"),
        t("console-terms-help"),
        t("console-terms-phrase"),
        t("console-alert-category"),
        t("console-terms-severity"),
    );
    for term in terms {
        let _ = write!(
            section,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><form method=\"post\" action=\"/alerts/terms/{}/remove\">{csrf}<button>{}</button></form></td></tr>",
            escape(&term.phrase),
            escape(&term.category),
            t(&format!("console-alerts-{}", term.severity)),
            term.id,
            t("console-terms-remove"),
        );
    }
    let categories: String = crate::alerts::BUILT_IN.iter().map(|(category, _)| format!("<option>{category}</option>")).collect();
    let _ = write!(
        section,
        "</tbody></table><form method=\"post\" action=\"/alerts/terms\" class=\"inline\">{csrf}<label>{phrase}<input name=\"phrase\" required maxlength=\"200\"></label>\
         <label>{category}<select name=\"category\">{categories}</select></label><label>{severity}<select name=\"severity\"><option value=\"urgent\">{urgent}</option>\
         <option value=\"review\" selected>{review}</option></select></label><button>{add}</button></form></section>",
        phrase = t("console-terms-phrase"),
        category = t("console-alert-category"),
        severity = t("console-terms-severity"),
        urgent = t("console-alerts-urgent"),
        review = t("console-alerts-review"),
        add = t("console-terms-add"),
    );
    section
}

#[derive(Deserialize)]
struct TermForm {
    csrf: String,
    phrase: String,
    category: String,
    severity: String,
}

async fn add_term(State(server): State<Arc<Server>>, SignedIn(user): SignedIn, Form(form): Form<TermForm>) -> Result<Response, ConsoleError> {
    safeguarding_only(&user)?;
    check_csrf(&user, &form.csrf)?;
    let phrase = form.phrase.trim();
    let severity = Severity::parse(&form.severity).ok_or_else(|| ConsoleError(StatusCode::UNPROCESSABLE_ENTITY, server.t("console-terms-bad")))?;
    let Some((category, _)) = crate::alerts::BUILT_IN.iter().find(|(category, _)| *category == form.category) else {
        return Err(ConsoleError(StatusCode::UNPROCESSABLE_ENTITY, server.t("console-terms-bad")));
    };
    // The same rule as the shipped lists: enough letters to mean something.
    if phrase.chars().count() > 200 || crate::alerts::Matcher::builder().add(phrase, &(*category).into(), severity).is_err() {
        return Err(ConsoleError(StatusCode::UNPROCESSABLE_ENTITY, server.t("console-terms-bad")));
    }
    let store = server.store();
    if store.add_school_term(phrase, category, severity.name(), user.id, now())? {
        store.audit(Some(user.id), "add-alert-term", &format!("{phrase} ({category}, {})", severity.name()), now())?;
        server.alert_terms.changed();
    }
    Ok(redirect("/alerts#terms-h"))
}

async fn remove_term(State(server): State<Arc<Server>>, SignedIn(user): SignedIn, Path(id): Path<i64>, Form(form): Form<CsrfForm>) -> Result<Response, ConsoleError> {
    safeguarding_only(&user)?;
    check_csrf(&user, &form.csrf)?;
    let store = server.store();
    if let Some(phrase) = store.remove_school_term(id)? {
        store.audit(Some(user.id), "remove-alert-term", &phrase, now())?;
        server.alert_terms.changed();
    }
    Ok(redirect("/alerts#terms-h"))
}

/// Room now: the page and its list of machines, which the page fetches again every few
/// seconds.
async fn rooms_now_page(State(server): State<Arc<Server>>, SignedIn(user): SignedIn) -> Result<Html<String>, ConsoleError> {
    let machines = rooms_now_html(&server, &user)?;
    let body = format!("<p>{}</p><div id=\"room-now\" data-refresh=\"/rooms/now/machines\" aria-live=\"polite\">{machines}</div>", escape(&server.t("console-room-now-help")));
    Ok(server.page(Some(&user), "console-room-now", &body))
}

async fn rooms_now_fragment(State(server): State<Arc<Server>>, SignedIn(user): SignedIn) -> Result<Html<String>, ConsoleError> {
    Ok(Html(rooms_now_html(&server, &user)?))
}

fn rooms_now_html(server: &Server, user: &User) -> Result<String, ConsoleError> {
    let machines = {
        let store = server.store();
        let rooms: Vec<i64> = store.rooms_for(user, now())?.iter().map(|room| room.id).collect();
        store.rooms_now(&rooms)?
    };
    let t = |id: &str| escape(&server.t(id));
    if machines.is_empty() {
        return Ok(format!("<p class=\"empty\">{}</p>", t("console-room-now-none")));
    }
    let mut html = String::from("<ul class=\"machines-now\">");
    for machine in &machines {
        let page = match &machine.page {
            Some((url, title)) => {
                let host = url::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_else(|| url.clone());
                format!("<span class=\"host\">{}</span> {}", escape(&host), escape(title.as_deref().unwrap_or("")))
            }
            None => t("console-room-now-home"),
        };
        let blocked = machine
            .blocked
            .as_ref()
            .map(|(url, at)| format!("<p class=\"blocked\">{} <span>{}</span> <time datetime=\"{when}\">{when}</time></p>", t("console-room-now-blocked"), escape(url), when = iso_time(at / 1000)))
            .unwrap_or_default();
        let _ = write!(html, "<li><h2>{} <small>{}</small></h2><p class=\"page\">{page}</p>{blocked}</li>", escape(&machine.machine), escape(&machine.room));
    }
    html.push_str("</ul>");
    Ok(html)
}
