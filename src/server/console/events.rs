//! The console's live stream (SSE): new reports, unblock requests and, for the DSL and
//! admins, alerts, for the rooms this user may see (a school's staff their school's). It
//! ends with its session.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use axum::Router;

use super::{cookie, ConsoleError, SignedIn, SESSION_COOKIE};
use crate::server::{hash, now, Server};

/// How often an event stream checks that its session is still alive (it also checks whenever
/// any session ends).
const SESSION_CHECK: Duration = Duration::from_secs(60);

pub(super) fn router() -> Router<Arc<Server>> {
    Router::new().route("/events", get(events))
}

/// New reports and unblock requests as they arrive, for the rooms this user may see:
/// `event: report` or `event: unblock`, data = the id; for the DSL and admins, `event: alert`
/// too. The stream ends with its session
/// (signed out, the account disabled, its password reset, or expired).
async fn events(
    State(server): State<Arc<Server>>,
    SignedIn(user): SignedIn,
    headers: HeaderMap,
) -> Result<Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>>, ConsoleError> {
    // The trust's safeguarding staff see every room, even one added after the stream began.
    let safeguarding = user.role.sees_whole_school();
    let every_room = safeguarding && user.shown_school().is_none();
    let rooms = if every_room { None } else { Some(server.store().rooms_seen(user.id)?) };
    let session = cookie(&headers, SESSION_COOKIE).map(|token| hash(&token)).unwrap_or_default();
    let receiver = server.events.subscribe();
    let sessions = server.sessions_ended.subscribe();
    let rooms = (rooms, safeguarding);
    let state = (receiver, sessions, rooms, session, server);
    let stream =
        futures_util::stream::unfold(state, |(mut receiver, mut sessions, rooms, session, server)| async move {
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
                    Ok(event)
                        if rooms.0.as_ref().is_none_or(|mine| mine.contains(&event.room))
                            && (rooms.1 || !event.safeguarding) =>
                    {
                        return Some((
                            Ok(Event::default().event(event.kind).data(event.id)),
                            (receiver, sessions, rooms, session, server),
                        ));
                    }
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                }
            }
        });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
