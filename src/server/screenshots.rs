//! Where the server keeps screenshots, behind one interface: files in the data directory's
//! `screenshots/` for a single school on SQLite (the disk floor guards them), or rows of the
//! PostgreSQL database for a trust's replicas, which share no disk. In the database, one
//! `pg_dump` holds every report with its evidence, and a replica that takes a report shows
//! its picture to a console on any other; each kiosk's quota bounds what it can add.

use super::Server;

impl Server {
    fn in_database(&self) -> bool {
        self.database.is_shared()
    }

    /// Keeps a screenshot under `name` (made by the server from a checked report id);
    /// `false` when the disk is at its floor and it cannot be kept. Blocking.
    pub(super) fn put_screenshot(&self, name: &str, png: &[u8]) -> std::io::Result<bool> {
        if self.in_database() {
            self.store().put_screenshot(name, png).map_err(std::io::Error::other)?;
            return Ok(true);
        }
        if !self.make_room(png.len() as u64) {
            return Ok(false);
        }
        crate::durable::write_durably(&self.data.join("screenshots").join(name), png).map(|()| true)
    }

    /// The screenshot kept under `name`, if it is still there. Blocking.
    pub(super) fn screenshot(&self, name: &str) -> std::io::Result<Option<Vec<u8>>> {
        if self.in_database() {
            return self.store().screenshot(name).map_err(std::io::Error::other);
        }
        match std::fs::read(self.data.join("screenshots").join(name)) {
            Ok(png) => Ok(Some(png)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Deletes screenshots by the names the database held (empty: the report had none).
    pub(super) fn remove_screenshots(&self, names: &[String]) {
        for name in names.iter().filter(|name| !name.is_empty()) {
            if self.in_database() {
                if let Err(error) = self.store().remove_screenshot(name) {
                    tracing::warn!(%error, name, "cannot remove a screenshot");
                }
            } else {
                let _ = std::fs::remove_file(self.data.join("screenshots").join(name));
            }
        }
    }

    /// Whether the data directory's disk holds the screenshots (and so needs its floor).
    pub fn keeps_screenshots_on_disk(&self) -> bool {
        !self.in_database()
    }
}
