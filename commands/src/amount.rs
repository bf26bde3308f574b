//! Exact amounts in the configured unit (SPEC §1): at most two fractional digits, never floating point.
//!
//! An [`Amount`] is a whole number of cents in an `i64`. Parsing goes through `rust_decimal` so that
//! every accepted spelling maps to exactly one value; the bound keeps sums over millions of records
//! far inside `i64`.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Serialize, Serializer};

/// The largest amount a single command may carry: one billion units.
pub const MAX_UNITS: i64 = 1_000_000_000;
const MAX_CENTS: i64 = MAX_UNITS * 100;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(i64);

/// Why a piece of text is not an amount. Each variant maps to one message the user sees.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("not a number")]
    NotANumber,
    #[error("negative")]
    Negative,
    #[error("more than two decimals")]
    TooManyDecimals,
    #[error("too large")]
    TooLarge,
}

impl Amount {
    pub const ZERO: Amount = Amount(0);

    /// An amount from a whole number of cents; `None` when negative or above the bound.
    pub fn from_cents(cents: i64) -> Option<Amount> {
        (0..=MAX_CENTS).contains(&cents).then_some(Amount(cents))
    }

    /// An amount from cents read back from storage or summed: no upper bound, never negative.
    pub fn from_stored_cents(cents: i64) -> Amount {
        Amount(cents.max(0))
    }

    pub fn cents(self) -> i64 {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }

    /// A sum that cannot overflow: it stops at `i64::MAX` cents (sums of stored amounts stay far
    /// below it: 10^11 cents each at most).
    pub fn saturating_add(self, other: Amount) -> Amount {
        Amount(self.0.saturating_add(other.0))
    }

    /// `self - other`, or zero when `other` is larger (the "needed 🙏 is never below 0" rule).
    pub fn saturating_sub(self, other: Amount) -> Amount {
        Amount((self.0 - other.0).max(0))
    }

    /// Parses user input: digits with `.` or `,` as the decimal separator, at most two decimals.
    /// No sign, exponent, thousands separator or unit symbol is accepted.
    pub fn parse(text: &str) -> Result<Amount, AmountError> {
        let text = text.trim();
        if let Some(rest) = text.strip_prefix('-') {
            return if rest
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit() || c == '.' || c == ',')
            {
                Err(AmountError::Negative)
            } else {
                Err(AmountError::NotANumber)
            };
        }
        let normalised = text.replacen(',', ".", 1);
        let (int_part, frac_part) = match normalised.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (normalised.as_str(), None),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(int_part) || frac_part.is_some_and(|f| !all_digits(f)) {
            return Err(AmountError::NotANumber);
        }
        if frac_part.is_some_and(|f| f.len() > 2) {
            return Err(AmountError::TooManyDecimals);
        }
        // Long digit strings are too large before rust_decimal ever sees them (it holds 28 digits).
        if int_part.trim_start_matches('0').len() > 12 {
            return Err(AmountError::TooLarge);
        }
        let value = Decimal::from_str(&normalised).map_err(|_| AmountError::NotANumber)?;
        let cents = value
            .checked_mul(Decimal::ONE_HUNDRED)
            .and_then(|c| i64::try_from(c).ok())
            .ok_or(AmountError::TooLarge)?;
        Amount::from_cents(cents).ok_or(AmountError::TooLarge)
    }
}

impl fmt::Display for Amount {
    /// Always two decimals: `12.50`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

impl Serialize for Amount {
    /// SPEC §3: amounts are JSON strings with exactly two decimals, never JSON numbers.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_dot_comma_and_whole_numbers() {
        assert_eq!(Amount::parse("12").unwrap().cents(), 1200);
        assert_eq!(Amount::parse("12.5").unwrap().cents(), 1250);
        assert_eq!(Amount::parse("12,50").unwrap().cents(), 1250);
        assert_eq!(Amount::parse("0.01").unwrap().cents(), 1);
        assert_eq!(Amount::parse("0").unwrap(), Amount::ZERO);
        assert_eq!(Amount::parse("1000000000").unwrap().cents(), 100_000_000_000);
    }

    #[test]
    fn rejects_what_is_not_an_exact_amount() {
        assert_eq!(Amount::parse("-5"), Err(AmountError::Negative));
        assert_eq!(Amount::parse("1.234"), Err(AmountError::TooManyDecimals));
        assert_eq!(Amount::parse("1,000.00"), Err(AmountError::NotANumber));
        assert_eq!(Amount::parse("1000000000000000000000000000000"), Err(AmountError::TooLarge));
        assert_eq!(Amount::parse("1000000000.01"), Err(AmountError::TooLarge));
        for bad in ["", "abc", "1e5", "+5", ".5", "5.", "1.2.3", "NaN", "5 EUR", "٣"] {
            assert_eq!(Amount::parse(bad), Err(AmountError::NotANumber), "{bad:?}");
        }
    }

    #[test]
    fn displays_and_serialises_with_two_decimals() {
        let a = Amount::parse("7,5").unwrap();
        assert_eq!(a.to_string(), "7.50");
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"7.50\"");
        assert_eq!(Amount::ZERO.to_string(), "0.00");
        assert_eq!(Amount::from_cents(5).unwrap().to_string(), "0.05");
    }

    proptest::proptest! {
        #[test]
        fn display_parses_back_to_the_same_amount(cents in 0i64..=MAX_CENTS) {
            let a = Amount::from_cents(cents).unwrap();
            proptest::prop_assert_eq!(Amount::parse(&a.to_string()).unwrap(), a);
            proptest::prop_assert_eq!(Amount::parse(&a.to_string().replace('.', ",")).unwrap(), a);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = Amount::parse(&s);
        }
    }
}
