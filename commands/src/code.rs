//! The stable codes of the domain's enums: the lower-case `snake_case` names under which a state,
//! a kind or a choice is stored in the database and shown in `org.exodus.result`. They are derived
//! by strum (`IntoStaticStr` and `EnumString` with `serialize_all = "snake_case"`) rather than
//! written out per enum; the test below pins every one of them, because data already written
//! carries them: a code, once stored, never changes.

use std::str::FromStr;

/// An enum's stable code (derive `strum::IntoStaticStr`).
pub trait Code: Copy + Into<&'static str> {
    fn code(self) -> &'static str {
        self.into()
    }
}

impl<T: Copy + Into<&'static str>> Code for T {}

/// The variant a stable code names (derive `strum::EnumString`); `None` for any other text.
pub trait FromCode: FromStr {
    fn from_code(code: &str) -> Option<Self> {
        code.parse().ok()
    }
}

impl<T: FromStr> FromCode for T {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cycle::Marked;
    use crate::initiative::InitiativeState;
    use crate::ledger::{Kind, State};
    use crate::network::List;
    use crate::outcome::PayAction;
    use crate::pool::{ClaimState, Renew, Verdict, Vote};
    use crate::profile::Level;
    use crate::{ErrorCode, Lang};

    /// Each code both ways: `code` gives it, `from_code` reads it back (where the enum is read).
    fn pinned<T: Code + FromCode + PartialEq + std::fmt::Debug>(pairs: &[(T, &str)]) {
        for &(value, code) in pairs {
            assert_eq!(value.code(), code);
            assert_eq!(T::from_code(code), Some(value), "{code}");
        }
        assert_eq!(T::from_code("no such code"), None);
    }

    #[test]
    fn stored_codes_never_change() {
        pinned(&[(Kind::Intention, "intention"), (Kind::Obligation, "obligation")]);
        pinned(&[
            (State::Active, "active"),
            (State::Open, "open"),
            (State::Paid, "paid"),
            (State::Fulfilled, "fulfilled"),
            (State::Forgiven, "forgiven"),
            (State::Withdrawn, "withdrawn"),
            (State::Expired, "expired"),
            (State::Cancelled, "cancelled"),
            (State::Cleared, "cleared"),
        ]);
        assert_eq!(State::ALL.len(), 9);
        pinned(&[(Level::Green, "green"), (Level::Orange, "orange"), (Level::Red, "red")]);
        pinned(&[(Lang::En, "en"), (Lang::Ru, "ru")]);
        assert_eq!(Lang::from_code("RU"), Some(Lang::Ru), "language codes are read in any case");
        pinned(&[
            (ClaimState::Voting, "voting"),
            (ClaimState::Approved, "approved"),
            (ClaimState::Rejected, "rejected"),
        ]);
        pinned(&[(Renew::Auto, "auto"), (Renew::Manual, "manual")]);
        pinned(&[(Vote::Yes, "yes"), (Vote::No, "no")]);
        pinned(&[
            (Verdict::Approved, "approved"),
            (Verdict::Rejected, "rejected"),
            (Verdict::NoQuorum, "no_quorum"),
        ]);
        pinned(&[
            (InitiativeState::Active, "active"),
            (InitiativeState::Funded, "funded"),
            (InitiativeState::Lapsed, "lapsed"),
        ]);
    }

    #[test]
    fn result_codes_never_change() {
        let errors = [
            (ErrorCode::UnknownCommand, "unknown_command"),
            (ErrorCode::BadArguments, "bad_arguments"),
            (ErrorCode::NotAMember, "not_a_member"),
            (ErrorCode::Forbidden, "forbidden"),
            (ErrorCode::NotFound, "not_found"),
            (ErrorCode::InvalidState, "invalid_state"),
            (ErrorCode::LimitExceeded, "limit_exceeded"),
            (ErrorCode::Internal, "internal"),
        ];
        for (e, code) in errors {
            assert_eq!(e.code(), code);
            // The same as its serde name in org.exodus.result.
            assert_eq!(serde_json::to_value(e).unwrap(), code);
        }
        let lists = [
            (List::Supporters, "supporters"),
            (List::Supported, "supported"),
            (List::SupportersOfSupporters, "supporters_of_supporters"),
            (List::CoSupporters, "co_supporters"),
            (List::SupportedBySupporters, "supported_by_supporters"),
            (List::SupportedBySupported, "supported_by_supported"),
        ];
        for (l, code) in lists {
            assert_eq!(l.code(), code);
        }
        for (a, code) in [
            (PayAction::Add, "add"),
            (PayAction::Remove, "remove"),
            (PayAction::Default, "default"),
        ] {
            assert_eq!(a.code(), code);
        }
        for (m, code) in [
            (Marked::Expired, "expired"),
            (Marked::Overdue, "overdue"),
            (Marked::Due, "due"),
            (Marked::Unconfirmed, "unconfirmed"),
        ] {
            assert_eq!(m.code(), code);
        }
        for (k, code) in [(Kind::Intention, "intention"), (Kind::Obligation, "obligation")] {
            assert_eq!(serde_json::to_value(k).unwrap(), code, "serde and strum agree");
        }
    }
}
