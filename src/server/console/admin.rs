//! The admin's pages: rooms (their profile, enrolment codes), staff accounts (new ones, and
//! disabling or resetting another's), and profiles (the list, search engine and open web).

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::{redirect, render, Admin, ConsoleError, Posted, Words};
use crate::policy::Policy;
use crate::safesearch::SearchEngine;
use crate::server::store::{self, ProfileRow, User, UserRow};
use crate::server::{is_email_address, now, Server};

pub(super) fn router() -> Router<Arc<Server>> {
    Router::new()
        .route("/admin", get(admin_page))
        .route("/admin/rooms", post(add_room))
        .route("/admin/rooms/{id}/profile", post(set_room_profile))
        .route("/admin/rooms/{id}/code", post(enrol_code))
        .route("/admin/users", post(add_user))
        .route("/admin/users/{id}/disable", post(disable_user))
        .route("/admin/users/{id}/reset-password", post(reset_user_password))
        .route("/admin/users/{id}/email", post(set_user_email))
        .route("/profiles", get(profiles_page))
        .route("/profiles/{id}", post(save_profile))
        .route("/profiles/{id}/list", get(export_profile))
}

/// A secret shown once at the top of the page: an enrolment code (with the certificate
/// fingerprint the kiosk pins) or a one-time password.
struct Notice {
    title: &'static str,
    name: String,
    secret: String,
    fingerprint: Option<String>,
    help: &'static str,
}

#[derive(Template)]
#[template(path = "console/admin.html")]
struct AdminPage<'a> {
    t: Words<'a>,
    user: &'a User,
    notice: Option<Notice>,
    rooms: Vec<(i64, String, i64)>,
    profiles: Vec<ProfileRow>,
    users: Vec<UserRow>,
}

/// Rooms (with their profile and enrolment codes) and staff accounts.
async fn admin_page(State(server): State<Arc<Server>>, Admin(user): Admin) -> Result<Html<String>, ConsoleError> {
    admin_html(&server, &user, None)
}

/// An account that is not disabled, by its id.
fn account_in_use(server: &Server, id: i64) -> Result<UserRow, ConsoleError> {
    let account = server.store().users()?.into_iter().find(|account| account.id == id && !account.disabled);
    account.ok_or_else(|| ConsoleError::not_found("No such account in use."))
}

#[derive(Deserialize)]
struct EmailForm {
    email: String,
}

/// Where a safeguarding lead's alert e-mails go (empty: none), set by an admin.
async fn set_user_email(
    State(server): State<Arc<Server>>,
    Path(id): Path<i64>,
    Posted(Admin(user), form): Posted<Admin, EmailForm>,
) -> Result<Response, ConsoleError> {
    let account = account_in_use(&server, id)?;
    let email = Some(form.email.trim()).filter(|email| !email.is_empty());
    if email.is_some_and(|email| !is_email_address(email)) {
        return Err(ConsoleError(StatusCode::UNPROCESSABLE_ENTITY, server.t("console-email-bad")));
    }
    server.set_email(&account.name, email, Some(user.id)).map_err(|e| ConsoleError::internal(e.to_string()))?;
    Ok(redirect("/admin#users-h"))
}

fn admin_html(server: &Server, user: &User, notice: Option<Notice>) -> Result<Html<String>, ConsoleError> {
    let (rooms, profiles, users) = {
        let store = server.store();
        (store.rooms_with_profiles()?, store.profiles()?, store.users()?)
    };
    let body = render(&AdminPage { t: server.words(), user, notice, rooms, profiles, users })?;
    server.page(Some(user), "console-admin", body)
}

#[derive(Deserialize)]
struct NameForm {
    name: String,
}

async fn add_room(
    State(server): State<Arc<Server>>,
    Posted(Admin(_), form): Posted<Admin, NameForm>,
) -> Result<Response, ConsoleError> {
    server
        .add_room(form.name.trim(), "KS1")
        .map_err(|e| ConsoleError(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;
    Ok(redirect("/admin"))
}

#[derive(Deserialize)]
struct ProfileChoice {
    profile: i64,
}

async fn set_room_profile(
    State(server): State<Arc<Server>>,
    Path(room): Path<i64>,
    Posted(Admin(user), form): Posted<Admin, ProfileChoice>,
) -> Result<Response, ConsoleError> {
    if !server.store().profiles()?.iter().any(|p| p.id == form.profile) {
        return Err(ConsoleError::not_found("No such profile."));
    }
    let version = server.store().set_room_profile(room, form.profile)?;
    server.store().audit(
        Some(user.id),
        "room-profile",
        &format!("room {room} uses profile {}", form.profile),
        now(),
    )?;
    server.rules_changed(room, version);
    Ok(redirect("/admin"))
}

/// A one-time enrolment code, shown once with the certificate fingerprint the kiosk pins.
async fn enrol_code(
    State(server): State<Arc<Server>>,
    Path(room): Path<i64>,
    Posted(Admin(user), _): Posted<Admin>,
) -> Result<Html<String>, ConsoleError> {
    let name = server.store().room_name(room)?.ok_or_else(|| ConsoleError::not_found("No such room."))?;
    let code = server
        .enrol_code(&name, crate::server::ENROL_CODE_MINUTES)
        .map_err(|e| ConsoleError::internal(e.to_string()))?;
    let fingerprint = server.fingerprint.get().cloned();
    let notice = Notice { title: "console-new-code", name, secret: code, fingerprint, help: "console-code-help" };
    admin_html(&server, &user, Some(notice))
}

#[derive(Deserialize)]
struct UserForm {
    name: String,
    role: String,
    #[serde(default)]
    room: String,
}

/// A new account, with its one-time password shown once.
async fn add_user(
    State(server): State<Arc<Server>>,
    Posted(Admin(user), form): Posted<Admin, UserForm>,
) -> Result<Html<String>, ConsoleError> {
    let rooms: Vec<String> = if form.room.is_empty() { Vec::new() } else { vec![form.room.clone()] };
    let name = form.name.trim().to_owned();
    let role = form.role.clone();
    let adding = Arc::clone(&server);
    // argon2 off the async threads, as at login.
    let password = tokio::task::spawn_blocking(move || adding.add_user(&name, &role, &rooms))
        .await
        .map_err(|_| ConsoleError::internal("the account could not be made"))?
        .map_err(|e| ConsoleError(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;
    let notice = Notice {
        title: "console-add-user",
        name: form.name.trim().to_owned(),
        secret: password,
        fingerprint: None,
        help: "console-one-time-help",
    };
    admin_html(&server, &user, Some(notice))
}

/// Disables a staff account (someone who has left, or a password given away).
async fn disable_user(
    State(server): State<Arc<Server>>,
    Path(id): Path<i64>,
    Posted(Admin(user), _): Posted<Admin>,
) -> Result<Html<String>, ConsoleError> {
    if id == user.id {
        return Err(ConsoleError(StatusCode::UNPROCESSABLE_ENTITY, "You cannot disable your own account.".into()));
    }
    let disabled = server.store().disable_user(id, now())?;
    let Some(name) = disabled else { return Err(ConsoleError::not_found("No such account in use.")) };
    server.sessions_changed();
    server.store().audit(Some(user.id), "disable-account", &name, now())?;
    admin_html(&server, &user, None)
}

/// Gives another account a new one-time password (forgotten, or given away): its sessions end
/// and it must choose its own at the next sign-in.
async fn reset_user_password(
    State(server): State<Arc<Server>>,
    Path(id): Path<i64>,
    Posted(Admin(user), _): Posted<Admin>,
) -> Result<Html<String>, ConsoleError> {
    if id == user.id {
        return Err(ConsoleError(StatusCode::UNPROCESSABLE_ENTITY, server.t("console-reset-own")));
    }
    let name = account_in_use(&server, id)?.name;
    let resetting = Arc::clone(&server);
    // argon2 off the async threads, as at login.
    let password = tokio::task::spawn_blocking(move || resetting.reset_password(id))
        .await
        .map_err(|_| ConsoleError::internal("the password could not be reset"))?
        .map_err(|e| ConsoleError::internal(e.to_string()))?;
    server.store().audit(Some(user.id), "reset-password", &name, now())?;
    let notice = Notice {
        title: "console-reset-password",
        name,
        secret: password,
        fingerprint: None,
        help: "console-one-time-help",
    };
    admin_html(&server, &user, Some(notice))
}

struct ProfileForm<'a> {
    row: &'a ProfileRow,
    engine: &'static str,
}

#[derive(Template)]
#[template(path = "console/profiles.html")]
struct ProfilesPage<'a> {
    t: Words<'a>,
    user: &'a User,
    profiles: Vec<ProfileForm<'a>>,
    /// The search engines a profile may choose, as the form names them.
    engines: [&'static str; SearchEngine::ALL.len()],
    errors: &'a [String],
}

async fn profiles_page(State(server): State<Arc<Server>>, Admin(user): Admin) -> Result<Html<String>, ConsoleError> {
    let profiles = server.store().profiles()?;
    profiles_html(&server, &user, &profiles, &[])
}

/// Profiles' forms; `errors` are the list's, when one profile is shown back after a mistake.
fn profiles_html(
    server: &Server,
    user: &User,
    profiles: &[ProfileRow],
    errors: &[String],
) -> Result<Html<String>, ConsoleError> {
    let profiles = profiles.iter().map(|row| ProfileForm { row, engine: row.search.name() }).collect();
    let body = render(&ProfilesPage {
        t: server.words(),
        user,
        profiles,
        engines: SearchEngine::ALL.map(SearchEngine::name),
        errors,
    })?;
    server.page(Some(user), "console-profiles", body)
}

#[derive(Deserialize)]
struct ProfileFields {
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

async fn save_profile(
    State(server): State<Arc<Server>>,
    Path(id): Path<i64>,
    Posted(Admin(user), form): Posted<Admin, ProfileFields>,
) -> Result<Response, ConsoleError> {
    let profile = server
        .store()
        .profiles()?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(|| ConsoleError::not_found("No such profile."))?;
    let search = store::parse_search(&form.search);
    // Browsers send CRLF from a textarea; lists are stored with plain newlines.
    let list = form.list.replace("\r\n", "\n");
    let mut builder = Policy::builder();
    builder.add_list(&profile.name, &list);
    let errors: Vec<String> =
        builder.errors().iter().map(|e| format!("line {}: `{}`: {}", e.source.line, e.text, e.problem)).collect();
    let typed = ProfileRow {
        list,
        search,
        image_search: form.image_search.is_some(),
        open_web: form.open_web.is_some(),
        blocked_categories: store::split_categories(&form.blocked_categories),
        ..profile
    };
    if !errors.is_empty() {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            profiles_html(&server, &user, std::slice::from_ref(&typed), &errors)?,
        )
            .into_response());
    }
    let changed = server.store().update_profile(&typed)?;
    let images = if typed.image_search { "image search on" } else { "image search off" };
    let web = if typed.open_web {
        format!("open web, blocking {}", typed.blocked_categories.join(", "))
    } else {
        "listed sites only".into()
    };
    server.store().audit(
        Some(user.id),
        "update-profile",
        &format!("{} ({} lines, {}, {images}, {web})", typed.name, typed.list.lines().count(), form.search),
        now(),
    )?;
    for (room, version) in changed {
        server.rules_changed(room, version);
    }
    Ok(redirect("/profiles"))
}

async fn export_profile(
    State(server): State<Arc<Server>>,
    Admin(_): Admin,
    Path(id): Path<i64>,
) -> Result<Response, ConsoleError> {
    let profile = server
        .store()
        .profiles()?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(|| ConsoleError::not_found("No such profile."))?;
    let file =
        format!("attachment; filename=\"{}.list\"", profile.name.replace(|c: char| !c.is_ascii_alphanumeric(), "-"));
    Ok(([(CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()), (CONTENT_DISPOSITION, file)], profile.list)
        .into_response())
}
