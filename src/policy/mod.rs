//! The decision core: may this request go ahead?
//!
//! A [`Policy`] is built once from rule lists (see [`rules`] for the grammar), optional
//! [`CategoryIndex`] data and a default, and is never edited afterwards: a new list builds a new
//! `Policy`. [`Policy::decide`] takes a URL and the kind of request and returns a [`Decision`]
//! that explains itself: a **verdict** (allow, block, or rewrite to a safe-search URL), the
//! deciding **rule**, a **reason**, and for safe-search hosts the safe address to **connect to**
//! and any **headers** to add. [`Policy::decide_connect`] is the same decision for a proxy that
//! sees only a host and port, and [`Policy::decide_subresource_as_proxy`] is what the kiosk's
//! proxy decides for a subresource: https by host alone.
//!
//! Precedence is Chrome's URLBlocklist precedence: among matching rules an exact-host rule beats
//! a subdomain rule, then the longer host, the longer path, more query conditions; allow wins a
//! full tie. With no match the default applies, **block** unless a profile opts into the open
//! web. Pure: no I/O, no clock, no globals; deciding never fails.

pub mod rules;

use std::fmt;
use std::sync::Arc;

use crate::canonical::{self, CanonicalUrl, HostKind, Scheme, Unusable};
use crate::categories::{CategoryIndex, CategorySet};
use crate::hostname::{NameTable, SuffixKeys};
use crate::safesearch::{self, Engine, HostFacts, SafeSearch, Special};
pub use rules::{Action, Fallback, HostPattern, ListError, Problem, Rule};

/// What the browser is doing with the URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestKind {
    /// A main-frame or frame navigation (or redirect hop): http and https only.
    Navigation,
    /// Anything a page loads: images, scripts, fetch/XHR, WebSockets.
    Subresource,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Allow,
    Block,
    /// Load [`Decision::location`] instead (safe search forced).
    Rewrite,
}

/// Why a decision came out as it did. `Display` gives one short sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    AllowedByRule,
    ResourceHost,
    BlockedByRule,
    NotOnList,
    OpenWeb,
    Category(String),
    IpLiteral,
    NotAUrl,
    Scheme(String),
    WebSocketPage,
    EmptyPage,
    ForeignBlob,
    UnenforceableSearch,
    ContentProxy,
    SafeSearchForced,
    /// A `[block]` line that could not be read blocks its whole host; the rule is that line.
    RefusedBlockLine(Problem),
    /// A `[block]` line names no readable host, so nothing is allowed; carries the line.
    ListsUnusable(String),
}

impl From<safesearch::Blocked> for Reason {
    fn from(blocked: safesearch::Blocked) -> Reason {
        match blocked {
            safesearch::Blocked::UnenforceableSearch => Reason::UnenforceableSearch,
            safesearch::Blocked::ContentProxy => Reason::ContentProxy,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::AllowedByRule => f.write_str("allowed by the list"),
            Reason::ResourceHost => f.write_str("a resource host of an allowed site (subresources only)"),
            Reason::BlockedByRule => f.write_str("blocked by the list"),
            Reason::NotOnList => f.write_str("not on the list, and lists block everything else"),
            Reason::OpenWeb => f.write_str("not on the list, and this profile allows the open web"),
            Reason::Category(name) => write!(f, "in the blocked category \"{name}\""),
            Reason::IpLiteral => f.write_str("an IP address that no rule names"),
            Reason::NotAUrl => f.write_str("not a valid web address"),
            Reason::Scheme(scheme) => write!(f, "{scheme}: addresses are never opened; only http and https pages are"),
            Reason::WebSocketPage => f.write_str("a WebSocket address cannot be opened as a page"),
            Reason::EmptyPage => f.write_str("the empty page about:blank"),
            Reason::ForeignBlob => f.write_str("a blob: address from another site"),
            Reason::UnenforceableSearch => f.write_str("search engine without enforceable safe search"),
            Reason::ContentProxy => f.write_str("a content proxy that shows other sites through an allowed host"),
            Reason::SafeSearchForced => f.write_str("allowed by the list, with safe search forced"),
            Reason::RefusedBlockLine(problem) => {
                write!(f, "blocked: a [block] line that could not be read ({problem}) blocks its whole host")
            }
            Reason::ListsUnusable(line) => write!(f, "the lists cannot be used, so nothing opens: {line}"),
        }
    }
}

/// The outcome of one decision, borrowing the deciding rule from the policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision<'p> {
    pub verdict: Verdict,
    /// The URL to load instead, for [`Verdict::Rewrite`].
    pub location: Option<String>,
    pub rule: Option<&'p Rule>,
    pub reason: Reason,
    /// The safe-search address to connect to instead of the host, when one applies.
    pub connect_to: Option<&'static str>,
    /// Headers to add to the request, when they apply (YouTube's restriction header).
    pub headers: &'static [(&'static str, &'static str)],
    /// Decided on host and port alone, as for a `CONNECT`: path and query entries could not apply.
    pub by_host: bool,
}

impl<'p> Decision<'p> {
    fn new(verdict: Verdict, reason: Reason, rule: Option<&'p Rule>) -> Self {
        Decision { verdict, location: None, rule, reason, connect_to: None, headers: &[], by_host: false }
    }

    fn block(reason: Reason) -> Self {
        Decision::new(Verdict::Block, reason, None)
    }

    /// The decision a rule makes by its action.
    fn by_rule(rule: &'p Rule) -> Self {
        match (rule.action, &rule.refused) {
            (Action::Allow, _) => Decision::new(Verdict::Allow, Reason::AllowedByRule, Some(rule)),
            (Action::Block, None) => Decision::new(Verdict::Block, Reason::BlockedByRule, Some(rule)),
            (Action::Block, Some(problem)) => {
                Decision::new(Verdict::Block, Reason::RefusedBlockLine(problem.clone()), Some(rule))
            }
        }
    }

    /// Adds a safe-search engine's address and headers to an allowed decision.
    fn through(mut self, engine: Option<Engine>) -> Self {
        if let (Verdict::Allow, Some(engine)) = (self.verdict, engine) {
            self.connect_to = engine.connect_to();
            self.headers = engine.headers();
        }
        self
    }

    pub fn allows(&self) -> bool {
        self.verdict != Verdict::Block
    }
}

/// Rules filed under the host they name.
#[derive(Default)]
struct HostRules {
    /// Leading-dot rules and IP rules: this host only.
    exact: Vec<u32>,
    /// Bare-host rules: this host and its subdomains.
    subdomains: Vec<u32>,
}

impl HostRules {
    fn add(&mut self, pattern: &HostPattern, rule: u32) {
        if pattern.covers_subdomains() {
            self.subdomains.push(rule)
        } else {
            self.exact.push(rule)
        }
    }

    /// The rules that apply to a host `depth` labels below the name they are filed under.
    fn at_depth(&self, depth: usize) -> impl Iterator<Item = u32> + '_ {
        let exact = if depth == 0 { &self.exact[..] } else { &[] };
        exact.iter().chain(&self.subdomains).copied()
    }
}

/// Everything filed under one host name: rules naming it, rules using it as a resource host,
/// and what safe search says of it. One table, so a decision walks a host's suffixes once.
#[derive(Default)]
struct HostInfo {
    rules: HostRules,
    resources: HostRules,
    safe: Option<HostFacts>,
}

/// What the walk over a host's suffixes found besides the rules it visited.
struct Walk<'p> {
    special: Option<Special<'p>>,
    /// The first rule listing the host as a resource host.
    resource: Option<&'p Rule>,
}

/// A host as one decision sees it: its name, kind and suffix keys, computed once.
struct HostView<'u> {
    name: &'u str,
    kind: HostKind,
    keys: SuffixKeys,
}

impl<'u> HostView<'u> {
    fn new(name: &'u str, kind: HostKind) -> Self {
        let keys = if kind == HostKind::Domain { SuffixKeys::domain(name) } else { SuffixKeys::ip(name) };
        HostView { name, kind, keys }
    }
}

/// Builds a [`Policy`] from lists, collecting every bad line.
pub struct PolicyBuilder {
    rules: Vec<Rule>,
    errors: Vec<ListError>,
    default: Action,
    categories: Option<(Arc<CategoryIndex>, CategorySet)>,
}

impl Default for PolicyBuilder {
    fn default() -> Self {
        PolicyBuilder { rules: Vec::new(), errors: Vec::new(), default: Action::Block, categories: None }
    }
}

impl PolicyBuilder {
    /// Adds a list file's rules; its bad lines are kept for [`PolicyBuilder::errors`], and
    /// what stands in for them ([`Fallback`]) is always the closed choice.
    pub fn add_list(&mut self, file: &str, text: &str) -> &mut Self {
        let (rules, errors) = rules::parse_list(file, text);
        for rule in rules {
            match whole_public_suffix(&rule) {
                Some(problem) => self.errors.push(ListError {
                    source: rule.source.clone(),
                    text: rule.text.to_string(),
                    problem,
                    fallback: Fallback::LeftOut,
                }),
                None => self.rules.push(rule),
            }
        }
        self.errors.extend(errors);
        self
    }

    /// What happens to a URL that no rule matches. Block unless a profile opts in.
    pub fn default_action(&mut self, action: Action) -> &mut Self {
        self.default = action;
        self
    }

    /// Blocks hosts in these categories of `index` unless an explicit rule decides them.
    pub fn block_categories(&mut self, index: Arc<CategoryIndex>, blocked: CategorySet) -> &mut Self {
        self.categories = Some((index, blocked));
        self
    }

    pub fn errors(&self) -> &[ListError] {
        &self.errors
    }

    /// The first `[block]` line with no readable host: with it the lists cannot be used at all,
    /// and a policy built from them allows nothing.
    pub fn unusable(&self) -> Option<&ListError> {
        self.errors.iter().find(|error| error.fallback == Fallback::ListsUnusable)
    }

    pub fn build(self) -> Policy {
        let mut hosts: NameTable<HostInfo> = NameTable::default();
        let mut any_host = Vec::new();
        for (index, rule) in self.rules.iter().enumerate() {
            let index = index as u32;
            match rule.host.key() {
                None => any_host.push(index),
                Some(name) => hosts.entry(name, matches!(rule.host, HostPattern::Ip(_))).rules.add(&rule.host, index),
            }
            for resource in rule.resource_hosts.iter() {
                if let Some(name) = resource.key() {
                    hosts.entry(name, matches!(resource, HostPattern::Ip(_))).resources.add(resource, index);
                }
            }
        }
        for (name, facts) in SafeSearch::new().into_hosts() {
            hosts.entry(&name, false).safe = Some(facts);
        }
        Policy {
            unusable: self.unusable().map(ToString::to_string),
            rules: self.rules,
            hosts,
            any_host,
            default: self.default,
            categories: self.categories,
        }
    }
}

/// An allow entry for a whole public suffix (`co.uk`, `github.io`) would allow every site under
/// it: almost always a typing slip, and never what a primary school means.
fn whole_public_suffix(rule: &Rule) -> Option<Problem> {
    let HostPattern::Domain { host, subdomains: true } = &rule.host else { return None };
    let suffix = psl::suffix(host.as_bytes())?;
    (rule.action == Action::Allow && host.contains('.') && suffix.is_known() && suffix.as_bytes() == host.as_bytes())
        .then(|| Problem::WholePublicSuffix(host.to_string()))
}

/// A built, immutable policy. Cheap to share behind an `Arc` and swap whole.
pub struct Policy {
    /// The unreadable `[block]` line that makes every decision a block.
    unusable: Option<String>,
    rules: Vec<Rule>,
    hosts: NameTable<HostInfo>,
    any_host: Vec<u32>,
    default: Action,
    categories: Option<(Arc<CategoryIndex>, CategorySet)>,
}

/// Orders matching rules exactly as Chrome does; the greatest wins.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Precedence {
    exact_host: bool,
    host_len: usize,
    path_len: usize,
    conditions: usize,
    allow: bool,
}

impl Precedence {
    fn of(rule: &Rule) -> Self {
        // A block standing in for an unreadable line outranks everything on its host the
        // line's own path and query could have outranked.
        let unknown_reach = rule.refused.is_some();
        Precedence {
            exact_host: !rule.host.covers_subdomains(),
            host_len: rule.host.key().map_or(0, str::len),
            path_len: if unknown_reach { usize::MAX } else { rule.path.len() },
            conditions: if unknown_reach { usize::MAX } else { rule.query.len() },
            allow: rule.action == Action::Allow,
        }
    }
}

impl Policy {
    pub fn builder() -> PolicyBuilder {
        PolicyBuilder::default()
    }

    /// Decides one request on its full URL.
    pub fn decide(&self, url: &str, kind: RequestKind) -> Decision<'_> {
        if let Some(line) = &self.unusable {
            return Decision::block(Reason::ListsUnusable(line.clone()));
        }
        let url = match CanonicalUrl::parse(url) {
            Ok(url) => url,
            Err(Unusable::Invalid) => return Decision::block(Reason::NotAUrl),
            Err(Unusable::Scheme(scheme)) => return self.decide_other_scheme(url, &scheme),
        };
        if kind == RequestKind::Navigation && url.scheme.is_websocket() {
            return Decision::block(Reason::WebSocketPage);
        }
        let host = HostView::new(&url.host, url.host_kind);
        let mut best: Option<&Rule> = None;
        let walk = self.walk(&host, |rule| {
            if rule_matches(rule, &url) && best.is_none_or(|b| Precedence::of(rule) > Precedence::of(b)) {
                best = Some(rule);
            }
        });
        let special = walk.special;
        if let Some(blocked) = special.and_then(|s| s.blocks_path(&url.path)) {
            return Decision::block(blocked.into());
        }
        let engine = special.and_then(|s| s.engine);
        let mut decision = match best {
            Some(rule) if rule.host != HostPattern::Any => Decision::by_rule(rule),
            wildcard => {
                let resource = walk.resource.filter(|_| kind == RequestKind::Subresource);
                match resource {
                    Some(rule) => Decision::new(Verdict::Allow, Reason::ResourceHost, Some(rule)),
                    None => self.decide_unlisted(&host, wildcard),
                }
            }
        }
        .through(engine);
        if let Some(location) = engine.filter(|_| decision.verdict == Verdict::Allow).and_then(|e| e.enforce(&url)) {
            decision.verdict = Verdict::Rewrite;
            decision.reason = Reason::SafeSearchForced;
            decision.location = Some(location);
        }
        decision
    }

    /// Decides a request made from a page (`page_url`), which matters only for `blob:` URLs:
    /// a page may use its own blobs, never another site's.
    pub fn decide_from(&self, url: &str, kind: RequestKind, page_url: &str) -> Decision<'_> {
        let Some(inner) = url.strip_prefix("blob:") else { return self.decide(url, kind) };
        let origin = |u: &str| url::Url::parse(u).ok().map(|u| u.origin());
        match (origin(inner), origin(page_url)) {
            (Some(blob), Some(page)) if blob.is_tuple() && blob == page => self.decide(page_url, kind),
            _ => Decision::block(Reason::ForeignBlob),
        }
    }

    /// Decides a connection by host and port alone, as a proxy sees an https `CONNECT`: allowed
    /// when some allow rule or resource host covers the host and no whole-host block rule
    /// outranks it. Paths are decided again on the full URL by the navigation handler.
    pub fn decide_connect(&self, host: &str, port: u16) -> Decision<'_> {
        Decision { by_host: true, ..self.decide_host(host, port) }
    }

    fn decide_host(&self, host: &str, port: u16) -> Decision<'_> {
        if let Some(line) = &self.unusable {
            return Decision::block(Reason::ListsUnusable(line.clone()));
        }
        let Some((host, host_kind)) = canonical::canonical_host(host) else {
            return Decision::block(Reason::NotAUrl);
        };
        let host = HostView::new(&host, host_kind);
        let mut candidates: Vec<&Rule> = Vec::new();
        let walk = self.walk(&host, |rule| {
            if rule.port.is_none_or(|p| p == port) {
                candidates.push(rule);
            }
        });
        let special = walk.special;
        if let Some(blocked) = special.as_ref().and_then(Special::blocks_host) {
            return Decision::block(blocked.into());
        }
        let best = |keep: &dyn Fn(&Rule) -> bool| {
            candidates.iter().copied().filter(|r| keep(r)).max_by_key(|r| Precedence::of(r))
        };
        let whole_host_block = best(&|r| {
            r.action == Action::Block && r.path.is_empty() && r.query.is_empty() && r.host != HostPattern::Any
        });
        let outranked = |r: &Rule| whole_host_block.is_some_and(|b| Precedence::of(b) > Precedence::of(r));
        let allow = best(&|r| r.action == Action::Allow && r.host != HostPattern::Any && !outranked(r));
        let decision = match (allow, whole_host_block, walk.resource) {
            (Some(rule), _, _) | (None, Some(rule), _) => Decision::by_rule(rule),
            (None, None, Some(rule)) => Decision::new(Verdict::Allow, Reason::ResourceHost, Some(rule)),
            (None, None, None) => self.decide_unlisted(&host, best(&|r| r.host == HostPattern::Any)),
        };
        decision.through(special.and_then(|s| s.engine))
    }

    /// Decides a subresource as the kiosk really does: the proxy sees an https or wss request
    /// only as `CONNECT host:port`, so it is decided by host and port ([`Policy::decide_connect`])
    /// and path and query entries cannot apply; anything else is decided on its full URL.
    pub fn decide_subresource_as_proxy(&self, url: &str) -> Decision<'_> {
        match CanonicalUrl::parse(url) {
            Ok(parsed) if matches!(parsed.scheme, Scheme::Https | Scheme::Wss) => {
                self.decide_connect(&parsed.host, parsed.port)
            }
            _ => self.decide(url, RequestKind::Subresource),
        }
    }

    fn decide_other_scheme(&self, url: &str, scheme: &str) -> Decision<'_> {
        if url.trim() == "about:blank" {
            return Decision::new(Verdict::Allow, Reason::EmptyPage, None);
        }
        if scheme == "blob" {
            return Decision::block(Reason::ForeignBlob);
        }
        Decision::block(Reason::Scheme(scheme.to_owned()))
    }

    /// No explicit rule decided: categories, then a `*` rule, then the default.
    fn decide_unlisted<'p>(&'p self, host: &HostView<'_>, wildcard: Option<&'p Rule>) -> Decision<'p> {
        if host.kind != HostKind::Domain {
            return Decision::block(Reason::IpLiteral);
        }
        if let Some((index, blocked)) = &self.categories {
            if let Some(category) = index.lookup_keys(&host.keys).intersection(*blocked).first() {
                return Decision::block(Reason::Category(index.name(category).to_owned()));
            }
        }
        match wildcard {
            Some(rule) => Decision::by_rule(rule),
            None if self.default == Action::Allow => Decision::new(Verdict::Allow, Reason::OpenWeb, None),
            None => Decision::block(Reason::NotOnList),
        }
    }

    /// The engine and the words, when `url` is a search on an engine Satchel forces.
    pub fn search_terms(&self, url: &str) -> Option<(Engine, String)> {
        let url = CanonicalUrl::parse(url).ok()?;
        let engine = self.walk(&HostView::new(&url.host, url.host_kind), |_| {}).special?.engine?;
        Some((engine, engine.terms(&url)?))
    }

    /// Walks the host's suffixes once: calls `visit` with every rule whose host pattern covers
    /// the host (rules filed under the host itself, exact and subdomain, and under each parent,
    /// subdomain only; then `*` rules, which never cover IP literals), and returns the safe-search
    /// facts and resource-host rule of the deepest names that have them.
    fn walk<'p>(&'p self, host: &HostView<'_>, mut visit: impl FnMut(&'p Rule)) -> Walk<'p> {
        let mut walk = Walk { special: None, resource: None };
        for (depth, offset, key) in host.keys.deepest_first() {
            let Some(info) = self.hosts.get(key, &host.name[offset..]) else { continue };
            info.rules.at_depth(depth).for_each(|index| visit(&self.rules[index as usize]));
            if walk.resource.is_none() {
                walk.resource = info.resources.at_depth(depth).next().map(|index| &self.rules[index as usize]);
            }
            if walk.special.is_none() && host.kind == HostKind::Domain {
                walk.special = info.safe.as_ref().map(|facts| facts.at_depth(depth));
            }
        }
        if host.kind == HostKind::Domain {
            self.any_host.iter().for_each(|&index| visit(&self.rules[index as usize]));
        }
        walk
    }
}

fn rule_matches(rule: &Rule, url: &CanonicalUrl<'_>) -> bool {
    rule.scheme.is_none_or(|scheme| scheme == url.scheme)
        && rule.port.is_none_or(|port| port == url.port)
        && url.path.starts_with(&*rule.path)
        && (rule.query.is_empty() || query_matches(rule, url.query.as_deref()))
}

/// Chrome's query semantics: an allow rule needs the key present and every occurrence to match
/// (so `?lang=en&lang=fr` escapes no allow rule for `lang=en`); a block rule needs any. A key
/// prefix (`a*`) needs some key starting so, for either; `*` needs a query, even an empty one.
fn query_matches(rule: &Rule, query: Option<&str>) -> bool {
    let Some(query) = query else { return false };
    let pairs = || url::form_urlencoded::parse(query.as_bytes());
    rule.query.iter().all(|condition| {
        if condition.key_prefix {
            return condition.key.is_empty() || pairs().any(|(key, _)| key.starts_with(&*condition.key));
        }
        let mut values = pairs().filter(|(key, _)| **key == *condition.key).map(|(_, value)| value);
        match rule.action {
            Action::Allow => {
                let mut seen = false;
                values.all(|value| {
                    seen = true;
                    condition.accepts(&value)
                }) && seen
            }
            Action::Block => values.any(|value| condition.accepts(&value)),
        }
    })
}
