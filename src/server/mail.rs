//! E-mail to the safeguarding leads (the `dsl` accounts with an address; a school's lead is
//! told of their school's alerts, the trust's of every school's): each urgent alert at once,
//! and once a day a digest of the review alerts, through the school's SMTP relay
//! (`--smtp-url`, `--smtp-from`). An alert is marked as mailed only once the relay took it,
//! so a relay that is down delays mail and loses none.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tracing::{info, warn};

use super::store::AlertRow;
use super::{now, Server};

/// Urgent alerts older than this are not mailed when the relay comes back: the console has
/// shown them, and a day-old "urgent" mail would mislead.
const URGENT_MAIL_WITHIN: u64 = 24 * 3600;
/// How often mail that could not be sent is tried again (and a replica that does not mail
/// asks whether it now should).
const RETRY: Duration = Duration::from_secs(60);
/// The lock of the one replica that mails (see [`super::store::Store::lead`]): every replica
/// could see an alert unmailed and send it.
const MAILER: i64 = 0x5a7c_4e12;

pub struct Mail {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The hour of the day (UTC) the digest goes.
    digest_hour: u64,
}

impl Mail {
    /// `url` as lettre reads it: `smtp://relay.school.org:25`, `smtp://user:pass@host:587?tls=required`,
    /// `smtps://host:465`.
    pub fn new(url: &str, from: &str, digest_hour: u64) -> Result<Mail> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .context("--smtp-url is not an SMTP address (smtp://host:port)")?
            .timeout(Some(Duration::from_secs(30)))
            .build();
        let from = from.parse().with_context(|| format!("--smtp-from `{from}` is not an e-mail address"))?;
        Ok(Mail { transport, from, digest_hour: digest_hour % 24 })
    }

    /// Sends what is due, then waits for the next urgent alert (or a minute), for ever; with
    /// replicas, only while this one leads.
    pub async fn run(self, server: Arc<Server>) {
        let (mut last_digest_day, mut leading) = (None, false);
        loop {
            let was_leading = leading;
            leading = server.lead(MAILER).unwrap_or_else(|error| {
                warn!(%error, "cannot tell whether this replica mails the alerts");
                false
            });
            if leading && !was_leading {
                info!("this server mails the safeguarding alerts");
            }
            if !leading {
                // An alert raised here asks again at once: the one that mailed may have gone.
                tokio::select! {
                    _ = server.urgent_alert.notified() => continue,
                    _ = tokio::time::sleep(RETRY) => continue,
                    _ = server.stopped() => return,
                }
            }
            if let Err(error) = self.send_urgent(&server).await {
                warn!(%error, "urgent alerts not mailed yet");
            }
            let now = now();
            let (day, hour) = (now / 86_400, now % 86_400 / 3600);
            if hour >= self.digest_hour && last_digest_day != Some(day) {
                match self.send_digest(&server).await {
                    Ok(()) => last_digest_day = Some(day),
                    Err(error) => warn!(%error, "the daily digest is not mailed yet"),
                }
            }
            tokio::select! {
                _ = server.urgent_alert.notified() => {}
                _ = tokio::time::sleep(RETRY) => {}
                _ = server.stopped() => return,
            }
        }
    }

    async fn send_urgent(&self, server: &Server) -> Result<()> {
        let (alerts, leads) = {
            let store = server.store();
            (store.urgent_alerts_to_mail(now().saturating_sub(URGENT_MAIL_WITHIN))?, store.safeguarding_emails()?)
        };
        for alert in alerts {
            let to: Vec<String> = leads
                .iter()
                .filter(|(_, school)| told_of(*school, &alert))
                .map(|(address, _)| address.clone())
                .collect();
            if to.is_empty() {
                // Kept unmailed: a lead given an address within the day is still told.
                continue;
            }
            let subject = format!("{}: {}", server.t("console-mail-urgent-subject"), alert.category);
            let mut body = format!("{}\n\n", server.t("console-mail-urgent-intro"));
            describe(server, &alert, &mut body);
            let _ = write!(body, "\n{}\n", server.t("console-mail-open-console"));
            self.send(&to, &subject, body).await?;
            server.store().mark_alerts_emailed(&[alert.id], now())?;
            info!(alert = alert.id, recipients = to.len(), "urgent alert mailed");
        }
        Ok(())
    }

    /// One digest to the trust's leads with every school's alerts, and one to each school's
    /// leads with their school's. An alert no digest went out with stays for the next day's.
    async fn send_digest(&self, server: &Server) -> Result<()> {
        let (alerts, leads) = {
            let store = server.store();
            (store.review_alerts_to_digest()?, store.safeguarding_emails()?)
        };
        let mut groups: BTreeMap<Option<i64>, Vec<String>> = BTreeMap::new();
        for (address, school) in leads {
            groups.entry(school).or_default().push(address);
        }
        let mut digested = BTreeSet::new();
        for (school, to) in groups {
            let theirs: Vec<&AlertRow> = alerts.iter().filter(|alert| told_of(school, alert)).collect();
            if theirs.is_empty() {
                continue;
            }
            let subject = format!("{} ({})", server.t("console-mail-digest-subject"), theirs.len());
            let mut body = format!("{}\n\n", server.t("console-mail-digest-intro"));
            for alert in &theirs {
                describe(server, alert, &mut body);
                body.push('\n');
            }
            let _ = writeln!(body, "{}", server.t("console-mail-open-console"));
            self.send(&to, &subject, body).await?;
            digested.extend(theirs.iter().map(|alert| alert.id));
            info!(alerts = theirs.len(), recipients = to.len(), "daily digest mailed");
        }
        let ids: Vec<i64> = digested.into_iter().collect();
        server.store().mark_alerts_digested(&ids, now())?;
        Ok(())
    }

    async fn send(&self, to: &[String], subject: &str, body: String) -> Result<()> {
        let mut message = Message::builder().from(self.from.clone()).subject(subject);
        for address in to {
            match address.parse::<Mailbox>() {
                Ok(mailbox) => message = message.to(mailbox),
                Err(error) => warn!(address, %error, "a safeguarding lead's e-mail address is not usable"),
            }
        }
        let message = message.body(body).context("the e-mail could not be built")?;
        self.transport.send(message).await.context("the SMTP relay did not take the e-mail")?;
        Ok(())
    }
}

/// Whether a lead of `school` (`None`: the trust's) is told of `alert`.
fn told_of(school: Option<i64>, alert: &AlertRow) -> bool {
    school.is_none() || school == alert.school_id
}

/// An alert in plain words, one fact a line.
fn describe(server: &Server, alert: &AlertRow, out: &mut String) {
    let when = super::console::iso_time(alert.at / 1000);
    let _ = writeln!(out, "{}: {when}", server.t("console-alert-when"));
    let _ = writeln!(out, "{}: {} · {} · {}", server.t("console-alert-where"), alert.school, alert.room, alert.machine);
    let _ = writeln!(out, "{}: {} ({})", server.t("console-alert-category"), alert.category, alert.severity);
    if alert.reason == "repeated-blocks" {
        let _ = writeln!(out, "{}: {}", server.t("console-alert-repeated-blocks"), alert.words);
    } else {
        let _ = writeln!(out, "{}: {}", server.t("console-alert-words"), alert.words);
        let _ = writeln!(out, "{}: {}", server.t("console-alert-text"), alert.text);
    }
}
