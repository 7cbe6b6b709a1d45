//! Local time for directory names, log lines and `run.json`.
//!
//! `jiff::TimeZone::system()` resolves `/etc/localtime` to an IANA name and
//! looks it up in the zoneinfo database, which first lists the whole
//! database: about 1.5 ms, most of a short run's overhead. Only the local
//! offset matters here, so `/etc/localtime` is read directly as the TZif
//! file it is (fresh system data, no name). With `TZ` set, or without
//! `/etc/localtime`, jiff's full logic decides.

use std::sync::OnceLock;

use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime};

/// The current local time.
pub(crate) fn now() -> ZonedDateTime {
    Timestamp::now().to_zoned_datetime(local().clone())
}

fn local() -> &'static TimeZone {
    static LOCAL: OnceLock<TimeZone> = OnceLock::new();
    LOCAL.get_or_init(|| {
        if std::env::var_os("TZ").is_none()
            && let Ok(data) = std::fs::read("/etc/localtime")
            && let Ok(tz) = TimeZone::tzif("localtime", &data)
        {
            return tz;
        }
        TimeZone::system()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_jiffs_system_time_zone() {
        let ours = now();
        let theirs = Timestamp::now().to_zoned_datetime(TimeZone::system());
        assert_eq!(ours.offset(), theirs.offset());
    }
}
