//! The kiosk's configuration (`/etc/satchel/kiosk.toml`): which list and tiles, which safe
//! search engine, the idle timeout, the teacher's exit PIN and the `hosts` table. Every
//! mistake is reported as `file:line: what is wrong`.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::pages::{self, line_of, Tile};
use crate::policy::{Policy, PolicyBuilder};
use crate::safesearch::SearchEngine;

/// Where the kiosk looks for its configuration when given none.
pub const DEFAULT_PATH: &str = "/etc/satchel/kiosk.toml";

/// The built-in KS1 list (file name, text): the kiosk's list without a server, and the
/// server's first profile.
pub const BUILT_IN_LIST: (&str, &str) = ("allowlists/ks1.list", include_str!("../allowlists/ks1.list"));
const BUILT_IN_TILES: (&str, &str) = ("allowlists/ks1-tiles.toml", include_str!("../allowlists/ks1-tiles.toml"));

/// A configuration problem, pointing at the line to fix.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{file}:{line}: {message}")]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl ConfigError {
    fn at(file: &str, text: &str, offset: usize, message: impl Into<String>) -> ConfigError {
        ConfigError { file: file.to_owned(), line: line_of(text, offset), message: message.into() }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    locale: Option<Spanned<String>>,
    #[serde(default)]
    list: Option<PathBuf>,
    #[serde(default)]
    tiles: Option<PathBuf>,
    #[serde(default)]
    search: SearchEngine,
    #[serde(default)]
    idle_timeout_seconds: Option<Spanned<u64>>,
    #[serde(default)]
    allow_uploads: bool,
    #[serde(default)]
    hardware_acceleration: Option<bool>,
    #[serde(default)]
    exit_pin_hash: Option<Spanned<String>>,
    #[serde(default)]
    state_dir: Option<PathBuf>,
    #[serde(default)]
    server: Option<ServerLink>,
    #[serde(default)]
    categories: Option<PathBuf>,
    #[serde(default)]
    hosts: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    log_level: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TilesFile {
    #[serde(default)]
    tile: Vec<Tile>,
}

/// What enrolment gave this kiosk: where its server is, who it is there, and the key its
/// rules must be signed with.
#[derive(Clone, Debug, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ServerLink {
    pub url: String,
    pub kiosk_id: String,
    pub token: String,
    pub public_key: String,
    /// The SHA-256 fingerprint of the server's certificate, pinned at enrolment (HTTPS).
    #[serde(default)]
    pub fingerprint: Option<String>,
}

impl ServerLink {
    /// The `[server]` section for the configuration file.
    pub fn to_toml(&self) -> String {
        let quote = |text: &str| serde_json::to_string(text).expect("a string serialises");
        let fingerprint =
            self.fingerprint.as_deref().map(|f| format!("fingerprint = {}\n", quote(f))).unwrap_or_default();
        format!(
            "[server]\nurl = {}\nkiosk_id = {}\ntoken = {}\npublic_key = {}\n{fingerprint}",
            quote(&self.url),
            quote(&self.kiosk_id),
            quote(&self.token),
            quote(&self.public_key)
        )
    }
}

/// The configuration text with its `[server]` section replaced by `link`'s (other settings
/// and comments kept).
pub fn with_server_section(text: &str, link: &ServerLink) -> String {
    let mut kept = String::new();
    let mut in_server = false;
    for line in text.lines() {
        let header = line.trim_start().starts_with('[');
        if header {
            in_server = line.trim() == "[server]";
        }
        if !in_server {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    let mut out = kept.trim_end().to_owned();
    if !out.is_empty() {
        out.push_str("\n\n");
    }
    out.push_str(&link.to_toml());
    out
}

/// Where a `hosts` name goes: an address, and a port when the name's own port is not wanted
/// (a test site on a high port standing in for port 80).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostAddress {
    pub ip: IpAddr,
    pub port: Option<u16>,
}

impl HostAddress {
    fn parse(text: &str) -> Option<HostAddress> {
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Some(HostAddress { ip, port: None });
        }
        text.parse::<SocketAddr>().ok().map(|socket| HostAddress { ip: socket.ip(), port: Some(socket.port()) })
    }
}

/// A kiosk's settings, checked.
#[derive(Clone, Debug)]
pub struct KioskConfig {
    /// Where the settings came from (`None`: built-in defaults).
    pub source: Option<PathBuf>,
    pub locale: String,
    /// The list file, or `None` for the built-in KS1 list.
    pub list: Option<PathBuf>,
    pub tiles: Vec<Tile>,
    pub search: SearchEngine,
    pub idle_timeout_seconds: u64,
    pub allow_uploads: bool,
    /// GPU compositing in the webviews; `None` (the default) leaves it to the platform, which
    /// turns it on only where there is a GPU to do it (without one it would be Mesa's software
    /// GL: about 150 ms more to start and 90 MiB more memory than WebKit's own CPU drawing).
    /// Off costs WebGL games their speed.
    pub hardware_acceleration: Option<bool>,
    /// The teacher's exit PIN as an argon2 PHC string; without one the kiosk cannot be left.
    pub exit_pin_hash: Option<String>,
    /// Where the kiosk keeps what must survive a restart (the outbox, the last rules).
    pub state_dir: PathBuf,
    /// The school server this kiosk is enrolled with, if any.
    pub server: Option<ServerLink>,
    /// A UT1-style category folder, for open-web profiles' blocked categories.
    pub categories: Option<PathBuf>,
    /// Names the proxy resolves itself (school intranet names, test sites).
    pub hosts: BTreeMap<String, HostAddress>,
    /// How much goes to the journal: a level, or a level and module levels
    /// (`warn,satchel::kiosk::proxy=debug`).
    pub log_level: String,
}

impl Default for KioskConfig {
    fn default() -> Self {
        KioskConfig {
            source: None,
            locale: "en-GB".to_owned(),
            list: None,
            tiles: parse_tiles(BUILT_IN_TILES.0, BUILT_IN_TILES.1).expect("the built-in tiles parse"),
            search: SearchEngine::default(),
            idle_timeout_seconds: 600,
            allow_uploads: false,
            hardware_acceleration: None,
            exit_pin_hash: None,
            state_dir: PathBuf::from("/var/lib/satchel"),
            server: None,
            categories: None,
            hosts: BTreeMap::new(),
            log_level: crate::logging::DEFAULT_LEVEL.to_owned(),
        }
    }
}

impl KioskConfig {
    /// The configuration at `path`; relative `list` and `tiles` paths are relative to it.
    pub fn load(path: &Path) -> Result<KioskConfig, ConfigError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: name.clone(),
            line: 0,
            message: e.to_string(),
        })?;
        let mut config = KioskConfig::parse(&name, &text, path.parent().unwrap_or(Path::new(".")))?;
        config.source = Some(path.to_owned());
        Ok(config)
    }

    /// Parses configuration text; relative paths in it are relative to `base`.
    pub fn parse(name: &str, text: &str, base: &Path) -> Result<KioskConfig, ConfigError> {
        let file: File = toml::from_str(text)
            .map_err(|e| ConfigError::at(name, text, e.span().map_or(0, |s| s.start), e.message()))?;
        let mut config = KioskConfig {
            search: file.search,
            allow_uploads: file.allow_uploads,
            hardware_acceleration: file.hardware_acceleration,
            list: file.list.map(|list| base.join(list)),
            ..KioskConfig::default()
        };
        if let Some(dir) = file.state_dir {
            config.state_dir = base.join(dir);
        }
        config.categories = file.categories.map(|dir| base.join(dir));
        if let Some(link) = file.server {
            if crate::keys::parse_public_key(&link.public_key).is_none() {
                return Err(ConfigError::at(
                    name,
                    text,
                    text.find("public_key").unwrap_or(0),
                    "server.public_key is not an ed25519 key: enrol again",
                ));
            }
            config.server = Some(link);
        }
        if let Some(locale) = file.locale {
            let tag = pages::locale_tags().find(|tag| tag.eq_ignore_ascii_case(locale.get_ref()));
            config.locale = tag
                .ok_or_else(|| {
                    let shipped: Vec<_> = pages::locale_tags().collect();
                    ConfigError::at(
                        name,
                        text,
                        locale.span().start,
                        format!("no locale `{}`: use one of {}", locale.get_ref(), shipped.join(", ")),
                    )
                })?
                .to_owned();
        }
        if let Some(seconds) = file.idle_timeout_seconds {
            if *seconds.get_ref() < 10 {
                return Err(ConfigError::at(
                    name,
                    text,
                    seconds.span().start,
                    "idle_timeout_seconds must be at least 10",
                ));
            }
            config.idle_timeout_seconds = seconds.into_inner();
        }
        if let Some(hash) = file.exit_pin_hash {
            if !crate::secrets::is_hash(hash.get_ref()) {
                let message = "exit_pin_hash is not an argon2 hash: make one with `satchel hash-pin`";
                return Err(ConfigError::at(name, text, hash.span().start, message));
            }
            config.exit_pin_hash = Some(hash.into_inner());
        }
        if let Some(level) = file.log_level {
            crate::logging::check_level(level.get_ref())
                .map_err(|message| ConfigError::at(name, text, level.span().start, message))?;
            config.log_level = level.into_inner();
        }
        for (host, address) in file.hosts {
            let parsed = HostAddress::parse(address.get_ref()).ok_or_else(|| {
                let message = format!("hosts: `{}` is not an IP address or IP:port", address.get_ref());
                ConfigError::at(name, text, address.span().start, message)
            })?;
            config.hosts.insert(host.trim_end_matches('.').to_ascii_lowercase(), parsed);
        }
        if let Some(tiles) = file.tiles.map(|tiles| base.join(tiles)) {
            let tiles_name = tiles.display().to_string();
            let tiles_text = std::fs::read_to_string(&tiles).map_err(|e| ConfigError {
                file: tiles_name.clone(),
                line: 0,
                message: e.to_string(),
            })?;
            config.tiles = parse_tiles(&tiles_name, &tiles_text)?;
        }
        Ok(config)
    }

    /// The policy this kiosk enforces: its list (or the built-in one) plus what its search
    /// engine needs.
    pub fn policy(&self) -> Result<Policy, ConfigError> {
        let mut builder = Policy::builder();
        match &self.list {
            Some(path) => {
                let name = path.display().to_string();
                let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
                    file: name.clone(),
                    line: 0,
                    message: e.to_string(),
                })?;
                builder.add_list(&name, &text);
            }
            None => {
                builder.add_list(BUILT_IN_LIST.0, BUILT_IN_LIST.1);
            }
        }
        let (engine_file, engine_list) = self.search.list();
        builder.add_list(engine_file, engine_list);
        first_error(&builder)?;
        Ok(builder.build())
    }
}

fn first_error(builder: &PolicyBuilder) -> Result<(), ConfigError> {
    match builder.errors().first() {
        Some(error) => Err(ConfigError {
            file: error.source.file.to_string(),
            line: error.source.line as usize,
            message: format!("`{}`: {}", error.text, error.problem),
        }),
        None => Ok(()),
    }
}

fn parse_tiles(name: &str, text: &str) -> Result<Vec<Tile>, ConfigError> {
    let file: TilesFile =
        toml::from_str(text).map_err(|e| ConfigError::at(name, text, e.span().map_or(0, |s| s.start), e.message()))?;
    Ok(file.tile)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_gives_the_built_in_defaults() {
        let config = KioskConfig::parse("kiosk.toml", "", Path::new(".")).unwrap();
        assert_eq!(config.locale, "en-GB");
        assert_eq!(config.idle_timeout_seconds, 600);
        assert_eq!(config.search, SearchEngine::Google);
        assert!(config.tiles.len() >= 4);
        assert!(!config.allow_uploads);
        config.policy().unwrap();
    }

    #[test]
    fn every_setting_is_read() {
        let text = "locale = \"CY\"\nsearch = \"kiddle\"\nidle_timeout_seconds = 90\nallow_uploads = true\ncategories = \"ut1\"\nlog_level = \"warn,satchel::kiosk::proxy=debug\"\n\
                    [hosts]\n\"Intranet.School.\" = \"10.0.0.5\"\n\"test.site\" = \"127.0.0.1:8081\"\n";
        let config = KioskConfig::parse("kiosk.toml", text, Path::new(".")).unwrap();
        assert_eq!(config.locale, "cy");
        assert_eq!(config.search, SearchEngine::Kiddle);
        assert_eq!(config.idle_timeout_seconds, 90);
        assert!(config.allow_uploads);
        assert_eq!(config.categories.as_deref(), Some(Path::new("./ut1")));
        assert_eq!(config.hosts["intranet.school"], HostAddress { ip: "10.0.0.5".parse().unwrap(), port: None });
        assert_eq!(config.hosts["test.site"].port, Some(8081));
        assert_eq!(config.log_level, "warn,satchel::kiosk::proxy=debug");
    }

    #[test]
    fn mistakes_name_the_file_and_line() {
        let cases = [
            ("locale = \"en-GB\"\nsearhc = \"google\"\n", "kiosk.toml:2: ", "unknown field `searhc`"),
            ("\n\nsearch = \"bing\"\n", "kiosk.toml:3: ", "unknown variant `bing`"),
            ("locale = \"fr\"\n", "kiosk.toml:1: ", "no locale `fr`: use one of en-GB, cy"),
            ("idle_timeout_seconds = 3\n", "kiosk.toml:1: ", "at least 10"),
            ("exit_pin_hash = \"1234\"\n", "kiosk.toml:1: ", "satchel hash-pin"),
            ("[hosts]\na = \"b\"\n", "kiosk.toml:2: ", "`b` is not an IP address"),
            ("search = \"google\"\nlog_level = \"verbose\"\n", "kiosk.toml:2: ", "`verbose` is not one of off, error"),
        ];
        for (text, place, words) in cases {
            let error = KioskConfig::parse("kiosk.toml", text, Path::new(".")).unwrap_err().to_string();
            assert!(error.starts_with(place) && error.contains(words), "{text:?} gave {error}");
        }
    }

    #[test]
    fn a_bad_list_line_names_the_list_file_and_line() {
        let dir = std::env::temp_dir().join(format!("satchel-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("school.list"), "[allow]\nexample.org\nhttp://\n").unwrap();
        std::fs::write(dir.join("kiosk.toml"), "list = \"school.list\"\n").unwrap();
        let config = KioskConfig::load(&dir.join("kiosk.toml")).unwrap();
        let Err(error) = config.policy() else { panic!("the bad line was accepted") };
        assert!(error.file.ends_with("school.list") && error.line == 3, "{error}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_search_engine_results_page_is_allowed_with_safe_search() {
        use crate::policy::{RequestKind, Verdict};
        for engine in [SearchEngine::Google, SearchEngine::Kiddle, SearchEngine::Swiggle] {
            let config = KioskConfig { search: engine, ..KioskConfig::default() };
            let policy = config.policy().unwrap();
            let (action, param) = engine.form();
            let decision = policy.decide(&format!("{action}?{param}=cats"), RequestKind::Navigation);
            assert_ne!(decision.verdict, Verdict::Block, "{engine:?}");
        }
    }
}
