//! The messages between a kiosk and its school server, as types both sides use, so a renamed
//! field fails to compile instead of failing in a classroom. `docs/api.md` describes each one.
//!
//! **Activity** is what the safeguarding lead monitors: each kiosk numbers the events of its
//! pupils' browsing in one sequence per local **log** (a log is created once per kiosk
//! install), ships them in batches, and the server stores each (kiosk, log, sequence) once, so
//! a batch sent twice is harmless.

use serde::{Deserialize, Serialize};

/// `POST` a gzip-compressed [`ActivityBatch`]; the answer is an [`ActivityAck`].
pub const ACTIVITY_PATH: &str = "/api/v1/activity";

/// Events in sequence order, at most [`ACTIVITY_BATCH_EVENTS`] of them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityBatch {
    /// The kiosk's local log (a UUID): sequences count from 1 in each.
    pub log: String,
    /// Each event as JSON: the server takes the ones it can read and counts the others, so one
    /// event it does not know never holds back the rest.
    pub events: Vec<serde_json::Value>,
}

pub const ACTIVITY_BATCH_EVENTS: usize = 1_000;

/// The server has stored every event of the batch up to and including this sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityAck {
    pub through: u64,
}

/// One thing that happened on a kiosk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityEvent {
    pub seq: u64,
    /// Unix time in milliseconds, by the kiosk's clock.
    pub at: u64,
    /// One pupil's sitting: from the kiosk's start or the last reset to the next.
    pub session: String,
    /// The lesson running when it happened, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lesson: Option<String>,
    #[serde(flatten)]
    pub what: Happening,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Happening {
    SessionStart,
    SessionEnd { reason: SessionEnd },
    /// A page opened in the main frame.
    Opened { url: String },
    /// The title of the page just opened, once the page has one.
    Titled { url: String, title: String },
    /// A page the pupil could not open: the rule that decided (as written in its list, with
    /// its file and line) or the category, and the reason in words.
    Blocked {
        url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rule: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        category: Option<String>,
        reason: String,
    },
    /// A search, with the words as the pupil typed them.
    Searched { engine: String, terms: String, url: String },
    /// Tell my teacher: the report's id.
    Told { url: String, report: String },
    /// Ask my teacher: the ask's id.
    Asked { url: String, ask: String },
    /// Requests a page made to a host that is not allowed, counted rather than listed.
    SubresourcesBlocked { page: String, host: String, count: u32 },
    /// The kiosk's log was full (the server away for weeks): this many older events were lost.
    Dropped { count: u64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SessionEnd {
    /// Nobody touched the kiosk for the idle time.
    Idle,
    /// The pupil pressed Home on one of Satchel's pages.
    Home,
    /// Tell my teacher covered the page.
    Told,
    /// The lesson ended.
    LessonEnded,
    /// The teacher left the kiosk with the exit PIN.
    Exit,
}

impl Happening {
    /// The name the API and the console use for this kind of event.
    pub fn kind(&self) -> &'static str {
        match self {
            Happening::SessionStart => "session-start",
            Happening::SessionEnd { .. } => "session-end",
            Happening::Opened { .. } => "opened",
            Happening::Titled { .. } => "titled",
            Happening::Blocked { .. } => "blocked",
            Happening::Searched { .. } => "searched",
            Happening::Told { .. } => "told",
            Happening::Asked { .. } => "asked",
            Happening::SubresourcesBlocked { .. } => "subresources-blocked",
            Happening::Dropped { .. } => "dropped",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(what: Happening) {
        let event = ActivityEvent { seq: 7, at: 1_795_000_000_123, session: "s-1".into(), lesson: Some("Minibeasts".into()), what };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["kind"], event.what.kind(), "{json}");
        assert_eq!(serde_json::from_value::<ActivityEvent>(json).unwrap(), event);
    }

    #[test]
    fn every_activity_event_survives_the_wire() {
        round_trip(Happening::SessionStart);
        round_trip(Happening::SessionEnd { reason: SessionEnd::LessonEnded });
        round_trip(Happening::Opened { url: "https://www.bbc.co.uk/bitesize".into() });
        round_trip(Happening::Titled { url: "https://a.test/".into(), title: "A & B <c>".into() });
        round_trip(Happening::Blocked { url: "https://b.test/".into(), rule: Some("b.test (ks1.list:3)".into()), category: None, reason: "blocked by the list".into() });
        round_trip(Happening::Blocked { url: "https://c.test/".into(), rule: None, category: Some("gambling".into()), reason: "in a category".into() });
        round_trip(Happening::Searched { engine: "google".into(), terms: "dinosaurs".into(), url: "https://www.google.co.uk/search?q=dinosaurs".into() });
        round_trip(Happening::Told { url: "https://a.test/".into(), report: "r-1".into() });
        round_trip(Happening::Asked { url: "https://b.test/".into(), ask: "a-1".into() });
        round_trip(Happening::SubresourcesBlocked { page: "https://a.test/".into(), host: "ads.test".into(), count: 12 });
        round_trip(Happening::Dropped { count: 40 });
    }

    #[test]
    fn batches_and_acks_survive_the_wire() {
        let batch = ActivityBatch { log: "l-1".into(), events: vec![serde_json::json!({ "seq": 1, "kind": "session-start" })] };
        assert_eq!(serde_json::from_str::<ActivityBatch>(&serde_json::to_string(&batch).unwrap()).unwrap(), batch);
        assert_eq!(serde_json::from_str::<ActivityAck>(r#"{"through":41}"#).unwrap(), ActivityAck { through: 41 });
    }

    #[test]
    fn an_event_without_a_lesson_leaves_the_field_out() {
        let event = ActivityEvent { seq: 1, at: 2, session: "s".into(), lesson: None, what: Happening::SessionStart };
        assert_eq!(serde_json::to_string(&event).unwrap(), r#"{"seq":1,"at":2,"session":"s","kind":"session-start"}"#);
    }
}
