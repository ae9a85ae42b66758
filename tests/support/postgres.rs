//! A real PostgreSQL for the server's tests: one cluster per test binary (Debian's `initdb`
//! and `pg_ctl` into a temporary directory, as the unprivileged `postgres` user when the tests
//! run as root), a fresh database for each server, and a watchdog that stops the cluster and
//! removes its directory once the test binary has ended. It offers TLS, with a certificate
//! for 127.0.0.1 from a CA of its own ([`Cluster::ca_file`]).
//!
//! The server suites run against it when `SATCHEL_TEST_DATABASE=postgres` (`make test` runs
//! them once on each engine).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// Whether this run's servers keep their records in PostgreSQL.
pub fn wanted() -> bool {
    std::env::var("SATCHEL_TEST_DATABASE").as_deref() == Ok("postgres")
}

pub struct Cluster {
    dir: PathBuf,
    port: u16,
    bin: PathBuf,
}

/// The newest PostgreSQL Debian installed (`/usr/lib/postgresql/<version>/bin`).
fn binaries() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed (make deps installs Debian's postgresql)")
        .filter_map(|entry| {
            let entry = entry.ok()?;
            Some((entry.file_name().to_str()?.parse().ok()?, entry.path().join("bin")))
        })
        .collect();
    versions.sort();
    versions.pop().expect("a PostgreSQL version under /usr/lib/postgresql").1
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// `program`, as the `postgres` user when we are root (PostgreSQL refuses to run as root).
fn as_postgres(program: &Path) -> Command {
    if running_as_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn run(mut command: Command, what: &str) -> String {
    let output = command.stdin(Stdio::null()).output().unwrap_or_else(|error| panic!("{what}: {error}"));
    assert!(
        output.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The test binary's cluster, started on first use.
pub fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let bin = binaries();
        let dir = std::env::temp_dir().join(format!("satchel-postgres-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        if running_as_root() {
            let mut chown = Command::new("chown");
            chown.arg("postgres:postgres").arg(&dir);
            run(chown, "chown the cluster's directory");
        }
        let data = dir.join("data");
        let mut initdb = as_postgres(&bin.join("initdb"));
        initdb.arg("-D").arg(&data).args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "--locale=C"]);
        run(initdb, "initdb");
        let (certificate, key) = make_certificates(&dir);
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut start = as_postgres(&bin.join("pg_ctl"));
        start.arg("-D").arg(&data).arg("-l").arg(dir.join("log")).arg("-w").arg("-o").arg(format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300 \
             -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
            dir.display(),
            certificate.display(),
            key.display()
        ));
        start.arg("start");
        run(start, "pg_ctl start");
        // Stops the cluster once this test binary has gone, however it ends.
        let watchdog = format!(
            "while [ -d /proc/{pid} ]; do sleep 1; done; {pg_ctl} -D {data} -m immediate stop; rm -rf {dir}",
            pid = std::process::id(),
            pg_ctl = bin.join("pg_ctl").display(),
            data = data.display(),
            dir = dir.display(),
        );
        // In the background of a shell that ends at once: the watchdog outlives this process.
        let detached = format!("({watchdog}) >/dev/null 2>&1 &");
        let mut guard = as_postgres(Path::new("sh"));
        guard.args(["-c", &detached]);
        run(guard, "start the cluster's watchdog");
        Cluster { dir, port, bin }
    })
}

/// A CA (`ca.pem`) and the server's certificate and key it signed, for 127.0.0.1: their paths.
fn make_certificates(dir: &Path) -> (PathBuf, PathBuf) {
    let (ca, issuer) = certificate_authority();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    let server = params.signed_by(&key, &issuer).unwrap();
    let (certificate_file, key_file) = (dir.join("server.crt"), dir.join("server.key"));
    std::fs::write(&certificate_file, server.pem()).unwrap();
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    if running_as_root() {
        let mut chown = Command::new("chown");
        chown.arg("postgres:postgres").arg(&certificate_file).arg(&key_file);
        run(chown, "chown the cluster's certificate");
    }
    (certificate_file, key_file)
}

/// A new CA: its certificate, and the issuer that signs with it.
pub fn certificate_authority() -> (rcgen::Certificate, rcgen::Issuer<'static, rcgen::KeyPair>) {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.distinguished_name.push(rcgen::DnType::CommonName, "Satchel test database CA");
    let key = rcgen::KeyPair::generate().unwrap();
    let certificate = params.self_signed(&key).unwrap();
    (certificate, rcgen::Issuer::new(params, key))
}

impl Cluster {
    /// The CA that signed the cluster's certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// A new, empty database; its URL.
    pub fn new_database(&self) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(1);
        let name = format!("satchel_{}", NEXT.fetch_add(1, Ordering::Relaxed));
        self.psql(&self.url("postgres"), &format!("CREATE DATABASE {name}"));
        self.url(&name)
    }

    /// Runs `sql` with psql and returns what it printed (unaligned, tuples only).
    pub fn psql(&self, url: &str, sql: &str) -> String {
        let mut command = Command::new(self.bin.join("psql"));
        command.args(["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql]);
        run(command, &format!("psql {sql}"))
    }

    /// Restarts the cluster (a fast shutdown: every connection is cut), as an upgrade would.
    pub fn restart(&self) {
        let mut restart = as_postgres(&self.bin.join("pg_ctl"));
        // Its output to the log, as at the start: a postmaster holding our pipe would keep
        // this waiting for ever.
        restart.arg("-D").arg(self.dir.join("data")).arg("-l").arg(self.dir.join("log"));
        restart.args(["-m", "fast", "-w", "restart"]);
        run(restart, "pg_ctl restart");
    }

    /// The cluster's processes: the postmaster and its children (backends, writers).
    pub fn server_pids(&self) -> Vec<u32> {
        let pid_file = std::fs::read_to_string(self.dir.join("data/postmaster.pid")).unwrap_or_default();
        let Some(postmaster) = pid_file.lines().next().and_then(|line| line.trim().parse::<u32>().ok()) else {
            return Vec::new();
        };
        let children = std::fs::read_dir("/proc").into_iter().flatten().flatten().filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // The parent is the second field after the command's closing parenthesis.
            let parent: u32 = stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()?;
            (parent == postmaster).then_some(pid)
        });
        std::iter::once(postmaster).chain(children).collect()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }
}
