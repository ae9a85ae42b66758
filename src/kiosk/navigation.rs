//! What the kiosk does with each navigation of the content view, before WebKit loads
//! anything: the policy's verdict turned into load, load-instead, block page or a pupil
//! action from one of Satchel's own pages. Pure, so every case is a unit test.

use crate::policy::{Policy, RequestKind, Verdict};

/// Which frame a navigation is for, as far as the platform can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame {
    Main,
    /// An iframe: a blocked one is left empty instead of replacing the page.
    Sub,
}

/// A button on one of Satchel's own pages (`satchel://action/…`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PupilAction {
    Back,
    Home,
    /// "Ask my teacher" on the block page, with the address the pupil wants.
    AskTeacher(String),
    /// A feeling picked on the thanks page.
    Feeling(Feeling),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feeling {
    Scary,
    Rude,
    Sad,
    Other,
}

impl Feeling {
    pub fn name(self) -> &'static str {
        match self {
            Feeling::Scary => "scary",
            Feeling::Rude => "rude",
            Feeling::Sad => "sad",
            Feeling::Other => "other",
        }
    }
}

/// The kiosk's answer to one navigation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Navigate {
    /// Let WebKit load it.
    Allow,
    /// Stop it, and load this URL (safe search forced) instead.
    LoadInstead(String),
    /// Stop it, and show the block page for this address.
    ShowBlocked(String),
    /// Stop it and show nothing: a blocked iframe stays empty.
    Ignore,
    /// Stop it: it was a button on a Satchel page.
    Action(PupilAction),
}

/// The scheme of Satchel's own pages.
pub const SCHEME: &str = "satchel";
const PUPIL_PAGES: &str = "satchel://pupil/";
const ACTIONS: &str = "satchel://action/";

pub fn decide(policy: &Policy, url: &str, frame: Frame) -> Navigate {
    if url.starts_with(PUPIL_PAGES) {
        return Navigate::Allow;
    }
    if let Some(action) = url.strip_prefix(ACTIONS) {
        // A page on the web linking to satchel://action/… gets nothing: only our own
        // pages' buttons are acted on (the shell checks which page is showing).
        return parse_action(action).map_or(Navigate::Ignore, Navigate::Action);
    }
    // A frame is part of the page around it: a site's resource hosts may fill its iframes
    // (an embedded player or game), never the whole view.
    let kind = match frame {
        Frame::Main => RequestKind::Navigation,
        Frame::Sub => RequestKind::Subresource,
    };
    let decision = policy.decide(url, kind);
    match (decision.verdict, frame) {
        (Verdict::Allow, _) => Navigate::Allow,
        (Verdict::Rewrite, Frame::Main) => {
            decision.location.map_or_else(|| Navigate::ShowBlocked(url.to_owned()), Navigate::LoadInstead)
        }
        (Verdict::Rewrite | Verdict::Block, Frame::Sub) => Navigate::Ignore,
        (Verdict::Block, Frame::Main) => Navigate::ShowBlocked(url.to_owned()),
    }
}

fn parse_action(action: &str) -> Option<PupilAction> {
    let (path, query) = action.split_once('?').unwrap_or((action, ""));
    match path.trim_end_matches('/') {
        "back" => Some(PupilAction::Back),
        "home" => Some(PupilAction::Home),
        "ask-teacher" => url::form_urlencoded::parse(query.as_bytes())
            .find(|(name, _)| name == "url")
            .map(|(_, address)| PupilAction::AskTeacher(address.into_owned())),
        "feeling/scary" => Some(PupilAction::Feeling(Feeling::Scary)),
        "feeling/rude" => Some(PupilAction::Feeling(Feeling::Rude)),
        "feeling/sad" => Some(PupilAction::Feeling(Feeling::Sad)),
        "feeling/other" => Some(PupilAction::Feeling(Feeling::Other)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        let mut builder = Policy::builder();
        builder.add_list("t.list", "[allow]\nallowed.test uses: cdn.test\n.www.google.co.uk/search\n");
        assert!(builder.errors().is_empty());
        builder.build()
    }

    #[test]
    fn pages_on_the_list_load_and_others_show_the_block_page() {
        let policy = policy();
        assert_eq!(decide(&policy, "http://allowed.test/a", Frame::Main), Navigate::Allow);
        assert_eq!(
            decide(&policy, "http://other.test/", Frame::Main),
            Navigate::ShowBlocked("http://other.test/".into())
        );
        // A resource host is not a page.
        assert_eq!(decide(&policy, "http://cdn.test/", Frame::Main), Navigate::ShowBlocked("http://cdn.test/".into()));
    }

    #[test]
    fn a_blocked_iframe_stays_empty_instead_of_replacing_the_page() {
        assert_eq!(decide(&policy(), "http://other.test/", Frame::Sub), Navigate::Ignore);
        assert_eq!(decide(&policy(), "http://allowed.test/frame", Frame::Sub), Navigate::Allow);
    }

    #[test]
    fn a_resource_host_may_fill_an_iframe_but_not_the_view() {
        assert_eq!(decide(&policy(), "http://cdn.test/player", Frame::Sub), Navigate::Allow);
        assert_eq!(
            decide(&policy(), "http://cdn.test/player", Frame::Main),
            Navigate::ShowBlocked("http://cdn.test/player".into())
        );
    }

    #[test]
    fn search_pages_load_with_safe_search_forced() {
        let navigate = decide(&policy(), "https://www.google.co.uk/search?q=cats&safe=off", Frame::Main);
        assert_eq!(
            navigate,
            Navigate::LoadInstead("https://www.google.co.uk/search?q=cats&safe=active&ssui=on".into())
        );
        let forced = "https://www.google.co.uk/search?q=cats&safe=active&ssui=on";
        assert_eq!(decide(&policy(), forced, Frame::Main), Navigate::Allow);
    }

    #[test]
    fn satchel_pages_load_and_their_buttons_become_actions() {
        let policy = policy();
        assert_eq!(decide(&policy, "satchel://pupil/home.html", Frame::Main), Navigate::Allow);
        assert_eq!(decide(&policy, "satchel://action/back", Frame::Main), Navigate::Action(PupilAction::Back));
        assert_eq!(
            decide(
                &policy,
                "satchel://action/ask-teacher?url=http%3A%2F%2Fother.test%2F%3Fa%3D1%26b%3D2%23c",
                Frame::Main
            ),
            Navigate::Action(PupilAction::AskTeacher("http://other.test/?a=1&b=2#c".into()))
        );
        assert_eq!(
            decide(&policy, "satchel://action/feeling/sad", Frame::Main),
            Navigate::Action(PupilAction::Feeling(Feeling::Sad))
        );
        assert_eq!(decide(&policy, "satchel://action/format-disk", Frame::Main), Navigate::Ignore);
    }

    #[test]
    fn other_schemes_are_blocked() {
        let policy = policy();
        for url in ["file:///etc/passwd", "javascript:alert(1)", "ftp://allowed.test/", "satchel://elsewhere/x"] {
            assert!(matches!(decide(&policy, url, Frame::Main), Navigate::ShowBlocked(_)), "{url}");
        }
    }
}
