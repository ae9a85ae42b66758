//! The messages between a kiosk and its school server, as types both sides use, so a renamed
//! field fails to compile instead of failing in a classroom. `docs/api.md` describes each one
//! (and `tests/api_doc.rs` checks that its examples are these types, field for field). The
//! rules bundle itself is [`crate::bundle`]'s: [`Bundle`](crate::bundle::Bundle), signed as a
//! [`Signed`](crate::bundle::Signed).
//!
//! The wire format outlives any one version: a kiosk not yet upgraded, and an outbox written
//! before an upgrade, must still be read. Fields added later are optional.
//!
//! **Activity** is what the safeguarding lead monitors: each kiosk numbers the events of its
//! pupils' browsing in one sequence per local **log** (a log is created once per kiosk
//! install), ships them in batches, and the server stores each (kiosk, log, sequence) once, so
//! a batch sent twice is harmless.

use serde::{Deserialize, Serialize};

/// `POST` an [`EnrolRequest`]; the answer is an [`Enrolment`].
pub const ENROL_PATH: &str = "/api/v1/enrol";
/// `GET` with [`RulesQuery`]: a [`Signed`](crate::bundle::Signed) bundle.
pub const RULES_PATH: &str = "/api/v1/rules";
/// `POST` a [`Report`]; the answer is [`Received`].
pub const REPORTS_PATH: &str = "/api/v1/reports";
/// `POST` a [`FeelingRequest`] for the report `{id}` (see [`feeling_path`]).
pub const FEELING_PATH: &str = "/api/v1/reports/{id}/feeling";
/// `POST` an [`UnblockRequest`]; the answer is [`Received`].
pub const UNBLOCK_PATH: &str = "/api/v1/unblock";
/// `POST` a [`Heartbeat`].
pub const HEARTBEAT_PATH: &str = "/api/v1/heartbeat";

pub fn feeling_path(report: &str) -> String {
    FEELING_PATH.replace("{id}", report)
}

/// Every refusal's body, beside its status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// One sentence saying what is wrong.
    pub error: String,
}

/// A one-time code traded for the kiosk's identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolRequest {
    pub code: String,
    /// The machine's name in the console.
    pub name: String,
}

/// What a good code gives a kiosk: who it is, its token, and the key its rules are signed with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolment {
    pub kiosk_id: String,
    pub token: String,
    /// The server's ed25519 public key, base64 (see [`crate::keys`]).
    pub public_key: String,
    pub room: String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RulesQuery {
    /// How long the server may hold the request for a change (seconds; it caps this).
    #[serde(default)]
    pub wait: u64,
}

/// Tell my teacher: a report, under the id the kiosk's outbox gave it so a repeat is
/// recognised.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub id: String,
    #[serde(flatten)]
    pub content: ReportContent,
}

/// What a report says: the page as the pupil saw it, and what was in force. The outbox keeps
/// exactly this until the server has it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportContent {
    /// Unix seconds, by the kiosk's clock.
    pub happened_at: u64,
    pub url: String,
    pub title: String,
    /// `scary`, `rude`, `sad` or `other`; the server drops any other word. Kiosks send the
    /// feeling on its own ([`FeelingRequest`]), after the report.
    #[serde(default)]
    pub feeling: Option<String>,
    #[serde(default)]
    pub profile: Option<String>,
    #[serde(default)]
    pub lesson: Option<String>,
    #[serde(default)]
    pub rules_version: Option<u64>,
    /// The content view as a PNG, base64; none when it could not be taken or kept.
    #[serde(default)]
    pub screenshot: Option<String>,
}

/// The server has an item the kiosk sent under its own id (a report, an unblock request).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Received {
    pub id: String,
    pub stored: bool,
    /// For a report's first delivery: whether its screenshot was kept (not when over the quota
    /// or at the disk floor). A repeat's answer leaves it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screenshot_kept: Option<bool>,
}

/// The feeling a pupil picked after telling: `scary`, `rude`, `sad` or `other`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeelingRequest {
    pub feeling: String,
}

/// Ask my teacher: a pupil asked for this page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnblockRequest {
    pub id: String,
    pub url: String,
    /// Unix seconds, by the kiosk's clock.
    pub requested_at: u64,
}

/// A kiosk's state, once a minute, for the Machines page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// The rules bundle in force (0: none yet).
    pub rules_version: u64,
    /// When the server last answered a rules request (Unix seconds); none yet.
    pub last_sync: Option<u64>,
    /// `active` while a pupil uses the kiosk, else `idle`.
    pub state: String,
    #[serde(default)]
    pub satchel_version: Option<String>,
    /// Items waiting in the kiosk's outbox, and items it set aside as undeliverable.
    #[serde(default)]
    pub outbox_waiting: Option<u64>,
    #[serde(default)]
    pub outbox_damaged: Option<u64>,
}

/// One file in the kiosk's outbox (`<kind>-<id>.json`): what waits to reach the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxItem {
    /// A UUID: the id the server knows the item by, so a repeat is harmless.
    pub id: String,
    /// Unix seconds when the kiosk stored it.
    pub created: u64,
    #[serde(flatten)]
    pub what: Outgoing,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Outgoing {
    /// Sent as a [`Report`] under the item's id.
    Report(ReportContent),
    /// Sent as an [`UnblockRequest`] under the item's id, requested when it was stored.
    Unblock { url: String },
    /// Sent as a [`FeelingRequest`] for the report with this id.
    Feeling { report: String, feeling: String },
}

impl Outgoing {
    /// The `kind` an item is stored under, which starts its file's name.
    pub fn kind(&self) -> &'static str {
        match self {
            Outgoing::Report(_) => "report",
            Outgoing::Unblock { .. } => "unblock",
            Outgoing::Feeling { .. } => "feeling",
        }
    }
}

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
    SessionEnd {
        reason: SessionEnd,
    },
    /// A page opened in the main frame.
    Opened {
        url: String,
    },
    /// The title of the page just opened, once the page has one.
    Titled {
        url: String,
        title: String,
    },
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
    Searched {
        engine: String,
        terms: String,
        url: String,
    },
    /// Tell my teacher: the report's id.
    Told {
        url: String,
        report: String,
    },
    /// Ask my teacher: the ask's id.
    Asked {
        url: String,
        ask: String,
    },
    /// Requests a page made to a host that is not allowed, counted rather than listed.
    SubresourcesBlocked {
        page: String,
        host: String,
        count: u32,
    },
    /// The kiosk's log was full (the server away for weeks): this many older events were lost.
    Dropped {
        count: u64,
    },
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
        let event = ActivityEvent {
            seq: 7,
            at: 1_795_000_000_123,
            session: "s-1".into(),
            lesson: Some("Minibeasts".into()),
            what,
        };
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
        round_trip(Happening::Blocked {
            url: "https://b.test/".into(),
            rule: Some("b.test (ks1.list:3)".into()),
            category: None,
            reason: "blocked by the list".into(),
        });
        round_trip(Happening::Blocked {
            url: "https://c.test/".into(),
            rule: None,
            category: Some("gambling".into()),
            reason: "in a category".into(),
        });
        round_trip(Happening::Searched {
            engine: "google".into(),
            terms: "dinosaurs".into(),
            url: "https://www.google.co.uk/search?q=dinosaurs".into(),
        });
        round_trip(Happening::Told { url: "https://a.test/".into(), report: "r-1".into() });
        round_trip(Happening::Asked { url: "https://b.test/".into(), ask: "a-1".into() });
        round_trip(Happening::SubresourcesBlocked {
            page: "https://a.test/".into(),
            host: "ads.test".into(),
            count: 12,
        });
        round_trip(Happening::Dropped { count: 40 });
    }

    #[test]
    fn batches_and_acks_survive_the_wire() {
        let batch =
            ActivityBatch { log: "l-1".into(), events: vec![serde_json::json!({ "seq": 1, "kind": "session-start" })] };
        assert_eq!(serde_json::from_str::<ActivityBatch>(&serde_json::to_string(&batch).unwrap()).unwrap(), batch);
        assert_eq!(serde_json::from_str::<ActivityAck>(r#"{"through":41}"#).unwrap(), ActivityAck { through: 41 });
    }

    fn survives<T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(message: T) {
        let json = serde_json::to_string(&message).unwrap();
        assert_eq!(serde_json::from_str::<T>(&json).unwrap(), message, "{json}");
    }

    fn report() -> ReportContent {
        ReportContent {
            happened_at: 1_795_440_657,
            url: "https://a.test/".into(),
            title: "A & B".into(),
            feeling: None,
            profile: Some("KS1".into()),
            lesson: Some("Phonics".into()),
            rules_version: Some(12),
            screenshot: Some("iVBORw0KGgo=".into()),
        }
    }

    #[test]
    fn every_kiosk_api_message_survives_the_wire() {
        survives(ErrorBody { error: "this needs an enrolled kiosk's token".into() });
        survives(EnrolRequest { code: "CV4N2LYDPPSR".into(), name: "PC-01".into() });
        survives(Enrolment {
            kiosk_id: "k-1".into(),
            token: "6aff".into(),
            public_key: "a2V5".into(),
            room: "Class 1".into(),
        });
        survives(RulesQuery { wait: 30 });
        survives(Report { id: "r-1".into(), content: report() });
        survives(Report {
            id: "r-2".into(),
            content: ReportContent {
                feeling: Some("scary".into()),
                profile: None,
                lesson: None,
                rules_version: None,
                screenshot: None,
                ..report()
            },
        });
        survives(Received { id: "r-1".into(), stored: true, screenshot_kept: Some(false) });
        survives(Received { id: "r-1".into(), stored: true, screenshot_kept: None });
        survives(FeelingRequest { feeling: "sad".into() });
        survives(UnblockRequest { id: "a-1".into(), url: "https://games.test/".into(), requested_at: 1_795_440_657 });
        let beat = Heartbeat {
            rules_version: 12,
            last_sync: Some(1_795_440_657),
            state: "active".into(),
            satchel_version: Some("0.1.0".into()),
            outbox_waiting: Some(2),
            outbox_damaged: Some(0),
        };
        survives(beat.clone());
        survives(Heartbeat {
            last_sync: None,
            satchel_version: None,
            outbox_waiting: None,
            outbox_damaged: None,
            ..beat
        });
    }

    #[test]
    fn every_outbox_item_survives_the_disk_under_its_kind() {
        let items = [
            Outgoing::Report(report()),
            Outgoing::Unblock { url: "https://games.test/".into() },
            Outgoing::Feeling { report: "r-1".into(), feeling: "rude".into() },
        ];
        for what in items {
            let item = OutboxItem { id: "i-1".into(), created: 1_795_440_657, what };
            let json = serde_json::to_value(&item).unwrap();
            assert_eq!(json["kind"], item.what.kind(), "{json}");
            assert_eq!(json["id"], "i-1");
            survives(item);
        }
    }

    /// Kiosks not yet upgraded send these; outboxes written before an upgrade hold these.
    #[test]
    fn what_older_kiosks_wrote_still_reads() {
        let beat: Heartbeat =
            serde_json::from_str(r#"{"rules_version": 3, "last_sync": null, "state": "idle"}"#).unwrap();
        assert_eq!((beat.rules_version, beat.last_sync, beat.outbox_waiting), (3, None, None));
        // A report body as the outbox's item was sent whole: its kind and time stored come too.
        let sent = r#"{"id": "r-1", "kind": "report", "created": 1795440650, "happened_at": 1795440657, "url": "https://a.test/",
                       "title": "A", "profile": "built-in", "lesson": null, "rules_version": null, "screenshot": null}"#;
        let report: Report = serde_json::from_str(sent).unwrap();
        assert_eq!(
            (report.id.as_str(), report.content.profile.as_deref(), report.content.screenshot),
            ("r-1", Some("built-in"), None)
        );
        let item: OutboxItem = serde_json::from_str(sent).unwrap();
        assert!(matches!(item.what, Outgoing::Report(ReportContent { happened_at: 1_795_440_657, .. })), "{item:?}");
        let bare: OutboxItem = serde_json::from_str(
            r#"{"id": "r-2", "kind": "report", "created": 1, "happened_at": 1, "url": "u", "title": "t"}"#,
        )
        .unwrap();
        assert!(matches!(bare.what, Outgoing::Report(ReportContent { profile: None, screenshot: None, .. })));
        let ask: OutboxItem = serde_json::from_str(
            r#"{"id": "a-1", "kind": "unblock", "created": 1795440657, "url": "http://a.test/?x=1&y=2"}"#,
        )
        .unwrap();
        assert_eq!(ask.what, Outgoing::Unblock { url: "http://a.test/?x=1&y=2".into() });
        let feeling: OutboxItem = serde_json::from_str(
            r#"{"id": "f-1", "kind": "feeling", "created": 1795440657, "report": "r-1", "feeling": "sad"}"#,
        )
        .unwrap();
        assert_eq!(feeling.what, Outgoing::Feeling { report: "r-1".into(), feeling: "sad".into() });
    }

    #[test]
    fn an_outbox_item_of_no_known_kind_or_missing_a_field_does_not_read() {
        for text in [
            r#"{"id": "x", "kind": "parcel", "created": 1}"#,
            r#"{"id": "f", "kind": "feeling", "created": 1, "feeling": "sad"}"#,
            r#"{"id": "u", "created": 1, "url": "u"}"#,
        ] {
            assert!(serde_json::from_str::<OutboxItem>(text).is_err(), "{text}");
        }
    }

    #[test]
    fn an_event_without_a_lesson_leaves_the_field_out() {
        let event = ActivityEvent { seq: 1, at: 2, session: "s".into(), lesson: None, what: Happening::SessionStart };
        assert_eq!(serde_json::to_string(&event).unwrap(), r#"{"seq":1,"at":2,"session":"s","kind":"session-start"}"#);
    }
}
