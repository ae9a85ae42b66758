//! `satchel://pupil/…`: the pupil pages, rendered for each request with the tiles and search
//! engine in force (new rules change them without a restart), and under `say/` their words
//! spoken for Listen.

use std::borrow::Cow;
use std::sync::{Arc, RwLock};

use wry::http::{header::CONTENT_TYPE, Request, Response, StatusCode};
use wry::{RequestAsyncResponder, WebViewId};

use super::speech::Speaker;
use crate::pages::{static_asset, Page, Pages, Tile, Values};

pub struct PageServer {
    pages: Arc<Pages>,
    tiles: RwLock<Vec<Tile>>,
    search: RwLock<(&'static str, &'static str)>,
    /// The voice for the pages' language; without one the pages show no Listen buttons.
    speaker: Option<Arc<Speaker>>,
}

type Handler = Box<dyn Fn(WebViewId<'_>, Request<Vec<u8>>, RequestAsyncResponder) + Send + Sync>;

type Reply = Response<Cow<'static, [u8]>>;

impl PageServer {
    pub fn new(
        pages: Arc<Pages>,
        tiles: Vec<Tile>,
        search: (&'static str, &'static str),
        speaker: Option<Speaker>,
    ) -> PageServer {
        PageServer { pages, tiles: RwLock::new(tiles), search: RwLock::new(search), speaker: speaker.map(Arc::new) }
    }

    /// New Home tiles and search engine, for the next page served.
    pub fn update(&self, tiles: Vec<Tile>, search: (&'static str, &'static str)) {
        *self.tiles.write().unwrap_or_else(|p| p.into_inner()) = tiles;
        *self.search.write().unwrap_or_else(|p| p.into_inner()) = search;
    }

    /// The custom-protocol handler for one webview. Pages are answered at once; spoken words
    /// on a thread of their own, since a voice takes a moment the first time.
    pub fn handler(self: &Arc<Self>) -> Handler {
        let server = Arc::clone(self);
        Box::new(move |_, request, responder| {
            let Some(words) = server.words_to_say(&request) else {
                return responder.respond(server.respond(&request));
            };
            let speaker = server.speaker.clone();
            let spoken = std::thread::Builder::new().name("satchel-listen".into()).spawn(move || {
                responder.respond(say(speaker.as_deref(), words.as_deref()));
            });
            if let Err(error) = spoken {
                tracing::warn!(%error, "no thread to speak on");
            }
        })
    }

    /// For `say/…`: the words asked for, or `None` inside when there are none to say.
    fn words_to_say(&self, request: &Request<Vec<u8>>) -> Option<Option<String>> {
        let uri = request.uri();
        let what = uri.path().strip_prefix("/say/").filter(|_| uri.host() == Some("pupil"))?;
        if what == "tile" {
            let address = query_value(uri.query(), "url");
            let tiles = self.tiles.read().unwrap_or_else(|poisoned| poisoned.into_inner());
            return Some(tiles.iter().find(|tile| tile.url == address).map(|tile| tile.title.clone()));
        }
        let page = Page::from_file_name(&format!("{what}.html"));
        Some(page.and_then(|page| self.pages.message(page.sentence())).map(Cow::into_owned))
    }

    fn respond(&self, request: &Request<Vec<u8>>) -> Reply {
        let uri = request.uri();
        if uri.host() != Some("pupil") {
            return reply(StatusCode::NOT_FOUND, "text/plain", Cow::Borrowed(b"not found"));
        }
        let name = uri.path().trim_start_matches('/');
        if let Some((text, media_type)) = static_asset(name) {
            return reply(StatusCode::OK, media_type, Cow::Borrowed(text.as_bytes()));
        }
        let Some(page) = Page::from_file_name(name) else {
            return reply(StatusCode::NOT_FOUND, "text/plain", Cow::Borrowed(b"not found"));
        };
        let address = query_value(uri.query(), "url");
        let tiles = self.tiles.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (search_action, search_param) = *self.search.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let values =
            Values { address: &address, search_action, search_param, tiles: &tiles, listen: self.speaker.is_some() };
        match self.pages.render(page, &values) {
            Ok(html) => reply(StatusCode::OK, "text/html; charset=utf-8", Cow::Owned(html.into_bytes())),
            Err(error) => {
                tracing::error!(%error, "pupil page failed to render");
                reply(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", Cow::Borrowed(b"page error"))
            }
        }
    }
}

/// The words spoken as WAV; 404 for words that are not the kiosk's to say (a page cannot
/// make the kiosk speak its own), 503 when the voice failed (the Listen button then hides).
fn say(speaker: Option<&Speaker>, words: Option<&str>) -> Reply {
    let (Some(speaker), Some(words)) = (speaker, words) else {
        return reply(StatusCode::NOT_FOUND, "text/plain", Cow::Borrowed(b"nothing to say"));
    };
    match speaker.say(words) {
        Ok(audio) => reply(StatusCode::OK, "audio/wav", Cow::Owned(audio.to_vec())),
        Err(error) => {
            tracing::warn!(%error, words, "Listen could not speak");
            reply(StatusCode::SERVICE_UNAVAILABLE, "text/plain", Cow::Borrowed(b"no voice"))
        }
    }
}

fn query_value(query: Option<&str>, name: &str) -> String {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

fn reply(status: StatusCode, media_type: &str, body: Cow<'static, [u8]>) -> Reply {
    Response::builder().status(status).header(CONTENT_TYPE, media_type).body(body).expect("a static response is valid")
}
