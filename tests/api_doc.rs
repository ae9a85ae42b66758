//! `docs/api.md` is what a school's other software (and the next engineer) reads of the kiosk
//! API, so its examples must be the messages the code sends: each JSON example is read as its
//! type and written back, and must come back the same, every field named and none extra.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use satchel::bundle::{Bundle, Signed};
use satchel::protocol::{
    ActivityAck, ActivityBatch, ActivityEvent, EnrolRequest, Enrolment, ErrorBody, FeelingRequest, Heartbeat, Received,
    Report, UnblockRequest,
};

/// Reads `json` as a `T` and back; what comes back must be what the document shows.
fn is<T: Serialize + DeserializeOwned>(json: &str) -> Result<(), String> {
    let shown: Value = serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
    let read: T =
        serde_json::from_value(shown.clone()).map_err(|e| format!("not a {}: {e}", std::any::type_name::<T>()))?;
    let written = serde_json::to_value(&read).expect("a message serialises");
    if written == shown {
        Ok(())
    } else {
        Err(format!(
            "not every field of {} as the code writes it:\n shown:   {shown}\n written: {written}",
            std::any::type_name::<T>()
        ))
    }
}

/// An activity batch, and each of its events as an [`ActivityEvent`].
fn is_batch(json: &str) -> Result<(), String> {
    is::<ActivityBatch>(json)?;
    let batch: ActivityBatch = serde_json::from_str(json).expect("read just now");
    batch.events.iter().try_for_each(|event| is::<ActivityEvent>(&event.to_string()))
}

type Check = fn(&str) -> Result<(), String>;

/// Each section of the document (by its heading; "" before the first) and its examples' types,
/// in order.
const SECTIONS: &[(&str, &[Check])] = &[
    ("", &[is::<ErrorBody>]),
    ("## `POST /api/v1/enrol`", &[is::<EnrolRequest>, is::<Enrolment>]),
    ("## `GET /api/v1/rules[?wait=N]`", &[is::<Signed>, is::<Bundle>]),
    ("## `POST /api/v1/reports`", &[is::<Report>, is::<Received>]),
    ("## `POST /api/v1/reports/{id}/feeling`", &[is::<FeelingRequest>]),
    ("## `POST /api/v1/unblock`", &[is::<UnblockRequest>, is::<Received>]),
    ("## `POST /api/v1/heartbeat`", &[is::<Heartbeat>]),
    ("## `POST /api/v1/activity`", &[is_batch, is::<ActivityAck>]),
];

/// The JSON examples of each `## ` section, in order.
fn examples(text: &str) -> Vec<(String, Vec<String>)> {
    let mut sections = vec![(String::new(), Vec::new())];
    let mut block: Option<String> = None;
    for line in text.lines() {
        match (&mut block, line.trim_end()) {
            (None, "```json") => block = Some(String::new()),
            (Some(json), "```") => {
                sections.last_mut().expect("one section at least").1.push(std::mem::take(json));
                block = None;
            }
            (Some(json), _) => {
                json.push_str(line);
                json.push('\n');
            }
            (None, heading) if heading.starts_with("## ") => sections.push((heading.to_owned(), Vec::new())),
            (None, _) => {}
        }
    }
    sections
}

#[test]
fn every_example_in_the_api_document_is_its_message_field_for_field() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/api.md")).unwrap();
    let mut wrong = Vec::new();
    let found = examples(&text);
    for (heading, blocks) in &found {
        let checks = SECTIONS.iter().find(|(name, _)| name == heading).map_or(&[][..], |(_, checks)| checks);
        if blocks.len() != checks.len() {
            wrong.push(format!(
                "{heading:?}: {} JSON examples, but {} types to check them against: update SECTIONS",
                blocks.len(),
                checks.len()
            ));
            continue;
        }
        for (number, (json, check)) in blocks.iter().zip(checks.iter()).enumerate() {
            if let Err(why) = check(json) {
                wrong.push(format!("{heading:?}, example {}: {why}", number + 1));
            }
        }
    }
    for (name, _) in SECTIONS {
        if !found.iter().any(|(heading, _)| heading == name) {
            wrong.push(format!("no section {name:?} in docs/api.md"));
        }
    }
    assert!(wrong.is_empty(), "docs/api.md has drifted from src/protocol.rs:\n{}", wrong.join("\n"));
}
