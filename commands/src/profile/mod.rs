//! A member's profile (SPEC §3.1): status and need, free text, payment details, language,
//! notification switch, and a pending `forget-me`.
//!
//! Transitions consume nothing from the outside world: they take the current profile and `now` and
//! return the new profile or a [`crate::CommandError`].

// The profile commands, each in its own file with its grammar, parser and decide; their replies'
// text in `render` and their `org.exodus.result` fields in `result`.
pub(crate) mod about;
pub(crate) mod forget_me;
pub(crate) mod help;
pub(crate) mod lang;
pub(crate) mod notify;
pub(crate) mod pay;
pub(crate) mod render;
pub mod result;
pub(crate) mod status;

use chrono::{DateTime, Duration, Utc};

use crate::amount::Amount;
use crate::ids::{Lang, MemberId};

/// At most this many characters in `about`, a status note, or a payment detail.
pub const MAX_TEXT_CHARS: usize = 280;
/// At most this many characters in a payment label.
pub const MAX_LABEL_CHARS: usize = 32;
/// At most this many payment methods per member.
pub const MAX_PAYMENT_METHODS: usize = 10;
/// A red status deadline is 1..=31 days away.
pub const RED_DAYS: std::ops::RangeInclusive<u32> = 1..=31;
/// How long `forget-me confirm` is accepted after `forget-me`.
pub const FORGET_CONFIRM_MINUTES: i64 = 10;

/// The status colour without its data, as stored and shown in `org.exodus.result`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum Level {
    Green,
    Orange,
    Red,
}

impl Level {
    pub fn emoji(self) -> &'static str {
        match self {
            Level::Green => "✅",
            Level::Orange => "🔆",
            Level::Red => "🆘",
        }
    }
}

/// A status a red collection returns to: green or orange, never red.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settled {
    Green,
    Orange { requested: Amount, note: Option<String> },
}

/// The member's status with what belongs to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Need {
    Green,
    Orange { requested: Amount, note: Option<String> },
    Red { requested: Amount, deadline: DateTime<Utc>, note: Option<String>, previous: Settled },
}

impl Need {
    pub fn level(&self) -> Level {
        match self {
            Need::Green => Level::Green,
            Need::Orange { .. } => Level::Orange,
            Need::Red { .. } => Level::Red,
        }
    }

    pub fn requested(&self) -> Option<Amount> {
        match self {
            Need::Green => None,
            Need::Orange { requested, .. } | Need::Red { requested, .. } => Some(*requested),
        }
    }

    pub fn deadline(&self) -> Option<DateTime<Utc>> {
        match self {
            Need::Red { deadline, .. } => Some(*deadline),
            _ => None,
        }
    }

    pub fn note(&self) -> Option<&str> {
        match self {
            Need::Green => None,
            Need::Orange { note, .. } | Need::Red { note, .. } => note.as_deref(),
        }
    }

    /// The status a red need would return to, were it set now.
    fn settled(&self) -> Settled {
        match self {
            Need::Green => Settled::Green,
            Need::Orange { requested, note } => {
                Settled::Orange { requested: *requested, note: note.clone() }
            }
            Need::Red { previous, .. } => previous.clone(),
        }
    }

    /// `status red`: remembers the previous status, keeping the one from before an earlier red.
    pub fn red(
        &self,
        requested: Amount,
        days: u32,
        note: Option<String>,
        now: DateTime<Utc>,
    ) -> Need {
        Need::Red {
            requested,
            deadline: now + Duration::days(i64::from(days)),
            note,
            previous: self.settled(),
        }
    }
}

impl From<Settled> for Need {
    fn from(s: Settled) -> Need {
        match s {
            Settled::Green => Need::Green,
            Settled::Orange { requested, note } => Need::Orange { requested, note },
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentMethod {
    pub label: String,
    pub details: String,
    pub is_default: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    pub member: MemberId,
    pub need: Need,
    pub about: Option<String>,
    pub lang: Option<Lang>,
    pub notify: bool,
    /// Sorted by label.
    pub payment: Vec<PaymentMethod>,
    pub forget_requested_at: Option<DateTime<Utc>>,
}

impl Profile {
    /// The profile of someone the bot has not seen before.
    pub fn new(member: MemberId) -> Profile {
        Profile {
            member,
            need: Need::Green,
            about: None,
            lang: None,
            notify: true,
            payment: Vec::new(),
            forget_requested_at: None,
        }
    }

    pub fn forget_pending(&self, now: DateTime<Utc>) -> bool {
        self.forget_requested_at
            .is_some_and(|at| at <= now && now - at <= Duration::minutes(FORGET_CONFIRM_MINUTES))
    }
}

/// Sums of ❤️ intentions, 🤝 open obligations and 👍 fulfilled amounts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Totals {
    pub intentions: Amount,
    pub obligations: Amount,
    pub fulfilled: Amount,
}

/// What the ledger says about one member's circle and own giving, for `status` (SPEC §3 result
/// fields). Supplied by storage; the pure layer only combines it with the profile.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LedgerFacts {
    /// In the member's favour: what `circle` shows as ❤️ 🤝 👍.
    pub circle: Totals,
    pub supporters: u32,
    /// Given by the member this cycle.
    pub given: Totals,
    /// Received by the member this cycle.
    pub received: Totals,
    /// How the member kept their obligations, over all time.
    pub reliability: Reliability,
}

/// How a member kept the obligations they gave (SPEC §4, in `status` and `archive overdue`):
/// fulfilled (cleared ones included), overdue (went past due, fulfilled since or not), forgiven.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reliability {
    pub fulfilled: u32,
    pub overdue: u32,
    pub forgiven: u32,
}

/// 🙏 needed = requested − open obligations − fulfilled, never below 0 (SPEC §1).
pub fn needed(need: &Need, circle: &Totals) -> Amount {
    need.requested()
        .map(|r| r.saturating_sub(circle.obligations).saturating_sub(circle.fulfilled))
        .unwrap_or(Amount::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(s: &str) -> Amount {
        Amount::parse(s).unwrap()
    }

    #[test]
    fn red_remembers_the_status_before_it_even_when_set_twice() {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let orange = Need::Orange { requested: amount("300"), note: Some("rent".into()) };
        let red = orange.red(amount("1000"), 7, None, now);
        let red_again = red.red(amount("1200"), 3, None, now);
        let Need::Red { previous, deadline, .. } = red_again else { panic!("not red") };
        assert_eq!(
            previous,
            Settled::Orange { requested: amount("300"), note: Some("rent".into()) }
        );
        assert_eq!(deadline, now + Duration::days(3));
    }

    #[test]
    fn needed_is_never_negative() {
        let need = Need::Orange { requested: amount("100"), note: None };
        let t = Totals {
            intentions: amount("500"),
            obligations: amount("80"),
            fulfilled: amount("40"),
        };
        assert_eq!(needed(&need, &t), Amount::ZERO);
        let t = Totals { obligations: amount("30"), fulfilled: amount("20"), ..Totals::default() };
        assert_eq!(needed(&need, &t), amount("50"));
        assert_eq!(needed(&Need::Green, &t), Amount::ZERO);
    }

    #[test]
    fn forget_confirmation_window() {
        let now = DateTime::<Utc>::UNIX_EPOCH + Duration::days(100);
        let mut p = Profile::new(MemberId::parse("@a:b").unwrap());
        assert!(!p.forget_pending(now));
        p.forget_requested_at = Some(now - Duration::minutes(9));
        assert!(p.forget_pending(now));
        p.forget_requested_at = Some(now - Duration::minutes(11));
        assert!(!p.forget_pending(now));
    }
}
