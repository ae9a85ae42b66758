//! The teacher console: server-rendered pages with a little JavaScript, live over SSE. This
//! module holds what every page shares: the router, the page chrome, errors and the security
//! headers. The pages live by subject in the modules below and their markup in
//! `templates/console/` (askama: escaped unless it is another template's output, checked when
//! the server is built). Who may call a handler, and that a form carries its CSRF token, are
//! extractors in `access`: a handler that does not name one never sees the user.

use std::sync::Arc;

use askama::Template;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, LOCATION, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tracing::warn;

use super::store::{Role, SchoolRow, User};
use super::{now, Server};
use crate::pages::Pages;

mod access;
mod admin;
mod audit;
mod auth;
mod events;
mod lessons;
mod machines;
mod monitoring;
mod reports;

use access::{Admin, Posted, Safeguarding, SignedIn, Trust};

/// The session cookie: HttpOnly, SameSite=Strict, its token stored only as a hash.
const SESSION_COOKIE: &str = "satchel_session";

pub fn router() -> Router<Arc<Server>> {
    Router::new()
        .route("/", get(|| async { redirect("/lessons") }))
        .route(
            "/static/console.css",
            get(|| async { static_file("text/css", include_str!("../../../assets/console/console.css")) }),
        )
        .route(
            "/static/console.js",
            get(|| async { static_file("text/javascript", include_str!("../../../assets/console/console.js")) }),
        )
        .merge(auth::router())
        .merge(lessons::router())
        .merge(reports::router())
        .merge(events::router())
        .merge(machines::router())
        .merge(admin::router())
        .merge(audit::router())
        .merge(monitoring::router())
        .route("/school-view", axum::routing::post(choose_school))
        .layer(axum::middleware::map_response(security_headers))
}

/// What every console answer tells the browser: run only the console's own script and style,
/// never inside another site's frame, send no referrer, guess no types, and (unless the answer
/// says otherwise) keep nothing: pages hold reports, one-time passwords and codes.
async fn security_headers(mut response: Response) -> Response {
    const POLICY: &str =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; \
                          form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
    let headers = response.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.entry(CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

#[derive(serde::Deserialize)]
struct SchoolView {
    /// A school's id, or empty for every school.
    school: String,
    /// The page to go back to (the console's script fills it in).
    #[serde(default)]
    back: String,
}

/// The trust's safeguarding staff look at one school at a time, or at every school: every
/// page, the live stream and the exports then show that school's alone.
async fn choose_school(
    axum::extract::State(server): axum::extract::State<Arc<Server>>,
    Posted(Trust(Safeguarding(user)), form): Posted<Trust<Safeguarding>, SchoolView>,
) -> Result<Response, ConsoleError> {
    let school = match form.school.parse::<i64>() {
        Ok(id) if server.store().schools()?.iter().any(|school| school.id == id) => Some(id),
        Ok(_) => return Err(ConsoleError::not_found("No such school.")),
        Err(_) => None,
    };
    server.store().set_viewing_school(user.id, school)?;
    // Only a path of the console's own: never another site.
    let own_page = form.back.starts_with('/') && !form.back.starts_with("//") && !form.back.contains('\\');
    Ok(redirect(if own_page { &form.back } else { "/reports" }))
}

/// A console failure, shown as a small page.
pub struct ConsoleError(StatusCode, String);

impl ConsoleError {
    fn not_found(what: &str) -> Self {
        ConsoleError(StatusCode::NOT_FOUND, what.to_owned())
    }

    fn internal(what: impl Into<String>) -> Self {
        ConsoleError(StatusCode::INTERNAL_SERVER_ERROR, what.into())
    }
}

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage<'a> {
    message: &'a str,
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        match (ErrorPage { message: &self.1 }).render() {
            Ok(html) => (self.0, Html(html)).into_response(),
            Err(error) => {
                warn!(%error, "the error page failed");
                self.0.into_response()
            }
        }
    }
}

impl From<super::store::Error> for ConsoleError {
    fn from(error: super::store::Error) -> Self {
        warn!(%error, "database error");
        ConsoleError::internal("The server's database failed.")
    }
}

impl From<askama::Error> for ConsoleError {
    fn from(error: askama::Error) -> Self {
        warn!(%error, "a console template failed");
        ConsoleError::internal("The page could not be made.")
    }
}

/// HTML made by a template, already escaped: templates put it in as it is, where a `String`
/// would be escaped. Only [`render`] makes one.
pub(super) struct Markup(String);

impl std::fmt::Display for Markup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl askama::filters::HtmlSafe for Markup {}

fn render(template: &impl Template) -> Result<Markup, ConsoleError> {
    Ok(Markup(template.render()?))
}

/// The console's words in its locale, for templates: `t.get("console-save")`.
#[derive(Clone, Copy)]
pub(super) struct Words<'a>(&'a Pages);

impl Words<'_> {
    /// A message; its id when the locale lacks it (tests/locales.rs keeps every id in every locale).
    pub fn get(&self, id: &str) -> String {
        self.0.message(id).map(|m| m.into_owned()).unwrap_or_else(|| id.to_owned())
    }

    /// One of a family of messages named by a value: `of("console-status", "in hand")` is
    /// `console-status-in-hand`.
    pub fn of(&self, family: &str, key: &str) -> String {
        self.get(&format!("{family}-{}", key.replace(' ', "-")))
    }

    /// A message with numbers in it.
    pub fn count(&self, id: &str, numbers: &[(&str, u64)]) -> String {
        self.0.message_with(id, numbers).map(|m| m.into_owned()).unwrap_or_default()
    }

    /// A message with one number in it (from the database: never below nought).
    pub fn one(&self, id: &str, name: &str, number: i64) -> String {
        self.count(id, &[(name, u64::try_from(number).unwrap_or(0))])
    }
}

/// `at.iso()` in a template: Unix seconds as ISO 8601 (the script shows it in local time).
pub(super) trait Iso {
    fn iso(&self) -> String;
}

impl Iso for u64 {
    fn iso(&self) -> String {
        iso_time(*self)
    }
}

#[derive(Template)]
#[template(path = "console/page.html")]
struct Page<'a> {
    lang: &'a str,
    title: String,
    user: Option<&'a User>,
    t: Words<'a>,
    body: Markup,
    /// For the trust's safeguarding staff of several schools: the schools to look at one by one.
    schools: Vec<SchoolRow>,
}

impl Server {
    /// Served over HTTPS, the cookies say so: a browser then never sends them over plain HTTP.
    fn cookie_security(&self) -> &'static str {
        if self.fingerprint.get().is_some() {
            "; Secure"
        } else {
            ""
        }
    }

    pub(super) fn t(&self, id: &str) -> String {
        self.words().get(id)
    }

    fn words(&self) -> Words<'_> {
        Words(&self.messages)
    }

    /// A whole console page: navigation for this user's role, then `body`.
    fn page(&self, user: Option<&User>, title_id: &str, body: Markup) -> Result<Html<String>, ConsoleError> {
        let trusts = user.filter(|user| user.school.is_none() && user.role.sees_whole_school());
        let schools = match trusts {
            Some(_) => Some(self.store().schools()?).filter(|schools| schools.len() > 1).unwrap_or_default(),
            None => Vec::new(),
        };
        let page = Page { lang: self.messages.tag(), title: self.t(title_id), user, t: self.words(), body, schools };
        Ok(Html(page.render()?))
    }
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

fn redirect(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, to.to_owned())]).into_response()
}

fn static_file(media_type: &'static str, text: &'static str) -> Response {
    ([(CONTENT_TYPE, media_type), (CACHE_CONTROL, "no-cache")], text).into_response()
}

fn may_use_room(server: &Server, user: &User, room_id: i64) -> Result<(), ConsoleError> {
    let allowed = server.store().rooms_for(user, now())?.iter().any(|room| room.id == room_id);
    if allowed {
        Ok(())
    } else {
        Err(ConsoleError(StatusCode::FORBIDDEN, "That room is not one of yours.".into()))
    }
}

/// A CSV field, quoted, and defused so a spreadsheet never runs it as a formula.
fn csv_field(text: &str) -> String {
    let defused = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_owned() };
    format!("\"{}\"", defused.replace('"', "\"\""))
}

/// `2026-11-23T13:45:00Z` from Unix seconds (the page shows it in the reader's local time).
pub(super) fn iso_time(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let rest = seconds % 86_400;
    // Days to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_in_iso_8601() {
        assert_eq!(iso_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_time(1_795_441_500), "2026-11-23T13:45:00Z");
        assert_eq!(iso_time(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("a \"b\", c"), "\"a \"\"b\"\", c\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
    }
}
