//! The audit log (the DSL and the admin): every sign-in, change, reveal and export, newest
//! first, one action at a time if asked.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::{render, ConsoleError, Iso, Safeguarding, Words};
use crate::server::store::AuditRow;
use crate::server::Server;

/// Audit entries on one page; older ones are a link away.
const AUDIT_PER_PAGE: usize = 100;

pub(super) fn router() -> Router<Arc<Server>> {
    Router::new().route("/audit", get(audit_page))
}

#[derive(Deserialize)]
struct AuditQuery {
    #[serde(default)]
    page: usize,
    /// One action only (`reveal-screenshot`), or every action when empty.
    #[serde(default)]
    action: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage<'a> {
    t: Words<'a>,
    actions: Vec<(String, bool)>,
    log: Vec<AuditRow>,
    page: usize,
    older: bool,
    filter: String,
}

async fn audit_page(
    State(server): State<Arc<Server>>,
    Safeguarding(user): Safeguarding,
    Query(query): Query<AuditQuery>,
) -> Result<Html<String>, ConsoleError> {
    let action = Some(query.action.as_str()).filter(|action| !action.is_empty());
    let (mut log, actions) = {
        let store = server.store();
        (
            store.audit_log(&user, action, query.page.saturating_mul(AUDIT_PER_PAGE), AUDIT_PER_PAGE + 1)?,
            store.audit_actions()?,
        )
    };
    let older = log.len() > AUDIT_PER_PAGE;
    log.truncate(AUDIT_PER_PAGE);
    let actions = actions.into_iter().map(|a| (a.clone(), action == Some(a.as_str()))).collect();
    let filter = url::form_urlencoded::byte_serialize(query.action.as_bytes()).collect();
    let body = render(&AuditPage { t: server.words(), actions, log, page: query.page, older, filter })?;
    server.page(Some(&user), "console-audit", body)
}
