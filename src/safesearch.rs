//! Safe search: the search engines Satchel forces into their safest mode, the ones it cannot
//! force (and so blocks), and the content proxies that would show any site through an allowed
//! host (and so are blocked even under an allowed host).
//!
//! An **engine** may carry a URL rewrite (Google `safe=active&ssui=on`, Bing `adlt=strict`,
//! DuckDuckGo `kp=1` without `!safeoff`), a **safe address** the proxy connects to instead of the
//! host (`forcesafesearch.google.com`, …) and request **headers** (`YouTube-Restrict: Strict`).
//! Safe search only ever applies to a host the policy already allows: it never turns a block
//! into an allow. The host data lives in `allowlists/search-engines.txt`.
//!
//! [`SearchEngine`] is the other side: the children's search a kiosk's Home page offers, with
//! the list entries its results need.

use crate::canonical::{decode_component, CanonicalUrl};
use crate::hostname::{self, NameTable, SuffixKeys};

const ENGINE_DATA: &str = include_str!("../allowlists/search-engines.txt");

/// The safe search engine behind the Home page's search box.
#[derive(Clone, Copy, Debug, Default, serde::Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SearchEngine {
    /// Google with safe search forced (`safe=active`, `forcesafesearch.google.com`).
    #[default]
    Google,
    /// Kiddle: a children's search with safe search always on.
    Kiddle,
    /// Swiggle: a UK children's search with safe search always on.
    Swiggle,
}

impl SearchEngine {
    /// Every engine a kiosk's Home page can search with, for a choice offered to staff.
    pub const ALL: [SearchEngine; 3] = [SearchEngine::Google, SearchEngine::Kiddle, SearchEngine::Swiggle];

    /// The engine's name in the configuration, the bundle and the server's database.
    pub fn name(self) -> &'static str {
        match self {
            SearchEngine::Google => "google",
            SearchEngine::Kiddle => "kiddle",
            SearchEngine::Swiggle => "swiggle",
        }
    }

    pub fn from_name(name: &str) -> Option<SearchEngine> {
        SearchEngine::ALL.into_iter().find(|engine| engine.name() == name)
    }

    /// The search form's action and its query parameter.
    pub fn form(self) -> (&'static str, &'static str) {
        match self {
            SearchEngine::Google => ("https://www.google.co.uk/search", "q"),
            SearchEngine::Kiddle => ("https://www.kiddle.co/s.php", "q"),
            SearchEngine::Swiggle => ("https://swiggle.org.uk/results", "q"),
        }
    }

    /// The list entries that let the results page and its resources load.
    pub(crate) fn list(self) -> (&'static str, &'static str) {
        match self {
            SearchEngine::Google => ("allowlists/search/google.list", include_str!("../allowlists/search/google.list")),
            SearchEngine::Kiddle => ("allowlists/search/kiddle.list", include_str!("../allowlists/search/kiddle.list")),
            SearchEngine::Swiggle => {
                ("allowlists/search/swiggle.list", include_str!("../allowlists/search/swiggle.list"))
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Google,
    YouTube,
    Bing,
    DuckDuckGo,
    Ecosia,
    Pixabay,
}

/// Why safe search blocks a host (or a path on it) even where a list allows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blocked {
    /// A search engine whose safe search cannot be forced.
    UnenforceableSearch,
    /// A content proxy: it would show any site through an allowed host.
    ContentProxy,
}

const YOUTUBE_RESTRICT: &[(&str, &str)] = &[("YouTube-Restrict", "Strict")];

/// Exact hosts of each engine other than Google (whose hosts come from the TLD list).
const ENGINE_HOSTS: &[(Engine, &[&str])] = &[
    (
        Engine::YouTube,
        &[
            "www.youtube.com",
            "youtube.com",
            "m.youtube.com",
            "youtubei.googleapis.com",
            "youtube.googleapis.com",
            "www.youtube-nocookie.com",
            "youtu.be",
        ],
    ),
    (Engine::Bing, &["www.bing.com", "bing.com", "edgeservices.bing.com"]),
    (
        Engine::DuckDuckGo,
        &[
            "duckduckgo.com",
            "www.duckduckgo.com",
            "start.duckduckgo.com",
            "html.duckduckgo.com",
            "lite.duckduckgo.com",
            "links.duckduckgo.com",
        ],
    ),
    (Engine::Ecosia, &["www.ecosia.org", "ecosia.org"]),
    (Engine::Pixabay, &["pixabay.com", "www.pixabay.com"]),
    (Engine::Google, &["ipv4.google.com", "ipv6.google.com"]),
];

/// Front ends of forceable engines that bypass the forcing: blocked like unenforceable engines.
const UNFORCED_FRONT_ENDS: &[&str] = &["cn.bing.com"];

const GOOGLE_SEARCH_PATHS: &[&str] = &["/", "/webhp", "/search", "/imgres", "/imghp"];
const DUCKDUCKGO_PAGES: &[&str] = &["/", "/html", "/html/", "/lite", "/lite/"];

impl Engine {
    /// The engine's name in activity records and the console.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Google => "google",
            Engine::YouTube => "youtube",
            Engine::Bing => "bing",
            Engine::DuckDuckGo => "duckduckgo",
            Engine::Ecosia => "ecosia",
            Engine::Pixabay => "pixabay",
        }
    }

    /// The words searched for, as the pupil typed them, when the URL is a search.
    pub fn terms(self, url: &CanonicalUrl<'_>) -> Option<String> {
        let parameter = |name: &str| {
            url.query.as_deref().and_then(|query| {
                url::form_urlencoded::parse(query.as_bytes())
                    .find(|(key, _)| key == name)
                    .map(|(_, value)| value.into_owned())
            })
        };
        let terms = match self {
            Engine::YouTube => parameter("search_query").or_else(|| parameter("q")),
            // Pixabay puts the words in the path: `/images/search/red%20fox/`.
            Engine::Pixabay => url
                .path
                .split_once("/search/")
                .map(|(_, rest)| decode_component(rest.trim_end_matches('/')))
                .or_else(|| parameter("q")),
            _ => parameter("q"),
        }?;
        let terms = terms.trim();
        (!terms.is_empty()).then(|| terms.to_owned())
    }

    pub fn connect_to(self) -> Option<&'static str> {
        match self {
            Engine::Google => Some("forcesafesearch.google.com"),
            Engine::YouTube => Some("restrict.youtube.com"),
            Engine::Bing => Some("strict.bing.com"),
            Engine::DuckDuckGo => Some("safe.duckduckgo.com"),
            Engine::Ecosia => Some("strict-safe-search.ecosia.org"),
            Engine::Pixabay => Some("safesearch.pixabay.com"),
        }
    }

    pub fn headers(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Engine::YouTube => YOUTUBE_RESTRICT,
            _ => &[],
        }
    }

    /// The URL with safe search forced, or `None` when it is already forced or the page is
    /// not a search page.
    pub fn enforce(self, url: &CanonicalUrl<'_>) -> Option<String> {
        let query = url.query.as_deref();
        let forced = match self {
            Engine::Google if GOOGLE_SEARCH_PATHS.contains(&&*url.path) => {
                force_parameters(query, &["safe", "ssui"], "safe=active&ssui=on", |_| None)
            }
            Engine::Bing if url.path == "/" || url.path.ends_with("/search") => {
                force_parameters(query, &["adlt"], "adlt=strict", |_| None)
            }
            Engine::DuckDuckGo if DUCKDUCKGO_PAGES.contains(&&*url.path) || has_parameter(query, "q") => {
                force_parameters(query, &["kp"], "kp=1", strip_safeoff)
            }
            _ => return None,
        };
        (Some(forced.as_str()) != query).then(|| url.with_path_and_query(&url.path, Some(&forced)))
    }
}

/// Rebuilds a query without any parameter named in `remove` (names compared after decoding,
/// ignoring case, so `%73afe=off` and `SAFE=off` go too), with `append` added last. `rewrite`
/// may replace a kept `name=value` pair.
fn force_parameters(
    query: Option<&str>,
    remove: &[&str],
    append: &str,
    rewrite: impl Fn(&str) -> Option<String>,
) -> String {
    let mut out = String::new();
    for pair in query.unwrap_or("").split('&').filter(|pair| !pair.is_empty()) {
        let name = decode_component(pair.split('=').next().unwrap_or(pair));
        if remove.iter().any(|r| name.eq_ignore_ascii_case(r)) {
            continue;
        }
        out.push_str(&rewrite(pair).unwrap_or_else(|| pair.to_owned()));
        out.push('&');
    }
    out.push_str(append);
    out
}

fn has_parameter(query: Option<&str>, name: &str) -> bool {
    query.is_some_and(|q| url::form_urlencoded::parse(q.as_bytes()).any(|(key, _)| key == name))
}

/// DuckDuckGo turns safe search off for a query containing `!safeoff`: take it out.
fn strip_safeoff(pair: &str) -> Option<String> {
    let (name, value) = pair.split_once('=')?;
    if decode_component(name) != "q" {
        return None;
    }
    let query = decode_component(value);
    if !query.to_ascii_lowercase().contains("!safeoff") {
        return None;
    }
    let kept: Vec<&str> = query.split_whitespace().filter(|word| !word.eq_ignore_ascii_case("!safeoff")).collect();
    let encoded: String = url::form_urlencoded::byte_serialize(kept.join(" ").as_bytes()).collect();
    Some(format!("{name}={encoded}"))
}

/// Everything safe search knows about one host name in the table.
#[derive(Clone, Debug, Default)]
pub struct HostFacts {
    /// An engine on exactly this host.
    engine: Option<Engine>,
    /// Blocked with its subdomains, and why.
    blocked: Option<Blocked>,
    /// Content-proxy path prefixes on this host and its subdomains (whole segments).
    proxy_paths: Vec<Box<str>>,
}

impl HostFacts {
    /// What these facts say about a host `depth` labels below the name they are filed under.
    pub fn at_depth(&self, depth: usize) -> Special<'_> {
        Special { engine: self.engine.filter(|_| depth == 0), blocked: self.blocked, proxy_paths: &self.proxy_paths }
    }
}

/// What safe search says about a host.
#[derive(Clone, Copy, Debug)]
pub struct Special<'s> {
    pub engine: Option<Engine>,
    blocked: Option<Blocked>,
    proxy_paths: &'s [Box<str>],
}

impl Special<'_> {
    /// Why every request to this host is blocked, if it is.
    pub fn blocks_host(&self) -> Option<Blocked> {
        self.blocked
    }

    /// Why a request for this path on this host is blocked, if it is.
    pub fn blocks_path(&self, path: &str) -> Option<Blocked> {
        self.blocks_host().or_else(|| {
            self.proxy_paths
                .iter()
                .any(|prefix| path.strip_prefix(&**prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with('/')))
                .then_some(Blocked::ContentProxy)
        })
    }
}

/// The host table, built once per policy.
pub struct SafeSearch {
    hosts: NameTable<HostFacts>,
}

impl Default for SafeSearch {
    fn default() -> Self {
        Self::new()
    }
}

impl SafeSearch {
    pub fn new() -> Self {
        let mut hosts: NameTable<HostFacts> = NameTable::default();
        let google_tlds: Vec<&str> = data_lines("google-tld").collect();
        let mut engine = |host: &str, engine: Engine| hosts.entry(host, false).engine = Some(engine);
        for tld in &google_tlds {
            engine(&format!("google.{tld}"), Engine::Google);
            engine(&format!("www.google.{tld}"), Engine::Google);
        }
        for (which, names) in ENGINE_HOSTS {
            for name in *names {
                engine(name, *which);
            }
        }
        for host in data_lines("unenforceable").chain(UNFORCED_FRONT_ENDS.iter().copied()) {
            hosts.entry(host, false).blocked = Some(Blocked::UnenforceableSearch);
        }
        for pattern in data_lines("content-proxy") {
            let (host, path) = pattern.split_once('/').map_or((pattern, ""), |(h, p)| (h, p));
            let expanded: Vec<String> = match host.strip_suffix("google.*") {
                Some(prefix) => google_tlds.iter().map(|tld| format!("{prefix}google.{tld}")).collect(),
                None => vec![host.to_owned()],
            };
            for host in expanded {
                let facts = hosts.entry(&host, false);
                if path.is_empty() {
                    facts.blocked = Some(Blocked::ContentProxy);
                } else {
                    facts.proxy_paths.push(format!("/{path}").into());
                }
            }
        }
        inherit_from_parents(&mut hosts);
        SafeSearch { hosts }
    }

    /// What applies to `host` (lower-case ASCII): the deepest entry on its suffix walk, which
    /// already carries what its parent entries impose on subdomains.
    pub fn classify(&self, host: &str) -> Option<Special<'_>> {
        SuffixKeys::domain(host)
            .deepest_first()
            .find_map(|(depth, offset, key)| self.hosts.get(key, &host[offset..]).map(|facts| facts.at_depth(depth)))
    }

    /// Every host name in the table with its facts, for merging into a policy's host table.
    pub fn into_hosts(self) -> impl Iterator<Item = (Box<str>, HostFacts)> {
        self.hosts.into_entries()
    }
}

/// Copies each entry's subdomain-wide facts (blocks, proxy paths) into the entries for its
/// subdomains, so a lookup needs only the deepest entry it finds.
fn inherit_from_parents(hosts: &mut NameTable<HostFacts>) {
    let names: Vec<String> = hosts.names().map(str::to_owned).collect();
    for name in names {
        let inherited: Vec<HostFacts> = hostname::suffixes(&name)
            .skip(1)
            .filter_map(|parent| hosts.get(hostname::key(parent, false), parent).cloned())
            .collect();
        let facts = hosts.get_mut_by_name(&name, false).expect("name came from the table");
        for parent in inherited {
            facts.blocked = facts.blocked.take().or(parent.blocked);
            facts.proxy_paths.extend(parent.proxy_paths);
        }
    }
}

fn data_lines(kind: &'static str) -> impl Iterator<Item = &'static str> {
    ENGINE_DATA
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(move |line| line.split_once('\t').filter(|(k, _)| *k == kind).map(|(_, value)| value.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_words_are_read_as_the_pupil_typed_them() {
        let terms = |engine: Engine, input: &str| engine.terms(&CanonicalUrl::parse(input).unwrap());
        assert_eq!(
            terms(Engine::Google, "https://www.google.co.uk/search?q=red+fox%21&safe=active").as_deref(),
            Some("red fox!")
        );
        assert_eq!(
            terms(Engine::YouTube, "https://www.youtube.com/results?search_query=how%20to%20draw").as_deref(),
            Some("how to draw")
        );
        assert_eq!(
            terms(Engine::Bing, "https://www.bing.com/images/search?q=caf%C3%A9&adlt=strict").as_deref(),
            Some("café")
        );
        assert_eq!(terms(Engine::DuckDuckGo, "https://duckduckgo.com/?q=owls&kp=1").as_deref(), Some("owls"));
        assert_eq!(terms(Engine::Ecosia, "https://www.ecosia.org/search?q=bees").as_deref(), Some("bees"));
        assert_eq!(terms(Engine::Pixabay, "https://pixabay.com/images/search/red%20fox/").as_deref(), Some("red fox"));
        assert_eq!(terms(Engine::Google, "https://www.google.co.uk/search?q=+&safe=active"), None, "nothing typed");
        assert_eq!(terms(Engine::Google, "https://www.google.co.uk/maps"), None);
    }

    fn forced(engine: Engine, input: &str) -> Option<String> {
        engine.enforce(&CanonicalUrl::parse(input).unwrap())
    }

    #[test]
    fn google_removes_every_safe_parameter_and_appends_the_forced_ones() {
        assert_eq!(
            forced(Engine::Google, "https://www.google.co.uk/search?q=cats&safe=off&%73afe=off&SSUI=off").as_deref(),
            Some("https://www.google.co.uk/search?q=cats&safe=active&ssui=on")
        );
        assert_eq!(
            forced(Engine::Google, "https://www.google.co.uk/").as_deref(),
            Some("https://www.google.co.uk/?safe=active&ssui=on")
        );
        assert_eq!(forced(Engine::Google, "https://www.google.co.uk/search?q=cats&safe=active&ssui=on"), None);
        assert_eq!(forced(Engine::Google, "https://www.google.co.uk/maps"), None);
    }

    #[test]
    fn bing_forces_strict_adult_filter() {
        assert_eq!(
            forced(Engine::Bing, "https://www.bing.com/images/search?q=x&adlt=off").as_deref(),
            Some("https://www.bing.com/images/search?q=x&adlt=strict")
        );
        assert_eq!(forced(Engine::Bing, "https://www.bing.com/search?q=x&adlt=strict"), None);
    }

    #[test]
    fn duckduckgo_forces_kp_and_strips_safeoff() {
        assert_eq!(
            forced(Engine::DuckDuckGo, "https://duckduckgo.com/?q=cats+!safeoff&kp=-2").as_deref(),
            Some("https://duckduckgo.com/?q=cats&kp=1")
        );
        assert_eq!(
            forced(Engine::DuckDuckGo, "https://duckduckgo.com/?q=cats%20%21SafeOff").as_deref(),
            Some("https://duckduckgo.com/?q=cats&kp=1")
        );
        assert_eq!(forced(Engine::DuckDuckGo, "https://duckduckgo.com/?q=cats&kp=1"), None);
    }

    #[test]
    fn youtube_carries_restrict_header_and_address() {
        assert_eq!(Engine::YouTube.headers(), &[("YouTube-Restrict", "Strict")]);
        assert_eq!(Engine::YouTube.connect_to(), Some("restrict.youtube.com"));
        assert_eq!(forced(Engine::YouTube, "https://www.youtube.com/watch?v=abc"), None);
    }

    #[test]
    fn classifies_hosts_by_their_deepest_entry() {
        let table = SafeSearch::new();
        assert_eq!(table.classify("www.google.co.uk").unwrap().engine, Some(Engine::Google));
        assert_eq!(table.classify("google.de").unwrap().engine, Some(Engine::Google));
        // A subdomain of an engine host is not the engine.
        assert!(table.classify("mail.google.com").is_none_or(|s| s.engine.is_none()));
        assert_eq!(table.classify("uk.search.yahoo.com").unwrap().blocks_host(), Some(Blocked::UnenforceableSearch));
        assert_eq!(table.classify("cn.bing.com").unwrap().blocks_host(), Some(Blocked::UnenforceableSearch));
        assert_eq!(table.classify("example-com.translate.goog").unwrap().blocks_host(), Some(Blocked::ContentProxy));
        let translate = table.classify("translate.google.co.uk").unwrap();
        assert_eq!(translate.blocks_path("/translate"), Some(Blocked::ContentProxy));
        assert_eq!(translate.blocks_path("/translate_tts"), None);
        assert_eq!(
            table.classify("www.google.co.uk").unwrap().blocks_path("/amp/s/example.net"),
            Some(Blocked::ContentProxy)
        );
        assert!(table.classify("www.cbeebies.com").is_none());
    }

    #[test]
    fn every_home_search_engine_is_named_once_the_same_everywhere() {
        for engine in SearchEngine::ALL {
            assert_eq!(serde_json::to_value(engine).unwrap(), engine.name(), "the configuration and the bundle");
            assert_eq!(SearchEngine::from_name(engine.name()), Some(engine));
        }
        assert_eq!(SearchEngine::from_name("bing"), None);
    }
}
