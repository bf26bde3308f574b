//! Validated identifiers and small value types shared by every command.

use crate::Code;
use std::fmt;

use serde::{Serialize, Serializer};

/// A member is a Matrix user ID (SPEC §1, V5): `@localpart:server.name[:port]`.
///
/// The Matrix adapter builds these from ruma's already-validated `UserId`; parsing here guards the
/// pure layer against text typed by users (full user IDs given as arguments).
///
/// Shared, not copied, when cloned: a job's digests name the same members a million times (B3).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MemberId(std::sync::Arc<str>);

impl MemberId {
    pub fn parse(text: &str) -> Option<MemberId> {
        let rest = text.strip_prefix('@')?;
        let (local, server) = rest.split_once(':')?;
        let local_ok = !local.is_empty()
            && local
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._=-/+".contains(&b));
        let server_ok = !server.is_empty()
            && server.len() <= 230
            && server.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
        (local_ok && server_ok && text.len() <= 255).then(|| MemberId(text.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A member found by its text in a set or map of members (`Hash`, `Eq` and `Ord` are the
/// text's).
impl std::borrow::Borrow<str> for MemberId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for MemberId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Read back only if it is a valid user ID (as [`MemberId::parse`]).
impl<'de> serde::Deserialize<'de> for MemberId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        MemberId::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("not a Matrix user ID: {text:?}")))
    }
}

/// The languages replies and notifications are written in (`lang en|ru`).
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[strum(serialize_all = "snake_case", ascii_case_insensitive)]
pub enum Lang {
    #[default]
    En,
    Ru,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Ru];
}

impl Serialize for Lang {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FromCode;

    #[test]
    fn member_ids_are_validated() {
        assert!(MemberId::parse("@alice:example.org").is_some());
        assert!(MemberId::parse("@bob-1:localhost:8448").is_some());
        assert!(MemberId::parse("@x:[::1]:8448").is_some());
        for bad in ["alice", "@alice", "@:example.org", "@Alice:example.org", "@a b:x", "@a:"] {
            assert!(MemberId::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn languages_round_trip() {
        for l in Lang::ALL {
            assert_eq!(Lang::from_code(l.code()), Some(l));
        }
        assert_eq!(Lang::from_code("RU"), Some(Lang::Ru));
        assert_eq!(Lang::from_code("de"), None);
    }
}
