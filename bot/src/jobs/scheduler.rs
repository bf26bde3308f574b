//! When the scheduled jobs of SPEC §4 fall due: pure functions of a cron schedule, the
//! configured time zone and `now` (the clock is the caller's, so tests inject it).
//!
//! A job's run is identified by its *slot*, the scheduled instant it stands for. A run missed
//! while the bot was down is the latest slot not later than `now` that has not run yet: it runs
//! once when the bot comes back, however many slots passed meanwhile.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// The first scheduled instant strictly after `after`, in `tz` (cron fields are local time).
pub fn next_fire(schedule: &cron::Schedule, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    schedule.after(&after.with_timezone(&tz)).next().map(|t| t.with_timezone(&Utc))
}

/// The latest scheduled instant in `(since, now]`: the slot a job should have run for and has not
/// when its last run was for `since`. `None` when nothing fell due.
pub fn due_slot(
    schedule: &cron::Schedule,
    tz: Tz,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let mut latest = None;
    let mut cursor = since;
    // A schedule that fires every second would make this loop long after a long downtime: jump
    // close to `now` first when the gap is large, since only the latest slot matters.
    let gap = now.signed_duration_since(since);
    if gap > chrono::Duration::days(2) {
        cursor = now - chrono::Duration::days(2);
        // The slot before the jump may be the latest one if nothing fires in the last two days.
        latest = last_before(schedule, tz, since, cursor);
    }
    while let Some(t) = next_fire(schedule, tz, cursor) {
        if t > now {
            break;
        }
        latest = Some(t);
        cursor = t;
    }
    latest
}

/// The latest slot in `(since, until]`, searched backwards a day at a time from `until`.
fn last_before(
    schedule: &cron::Schedule,
    tz: Tz,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let mut window_end = until;
    while window_end > since {
        let window_start = (window_end - chrono::Duration::days(1)).max(since);
        let mut found = None;
        let mut cursor = window_start;
        while let Some(t) = next_fire(schedule, tz, cursor) {
            if t > window_end {
                break;
            }
            found = Some(t);
            cursor = t;
        }
        if found.is_some() {
            return found;
        }
        window_end = window_start;
    }
    None
}

#[cfg(test)]
mod tests {
    use std::str::FromStr as _;

    use chrono::TimeZone as _;

    use super::*;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn cron(text: &str) -> cron::Schedule {
        cron::Schedule::from_str(text).unwrap()
    }

    #[test]
    fn rollover_fires_at_local_midnight_on_the_first() {
        let rollover = cron("0 0 0 1 * *");
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // Midnight of 1 January in Berlin is 23:00 UTC on 31 December.
        assert_eq!(
            next_fire(&rollover, berlin, at(2026, 12, 15, 0, 0)),
            Some(at(2026, 12, 31, 23, 0))
        );
        assert_eq!(
            next_fire(&rollover, chrono_tz::UTC, at(2026, 12, 15, 0, 0)),
            Some(at(2027, 1, 1, 0, 0))
        );
        // Strictly after: at the instant itself, the next month.
        assert_eq!(
            next_fire(&rollover, chrono_tz::UTC, at(2027, 1, 1, 0, 0)),
            Some(at(2027, 2, 1, 0, 0))
        );
    }

    #[test]
    fn a_missed_run_is_the_latest_slot_only() {
        let hourly = cron("0 0 * * * *");
        let since = at(2026, 12, 1, 10, 0);
        assert_eq!(
            due_slot(&hourly, chrono_tz::UTC, since, at(2026, 12, 1, 10, 59)),
            None,
            "nothing fell due"
        );
        assert_eq!(
            due_slot(&hourly, chrono_tz::UTC, since, at(2026, 12, 1, 11, 0)),
            Some(at(2026, 12, 1, 11, 0))
        );
        // Down for three hours: one run, for the latest slot.
        assert_eq!(
            due_slot(&hourly, chrono_tz::UTC, since, at(2026, 12, 1, 13, 30)),
            Some(at(2026, 12, 1, 13, 0))
        );
        // Down for a month: still one, found quickly.
        assert_eq!(
            due_slot(&hourly, chrono_tz::UTC, since, at(2027, 1, 1, 0, 30)),
            Some(at(2027, 1, 1, 0, 0))
        );
        let monthly = cron("0 0 0 1 * *");
        assert_eq!(
            due_slot(&monthly, chrono_tz::UTC, since, at(2027, 3, 10, 0, 0)),
            Some(at(2027, 3, 1, 0, 0))
        );
        assert_eq!(
            due_slot(&monthly, chrono_tz::UTC, at(2027, 3, 1, 0, 0), at(2027, 3, 10, 0, 0)),
            None,
            "already run"
        );
    }
}
