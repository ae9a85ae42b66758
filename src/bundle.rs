//! The rules bundle: everything the school server tells one kiosk to enforce (its room's
//! profile, the lesson running there, the safe search engine), with a version that only
//! grows, signed with the server's ed25519 key. Pure: the server signs, the kiosk verifies,
//! both with these functions.

use base64::Engine as _;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

use std::sync::Arc;

use crate::categories::{CategoryIndex, CategorySet};
use crate::pages::Tile;
use crate::policy::ListError;
use crate::safesearch::SearchEngine;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// Grows with every change that reaches this kiosk; a kiosk refuses anything not newer.
    pub version: u64,
    /// The server's clock when it signed (Unix seconds): the kiosk's clock may be wrong.
    pub issued_at: u64,
    pub kiosk_id: String,
    pub room: String,
    pub profile: Profile,
    pub lesson: Option<Lesson>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    /// The profile's list, in the list grammar.
    pub list: String,
    pub search: SearchEngine,
    /// Whether the search engine's image results may be opened.
    #[serde(default = "image_search_default")]
    pub image_search: bool,
    /// An open-web profile (older pupils, staff): what no rule names is allowed, except sites
    /// in `blocked_categories`. Needs the category data on the kiosk; without it the profile
    /// stays closed.
    #[serde(default)]
    pub open_web: bool,
    #[serde(default)]
    pub blocked_categories: Vec<String>,
    /// The Home tiles when no lesson is running.
    pub tiles: Vec<Tile>,
}

fn image_search_default() -> bool {
    true
}

const NO_IMAGE_SEARCH: (&str, &str) =
    ("allowlists/search/no-images.list", include_str!("../allowlists/search/no-images.list"));

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lesson {
    pub name: String,
    /// The lesson's sites, in the list grammar, allowed on top of the profile's list.
    pub list: String,
    pub tiles: Vec<Tile>,
    /// When the lesson ends (Unix seconds, server clock); the kiosk ends it itself then.
    pub ends_at: u64,
}

/// A bundle as it travels: the exact bytes that were signed, and the signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signed {
    /// The bundle's JSON, base64: verified as bytes before anything reads it.
    pub bundle: String,
    pub signature: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BundleError {
    #[error("the bundle is not base64")]
    Encoding,
    #[error("the signature does not match the server's key")]
    Signature,
    #[error("the signed bundle does not parse: {0}")]
    Parse(String),
    /// A line of the bundle's lists that the kiosk's parser refuses.
    #[error("{0}")]
    List(ListError),
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

pub fn sign(bundle: &Bundle, key: &SigningKey) -> Signed {
    let bytes = serde_json::to_vec(bundle).expect("a bundle serialises");
    let signature = key.sign(&bytes);
    Signed { bundle: B64.encode(&bytes), signature: B64.encode(signature.to_bytes()) }
}

pub fn verify(signed: &Signed, key: &VerifyingKey) -> Result<Bundle, BundleError> {
    let bytes = B64.decode(&signed.bundle).map_err(|_| BundleError::Encoding)?;
    let signature = B64.decode(&signed.signature).map_err(|_| BundleError::Encoding)?;
    let signature = Signature::from_slice(&signature).map_err(|_| BundleError::Signature)?;
    key.verify(&bytes, &signature).map_err(|_| BundleError::Signature)?;
    serde_json::from_slice(&bytes).map_err(|e| BundleError::Parse(e.to_string()))
}

/// What a kiosk enforces from a bundle at a moment: the lesson counts only until it ends
/// (by the server's clock), and its tiles replace the profile's while it runs.
pub struct Enforced {
    pub policy: crate::policy::Policy,
    pub tiles: Vec<Tile>,
    pub search: SearchEngine,
    /// When the running lesson ends, if one is running.
    pub lesson_ends_at: Option<u64>,
}

/// Builds what to enforce from a verified bundle; a list line the kiosk's parser refuses makes
/// the whole bundle unusable (fail closed: the rules in force stay).
pub fn enforce(
    bundle: &Bundle,
    server_now: u64,
    categories: Option<&Arc<CategoryIndex>>,
) -> Result<Enforced, BundleError> {
    let mut builder = crate::policy::Policy::builder();
    if let (true, Some(index)) = (bundle.profile.open_web, categories) {
        // A category the data does not have blocks nothing; the others are blocked.
        let blocked = bundle
            .profile
            .blocked_categories
            .iter()
            .filter_map(|name| index.id(name))
            .fold(CategorySet::EMPTY, CategorySet::with);
        builder.default_action(crate::policy::Action::Allow).block_categories(Arc::clone(index), blocked);
    }
    builder.add_list(&format!("profile {}", bundle.profile.name), &bundle.profile.list);
    let lesson = bundle.lesson.as_ref().filter(|lesson| lesson.ends_at > server_now);
    if let Some(lesson) = lesson {
        builder.add_list(&format!("lesson {}", lesson.name), &lesson.list);
    }
    let (engine_file, engine_list) = bundle.profile.search.list();
    builder.add_list(engine_file, engine_list);
    if !bundle.profile.image_search {
        builder.add_list(NO_IMAGE_SEARCH.0, NO_IMAGE_SEARCH.1);
    }
    if let Some(error) = builder.errors().first() {
        return Err(BundleError::List(error.clone()));
    }
    let tiles = match lesson {
        Some(lesson) if !lesson.tiles.is_empty() => lesson.tiles.clone(),
        _ => bundle.profile.tiles.clone(),
    };
    Ok(Enforced {
        policy: builder.build(),
        tiles,
        search: bundle.profile.search,
        lesson_ends_at: lesson.map(|l| l.ends_at),
    })
}

/// The bundle the unit tests share: kiosk `k1` in Class 1 on the KS1 profile (CBeebies
/// allowed), no lesson.
#[cfg(test)]
pub(crate) fn example(version: u64, issued_at: u64) -> Bundle {
    Bundle {
        version,
        issued_at,
        kiosk_id: "k1".into(),
        room: "Class 1".into(),
        profile: Profile {
            name: "KS1".into(),
            list: "[allow]\ncbeebies.com\n".into(),
            search: SearchEngine::Google,
            image_search: true,
            open_web: false,
            blocked_categories: vec![],
            tiles: vec![],
        },
        lesson: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle() -> Bundle {
        Bundle {
            lesson: Some(Lesson {
                name: "Phonics".into(),
                list: "[allow]\nphonicsplay.co.uk\n".into(),
                tiles: vec![],
                ends_at: 1_795_003_600,
            }),
            ..example(7, 1_795_000_000)
        }
    }

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn a_signed_bundle_verifies_with_the_server_key_and_reads_back_the_same() {
        let signed = sign(&bundle(), &key(1));
        assert_eq!(verify(&signed, &key(1).verifying_key()), Ok(bundle()));
    }

    #[test]
    fn a_lesson_counts_until_it_ends_by_the_servers_clock() {
        use crate::policy::{RequestKind, Verdict};
        let bundle = bundle();
        let during = enforce(&bundle, 1_795_003_599, None).unwrap();
        assert_eq!(during.policy.decide("https://phonicsplay.co.uk/", RequestKind::Navigation).verdict, Verdict::Allow);
        assert_eq!(during.lesson_ends_at, Some(1_795_003_600));
        let after = enforce(&bundle, 1_795_003_600, None).unwrap();
        assert_eq!(after.policy.decide("https://phonicsplay.co.uk/", RequestKind::Navigation).verdict, Verdict::Block);
        assert_eq!(after.policy.decide("https://cbeebies.com/", RequestKind::Navigation).verdict, Verdict::Allow);
        assert_eq!(after.lesson_ends_at, None);
    }

    #[test]
    fn with_image_search_off_image_results_are_blocked_and_web_results_are_not() {
        use crate::policy::{RequestKind, Verdict};
        let mut bundle = bundle();
        let images = "https://www.google.co.uk/search?q=owls&tbm=isch&safe=active&ssui=on";
        let web = "https://www.google.co.uk/search?q=owls&safe=active&ssui=on";
        let on = enforce(&bundle, 0, None).unwrap();
        assert_eq!(on.policy.decide(images, RequestKind::Navigation).verdict, Verdict::Allow);
        bundle.profile.image_search = false;
        let off = enforce(&bundle, 0, None).unwrap();
        assert_eq!(off.policy.decide(images, RequestKind::Navigation).verdict, Verdict::Block);
        assert_eq!(
            off.policy.decide("https://www.google.co.uk/search?udm=2&q=owls", RequestKind::Navigation).verdict,
            Verdict::Block
        );
        assert_eq!(off.policy.decide(web, RequestKind::Navigation).verdict, Verdict::Allow);
    }

    #[test]
    fn an_open_web_profile_allows_the_unlisted_web_except_blocked_categories_and_only_with_the_data() {
        use crate::categories::CategoryIndexBuilder;
        use crate::policy::{RequestKind, Verdict};
        let mut builder = CategoryIndexBuilder::default();
        let gambling = builder.category("gambling").unwrap();
        builder.add_domains(gambling, "casino.test\n");
        let index = Arc::new(builder.build().unwrap());
        let mut bundle = bundle();
        bundle.profile.open_web = true;
        bundle.profile.blocked_categories = vec!["gambling".into(), "not-in-the-data".into()];
        let open = enforce(&bundle, 0, Some(&index)).unwrap();
        assert_eq!(open.policy.decide("https://news.test/", RequestKind::Navigation).verdict, Verdict::Allow);
        assert_eq!(open.policy.decide("https://www.casino.test/", RequestKind::Navigation).verdict, Verdict::Block);
        // Without the category data on the kiosk: closed, fail safe.
        let closed = enforce(&bundle, 0, None).unwrap();
        assert_eq!(closed.policy.decide("https://news.test/", RequestKind::Navigation).verdict, Verdict::Block);
        assert_eq!(closed.policy.decide("https://cbeebies.com/", RequestKind::Navigation).verdict, Verdict::Allow);
    }

    #[test]
    fn one_flipped_byte_or_another_key_is_refused() {
        let signed = sign(&bundle(), &key(1));
        let mut bytes = B64.decode(&signed.bundle).unwrap();
        bytes[20] ^= 1;
        let tampered = Signed { bundle: B64.encode(&bytes), ..signed.clone() };
        assert_eq!(verify(&tampered, &key(1).verifying_key()), Err(BundleError::Signature));
        assert_eq!(verify(&sign(&bundle(), &key(2)), &key(1).verifying_key()), Err(BundleError::Signature));
        let garbage = Signed { bundle: "***".into(), ..signed };
        assert_eq!(verify(&garbage, &key(1).verifying_key()), Err(BundleError::Encoding));
    }
}
