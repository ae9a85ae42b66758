//! The kiosk: one fullscreen window with the native toolbar strip (Home, Back, Tell my
//! teacher) over the one webview the pupil browses in. Every navigation of the content view
//! goes through [`navigation::decide`], every request through the loopback [`proxy`]. The
//! toolbar is the platform's own widgets: no web process, no script channel a page could
//! reach. [`enrol`], [`status`] and [`learn`] are the technician's commands.

pub mod enrol;
pub mod learn;
pub mod navigation;
mod pages_protocol;
mod platform;
pub mod proxy;
mod speech;
pub mod status;
pub mod sync;

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tao::event::{Event, StartCause, WindowEvent};
use tao::event_loop::{ControlFlow, EventLoopBuilder, EventLoopProxy};
use tao::window::{Fullscreen, Window, WindowBuilder};
use tracing::{debug, info, warn};
use wry::{NewWindowResponse, ProxyConfig, ProxyEndpoint, WebContext, WebView, WebViewBuilder};

use crate::activity::{self, ActivityLog};
use crate::bundle::{self, Bundle};
use crate::config::KioskConfig;
use crate::durable::unix_now;
use crate::outbox::Outbox;
use crate::pages::{page_url, Page, Pages};
use crate::policy::{Policy, RequestKind};
use crate::protocol::{Happening, Outgoing, ReportContent, SessionEnd};
use navigation::{Frame, Navigate, PupilAction};
use pages_protocol::PageServer;
use platform::{
    Activity, Keyboard, Layout, Lockdown, MainFrameLoads, NavigationGate, ProxyCredentials, Snapshot, StoredData,
    Toolbar, ToolbarPress, ToolbarWords, ViewSettings,
};
use proxy::{PolicyCell, Resolver};

/// How often the offline page's site is tried again.
const OFFLINE_RETRY: Duration = Duration::from_secs(5);

/// Logged once, when Home has first loaded.
static KIOSK_READY: std::sync::Once = std::sync::Once::new();

/// The toolbar strip's height: big enough for small fingers.
const TOOLBAR_HEIGHT: i32 = 80;

/// How the kiosk was started.
pub struct Options {
    pub config: KioskConfig,
    /// Lets WebKitWebDriver drive the content view (tests only; needs the `automation`
    /// feature). The content view then keeps one web context for the whole run.
    pub automation: bool,
}

/// What the webviews' callbacks ask the event loop to do.
#[derive(Debug)]
enum KioskEvent {
    Navigate(Navigate),
    /// `target=_blank` or `window.open`: load it here, through the same gate.
    OpenHere(String),
    LoadFailed(String),
    /// The site the offline page stands for takes connections again.
    Reachable(String),
    Toolbar(ToolbarPress),
    /// Ctrl+Alt+Shift+T: the teacher wants to leave.
    ExitChord,
    /// Once a second, for the idle timeout: tao's `WaitUntil` does not wake a GTK loop.
    Tick,
    /// A verified, newer rules bundle from the server, and the server clock's lead.
    Rules(Box<Bundle>, i64),
    /// How many reports wait to be sent.
    Waiting(usize),
    /// The content view has been captured for a report: cover the page now.
    Captured,
    /// The page is covered: store the report.
    StoreReport,
    /// The last session's stored data is forgotten: the next session's view may be built
    /// (if no newer session has begun since), at its first page.
    Forgotten {
        session: u64,
        url: String,
    },
}

/// A report between capture and storage: the page, and its picture still to encode.
struct Capture {
    url: String,
    title: String,
    png: Option<platform::PngEncoder>,
}

/// The private folder the content views' web context keeps its files in (cookies and
/// storage until the session ends; there is no cache), one per running kiosk.
struct ViewsFolder(std::path::PathBuf);

const VIEWS_FOLDER_PREFIX: &str = "satchel-views-";

impl ViewsFolder {
    /// Also removes the folders of kiosks no longer running (killed, or crashed): a pupil's
    /// cookies do not stay on the disk until the next boot.
    fn create() -> Result<ViewsFolder> {
        use std::os::unix::fs::DirBuilderExt;
        let temp = std::env::temp_dir();
        for entry in std::fs::read_dir(&temp).into_iter().flatten().flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(|name| name.strip_prefix(VIEWS_FOLDER_PREFIX)) else { continue };
            let ours = pid == std::process::id().to_string();
            if ours || !std::path::Path::new("/proc").join(pid).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let path = temp.join(format!("{VIEWS_FOLDER_PREFIX}{}", std::process::id()));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .with_context(|| format!("cannot create the views' folder {}", path.display()))?;
        Ok(ViewsFolder(path))
    }

    /// On the way out (tao ends the process without dropping the loop's state). WebKit's
    /// network process, ending after us, may still write a file or two: the next start's
    /// sweep takes those.
    fn remove(&self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Exit PIN tries allowed in [`EXIT_PIN_WINDOW`].
const EXIT_PIN_TRIES: usize = 5;
const EXIT_PIN_WINDOW: Duration = Duration::from_secs(10 * 60);

pub fn run(options: Options) -> Result<()> {
    let config = options.config;
    let hardware_acceleration = platform::accelerate(config.hardware_acceleration);
    let pages = Arc::new(Pages::new(&config.locale)?);
    // An enrolled kiosk enforces its last good bundle before any network traffic; without
    // one, the configured (or built-in) list.
    let key = config.server.as_ref().and_then(|server| crate::keys::parse_public_key(&server.public_key));
    let cached = key.as_ref().and_then(|key| sync::load_cached(&config.state_dir, key));
    let categories = match &config.categories {
        Some(dir) => Some(Arc::new(crate::lists::load_categories(dir)?)),
        None => None,
    };
    let now = unix_now();
    let enforced = cached.as_ref().and_then(|bundle| match bundle::enforce(bundle, now, categories.as_ref()) {
        Ok(enforced) => Some(enforced),
        Err(error) => {
            warn!(%error, "the cached rules do not parse; using the built-in list");
            None
        }
    });
    let (policy, tiles, search, lesson_ends_at) = match enforced {
        Some(e) => (e.policy, e.tiles, e.search, e.lesson_ends_at),
        None => (config.policy()?, config.tiles.clone(), config.search, None),
    };
    let policy = Arc::new(PolicyCell::new(policy));
    let speaker = speech::Espeak::for_locale(pages.tag()).map(|voice| speech::Speaker::new(Box::new(voice)));
    if speaker.is_none() {
        warn!(locale = pages.tag(), "no espeak-ng voice for the locale: the pages have no Listen buttons");
    }
    let page_server = Arc::new(PageServer::new(Arc::clone(&pages), tiles, search.form(), speaker));
    let shared = Arc::new(sync::Shared::default());
    if let Some(bundle) = &cached {
        shared.version.store(bundle.version, std::sync::atomic::Ordering::Relaxed);
        info!(version = bundle.version, "enforcing the cached rules");
    }
    let activity = Arc::new(
        ActivityLog::open(&config.state_dir.join("activity"), activity::Limits::default())
            .context("cannot open the activity log")?,
    );
    activity.set_lesson(running_lesson(cached.as_ref(), lesson_ends_at));
    activity.start_session()?;
    activity.keep_flushing()?;
    let counted = Arc::clone(&activity);
    let proxy = proxy::start(
        Arc::clone(&policy),
        Resolver::new(config.hosts.clone()),
        Box::new(move |host, passage| {
            if passage == proxy::Passage::Blocked {
                counted.blocked_host(host);
            }
        }),
    )?;

    let event_loop = EventLoopBuilder::<KioskEvent>::with_user_event().build();
    let window = WindowBuilder::new()
        .with_title("Satchel")
        .with_decorations(false)
        .with_fullscreen(Some(Fullscreen::Borderless(None)))
        .build(&event_loop)
        .context("cannot open the kiosk window")?;
    let views_folder = ViewsFolder::create()?;
    let mut context = WebContext::new(Some(views_folder.0.clone()));
    context.set_allows_automation(options.automation);
    let mut kiosk = Kiosk {
        events: event_loop.create_proxy(),
        policy,
        page_server,
        proxy,
        outbox: Outbox::new(config.state_dir.join("outbox")),
        idle_timeout: Duration::from_secs(config.idle_timeout_seconds),
        view_settings: ViewSettings { allow_uploads: config.allow_uploads, hardware_acceleration },
        exit_pin_hash: config.exit_pin_hash.clone(),
        last_activity: Rc::new(Cell::new(Instant::now())),
        active_since_reset: Rc::new(Cell::new(false)),
        context,
        views_folder,
        automation: options.automation,
        forget: None,
        session: 0,
        toolbar: None,
        content: None,
        window,
        rules: cached.map(|bundle| (bundle, 0)),
        lesson_ends_at,
        shared: Arc::clone(&shared),
        last_report: None,
        capture: Rc::default(),
        capturing: false,
        exit_tries: crate::attempts::Attempts::new(EXIT_PIN_TRIES, EXIT_PIN_WINDOW),
        categories,
        activity: Arc::clone(&activity),
        offline: None,
    };
    if let Some(server) = &config.server {
        let link = sync::Link::new(server, &config.state_dir, shared)
            .context("the [server] section of the configuration is not usable: enrol again")?;
        let (rules, waiting) = (kiosk.events.clone(), kiosk.events.clone());
        link.start(
            activity,
            sync::Callbacks {
                rules: Box::new(move |bundle, offset| {
                    let _ = rules.send_event(KioskEvent::Rules(Box::new(bundle), offset));
                }),
                waiting: Box::new(move |count| {
                    let _ = waiting.send_event(KioskEvent::Waiting(count));
                }),
            },
        )?;
    }
    let ticks = kiosk.events.clone();
    std::thread::Builder::new().name("satchel-tick".into()).spawn(move || {
        while ticks.send_event(KioskEvent::Tick).is_ok() {
            std::thread::sleep(Duration::from_secs(1));
        }
    })?;
    let events = kiosk.events.clone();
    kiosk.window.on_exit_chord(move || {
        let _ = events.send_event(KioskEvent::ExitChord);
    });
    // The pupil's page first: its web process starts while the toolbar's widgets are built.
    kiosk.content = Some(kiosk.build_content(&page_url(Page::Home, None))?);
    kiosk.toolbar = Some(kiosk.build_toolbar(&pages)?);
    info!(locale = pages.tag(), hardware_acceleration, "kiosk starting");
    event_loop.run(move |event, _, control_flow| kiosk.handle(event, control_flow))
}

struct Kiosk {
    events: EventLoopProxy<KioskEvent>,
    policy: Arc<PolicyCell>,
    page_server: Arc<PageServer>,
    proxy: proxy::Proxy,
    outbox: Outbox,
    idle_timeout: Duration,
    view_settings: ViewSettings,
    exit_pin_hash: Option<String>,
    last_activity: Rc<Cell<Instant>>,
    active_since_reset: Rc<Cell<bool>>,
    /// Every session's view comes from this one context, its files in `views_folder`.
    context: WebContext,
    views_folder: ViewsFolder,
    /// WebKitWebDriver drives the view: it holds on to the first one, which is then kept.
    automation: bool,
    /// Forgets what the context's pages stored, once a view has been built.
    forget: Option<platform::Forget>,
    /// Counts pupil sessions, so that only the latest reset builds a view.
    session: u64,
    toolbar: Option<Box<dyn Toolbar>>,
    content: Option<WebView>,
    window: Window,
    /// The bundle in force and the server clock's lead over ours (seconds).
    rules: Option<(Bundle, i64)>,
    /// When the running lesson ends, by the server's clock: the kiosk ends it itself.
    lesson_ends_at: Option<u64>,
    shared: Arc<sync::Shared>,
    /// The report just made, for the feeling the pupil may pick next.
    last_report: Option<String>,
    /// A report captured and not yet stored.
    capture: Rc<std::cell::RefCell<Option<Capture>>>,
    /// From Tell until the report is stored: a second tap meanwhile is the same report (its
    /// snapshot would fail on the covered page and cover the thank-you page instead).
    capturing: bool,
    exit_tries: crate::attempts::Attempts,
    /// The category data for open-web profiles, when the configuration names it.
    categories: Option<Arc<crate::categories::CategoryIndex>>,
    /// What the pupils opened, tried and searched for, for the safeguarding lead.
    activity: Arc<ActivityLog>,
    /// The address the offline page stands for, and when it was last tried.
    offline: Option<(String, Instant)>,
}

/// The lesson's name, while one runs.
fn running_lesson(bundle: Option<&Bundle>, lesson_ends_at: Option<u64>) -> Option<String> {
    bundle
        .and_then(|bundle| bundle.lesson.as_ref())
        .filter(|_| lesson_ends_at.is_some())
        .map(|lesson| lesson.name.clone())
}

/// Logs the page the main frame now shows: a web page as opened, one of Satchel's own pages as
/// no page. `true` when it is a web page not showing before.
pub fn note_page(activity: &ActivityLog, address: &str) -> bool {
    if !(address.starts_with("http://") || address.starts_with("https://")) {
        activity.own_page();
        return false;
    }
    activity.opened(address)
}

/// Logs a search, when `url` is one: as the navigation is allowed, so a search is logged even
/// when its results never arrive.
pub fn note_search(activity: &ActivityLog, policy: &Policy, url: &str) {
    if let Some((engine, terms)) = policy.search_terms(url) {
        activity.record(Happening::Searched { engine: engine.name().to_owned(), terms, url: url.to_owned() });
    }
}

/// A page the pupil could not open, with the rule or category that decided and why.
fn blocked_event(policy: &Policy, url: &str) -> Happening {
    let decision = policy.decide(url, RequestKind::Navigation);
    let category = match &decision.reason {
        crate::policy::Reason::Category(name) => Some(name.clone()),
        _ => None,
    };
    let rule = decision.rule.map(|rule| format!("{} ({})", rule.text, rule.source));
    Happening::Blocked { url: url.to_owned(), rule, category, reason: decision.reason.to_string() }
}

impl Kiosk {
    fn handle(&mut self, event: Event<'_, KioskEvent>, control_flow: &mut ControlFlow) {
        match event {
            Event::NewEvents(StartCause::Init) => self.window.grab_keyboard(),
            Event::UserEvent(event) => self.on_kiosk_event(event, control_flow),
            Event::WindowEvent { event: WindowEvent::CloseRequested, .. } => info!("close request ignored"),
            _ => {}
        }
        if *control_flow != ControlFlow::Exit {
            if self.active_since_reset.get() && self.last_activity.get().elapsed() >= self.idle_timeout {
                info!("idle: new pupil session");
                // Should a snapshot never have answered, Tell works again for the next pupil.
                self.capturing = false;
                self.new_session(&page_url(Page::Home, None), SessionEnd::Idle);
            }
            *control_flow = ControlFlow::Wait;
        }
    }

    fn on_kiosk_event(&mut self, event: KioskEvent, control_flow: &mut ControlFlow) {
        match event {
            KioskEvent::Navigate(Navigate::LoadInstead(url)) => self.load(&url),
            KioskEvent::OpenHere(url) => match navigation::decide(&self.policy.current(), &url, Frame::Main) {
                Navigate::Allow => self.load(&url),
                navigate => self.on_kiosk_event(KioskEvent::Navigate(navigate), control_flow),
            },
            KioskEvent::Navigate(Navigate::ShowBlocked(address)) => {
                self.activity.record(blocked_event(&self.policy.current(), &address));
                self.load(&page_url(Page::Blocked, Some(&address)));
            }
            KioskEvent::Navigate(Navigate::Action(action)) => self.on_pupil_action(action),
            KioskEvent::Navigate(Navigate::Allow | Navigate::Ignore) => {}
            KioskEvent::LoadFailed(address) => {
                self.load(&page_url(Page::Offline, Some(&address)));
                self.offline = Some((address, Instant::now()));
            }
            KioskEvent::Reachable(address) => {
                // Only if the pupil is still waiting on the offline page for it.
                if self.offline.take_if(|(waiting, _)| *waiting == address).is_some() && self.showing_offline() {
                    info!(address, "the site can be reached again");
                    self.load(&address);
                }
            }
            KioskEvent::Toolbar(message) => self.on_toolbar(message, control_flow),
            KioskEvent::ExitChord => self.show_exit_prompt(),
            KioskEvent::Tick => {
                self.try_offline_site_again();
                let server_now = self.server_now();
                if self.lesson_ends_at.is_some_and(|end| server_now >= end) {
                    info!("the lesson has ended");
                    self.apply_rules();
                }
                self.shared.active.store(self.active_since_reset.get(), std::sync::atomic::Ordering::Relaxed);
            }
            KioskEvent::Rules(bundle, offset) => {
                self.rules = Some((*bundle, offset));
                self.apply_rules();
            }
            KioskEvent::Waiting(count) => {
                if let Some(toolbar) = &self.toolbar {
                    toolbar.set_waiting(count);
                }
            }
            KioskEvent::Captured => {
                debug!("captured; covering the page");
                // The page goes at once, its sound and video with it; the report is stored
                // in the next turn of the loop, once the screen shows the page gone.
                self.content = None;
                let _ = self.events.send_event(KioskEvent::StoreReport);
            }
            KioskEvent::StoreReport => {
                self.capturing = false;
                let capture = self.capture.borrow_mut().take();
                if let Some(capture) = capture {
                    self.report(capture);
                }
            }
            KioskEvent::Forgotten { session, url } if session == self.session => {
                if self.content.is_some() {
                    // Under automation: the same view goes on, at the new session's page.
                    self.load(&url);
                    return;
                }
                match self.build_content(&url) {
                    Ok(view) => self.content = Some(view),
                    Err(error) => warn!(%error, "cannot build a new content view"),
                }
            }
            KioskEvent::Forgotten { .. } => debug!("a newer session began while the data was forgotten"),
        }
    }

    fn on_pupil_action(&mut self, action: PupilAction) {
        match action {
            PupilAction::Back => self.go_back(),
            PupilAction::Home => self.new_session(&page_url(Page::Home, None), SessionEnd::Home),
            PupilAction::AskTeacher(address) => {
                match self.outbox.put(Outgoing::Unblock { url: address.clone() }) {
                    Ok(id) => {
                        info!(address, id, "unblock request recorded");
                        self.activity.record(Happening::Asked { url: address.clone(), ask: id });
                        self.shared.outbox_changed.notify_one();
                    }
                    Err(error) => warn!(address, %error, "unblock request not recorded"),
                }
                self.go_back();
            }
            PupilAction::Feeling(feeling) => {
                let Some(report) = self.last_report.clone() else { return };
                match self.outbox.put(Outgoing::Feeling { report, feeling: feeling.name().to_owned() }) {
                    Ok(_) => {
                        info!(feeling = feeling.name(), "feeling added to the report");
                        self.shared.outbox_changed.notify_one();
                    }
                    Err(error) => warn!(%error, "feeling not recorded"),
                }
            }
        }
    }

    fn on_toolbar(&mut self, press: ToolbarPress, control_flow: &mut ControlFlow) {
        // A press on the toolbar is the pupil at the machine, as a touch on the page is.
        self.last_activity.set(Instant::now());
        self.active_since_reset.set(true);
        match press {
            ToolbarPress::Home => self.load(&page_url(Page::Home, None)),
            ToolbarPress::Back => self.go_back(),
            ToolbarPress::Tell => {
                debug!("tell pressed");
                self.capture_for_report();
            }
            ToolbarPress::Exit { pin } => {
                if self.pin_is_right(&pin) {
                    info!("teacher left the kiosk");
                    self.activity.end_session(SessionEnd::Exit);
                    if let Err(error) = self.activity.flush() {
                        warn!(%error, "the last activity could not be written");
                    }
                    self.content = None;
                    self.views_folder.remove();
                    *control_flow = ControlFlow::Exit;
                } else if let Some(toolbar) = &self.toolbar {
                    warn!("wrong exit PIN");
                    toolbar.wrong_pin();
                }
            }
            ToolbarPress::Cancel => self.show_toolbar_buttons(),
        }
    }

    /// The server's clock, as far as the last bundle told us.
    fn server_now(&self) -> u64 {
        let offset = self.rules.as_ref().map_or(0, |(_, offset)| *offset);
        (unix_now() as i64 + offset).max(0) as u64
    }

    /// Puts the bundle in force as of now (the lesson only until it ends): the policy for new
    /// requests, the Home tiles, the search engine. A lesson that ended ends the pupil's
    /// session. A bundle that does not parse changes nothing.
    fn apply_rules(&mut self) {
        let Some((bundle, _)) = &self.rules else { return };
        if bundle.profile.open_web && self.categories.is_none() {
            warn!(
                profile = bundle.profile.name,
                "an open-web profile, but no category data (`categories` in the configuration): only listed sites open"
            );
        }
        match bundle::enforce(bundle, self.server_now(), self.categories.as_ref()) {
            Ok(enforced) => {
                let lesson_over = self.lesson_ends_at.is_some() && enforced.lesson_ends_at.is_none();
                self.policy.replace(enforced.policy);
                self.page_server.update(enforced.tiles, enforced.search.form());
                self.lesson_ends_at = enforced.lesson_ends_at;
                self.activity.set_lesson(running_lesson(Some(bundle), self.lesson_ends_at));
                let on_home = self
                    .content
                    .as_ref()
                    .and_then(|c| c.url().ok())
                    .is_some_and(|url| url.starts_with(&page_url(Page::Home, None)));
                if lesson_over {
                    self.new_session(&page_url(Page::Home, None), SessionEnd::LessonEnded);
                } else if on_home {
                    // Today's tiles, without waiting for the pupil to leave Home.
                    self.load(&page_url(Page::Home, None));
                }
            }
            Err(error) => warn!(%error, "new rules do not parse; the rules in force stay"),
        }
    }

    /// Tell my teacher, first step: the content view as the pupil sees it (the toolbar is not
    /// in it); then the page is covered, then [`Kiosk::report`].
    fn capture_for_report(&mut self) {
        if self.capturing {
            debug!("tell pressed again while the report is being made: one report");
            return;
        }
        let Some(content) = &self.content else { return };
        let url = content.url().unwrap_or_default();
        // The pupil has just told, and the page says the teacher is coming: a second tap (a
        // double tap's, however late it arrives) is the same report.
        if url.starts_with(&page_url(Page::Thanks, None)) {
            debug!("tell pressed on the thank-you page: already told");
            return;
        }
        self.capturing = true;
        let (events, capture) = (self.events.clone(), Rc::clone(&self.capture));
        content.snapshot(move |png, title| {
            *capture.borrow_mut() = Some(Capture { url, title, png });
            let _ = events.send_event(KioskEvent::Captured);
        });
    }

    /// Tell my teacher: the report is written durably to the outbox, and only then does the
    /// pupil see the thank-you page.
    fn report(&mut self, capture: Capture) {
        use base64::Engine as _;
        let Capture { url, title, png } = capture;
        let png = png.and_then(|encode| encode());
        let (profile, lesson, version) = match &self.rules {
            Some((bundle, _)) => (
                bundle.profile.name.clone(),
                bundle.lesson.as_ref().filter(|_| self.lesson_ends_at.is_some()).map(|l| l.name.clone()),
                Some(bundle.version),
            ),
            None => ("built-in".to_owned(), None, None),
        };
        let report = ReportContent {
            happened_at: unix_now(),
            url: url.clone(),
            title,
            feeling: None,
            profile: Some(profile),
            lesson,
            rules_version: version,
            screenshot: png.map(|png| base64::engine::general_purpose::STANDARD.encode(png)),
        };
        // A disk too full for the screenshot may still take the report without it.
        let stored = self.outbox.put(Outgoing::Report(report.clone())).or_else(|error| {
            warn!(%error, url, "the report could not be stored with its screenshot; storing it without");
            self.outbox.put(Outgoing::Report(ReportContent { screenshot: None, ..report }))
        });
        match stored {
            Ok(id) => {
                info!(id, url, "report stored");
                self.activity.record(Happening::Told { url, report: id.clone() });
                self.last_report = Some(id);
                self.shared.outbox_changed.notify_one();
                self.new_session(&page_url(Page::Thanks, None), SessionEnd::Told);
            }
            Err(error) => {
                // Not on disk, so no thank-you: the page is gone all the same.
                tracing::error!(%error, url, "the report could not be stored");
                self.new_session(&page_url(Page::Home, None), SessionEnd::Told);
            }
        }
    }

    /// A few tries, then a wait: a pupil cannot try every four-digit PIN.
    fn pin_is_right(&mut self, pin: &str) -> bool {
        if !self.exit_tries.begin(Instant::now()) {
            warn!("exit PIN refused: too many tries");
            return false;
        }
        let right = self.exit_pin_hash.as_deref().is_some_and(|hash| crate::secrets::matches(hash, pin));
        if right {
            self.exit_tries.succeeded();
        }
        right
    }

    fn show_exit_prompt(&mut self) {
        if self.exit_pin_hash.is_none() {
            info!("exit chord pressed, but no exit PIN is configured");
            return;
        }
        if let Some(toolbar) = &self.toolbar {
            // The PIN box takes the keys, not the pupil's page.
            toolbar.show_exit_prompt();
        }
    }

    /// The pupil's buttons again, and the keys back to the page.
    fn show_toolbar_buttons(&self) {
        if let Some(toolbar) = &self.toolbar {
            toolbar.show_buttons();
        }
        if let Some(content) = &self.content {
            let _ = content.focus();
        }
    }

    fn showing_offline(&self) -> bool {
        let showing = self.content.as_ref().and_then(|content| content.url().ok());
        showing.is_some_and(|url| url.starts_with(&page_url(Page::Offline, None)))
    }

    /// While the offline page shows, tries the site again every few seconds; the page loads
    /// it once a connection opens (a pupil should not have to know to press the tile again).
    fn try_offline_site_again(&mut self) {
        let Some((address, tried)) = &self.offline else { return };
        if !self.showing_offline() {
            self.offline = None;
            return;
        }
        if tried.elapsed() < OFFLINE_RETRY {
            return;
        }
        let (events, waiting) = (self.events.clone(), address.clone());
        self.proxy.probe(address, move |reachable| {
            if reachable {
                let _ = events.send_event(KioskEvent::Reachable(waiting));
            }
        });
        self.offline = self.offline.take().map(|(address, _)| (address, Instant::now()));
    }

    fn load(&self, url: &str) {
        if let Some(content) = &self.content {
            if let Err(error) = content.load_url(url) {
                warn!(url, %error, "load failed");
            }
        }
    }

    fn go_back(&self) {
        if let Some(content) = &self.content {
            // WebKit's own history, out of reach of the page's scripts.
            let _ = content.go_back();
        }
    }

    /// Drops the content view and forgets everything its pages stored (cookies, storage,
    /// history), then starts a new one at `url`: the next pupil's session. Until the data is
    /// gone there is no view (a blank strip below the toolbar, for a few milliseconds).
    fn new_session(&mut self, url: &str, reason: SessionEnd) {
        self.active_since_reset.set(false);
        self.activity.end_session(reason);
        if let Err(error) = self.activity.start_session() {
            warn!(%error, "no new session id; the activity goes on under the last one");
        }
        // A teacher's unfinished exit prompt does not outlive the session.
        if let Some(toolbar) = &self.toolbar {
            toolbar.show_buttons();
        }
        if !self.automation {
            self.content = None;
        }
        self.session += 1;
        let (events, session, url) = (self.events.clone(), self.session, url.to_owned());
        match &self.forget {
            Some(forget) => forget(Box::new(move || {
                let _ = events.send_event(KioskEvent::Forgotten { session, url });
            })),
            None => warn!("no view was ever built, so there is nothing to forget"),
        }
    }

    fn proxy_config(&self) -> ProxyConfig {
        ProxyConfig::Http(ProxyEndpoint {
            host: self.proxy.address.ip().to_string(),
            port: self.proxy.address.port().to_string(),
        })
    }

    fn build_toolbar(&self, pages: &Pages) -> Result<Box<dyn Toolbar>> {
        let word = |id: &str| pages.message(id).map(|text| text.into_owned()).unwrap_or_default();
        let words = ToolbarWords {
            home: word("toolbar-home"),
            back: word("toolbar-back"),
            tell: word("toolbar-tell"),
            tell_label: word("tell-teacher-label"),
            reports_waiting: word("reports-waiting"),
            exit_pin_label: word("exit-pin-label"),
            exit_leave: word("exit-leave"),
            exit_cancel: word("exit-cancel"),
            exit_wrong_pin: word("exit-wrong-pin"),
            right_to_left: pages.right_to_left(),
        };
        let events = self.events.clone();
        self.window.add_toolbar(&words, TOOLBAR_HEIGHT, move |press| {
            let _ = events.send_event(KioskEvent::Toolbar(press));
        })
    }

    fn build_content(&mut self, url: &str) -> Result<WebView> {
        let proxy_config = self.proxy_config();
        let open_here = self.events.clone();
        let titles = Arc::clone(&self.activity);
        // The pages' scheme and the refusal of downloads belong to the context, once.
        let first_view = !self.context.is_custom_protocol_registered(navigation::SCHEME);
        let mut builder = WebViewBuilder::new_with_web_context(&mut self.context);
        if first_view {
            builder = builder
                .with_asynchronous_custom_protocol(navigation::SCHEME.into(), self.page_server.handler())
                .with_download_started_handler(|url, _| {
                    info!(url, "download refused");
                    false
                });
        }
        let content = builder
            .with_devtools(false)
            .with_proxy_config(proxy_config)
            .with_url(url)
            .with_back_forward_navigation_gestures(false)
            .with_document_title_changed_handler(move |title| titles.titled(&title))
            .with_new_window_req_handler(move |url, _| {
                let _ = open_here.send_event(KioskEvent::OpenHere(url));
                NewWindowResponse::Deny
            });
        let content = self.window.add_content(content)?;
        self.forget.get_or_insert_with(|| content.forget_stored_data());
        content.lock_down(&self.view_settings);
        content.answer_proxy_challenge(proxy::PROXY_USER, &self.proxy.token);
        let (policy, events, activity) = (Arc::clone(&self.policy), self.events.clone(), Arc::clone(&self.activity));
        content.gate_navigations(move |request| {
            let policy = policy.current();
            let navigate = navigation::decide(&policy, &request.url, request.frame);
            match navigate {
                Navigate::Allow => {
                    if request.frame == Frame::Main {
                        note_search(&activity, &policy, &request.url);
                    }
                    true
                }
                // The pupil's search, about to load again with safe search forced (that load
                // is the kiosk's own, and not logged again).
                Navigate::LoadInstead(forced) if request.frame == Frame::Main => {
                    note_search(&activity, &policy, &request.url);
                    let _ = events.send_event(KioskEvent::Navigate(Navigate::LoadInstead(forced)));
                    false
                }
                Navigate::Action(_) if !request.from.starts_with("satchel://pupil/") => {
                    warn!(url = request.url, from = request.from, "a web page asked for a Satchel action");
                    false
                }
                Navigate::Ignore => {
                    info!(url = request.url, frame = ?request.frame, "blocked");
                    false
                }
                other => {
                    if let Navigate::ShowBlocked(_) = other {
                        info!(url = request.url, "blocked");
                    }
                    let _ = events.send_event(KioskEvent::Navigate(other));
                    false
                }
            }
        });
        let (policy, events, activity) = (Arc::clone(&self.policy), self.events.clone(), Arc::clone(&self.activity));
        content.on_main_frame_committed(move |address| {
            let policy = policy.current();
            match navigation::decide(&policy, &address, Frame::Main) {
                navigate @ (Navigate::ShowBlocked(_) | Navigate::LoadInstead(_)) => {
                    warn!(address, "main frame reached a page the gate took for a frame's; replaced");
                    let _ = events.send_event(KioskEvent::Navigate(navigate));
                }
                _ => {
                    note_page(&activity, &address);
                }
            }
        });
        let (policy, events, activity) = (Arc::clone(&self.policy), self.events.clone(), Arc::clone(&self.activity));
        content.on_address_moved_in_page(move |address| {
            // The first page (Home) has loaded: the kiosk is in service. Said once, for the
            // technician's log and for the tests, which wait for it.
            KIOSK_READY.call_once(|| info!("kiosk ready"));
            let policy = policy.current();
            // Only a block: a rewrite (safe search) here would reload the page it is on.
            match navigation::decide(&policy, &address, Frame::Main) {
                navigate @ Navigate::ShowBlocked(_) => {
                    info!(address, "a page moved its address to one that is not allowed");
                    let _ = events.send_event(KioskEvent::Navigate(navigate));
                }
                // A search typed into a page that never reloads (YouTube's) is a search too.
                _ => {
                    if note_page(&activity, &address) {
                        note_search(&activity, &policy, &address);
                    }
                }
            }
        });
        let events = self.events.clone();
        content.on_load_failed(move |address| {
            let _ = events.send_event(KioskEvent::LoadFailed(address));
        });
        self.watch_activity(&content);
        Ok(content)
    }

    fn watch_activity(&self, view: &WebView) {
        let (last, active) = (Rc::clone(&self.last_activity), Rc::clone(&self.active_since_reset));
        view.on_activity(move || {
            last.set(Instant::now());
            active.set(true);
        });
    }
}
