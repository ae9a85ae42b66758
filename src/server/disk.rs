//! The disk floor (`--disk-floor-mb`): free space the server keeps on the disk of its data
//! directory, so that screenshots can never fill the disk under the database (then no room
//! could report and no one could sign in). Below the floor the oldest screenshots go, never
//! one of a report staff have worked on; the reports themselves stay, and new reports are
//! stored without their screenshots until there is room again.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tracing::warn;

use super::{now, Server};

pub const DEFAULT_FLOOR_MB: u64 = 500;
/// How often the floor is checked besides at each screenshot: other files grow too.
const CHECK_EVERY: Duration = Duration::from_secs(60);
/// Screenshots removed between two measurements of the free space.
const BATCH: usize = 20;

/// The space an unprivileged writer may still use on the file system holding `dir`, in bytes.
pub fn free_bytes(dir: &Path) -> io::Result<u64> {
    let path = CString::new(dir.as_os_str().as_bytes()).map_err(io::Error::other)?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `path` is NUL-terminated and outlives the call; statvfs fills `stat` when it
    // returns 0, and only then is `stat` read.
    let stat = unsafe {
        if libc::statvfs(path.as_ptr(), stat.as_mut_ptr()) != 0 {
            return Err(io::Error::last_os_error());
        }
        stat.assume_init()
    };
    // Both are 32 bits wide on some systems.
    #[allow(clippy::useless_conversion)]
    let free = u64::from(stat.f_bavail).saturating_mul(u64::from(stat.f_frsize));
    Ok(free)
}

impl Server {
    pub fn set_disk_floor_mb(&self, megabytes: u64) {
        self.disk_floor.store(megabytes.saturating_mul(1024 * 1024), Ordering::Relaxed);
    }

    /// Makes room for `bytes` more above the floor, removing the oldest screenshots that may
    /// go, and says whether there is room. Free space that cannot be measured counts as none:
    /// no new screenshot is kept, and nothing is removed. Blocking (it deletes files), one at a
    /// time.
    pub(super) fn make_room(&self, bytes: u64) -> bool {
        let _one_at_a_time = self.disk_guard.lock().unwrap_or_else(|p| p.into_inner());
        let needed = self.disk_floor.load(Ordering::Relaxed).saturating_add(bytes);
        let mut removed = 0;
        let room = loop {
            match free_bytes(&self.data) {
                Ok(free) if free >= needed => break true,
                Ok(_) => {}
                Err(error) => {
                    warn!(%error, "cannot measure the free disk space: new screenshots are not kept");
                    break false;
                }
            }
            let oldest = match self.store().oldest_screenshots(BATCH) {
                Ok(oldest) => oldest,
                Err(error) => {
                    warn!(%error, "cannot list screenshots to remove");
                    break false;
                }
            };
            // Forgotten by the database first: a file left behind wastes space, a missing one
            // would break a reveal.
            let dropped: Vec<String> = oldest
                .into_iter()
                .filter(|(report, _)| self.store().drop_screenshot(report, "disk").is_ok())
                .map(|(_, name)| name)
                .collect();
            if dropped.is_empty() {
                break false;
            }
            removed += dropped.len();
            self.remove_screenshots(&dropped);
        };
        if removed > 0 {
            let floor = self.disk_floor.load(Ordering::Relaxed) / (1024 * 1024);
            warn!(removed, floor_mb = floor, "disk below its floor: oldest screenshots removed, their reports kept");
            let _ = self.store().audit(
                None,
                "disk-floor",
                &format!("{removed} oldest screenshots removed (their reports kept) to keep {floor} MB free"),
                now(),
            );
        }
        room
    }

    /// Checks the floor now and every minute.
    pub async fn keep_disk_floor(self: Arc<Self>) {
        loop {
            let server = Arc::clone(&self);
            let _ = tokio::task::spawn_blocking(move || server.make_room(0)).await;
            tokio::time::sleep(CHECK_EVERY).await;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn free_space_is_measured_and_a_missing_folder_is_an_error() {
        assert!(super::free_bytes(&std::env::temp_dir()).unwrap() > 0);
        assert!(super::free_bytes(std::path::Path::new("/no/such/folder")).is_err());
    }
}
