//! Alerts: each new activity event is scanned as it is stored. A concerning term in a search
//! or an address raises an alert in its category and severity (urgent ones reach the DSL's
//! console at once); many blocked pages in a short time on one machine raise a review alert.
//! The terms are Satchel's starter lists plus the school's own, rebuilt when staff change them.

use std::sync::{Arc, RwLock};

use tracing::{info, warn};

use super::store::{NewAlert, Store, StoredEvent};
use super::{ConsoleEvent, Server};
use crate::alerts::{decoded_url, Matcher, Severity};
use crate::protocol::{ActivityEvent, Happening};

/// Blocked pages on one machine within [`BLOCKS_WINDOW_MS`] that make a review alert: a pupil
/// trying site after site, or something on the machine trying for them.
pub const BLOCKS_FOR_ALERT: i64 = 10;
pub const BLOCKS_WINDOW_MS: u64 = 5 * 60 * 1000;

/// The matcher in force, swapped whole when the school's terms change.
#[derive(Default)]
pub struct Terms(RwLock<Option<Arc<Matcher>>>);

impl Terms {
    pub fn current(&self, store: &Store) -> Arc<Matcher> {
        if let Some(matcher) = self.0.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
            return Arc::clone(matcher);
        }
        let matcher = Arc::new(build(store));
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::clone(&matcher));
        matcher
    }

    /// The school's terms changed: the next scan builds the matcher again.
    pub fn changed(&self) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

fn build(store: &Store) -> Matcher {
    let mut builder = Matcher::built_in();
    match store.school_terms() {
        Ok(terms) => {
            for term in terms {
                let severity = Severity::parse(&term.severity).unwrap_or(Severity::Review);
                if let Err(why) = builder.add(&term.phrase, &term.category.as_str().into(), severity) {
                    warn!(phrase = term.phrase, why, "a school term is not used");
                }
            }
        }
        Err(error) => warn!(%error, "cannot read the school's own terms; the starter lists apply"),
    }
    builder.build()
}

/// One kiosk's newly stored events, as the writer hands them over.
pub struct Stored<'a> {
    pub kiosk_id: &'a str,
    /// The kiosk's number in the log.
    pub machine: i64,
    pub room_id: i64,
    pub events: Vec<(StoredEvent, &'a ActivityEvent)>,
}

/// An alert stored, for the consoles and the mailer once its transaction is committed.
pub struct Raised {
    id: i64,
    room_id: i64,
    urgent: bool,
}

/// Scans newly stored events and stores the alerts they call for, in the transaction that
/// stores the events: a batch is never stored without its alerts.
pub fn scan(
    store: &Store,
    matcher: &Matcher,
    stored: &[Stored<'_>],
    now: u64,
) -> crate::server::store::Result<Vec<Raised>> {
    let mut raised = Vec::new();
    for batch in stored {
        let mut latest_block = None;
        for &(row, event) in &batch.events {
            let text = match &event.what {
                Happening::Searched { terms, url, .. } => format!("{terms}\n{}", decoded_url(url)),
                Happening::Opened { url } => decoded_url(url),
                Happening::Blocked { url, .. } => {
                    latest_block = latest_block.max(Some(event.at));
                    decoded_url(url)
                }
                _ => continue,
            };
            let found = matcher.scan(&text);
            let Some(first) = found.first() else { continue };
            let words = found.iter().map(|term| term.phrase.as_str()).collect::<Vec<_>>().join(", ");
            let shown = match &event.what {
                Happening::Searched { terms, .. } => terms.as_str(),
                Happening::Opened { url } | Happening::Blocked { url, .. } => url.as_str(),
                _ => "",
            };
            let alert = NewAlert {
                activity_id: Some(row.row),
                kiosk_id: batch.kiosk_id,
                room_id: Some(batch.room_id),
                session: &event.session,
                session_id: Some(row.session),
                at: event.at,
                reason: "term",
                category: &first.category,
                severity: first.severity.name(),
                words: &words,
                text: shown,
            };
            raised.push(raise(store, &alert, now)?);
        }
        if let Some(at) = latest_block {
            let (blocks, alerted) =
                store.recent_blocks(batch.machine, batch.kiosk_id, at.saturating_sub(BLOCKS_WINDOW_MS))?;
            if blocks >= BLOCKS_FOR_ALERT && !alerted {
                let words = blocks.to_string();
                let (session, session_id) =
                    batch.events.last().map_or(("", None), |(row, event)| (event.session.as_str(), Some(row.session)));
                let alert = NewAlert {
                    activity_id: None,
                    kiosk_id: batch.kiosk_id,
                    room_id: Some(batch.room_id),
                    session,
                    session_id,
                    at,
                    reason: "repeated-blocks",
                    category: "blocked-attempts",
                    severity: "review",
                    words: &words,
                    text: "",
                };
                raised.push(raise(store, &alert, now)?);
            }
        }
    }
    Ok(raised)
}

fn raise(store: &Store, alert: &NewAlert<'_>, now: u64) -> crate::server::store::Result<Raised> {
    let id = store.add_alert(alert, now)?;
    info!(id, kiosk = alert.kiosk_id, category = alert.category, severity = alert.severity, "alert raised");
    Ok(Raised { id, room_id: alert.room_id.unwrap_or(0), urgent: alert.severity == Severity::Urgent.name() })
}

/// Tells the consoles of alerts now committed, and the mailer of urgent ones.
pub fn announce(server: &Server, raised: &[Raised]) {
    for alert in raised {
        server.console_event(ConsoleEvent {
            kind: "alert",
            id: alert.id.to_string(),
            room: alert.room_id,
            safeguarding: true,
        });
        if alert.urgent {
            server.urgent_alert.notify_one();
        }
    }
}
