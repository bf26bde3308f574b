//! Flood control (issue 18): each member has an allowance of commands, a bucket of
//! `commands_burst` tokens refilled at `commands_per_minute`. A command beyond it is refused
//! without effect, and the member is told so at most once per [`NOTICE_WINDOW`]. This protects
//! the other members' share of the bot's work; the fair outbox is what keeps their replies quick.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use exodus_commands::MemberId;

/// A member refused again within this window after being told is not told again.
pub const NOTICE_WINDOW: Duration = Duration::seconds(60);

/// What flood control says of one command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    Admitted,
    /// Refused; `notify`: the first refusal in its window, which the member is told of.
    Refused {
        notify: bool,
    },
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    /// Tokens, in thousandths of a command (whole numbers: no drift).
    milli: i64,
    at: DateTime<Utc>,
    told: Option<DateTime<Utc>>,
}

pub struct FloodControl {
    burst: u32,
    per_minute: u32,
    buckets: Mutex<HashMap<MemberId, Bucket>>,
}

/// Members tracked before full buckets are forgotten (a full bucket is the same as none).
const PRUNE_ABOVE: usize = 10_000;

impl FloodControl {
    pub fn new(burst: u32, per_minute: u32) -> FloodControl {
        FloodControl {
            burst: burst.max(1),
            per_minute: per_minute.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn full(&self) -> i64 {
        i64::from(self.burst) * 1000
    }

    /// Refills `bucket` up to `now`.
    fn refill(&self, bucket: &mut Bucket, now: DateTime<Utc>) {
        let elapsed = (now - bucket.at).num_milliseconds().max(0);
        // per_minute commands a minute = per_minute thousandths a 60 ms.
        let gained = elapsed.saturating_mul(i64::from(self.per_minute)) / 60;
        bucket.milli = bucket.milli.saturating_add(gained).min(self.full());
        bucket.at = bucket.at.max(now);
    }

    /// Takes one command of `member`'s allowance at `now`.
    pub fn admit(&self, member: &MemberId, now: DateTime<Utc>) -> Admission {
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() > PRUNE_ABOVE {
            let full = self.full();
            buckets.retain(|_, b| {
                self.refill(b, now);
                b.milli < full
            });
        }
        let bucket = buckets.entry(member.clone()).or_insert(Bucket {
            milli: self.full(),
            at: now,
            told: None,
        });
        self.refill(bucket, now);
        if bucket.milli >= 1000 {
            bucket.milli -= 1000;
            return Admission::Admitted;
        }
        let notify = bucket.told.is_none_or(|told| now - told >= NOTICE_WINDOW);
        if notify {
            bucket.told = Some(now);
        }
        Admission::Refused { notify }
    }

    pub fn burst(&self) -> u32 {
        self.burst
    }

    pub fn per_minute(&self) -> u32 {
        self.per_minute
    }
}

/// Fan-outs that must not repeat at will (issue 18): a red alert to the whole network, `remind`
/// of one record, `circle invite` of one member. Each key may be used once per its window; the
/// answer to a repeat is how long until it may be used again.
#[derive(Default)]
pub struct Cooldowns {
    used: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl Cooldowns {
    /// How long until `key` may be used again (`None`: now).
    pub fn wait(&self, key: &str, window: Duration, now: DateTime<Utc>) -> Option<Duration> {
        let used = self.used.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let last = *used.get(key)?;
        let until = last + window;
        (until > now).then(|| until - now)
    }

    /// `key` was used at `now`.
    pub fn used(&self, key: String, window: Duration, now: DateTime<Utc>) {
        let mut used = self.used.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if used.len() > PRUNE_ABOVE {
            used.retain(|_, at| *at + window > now);
        }
        used.insert(key, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_800_000_000_000 + ms).unwrap_or_default()
    }

    fn member(name: &str) -> MemberId {
        MemberId::parse(&format!("@{name}:example.org")).unwrap_or_else(|| unreachable!())
    }

    #[test]
    fn a_burst_then_the_rate_then_one_notice_per_window() {
        let flood = FloodControl::new(30, 60);
        let alice = member("alice");
        for i in 0..30 {
            assert_eq!(flood.admit(&alice, at(i)), Admission::Admitted, "command {i} of the burst");
        }
        assert_eq!(flood.admit(&alice, at(30)), Admission::Refused { notify: true });
        assert_eq!(flood.admit(&alice, at(40)), Admission::Refused { notify: false });
        // One a second comes back.
        assert_eq!(flood.admit(&alice, at(1_050)), Admission::Admitted);
        assert_eq!(flood.admit(&alice, at(1_060)), Admission::Refused { notify: false });
        // Refused again within the window (the refill used up at once): not told again.
        assert_eq!(flood.admit(&alice, at(2_100)), Admission::Admitted);
        assert_eq!(flood.admit(&alice, at(2_100)), Admission::Refused { notify: false });
        // After the window, the first refusal is told again: by then the bucket refilled to
        // its burst, which is used up first.
        let later = at(30 + 60_000);
        let admitted =
            (0..100).take_while(|_| flood.admit(&alice, later) == Admission::Admitted).count();
        assert_eq!(admitted, 30, "the bucket refilled to its burst");
        assert_eq!(
            flood.admit(&alice, later),
            Admission::Refused { notify: false },
            "the loop's refusal was the one told"
        );
    }

    #[test]
    fn members_have_allowances_of_their_own() {
        let flood = FloodControl::new(2, 60);
        let (alice, bob) = (member("alice"), member("bob"));
        assert_eq!(flood.admit(&alice, at(0)), Admission::Admitted);
        assert_eq!(flood.admit(&alice, at(0)), Admission::Admitted);
        assert_eq!(flood.admit(&alice, at(0)), Admission::Refused { notify: true });
        assert_eq!(flood.admit(&bob, at(0)), Admission::Admitted);
        // A full bucket refills no further than the burst.
        assert_eq!(flood.admit(&bob, at(3_600_000)), Admission::Admitted);
        assert_eq!(flood.admit(&bob, at(3_600_000)), Admission::Admitted);
        assert_eq!(flood.admit(&bob, at(3_600_000)), Admission::Refused { notify: true });
    }

    #[test]
    fn a_clock_that_goes_back_refills_nothing() {
        let flood = FloodControl::new(1, 60);
        let alice = member("alice");
        assert_eq!(flood.admit(&alice, at(10_000)), Admission::Admitted);
        assert_eq!(flood.admit(&alice, at(0)), Admission::Refused { notify: true });
    }

    #[test]
    fn a_cooldown_says_how_long_to_wait() {
        let cooldowns = Cooldowns::default();
        let hour = Duration::hours(1);
        assert_eq!(cooldowns.wait("remind:1", hour, at(0)), None);
        cooldowns.used("remind:1".into(), hour, at(0));
        assert_eq!(cooldowns.wait("remind:1", hour, at(60_000)), Some(Duration::minutes(59)));
        assert_eq!(cooldowns.wait("remind:2", hour, at(60_000)), None, "keys are separate");
        assert_eq!(cooldowns.wait("remind:1", hour, at(3_600_000)), None);
    }
}
