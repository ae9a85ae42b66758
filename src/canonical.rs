//! Canonical URLs: the one form every decision is made on.
//!
//! A URL is first canonicalised as a WHATWG browser would (the `url` crate: IDNA hosts, IPv4 in
//! any notation, dot segments, `%2e%2e`), then hardened further: percent-escaped unreserved
//! characters in the path are decoded (`/%66orum` is `/forum`), remaining escapes are
//! upper-cased, and a trailing dot on a host name is dropped (`example.com.` is `example.com`).
//!
//! Most URLs a browser requests are already canonical. [`CanonicalUrl::parse`] checks that in one
//! pass over the bytes and borrows the pieces; anything it is not certain about goes through the
//! `url` crate. The two paths agree on every input (tested over a real crawl and by property).

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The schemes a decision can allow. Everything else is blocked before any rule is consulted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    Http,
    Https,
    Ws,
    Wss,
}

impl Scheme {
    pub fn from_name(name: &str) -> Option<Scheme> {
        match name {
            "http" => Some(Scheme::Http),
            "https" => Some(Scheme::Https),
            "ws" => Some(Scheme::Ws),
            "wss" => Some(Scheme::Wss),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
            Scheme::Ws => "ws",
            Scheme::Wss => "wss",
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http | Scheme::Ws => 80,
            Scheme::Https | Scheme::Wss => 443,
        }
    }

    /// WebSocket schemes may be requested by a page but never navigated to.
    pub fn is_websocket(self) -> bool {
        matches!(self, Scheme::Ws | Scheme::Wss)
    }
}

/// What kind of host a URL names. IP literals are only ever matched by rules naming that IP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostKind {
    Domain,
    Ipv4,
    Ipv6,
}

/// A URL in canonical form, borrowing from the input where it already was canonical.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CanonicalUrl<'a> {
    pub scheme: Scheme,
    /// Lower-case ASCII; IPv6 in brackets (`[::1]`), IPv4 dotted-decimal.
    pub host: Cow<'a, str>,
    pub host_kind: HostKind,
    /// The port in effect: the explicit one, or the scheme's default.
    pub port: u16,
    /// Starts with `/`; no dot segments; unreserved characters decoded.
    pub path: Cow<'a, str>,
    /// Without the `?`; `None` when the URL has no `?`.
    pub query: Option<Cow<'a, str>>,
}

/// Why a string is not a URL that a decision can allow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unusable {
    /// Not a URL at all (no scheme, a bad host, …).
    Invalid,
    /// A URL with a scheme other than http, https, ws and wss; carries the scheme.
    Scheme(String),
}

impl<'a> CanonicalUrl<'a> {
    pub fn parse(input: &'a str) -> Result<CanonicalUrl<'a>, Unusable> {
        match parse_already_canonical(input) {
            Some(url) => Ok(url),
            None => parse_with_url_crate(input),
        }
    }

    /// The reference path alone: the `url` crate, then Satchel's hardening. [`CanonicalUrl::parse`]
    /// gives the same result faster for input that is already canonical.
    pub fn parse_reference(input: &str) -> Result<CanonicalUrl<'static>, Unusable> {
        parse_with_url_crate(input)
    }

    /// The port as written in a URL: empty for the scheme's default.
    pub fn explicit_port(&self) -> Option<u16> {
        (self.port != self.scheme.default_port()).then_some(self.port)
    }

    /// `scheme://host[:port]` with the given path and query.
    pub fn with_path_and_query(&self, path: &str, query: Option<&str>) -> String {
        let mut out = String::with_capacity(self.host.len() + path.len() + query.map_or(0, str::len) + 16);
        out.push_str(self.scheme.name());
        out.push_str("://");
        out.push_str(&self.host);
        if let Some(port) = self.explicit_port() {
            out.push(':');
            out.push_str(&port.to_string());
        }
        out.push_str(path);
        if let Some(query) = query {
            out.push('?');
            out.push_str(query);
        }
        out
    }
}

impl std::fmt::Display for CanonicalUrl<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.with_path_and_query(&self.path, self.query.as_deref()))
    }
}

/// Byte classes for the one-pass check of [`parse_already_canonical`].
const HOST: u8 = 1; // lower-case letters, digits, `-`, `.`
const PATH: u8 = 2; // kept as-is in a path, and no `%` to decode
const QUERY: u8 = 4; // kept as-is in a special URL's query

const CLASSES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let alnum = c.is_ascii_alphanumeric();
        let mut class = 0;
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.' {
            class |= HOST;
        }
        if alnum
            || matches!(
                c,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
                    | b'/'
            )
        {
            class |= PATH;
        }
        if c > b' ' && c < 0x7f && !matches!(c, b'"' | b'#' | b'<' | b'>' | b'\'' | b'\\') {
            class |= QUERY;
        }
        table[b] = class;
        b += 1;
    }
    table
};

/// Accepts only input that the WHATWG parser would return unchanged, piece by piece, in one
/// pass over the bytes. Returns `None` (meaning "ask the url crate"), never a wrong answer.
fn parse_already_canonical(input: &str) -> Option<CanonicalUrl<'_>> {
    let (scheme, rest) = if let Some(rest) = input.strip_prefix("https://") {
        (Scheme::Https, rest)
    } else if let Some(rest) = input.strip_prefix("http://") {
        (Scheme::Http, rest)
    } else if let Some(rest) = input.strip_prefix("wss://") {
        (Scheme::Wss, rest)
    } else {
        (Scheme::Ws, input.strip_prefix("ws://")?)
    };
    let bytes = rest.as_bytes();

    // Host: labels of [a-z0-9-], none empty, none punycode (`xn--` needs IDNA validation), and
    // a last label not starting with a digit (the WHATWG parser would try it as IPv4).
    let mut i = 0;
    let mut label_start = 0;
    while i < bytes.len() && CLASSES[bytes[i] as usize] & HOST != 0 {
        if bytes[i] == b'.' {
            if i == label_start || bytes[label_start..i].starts_with(b"xn--") {
                return None;
            }
            label_start = i + 1;
        }
        i += 1;
    }
    let host_end = i;
    if label_start == host_end
        || bytes[label_start..host_end].starts_with(b"xn--")
        || bytes[label_start].is_ascii_digit()
    {
        return None;
    }

    // Path: no `%`, no backslash, no dot segments.
    let mut segment_start = i;
    while i < bytes.len() && CLASSES[bytes[i] as usize] & PATH != 0 {
        if bytes[i] == b'/' {
            if is_dot_segment(&bytes[segment_start..i]) {
                return None;
            }
            segment_start = i;
        }
        i += 1;
    }
    if is_dot_segment(&bytes[segment_start..i]) || (i > host_end && bytes[host_end] != b'/') {
        return None;
    }
    let path_end = i;

    // Query (no fragment: a `#` sends the URL down the slow path).
    let query = match bytes.get(i) {
        None => None,
        Some(b'?') => {
            i += 1;
            while i < bytes.len() && CLASSES[bytes[i] as usize] & QUERY != 0 {
                i += 1;
            }
            if i != bytes.len() {
                return None;
            }
            Some(&rest[path_end + 1..])
        }
        Some(_) => return None,
    };
    let path = if path_end == host_end { "/" } else { &rest[host_end..path_end] };
    Some(CanonicalUrl {
        scheme,
        host: Cow::Borrowed(&rest[..host_end]),
        host_kind: HostKind::Domain,
        port: scheme.default_port(),
        path: Cow::Borrowed(path),
        query: query.map(Cow::Borrowed),
    })
}

/// `segment` runs from a `/` to the next one: is it `/.` or `/..`?
fn is_dot_segment(segment: &[u8]) -> bool {
    matches!(segment, b"/." | b"/..")
}

fn parse_with_url_crate(input: &str) -> Result<CanonicalUrl<'static>, Unusable> {
    let url = url::Url::parse(input.trim()).map_err(|_| Unusable::Invalid)?;
    let scheme = Scheme::from_name(url.scheme()).ok_or_else(|| Unusable::Scheme(url.scheme().to_owned()))?;
    let (host, host_kind) = match url.host().ok_or(Unusable::Invalid)? {
        url::Host::Domain(domain) => (without_root_dot(domain).ok_or(Unusable::Invalid)?, HostKind::Domain),
        url::Host::Ipv4(ip) => (ip.to_string(), HostKind::Ipv4),
        url::Host::Ipv6(ip) => (format!("[{ip}]"), HostKind::Ipv6),
    };
    Ok(CanonicalUrl {
        scheme,
        host: Cow::Owned(host),
        host_kind,
        port: url.port().unwrap_or(scheme.default_port()),
        path: Cow::Owned(normalise_escapes(url.path())),
        query: url.query().map(|q| Cow::Owned(q.to_owned())),
    })
}

/// `example.com.` names the same host as `example.com`. Names with empty labels (`a..b`, `.`)
/// name no host anyone can list, so they are refused (and so blocked).
fn without_root_dot(domain: &str) -> Option<String> {
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    (!domain.is_empty() && !domain.split('.').any(str::is_empty)).then(|| domain.to_owned())
}

/// Decodes `%XX` escapes of unreserved characters (RFC 3986: letters, digits, `-._~`) and
/// upper-cases the hex of every other escape, so that equal paths compare equal.
pub fn normalise_escapes(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(hi), Some(lo)) = (hex_value(bytes[i + 1]), hex_value(bytes[i + 2])) {
                let decoded = hi * 16 + lo;
                if decoded.is_ascii_alphanumeric() || b"-._~".contains(&decoded) {
                    out.push(decoded as char);
                } else {
                    out.push('%');
                    out.push(bytes[i + 1].to_ascii_uppercase() as char);
                    out.push(bytes[i + 2].to_ascii_uppercase() as char);
                }
                i += 3;
                continue;
            }
        }
        // Multi-byte UTF-8 cannot occur: the url crate has percent-encoded it already.
        out.push(bytes[i] as char);
        i += 1;
    }
    out
}

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Parses a host as a rule names it, the same way URL hosts are parsed, so that a rule for
/// `127.0.0.1` matches `http://2130706433/` and a rule for `bücher.de` matches its punycode.
pub fn canonical_host(host: &str) -> Option<(String, HostKind)> {
    if host.starts_with('[') {
        let ip: Ipv6Addr = host.strip_prefix('[')?.strip_suffix(']')?.parse().ok()?;
        return Some((format!("[{ip}]"), HostKind::Ipv6));
    }
    match url::Host::parse(host).ok()? {
        url::Host::Domain(domain) => without_root_dot(&domain).map(|domain| (domain, HostKind::Domain)),
        url::Host::Ipv4(ip) => Some((Ipv4Addr::to_string(&ip), HostKind::Ipv4)),
        url::Host::Ipv6(ip) => Some((format!("[{ip}]"), HostKind::Ipv6)),
    }
}

/// Decodes a query key or value the way a form would (`+` is a space), so that a condition and
/// a URL compare equal however either was escaped.
pub fn decode_component(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={text}").as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(input: &str) -> String {
        CanonicalUrl::parse(input).expect("usable URL").to_string()
    }

    #[test]
    fn decodes_unreserved_escapes_in_the_path() {
        assert_eq!(canonical("https://www.cbeebies.com/%67rownups"), "https://www.cbeebies.com/grownups");
        assert_eq!(canonical("https://a.com/%7euser/%2fx"), "https://a.com/~user/%2Fx");
    }

    #[test]
    fn resolves_dot_segments_including_escaped_ones() {
        assert_eq!(canonical("https://a.com/games/../grownups"), "https://a.com/grownups");
        assert_eq!(canonical("https://a.com/games/%2e%2e/grownups"), "https://a.com/grownups");
        assert_eq!(canonical("https://a.com/games/.%2E/grownups"), "https://a.com/grownups");
    }

    #[test]
    fn ip_literals_in_any_notation_become_one_form() {
        for input in ["http://2130706433/", "http://0x7f.0.0.1/", "http://0177.0.0.1/", "http://127.1/"] {
            let url = CanonicalUrl::parse(input).unwrap();
            assert_eq!((url.host.as_ref(), url.host_kind), ("127.0.0.1", HostKind::Ipv4), "{input}");
        }
        let v6 = CanonicalUrl::parse("http://[0:0::1]/").unwrap();
        assert_eq!((v6.host.as_ref(), v6.host_kind), ("[::1]", HostKind::Ipv6));
    }

    #[test]
    fn hosts_are_idna_normalised_and_lose_a_trailing_dot() {
        assert_eq!(CanonicalUrl::parse("https://WWW.Example.COM./").unwrap().host, "www.example.com");
        // Cyrillic "е" in place of Latin "e": a different host, in punycode.
        let spoof = CanonicalUrl::parse("https://www.cbeеbies.com/").unwrap();
        assert!(spoof.host.starts_with("www.xn--"), "{}", spoof.host);
    }

    #[test]
    fn userinfo_never_hides_the_real_host() {
        assert_eq!(CanonicalUrl::parse("https://www.cbeebies.com@example.net/").unwrap().host, "example.net");
    }

    #[test]
    fn other_schemes_are_named() {
        for (input, scheme) in [
            ("javascript:alert(1)", "javascript"),
            ("file:///etc/hostname", "file"),
            ("view-source:https://a.com/", "view-source"),
            ("data:text/html,hi", "data"),
        ] {
            assert_eq!(CanonicalUrl::parse(input), Err(Unusable::Scheme(scheme.into())), "{input}");
        }
        assert_eq!(CanonicalUrl::parse("not a url"), Err(Unusable::Invalid));
    }

    #[test]
    fn ports_default_by_scheme() {
        assert_eq!(CanonicalUrl::parse("https://a.com:443/").unwrap().port, 443);
        assert_eq!(CanonicalUrl::parse("http://a.com:8080/").unwrap().explicit_port(), Some(8080));
        assert_eq!(CanonicalUrl::parse("wss://a.com/").unwrap().port, 443);
    }

    #[test]
    fn rule_hosts_parse_like_url_hosts() {
        assert_eq!(canonical_host("2130706433"), Some(("127.0.0.1".into(), HostKind::Ipv4)));
        assert_eq!(canonical_host("[::1]"), Some(("[::1]".into(), HostKind::Ipv6)));
        assert_eq!(canonical_host("BÜCHER.de").unwrap().0, "xn--bcher-kva.de");
        assert_eq!(canonical_host("bad host"), None);
    }
}
