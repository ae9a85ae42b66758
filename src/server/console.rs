//! The teacher console: server-rendered pages with a little JavaScript, live over SSE. Log in
//! (argon2, HttpOnly SameSite cookies, CSRF tokens on every form, rate-limited), lessons for
//! rooms, and the report inbox with screenshots hidden until a member of staff reveals them.

use std::convert::Infallible;
use std::fmt::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, LOCATION, REFERRER_POLICY, RETRY_AFTER, SET_COOKIE,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use tracing::{info, warn};

use super::login::Client;
use super::store::{AskOutcome, IncidentFields, MachineRow, ReportEdit, ReportRow, Role, User};
use super::{hash, now, random_hex, Server};
use crate::pages::{escape, Tile};
use crate::policy::Policy;

const SESSION_COOKIE: &str = "satchel_session";
const LOGIN_COOKIE: &str = "satchel_login";
/// A browser that signed in to an account before: its tries are counted apart from others'.
const DEVICE_COOKIE: &str = "satchel_device";
const DEVICE_DAYS: u64 = 365;
const SESSION_HOURS: u64 = 12;
/// A new password's least length, and the most the form takes.
const PASSWORD_LENGTH: std::ops::RangeInclusive<usize> = 10..=256;
const STATUSES: [&str; 3] = ["new", "in hand", "closed"];

mod monitoring;

pub fn router() -> Router<Arc<Server>> {
    Router::new()
        .route("/", get(|| async { redirect("/lessons") }))
        .route("/login", get(login_page).post(login).layer(axum::extract::DefaultBodyLimit::max(super::transport::OPEN_BODY_LIMIT)))
        .route("/logout", post(logout))
        .route("/password", get(password_page).post(change_password))
        .route("/lessons", get(lessons_page).post(create_lesson))
        .route("/lessons/{id}/start", post(start_lesson))
        .route("/rooms/{id}/end", post(end_lesson))
        .route("/rooms/{id}/extend", post(extend_lesson))
        .route("/reports", get(reports_page))
        .route("/reports.csv", get(reports_csv))
        .route("/reports/{id}/row", get(report_row))
        .route("/reports/{id}/reveal", post(reveal))
        .route("/reports/{id}", post(update_report))
        .route("/events", get(events))
        .route("/asks", get(asks_fragment))
        .route("/asks/{id}/approve", post(approve_ask))
        .route("/asks/{id}/decline", post(decline_ask))
        .route("/machines", get(machines_page))
        .route("/machines/{id}/retire", post(retire_machine))
        .route("/junk", get(junk_page))
        .route("/machines/{id}/junk", get(junk_preview).post(remove_junk))
        .route("/audit", get(audit_page))
        .route("/admin", get(admin_page))
        .route("/admin/rooms", post(add_room))
        .route("/admin/rooms/{id}/profile", post(set_room_profile))
        .route("/admin/rooms/{id}/code", post(enrol_code))
        .route("/admin/users", post(add_user))
        .route("/admin/users/{id}/disable", post(disable_user))
        .route("/admin/users/{id}/reset-password", post(reset_user_password))
        .route("/profiles", get(profiles_page))
        .route("/profiles/{id}", post(save_profile))
        .route("/profiles/{id}/list", get(export_profile))
        .route("/static/console.css", get(|| async { static_file("text/css", include_str!("../../assets/console/console.css")) }))
        .route("/static/console.js", get(|| async { static_file("text/javascript", include_str!("../../assets/console/console.js")) }))
        .merge(monitoring::router())
        .layer(axum::middleware::map_response(security_headers))
}

/// What every console answer tells the browser: run only the console's own script and style,
/// never inside another site's frame, send no referrer, guess no types, and (unless the answer
/// says otherwise) keep nothing: pages hold reports, one-time passwords and codes.
async fn security_headers(mut response: Response) -> Response {
    const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; \
                          form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
    let headers = response.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.entry(CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

/// A console failure, shown as a small page.
pub struct ConsoleError(StatusCode, String);

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        (self.0, Html(format!("<!doctype html><meta charset=utf-8><title>Satchel</title><p>{}</p>", escape(&self.1)))).into_response()
    }
}

impl From<rusqlite::Error> for ConsoleError {
    fn from(error: rusqlite::Error) -> Self {
        warn!(%error, "database error");
        ConsoleError(StatusCode::INTERNAL_SERVER_ERROR, "The server's database failed.".into())
    }
}

/// A member of staff with a live session. Pages redirect to the login page without one.
pub struct SignedIn(User);

impl FromRequestParts<Arc<Server>> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, server: &Arc<Server>) -> Result<Self, Self::Rejection> {
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or_else(|| redirect("/login"))?;
        match server.store().session(&hash(&token), now()) {
            // A one-time password is changed before anything else is done.
            Ok(Some(user)) if user.must_change_password && !matches!(parts.uri.path(), "/password" | "/logout") => Err(redirect("/password")),
            Ok(Some(user)) => Ok(SignedIn(user)),
            Ok(None) => Err(redirect("/login")),
            Err(error) => Err(ConsoleError::from(error).into_response()),
        }
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

/// Every form carries the session's CSRF token; a post without it changes nothing.
fn check_csrf(user: &User, presented: &str) -> Result<(), ConsoleError> {
    let (a, b) = (user.csrf.as_bytes(), presented.as_bytes());
    if a.len() == b.len() && a.iter().zip(b).fold(0, |acc, (x, y)| acc | (x ^ y)) == 0 {
        Ok(())
    } else {
        Err(ConsoleError(StatusCode::FORBIDDEN, "This form has expired: go back, reload the page and try again.".into()))
    }
}

fn may_use_room(server: &Server, user: &User, room_id: i64) -> Result<(), ConsoleError> {
    let allowed = server.store().rooms_for(user, now())?.iter().any(|room| room.id == room_id);
    if allowed { Ok(()) } else { Err(ConsoleError(StatusCode::FORBIDDEN, "That room is not one of yours.".into())) }
}

impl Server {
    /// Served over HTTPS, the cookies say so: a browser then never sends them over plain HTTP.
    fn cookie_security(&self) -> &'static str {
        if self.fingerprint.get().is_some() { "; Secure" } else { "" }
    }

    pub(super) fn t(&self, id: &str) -> String {
        self.messages.message(id).map(|m| m.into_owned()).unwrap_or_else(|| id.to_owned())
    }

    /// A whole console page: navigation for this user's role, then `body`.
    fn page(&self, user: Option<&User>, title_id: &str, body: &str) -> Html<String> {
        let mut html = String::new();
        let _ = write!(
            html,
            "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{title} · Satchel</title><link rel=\"stylesheet\" href=\"/static/console.css\">",
            lang = self.messages.tag(),
            title = escape(&self.t(title_id)),
        );
        if let Some(user) = user {
            let _ = write!(html, "<meta name=\"csrf\" content=\"{}\"><script src=\"/static/console.js\" defer></script>", escape(&user.csrf));
        }
        html.push_str("</head><body>");
        if let Some(user) = user {
            let _ = write!(
                html,
                "<header><nav aria-label=\"{nav}\"><span class=\"brand\">Satchel</span><a href=\"/lessons\">{lessons}</a><a href=\"/reports\">{reports}</a>{extra}\
                 <span class=\"who\"><a href=\"/password\" title=\"{change}\">{name}</a></span><form method=\"post\" action=\"/logout\">{csrf}<button>{logout}</button></form></nav></header>",
                nav = escape(&self.t("console-nav")),
                lessons = escape(&self.t("console-lessons")),
                reports = escape(&self.t("console-reports")),
                extra = self.role_links(user.role),
                name = escape(&user.name),
                csrf = csrf_field(user),
                logout = escape(&self.t("console-logout")),
                change = escape(&self.t("console-change-password")),
            );
        }
        let _ = write!(html, "<main><h1>{}</h1>{body}</main></body></html>", escape(&self.t(title_id)));
        Html(html)
    }
}

impl Server {
    /// The pages only some roles have.
    fn role_links(&self, role: Role) -> String {
        let mut links = String::new();
        let _ = write!(links, "<a href=\"/rooms/now\">{}</a>", escape(&self.t("console-room-now")));
        if role.sees_every_room() {
            let _ = write!(links, "<a href=\"/alerts\">{}</a>", escape(&self.t("console-alerts")));
            let _ = write!(links, "<a href=\"/activity\">{}</a>", escape(&self.t("console-activity")));
            let _ = write!(links, "<a href=\"/audit\">{}</a>", escape(&self.t("console-audit")));
            let _ = write!(links, "<a href=\"/junk\">{}</a>", escape(&self.t("console-junk")));
        }
        if role == Role::Admin {
            let _ = write!(links, "<a href=\"/admin\">{}</a>", escape(&self.t("console-admin")));
            let _ = write!(links, "<a href=\"/profiles\">{}</a>", escape(&self.t("console-profiles")));
            let _ = write!(links, "<a href=\"/machines\">{}</a>", escape(&self.t("console-machines")));
        }
        links
    }
}

fn need_role(allowed: bool) -> Result<(), ConsoleError> {
    if allowed { Ok(()) } else { Err(ConsoleError(StatusCode::FORBIDDEN, "This page is not for your role.".into())) }
}

fn csrf_field(user: &User) -> String {
    format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", escape(&user.csrf))
}

async fn login_page(State(server): State<Arc<Server>>) -> Response {
    login_form(&server, None, StatusCode::OK)
}

fn login_form(server: &Server, error: Option<&str>, status: StatusCode) -> Response {
    // Double-submit token: the login form's CSRF value must match this cookie.
    let token = random_hex(16).unwrap_or_default();
    let error = error.map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(&server.t(e)))).unwrap_or_default();
    let body = format!(
        "{error}<form method=\"post\" action=\"/login\" class=\"login\"><input type=\"hidden\" name=\"csrf\" value=\"{token}\">\
         <label>{name}<input name=\"name\" autocomplete=\"username\" required></label>\
         <label>{password}<input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label>\
         <button>{login}</button></form>",
        name = escape(&server.t("console-name")),
        password = escape(&server.t("console-password")),
        login = escape(&server.t("console-login")),
    );
    let cookie = format!("{LOGIN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/login{}", server.cookie_security());
    (status, [(SET_COOKIE, cookie)], server.page(None, "console-login-title", &body)).into_response()
}

#[derive(Deserialize)]
struct LoginForm {
    csrf: String,
    name: String,
    password: String,
}

async fn login(State(server): State<Arc<Server>>, headers: HeaderMap, Form(form): Form<LoginForm>) -> Result<Response, ConsoleError> {
    if cookie(&headers, LOGIN_COOKIE).as_deref() != Some(form.csrf.as_str()) || form.csrf.is_empty() {
        return Ok(login_form(&server, Some("console-form-expired"), StatusCode::FORBIDDEN));
    }
    // Account names are short; a long one is no account, and is not worth logging whole.
    let name: String = form.name.trim().chars().take(super::ACCOUNT_NAME_CHARS).collect();
    let account = server.store().user_login(&name)?;
    let device = cookie(&headers, DEVICE_COOKIE).map(|token| hash(&token));
    let client = match (&account, device) {
        (Some((user_id, _)), Some(device)) if server.store().is_known_device(&device, *user_id)? => Client::Known(device),
        _ => Client::Elsewhere,
    };
    if let Err(wait) = server.login_guard.begin(&name, &client, Instant::now()) {
        warn!(name, wait_seconds = wait.as_secs(), "login refused: too many tries");
        let mut refused = login_form(&server, Some("console-too-many-tries"), StatusCode::TOO_MANY_REQUESTS);
        refused.headers_mut().insert(RETRY_AFTER, HeaderValue::from(wait.as_secs().max(1)));
        return Ok(refused);
    }
    // A name that is no account is checked against a stand-in hash: it takes as long as a
    // real one, so the time taken does not tell which names exist.
    let stored = account.as_ref().map(|(_, stored)| stored.clone());
    let password = form.password;
    let verified = tokio::task::spawn_blocking(move || crate::secrets::matches(stored.as_deref().unwrap_or_else(|| super::login::stand_in_hash()), &password))
        .await
        .unwrap_or(false);
    let Some((user_id, _)) = account.filter(|_| verified) else {
        server.login_guard.failed(&name, &client, Instant::now());
        info!(name, "login failed");
        server.store().audit(None, "login-failed", &name, now())?;
        return Ok(login_form(&server, Some("console-wrong-login"), StatusCode::UNAUTHORIZED));
    };
    server.login_guard.succeeded(&name, &client);
    let no_randomness = |_| ConsoleError(StatusCode::INTERNAL_SERVER_ERROR, "no randomness".into());
    let token = random_hex(32).map_err(no_randomness)?;
    let csrf = random_hex(16).map_err(no_randomness)?;
    let new_device = match client {
        Client::Known(_) => None,
        Client::Elsewhere => Some(random_hex(32).map_err(no_randomness)?),
    };
    let store = server.store();
    store.add_session(&hash(&token), user_id, &csrf, now(), now() + SESSION_HOURS * 3600)?;
    if let Some(device) = &new_device {
        store.add_known_device(&hash(device), user_id, now())?;
    }
    store.audit(Some(user_id), "login", &name, now())?;
    let must_change = store.session(&hash(&token), now())?.is_some_and(|user| user.must_change_password);
    let security = server.cookie_security();
    let mut response = redirect(if must_change { "/password" } else { "/lessons" });
    let session = format!("{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{security}", SESSION_HOURS * 3600);
    response.headers_mut().append(SET_COOKIE, HeaderValue::from_str(&session).expect("hex is a valid header"));
    if let Some(device) = new_device {
        let device = format!("{DEVICE_COOKIE}={device}; HttpOnly; SameSite=Strict; Path=/login; Max-Age={}{security}", DEVICE_DAYS * 86_400);
        response.headers_mut().append(SET_COOKIE, HeaderValue::from_str(&device).expect("hex is a valid header"));
    }
    Ok(response)
}

async fn password_page(State(server): State<Arc<Server>>, SignedIn(user): SignedIn) -> Html<String> {
    password_form(&server, &user, None)
}

/// Changing one's own password; with a one-time password, the only page until it is done.
fn password_form(server: &Server, user: &User, error: Option<&str>) -> Html<String> {
    let t = |id: &str| escape(&server.t(id));
    let must = if user.must_change_password { format!("<p class=\"notice\" role=\"status\">{}</p>", t("console-password-must-change")) } else { String::new() };
    let error = error.map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", t(e))).unwrap_or_default();
    let body = format!(
        "{must}{error}<form method=\"post\" action=\"/password\" class=\"login\">{csrf}\
         <label>{current}<input name=\"current\" type=\"password\" autocomplete=\"current-password\" required></label>\
         <label>{new}<input name=\"new\" type=\"password\" autocomplete=\"new-password\" required minlength=\"{least}\" maxlength=\"{most}\" aria-describedby=\"password-help\"></label>\
         <label>{repeat}<input name=\"repeat\" type=\"password\" autocomplete=\"new-password\" required minlength=\"{least}\" maxlength=\"{most}\"></label>\
         <p id=\"password-help\" class=\"help\">{help}</p><button>{save}</button></form>",
        csrf = csrf_field(user),
        current = t("console-password-current"),
        new = t("console-password-new"),
        repeat = t("console-password-repeat"),
        help = t("console-password-help"),
        save = t("console-save"),
        least = PASSWORD_LENGTH.start(),
        most = PASSWORD_LENGTH.end(),
    );
    server.page(Some(user), "console-change-password", &body)
}

#[derive(Deserialize)]
struct PasswordForm {
    csrf: String,
    current: String,
    new: String,
    repeat: String,
}

async fn change_password(State(server): State<Arc<Server>>, SignedIn(user): SignedIn, headers: HeaderMap, Form(form): Form<PasswordForm>) -> Result<Response, ConsoleError> {
    check_csrf(&user, &form.csrf)?;
    let refuse = |error: &str| Ok((StatusCode::UNPROCESSABLE_ENTITY, password_form(&server, &user, Some(error))).into_response());
    if form.new != form.repeat {
        return refuse("console-password-mismatch");
    }
    if !PASSWORD_LENGTH.contains(&form.new.chars().count()) {
        return refuse("console-password-short");
    }
    if form.new == form.current || form.new.eq_ignore_ascii_case(&user.name) {
        return refuse("console-password-same");
    }
    let session = cookie(&headers, SESSION_COOKIE).map(|token| hash(&token));
    // Someone at an unlocked console must not be able to guess the password either.
    let client = Client::Known(session.clone().unwrap_or_default());
    if server.login_guard.begin(&user.name, &client, Instant::now()).is_err() {
        return Ok((StatusCode::TOO_MANY_REQUESTS, password_form(&server, &user, Some("console-too-many-tries"))).into_response());
    }
    let stored = server.store().password_hash(user.id)?.unwrap_or_default();
    let PasswordForm { current, new, .. } = form;
    let checked = tokio::task::spawn_blocking(move || crate::secrets::matches(&stored, &current).then(|| crate::secrets::hash(&new)))
        .await
        .map_err(|_| ConsoleError(StatusCode::INTERNAL_SERVER_ERROR, "the password could not be checked".into()))?;
    let Some(new_hash) = checked else {
        server.login_guard.failed(&user.name, &client, Instant::now());
        return refuse("console-password-wrong");
    };
    let new_hash = new_hash.map_err(|e| ConsoleError(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    server.login_guard.succeeded(&user.name, &client);
    {
        let store = server.store();
        // Every other session of the account ends: a password is changed because it may be known.
        store.set_password(user.id, &new_hash, false, session.as_deref())?;
        store.audit(Some(user.id), "change-password", &user.name, now())?;
    }
    server.sessions_ended.send_modify(|generation| *generation += 1);
    server.forget_first_admin_password(user.id);
    Ok(redirect("/lessons"))
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(State(server): State<Arc<Server>>, SignedIn(user): SignedIn, headers: HeaderMap, Form(form): Form<CsrfForm>) -> Result<Response, ConsoleError> {
    check_csrf(&user, &form.csrf)?;
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        server.store().end_session(&hash(&token))?;
        server.sessions_ended.send_modify(|generation| *generation += 1);
    }
    let clear = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{}", server.cookie_security());
    Ok((StatusCode::SEE_OTHER, [(SET_COOKIE, clear), (LOCATION, "/login".to_owned())]).into_response())
}

async fn lessons_page(State(server): State<Arc<Server>>, SignedIn(user): SignedIn) -> Result<Html<String>, ConsoleError> {
    render_lessons(&server, &user, "", "", &[])
}

/// The lessons page; `name`, `sites` and `errors` refill the new-lesson form after a mistake.
fn render_lessons(server: &Server, user: &User, name: &str, sites: &str, errors: &[String]) -> Result<Html<String>, ConsoleError> {
    let (rooms, lessons) = {
        let store = server.store();
        (store.rooms_for(user, now())?, store.lessons()?)
    };
    let t = |id: &str| escape(&server.t(id));
    let csrf = csrf_field(user);
    let mut body = format!("<section aria-labelledby=\"rooms-h\"><h2 id=\"rooms-h\">{}</h2><table id=\"rooms\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th></th></tr></thead><tbody>", t("console-rooms"), t("console-room"), t("console-running"), t("console-ends"));
    for room in &rooms {
        match &room.lesson {
            Some((lesson, ends)) => {
                let _ = write!(
                    body,
                    "<tr><td>{room}</td><td>{lesson}</td><td><time datetime=\"{ends}\">{ends}</time></td><td class=\"actions\">\
                     <form method=\"post\" action=\"/rooms/{id}/extend\">{csrf}<button>{extend}</button></form>\
                     <form method=\"post\" action=\"/rooms/{id}/end\">{csrf}<button>{end}</button></form></td></tr>",
                    room = escape(&room.name),
                    lesson = escape(lesson),
                    ends = iso_time(*ends),
                    id = room.id,
                    extend = t("console-extend"),
                    end = t("console-end"),
                );
            }
            None => {
                let _ = write!(body, "<tr><td>{}</td><td>{}</td><td></td><td></td></tr>", escape(&room.name), t("console-no-lesson"));
            }
        }
    }
    body.push_str("</tbody></table></section>");
    body.push_str(&asks_html(server, user)?);
    let _ = write!(body, "<section aria-labelledby=\"lessons-h\"><h2 id=\"lessons-h\">{}</h2><ul class=\"lessons\">", t("console-lesson-lists"));
    let room_options: String = rooms.iter().map(|room| format!("<option value=\"{}\">{}</option>", room.id, escape(&room.name))).collect();
    for lesson in &lessons {
        let tiles: String = lesson.tiles.iter().map(|tile| format!("<span class=\"tile\">{} {}</span>", escape(&tile.icon), escape(&tile.title))).collect();
        let _ = write!(
            body,
            "<li><h3>{name}</h3><p class=\"tiles\">{tiles}</p><form method=\"post\" action=\"/lessons/{id}/start\" class=\"start\">{csrf}\
             <label>{room}<select name=\"room\">{room_options}</select></label>\
             <label>{minutes}<input name=\"minutes\" type=\"number\" min=\"5\" max=\"480\" value=\"60\"></label>\
             <button>{start}</button></form></li>",
            name = escape(&lesson.name),
            id = lesson.id,
            room = t("console-room"),
            minutes = t("console-minutes"),
            start = t("console-start"),
        );
    }
    let error_list: String = errors.iter().map(|e| format!("<li>{}</li>", escape(e))).collect();
    let error_block = if errors.is_empty() { String::new() } else { format!("<ul class=\"error\" role=\"alert\">{error_list}</ul>") };
    let _ = write!(
        body,
        "</ul></section><section aria-labelledby=\"new-h\"><h2 id=\"new-h\">{new}</h2>{error_block}\
         <form method=\"post\" action=\"/lessons\" class=\"new-lesson\">{csrf}\
         <label>{lesson_name}<input name=\"name\" required maxlength=\"100\" value=\"{name}\"></label>\
         <label>{sites_label}<textarea name=\"sites\" rows=\"6\" required aria-describedby=\"sites-help\">{sites}</textarea></label>\
         <p id=\"sites-help\" class=\"help\">{sites_help}</p><button>{create}</button></form></section>",
        new = t("console-new-lesson"),
        lesson_name = t("console-lesson-name"),
        name = escape(name),
        sites_label = t("console-sites"),
        sites = escape(sites),
        sites_help = t("console-sites-help"),
        create = t("console-create"),
    );
    Ok(server.page(Some(user), "console-lessons", &body))
}

#[derive(Deserialize)]
struct LessonForm {
    csrf: String,
    name: String,
    sites: String,
}

async fn create_lesson(State(server): State<Arc<Server>>, SignedIn(user): SignedIn, Form(form): Form<LessonForm>) -> Result<Response, ConsoleError> {
    check_csrf(&user, &form.csrf)?;
    let name = form.name.trim();
    let parsed = if name.is_empty() { Err(vec![server.t("console-lesson-name-needed")]) } else { parse_sites(&form.sites) };
    match parsed {
        Ok((list, tiles)) => {
            let store = server.store();
            let id = store.add_lesson(name, &list, &tiles, Some(user.id))?;
            store.audit(Some(user.id), "create-lesson", &format!("{name} ({id}): {}", list.trim()), now())?;
            Ok(redirect("/lessons"))
        }
        Err(errors) => Ok((StatusCode::UNPROCESSABLE_ENTITY, render_lessons(&server, &user, name, &form.sites, &errors)?).into_response()),
    }
}

/// A lesson's sites, one a line: `address [uses: hosts] | title | picture`. Each address
/// becomes an allow entry checked by the same parser as every list (an error names the line)
/// and, with its title and picture, a Home tile.
pub(super) fn parse_sites(text: &str) -> Result<(String, Vec<Tile>), Vec<String>> {
    let mut list = String::from("[allow]\n");
    let mut tiles = Vec::new();
    let mut errors = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let mut parts = line.split('|').map(str::trim);
        let address = parts.next().unwrap_or("");
        if address.is_empty() {
            list.push('\n');
            continue;
        }
        let (address, uses) = match address.split_once(" uses:") {
            Some((address, uses)) => (address.trim(), Some(uses.trim())),
            None => (address, None),
        };
        let with_scheme = if address.contains("://") { address.to_owned() } else { format!("https://{address}") };
        let Ok(url) = url::Url::parse(&with_scheme) else {
            errors.push(format!("line {number}: `{address}` is not a web address"));
            list.push('\n');
            continue;
        };
        // A tile opens its address: only web pages, never `javascript:` or a file.
        if !matches!(url.scheme(), "http" | "https") {
            errors.push(format!("line {number}: `{address}`: a lesson's sites are http or https addresses"));
            list.push('\n');
            continue;
        }
        let host = url.host_str().unwrap_or("");
        // `*` is the whole web: an admin's choice for a profile, with its category blocks, never
        // a lesson's.
        if host.contains('*') || host.to_ascii_lowercase().contains("%2a") {
            errors.push(format!("line {number}: `{address}`: a lesson names its sites; `*` (the whole web) is only for an admin's profile"));
            list.push('\n');
            continue;
        }
        let path = url.path().trim_end_matches('/');
        let _ = writeln!(list, "{host}{path}{}", uses.map(|u| format!(" uses: {u}")).unwrap_or_default());
        let title = parts.next().filter(|t| !t.is_empty()).unwrap_or(host).to_owned();
        let icon = parts.next().filter(|t| !t.is_empty()).unwrap_or("🌐").to_owned();
        tiles.push(Tile { title, url: url.to_string(), icon, colour: None });
    }
    let mut builder = Policy::builder();
    builder.add_list("sites", &list);
    // The list's line n+1 is the sites' line n (the first line is the section header).
    errors.extend(builder.errors().iter().map(|e| format!("line {}: `{}`: {}", e.source.line - 1, e.text, e.problem)));
    if tiles.is_empty() && errors.is_empty() {
        errors.push("add at least one site".to_owned());
    }
    if errors.is_empty() { Ok((list, tiles)) } else { Err(errors) }
}

#[derive(Deserialize)]
struct StartForm {
    csrf: String,
    room: i64,
    minutes: u64,
}

async fn start_lesson(State(server): State<Arc<Server>>, SignedIn(user): SignedIn, Path(lesson_id): Path<i64>, Form(form): Form<StartForm>) -> Result<Response, ConsoleError> {
    check_csrf(&user, &form.csrf)?;
    may_use_room(&server, &user, form.room)?;
    if !server.store().lesson_exists(lesson_id)? {
        return Err(ConsoleError(StatusCode::NOT_FOUND, "There is no such lesson.".into()));
    }
    let minutes = form.minutes.clamp(5, 480);
    let version = server.store().start_lesson(lesson_id, form.room, now(), minutes)?;
    server.store().audit(Some(user.id), "start-lesson", &format!("lesson {lesson_id} in room {} for {minutes} minutes", form.room), now())?;
    server.rules_changed(form.room, version);
    Ok(redirect("/lessons"))
}

async fn end_lesson(State(server): State<Arc<Server>>, SignedIn(user): SignedIn, Path(room_id): Path<i64>, Form(form): Form<CsrfForm>) -> Result<Response, ConsoleError> {
    check_csrf(&user, &form.csrf)?;
    may_use_room(&server, &user, room_id)?;
    let version = server.store().end_lesson(room_id)?;
    server.store().audit(Some(user.id), "end-lesson", &format!("room {room_id}"), now())?;
    server.rules_changed(room_id, version);
    Ok(redirect("/lessons"))
}

async fn extend_lesson(State(server): State<Arc<Server>>, SignedIn(user): SignedIn, Path(room_id): Path<i64>, Form(form): Form<CsrfForm>) -> Result<Response, ConsoleError> {
    check_csrf(&user, &form.csrf)?;
    may_use_room(&server, &user, room_id)?;
    // Bound first: a guard in the `if let` would still be held by the `audit` below.
    let extended = server.store().extend_lesson(room_id, 15, now())?;
    if let Some(version) = extended {
        server.store().audit(Some(user.id), "extend-lesson", &format!("room {room_id} by 15 minutes"), now())?;
        server.rules_changed(room_id, version);
    }
    Ok(redirect("/lessons"))
}

/// "Pupils asked for": open unblock requests, to approve for the running lesson or decline.
fn asks_html(server: &Server, user: &User) -> Result<String, ConsoleError> {
    let asks = server.store().unblock_requests_for(user, now())?;
    let t = |id: &str| escape(&server.t(id));
    let mut html = format!("<section id=\"asks\" aria-labelledby=\"asks-h\" aria-live=\"polite\"><h2 id=\"asks-h\">{}</h2>", t("console-asks"));
    if asks.is_empty() {
        let _ = write!(html, "<p>{}</p>", t("console-no-asks"));
    }
    html.push_str("<ul class=\"asks\">");
    for ask in &asks {
        let approve = match entry_for(&ask.url) {
            None => format!("<span class=\"help\">{}</span>", t("console-approve-cannot")),
            Some(_) if !ask.lesson_running => format!("<span class=\"help\">{}</span>", t("console-approve-needs-lesson")),
            Some(entry) => {
                let words = escape(&entry_in_words(server, &entry));
                format!(
                    "<p class=\"allows\">{words} <code dir=\"ltr\">{entry}</code></p>\
                     <form method=\"post\" action=\"/asks/{id}/approve\" data-confirm=\"{words}\">{csrf}<button>{label}</button></form>",
                    entry = escape(&entry),
                    id = escape(&ask.id),
                    csrf = csrf_field(user),
                    label = t("console-approve"),
                )
            }
        };
        let _ = write!(
            html,
            "<li id=\"ask-{id}\"><time datetime=\"{when}\">{when}</time> · {room} · {machine}<br><bdi class=\"url\" dir=\"ltr\">{url}</bdi>\
             <div class=\"actions\">{approve}<form method=\"post\" action=\"/asks/{id}/decline\">{csrf}<button>{decline}</button></form></div></li>",
            id = escape(&ask.id),
            when = iso_time(ask.requested_at),
            room = escape(&ask.room),
            machine = escape(&ask.machine),
            url = escape(&ask.url),
            csrf = csrf_field(user),
            decline = t("console-decline"),
        );
    }
    html.push_str("</ul></section>");
    Ok(html)
}

async fn asks_fragment(State(server): State<Arc<Server>>, SignedIn(user): SignedIn) -> Result<Html<String>, ConsoleError> {
    Ok(Html(asks_html(&server, &user)?))
}

/// Query keys that say where a visitor came from, never which page it is.
const TRACKING_KEYS: [&str; 9] = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "fbclid", "gclid", "si", "feature"];

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
    let allows = builder.build().decide(url.as_str(), crate::policy::RequestKind::Navigation).verdict == crate::policy::Verdict::Allow;
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

async fn approve_ask(State(server): State<Arc<Server>>, SignedIn(user): SignedIn, Path(id): Path<String>, Form(form): Form<CsrfForm>) -> Result<Response, ConsoleError> {
    decide_ask(&server, &user, &id, &form.csrf, true)
}

async fn decline_ask(State(server): State<Arc<Server>>, SignedIn(user): SignedIn, Path(id): Path<String>, Form(form): Form<CsrfForm>) -> Result<Response, ConsoleError> {
    decide_ask(&server, &user, &id, &form.csrf, false)
}

fn decide_ask(server: &Server, user: &User, id: &str, csrf: &str, approve: bool) -> Result<Response, ConsoleError> {
    check_csrf(user, csrf)?;
    let (room, url) = server.store().unblock_request(id)?.ok_or_else(|| ConsoleError(StatusCode::NOT_FOUND, "No such request.".into()))?;
    may_use_room(server, user, room)?;
    let entry = if approve { Some(entry_for(&url).ok_or_else(|| ConsoleError(StatusCode::UNPROCESSABLE_ENTITY, server.t("console-approve-cannot")))?) } else { None };
    let decided = server.store().decide_unblock(id, entry.as_deref(), now())?;
    match decided {
        AskOutcome::Approved { room, version } => server.rules_changed(room, version),
        AskOutcome::Declined => {}
        AskOutcome::NoLesson => return Err(ConsoleError(StatusCode::CONFLICT, server.t("console-approve-lesson-ended"))),
        AskOutcome::AlreadyDecided => return Err(ConsoleError(StatusCode::CONFLICT, server.t("console-ask-already-answered"))),
    }
    let detail = match &entry {
        Some(entry) => format!("{url} as {entry}"),
        None => url,
    };
    server.store().audit(Some(user.id), if approve { "approve-unblock" } else { "decline-unblock" }, &detail, now())?;
    Ok(redirect("/lessons"))
}

/// Retires a kiosk (a machine replaced, re-imaged or lost): its token stops working at once.
async fn retire_machine(State(server): State<Arc<Server>>, SignedIn(user): SignedIn, Path(id): Path<String>, Form(form): Form<CsrfForm>) -> Result<Response, ConsoleError> {
    need_role(user.role == Role::Admin)?;
    check_csrf(&user, &form.csrf)?;
    let retired = server.store().retire_kiosk(&id, now())?;
    let Some(name) = retired else { return Err(ConsoleError(StatusCode::NOT_FOUND, "No such computer in service.".into())) };
    server.store().audit(Some(user.id), "retire-kiosk", &name, now())?;
    Ok(redirect("/machines"))
}

async fn machines_page(State(server): State<Arc<Server>>, SignedIn(user): SignedIn) -> Result<Html<String>, ConsoleError> {
    need_role(user.role == Role::Admin)?;
    let machines = server.store().machines()?;
    let t = |id: &str| escape(&server.t(id));
    let silent = |machine: &MachineRow| machine.last_seen.is_none_or(|seen| now().saturating_sub(seen) > 600);
    let outdated = |machine: &MachineRow| machine.rules_version.is_some_and(|v| v < machine.room_version);
    let count = |test: &dyn Fn(&MachineRow) -> bool| machines.iter().filter(|m| test(m)).count() as u64;
    let summary = server.messages.message_with(
        "console-machines-summary",
        &[("total", machines.len() as u64), ("silent", count(&silent)), ("outdated", count(&outdated))],
    );
    let csrf = csrf_field(&user);
    let mut body = format!(
        "<p id=\"machines-summary\">{summary}</p>\
         <table id=\"machines\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr></thead><tbody>",
        t("console-machine"), t("console-room"), t("console-last-heard"), t("console-rules-version"), t("console-state"), t("console-outbox"), t("console-satchel-version"),
        summary = escape(summary.as_deref().unwrap_or_default()),
    );
    for machine in &machines {
        let (silent, outdated) = (silent(machine), outdated(machine));
        let mut warnings = String::new();
        if silent {
            let _ = write!(warnings, "<br><strong class=\"error\">{}</strong>", t("console-silent"));
        }
        if outdated {
            let _ = write!(warnings, "<br><strong class=\"error\">{}</strong>", t("console-outdated"));
        }
        if machine.outbox.is_some_and(|(_, damaged)| damaged > 0) {
            let _ = write!(warnings, "<br><strong class=\"error\">{}</strong>", t("console-set-aside"));
        }
        let outbox = machine.outbox.map_or_else(String::new, |(waiting, damaged)| {
            escape(&server.messages.message_with("console-outbox-counts", &[("waiting", waiting), ("damaged", damaged)]).unwrap_or_default())
        });
        let _ = write!(
            body,
            "<tr><td>{name}{warnings}</td><td>{room}</td><td>{seen}</td><td>{rules}</td><td>{state}</td><td>{outbox}</td><td>{version}</td>\
             <td><form method=\"post\" action=\"/machines/{id}/retire\" data-confirm=\"{confirm}\">{csrf}<button>{retire}</button></form>\
             <a href=\"/machines/{id}/junk?hours={JUNK_HOURS}\">{junk}</a></td></tr>",
            id = escape(&machine.id),
            junk = t("console-junk-remove"),
            confirm = t("console-retire-confirm"),
            retire = t("console-retire"),
            name = escape(&machine.name),
            room = escape(&machine.room),
            seen = machine.last_seen.map(|s| format!("<time datetime=\"{0}\">{0}</time>", iso_time(s))).unwrap_or_else(|| t("console-never")),
            rules = machine.rules_version.map_or_else(String::new, |v| format!("{v} / {}", machine.room_version)),
            state = escape(machine.state.as_deref().unwrap_or("")),
            version = escape(machine.satchel_version.as_deref().unwrap_or("")),
        );
    }
    body.push_str("</tbody></table>");
    Ok(server.page(Some(&user), "console-machines", &body))
}

/// How far back junk removal looks unless told otherwise, and at most.
const JUNK_HOURS: u64 = 24;
const JUNK_HOURS_MOST: u64 = 30 * 24;
/// Reports and asks the preview lists of each (its counts are of all).
const JUNK_SHOWN: usize = 100;

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

/// The computers that sent reports or asks lately, the most first, each a link to remove
/// its junk (the DSL and the admin).
async fn junk_page(State(server): State<Arc<Server>>, SignedIn(user): SignedIn, Query(query): Query<JunkQuery>) -> Result<Html<String>, ConsoleError> {
    need_role(user.role.sees_every_room())?;
    Ok(server.page(Some(&user), "console-junk", &junk_html(&server, query.hours.clamp(1, JUNK_HOURS_MOST), "")?))
}

fn junk_html(server: &Server, hours: u64, notice: &str) -> Result<String, ConsoleError> {
    let (since, _) = junk_window(hours, now());
    let machines = server.store().kiosk_activity(since)?;
    let t = |id: &str| escape(&server.t(id));
    let mut body = format!(
        "{notice}<p class=\"help\">{help}</p><form method=\"get\" action=\"/junk\" class=\"inline filter\"><label>{hours_label}\
         <input name=\"hours\" type=\"number\" min=\"1\" max=\"{JUNK_HOURS_MOST}\" value=\"{hours}\"></label><button>{show}</button></form>",
        help = t("console-junk-help"),
        hours_label = t("console-hours"),
        show = t("console-show"),
    );
    if machines.is_empty() {
        let _ = write!(body, "<p>{}</p>", t("console-junk-none"));
        return Ok(body);
    }
    let _ = write!(
        body,
        "<table id=\"junk\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr></thead><tbody>",
        t("console-machine"),
        t("console-room"),
        t("console-reports"),
        t("console-junk-asks"),
    );
    for machine in &machines {
        let _ = write!(
            body,
            "<tr><td>{name}{retired}</td><td>{room}</td><td>{reports}</td><td>{asks}</td><td><a href=\"/machines/{id}/junk?hours={hours}\">{preview}</a></td></tr>",
            name = escape(&machine.name),
            retired = if machine.retired { format!(" <em>{}</em>", t("console-retired")) } else { String::new() },
            room = escape(&machine.room),
            reports = machine.reports,
            asks = machine.asks,
            id = escape(&machine.id),
            preview = t("console-junk-remove"),
        );
    }
    body.push_str("</tbody></table>");
    Ok(body)
}

/// What removing a computer's junk of the last hours would remove, listed, with the button
/// that removes exactly that (nothing that arrives after this page was made).
async fn junk_preview(State(server): State<Arc<Server>>, SignedIn(user): SignedIn, Path(id): Path<String>, Query(query): Query<JunkQuery>) -> Result<Html<String>, ConsoleError> {
    need_role(user.role.sees_every_room())?;
    let (machine, room) = server.store().kiosk_name(&id)?.ok_or_else(|| ConsoleError(StatusCode::NOT_FOUND, "No such computer.".into()))?;
    let hours = query.hours.clamp(1, JUNK_HOURS_MOST);
    let (since, until) = junk_window(hours, now());
    let junk = server.store().junk(&id, since, until, JUNK_SHOWN)?;
    let t = |id: &str| escape(&server.t(id));
    let count = |id: &str, numbers: &[(&str, u64)]| escape(&server.messages.message_with(id, numbers).unwrap_or_default());
    let mut body = format!(
        "<h2>{machine} · {room}</h2><p id=\"junk-summary\">{summary}</p>",
        machine = escape(&machine),
        room = escape(&room),
        summary = count("console-junk-summary", &[("hours", hours), ("reports", junk.report_count as u64), ("asks", junk.ask_count as u64)]),
    );
    if junk.kept > 0 {
        let _ = write!(body, "<p>{}</p>", count("console-junk-kept", &[("kept", junk.kept as u64)]));
    }
    for (items, total, heading) in [(&junk.reports, junk.report_count, "console-reports"), (&junk.asks, junk.ask_count, "console-junk-asks")] {
        if items.is_empty() {
            continue;
        }
        let _ = write!(body, "<h3>{}</h3><ul class=\"junk\">", t(heading));
        for item in items {
            let title = if item.title.is_empty() { String::new() } else { format!("<bdi class=\"title\">{}</bdi> ", escape(&item.title)) };
            let _ = write!(body, "<li><time datetime=\"{when}\">{when}</time> {title}<bdi class=\"url\" dir=\"ltr\">{url}</bdi></li>", when = iso_time(item.at), url = escape(&item.url));
        }
        body.push_str("</ul>");
        if total > items.len() {
            let _ = write!(body, "<p>{}</p>", count("console-junk-more", &[("more", (total - items.len()) as u64)]));
        }
    }
    if junk.report_count + junk.ask_count == 0 {
        let _ = write!(body, "<p>{}</p>", t("console-junk-nothing"));
    } else {
        let _ = write!(
            body,
            "<form method=\"post\" action=\"/machines/{id}/junk\" data-confirm=\"{confirm}\">{csrf}<input type=\"hidden\" name=\"hours\" value=\"{hours}\">\
             <input type=\"hidden\" name=\"until\" value=\"{until}\"><button>{remove}</button></form>",
            id = escape(&id),
            confirm = t("console-junk-confirm"),
            csrf = csrf_field(&user),
            remove = t("console-junk-confirm-button"),
        );
    }
    Ok(server.page(Some(&user), "console-junk", &body))
}

#[derive(Deserialize)]
struct JunkForm {
    csrf: String,
    hours: u64,
    /// When the preview was made: what arrived since was not shown, and stays.
    until: u64,
}

/// Removes what the preview showed: the computer's reports no one has worked on (with their
/// screenshots) and its unanswered asks, audited with the counts.
async fn remove_junk(State(server): State<Arc<Server>>, SignedIn(user): SignedIn, Path(id): Path<String>, Form(form): Form<JunkForm>) -> Result<Html<String>, ConsoleError> {
    check_csrf(&user, &form.csrf)?;
    need_role(user.role.sees_every_room())?;
    let (machine, _) = server.store().kiosk_name(&id)?.ok_or_else(|| ConsoleError(StatusCode::NOT_FOUND, "No such computer.".into()))?;
    let hours = form.hours.clamp(1, JUNK_HOURS_MOST);
    let (since, until) = junk_window(hours, form.until.min(now()));
    let (names, asks) = server.store().remove_junk(&id, since, until)?;
    server.remove_screenshots(&names);
    let detail = format!("{machine} ({id}): {} reports and {asks} requests received from {} to {}", names.len(), iso_time(since), iso_time(until));
    info!(user = user.name, detail, "junk removed");
    server.store().audit(Some(user.id), "remove-junk", &detail, now())?;
    let notice = format!(
        "<p class=\"notice\" role=\"status\">{}</p>",
        escape(&server.messages.message_with("console-junk-removed", &[("reports", names.len() as u64), ("asks", asks as u64)]).unwrap_or_default())
    );
    Ok(server.page(Some(&user), "console-junk", &junk_html(&server, hours, &notice)?))
}

/// Audit entries on one page; older ones are a link away.
const AUDIT_PER_PAGE: usize = 100;

#[derive(Deserialize)]
struct AuditQuery {
    #[serde(default)]
    page: usize,
    /// One action only (`reveal-screenshot`), or every action when empty.
    #[serde(default)]
    action: String,
}

async fn audit_page(State(server): State<Arc<Server>>, SignedIn(user): SignedIn, Query(query): Query<AuditQuery>) -> Result<Html<String>, ConsoleError> {
    need_role(user.role.sees_every_room())?;
    let action = Some(query.action.as_str()).filter(|action| !action.is_empty());
    let (mut log, actions) = {
        let store = server.store();
        (store.audit_log(action, query.page.saturating_mul(AUDIT_PER_PAGE), AUDIT_PER_PAGE + 1)?, store.audit_actions()?)
    };
    let older = log.len() > AUDIT_PER_PAGE;
    log.truncate(AUDIT_PER_PAGE);
    let t = |id: &str| escape(&server.t(id));
    let options: String = actions
        .iter()
        .map(|a| format!("<option value=\"{0}\"{1}>{0}</option>", escape(a), if action == Some(a.as_str()) { " selected" } else { "" }))
        .collect();
    let mut body = format!(
        "<form method=\"get\" action=\"/audit\" class=\"inline filter\"><label>{what}<select name=\"action\"><option value=\"\">{all}</option>{options}</select></label>\
         <button>{show}</button></form><table id=\"audit\"><thead><tr><th>{when}</th><th>{who}</th><th>{what}</th><th>{details}</th></tr></thead><tbody>",
        what = t("console-what"),
        all = t("console-audit-every-action"),
        show = t("console-show"),
        when = t("console-when"),
        who = t("console-who"),
        details = t("console-details"),
    );
    for entry in &log {
        let _ = write!(
            body,
            "<tr><td><time datetime=\"{when}\">{when}</time></td><td>{who}</td><td>{action}</td><td>{detail}</td></tr>",
            when = iso_time(entry.at),
            who = escape(entry.user.as_deref().unwrap_or("satchel-server")),
            action = escape(&entry.action),
            detail = escape(&entry.detail),
        );
    }
    body.push_str("</tbody></table><nav class=\"pages\">");
    let filter: String = url::form_urlencoded::byte_serialize(query.action.as_bytes()).collect();
    if query.page > 0 {
        let _ = write!(body, "<a href=\"/audit?page={}&amp;action={filter}\">{}</a> ", query.page - 1, t("console-newer-entries"));
    }
    if older {
        let _ = write!(body, "<a href=\"/audit?page={}&amp;action={filter}\">{}</a>", query.page + 1, t("console-older-entries"));
    }
    body.push_str("</nav>");
    Ok(server.page(Some(&user), "console-audit", &body))
}

/// Rooms (with their profile and enrolment codes) and staff accounts.
async fn admin_page(State(server): State<Arc<Server>>, SignedIn(user): SignedIn) -> Result<Html<String>, ConsoleError> {
    need_role(user.role == Role::Admin)?;
    Ok(server.page(Some(&user), "console-admin", &admin_html(&server, &user, "")?))
}

fn admin_html(server: &Server, user: &User, notice: &str) -> Result<String, ConsoleError> {
    let (rooms, profiles, users) = {
        let store = server.store();
        (store.rooms_with_profiles()?, store.profiles()?, store.users()?)
    };
    let t = |id: &str| escape(&server.t(id));
    let csrf = csrf_field(user);
    let mut body = notice.to_owned();
    let _ = write!(body, "<section aria-labelledby=\"rooms-h\"><h2 id=\"rooms-h\">{}</h2><table id=\"admin-rooms\"><thead><tr><th>{}</th><th>{}</th><th></th></tr></thead><tbody>", t("console-rooms"), t("console-room"), t("console-profiles"));
    for (id, name, profile_id) in &rooms {
        let options: String = profiles.iter().map(|p| format!("<option value=\"{}\"{}>{}</option>", p.id, if p.id == *profile_id { " selected" } else { "" }, escape(&p.name))).collect();
        let _ = write!(
            body,
            "<tr><td>{name}</td><td><form method=\"post\" action=\"/admin/rooms/{id}/profile\">{csrf}<label class=\"visually-hidden\" for=\"profile-{id}\">{profile}</label>\
             <select id=\"profile-{id}\" name=\"profile\">{options}</select> <button>{save}</button></form></td>\
             <td><form method=\"post\" action=\"/admin/rooms/{id}/code\">{csrf}<button>{code}</button></form></td></tr>",
            name = escape(name),
            profile = t("console-profiles"),
            save = t("console-save"),
            code = t("console-new-code"),
        );
    }
    let _ = write!(
        body,
        "</tbody></table><form method=\"post\" action=\"/admin/rooms\" class=\"inline\">{csrf}<label>{room}<input name=\"name\" required maxlength=\"60\"></label><button>{add}</button></form></section>",
        room = t("console-room"),
        add = t("console-add-room"),
    );
    let _ = write!(body, "<section aria-labelledby=\"users-h\"><h2 id=\"users-h\">{}</h2><ul>", t("console-users"));
    for (id, name, role, disabled) in &users {
        let _ = write!(body, "<li>{} ({})", escape(name), escape(role));
        if *disabled {
            let _ = write!(body, " <em>{}</em>", t("console-disabled"));
        } else if *id != user.id {
            let _ = write!(
                body,
                " <form method=\"post\" action=\"/admin/users/{id}/disable\" class=\"inline\" data-confirm=\"{}\">{csrf}<button>{}</button></form>\
                 <form method=\"post\" action=\"/admin/users/{id}/reset-password\" class=\"inline\" data-confirm=\"{}\">{csrf}<button>{}</button></form>",
                t("console-disable-confirm"),
                t("console-disable"),
                t("console-reset-confirm"),
                t("console-reset-password"),
            );
        }
        body.push_str("</li>");
    }
    let room_options: String = rooms.iter().map(|(_, name, _)| format!("<option value=\"{0}\">{0}</option>", escape(name))).collect();
    let _ = write!(
        body,
        "</ul><form method=\"post\" action=\"/admin/users\">{csrf}<label>{name}<input name=\"name\" required maxlength=\"60\"></label>\
         <label>{role}<select name=\"role\"><option value=\"teacher\">teacher</option><option value=\"dsl\">dsl</option><option value=\"admin\">admin</option></select></label>\
         <label>{room}<select name=\"room\"><option value=\"\"></option>{room_options}</select></label><button>{add}</button></form></section>",
        name = t("console-name"),
        role = t("console-role"),
        room = t("console-room"),
        add = t("console-add-user"),
    );
    Ok(body)
}

#[derive(Deserialize)]
struct NameForm {
    csrf: String,
    name: String,
}

async fn add_room(State(server): State<Arc<Server>>, SignedIn(user): SignedIn, Form(form): Form<NameForm>) -> Result<Response, ConsoleError> {
    check_csrf(&user, &form.csrf)?;
    need_role(user.role == Role::Admin)?;
    server.add_room(form.name.trim(), "KS1").map_err(|e| ConsoleError(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;
    Ok(redirect("/admin"))
}

#[derive(Deserialize)]
struct ProfileChoice {
    csrf: String,
    profile: i64,
}

async fn set_room_profile(State(server): State<Arc<Server>>, SignedIn(user): SignedIn, Path(room): Path<i64>, Form(form): Form<ProfileChoice>) -> Result<Response, ConsoleError> {
    check_csrf(&user, &form.csrf)?;
    need_role(user.role == Role::Admin)?;
    if !server.store().profiles()?.iter().any(|p| p.id == form.profile) {
        return Err(ConsoleError(StatusCode::NOT_FOUND, "No such profile.".into()));
    }
    let version = server.store().set_room_profile(room, form.profile)?;
    server.store().audit(Some(user.id), "room-profile", &format!("room {room} uses profile {}", form.profile), now())?;
    server.rules_changed(room, version);
    Ok(redirect("/admin"))
}

/// A one-time enrolment code, shown once with the certificate fingerprint the kiosk pins.
async fn enrol_code(State(server): State<Arc<Server>>, SignedIn(user): SignedIn, Path(room): Path<i64>, Form(form): Form<CsrfForm>) -> Result<Html<String>, ConsoleError> {
    check_csrf(&user, &form.csrf)?;
    need_role(user.role == Role::Admin)?;
    let name = server.store().room_name(room)?.ok_or_else(|| ConsoleError(StatusCode::NOT_FOUND, "No such room.".into()))?;
    let code = server.enrol_code(&name, super::ENROL_CODE_MINUTES).map_err(|e| ConsoleError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let t = |id: &str| escape(&server.t(id));
    let fingerprint = server.fingerprint.get().map(|f| format!("<p>{}<br><code class=\"fingerprint\">{}</code></p>", t("console-fingerprint"), escape(f))).unwrap_or_default();
    let notice = format!(
        "<section class=\"notice\" role=\"status\"><h2>{title}</h2><p>{room}: <strong class=\"code\">{code}</strong></p>{fingerprint}<p class=\"help\">{help}</p></section>",
        title = t("console-new-code"),
        room = escape(&name),
        help = t("console-code-help"),
    );
    Ok(server.page(Some(&user), "console-admin", &admin_html(&server, &user, &notice)?))
}

#[derive(Deserialize)]
struct UserForm {
    csrf: String,
    name: String,
    role: String,
    #[serde(default)]
    room: String,
}

/// A new account, with its one-time password shown once.
async fn add_user(State(server): State<Arc<Server>>, SignedIn(user): SignedIn, Form(form): Form<UserForm>) -> Result<Html<String>, ConsoleError> {
    check_csrf(&user, &form.csrf)?;
    need_role(user.role == Role::Admin)?;
    let rooms: Vec<String> = if form.room.is_empty() { Vec::new() } else { vec![form.room.clone()] };
    let name = form.name.trim().to_owned();
    let role = form.role.clone();
    let adding = Arc::clone(&server);
    // argon2 off the async threads, as at login.
    let password = tokio::task::spawn_blocking(move || adding.add_user(&name, &role, &rooms))
        .await
        .map_err(|_| ConsoleError(StatusCode::INTERNAL_SERVER_ERROR, "the account could not be made".into()))?
        .map_err(|e| ConsoleError(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;
    let notice = format!(
        "<section class=\"notice\" role=\"status\"><h2>{}</h2><p>{}: <strong class=\"code\">{}</strong></p><p class=\"help\">{}</p></section>",
        escape(&server.t("console-add-user")),
        escape(form.name.trim()),
        escape(&password),
        escape(&server.t("console-one-time-help")),
    );
    Ok(server.page(Some(&user), "console-admin", &admin_html(&server, &user, &notice)?))
}

/// Disables a staff account (someone who has left, or a password given away).
async fn disable_user(State(server): State<Arc<Server>>, SignedIn(user): SignedIn, Path(id): Path<i64>, Form(form): Form<CsrfForm>) -> Result<Html<String>, ConsoleError> {
    check_csrf(&user, &form.csrf)?;
    need_role(user.role == Role::Admin)?;
    if id == user.id {
        return Err(ConsoleError(StatusCode::UNPROCESSABLE_ENTITY, "You cannot disable your own account.".into()));
    }
    let disabled = server.store().disable_user(id, now())?;
    let Some(name) = disabled else { return Err(ConsoleError(StatusCode::NOT_FOUND, "No such account in use.".into())) };
    server.sessions_ended.send_modify(|generation| *generation += 1);
    server.store().audit(Some(user.id), "disable-account", &name, now())?;
    Ok(server.page(Some(&user), "console-admin", &admin_html(&server, &user, "")?))
}

/// Gives another account a new one-time password (forgotten, or given away): its sessions end
/// and it must choose its own at the next sign-in.
async fn reset_user_password(State(server): State<Arc<Server>>, SignedIn(user): SignedIn, Path(id): Path<i64>, Form(form): Form<CsrfForm>) -> Result<Html<String>, ConsoleError> {
    check_csrf(&user, &form.csrf)?;
    need_role(user.role == Role::Admin)?;
    if id == user.id {
        return Err(ConsoleError(StatusCode::UNPROCESSABLE_ENTITY, server.t("console-reset-own")));
    }
    let name = server.store().users()?.into_iter().find(|(account, _, _, disabled)| *account == id && !disabled).map(|(_, name, _, _)| name);
    let Some(name) = name else { return Err(ConsoleError(StatusCode::NOT_FOUND, "No such account in use.".into())) };
    let resetting = Arc::clone(&server);
    // argon2 off the async threads, as at login.
    let password = tokio::task::spawn_blocking(move || resetting.reset_password(id))
        .await
        .map_err(|_| ConsoleError(StatusCode::INTERNAL_SERVER_ERROR, "the password could not be reset".into()))?
        .map_err(|e| ConsoleError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    server.store().audit(Some(user.id), "reset-password", &name, now())?;
    let notice = format!(
        "<section class=\"notice\" role=\"status\"><h2>{}</h2><p>{}: <strong class=\"code\">{}</strong></p><p class=\"help\">{}</p></section>",
        escape(&server.t("console-reset-password")),
        escape(&name),
        escape(&password),
        escape(&server.t("console-one-time-help")),
    );
    Ok(server.page(Some(&user), "console-admin", &admin_html(&server, &user, &notice)?))
}

async fn profiles_page(State(server): State<Arc<Server>>, SignedIn(user): SignedIn) -> Result<Html<String>, ConsoleError> {
    need_role(user.role == Role::Admin)?;
    let profiles = server.store().profiles()?;
    let body: String = profiles.iter().map(|profile| profile_form(&server, &user, profile, &[])).collect();
    Ok(server.page(Some(&user), "console-profiles", &body))
}

/// One profile's form: its list (errors listed by line above it), its search engine, and a
/// link to download the list as a plain file.
fn profile_form(server: &Server, user: &User, profile: &super::store::ProfileRow, errors: &[String]) -> String {
    let t = |id: &str| escape(&server.t(id));
    let (id, name, list, search) = (profile.id, profile.name.as_str(), profile.list.as_str(), profile.search);
    let engines: String = ["google", "kiddle", "swiggle"]
        .iter()
        .map(|e| format!("<option value=\"{e}\"{}>{e}</option>", if super::store::search_name(search) == *e { " selected" } else { "" }))
        .collect();
    let errors: String = errors.iter().map(|e| format!("<li>{}</li>", escape(e))).collect();
    let errors = if errors.is_empty() { String::new() } else { format!("<ul class=\"error\" role=\"alert\">{errors}</ul>") };
    format!(
        "<section aria-labelledby=\"profile-{id}\"><h2 id=\"profile-{id}\">{name}</h2>{errors}\
         <form method=\"post\" action=\"/profiles/{id}\" class=\"profile\">{csrf}\
         <label>{list_label}<textarea name=\"list\" rows=\"16\" spellcheck=\"false\">{list}</textarea></label>\
         <label>{search_label}<select name=\"search\">{engines}</select></label>\
         <label class=\"check\"><input type=\"checkbox\" name=\"image_search\" value=\"1\"{images_checked}> {images_label}</label>\
         <label class=\"check\"><input type=\"checkbox\" name=\"open_web\" value=\"1\"{open_checked}> {open_label}</label>\
         <label>{categories_label}<input name=\"blocked_categories\" value=\"{categories}\"></label>\
         <button>{save}</button> <a href=\"/profiles/{id}/list\" download>{export}</a></form></section>",
        name = escape(name),
        csrf = csrf_field(user),
        list_label = t("console-profile-list"),
        list = escape(list),
        search_label = t("console-search-engine"),
        images_checked = if profile.image_search { " checked" } else { "" },
        images_label = t("console-image-search"),
        open_checked = if profile.open_web { " checked" } else { "" },
        open_label = t("console-open-web"),
        categories_label = t("console-blocked-categories"),
        categories = escape(&profile.blocked_categories.join(", ")),
        save = t("console-save"),
        export = t("console-export-list"),
    )
}

#[derive(Deserialize)]
struct ProfileForm {
    csrf: String,
    list: String,
    search: String,
    /// Present when the box is ticked.
    #[serde(default)]
    image_search: Option<String>,
    #[serde(default)]
    open_web: Option<String>,
    #[serde(default)]
    blocked_categories: String,
}

async fn save_profile(State(server): State<Arc<Server>>, SignedIn(user): SignedIn, Path(id): Path<i64>, Form(form): Form<ProfileForm>) -> Result<Response, ConsoleError> {
    check_csrf(&user, &form.csrf)?;
    need_role(user.role == Role::Admin)?;
    let profile = server.store().profiles()?.into_iter().find(|p| p.id == id).ok_or_else(|| ConsoleError(StatusCode::NOT_FOUND, "No such profile.".into()))?;
    let search = super::store::parse_search(&form.search);
    // Browsers send CRLF from a textarea; lists are stored with plain newlines.
    let list = form.list.replace("\r\n", "\n");
    let mut builder = Policy::builder();
    builder.add_list(&profile.name, &list);
    let errors: Vec<String> = builder.errors().iter().map(|e| format!("line {}: `{}`: {}", e.source.line, e.text, e.problem)).collect();
    let typed = super::store::ProfileRow {
        list,
        search,
        image_search: form.image_search.is_some(),
        open_web: form.open_web.is_some(),
        blocked_categories: super::store::split_categories(&form.blocked_categories),
        ..profile
    };
    if !errors.is_empty() {
        let body = profile_form(&server, &user, &typed, &errors);
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, server.page(Some(&user), "console-profiles", &body)).into_response());
    }
    let changed = server.store().update_profile(&typed)?;
    let images = if typed.image_search { "image search on" } else { "image search off" };
    let web = if typed.open_web { format!("open web, blocking {}", typed.blocked_categories.join(", ")) } else { "listed sites only".into() };
    server.store().audit(Some(user.id), "update-profile", &format!("{} ({} lines, {}, {images}, {web})", typed.name, typed.list.lines().count(), form.search), now())?;
    for (room, version) in changed {
        server.rules_changed(room, version);
    }
    Ok(redirect("/profiles"))
}

async fn export_profile(State(server): State<Arc<Server>>, SignedIn(user): SignedIn, Path(id): Path<i64>) -> Result<Response, ConsoleError> {
    need_role(user.role == Role::Admin)?;
    let profile = server.store().profiles()?.into_iter().find(|p| p.id == id).ok_or_else(|| ConsoleError(StatusCode::NOT_FOUND, "No such profile.".into()))?;
    let file = format!("attachment; filename=\"{}.list\"", profile.name.replace(|c: char| !c.is_ascii_alphanumeric(), "-"));
    Ok(([(CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()), (CONTENT_DISPOSITION, file)], profile.list).into_response())
}

/// Reports on one page of the inbox; older ones are a link away, never out of reach.
const REPORTS_PER_PAGE: usize = 100;

#[derive(Deserialize)]
struct PageQuery {
    #[serde(default)]
    page: usize,
}

async fn reports_page(State(server): State<Arc<Server>>, SignedIn(user): SignedIn, Query(query): Query<PageQuery>) -> Result<Html<String>, ConsoleError> {
    let mut reports = server.store().reports_for(&user, Some((query.page.saturating_mul(REPORTS_PER_PAGE), REPORTS_PER_PAGE + 1)))?;
    let older = reports.len() > REPORTS_PER_PAGE;
    reports.truncate(REPORTS_PER_PAGE);
    let t = |id: &str| escape(&server.t(id));
    let mut body = format!(
        "<p class=\"tools\"><a href=\"/reports.csv\" download>{csv}</a></p><table id=\"reports\"><thead><tr><th>{when}</th><th>{where_}</th><th>{page}</th><th>{evidence}</th><th>{form}</th></tr></thead><tbody>",
        csv = t("console-export-csv"),
        when = t("console-when"),
        where_ = t("console-where"),
        page = t("console-page"),
        evidence = t("console-evidence"),
        form = t("console-incident"),
    );
    for report in &reports {
        body.push_str(&report_html(&server, &user, report)?);
    }
    let _ = write!(body, "</tbody></table><p class=\"empty\" {}>{}</p>", if reports.is_empty() { "" } else { "hidden" }, t("console-no-reports"));
    body.push_str("<nav class=\"pages\">");
    if query.page > 0 {
        let _ = write!(body, "<a href=\"/reports?page={}\">{}</a> ", query.page - 1, t("console-newer-reports"));
    }
    if older {
        let _ = write!(body, "<a href=\"/reports?page={}\">{}</a>", query.page + 1, t("console-older-reports"));
    }
    body.push_str("</nav>");
    Ok(server.page(Some(&user), "console-reports", &body))
}

/// One report as a table row: what the pupil saw (as text, never as markup), the hidden
/// screenshot, the incident form, and every earlier save of that form.
fn report_html(server: &Server, user: &User, report: &ReportRow) -> Result<String, ConsoleError> {
    let edits = server.store().report_edits(&report.id)?;
    let t = |id: &str| escape(&server.t(id));
    let feeling = report.feeling.as_deref().map(|f| format!("<br><span class=\"feeling\">{}</span>", t(&format!("console-feeling-{f}")))).unwrap_or_default();
    let evidence = if report.refer_only {
        format!("<p class=\"refer\">{}</p>", t("console-refer-hidden"))
    } else if report.screenshot.is_empty() {
        let why = match report.screenshot_missing.as_deref() {
            Some("quota") => "console-no-screenshot-quota",
            Some("disk") => "console-no-screenshot-disk",
            _ => "console-no-screenshot",
        };
        format!("<p>{}</p>", t(why))
    } else {
        format!(
            "<form method=\"post\" action=\"/reports/{id}/reveal\" class=\"reveal\">{csrf}<button>{reveal}</button></form>",
            id = escape(&report.id),
            csrf = csrf_field(user),
            reveal = t("console-reveal"),
        )
    };
    let statuses: String = STATUSES
        .iter()
        .map(|s| format!("<option value=\"{s}\"{}>{}</option>", if *s == report.status { " selected" } else { "" }, t(&format!("console-status-{}", s.replace(' ', "-")))))
        .collect();
    Ok(format!(
        "<tr id=\"report-{id}\" class=\"status-{status_class}\"><td><time datetime=\"{when}\">{when}</time></td><td>{room}<br>{machine}</td>\
         <td><bdi class=\"title\">{title}</bdi><br><bdi class=\"url\" dir=\"ltr\">{url}</bdi>{feeling}</td><td>{evidence}</td>\
         <td><form method=\"post\" action=\"/reports/{id}\" class=\"incident\">{csrf}<input type=\"hidden\" name=\"edit_version\" value=\"{edit_version}\">\
         <label>{type_label}<input name=\"incident_type\" value=\"{incident_type}\"></label>\
         <label>{details_label}<textarea name=\"details\" rows=\"2\">{details}</textarea></label>\
         <label>{passed_label}<input name=\"passed_to\" value=\"{passed_to}\"></label>\
         <label>{action_label}<input name=\"action_taken\" value=\"{action_taken}\"></label>\
         <label>{status_label}<select name=\"status\">{statuses}</select></label>\
         <label class=\"check\"><input type=\"checkbox\" name=\"refer_only\" value=\"1\"{refer_checked}> {refer_label}</label>\
         <button>{save}</button></form>{history}</td></tr>",
        edit_version = report.edit_version,
        history = history_html(server, &edits),
        id = escape(&report.id),
        status_class = report.status.replace(' ', "-"),
        when = iso_time(report.happened_at),
        room = escape(&report.room),
        machine = escape(&report.machine),
        title = escape(&report.title),
        url = escape(&report.url),
        csrf = csrf_field(user),
        type_label = t("console-incident-type"),
        incident_type = escape(&report.incident_type),
        details_label = t("console-details"),
        details = escape(&report.details),
        passed_label = t("console-passed-to"),
        passed_to = escape(&report.passed_to),
        action_label = t("console-action-taken"),
        action_taken = escape(&report.action_taken),
        status_label = t("console-status"),
        refer_checked = if report.refer_only { " checked disabled" } else { "" },
        refer_label = t("console-refer"),
        save = t("console-save"),
    ))
}

/// The incident form's earlier saves, oldest first: who wrote what, and when.
fn history_html(server: &Server, edits: &[ReportEdit]) -> String {
    if edits.is_empty() {
        return String::new();
    }
    let items: String = edits
        .iter()
        .map(|edit| {
            let f = &edit.fields;
            let status = server.t(&format!("console-status-{}", f.status.replace(' ', "-")));
            let parts = [status.as_str(), &f.incident_type, &f.details, &f.passed_to, &f.action_taken];
            let text = parts.iter().filter(|part| !part.is_empty()).map(|part| escape(part)).collect::<Vec<_>>().join(" · ");
            format!(
                "<li><time datetime=\"{when}\">{when}</time> {who}: {text}</li>",
                when = iso_time(edit.at),
                who = escape(edit.user.as_deref().unwrap_or("satchel-server")),
            )
        })
        .collect();
    let summary = server.messages.message_with("console-history", &[("count", edits.len() as u64)]).map(|m| m.into_owned()).unwrap_or_default();
    format!("<details class=\"history\"><summary>{}</summary><ol>{items}</ol></details>", escape(&summary))
}

async fn report_row(State(server): State<Arc<Server>>, SignedIn(user): SignedIn, Path(id): Path<String>) -> Result<Html<String>, ConsoleError> {
    let report = server.store().report_for(&user, &id)?.ok_or_else(|| ConsoleError(StatusCode::NOT_FOUND, "No such report.".into()))?;
    Ok(Html(report_html(&server, &user, &report)?))
}

/// The screenshot, only on purpose (a POST from the Reveal button), and every reveal is
/// recorded. A report marked "do not view: refer" shows its picture to nobody.
async fn reveal(State(server): State<Arc<Server>>, SignedIn(user): SignedIn, Path(id): Path<String>, Form(form): Form<CsrfForm>) -> Result<Response, ConsoleError> {
    check_csrf(&user, &form.csrf)?;
    let report = server.store().report_for(&user, &id)?.ok_or_else(|| ConsoleError(StatusCode::NOT_FOUND, "No such report.".into()))?;
    if report.refer_only {
        return Err(ConsoleError(StatusCode::FORBIDDEN, server.t("console-refer-hidden")));
    }
    // The stored name was made by the server from a checked UUID; it is read from the
    // database, never from the request.
    let path = server.data.join("screenshots").join(&report.screenshot);
    let png = tokio::fs::read(&path).await.map_err(|_| ConsoleError(StatusCode::NOT_FOUND, "The screenshot is missing.".into()))?;
    let store = server.store();
    store.record_reveal(&id, user.id, now())?;
    store.audit(Some(user.id), "reveal-screenshot", &id, now())?;
    Ok(([(CONTENT_TYPE, "image/png"), (CACHE_CONTROL, "no-store")], png).into_response())
}

#[derive(Deserialize)]
struct IncidentForm {
    csrf: String,
    /// The report's edit version when the form was loaded (a string: flattened forms carry
    /// only strings).
    edit_version: String,
    #[serde(flatten)]
    fields: IncidentFields,
}

async fn update_report(State(server): State<Arc<Server>>, SignedIn(user): SignedIn, Path(id): Path<String>, Form(form): Form<IncidentForm>) -> Result<Response, ConsoleError> {
    check_csrf(&user, &form.csrf)?;
    if server.store().report_for(&user, &id)?.is_none() {
        return Err(ConsoleError(StatusCode::NOT_FOUND, "No such report.".into()));
    }
    if !STATUSES.contains(&form.fields.status.as_str()) {
        return Err(ConsoleError(StatusCode::BAD_REQUEST, "Unknown status.".into()));
    }
    let seen: i64 = form.edit_version.parse().map_err(|_| ConsoleError(StatusCode::BAD_REQUEST, "This form has no version: reload the page.".into()))?;
    let saved = server.store().update_incident(&id, &form.fields, seen, user.id, now())?;
    if !saved {
        return stale_save(&server, &user, &id, &form.fields);
    }
    server.store().audit(Some(user.id), "update-report", &format!("{id}: {} / {}", form.fields.status, form.fields.incident_type), now())?;
    Ok(redirect(&format!("/reports#report-{id}")))
}

/// Someone saved the report after this form was loaded: nothing is overwritten, and what was
/// typed here is shown back beside the report as it now stands, to copy in and save again.
fn stale_save(server: &Server, user: &User, id: &str, typed: &IncidentFields) -> Result<Response, ConsoleError> {
    let report = server.store().report_for(user, id)?.ok_or_else(|| ConsoleError(StatusCode::NOT_FOUND, "No such report.".into()))?;
    let t = |id: &str| escape(&server.t(id));
    let yours = [
        (t("console-incident-type"), &typed.incident_type),
        (t("console-details"), &typed.details),
        (t("console-passed-to"), &typed.passed_to),
        (t("console-action-taken"), &typed.action_taken),
        (t("console-status"), &typed.status),
    ];
    let yours: String = yours.iter().map(|(label, text)| format!("<dt>{label}</dt><dd>{}</dd>", escape(text))).collect();
    let body = format!(
        "<section class=\"notice\" role=\"alert\"><p>{stale}</p><h2>{unsaved}</h2><dl class=\"unsaved\">{yours}</dl></section>\
         <table id=\"reports\"><tbody>{row}</tbody></table>",
        stale = t("console-stale-save"),
        unsaved = t("console-your-unsaved-text"),
        row = report_html(server, user, &report)?,
    );
    Ok((StatusCode::CONFLICT, server.page(Some(user), "console-reports", &body)).into_response())
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
    Ok(([(CONTENT_TYPE, "text/csv; charset=utf-8"), (CONTENT_DISPOSITION, "attachment; filename=\"satchel-reports.csv\"")], csv).into_response())
}

/// A CSV field, quoted, and defused so a spreadsheet never runs it as a formula.
fn csv_field(text: &str) -> String {
    let defused = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_owned() };
    format!("\"{}\"", defused.replace('"', "\"\""))
}

/// How often an event stream checks that its session is still alive (it also checks whenever
/// any session ends).
const SESSION_CHECK: Duration = Duration::from_secs(60);

/// New reports and unblock requests as they arrive, for the rooms this user may see:
/// `event: report` or `event: unblock`, data = the id; for the DSL and admins, `event: alert`
/// too. The stream ends with its session
/// (signed out, the account disabled, its password reset, or expired).
async fn events(State(server): State<Arc<Server>>, SignedIn(user): SignedIn, headers: HeaderMap) -> Result<Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>>, ConsoleError> {
    let rooms = if user.role == Role::Teacher { Some(server.store().user_rooms(user.id)?) } else { None };
    let session = cookie(&headers, SESSION_COOKIE).map(|token| hash(&token)).unwrap_or_default();
    let receiver = server.events.subscribe();
    let sessions = server.sessions_ended.subscribe();
    let state = (receiver, sessions, rooms, session, server);
    let stream = futures_util::stream::unfold(state, |(mut receiver, mut sessions, rooms, session, server)| async move {
        let alive = |server: &Server, session: &str| matches!(server.store().session(session, now()), Ok(Some(_)));
        loop {
            // A stopping server ends the stream; the browser reconnects to the next one.
            let received = tokio::select! {
                received = receiver.recv() => received,
                _ = server.stopped() => return None,
                ended = sessions.changed() => {
                    if ended.is_err() || !alive(&server, &session) {
                        return None;
                    }
                    continue;
                }
                _ = tokio::time::sleep(SESSION_CHECK) => {
                    if !alive(&server, &session) {
                        return None;
                    }
                    continue;
                }
            };
            match received {
                Ok(event) if rooms.as_ref().is_none_or(|mine| !event.safeguarding && mine.contains(&event.room)) => {
                    return Some((Ok(Event::default().event(event.kind).data(event.id)), (receiver, sessions, rooms, session, server)));
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
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
    fn sites_become_allow_entries_and_tiles_and_bad_lines_are_named() {
        let (list, tiles) = parse_sites("https://www.topmarks.co.uk/maths-games/ | Topmarks | 🔢\n\nphonicsplay.co.uk uses: cdn.phonicsplay.co.uk\n").unwrap();
        assert_eq!(list, "[allow]\nwww.topmarks.co.uk/maths-games\n\nphonicsplay.co.uk uses: cdn.phonicsplay.co.uk\n");
        assert_eq!(tiles[0], Tile { title: "Topmarks".into(), url: "https://www.topmarks.co.uk/maths-games/".into(), icon: "🔢".into(), colour: None });
        assert_eq!(tiles[1].title, "phonicsplay.co.uk");
        let errors = parse_sites("cbeebies.com\nco.uk\nhttp://\n").unwrap_err();
        assert!(errors.iter().any(|e| e.starts_with("line 2: `co.uk`")), "{errors:?}");
        assert!(errors.iter().any(|e| e.starts_with("line 3:")), "{errors:?}");
    }

    #[test]
    fn an_approval_keeps_every_star_in_the_address_a_letter() {
        let entry = entry_for("https://www.example.org/page?a*&b=*&c").unwrap();
        assert_eq!(entry, ".www.example.org/page?a%2A=&b=%2A&c=");
        let mut builder = Policy::builder();
        builder.add_list("ask", &format!("[allow]\n{entry}\n"));
        let policy = builder.build();
        let verdict = |url| policy.decide(url, crate::policy::RequestKind::Navigation).verdict;
        assert_eq!(verdict("https://www.example.org/page?a*&b=*&c"), crate::policy::Verdict::Allow);
        assert_eq!(verdict("https://www.example.org/page?abc&b=*&c"), crate::policy::Verdict::Block, "not every key starting with a");
    }

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("a \"b\", c"), "\"a \"\"b\"\", c\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
    }
}
