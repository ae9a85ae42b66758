//! What the benches share: the real `satchel-server` binary, run on a free loopback port with
//! its own data directory, and its admin commands.
#![allow(dead_code)] // each bench uses part of it

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SERVER: &str = env!("CARGO_BIN_EXE_satchel-server");

pub struct Server {
    child: Child,
    pub port: u16,
    pub data: PathBuf,
    /// Whether the data directory goes with the server (a bench's throwaway one) or stays (a
    /// database built once and used again).
    keep_data: bool,
}

impl Server {
    /// Starts the server on `data`, logging at `log`, and waits until it listens.
    pub fn start(data: &Path, log: &str, keep_data: bool) -> Server {
        Server::start_on(data, &[], log, keep_data)
    }

    /// As [`Server::start`], with the options that give it its database (none: SQLite in
    /// `data`).
    pub fn start_on(data: &Path, database: &[String], log: &str, keep_data: bool) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(SERVER)
            .arg("--data")
            .arg(data)
            .args(database)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("SATCHEL_LOG", log)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Server { child, port, data: data.to_owned(), keep_data }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !self.keep_data {
            let _ = std::fs::remove_dir_all(&self.data);
        }
    }
}

/// Runs `satchel-server --data DATA ARGS…` and returns what it printed.
pub fn admin(data: &Path, args: &[&str]) -> String {
    admin_on(data, &[], args)
}

/// As [`admin`], on the PostgreSQL `database` if one is given.
pub fn admin_on(data: &Path, database: &[String], args: &[&str]) -> String {
    let output = Command::new(SERVER).arg("--data").arg(data).args(database).args(args).output().unwrap();
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}
