//! The kiosk's outbox: what must reach the school server (a pupil's report, an unblock
//! request, a feeling), one file per item ([`OutboxItem`]), written durably (temporary file,
//! fsync, rename, fsync of the directory) before the pupil is told anything, so a power cut
//! loses nothing once they are.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::durable::{new_uuid, unix_now, write_durably};
use crate::protocol::{OutboxItem, Outgoing};

pub struct Outbox {
    dir: PathBuf,
}

impl Outbox {
    pub fn new(dir: impl Into<PathBuf>) -> Outbox {
        Outbox { dir: dir.into() }
    }

    /// Stores one item and returns its id, a UUID the server uses to recognise a repeat. When
    /// this returns, the item survives a crash.
    pub fn put(&self, what: Outgoing) -> io::Result<String> {
        fs::create_dir_all(&self.dir)?;
        let item = OutboxItem { id: new_uuid()?, created: unix_now(), what };
        write_durably(&self.dir.join(format!("{}-{}.json", item.what.kind(), item.id)), &serde_json::to_vec(&item)?)?;
        Ok(item.id)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_is_one_complete_file_named_by_kind_and_id() {
        let dir = std::env::temp_dir().join(format!("satchel-outbox-{}", std::process::id()));
        let outbox = Outbox::new(&dir);
        let id = outbox.put(Outgoing::Unblock { url: "http://a.test/?x=1&y=2".into() }).unwrap();
        let names: Vec<_> =
            fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        assert_eq!(names, vec![format!("unblock-{id}.json")], "no temporary file is left behind");
        let item: serde_json::Value = serde_json::from_slice(&fs::read(dir.join(&names[0])).unwrap()).unwrap();
        assert_eq!(item["kind"], "unblock");
        assert_eq!(item["id"], id.as_str());
        assert_eq!(item["url"], "http://a.test/?x=1&y=2");
        fs::remove_dir_all(dir).unwrap();
    }
}
