//! The admin's pages: rooms (their profile, enrolment codes), staff accounts (new ones, and
//! disabling or resetting another's), and profiles (the list, search engine and open web).
//! A school's admin looks after their school's rooms and accounts; the trust's admin after
//! every school's, the schools themselves and the profiles they share.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::{redirect, render, Admin, ConsoleError, Posted, Trust, Words};
use crate::policy::Policy;
use crate::safesearch::SearchEngine;
use crate::server::store::{self, AdminRoom, ProfileRow, SchoolRow, User, UserRow};
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
        .route("/admin/users/{id}/school", post(set_user_school))
        .route("/admin/schools", post(add_school))
        .route("/admin/schools/{id}/name", post(rename_school))
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
    rooms: Vec<AdminRoom>,
    profiles: Vec<ProfileRow>,
    users: Vec<UserRow>,
    /// Every school, for the trust's admin (empty for a school's).
    schools: Vec<SchoolRow>,
}

impl AdminPage<'_> {
    /// A trust of several schools: the trust's admin picks a school for each new room and
    /// account.
    fn choosing_schools(&self) -> bool {
        self.schools.len() > 1
    }

    fn school_name(&self, id: Option<i64>) -> String {
        match id {
            None => self.t.get("console-whole-trust"),
            Some(id) => {
                self.schools.iter().find(|school| school.id == id).map(|school| school.name.clone()).unwrap_or_default()
            }
        }
    }
}

/// Rooms (with their profile and enrolment codes) and staff accounts.
async fn admin_page(State(server): State<Arc<Server>>, Admin(user): Admin) -> Result<Html<String>, ConsoleError> {
    admin_html(&server, &user, None)
}

/// An account in use that this admin looks after, by its id.
fn account_in_use(server: &Server, admin: &User, id: i64) -> Result<UserRow, ConsoleError> {
    let account = server.store().users(admin)?.into_iter().find(|account| account.id == id && !account.disabled);
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
    let account = account_in_use(&server, &user, id)?;
    let email = Some(form.email.trim()).filter(|email| !email.is_empty());
    if email.is_some_and(|email| !is_email_address(email)) {
        return Err(ConsoleError(StatusCode::UNPROCESSABLE_ENTITY, server.t("console-email-bad")));
    }
    server.set_email(&account.name, email, Some(user.id)).map_err(|e| ConsoleError::internal(e.to_string()))?;
    Ok(redirect("/admin#users-h"))
}

fn admin_html(server: &Server, user: &User, notice: Option<Notice>) -> Result<Html<String>, ConsoleError> {
    let (rooms, profiles, users, schools) = {
        let store = server.store();
        let schools = if user.school.is_none() { store.schools()? } else { Vec::new() };
        (store.rooms_with_profiles(user)?, store.profiles()?, store.users(user)?, schools)
    };
    let body = render(&AdminPage { t: server.words(), user, notice, rooms, profiles, users, schools })?;
    server.page(Some(user), "console-admin", body)
}

/// A room this admin looks after, by its id.
fn room_in_care(server: &Server, admin: &User, id: i64) -> Result<AdminRoom, ConsoleError> {
    let room = server.store().rooms_with_profiles(admin)?.into_iter().find(|room| room.id == id);
    room.ok_or_else(|| ConsoleError::not_found("No such room."))
}

/// The school something new goes in: a school's admin's own; for the trust's admin the one
/// chosen (`school`), which may be left out only while the trust has one school.
fn school_for_new(server: &Server, admin: &User, school: &str) -> Result<i64, ConsoleError> {
    if let Some(own) = admin.school {
        return Ok(own);
    }
    let schools = server.store().schools()?;
    let chosen = match (school.parse::<i64>().ok(), schools.as_slice()) {
        (Some(id), _) => schools.iter().find(|s| s.id == id),
        (None, [only]) => Some(only),
        (None, _) => None,
    };
    chosen
        .map(|s| s.id)
        .ok_or_else(|| ConsoleError(StatusCode::UNPROCESSABLE_ENTITY, server.t("console-school-choose")))
}

/// The school of an account this admin makes or moves: a school's admin's own; for the trust's
/// admin the one chosen, or `trust` for an account of the trust, which is what one left out
/// means while the trust has one school (its staff see all of it, as before schools).
fn account_school(server: &Server, admin: &User, school: &str) -> Result<Option<i64>, ConsoleError> {
    if admin.school.is_some() {
        return school_for_new(server, admin, school).map(Some);
    }
    match school {
        "trust" => Ok(None),
        "" if server.store().schools()?.len() == 1 => Ok(None),
        chosen => school_for_new(server, admin, chosen).map(Some),
    }
}

#[derive(Deserialize)]
struct RoomForm {
    name: String,
    #[serde(default)]
    school: String,
}

async fn add_room(
    State(server): State<Arc<Server>>,
    Posted(Admin(user), form): Posted<Admin, RoomForm>,
) -> Result<Response, ConsoleError> {
    let school = school_for_new(&server, &user, &form.school)?;
    server
        .add_room(form.name.trim(), "KS1", school, Some(user.id))
        .map_err(|e| ConsoleError(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;
    Ok(redirect("/admin"))
}

#[derive(Deserialize)]
struct NameForm {
    name: String,
}

/// A new school in the trust, named.
async fn add_school(
    State(server): State<Arc<Server>>,
    Posted(Trust(Admin(user)), form): Posted<Trust<Admin>, NameForm>,
) -> Result<Response, ConsoleError> {
    server
        .add_school(form.name.trim(), Some(user.id))
        .map_err(|e| ConsoleError(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;
    Ok(redirect("/admin#schools-h"))
}

async fn rename_school(
    State(server): State<Arc<Server>>,
    Path(id): Path<i64>,
    Posted(Trust(Admin(user)), form): Posted<Trust<Admin>, NameForm>,
) -> Result<Response, ConsoleError> {
    server
        .rename_school(id, form.name.trim(), Some(user.id))
        .map_err(|e| ConsoleError(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;
    Ok(redirect("/admin#schools-h"))
}

#[derive(Deserialize)]
struct SchoolChoice {
    /// A school's id, or `trust`.
    school: String,
}

/// Moves an account to a school, or makes it the trust's.
async fn set_user_school(
    State(server): State<Arc<Server>>,
    Path(id): Path<i64>,
    Posted(Trust(Admin(user)), form): Posted<Trust<Admin>, SchoolChoice>,
) -> Result<Response, ConsoleError> {
    if id == user.id {
        return Err(ConsoleError(StatusCode::UNPROCESSABLE_ENTITY, server.t("console-school-own")));
    }
    let account = account_in_use(&server, &user, id)?;
    let school = account_school(&server, &user, &form.school)?;
    server.store().set_user_school(id, school)?;
    server.sessions_changed();
    let name = school.map_or_else(|| "the trust".to_owned(), |id| format!("school {id}"));
    server.store().audit(Some(user.id), "account-school", &format!("{} moved to {name}", account.name), now())?;
    Ok(redirect("/admin#users-h"))
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
    room_in_care(&server, &user, room)?;
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
    let name = room_in_care(&server, &user, room)?.name;
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
    /// A school's id, or `trust` (the trust's admin only).
    #[serde(default)]
    school: String,
}

/// A new account, with its one-time password shown once.
async fn add_user(
    State(server): State<Arc<Server>>,
    Posted(Admin(user), form): Posted<Admin, UserForm>,
) -> Result<Html<String>, ConsoleError> {
    let rooms: Vec<String> = if form.room.is_empty() { Vec::new() } else { vec![form.room.clone()] };
    let school = account_school(&server, &user, &form.school)?;
    let name = form.name.trim().to_owned();
    let role = form.role.clone();
    let adding = Arc::clone(&server);
    // argon2 off the async threads, as at login.
    let password = tokio::task::spawn_blocking(move || adding.add_user(&name, &role, &rooms, school))
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
    account_in_use(&server, &user, id)?;
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
    let name = account_in_use(&server, &user, id)?.name;
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

async fn profiles_page(
    State(server): State<Arc<Server>>,
    Trust(Admin(user)): Trust<Admin>,
) -> Result<Html<String>, ConsoleError> {
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
    Posted(Trust(Admin(user)), form): Posted<Trust<Admin>, ProfileFields>,
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
    Trust(Admin(_)): Trust<Admin>,
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
