//! What outlives the process: files written so a crash leaves them whole or absent, ids that
//! never repeat, and the wall clock's time for what is stored or sent.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// Writes a file so that after a crash it is either absent or whole: a temporary file beside
/// it (hidden, so a reader listing the folder never takes it for an item), fsync, rename,
/// fsync of the folder. Readable by its owner only: these are pupils' screenshots, tokens.
pub fn write_durably(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    // Its own temporary name, so that two writers of one file never share one.
    let temporary = dir.join(format!(".{name}.{}.tmp", new_uuid()?));
    let written = (|| {
        let mut file = fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    })();
    if written.is_err() {
        // A full disk must not fill up further with half-written copies.
        let _ = fs::remove_file(&temporary);
    }
    written?;
    File::open(dir)?.sync_all()
}

/// A random (version 4) UUID.
pub fn new_uuid() -> io::Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(io::Error::other)?;
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]))
}

/// Unix seconds by this machine's clock (0 for a clock before 1970).
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_that_fails_leaves_no_half_written_copy() {
        let dir = std::env::temp_dir().join(format!("satchel-outbox-failed-{}", std::process::id()));
        // A folder where the file should go: the rename fails after the data was written.
        fs::create_dir_all(dir.join("taken")).unwrap();
        assert!(write_durably(&dir.join("taken"), b"a screenshot").is_err());
        let names: Vec<_> =
            fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        assert_eq!(names, vec!["taken".to_owned()], "no temporary file is left behind");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn ids_are_version_4_uuids_and_differ() {
        let (a, b) = (new_uuid().unwrap(), new_uuid().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
    }
}
