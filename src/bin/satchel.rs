//! `satchel`: the pupil kiosk and the technician's tools. With no command it opens the kiosk;
//! `satchel check` decides URLs against lists exactly as the kiosk would, one JSON object per
//! URL; `satchel hash-pin` makes the teacher's exit PIN hash for the configuration; `satchel
//! learn` lists the hosts a site loads from.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand, ValueEnum};
use satchel::categories::CategorySet;
use satchel::lists;
use satchel::policy::{Action, Decision, Policy, RequestKind};

#[derive(Parser)]
#[command(name = "satchel", version, about = "Satchel: a safe classroom browser for KS1 pupils")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    kiosk: KioskArgs,
}

/// Opening the kiosk (no command).
#[derive(clap::Args)]
struct KioskArgs {
    /// The kiosk configuration [default: /etc/satchel/kiosk.toml if present, else built-in
    /// settings with the KS1 list].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// A rule list to enforce instead of the configuration's.
    #[arg(long, value_name = "FILE")]
    list: Option<PathBuf>,
    /// Let WebKitWebDriver drive the content view (end-to-end tests; builds with the
    /// `automation` feature only, never with /etc/satchel/kiosk.toml).
    #[arg(long, hide = true)]
    automation: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Decide URLs against rule lists, as the kiosk would: one JSON object per URL.
    Check(CheckArgs),
    /// Read a PIN from standard input and print its argon2 hash, for `exit_pin_hash` in the
    /// kiosk configuration.
    HashPin,
    /// Enrol this machine with the school server: exchange a one-time code for the kiosk's
    /// identity and the server's signing key, written to the configuration (root only).
    #[cfg(feature = "kiosk")]
    Enrol(EnrolArgs),
    /// Make this machine a locked kiosk (as root): the satchel user, the configuration,
    /// enrolment, the kiosk session instead of the desktop. Safe to run again.
    #[cfg(feature = "kiosk")]
    SetupKiosk {
        #[command(flatten)]
        enrol: EnrolArgs,
        /// Print what would be done, and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Open a site in a learning window (a technician's or teacher's machine, never a pupil's)
    /// and print its list entry with every host it loaded from: `www.example.org uses:
    /// cdn.example.net, img.example.com`, ready to paste into a list.
    #[cfg(feature = "kiosk")]
    Learn {
        /// The kiosk configuration whose `[hosts]` table to use [default: /etc/satchel/kiosk.toml
        /// if present].
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// How long to learn for, unless the window is closed first.
        #[arg(long, value_name = "N", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
        seconds: u64,
        /// The site's address, e.g. https://www.example.org/
        url: String,
    },
    /// One screen for the technician: enrolment, the server, the rules in force, the outbox,
    /// the last error.
    #[cfg(feature = "kiosk")]
    Status {
        /// The kiosk configuration to report on.
        #[arg(long, default_value = "/etc/satchel/kiosk.toml")]
        config: PathBuf,
    },
}

#[cfg(feature = "kiosk")]
#[derive(clap::Args)]
struct EnrolArgs {
    /// The school server, e.g. http://satchel.school.local:8470
    #[arg(long)]
    server: String,
    /// The one-time code from the console or `satchel-server enrol-code`.
    #[arg(long)]
    code: String,
    /// This machine's name in the console [default: the host name].
    #[arg(long)]
    name: Option<String>,
    /// The SHA-256 fingerprint of the server's certificate (https servers; `satchel-server
    /// fingerprint` prints it). The kiosk trusts that certificate and no other.
    #[arg(long)]
    fingerprint: Option<String>,
    /// The configuration to write the enrolment into.
    #[arg(long, default_value = "/etc/satchel/kiosk.toml")]
    config: PathBuf,
}

#[derive(clap::Args)]
struct CheckArgs {
    /// A rule list file ([allow]/[block] sections, Chrome URL filter entries). Repeatable.
    #[arg(long = "list", value_name = "FILE", required = true)]
    lists: Vec<PathBuf>,
    /// A UT1-style category folder (<DIR>/<category>/domains).
    #[arg(long, value_name = "DIR")]
    categories: Option<PathBuf>,
    /// Block this category (a folder name under --categories). Repeatable.
    #[arg(long = "block-category", value_name = "NAME", requires = "categories")]
    block_categories: Vec<String>,
    /// What happens to a URL no rule matches.
    #[arg(long, value_enum, default_value_t = DefaultAction::Block)]
    default: DefaultAction,
    /// Refuse lists with any invalid line (exit 2) instead of using the valid lines.
    #[arg(long)]
    strict: bool,
    /// Decide as a subresource (image, script, fetch, WebSocket) instead of a page, as the
    /// kiosk's proxy does: https and wss by host alone (it sees only CONNECT host:port).
    #[arg(long)]
    subresource: bool,
    /// Print a line a person can read per URL instead of JSON.
    #[arg(long)]
    explain: bool,
    /// URLs to decide; read one per line from standard input when none are given.
    urls: Vec<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum DefaultAction {
    Allow,
    Block,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Check(args)) => check(args),
        Some(Command::HashPin) => hash_pin(),
        #[cfg(feature = "kiosk")]
        Some(Command::Enrol(args)) => enrol(args),
        #[cfg(feature = "kiosk")]
        Some(Command::Status { config }) => status(&config),
        #[cfg(feature = "kiosk")]
        Some(Command::Learn { config, seconds, url }) => learn(config.as_deref(), seconds, &url),
        #[cfg(feature = "kiosk")]
        Some(Command::SetupKiosk { enrol: args, dry_run }) => setup_kiosk(args, dry_run),
        None => kiosk(cli.kiosk),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("satchel: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn check(args: CheckArgs) -> anyhow::Result<()> {
    let policy = build_policy(&args)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut decide = |url: &str| -> std::io::Result<()> {
        let decision = if args.subresource {
            policy.decide_subresource_as_proxy(url)
        } else {
            policy.decide(url, RequestKind::Navigation)
        };
        if args.explain {
            writeln!(out, "{}", explain(url, &decision))
        } else {
            writeln!(out, "{}", to_json(url, &decision))
        }
    };
    if args.urls.is_empty() {
        for line in std::io::stdin().lock().lines() {
            let line = line.context("reading URLs from standard input")?;
            if !line.trim().is_empty() {
                decide(line.trim_end_matches('\r'))?;
            }
        }
    } else {
        for url in &args.urls {
            decide(url)?;
        }
    }
    out.flush()?;
    Ok(())
}

fn build_policy(args: &CheckArgs) -> anyhow::Result<Policy> {
    let mut builder = Policy::builder();
    for path in &args.lists {
        builder.add_list(&path.display().to_string(), &lists::read_text(path)?);
    }
    for error in builder.errors() {
        if args.strict {
            eprintln!("{error}");
        } else {
            eprintln!("{error}; {}", error.fallback);
        }
    }
    if args.strict && !builder.errors().is_empty() {
        bail!("{} invalid line(s); --strict refuses the lists", builder.errors().len());
    }
    if let Some(error) = builder.unusable() {
        bail!("{}: a [block] line with no readable host makes the lists unusable", error.source);
    }
    builder.default_action(match args.default {
        DefaultAction::Allow => Action::Allow,
        DefaultAction::Block => Action::Block,
    });
    if let Some(dir) = &args.categories {
        let index = lists::load_categories(dir)?;
        let mut blocked = CategorySet::EMPTY;
        for name in &args.block_categories {
            let Some(id) = index.id(name) else {
                bail!("no category `{name}` in {}; it has: {}", dir.display(), index.names().join(", "));
            };
            blocked = blocked.with(id);
        }
        builder.block_categories(Arc::new(index), blocked);
    }
    Ok(builder.build())
}

fn to_json(url: &str, decision: &Decision<'_>) -> String {
    let mut object = serde_json::json!({
        "url": url,
        "verdict": decision.verdict,
        "rule": decision.rule.map(|rule| &*rule.text),
        "reason": decision.reason.to_string(),
    });
    if let Some(location) = &decision.location {
        object["location"] = location.as_str().into();
    }
    if let Some(connect_to) = decision.connect_to {
        object["connect_to"] = connect_to.into();
    }
    if !decision.headers.is_empty() {
        object["headers"] = decision
            .headers
            .iter()
            .map(|(name, value)| (name.to_string(), serde_json::Value::from(*value)))
            .collect::<serde_json::Map<_, _>>()
            .into();
    }
    if decision.by_host {
        object["by_host"] = true.into();
    }
    object.to_string()
}

fn explain(url: &str, decision: &Decision<'_>) -> String {
    let verdict = format!("{:?}", decision.verdict).to_uppercase();
    let mut line = format!("{verdict:<7} {url}\n        {}", decision.reason);
    if let Some(rule) = decision.rule {
        line.push_str(&format!(" — `{}` at {}", rule.text, rule.source));
    }
    if let Some(location) = &decision.location {
        line.push_str(&format!("\n        load instead: {location}"));
    }
    if let Some(connect_to) = decision.connect_to {
        line.push_str(&format!("\n        connect to: {connect_to}"));
    }
    for (name, value) in decision.headers {
        line.push_str(&format!("\n        add header: {name}: {value}"));
    }
    if decision.by_host {
        line.push_str("\n        decided by host: the kiosk's proxy sees an https request only as CONNECT host:port, so path and query entries cannot apply");
    }
    line
}

fn hash_pin() -> anyhow::Result<()> {
    let mut pin = String::new();
    std::io::stdin().read_line(&mut pin).context("cannot read the PIN")?;
    let pin = pin.trim_end_matches(['\r', '\n']);
    if pin.len() < 4 {
        bail!("a PIN needs at least 4 characters");
    }
    println!("{}", satchel::secrets::hash(pin).map_err(|e| anyhow::anyhow!(e))?);
    Ok(())
}

#[cfg(feature = "kiosk")]
impl From<EnrolArgs> for satchel::kiosk::enrol::Request {
    fn from(args: EnrolArgs) -> Self {
        Self {
            server: args.server,
            code: args.code,
            name: args.name,
            fingerprint: args.fingerprint,
            config: args.config,
        }
    }
}

#[cfg(feature = "kiosk")]
fn setup_kiosk(args: EnrolArgs, dry_run: bool) -> anyhow::Result<()> {
    for line in satchel::setup::setup_kiosk(args.into(), dry_run)? {
        println!("{line}");
    }
    if dry_run {
        println!("(dry run: nothing was changed)");
    }
    Ok(())
}

#[cfg(feature = "kiosk")]
fn enrol(args: EnrolArgs) -> anyhow::Result<()> {
    println!("{}", satchel::kiosk::enrol::enrol(&args.into())?);
    Ok(())
}

#[cfg(feature = "kiosk")]
fn status(path: &std::path::Path) -> anyhow::Result<()> {
    use satchel::kiosk::status::{Reach, Status};
    let status = Status::read(path)?;
    println!("configuration   {}", path.display());
    let Some(status) = status else {
        println!(
            "enrolment       not enrolled: the built-in list is in force (satchel enrol --server URL --code CODE)"
        );
        return Ok(());
    };
    println!("enrolment       kiosk {} with {}", status.kiosk_id, status.server);
    match &status.rules {
        Some(rules) => {
            let lesson = rules.lesson.as_ref().map_or("no lesson".to_owned(), |name| format!("lesson `{name}`"));
            println!(
                "rules           version {} for room `{}`, profile `{}`, {lesson}; signed {} minutes ago",
                rules.version, rules.room, rules.profile, rules.minutes_old
            );
        }
        None => println!("rules           none cached yet: the built-in list until the server is reached"),
    }
    match status.probe()? {
        Reach::UpToDate => println!("server          reachable; the rules are up to date"),
        Reach::Newer => println!("server          reachable; newer rules are waiting for the kiosk"),
        Reach::Answered(answer) => println!("server          reachable, but it answered {answer}"),
        Reach::Unreachable(why) => println!("server          cannot be reached: {why}"),
    }
    println!("outbox          {} waiting to be sent, {} set aside as damaged", status.waiting, status.damaged);
    match &status.last_error {
        Some(error) => println!("last error      {} minutes ago: {}", error.minutes_ago, error.what),
        None => println!("last error      none"),
    }
    Ok(())
}

/// The configuration named, else the system's if there is one, else the built-in settings.
#[cfg(feature = "kiosk")]
fn kiosk_config(path: Option<&std::path::Path>) -> anyhow::Result<satchel::config::KioskConfig> {
    use satchel::config::{KioskConfig, DEFAULT_PATH};
    let system_config = std::path::Path::new(DEFAULT_PATH);
    Ok(match path {
        Some(path) => KioskConfig::load(path)?,
        None if system_config.exists() => KioskConfig::load(system_config)?,
        None => KioskConfig::default(),
    })
}

#[cfg(feature = "kiosk")]
fn learn(config: Option<&std::path::Path>, seconds: u64, url: &str) -> anyhow::Result<()> {
    let config = kiosk_config(config)?;
    satchel::logging::init("satchel", &config.log_level);
    satchel::kiosk::learn::run(&config, url, seconds)
}

#[cfg(feature = "kiosk")]
fn kiosk(args: KioskArgs) -> anyhow::Result<()> {
    use satchel::config::DEFAULT_PATH;
    let system_config = std::path::Path::new(DEFAULT_PATH);
    let mut config = kiosk_config(args.config.as_deref())?;
    satchel::logging::init("satchel", &config.log_level);
    if let Some(list) = args.list {
        config.list = Some(list);
    }
    if args.automation {
        if !cfg!(feature = "automation") {
            bail!("--automation needs a build with the `automation` feature (tests only)");
        }
        if config.source.as_deref() == Some(system_config) {
            bail!("--automation is refused with {DEFAULT_PATH}: a pupil's kiosk cannot be automated");
        }
    }
    satchel::kiosk::run(satchel::kiosk::Options { config, automation: args.automation })
}

#[cfg(not(feature = "kiosk"))]
fn kiosk(_: KioskArgs) -> anyhow::Result<()> {
    bail!("this satchel was built without the kiosk; use a subcommand (see --help)")
}
