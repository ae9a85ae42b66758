//! `satchel-server`: the school server. With no command it serves the kiosk API and the
//! teacher console; the commands are the technician's.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use satchel::server::{self, Database, Server, DEFAULT_DATA, DEFAULT_LISTEN};

#[derive(Parser)]
#[command(
    name = "satchel-server",
    version,
    about = "Satchel's school server: lesson site lists, signed rules, the report inbox"
)]
struct Cli {
    /// The data directory: database, signing key, screenshots. Created on first start.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DATA, global = true)]
    data: PathBuf,
    /// A PostgreSQL database (`postgres://user:password@host/database`) instead of SQLite in
    /// the data directory: for a trust's replicas, which share it. The data directory still
    /// holds the signing key, the TLS files and screenshots. Best given in the environment
    /// (server.env), where `ps` does not show its password.
    #[arg(long, value_name = "URL", global = true, env = "SATCHEL_DATABASE", hide_env_values = true)]
    database: Option<String>,
    /// Connections to PostgreSQL this replica's requests share (it also keeps three of its
    /// own: the activity log's reader and writer, and the listener). Mind the database's
    /// `max_connections` across every replica.
    #[arg(long, value_name = "N", global = true, default_value_t = server::POSTGRES_CONNECTIONS)]
    database_connections: usize,
    #[command(subcommand)]
    command: Option<Command>,
    /// Where to listen. Any address but loopback is served over HTTPS.
    #[arg(long, value_name = "ADDRESS", default_value = DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// Reports and their screenshots are deleted after this many days (at least 1).
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u64).range(1..))]
    retention_days: u64,
    /// Pupils' browsing activity (pages opened, blocked, searched for) is deleted after this
    /// many days (at least 1); set it from the school's own policy.
    #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(u64).range(1..))]
    activity_retention_days: u64,
    /// The school's SMTP relay, for alerts e-mailed to the safeguarding leads: smtp://host:25,
    /// smtp://user:password@host:587?tls=required or smtps://host:465. Without it, alerts show
    /// in the console only.
    #[arg(long, value_name = "URL", requires = "smtp_from")]
    smtp_url: Option<String>,
    /// The address alert e-mails come from.
    #[arg(long, value_name = "ADDRESS", requires = "smtp_url")]
    smtp_from: Option<String>,
    /// The hour (0-23, UTC) the daily digest of review alerts is e-mailed.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(0..24))]
    digest_hour: u64,
    /// Serve HTTPS (always, when not on loopback) with this certificate (PEM) and --tls-key;
    /// without them, with a self-signed certificate kept in the data directory.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve HTTPS on loopback too.
    #[arg(long)]
    tls: bool,
    /// Free space (MB) kept on the data directory's disk: below it the oldest screenshots
    /// are removed (never of a report staff worked on; the reports stay), and new reports
    /// are stored without theirs.
    #[arg(long, value_name = "MB", default_value_t = server::disk::DEFAULT_FLOOR_MB)]
    disk_floor_mb: u64,
    /// The console's language: en-GB or cy.
    #[arg(long, default_value = "en-GB", global = true)]
    locale: String,
}

#[derive(Subcommand)]
enum Command {
    /// Print a one-time code that enrols one kiosk into a room.
    EnrolCode {
        /// The room the kiosk joins.
        #[arg(long)]
        room: String,
        /// How long the code works.
        #[arg(long, default_value_t = server::ENROL_CODE_MINUTES)]
        valid_minutes: u64,
        /// How many codes to print, one a line (one per machine of a lab).
        #[arg(long, default_value_t = 1)]
        count: usize,
    },
    /// Add a console account (teacher, dsl or admin) and print its one-time password.
    AddUser {
        /// The account's login name.
        name: String,
        /// teacher, dsl (designated safeguarding lead) or admin.
        #[arg(long)]
        role: String,
        /// A room whose lessons and reports a teacher looks after. Repeatable.
        #[arg(long = "room")]
        rooms: Vec<String>,
        /// Where a safeguarding lead's alert e-mails go.
        #[arg(long)]
        email: Option<String>,
        /// The school whose rooms the account sees (needed once the trust has several).
        #[arg(long, conflicts_with = "trust")]
        school: Option<String>,
        /// An account of the whole trust: a DSL or admin who sees every school.
        #[arg(long)]
        trust: bool,
    },
    /// Add a school to the trust (a school's own server is a trust of one).
    AddSchool { name: String },
    /// Rename a school.
    RenameSchool { name: String, new_name: String },
    /// Set (or, without an address, clear) where an account's alert e-mails go.
    SetEmail { name: String, email: Option<String> },
    /// Add a lesson site list from a file: one site a line, `address | title | picture`.
    AddLesson {
        /// The lesson's name, as teachers pick it in the console.
        name: String,
        /// The sites, one a line.
        #[arg(long, value_name = "FILE")]
        sites: PathBuf,
    },
    /// Print the SHA-256 fingerprint of the server's certificate, which kiosks pin at
    /// enrolment (`satchel enrol --fingerprint`).
    Fingerprint,
    /// Add a room whose kiosks use a profile.
    AddRoom {
        /// The room's name, e.g. "Class 1".
        name: String,
        /// The profile (year group) its kiosks follow.
        #[arg(long, default_value = "KS1")]
        profile: String,
        /// The school it is in (needed once the trust has several).
        #[arg(long)]
        school: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The level is SATCHEL_LOG in /etc/satchel/server.env, the server's configuration.
    satchel::logging::init("satchel-server", satchel::logging::DEFAULT_LEVEL);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("satchel-server: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(mut cli: Cli) -> anyhow::Result<()> {
    let database = match &cli.database {
        Some(url) => Database::from_url(url, cli.database_connections)?,
        None => Database::in_data(&cli.data),
    };
    let (server, admin_password) = Server::open(&cli.data, &database, &cli.locale)?;
    if let Some(password) = admin_password {
        // Shown once: only its hash is kept. Not on a terminal (under systemd) it would stay in
        // the journal, so it goes to a file only root and the server can read, deleted once
        // the admin has chosen a password.
        if std::io::stdout().is_terminal() {
            println!("First start: the console's admin account is `admin` with the one-time password {password}");
        } else {
            let file = server.keep_first_admin_password(&password)?;
            println!(
                "First start: the console's admin account is `admin`; its one-time password is in {}",
                file.display()
            );
        }
    }
    match cli.command.take() {
        Some(Command::EnrolCode { room, valid_minutes, count }) => {
            for _ in 0..count {
                println!("{}", server.enrol_code(&room, valid_minutes)?);
            }
            eprintln!("Enrolment codes for room `{room}`, each valid {valid_minutes} minutes and for one kiosk.");
            eprintln!(
                "Certificate fingerprint to give with each: {}",
                server::tls::load(&cli.data, tls_files(&cli))?.fingerprint
            );
            Ok(())
        }
        Some(Command::Fingerprint) => {
            println!("{}", server::tls::load(&cli.data, tls_files(&cli))?.fingerprint);
            Ok(())
        }
        Some(Command::AddRoom { name, profile, school }) => {
            server.add_room(&name, &profile, server.school_named(school.as_deref())?, None)
        }
        Some(Command::AddSchool { name }) => {
            server.add_school(&name, None)?;
            eprintln!(
                "School `{name}` added: give it rooms with `add-room --school`, and staff with `add-user --school`."
            );
            Ok(())
        }
        Some(Command::RenameSchool { name, new_name }) => {
            server.rename_school(server.school_named(Some(&name))?, &new_name, None)
        }
        Some(Command::AddLesson { name, sites }) => {
            let text =
                std::fs::read_to_string(&sites).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", sites.display()))?;
            server
                .add_lesson(&name, &text)
                .map_err(|errors| anyhow::anyhow!("{}: {}", sites.display(), errors.join("; ")))
        }
        Some(Command::AddUser { name, role, rooms, email, school, trust }) => {
            // With several schools an account of the whole trust is asked for, never assumed.
            let school = match (school, trust) {
                (Some(school), _) => Some(server.school_named(Some(&school))?),
                (None, true) => None,
                (None, false) => server.school_named(None).map(|_| None).map_err(|_| {
                    anyhow::anyhow!(
                        "this server has several schools: say which with --school, or --trust for the whole trust"
                    )
                })?,
            };
            let password = server.add_user(&name, &role, &rooms, school)?;
            if let Some(email) = email {
                server.set_email(&name, Some(&email), None)?;
            }
            println!("{password}");
            eprintln!("Account `{name}` ({role}): give them this one-time password.");
            Ok(())
        }
        Some(Command::SetEmail { name, email }) => server.set_email(&name, email.as_deref(), None),
        None => {
            let tls = (cli.tls || cli.tls_cert.is_some() || !cli.listen.ip().is_loopback())
                .then(|| server::tls::load(&cli.data, tls_files(&cli)))
                .transpose()?;
            if let Some(tls) = &tls {
                println!("HTTPS certificate fingerprint (kiosks pin it at enrolment): {}", tls.fingerprint);
            }
            let mail = match (&cli.smtp_url, &cli.smtp_from) {
                (Some(url), Some(from)) => Some(server::mail::Mail::new(url, from, cli.digest_hour)?),
                _ => None,
            };
            let retention =
                server::Retention { reports_days: cli.retention_days, activity_days: cli.activity_retention_days };
            server.set_disk_floor_mb(cli.disk_floor_mb);
            tokio::runtime::Runtime::new()?.block_on(async move {
                if server.keeps_screenshots_on_disk() {
                    tokio::spawn(std::sync::Arc::clone(&server).keep_disk_floor());
                }
                if let Some(mail) = mail {
                    tokio::spawn(mail.run(std::sync::Arc::clone(&server)));
                }
                server::serve(server, cli.listen, retention, tls).await
            })
        }
    }
}

fn tls_files(cli: &Cli) -> Option<(&std::path::Path, &std::path::Path)> {
    cli.tls_cert.as_deref().zip(cli.tls_key.as_deref())
}
