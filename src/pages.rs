//! Pupil pages: the HTML templates in `assets/pupil` filled with Fluent messages from
//! `locales/` and with runtime values, HTML-escaped (the contract is in `assets/README.md`).
//!
//! Everything is compiled in, so a kiosk never shows a page with a missing file, and an
//! unknown placeholder is an error a test catches rather than braces shown to a child.

use std::borrow::Cow;
use std::fmt::Write;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::FluentResource;
use serde::Deserialize;
use unic_langid::LanguageIdentifier;

/// A Fluent file's path and its text, compiled in.
type FluentFile = (&'static str, &'static str);

/// The shipped locales: tag, right-to-left, and each Fluent file. `en-GB` is the reference
/// every other locale falls back to for a message it does not have (the teacher-only
/// `kiosk.ftl` exists in en-GB and cy only).
const LOCALES: &[(&str, bool, &[FluentFile])] = &[
    (
        "en-GB",
        false,
        &[
            ("locales/en-GB/pupil.ftl", include_str!("../locales/en-GB/pupil.ftl")),
            ("locales/en-GB/kiosk.ftl", include_str!("../locales/en-GB/kiosk.ftl")),
            ("locales/en-GB/console.ftl", include_str!("../locales/en-GB/console.ftl")),
        ],
    ),
    (
        "cy",
        false,
        &[
            ("locales/cy/pupil.ftl", include_str!("../locales/cy/pupil.ftl")),
            ("locales/cy/kiosk.ftl", include_str!("../locales/cy/kiosk.ftl")),
            ("locales/cy/console.ftl", include_str!("../locales/cy/console.ftl")),
        ],
    ),
    ("pl", false, &[("locales/pl/pupil.ftl", include_str!("../locales/pl/pupil.ftl"))]),
    ("ur", true, &[("locales/ur/pupil.ftl", include_str!("../locales/ur/pupil.ftl"))]),
    ("ar", true, &[("locales/ar/pupil.ftl", include_str!("../locales/ar/pupil.ftl"))]),
];

/// The tags of every shipped locale, for configuration errors and tests.
pub fn locale_tags() -> impl Iterator<Item = &'static str> {
    LOCALES.iter().map(|(tag, _, _)| *tag)
}

/// One page the kiosk serves under `satchel://pupil/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    Home,
    Blocked,
    Offline,
    Thanks,
}

impl Page {
    pub const ALL: [Page; 4] = [Page::Home, Page::Blocked, Page::Offline, Page::Thanks];

    pub fn file_name(self) -> &'static str {
        match self {
            Page::Home => "home.html",
            Page::Blocked => "blocked.html",
            Page::Offline => "offline.html",
            Page::Thanks => "thanks.html",
        }
    }

    pub fn from_file_name(name: &str) -> Option<Page> {
        Page::ALL.into_iter().find(|page| page.file_name() == name)
    }

    /// The id of the page's one sentence, the words its Listen button says.
    pub fn sentence(self) -> &'static str {
        match self {
            Page::Home => "home-sentence",
            Page::Blocked => "blocked-sentence",
            Page::Offline => "offline-sentence",
            Page::Thanks => "thanks-sentence",
        }
    }

    fn template(self) -> &'static str {
        match self {
            Page::Home => include_str!("../assets/pupil/home.html"),
            Page::Blocked => include_str!("../assets/pupil/blocked.html"),
            Page::Offline => include_str!("../assets/pupil/offline.html"),
            Page::Thanks => include_str!("../assets/pupil/thanks.html"),
        }
    }
}

/// The static files the pages link to, with their media types.
pub fn static_asset(name: &str) -> Option<(&'static str, &'static str)> {
    match name {
        "pupil.css" => Some((include_str!("../assets/pupil/pupil.css"), "text/css; charset=utf-8")),
        "pupil.js" => Some((include_str!("../assets/pupil/pupil.js"), "text/javascript; charset=utf-8")),
        _ => None,
    }
}

/// A picture tile on the Home page.
#[derive(Clone, Debug, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Tile {
    pub title: String,
    pub url: String,
    pub icon: String,
    #[serde(default)]
    pub colour: Option<String>,
}

/// The runtime values a page may ask for (`{{@name}}`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Values<'a> {
    pub address: &'a str,
    pub search_action: &'a str,
    pub search_param: &'a str,
    pub tiles: &'a [Tile],
    /// Whether the kiosk can speak this locale: Listen buttons show only then.
    pub listen: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PageError {
    #[error("no locale `{}`: Satchel has {}", .0, locale_tags().collect::<Vec<_>>().join(", "))]
    UnknownLocale(String),
    #[error("{file}:{line}: {message}")]
    Message { file: &'static str, line: usize, message: String },
    #[error("{page}: no message `{id}` in any locale")]
    UnknownMessage { page: &'static str, id: String },
    #[error("{page}: unknown value `{{{{@{name}}}}}`")]
    UnknownValue { page: &'static str, name: String },
    #[error("{page}: a placeholder is not closed")]
    Unclosed { page: &'static str },
}

/// One locale's messages, ready to fill pages. Cheap to share between threads.
pub struct Pages {
    tag: &'static str,
    rtl: bool,
    bundle: FluentBundle<FluentResource>,
    fallback: Option<Box<Pages>>,
}

impl Pages {
    pub fn new(tag: &str) -> Result<Pages, PageError> {
        let &(tag, rtl, files) = LOCALES
            .iter()
            .find(|(t, _, _)| t.eq_ignore_ascii_case(tag))
            .ok_or_else(|| PageError::UnknownLocale(tag.to_owned()))?;
        let fallback = if tag == "en-GB" { None } else { Some(Box::new(Pages::new("en-GB")?)) };
        let langid: LanguageIdentifier = tag.parse().map_err(|_| PageError::UnknownLocale(tag.to_owned()))?;
        let mut bundle = FluentBundle::new_concurrent(vec![langid]);
        // Unicode isolation marks would end up inside attribute values; no message has
        // placeables that need them.
        bundle.set_use_isolating(false);
        for &(file, text) in files {
            let resource = FluentResource::try_new(text.to_owned()).map_err(|(_, errors)| {
                let offset = errors.first().map_or(0, |e| e.pos.start);
                PageError::Message { file, line: line_of(text, offset), message: format!("{:?}", errors[0].kind) }
            })?;
            bundle.add_resource(resource).map_err(|errors| PageError::Message {
                file,
                line: 0,
                message: format!("{:?}", errors.first()),
            })?;
        }
        Ok(Pages { tag, rtl, bundle, fallback })
    }

    pub fn tag(&self) -> &'static str {
        self.tag
    }

    /// Whether the locale is written right to left (ur, ar).
    pub fn right_to_left(&self) -> bool {
        self.rtl
    }

    /// The message with this id, from this locale or else from en-GB.
    pub fn message(&self, id: &str) -> Option<Cow<'_, str>> {
        self.message_with(id, &[])
    }

    /// The message with this id and its numbers (`{ $total }`) filled in.
    pub fn message_with(&self, id: &str, numbers: &[(&str, u64)]) -> Option<Cow<'_, str>> {
        match self.bundle.get_message(id).and_then(|m| m.value()) {
            Some(pattern) => {
                let mut args = fluent_bundle::FluentArgs::new();
                for (name, value) in numbers {
                    args.set(*name, *value);
                }
                let mut errors = Vec::new();
                Some(self.bundle.format_pattern(pattern, (!numbers.is_empty()).then_some(&args), &mut errors))
            }
            None => self.fallback.as_ref()?.message_with(id, numbers),
        }
    }

    /// The page with every placeholder filled.
    pub fn render(&self, page: Page, values: &Values<'_>) -> Result<String, PageError> {
        let template = page.template();
        let name = page.file_name();
        let mut out = String::with_capacity(template.len() + 1024);
        let mut rest = template;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find("}}").ok_or(PageError::Unclosed { page: name })? + start;
            let key = &rest[start + 2..end];
            match key.strip_prefix('@') {
                Some("lang") => out.push_str(self.tag),
                Some("dir") => out.push_str(if self.rtl { "rtl" } else { "ltr" }),
                Some("blocked_url") => escape_into(&mut out, values.address),
                Some("search_action") => escape_into(&mut out, values.search_action),
                Some("search_param") => escape_into(&mut out, values.search_param),
                Some("tiles") => self.tiles_html(&mut out, values.tiles),
                Some("listen") => out.push_str(if values.listen { "on" } else { "off" }),
                Some(other) => return Err(PageError::UnknownValue { page: name, name: other.to_owned() }),
                None => {
                    let text = self
                        .message(key)
                        .ok_or_else(|| PageError::UnknownMessage { page: name, id: key.to_owned() })?;
                    escape_into(&mut out, &text);
                }
            }
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// One `<li>` per tile, every title, URL and colour escaped; nothing at all for no tiles,
    /// so the page's empty message shows. Only web addresses make tiles: a `javascript:` or
    /// `file:` tile (from a bundle or a configuration) is never shown, whatever sent it. Each
    /// tile has a small speaker that says its name.
    fn tiles_html(&self, out: &mut String, tiles: &[Tile]) {
        let listen = self.message("listen").unwrap_or_default();
        for tile in tiles.iter().filter(|tile| opens_on_the_web(&tile.url)) {
            out.push_str("<li><a class=\"tile\" href=\"");
            escape_into(out, &tile.url);
            out.push('"');
            if let Some(colour) = &tile.colour {
                out.push_str(" style=\"--tile-colour:");
                escape_into(out, colour);
                out.push('"');
            }
            out.push_str("><span class=\"tile-icon\" aria-hidden=\"true\">");
            escape_into(out, &tile.icon);
            out.push_str("</span><span class=\"tile-title\" dir=\"auto\">");
            escape_into(out, &tile.title);
            out.push_str("</span></a><button type=\"button\" class=\"tile-say\" data-say-tile=\"");
            escape_into(out, &tile.url);
            out.push_str("\" aria-label=\"");
            escape_into(out, &format!("{listen}: {}", tile.title));
            out.push_str("\" hidden><span aria-hidden=\"true\">🔊</span></button></li>");
        }
    }
}

fn opens_on_the_web(address: &str) -> bool {
    url::Url::parse(address).is_ok_and(|url| matches!(url.scheme(), "http" | "https"))
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// HTML-escaped text, for callers building small fragments.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(&mut out, text);
    out
}

/// The 1-based line of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// `satchel://pupil/blocked.html?url=…`: the address a page shows, percent-encoded.
pub fn page_url(page: Page, address: Option<&str>) -> String {
    let mut url = format!("satchel://pupil/{}", page.file_name());
    if let Some(address) = address {
        let _ = write!(url, "?url={}", url::form_urlencoded::byte_serialize(address.as_bytes()).collect::<String>());
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(tiles: &[Tile]) -> Values<'_> {
        Values {
            address: "http://x.test/?a=1&b=<2>",
            search_action: "https://www.google.co.uk/search",
            search_param: "q",
            tiles,
            listen: true,
        }
    }

    #[test]
    fn every_page_renders_in_every_locale_with_no_placeholder_left() {
        let tiles = [Tile { title: "Owl".into(), url: "https://owl.test/".into(), icon: "🦉".into(), colour: None }];
        for tag in locale_tags() {
            let pages = Pages::new(tag).unwrap();
            for page in Page::ALL {
                let html = pages.render(page, &values(&tiles)).unwrap_or_else(|e| panic!("{tag} {page:?}: {e}"));
                assert!(!html.contains("{{"), "{tag} {page:?} still has a placeholder");
                assert!(html.contains(&format!("lang=\"{tag}\"")), "{tag} {page:?}");
            }
        }
    }

    #[test]
    fn right_to_left_locales_say_so() {
        let html = Pages::new("ar").unwrap().render(Page::Home, &values(&[])).unwrap();
        assert!(html.contains("dir=\"rtl\""));
        let html = Pages::new("cy").unwrap().render(Page::Home, &values(&[])).unwrap();
        assert!(html.contains("dir=\"ltr\""));
        assert!(html.contains("Dewisa lun."));
    }

    #[test]
    fn values_and_tiles_are_escaped() {
        let tiles = [Tile {
            title: "<b>Owl</b>".into(),
            url: "https://owl.test/?a=1&b=\"2\"".into(),
            icon: "🦉".into(),
            colour: Some("#fff\" onclick=\"x".into()),
        }];
        let pages = Pages::new("en-GB").unwrap();
        let home = pages.render(Page::Home, &values(&tiles)).unwrap();
        assert!(home.contains("&lt;b&gt;Owl&lt;/b&gt;"));
        assert!(home.contains("href=\"https://owl.test/?a=1&amp;b=&quot;2&quot;\""));
        assert!(home.contains("--tile-colour:#fff&quot; onclick=&quot;x\""));
        assert!(home.contains("data-say-tile=\"https://owl.test/?a=1&amp;b=&quot;2&quot;\""));
        assert!(home.contains("aria-label=\"Listen: &lt;b&gt;Owl&lt;/b&gt;\""));
        let blocked = pages.render(Page::Blocked, &values(&tiles)).unwrap();
        assert!(blocked.contains("http://x.test/?a=1&amp;b=&lt;2&gt;"));
        assert!(!blocked.contains("<2>"));
    }

    #[test]
    fn only_web_addresses_make_tiles() {
        let pages = Pages::new("en-GB").unwrap();
        let tile = |url: &str| Tile { title: url.into(), url: url.into(), icon: "🦉".into(), colour: None };
        let tiles = [
            tile("javascript:alert(1)"),
            tile("https://owl.test/"),
            tile("file:///etc/passwd"),
            tile("JavaScript:alert(2)"),
            tile("not a url"),
            tile("http://fox.test/"),
        ];
        let home = pages.render(Page::Home, &values(&tiles)).unwrap();
        let list = &home[home.rfind("<ul id=\"tiles\">").unwrap()..];
        let list = &list[..list.find("</ul>").unwrap()];
        assert_eq!(list.matches("<li>").count(), 2, "{list}");
        assert!(!list.contains("javascript:") && !list.contains("JavaScript:") && !list.contains("file:"));
    }

    #[test]
    fn listen_shows_only_where_the_kiosk_can_speak() {
        let pages = Pages::new("cy").unwrap();
        for page in Page::ALL {
            let spoken = pages.render(page, &values(&[])).unwrap();
            let silent = pages.render(page, &Values { listen: false, ..values(&[]) }).unwrap();
            assert!(spoken.contains("data-listen=\"on\"") && silent.contains("data-listen=\"off\""), "{page:?}");
            let name = page.file_name().trim_end_matches(".html");
            assert!(spoken.contains(&format!("data-say=\"{name}\"")), "{page:?} has no Listen button");
        }
    }

    #[test]
    fn no_tiles_inserts_nothing_so_the_empty_message_shows() {
        let home = Pages::new("en-GB").unwrap().render(Page::Home, &values(&[])).unwrap();
        assert!(home.contains("<ul id=\"tiles\"></ul>"));
    }

    #[test]
    fn teacher_messages_fall_back_to_english() {
        let pl = Pages::new("pl").unwrap();
        let en = Pages::new("en-GB").unwrap();
        assert_eq!(pl.message("exit-pin-label"), en.message("exit-pin-label"));
        assert_ne!(pl.message("go-back"), en.message("go-back"));
    }

    #[test]
    fn unknown_locale_names_the_shipped_ones() {
        let error = Pages::new("fr").err().unwrap().to_string();
        assert!(error.contains("no locale `fr`") && error.contains("en-GB, cy"), "{error}");
    }

    #[test]
    fn page_urls_carry_the_address_percent_encoded() {
        assert_eq!(
            page_url(Page::Blocked, Some("http://a.test/?x=1&y=2#z")),
            "satchel://pupil/blocked.html?url=http%3A%2F%2Fa.test%2F%3Fx%3D1%26y%3D2%23z"
        );
        assert_eq!(page_url(Page::Home, None), "satchel://pupil/home.html");
    }
}
