//! What one replica tells the others, through PostgreSQL's LISTEN/NOTIFY: a room's rules
//! changed, something new for the consoles, sessions ended. Signals only, a few bytes each:
//! what changed is in the database every replica reads. A replica hears its own signals too
//! and leaves them (it acted on them when it sent them). With SQLite there is one server and
//! no one to tell.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tracing::warn;

use super::{ConsoleEvent, Database, Server};

/// The one channel every replica listens on.
const CHANNEL: &str = "satchel_changes";

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "signal", rename_all = "kebab-case")]
pub(super) enum Signal {
    Rules { room: i64, version: i64 },
    Console { kind: String, id: String, room: i64, safeguarding: bool },
    SessionsEnded,
}

#[derive(Serialize, Deserialize)]
struct Told {
    /// The replica that sent it.
    from: u64,
    #[serde(flatten)]
    signal: Signal,
}

impl Server {
    /// Tells the other replicas; a failure is logged (their kiosks see the change at their
    /// next poll, their consoles at the next page).
    pub(super) fn tell_replicas(&self, signal: Signal) {
        if !self.database.is_shared() {
            return;
        }
        let payload = serde_json::to_string(&Told { from: self.replica, signal }).expect("signals serialise");
        if let Err(error) = self.store().notify(CHANNEL, &payload) {
            warn!(%error, "cannot tell the other replicas of a change");
        }
    }

    fn heard(&self, payload: &str) {
        let told: Told = match serde_json::from_str(payload) {
            Ok(told) => told,
            Err(error) => {
                warn!(%error, payload, "a signal no replica of this version sends");
                return;
            }
        };
        if told.from == self.replica {
            return;
        }
        match told.signal {
            Signal::Rules { room, version } => self.rules_changed_here(room, version),
            Signal::Console { kind, id, room, safeguarding } => {
                let Some(kind) = ["report", "unblock", "alert"].into_iter().find(|known| *known == kind) else {
                    return;
                };
                if kind == "alert" {
                    // The replica that mails may not be the one that raised it.
                    self.urgent_alert.notify_one();
                }
                let _ = self.events.send(ConsoleEvent { kind, id, room, safeguarding });
            }
            Signal::SessionsEnded => self.sessions_ended_here(),
        }
    }

    /// After the listening connection was (re)made: whatever was told while it was down is
    /// read from the database instead.
    fn catch_up(&self) {
        let rooms: Vec<i64> = self.rooms.lock().unwrap_or_else(|p| p.into_inner()).keys().copied().collect();
        for room in rooms {
            match self.store().room_version(room) {
                Ok(version) => self.rules_changed_here(room, version),
                Err(error) => warn!(%error, room, "cannot read a room's rules version"),
            }
        }
        self.sessions_ended_here();
    }
}

/// Listens for the other replicas' signals for as long as the server runs.
pub(super) async fn listen(server: Arc<Server>) {
    let Database::Postgres { url, .. } = &server.database else { return };
    let url = url.clone();
    super::store::listen(&url, CHANNEL, |payload| {
        // The store's calls wait on the database: off the listening task.
        let server = Arc::clone(&server);
        let payload = payload.map(str::to_owned);
        tokio::task::spawn_blocking(move || match payload {
            Some(payload) => server.heard(&payload),
            None => server.catch_up(),
        });
    })
    .await;
}
