//! `satchel://pupil/…`: the pupil pages, rendered for each request with the tiles and search
//! engine in force (new rules change them without a restart).

use std::borrow::Cow;
use std::sync::{Arc, RwLock};

use wry::http::{header::CONTENT_TYPE, Request, Response, StatusCode};
use wry::WebViewId;

use crate::pages::{static_asset, Page, Pages, Tile, Values};

pub struct PageServer {
    pages: Arc<Pages>,
    tiles: RwLock<Vec<Tile>>,
    search: RwLock<(&'static str, &'static str)>,
}

type Handler = Box<dyn Fn(WebViewId<'_>, Request<Vec<u8>>) -> Response<Cow<'static, [u8]>> + Send + Sync>;

impl PageServer {
    pub fn new(pages: Arc<Pages>, tiles: Vec<Tile>, search: (&'static str, &'static str)) -> PageServer {
        PageServer { pages, tiles: RwLock::new(tiles), search: RwLock::new(search) }
    }

    /// New Home tiles and search engine, for the next page served.
    pub fn update(&self, tiles: Vec<Tile>, search: (&'static str, &'static str)) {
        *self.tiles.write().unwrap_or_else(|p| p.into_inner()) = tiles;
        *self.search.write().unwrap_or_else(|p| p.into_inner()) = search;
    }

    /// The custom-protocol handler for one webview.
    pub fn handler(self: &Arc<Self>) -> Handler {
        let server = Arc::clone(self);
        Box::new(move |_, request| server.respond(&request))
    }

    fn respond(&self, request: &Request<Vec<u8>>) -> Response<Cow<'static, [u8]>> {
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
        let address = url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .find(|(key, _)| key == "url")
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default();
        let tiles = self.tiles.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (search_action, search_param) = *self.search.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let values = Values { address: &address, search_action, search_param, tiles: &tiles };
        match self.pages.render(page, &values) {
            Ok(html) => reply(StatusCode::OK, "text/html; charset=utf-8", Cow::Owned(html.into_bytes())),
            Err(error) => {
                tracing::error!(%error, "pupil page failed to render");
                reply(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", Cow::Borrowed(b"page error"))
            }
        }
    }
}

fn reply(status: StatusCode, media_type: &str, body: Cow<'static, [u8]>) -> Response<Cow<'static, [u8]>> {
    Response::builder().status(status).header(CONTENT_TYPE, media_type).body(body).expect("a static response is valid")
}
