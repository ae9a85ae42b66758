//! `satchel`: the pupil kiosk and the technician's tools. With no command it opens the kiosk;
//! `satchel check` decides URLs against lists exactly as the kiosk would, one JSON object per
//! URL; `satchel hash-pin` makes the teacher's exit PIN hash for the configuration.

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
        let decision = if args.subresource { policy.decide_subresource_as_proxy(url) } else { policy.decide(url, RequestKind::Navigation) };
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
        object["headers"] = decision.headers.iter().map(|(name, value)| (name.to_string(), serde_json::Value::from(*value))).collect::<serde_json::Map<_, _>>().into();
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
fn setup_kiosk(args: EnrolArgs, dry_run: bool) -> anyhow::Result<()> {
    let request = satchel::setup::Request { server: args.server, code: args.code, fingerprint: args.fingerprint, name: args.name, config: args.config };
    let report = satchel::setup::setup_kiosk(request, dry_run, |request| {
        enrol(EnrolArgs {
            server: request.server.clone(),
            code: request.code.clone(),
            name: request.name.clone(),
            fingerprint: request.fingerprint.clone(),
            config: request.config.clone(),
        })
    })?;
    for line in report {
        println!("{line}");
    }
    if dry_run {
        println!("(dry run: nothing was changed)");
    }
    Ok(())
}

#[cfg(feature = "kiosk")]
fn enrol(args: EnrolArgs) -> anyhow::Result<()> {
    use satchel::config::{with_server_section, ServerLink};
    let name = match args.name {
        Some(name) => name,
        None => std::fs::read_to_string("/etc/hostname").map(|n| n.trim().to_owned()).unwrap_or_else(|_| "kiosk".into()),
    };
    let base = args.server.trim_end_matches('/').to_owned();
    let client = satchel::kiosk::sync::http_client(&base, args.fingerprint.as_deref()).map_err(|e| anyhow::anyhow!(e))?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let answer: serde_json::Value = runtime.block_on(async {
        let response = client
            .post(format!("{base}/api/v1/enrol"))
            .json(&serde_json::json!({ "code": args.code, "name": name }))
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("cannot reach the school server at {base}: {}", error_chain(&e)))?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        if !status.is_success() {
            bail!("the server refused: {}", body["error"].as_str().unwrap_or(status.as_str()));
        }
        Ok(body)
    })?;
    let field = |key: &str| answer[key].as_str().map(str::to_owned).with_context(|| format!("the server's answer has no {key}"));
    let link = ServerLink { url: base, kiosk_id: field("kiosk_id")?, token: field("token")?, public_key: field("public_key")?, fingerprint: args.fingerprint };
    let existing = std::fs::read_to_string(&args.config).unwrap_or_default();
    // The package makes the file root:satchel 0640 so the kiosk's own user can read it; the
    // new file keeps that group and mode (a new file is the owner's alone).
    let kept = std::fs::metadata(&args.config).ok().map(|m| {
        use std::os::unix::fs::MetadataExt;
        (m.gid(), m.mode() & 0o640)
    });
    if let Some(dir) = args.config.parent() {
        std::fs::create_dir_all(dir)?;
    }
    satchel::outbox::write_durably(&args.config, with_server_section(&existing, &link).as_bytes())
        .with_context(|| format!("cannot write {}", args.config.display()))?;
    if let Some((gid, mode)) = kept.filter(|(_, mode)| mode & 0o040 != 0) {
        use std::os::unix::fs::PermissionsExt;
        std::os::unix::fs::chown(&args.config, None, Some(gid))?;
        std::fs::set_permissions(&args.config, std::fs::Permissions::from_mode(mode))?;
    }
    println!("Enrolled `{name}` in room `{}`; written to {}", field("room")?, args.config.display());
    Ok(())
}

/// An error and its causes, in one line (reqwest's own message hides the TLS reason).
#[cfg(feature = "kiosk")]
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(feature = "kiosk")]
fn status(path: &std::path::Path) -> anyhow::Result<()> {
    use satchel::kiosk::sync;
    let config = satchel::config::KioskConfig::load(path)?;
    println!("configuration   {}", path.display());
    let Some(server) = &config.server else {
        println!("enrolment       not enrolled: the built-in list is in force (satchel enrol --server URL --code CODE)");
        return Ok(());
    };
    println!("enrolment       kiosk {} with {}", server.kiosk_id, server.url);
    let key = satchel::bundle::parse_public_key(&server.public_key).context("the server's key in the configuration is damaged: enrol again")?;
    let cached = sync::load_cached(&config.state_dir, &key);
    match &cached {
        Some(bundle) => {
            let age = sync::unix_now().saturating_sub(bundle.issued_at);
            let lesson = bundle.lesson.as_ref().map_or("no lesson".to_owned(), |l| format!("lesson `{}`", l.name));
            println!("rules           version {} for room `{}`, profile `{}`, {lesson}; signed {} minutes ago", bundle.version, bundle.room, bundle.profile.name, age / 60);
        }
        None => println!("rules           none cached yet: the built-in list until the server is reached"),
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let held = cached.as_ref().map_or(0, |b| b.version);
    let client = sync::http_client(&server.url, server.fingerprint.as_deref()).map_err(|e| anyhow::anyhow!(e))?;
    let reached = runtime.block_on(async {
        client
            .get(format!("{}/api/v1/rules", server.url.trim_end_matches('/')))
            .bearer_auth(format!("{}.{}", server.kiosk_id, server.token))
            .header("If-None-Match", format!("\"{held}\""))
            .timeout(std::time::Duration::from_secs(10))
            .send()
            .await
    });
    match reached {
        Ok(response) if response.status() == reqwest::StatusCode::NOT_MODIFIED => println!("server          reachable; the rules are up to date"),
        Ok(response) if response.status().is_success() => println!("server          reachable; newer rules are waiting for the kiosk"),
        Ok(response) => println!("server          reachable, but it answered {}", response.status()),
        Err(error) => println!("server          cannot be reached: {}", error_chain(&error)),
    }
    let (waiting, damaged) = sync::outbox_counts(&config.state_dir);
    println!("outbox          {waiting} waiting to be sent, {damaged} set aside as damaged");
    match std::fs::read_to_string(sync::last_error_path(&config.state_dir)) {
        Ok(text) => {
            let (when, what) = text.trim().split_once(' ').unwrap_or(("0", text.trim()));
            let ago = sync::unix_now().saturating_sub(when.parse().unwrap_or(0)) / 60;
            println!("last error      {ago} minutes ago: {what}");
        }
        Err(_) => println!("last error      none"),
    }
    Ok(())
}

#[cfg(feature = "kiosk")]
fn kiosk(args: KioskArgs) -> anyhow::Result<()> {
    use satchel::config::{KioskConfig, DEFAULT_PATH};
    let system_config = std::path::Path::new(DEFAULT_PATH);
    let mut config = match &args.config {
        Some(path) => KioskConfig::load(path)?,
        None if system_config.exists() => KioskConfig::load(system_config)?,
        None => KioskConfig::default(),
    };
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
