//! Signing in and out, and changing one's own password: argon2, HttpOnly SameSite cookies, a
//! double-submit token on the login form, and tries that cost the guesser, not the owner.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::header::{LOCATION, RETRY_AFTER, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use tracing::{info, warn};

use super::{cookie, redirect, render, ConsoleError, Posted, SignedIn, Words, SESSION_COOKIE};
use crate::server::login::Client;
use crate::server::store::User;
use crate::server::{hash, now, random_hex, Server};

const LOGIN_COOKIE: &str = "satchel_login";
/// A browser that signed in to an account before: its tries are counted apart from others'.
const DEVICE_COOKIE: &str = "satchel_device";
const DEVICE_DAYS: u64 = 365;
const SESSION_HOURS: u64 = 12;
/// A new password's least length, and the most the form takes.
const PASSWORD_LENGTH: std::ops::RangeInclusive<usize> = 10..=256;

pub(super) fn router() -> Router<Arc<Server>> {
    Router::new()
        .route(
            "/login",
            get(login_page)
                .post(login)
                .layer(axum::extract::DefaultBodyLimit::max(crate::server::transport::OPEN_BODY_LIMIT)),
        )
        .route("/logout", post(logout))
        .route("/password", get(password_page).post(change_password))
}

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginForm<'a> {
    t: Words<'a>,
    error: Option<&'a str>,
    token: &'a str,
}

async fn login_page(State(server): State<Arc<Server>>) -> Result<Response, ConsoleError> {
    login_form(&server, None, StatusCode::OK)
}

fn login_form(server: &Server, error: Option<&str>, status: StatusCode) -> Result<Response, ConsoleError> {
    // Double-submit token: the login form's CSRF value must match this cookie.
    let token = random_hex(16).unwrap_or_default();
    let body = render(&LoginForm { t: server.words(), error, token: &token })?;
    let cookie = format!("{LOGIN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/login{}", server.cookie_security());
    Ok((status, [(SET_COOKIE, cookie)], server.page(None, "console-login-title", body)?).into_response())
}

#[derive(Deserialize)]
struct Credentials {
    csrf: String,
    name: String,
    password: String,
}

async fn login(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    Form(form): Form<Credentials>,
) -> Result<Response, ConsoleError> {
    if cookie(&headers, LOGIN_COOKIE).as_deref() != Some(form.csrf.as_str()) || form.csrf.is_empty() {
        return login_form(&server, Some("console-form-expired"), StatusCode::FORBIDDEN);
    }
    // Account names are short; a long one is no account, and is not worth logging whole.
    let name: String = form.name.trim().chars().take(crate::server::ACCOUNT_NAME_CHARS).collect();
    let account = server.store().user_login(&name)?;
    let device = cookie(&headers, DEVICE_COOKIE).map(|token| hash(&token));
    let client = match (&account, device) {
        (Some((user_id, _)), Some(device)) if server.store().is_known_device(&device, *user_id)? => {
            Client::Known(device)
        }
        _ => Client::Elsewhere,
    };
    if let Err(wait) = server.login_begin(&name, &client) {
        warn!(name, wait_seconds = wait.as_secs(), "login refused: too many tries");
        let mut refused = login_form(&server, Some("console-too-many-tries"), StatusCode::TOO_MANY_REQUESTS)?;
        refused.headers_mut().insert(RETRY_AFTER, HeaderValue::from(wait.as_secs().max(1)));
        return Ok(refused);
    }
    // A name that is no account is checked against a stand-in hash: it takes as long as a
    // real one, so the time taken does not tell which names exist.
    let stored = account.as_ref().map(|(_, stored)| stored.clone());
    let password = form.password;
    let verified = tokio::task::spawn_blocking(move || {
        crate::secrets::matches(stored.as_deref().unwrap_or_else(|| crate::server::login::stand_in_hash()), &password)
    })
    .await
    .unwrap_or(false);
    let Some((user_id, _)) = account.filter(|_| verified) else {
        server.login_failed(&name, &client);
        info!(name, "login failed");
        server.store().audit(None, "login-failed", &name, now())?;
        return login_form(&server, Some("console-wrong-login"), StatusCode::UNAUTHORIZED);
    };
    server.login_succeeded(&name, &client);
    let no_randomness = |_| ConsoleError::internal("no randomness");
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
    let session = format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{security}",
        SESSION_HOURS * 3600
    );
    response.headers_mut().append(SET_COOKIE, HeaderValue::from_str(&session).expect("hex is a valid header"));
    if let Some(device) = new_device {
        let device = format!(
            "{DEVICE_COOKIE}={device}; HttpOnly; SameSite=Strict; Path=/login; Max-Age={}{security}",
            DEVICE_DAYS * 86_400
        );
        response.headers_mut().append(SET_COOKIE, HeaderValue::from_str(&device).expect("hex is a valid header"));
    }
    Ok(response)
}

async fn logout(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    Posted(SignedIn(_), _): Posted<SignedIn>,
) -> Result<Response, ConsoleError> {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        server.store().end_session(&hash(&token))?;
        server.sessions_ended.send_modify(|generation| *generation += 1);
    }
    let clear = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{}", server.cookie_security());
    Ok((StatusCode::SEE_OTHER, [(SET_COOKIE, clear), (LOCATION, "/login".to_owned())]).into_response())
}

#[derive(Template)]
#[template(path = "console/password.html")]
struct PasswordPage<'a> {
    t: Words<'a>,
    user: &'a User,
    error: Option<&'a str>,
    least: usize,
    most: usize,
}

async fn password_page(
    State(server): State<Arc<Server>>,
    SignedIn(user): SignedIn,
) -> Result<Html<String>, ConsoleError> {
    password_form(&server, &user, None)
}

/// Changing one's own password; with a one-time password, the only page until it is done.
fn password_form(server: &Server, user: &User, error: Option<&str>) -> Result<Html<String>, ConsoleError> {
    let body = render(&PasswordPage {
        t: server.words(),
        user,
        error,
        least: *PASSWORD_LENGTH.start(),
        most: *PASSWORD_LENGTH.end(),
    })?;
    server.page(Some(user), "console-change-password", body)
}

#[derive(Deserialize)]
struct NewPassword {
    current: String,
    new: String,
    repeat: String,
}

async fn change_password(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    Posted(SignedIn(user), form): Posted<SignedIn, NewPassword>,
) -> Result<Response, ConsoleError> {
    let refuse =
        |status: StatusCode, error: &str| Ok((status, password_form(&server, &user, Some(error))?).into_response());
    if form.new != form.repeat {
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, "console-password-mismatch");
    }
    if !PASSWORD_LENGTH.contains(&form.new.chars().count()) {
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, "console-password-short");
    }
    if form.new == form.current || form.new.eq_ignore_ascii_case(&user.name) {
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, "console-password-same");
    }
    let session = cookie(&headers, SESSION_COOKIE).map(|token| hash(&token));
    // Someone at an unlocked console must not be able to guess the password either.
    let client = Client::Known(session.clone().unwrap_or_default());
    if server.login_begin(&user.name, &client).is_err() {
        return refuse(StatusCode::TOO_MANY_REQUESTS, "console-too-many-tries");
    }
    let stored = server.store().password_hash(user.id)?.unwrap_or_default();
    let NewPassword { current, new, .. } = form;
    let checked = tokio::task::spawn_blocking(move || {
        crate::secrets::matches(&stored, &current).then(|| crate::secrets::hash(&new))
    })
    .await
    .map_err(|_| ConsoleError::internal("the password could not be checked"))?;
    let Some(new_hash) = checked else {
        server.login_failed(&user.name, &client);
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, "console-password-wrong");
    };
    let new_hash = new_hash.map_err(ConsoleError::internal)?;
    server.login_succeeded(&user.name, &client);
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
