//! Who may call a console handler, as extractors, so that a handler cannot forget to check:
//! [`SignedIn`] (any member of staff), [`Safeguarding`] (the DSL and the admin), [`Admin`],
//! and [`Trust`] around either for what spans the trust's schools (profiles, alert terms,
//! schools), for pages, and [`Posted`] for forms, which checks the session's CSRF token
//! before the
//! handler runs. The page extractors refuse a POST: a form's handler reaches its user only
//! through [`Posted`], and so only with the token checked.

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, RawForm, Request};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::{cookie, redirect, ConsoleError, Role, Server, User, SESSION_COOKIE};
use crate::server::{hash, now};

/// Any member of staff with a live session. Pages redirect to the login page without one.
pub struct SignedIn(pub User);

/// The safeguarding lead or the admin: every room's reports, the logs, junk removal.
pub struct Safeguarding(pub User);

/// The admin: accounts, rooms, profiles and machines.
pub struct Admin(pub User);

/// `A`, with an account of the trust's rather than of one school: what it changes reaches
/// every school.
pub struct Trust<A>(pub A);

/// Who is let in, from the session's user.
pub trait Access: Sized {
    fn admit(user: User) -> Result<Self, ConsoleError>;
}

impl Access for SignedIn {
    fn admit(user: User) -> Result<Self, ConsoleError> {
        Ok(SignedIn(user))
    }
}

impl Access for Safeguarding {
    fn admit(user: User) -> Result<Self, ConsoleError> {
        if user.role.sees_whole_school() {
            Ok(Safeguarding(user))
        } else {
            Err(not_for_your_role())
        }
    }
}

impl Access for Admin {
    fn admit(user: User) -> Result<Self, ConsoleError> {
        if user.role == Role::Admin {
            Ok(Admin(user))
        } else {
            Err(not_for_your_role())
        }
    }
}

impl<A: Access> Access for Trust<A> {
    fn admit(user: User) -> Result<Self, ConsoleError> {
        if user.school.is_some() {
            return Err(ConsoleError(StatusCode::FORBIDDEN, "This page is for the trust's staff.".into()));
        }
        A::admit(user).map(Trust)
    }
}

fn not_for_your_role() -> ConsoleError {
    ConsoleError(StatusCode::FORBIDDEN, "This page is not for your role.".into())
}

fn form_expired() -> ConsoleError {
    ConsoleError(StatusCode::FORBIDDEN, "This form has expired: go back, reload the page and try again.".into())
}

/// Why a request has no user: no live session (to the login page), a one-time password not
/// yet changed (to choosing one's own: the only page until it is done), or a failure.
enum NoUser {
    GoTo(&'static str),
    Failed(ConsoleError),
}

impl IntoResponse for NoUser {
    fn into_response(self) -> Response {
        match self {
            NoUser::GoTo(to) => redirect(to),
            NoUser::Failed(error) => error.into_response(),
        }
    }
}

fn session_user(parts: &Parts, server: &Server) -> Result<User, NoUser> {
    let token = cookie(&parts.headers, SESSION_COOKIE).ok_or(NoUser::GoTo("/login"))?;
    match server.store().session(&hash(&token), now()) {
        Ok(Some(user)) if user.must_change_password && !matches!(parts.uri.path(), "/password" | "/logout") => {
            Err(NoUser::GoTo("/password"))
        }
        Ok(Some(user)) => Ok(user),
        Ok(None) => Err(NoUser::GoTo("/login")),
        Err(error) => Err(NoUser::Failed(error.into())),
    }
}

/// For pages (GET and HEAD): a handler of anything else must take [`Posted`].
async fn page_user<A: Access>(parts: &Parts, server: &Server) -> Result<A, Response> {
    let user = session_user(parts, server).map_err(IntoResponse::into_response)?;
    if !matches!(parts.method, Method::GET | Method::HEAD) {
        return Err(form_expired().into_response());
    }
    A::admit(user).map_err(IntoResponse::into_response)
}

impl FromRequestParts<Arc<Server>> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, server: &Arc<Server>) -> Result<Self, Response> {
        page_user(parts, server).await
    }
}

impl FromRequestParts<Arc<Server>> for Safeguarding {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, server: &Arc<Server>) -> Result<Self, Response> {
        page_user(parts, server).await
    }
}

impl FromRequestParts<Arc<Server>> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, server: &Arc<Server>) -> Result<Self, Response> {
        page_user(parts, server).await
    }
}

impl<A: Access + Send> FromRequestParts<Arc<Server>> for Trust<A> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, server: &Arc<Server>) -> Result<Self, Response> {
        page_user(parts, server).await
    }
}

/// A posted form of a signed-in member of staff: who (`A`, one of the extractors above) and
/// the form's fields (`F`), only once the form's CSRF token matches the session's. A form
/// without the token is refused as malformed (422), one with another token as expired (403),
/// either before the handler runs.
pub struct Posted<A, F = NoFields>(pub A, pub F);

/// A form with nothing in it but its token.
#[derive(Deserialize)]
pub struct NoFields {}

#[derive(Deserialize)]
struct Token {
    csrf: String,
}

impl<A: Access, F: DeserializeOwned> FromRequest<Arc<Server>> for Posted<A, F> {
    type Rejection = Response;

    async fn from_request(request: Request, server: &Arc<Server>) -> Result<Self, Response> {
        let (parts, body) = request.into_parts();
        let user = session_user(&parts, server).map_err(IntoResponse::into_response)?;
        let RawForm(bytes) = RawForm::from_request(Request::from_parts(parts, body), server)
            .await
            .map_err(IntoResponse::into_response)?;
        // Read as axum's `Form` reads it; the handler's fields ignore the token.
        let malformed = |error: serde_urlencoded::de::Error| {
            (StatusCode::UNPROCESSABLE_ENTITY, format!("Failed to deserialize form body: {error}")).into_response()
        };
        let fields: F = serde_urlencoded::from_bytes(&bytes).map_err(malformed)?;
        let token: Token = serde_urlencoded::from_bytes(&bytes).map_err(malformed)?;
        if !same(&user.csrf, &token.csrf) {
            return Err(form_expired().into_response());
        }
        Ok(Posted(A::admit(user).map_err(IntoResponse::into_response)?, fields))
    }
}

/// Compares in a time that does not depend on where the strings first differ.
fn same(expected: &str, presented: &str) -> bool {
    let (a, b) = (expected.as_bytes(), presented.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::routing::post;
    use axum::Router;
    use reqwest::StatusCode;

    use super::*;

    /// Handlers as a forgetful one might write them, served over real HTTP on loopback.
    #[test]
    fn a_form_reaches_its_handler_only_with_the_sessions_token_and_the_right_role() {
        let data = std::env::temp_dir().join(format!("satchel-console-access-{}", std::process::id()));
        let (server, _) = Server::open(&data, &crate::server::Database::in_data(&data), "en-GB").unwrap();
        server.add_user("mr.jones", "teacher", &[], None).unwrap();
        let (id, _) = server.store().user_login("mr.jones").unwrap().unwrap();
        server.store().set_password(id, &crate::secrets::hash("chosen by its owner").unwrap(), false, None).unwrap();
        server.store().add_session(&hash("the-session"), id, "the-token", now(), now() + 3600).unwrap();
        let app = Router::new()
            .route("/page-extractor", post(|SignedIn(user): SignedIn| async move { user.name }))
            .route("/form", post(|Posted(SignedIn(user), _): Posted<SignedIn>| async move { user.name }))
            .route("/admin-form", post(|Posted(Admin(user), _): Posted<Admin>| async move { user.name }))
            .with_state(server);
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        runtime.spawn(async move { axum::serve(listener, app).await });
        let client = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let post = |path: &str, session: bool, form: &[(&str, &str)]| {
            let request = client.post(format!("{base}{path}")).form(form);
            let response =
                if session { request.header("Cookie", "satchel_session=the-session") } else { request }.send().unwrap();
            (response.status(), response.text().unwrap())
        };
        assert_eq!(
            post("/page-extractor", true, &[("csrf", "the-token")]).0,
            StatusCode::FORBIDDEN,
            "a page's extractor never admits a post"
        );
        assert_eq!(post("/form", true, &[]).0, StatusCode::UNPROCESSABLE_ENTITY, "no token");
        assert_eq!(
            post("/form", true, &[("csrf", "another-token")]).0,
            StatusCode::FORBIDDEN,
            "another session's token"
        );
        assert_eq!(
            post("/form", false, &[("csrf", "the-token")]).0,
            StatusCode::SEE_OTHER,
            "no session: to the login page"
        );
        assert_eq!(post("/form", true, &[("csrf", "the-token")]), (StatusCode::OK, "mr.jones".to_owned()));
        assert_eq!(
            post("/admin-form", true, &[("csrf", "the-token")]).0,
            StatusCode::FORBIDDEN,
            "a teacher is not the admin"
        );
        drop(runtime);
        std::fs::remove_dir_all(data).unwrap();
    }
}
