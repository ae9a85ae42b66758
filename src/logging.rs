//! Where both programs' logs go, and how much of them. Started by systemd (which then sets
//! `JOURNAL_STREAM` to standard error's device and inode), they log straight to the journal,
//! each event's fields as journal fields (`SATCHEL_URL=…`, `SATCHEL_REPORT=…`) so that
//! `journalctl` can filter on them; otherwise as text on standard error. The level is a
//! setting an admin changes in the configuration; `SATCHEL_LOG` overrides it for one run.

use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;

use tracing_journald::{Priority, PriorityMappings};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// The level when the configuration names none.
pub const DEFAULT_LEVEL: &str = "info";
/// The environment variable that overrides the configured level.
pub const OVERRIDE: &str = "SATCHEL_LOG";
/// The journal fields of an event's own fields start with this (`SATCHEL_URL`).
const FIELD_PREFIX: &str = "SATCHEL";

const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

/// Checks a level setting: a level (`info`), or a level and per-module levels
/// (`warn,satchel::kiosk::proxy=debug`). Unlike tracing's own parser, which reads a word it does
/// not know as a module name, a misspelt level is an error.
pub fn check_level(setting: &str) -> Result<(), String> {
    let known = |level: &str| LEVELS.contains(&level.trim().to_ascii_lowercase().as_str());
    for directive in setting.split(',') {
        let level = match directive.split_once('=') {
            Some((module, level))
                if !module.trim().is_empty()
                    && module.trim().chars().all(|c| c.is_alphanumeric() || c == '_' || c == ':') =>
            {
                level
            }
            Some(_) => return Err(format!("log level: `{directive}` does not name a module before `=`")),
            None => directive,
        };
        if !known(level) {
            return Err(format!("log level: `{}` is not one of {}", level.trim(), LEVELS.join(", ")));
        }
    }
    Ok(())
}

/// Starts logging for `program` at `setting` (already checked), unless `SATCHEL_LOG` gives a
/// valid level of its own.
pub fn init(program: &str, setting: &str) {
    let (setting, bad_override) = match std::env::var(OVERRIDE) {
        Ok(value) => match check_level(&value) {
            Ok(()) => (value, None),
            Err(error) => (setting.to_owned(), Some(error)),
        },
        Err(_) => (setting.to_owned(), None),
    };
    let filter = EnvFilter::builder().parse_lossy(&setting);
    let journal = stderr_is_the_journal().then(|| tracing_journald::layer().ok()).flatten().map(|layer| {
        layer
            .with_syslog_identifier(program.to_owned())
            .with_field_prefix(Some(FIELD_PREFIX.to_owned()))
            .with_priority_mappings(syslog_priorities())
    });
    let registry = tracing_subscriber::registry().with(filter);
    match journal {
        Some(journal) => registry.with(journal).init(),
        None => registry.with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr)).init(),
    }
    if let Some(error) = bad_override {
        tracing::warn!(%error, variable = OVERRIDE, "ignored; the configured level applies");
    }
}

/// tracing's levels as the syslog priorities of the same names, so that `journalctl -p info`
/// shows what `info` logs (tracing-journald would file `info` as `notice`).
fn syslog_priorities() -> PriorityMappings {
    PriorityMappings {
        error: Priority::Error,
        warn: Priority::Warning,
        info: Priority::Informational,
        debug: Priority::Debug,
        trace: Priority::Debug,
    }
}

/// systemd's test (systemd.exec(5)): `JOURNAL_STREAM` names the stream systemd connected to
/// the journal, and counts only while standard error is still that stream.
fn stderr_is_the_journal() -> bool {
    let Some((device, inode)) = std::env::var("JOURNAL_STREAM").ok().and_then(|value| {
        let (device, inode) = value.split_once(':')?;
        Some((device.parse::<u64>().ok()?, inode.parse::<u64>().ok()?))
    }) else {
        return false;
    };
    let stderr = std::io::stderr().as_fd().try_clone_to_owned().map(std::fs::File::from);
    stderr.and_then(|file| file.metadata()).is_ok_and(|meta| meta.dev() == device && meta.ino() == inode)
}

#[cfg(test)]
mod tests {
    use super::check_level;

    #[test]
    fn levels_and_module_levels_are_accepted() {
        for setting in ["info", "DEBUG", "warn,satchel::kiosk::proxy=debug", "off", "error, satchel=trace"] {
            check_level(setting).unwrap_or_else(|e| panic!("{setting}: {e}"));
        }
    }

    #[test]
    fn misspelt_levels_are_refused_with_the_word() {
        for (setting, words) in [
            ("verbose", "`verbose` is not one of off, error, warn, info, debug, trace"),
            ("info,satchel::proxy=loud", "`loud` is not one of"),
            ("=debug", "does not name a module"),
            ("", "`` is not one of"),
        ] {
            let error = check_level(setting).unwrap_err();
            assert!(error.contains(words), "{setting:?} gave {error}");
        }
    }
}
