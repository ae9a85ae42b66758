//! Every locale carries exactly the message ids of en-GB, file by file, so no pupil ever
//! meets a missing sentence.

use std::collections::BTreeSet;
use std::path::Path;

fn message_ids(ftl: &str) -> BTreeSet<String> {
    ftl.lines()
        .filter(|line| line.starts_with(|c: char| c.is_ascii_lowercase()))
        .filter_map(|line| line.split_once('=').map(|(id, _)| id.trim().to_owned()))
        .collect()
}

#[test]
fn every_locale_has_the_same_message_ids_as_en_gb() {
    let locales = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
    let reference = locales.join("en-GB");
    let mut compared = 0;
    for file in std::fs::read_dir(&reference).unwrap() {
        let file = file.unwrap().path();
        let name = file.file_name().unwrap();
        let expected = message_ids(&std::fs::read_to_string(&file).unwrap());
        assert!(!expected.is_empty(), "{} has messages", file.display());
        for locale in std::fs::read_dir(&locales).unwrap() {
            let dir = locale.unwrap().path();
            let Ok(text) = std::fs::read_to_string(dir.join(name)) else { continue };
            assert_eq!(message_ids(&text), expected, "{} against en-GB", dir.join(name).display());
            compared += 1;
        }
    }
    assert!(compared >= 5, "en-GB, cy, pl, ur and ar pupil pages compared");
}
