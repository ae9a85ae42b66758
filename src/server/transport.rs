//! The server's connections, plain HTTP (loopback) and HTTPS alike, through one accept loop:
//! bounds on the time a client may take over its TLS handshake, its request's headers and its
//! request's body; a cap on connections that have not yet shown who they are; a pause, not a
//! busy loop, when the process runs out of file descriptors; and the open-files limit raised
//! at start, as each kiosk's long poll holds a descriptor.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{Extensions, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use hyper::body::{Bytes, Frame, SizeHint};
use hyper::service::Service as _;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Notify};
use tokio::time::{Instant, Sleep};
use tracing::{info, warn};

use super::Server;

/// How long a connection may take over its TLS handshake.
const HANDSHAKE_LIMIT: Duration = Duration::from_secs(10);
/// How long a request's headers may take to arrive, counted from the connection's start or,
/// on a kept-alive connection, from the end of the last answer: an idle connection is closed
/// after this long.
const HEADERS_LIMIT: Duration = Duration::from_secs(10);
/// A request's body must arrive within [`BODY_START`] of its headers, plus a second for each
/// [`BODY_RATE`] bytes received, and within [`BODY_LIMIT`] in all: a report of several
/// megabytes on a slow network has the time it needs, a body that stops never holds its
/// connection (and what it sent so far) for long, and no body takes longer than the kiosk
/// itself waits for an answer (60 s).
const BODY_START: Duration = Duration::from_secs(10);
const BODY_RATE: u64 = 64 * 1024;
const BODY_LIMIT: Duration = Duration::from_secs(60);
/// The most a request open to anyone (enrolment, signing in) may send: its few words need no
/// more, and such a body is held in memory while it arrives. Other routes read their body only
/// once the kiosk or member of staff is known.
pub(super) const OPEN_BODY_LIMIT: usize = 16 * 1024;
/// Connections that have neither shown a kiosk's token nor had a request answered, at most;
/// never more than half the open-files limit, so that they alone cannot use it up.
const MOST_UNPROVEN: u64 = 1024;
/// How long such a connection may wait before it can be closed to make room for another.
const STRANGER_GRACE: Duration = Duration::from_secs(2);
/// After an accept fails for want of descriptors or memory, the wait before trying again,
/// doubling up to the longest.
const FIRST_PAUSE: Duration = Duration::from_millis(100);
const LONGEST_PAUSE: Duration = Duration::from_secs(1);
/// How long stopping waits for requests in flight (a report still uploading) before cutting
/// them; systemd's own limit is 90 s.
const DRAIN_LIMIT: Duration = Duration::from_secs(30);

/// Serves `app` on `listener` until `stop` resolves, over TLS when given a configuration. Then
/// it accepts nothing new, lets the requests in flight finish (a report being uploaded is
/// stored and acknowledged) and closes idle connections.
pub(super) async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    stop: impl Future<Output = ()>,
) {
    let open_files = raise_open_files_limit();
    let unproven = Arc::new(Unproven::new((open_files / 2).clamp(1, MOST_UNPROVEN) as usize));
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let connections = GracefulShutdown::new();
    let mut stop = std::pin::pin!(stop);
    let mut pause = None;
    loop {
        let accepted = tokio::select! {
            accepted = async {
                unproven.room().await;
                listener.accept().await
            } => accepted,
            () = &mut stop => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => {
                pause = None;
                stream
            }
            // The client gave up before it was accepted: nothing is wrong here.
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::ConnectionAborted | std::io::ErrorKind::ConnectionReset
                ) =>
            {
                continue
            }
            // Out of descriptors (EMFILE, ENFILE) or memory: the connection stays queued and the
            // listener stays ready, so trying again at once would spin. Wait for connections to
            // close instead, the longer the more often it fails.
            Err(error) => {
                let wait = pause.map_or(FIRST_PAUSE, |last: Duration| (last * 2).min(LONGEST_PAUSE));
                if pause.is_none() {
                    warn!(%error, open_files, "cannot accept connections: trying again in a moment");
                }
                pause = Some(wait);
                tokio::select! {
                    () = tokio::time::sleep(wait) => continue,
                    () = &mut stop => break,
                }
            }
        };
        let (place, closed) = unproven.admit();
        let (acceptor, app, watcher) = (acceptor.clone(), app.clone(), connections.watcher());
        tokio::spawn(async move {
            let served = async {
                match acceptor {
                    None => serve_connection(stream, app, place.clone(), watcher).await,
                    Some(acceptor) => {
                        if let Ok(Ok(stream)) = tokio::time::timeout(HANDSHAKE_LIMIT, acceptor.accept(stream)).await {
                            serve_connection(stream, app, place.clone(), watcher).await;
                        }
                    }
                }
            };
            // Dropping the connection closes it. A place given up by the connection itself
            // drops its sender without a word, which leaves only `served` to wait for.
            tokio::select! {
                () = served => {}
                Ok(()) = closed => {}
            }
            place.give_up();
        });
    }
    if tokio::time::timeout(DRAIN_LIMIT, connections.shutdown()).await.is_err() {
        warn!(limit = ?DRAIN_LIMIT, "requests still in flight were cut off");
    }
}

/// HTTP/1.1 on one connection, plain or TLS. Each request carries the connection's place
/// among the unproven, which it gives up once answered.
async fn serve_connection<S>(stream: S, app: Router, place: Place, watcher: Watcher)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let app = hyper_util::service::TowerToHyperService::new(app);
    let service = hyper::service::service_fn(move |mut request: Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(place.clone());
        let answer = app.call(request);
        let place = place.clone();
        async move {
            let response = answer.await;
            place.give_up();
            response
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADERS_LIMIT)
        .serve_connection(TokioIo::new(stream), service);
    let _ = watcher.watch(connection).await;
}

/// The connection this request came on has shown a kiosk's token: it no longer counts against
/// the cap on unproven connections, so that a long poll waits without holding a place.
pub(super) fn proven(extensions: &Extensions) {
    if let Some(place) = extensions.get::<Place>() {
        place.give_up();
    }
}

/// Connections that have not yet shown who they are, oldest first. When there are as many as
/// the cap allows, the next connection waits in the listen queue (which holds no descriptor)
/// until one of them has been waiting [`STRANGER_GRACE`], then that one is closed to make room:
/// a real client shows who it is within moments of connecting, so a connection still silent
/// after that is the one most likely held open on purpose, and a flood of them cannot keep
/// anyone else out for long; a burst of real clients all younger than that is never cut short.
struct Unproven {
    most: usize,
    state: Mutex<UnprovenState>,
    /// Told whenever a connection gives up its place.
    freed: Notify,
}

#[derive(Default)]
struct UnprovenState {
    next: u64,
    /// Each connection's arrival, and its way to be told to close.
    waiting: BTreeMap<u64, (Instant, oneshot::Sender<()>)>,
    closed: u64,
}

/// A connection's place among the unproven.
#[derive(Clone)]
struct Place {
    unproven: Arc<Unproven>,
    id: u64,
}

impl Unproven {
    fn new(most: usize) -> Unproven {
        Unproven { most, state: Mutex::default(), freed: Notify::new() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, UnprovenState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Resolves once one more connection may be admitted.
    async fn room(&self) {
        loop {
            let wait = {
                let mut state = self.lock();
                if state.waiting.len() < self.most {
                    return;
                }
                let Some((&oldest, &(since, _))) = state.waiting.first_key_value() else { return };
                let waited = since.elapsed();
                if waited >= STRANGER_GRACE {
                    if let Some((_, close)) = state.waiting.remove(&oldest) {
                        let _ = close.send(());
                    }
                    state.closed += 1;
                    if state.closed.is_power_of_two() {
                        warn!(
                            most = self.most,
                            closed = state.closed,
                            "too many connections have not said who they are: closing the oldest"
                        );
                    }
                    return;
                }
                STRANGER_GRACE - waited
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.freed.notified() => {}
            }
        }
    }

    /// A place for a new connection, and what tells it to close.
    fn admit(self: &Arc<Self>) -> (Place, oneshot::Receiver<()>) {
        let mut state = self.lock();
        let id = state.next;
        state.next += 1;
        let (close, closed) = oneshot::channel();
        state.waiting.insert(id, (Instant::now(), close));
        (Place { unproven: Arc::clone(self), id }, closed)
    }
}

impl Place {
    fn give_up(&self) {
        if self.unproven.lock().waiting.remove(&self.id).is_some() {
            self.unproven.freed.notify_one();
        }
    }
}

/// Answers `408` and closes the connection when a request's body does not arrive in time.
pub(super) async fn bound_body(State(server): State<Arc<Server>>, request: Request, next: Next) -> Response {
    let late = Arc::new(AtomicBool::new(false));
    let api = request.uri().path().starts_with("/api/");
    let request = request.map(|body| Body::new(TimedBody::new(body, Arc::clone(&late))));
    let response = next.run(request).await;
    if !late.load(Ordering::Relaxed) {
        return response;
    }
    // The handler saw its body fail; its answer's headers (the console's security headers among
    // them) are kept, its status and words are not.
    let (mut parts, _) = response.into_parts();
    parts.status = StatusCode::REQUEST_TIMEOUT;
    parts.headers.remove(CONTENT_LENGTH);
    parts.headers.insert(CONNECTION, HeaderValue::from_static("close"));
    let body = if api {
        parts.headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        serde_json::json!({ "error": "the request's body did not arrive in time" }).to_string()
    } else {
        parts.headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
        server.messages.message("console-request-too-slow").unwrap_or_default().into_owned()
    };
    Response::from_parts(parts, Body::from(body))
}

/// A request body that fails once it is late (see [`BODY_START`]), and says so in `late`.
struct TimedBody {
    inner: Body,
    started: Instant,
    received: u64,
    deadline: Pin<Box<Sleep>>,
    late: Arc<AtomicBool>,
}

#[derive(Debug)]
struct TooSlow;

impl std::fmt::Display for TooSlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request's body did not arrive in time")
    }
}

impl std::error::Error for TooSlow {}

impl TimedBody {
    fn new(inner: Body, late: Arc<AtomicBool>) -> TimedBody {
        let started = Instant::now();
        TimedBody {
            inner,
            started,
            received: 0,
            deadline: Box::pin(tokio::time::sleep_until(started + BODY_START)),
            late,
        }
    }
}

impl hyper::body::Body for TimedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        // What has arrived is taken even past the deadline: only waiting for more is refused.
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received += data.len() as u64;
                    let allowed =
                        (BODY_START + Duration::from_millis(this.received * 1000 / BODY_RATE)).min(BODY_LIMIT);
                    this.deadline.as_mut().reset(this.started + allowed);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending if this.deadline.as_mut().poll(cx).is_ready() => {
                this.late.store(true, Ordering::Relaxed);
                Poll::Ready(Some(Err(axum::Error::new(TooSlow))))
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Raises the soft limit on open files to the hard limit (a packaged server's unit sets it) and
/// returns the limit in force: the usual soft limit, 1,024, is less than a large school's
/// kiosks holding their long polls.
fn raise_open_files_limit() -> u64 {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes only into the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        warn!(error = %std::io::Error::last_os_error(), "cannot read the open-files limit");
        return MOST_UNPROVEN * 2;
    }
    let soft = limit.rlim_cur;
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
        // SAFETY: setrlimit only reads the struct it is given.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit = raised;
        } else {
            warn!(error = %std::io::Error::last_os_error(), soft, hard = limit.rlim_max, "cannot raise the open-files limit");
        }
    }
    info!(was = soft, now = limit.rlim_cur, hard = limit.rlim_max, "open-files limit");
    limit.rlim_cur
}
