//! The rule-list grammar.
//!
//! A list file holds `[allow]` and `[block]` sections (lines before any header are allow rules)
//! and `#` comments. Each entry is a filter in Chrome's URLAllowlist/URLBlocklist format,
//! `[scheme://][.]host[:port][/path][?query]`:
//! - a bare host covers itself and its subdomains on label boundaries; a leading `.` means that
//!   host only; `*` alone is every host (but never an IP literal);
//! - no scheme means http, https, ws and wss; no port means any; the path is a prefix;
//! - `user:pass@` before the host and a `#fragment` are ignored, as Chrome ignores them;
//! - `?…&…` are query conditions, Chrome's: `key=value` (a trailing `*` makes the value a
//!   prefix, so `key=*` is any value), `key` or `key=` (the key with an empty value), `key*`
//!   (some key starting with `key`) and `*` (any query at all).
//!
//! An allow entry may end with `uses: host, host…`: the **resource hosts** the site loads from
//! (CDNs, video hosts), allowed for subresources only, never as pages.
//!
//! Parsing is lenient: every bad line becomes a [`ListError`] naming file, line and what to do,
//! and the good lines are still returned. A bad line never fails open: a bad `[block]` line is
//! replaced by a block of its whole host (a [`Rule`] with [`Rule::refused`] set), lines under an
//! unknown section are read as `[block]` lines, and a `[block]` line whose host cannot be read
//! at all makes the lists unusable ([`Fallback`] says which happened).

use std::fmt;
use std::sync::Arc;

use crate::canonical::{canonical_host, decode_component, normalise_escapes, HostKind, Scheme};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Allow,
    Block,
}

/// Which hosts an entry names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostPattern {
    /// `*`: every domain name (IP literals excluded).
    Any,
    /// A domain; `subdomains` is false for the leading-dot form.
    Domain { host: Box<str>, subdomains: bool },
    /// An IP literal in canonical form (`127.0.0.1`, `[::1]`).
    Ip(Box<str>),
}

impl HostPattern {
    /// The host this pattern is indexed under; `None` for `*`.
    pub fn key(&self) -> Option<&str> {
        match self {
            HostPattern::Any => None,
            HostPattern::Domain { host, .. } | HostPattern::Ip(host) => Some(host),
        }
    }

    pub fn covers_subdomains(&self) -> bool {
        matches!(self, HostPattern::Any | HostPattern::Domain { subdomains: true, .. })
    }
}

/// One query condition. `key_prefix` is Chrome's `key*` (some key starting with `key`, any
/// value; `*` alone, with an empty key, is any query); otherwise the key is exact and the value
/// is exact, or a prefix when the entry ended it with `*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryCondition {
    pub key: Box<str>,
    pub key_prefix: bool,
    pub value: Box<str>,
    pub prefix: bool,
}

impl QueryCondition {
    pub fn accepts(&self, value: &str) -> bool {
        if self.prefix {
            value.starts_with(&*self.value)
        } else {
            value == &*self.value
        }
    }
}

/// Where an entry was written, for explanations and error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceLine {
    pub file: Arc<str>,
    pub line: u32,
}

impl fmt::Display for SourceLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One parsed entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub action: Action,
    pub scheme: Option<Scheme>,
    pub host: HostPattern,
    pub port: Option<u16>,
    /// Canonical path prefix; empty matches every path.
    pub path: Box<str>,
    pub query: Box<[QueryCondition]>,
    pub resource_hosts: Box<[HostPattern]>,
    /// The entry as written (without `uses:`), as `satchel check` reports it.
    pub text: Box<str>,
    pub source: SourceLine,
    /// Set on the whole-host block standing in for a `[block]` line that could not be read:
    /// why it could not. Such a rule outranks every rule on its host that the line could have
    /// outranked, so the unreadable line blocks at least what it would have.
    pub refused: Option<Problem>,
}

/// A line that could not be used, why, and what is done instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListError {
    pub source: SourceLine,
    pub text: String,
    pub problem: Problem,
    pub fallback: Fallback,
}

impl fmt::Display for ListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: `{}`: {}", self.source, self.text, self.problem)
    }
}

/// What a policy built despite a bad line does in its place: always the closed choice.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Fallback {
    #[error("the line is left out, so what it would allow stays blocked")]
    LeftOut,
    #[error("the lines under it are read as [block] lines")]
    ReadAsBlock,
    #[error("{0} is blocked instead")]
    HostBlocked(String),
    #[error("Satchel never opens {0}: addresses, so they stay blocked")]
    SchemeNeverOpened(String),
    #[error("no host can be read from this [block] line, so the lists cannot be used")]
    ListsUnusable,
}

impl std::error::Error for ListError {}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("unknown section [{0}]; use [allow] or [block]")]
    UnknownSection(String),
    #[error("`*.` is not part of the filter format; use `{0}` to cover {0} and its subdomains")]
    SubdomainWildcard(String),
    #[error("`*` can only stand alone as the host, meaning every host")]
    WildcardInHost,
    #[error("Satchel filters http, https, ws and wss addresses only, not `{0}:`")]
    UnsupportedScheme(String),
    #[error("`{0}` is not a valid host name or IP address")]
    BadHost(String),
    #[error("`{0}` is not a port number (1 to 65535)")]
    BadPort(String),
    #[error("unexpected `{0}` after the entry; resource hosts are written `uses: host, host`")]
    TrailingText(String),
    #[error("`uses:` needs at least one host after it")]
    EmptyUses,
    #[error("resource host `{0}` must be a host name (no scheme, path or `*`)")]
    BadResourceHost(String),
    #[error("`uses:` belongs on [allow] entries: resource hosts are never blocked by an entry")]
    UsesOnBlock,
    #[error("`{0}` is a public suffix: this entry would allow every site under it; name the sites instead")]
    WholePublicSuffix(String),
}

/// Parses a whole list file. `file` names it in errors and explanations.
pub fn parse_list(file: &str, text: &str) -> (Vec<Rule>, Vec<ListError>) {
    let file: Arc<str> = Arc::from(file);
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    let mut action = Action::Allow;
    for (index, raw) in text.lines().enumerate() {
        let source = SourceLine { file: file.clone(), line: index as u32 + 1 };
        let line = strip_comment(raw).trim();
        if line.is_empty() {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            action = match section.trim().to_ascii_lowercase().as_str() {
                "allow" => Action::Allow,
                "block" => Action::Block,
                // `[blokc]` may have meant either; reading its lines as allow lines would open
                // what was meant to be blocked.
                _ => {
                    let problem = Problem::UnknownSection(section.into());
                    errors.push(ListError { source, text: line.into(), problem, fallback: Fallback::ReadAsBlock });
                    Action::Block
                }
            };
            continue;
        }
        match parse_line(action, line, source.clone()) {
            Ok(rule) => rules.push(rule),
            Err(problem) => {
                let (fallback, stand_in) = match action {
                    Action::Allow => (Fallback::LeftOut, None),
                    Action::Block => fall_back_to_block(line, &problem, &source),
                };
                rules.extend(stand_in);
                errors.push(ListError { source, text: line.into(), problem, fallback });
            }
        }
    }
    (rules, errors)
}

/// What stands in for a `[block]` line that could not be read: a block of the host it names,
/// read as leniently as possible (any scheme, port or `*.` set aside). A line for a scheme
/// Satchel never opens needs nothing, and a line with no readable host cannot be replaced.
fn fall_back_to_block(line: &str, problem: &Problem, source: &SourceLine) -> (Fallback, Option<Rule>) {
    let entry = line.split(char::is_whitespace).next().unwrap_or(line);
    if let (Problem::UnsupportedScheme(scheme), true) = (problem, entry.contains("://")) {
        return (Fallback::SchemeNeverOpened(scheme.clone()), None);
    }
    let Some(host) = lenient_host(entry) else { return (Fallback::ListsUnusable, None) };
    let named = match &host {
        HostPattern::Any => "every host no other entry names".to_owned(),
        HostPattern::Domain { host, subdomains: true } => format!("all of {host} (and its subdomains)"),
        HostPattern::Domain { host, .. } | HostPattern::Ip(host) => format!("all of {host}"),
    };
    let rule = Rule {
        action: Action::Block,
        scheme: None,
        host,
        port: None,
        path: "".into(),
        query: Box::new([]),
        resource_hosts: Box::new([]),
        text: entry.into(),
        source: source.clone(),
        refused: Some(problem.clone()),
    };
    (Fallback::HostBlocked(named), Some(rule))
}

/// The host an entry names, whatever else is wrong with it.
fn lenient_host(entry: &str) -> Option<HostPattern> {
    let rest = without_fragment(entry);
    let rest = rest.split_once("://").map_or(rest, |(_, rest)| rest);
    let authority = without_user_info(&rest[..host_end(rest)]);
    let host = match split_port(authority) {
        Ok((host, _)) => host,
        Err(_) => authority.rsplit_once(':').map_or(authority, |(host, _)| host),
    };
    parse_host(host.strip_prefix("*.").unwrap_or(host)).ok()
}

/// A `#` starts a comment at the start of a line or after white space; inside an entry it is
/// a fragment, which [`parse_entry`] ignores.
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    let cut = (0..bytes.len()).find(|&i| bytes[i] == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()));
    &line[..cut.unwrap_or(line.len())]
}

fn parse_line(action: Action, line: &str, source: SourceLine) -> Result<Rule, Problem> {
    let (entry, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim();
    let resource_hosts = if rest.is_empty() {
        Vec::new()
    } else {
        let hosts = rest.strip_prefix("uses:").ok_or_else(|| Problem::TrailingText(rest.into()))?;
        if action == Action::Block {
            return Err(Problem::UsesOnBlock);
        }
        parse_resource_hosts(hosts)?
    };
    let mut rule = parse_entry(action, entry, source)?;
    rule.resource_hosts = resource_hosts.into();
    Ok(rule)
}

fn parse_resource_hosts(hosts: &str) -> Result<Vec<HostPattern>, Problem> {
    let names: Vec<&str> = hosts.split([',', ' ', '\t']).filter(|h| !h.is_empty()).collect();
    if names.is_empty() {
        return Err(Problem::EmptyUses);
    }
    names
        .into_iter()
        .map(|name| {
            if name.contains(['/', '*', '?']) {
                return Err(Problem::BadResourceHost(name.into()));
            }
            parse_host(name).map_err(|_| Problem::BadResourceHost(name.into()))
        })
        .collect()
}

/// Parses one filter, `[scheme://][user:pass@][.]host[:port][/path][?query][#fragment]`.
pub fn parse_entry(action: Action, entry: &str, source: SourceLine) -> Result<Rule, Problem> {
    let (scheme, rest) = split_scheme(without_fragment(entry))?;
    let host_end = host_end(rest);
    let (authority, rest) = rest.split_at(host_end);
    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    };

    let (host, port) = split_port(without_user_info(authority))?;
    let host = parse_host(host)?;
    Ok(Rule {
        action,
        scheme,
        host,
        port,
        path: canonical_path(path).into(),
        query: query.map(parse_query).unwrap_or_default().into(),
        resource_hosts: Box::new([]),
        text: entry.into(),
        source,
        refused: None,
    })
}

/// A fragment never reaches a server, so Chrome filters without it.
fn without_fragment(entry: &str) -> &str {
    entry.split('#').next().unwrap_or(entry)
}

/// Chrome ignores `user:pass@` in a filter; the host is what follows the last `@`, as in a URL.
fn without_user_info(authority: &str) -> &str {
    authority.rsplit_once('@').map_or(authority, |(_, host)| host)
}

fn split_scheme(entry: &str) -> Result<(Option<Scheme>, &str), Problem> {
    if let Some((scheme, rest)) = entry.split_once("://") {
        let scheme = scheme.to_ascii_lowercase();
        return match Scheme::from_name(&scheme) {
            Some(known) => Ok((Some(known), rest)),
            None => Err(Problem::UnsupportedScheme(scheme)),
        };
    }
    // `javascript:…`, `data:…`, `about:blank`: a scheme without `//`. A colon followed by digits
    // is a port, and a name with a dot before the colon is a host.
    if let Some((before, after)) = entry.split_once(':') {
        let is_port = after.split(['/', '?']).next().is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()));
        let looks_like_scheme = !before.is_empty()
            && !before.contains(['.', '/', '['])
            && before.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-".contains(&b));
        if looks_like_scheme && !is_port {
            return Err(Problem::UnsupportedScheme(before.to_ascii_lowercase()));
        }
    }
    Ok((None, entry))
}

/// Where the host (and port) part of an entry ends; brackets protect an IPv6 literal's colons.
fn host_end(rest: &str) -> usize {
    let search_from =
        if rest.starts_with('[') || rest.starts_with(".[") { rest.find(']').map_or(0, |i| i + 1) } else { 0 };
    rest[search_from..].find(['/', '?']).map_or(rest.len(), |i| i + search_from)
}

fn split_port(host_and_port: &str) -> Result<(&str, Option<u16>), Problem> {
    let colon = match host_and_port.rfind(':') {
        Some(i) if !host_and_port[i..].contains(']') => i,
        _ => return Ok((host_and_port, None)),
    };
    let (host, port) = (&host_and_port[..colon], &host_and_port[colon + 1..]);
    match port.parse::<u16>() {
        Ok(number) if number > 0 && port.bytes().all(|b| b.is_ascii_digit()) => Ok((host, Some(number))),
        _ => Err(Problem::BadPort(port.into())),
    }
}

fn parse_host(host: &str) -> Result<HostPattern, Problem> {
    if host == "*" {
        return Ok(HostPattern::Any);
    }
    if let Some(rest) = host.strip_prefix("*.") {
        return Err(Problem::SubdomainWildcard(rest.into()));
    }
    if host.contains('*') {
        return Err(Problem::WildcardInHost);
    }
    let (exact, name) = match host.strip_prefix('.') {
        Some(name) => (true, name),
        None => (false, host),
    };
    match canonical_host(name) {
        Some((domain, HostKind::Domain)) => Ok(HostPattern::Domain { host: domain.into(), subdomains: !exact }),
        Some((ip, _)) => Ok(HostPattern::Ip(ip.into())),
        None => Err(Problem::BadHost(host.into())),
    }
}

/// The path as URLs are canonicalised, so `/%66orum` in a rule matches `/forum` in a URL.
fn canonical_path(path: &str) -> String {
    if path.is_empty() || path == "/" {
        return String::new();
    }
    let resolved = url::Url::parse(&format!("http://h{path}"))
        .map(|url| url.path().to_owned())
        .unwrap_or_else(|_| path.to_owned());
    normalise_escapes(&resolved)
}

/// Chrome's query grammar. A `*` is a wildcard only as written at the end of a value, or of a
/// key with no value; `%2A` is always a literal star. Repeated conditions count once, as in
/// Chrome, so repeating one does not raise an entry's precedence.
fn parse_query(query: &str) -> Vec<QueryCondition> {
    let mut conditions = Vec::new();
    for token in query.split('&').filter(|token| !token.is_empty()) {
        let (key, value) = token.split_once('=').unwrap_or((token, ""));
        let condition = match (value.is_empty(), key.strip_suffix('*'), value.strip_suffix('*')) {
            (true, Some(stem), _) => {
                QueryCondition { key: decode_component(stem).into(), key_prefix: true, value: "".into(), prefix: true }
            }
            (false, _, Some(stem)) => QueryCondition {
                key: decode_component(key).into(),
                key_prefix: false,
                value: decode_component(stem).into(),
                prefix: true,
            },
            _ => QueryCondition {
                key: decode_component(key).into(),
                key_prefix: false,
                value: decode_component(value).into(),
                prefix: false,
            },
        };
        if !conditions.contains(&condition) {
            conditions.push(condition);
        }
    }
    conditions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(text: &str) -> Result<Rule, Problem> {
        parse_entry(Action::Allow, text, SourceLine { file: "t".into(), line: 1 })
    }

    #[test]
    fn bare_host_covers_subdomains_and_leading_dot_does_not() {
        assert_eq!(
            entry("example.com").unwrap().host,
            HostPattern::Domain { host: "example.com".into(), subdomains: true }
        );
        assert_eq!(
            entry(".www.example.com").unwrap().host,
            HostPattern::Domain { host: "www.example.com".into(), subdomains: false }
        );
        assert_eq!(entry("*").unwrap().host, HostPattern::Any);
    }

    #[test]
    fn all_parts_of_a_filter_are_read() {
        let rule = entry("https://Example.COM:8443/Stories/%66un?lang=en&age=5*").unwrap();
        assert_eq!(rule.scheme, Some(Scheme::Https));
        assert_eq!(rule.port, Some(8443));
        assert_eq!(&*rule.path, "/Stories/fun");
        assert_eq!(rule.query.len(), 2);
        assert!(rule.query[1].prefix && &*rule.query[1].value == "5");
    }

    #[test]
    fn ip_rules_are_canonical() {
        assert_eq!(entry("2130706433").unwrap().host, HostPattern::Ip("127.0.0.1".into()));
        assert_eq!(entry("[::1]:8080/x").unwrap().host, HostPattern::Ip("[::1]".into()));
    }

    #[test]
    fn subdomain_wildcard_gets_a_suggestion() {
        let problem = entry("*.example.com").unwrap_err();
        assert_eq!(problem, Problem::SubdomainWildcard("example.com".into()));
        assert!(problem.to_string().contains("use `example.com`"));
    }

    #[test]
    fn bad_entries_say_what_is_wrong() {
        assert_eq!(entry("ex*ample.com").unwrap_err(), Problem::WildcardInHost);
        assert_eq!(entry("ftp://example.com").unwrap_err(), Problem::UnsupportedScheme("ftp".into()));
        assert_eq!(entry("javascript:alert(1)").unwrap_err(), Problem::UnsupportedScheme("javascript".into()));
        assert_eq!(entry("example.com:99999").unwrap_err(), Problem::BadPort("99999".into()));
        assert_eq!(entry("exa mple.com").unwrap_err(), Problem::BadHost("exa mple.com".into()));
        assert!(entry("localhost:8080").is_ok());
    }

    #[test]
    fn list_sections_comments_and_errors_with_line_numbers() {
        let text = "# comment\nfirst.example\n[block]\nbad.example/x  # why\n[nope]\n*.oops.example\n[allow]\nsite.example  uses: cdn.example, .img.example\n";
        let (rules, errors) = parse_list("ks1.list", text);
        let summary: Vec<_> = rules.iter().map(|r| (r.action, &*r.text, r.source.line)).collect();
        // Line 6, under the unknown section, is read as a [block] line; as it cannot be read,
        // a block of its host stands in for it.
        assert_eq!(
            summary,
            [
                (Action::Allow, "first.example", 2),
                (Action::Block, "bad.example/x", 4),
                (Action::Block, "*.oops.example", 6),
                (Action::Allow, "site.example", 8)
            ]
        );
        assert_eq!(rules[3].resource_hosts.len(), 2);
        let lines: Vec<_> = errors.iter().map(|e| e.source.to_string()).collect();
        assert_eq!(lines, ["ks1.list:5", "ks1.list:6"]);
        assert!(errors[1].to_string().starts_with("ks1.list:6: `*.oops.example`: "));
    }

    fn conditions(text: &str) -> Vec<(String, bool, String, bool)> {
        entry(text)
            .unwrap()
            .query
            .iter()
            .map(|c| (c.key.to_string(), c.key_prefix, c.value.to_string(), c.prefix))
            .collect()
    }

    #[test]
    fn every_query_condition_chrome_reads_is_read() {
        let own = |key: &str, key_prefix, value: &str, prefix| (key.to_owned(), key_prefix, value.to_owned(), prefix);
        assert_eq!(
            conditions("a.example/x?v=1&list=*&lang=en*"),
            [own("v", false, "1", false), own("list", false, "", true), own("lang", false, "en", true)]
        );
        assert_eq!(
            conditions("a.example?flag&empty="),
            [own("flag", false, "", false), own("empty", false, "", false)]
        );
        assert_eq!(conditions("a.example?fo*&*"), [own("fo", true, "", true), own("", true, "", true)]);
        // A key ending in `*` with an empty value is a key prefix too, as in Chrome; an
        // escaped star is a letter.
        assert_eq!(conditions("a.example?ab*="), [own("ab", true, "", true)]);
        assert_eq!(conditions("a.example?a%2A=&b=%2A"), [own("a*", false, "", false), own("b", false, "*", false)]);
        assert_eq!(conditions("a.example?a=1&a=1&&"), [own("a", false, "1", false)]);
    }

    #[test]
    fn user_info_and_fragments_are_ignored_as_chrome_ignores_them() {
        let rule = entry("http://user:pass@Google.com:8080/whatever#top").unwrap();
        assert_eq!((rule.scheme, rule.port, &*rule.path), (Some(Scheme::Http), Some(8080), "/whatever"));
        assert_eq!(rule.host, HostPattern::Domain { host: "google.com".into(), subdomains: true });
        assert_eq!(
            entry("a@b@.www.example.com").unwrap().host,
            HostPattern::Domain { host: "www.example.com".into(), subdomains: false }
        );
        assert_eq!(entry("user@").unwrap_err(), Problem::BadHost("".into()));
    }

    #[test]
    fn a_bad_block_line_falls_back_to_blocking_its_host_or_the_lists() {
        let text = "[block]\nhttp://a.example:99999/x\n*.b.example/y\nftp://c.example\njavascript:alert(1)\nex*ample.com\nd.example uses: e.example\n[allow]\nf.example:0\n";
        let (rules, errors) = parse_list("l", text);
        let fallbacks: Vec<_> = errors.iter().map(|e| e.fallback.clone()).collect();
        assert_eq!(
            fallbacks,
            [
                Fallback::HostBlocked("all of a.example (and its subdomains)".into()),
                Fallback::HostBlocked("all of b.example (and its subdomains)".into()),
                Fallback::SchemeNeverOpened("ftp".into()),
                Fallback::HostBlocked("all of javascript (and its subdomains)".into()),
                Fallback::ListsUnusable,
                Fallback::HostBlocked("all of d.example (and its subdomains)".into()),
                Fallback::LeftOut,
            ]
        );
        let stand_ins: Vec<_> =
            rules.iter().map(|r| (r.host.key().unwrap(), &*r.path, r.query.len(), r.refused.is_some())).collect();
        assert_eq!(
            stand_ins,
            [
                ("a.example", "", 0, true),
                ("b.example", "", 0, true),
                ("javascript", "", 0, true),
                ("d.example", "", 0, true)
            ]
        );
        assert!(rules.iter().all(|r| r.action == Action::Block && r.port.is_none() && r.scheme.is_none()));
    }

    #[test]
    fn uses_is_only_for_allow_entries_and_needs_hosts() {
        let (_, errors) = parse_list("l", "[block]\na.example uses: b.example\n[allow]\nc.example uses:\nd.example extra\ne.example uses: https://f.example\n");
        let problems: Vec<_> = errors.into_iter().map(|e| e.problem).collect();
        assert_eq!(
            problems,
            [
                Problem::UsesOnBlock,
                Problem::EmptyUses,
                Problem::TrailingText("extra".into()),
                Problem::BadResourceHost("https://f.example".into())
            ]
        );
    }
}
