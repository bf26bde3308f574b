//! The monthly rollover's digests (SPEC §4, §5): what changed at the turn of the month, one
//! message per member, listing only records the member is a party to (V1).

use std::collections::BTreeMap;

use crate::amount::Amount;
use crate::ids::MemberId;
use crate::ledger::RecordId;

/// What the rollover did to a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rolled {
    /// An intention never committed in the past cycle.
    Expired,
    /// A new intention renewing the obligation `from`, fulfilled in the past cycle.
    Renewed { from: RecordId },
    /// An obligation past its due date, still payable.
    Overdue,
}

impl Rolled {
    pub fn code(self) -> &'static str {
        match self {
            Rolled::Expired => "expired",
            Rolled::Renewed { .. } => "renewed",
            Rolled::Overdue => "overdue",
        }
    }
}

/// One line of a member's digest.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RolloverItem {
    pub rolled: Rolled,
    pub id: RecordId,
    pub giver: MemberId,
    pub recipient: MemberId,
    pub amount: Amount,
    /// The reader is the giver (else the recipient).
    pub as_giver: bool,
}

/// Sorts the rollover's changes into one digest per party: the giver and the recipient of each
/// record both hear of it, nobody else. Deterministic: by member, then by change and record.
pub fn digests(changes: impl IntoIterator<Item = (Rolled, RecordId, MemberId, MemberId, Amount)>) -> BTreeMap<MemberId, Vec<RolloverItem>> {
    let mut out: BTreeMap<MemberId, Vec<RolloverItem>> = BTreeMap::new();
    for (rolled, id, giver, recipient, amount) in changes {
        let item = RolloverItem { rolled, id, giver: giver.clone(), recipient: recipient.clone(), amount, as_giver: true };
        if giver != recipient {
            out.entry(recipient).or_default().push(RolloverItem { as_giver: false, ..item.clone() });
        }
        out.entry(giver).or_default().push(item);
    }
    for items in out.values_mut() {
        items.sort();
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn m(name: &str) -> MemberId {
        MemberId::parse(&format!("@{name}:example.org")).unwrap()
    }

    #[test]
    fn each_party_hears_of_its_own_records_only() {
        let cents = Amount::from_stored_cents;
        let d = digests([
            (Rolled::Overdue, 5, m("bob"), m("alice"), cents(500)),
            (Rolled::Expired, 1, m("bob"), m("alice"), cents(100)),
            (Rolled::Renewed { from: 3 }, 9, m("carol"), m("dave"), cents(300)),
        ]);
        assert_eq!(d.keys().cloned().collect::<Vec<_>>(), [m("alice"), m("bob"), m("carol"), m("dave")]);
        let bob: Vec<_> = d[&m("bob")].iter().map(|i| (i.rolled, i.id, i.as_giver)).collect();
        assert_eq!(bob, [(Rolled::Expired, 1, true), (Rolled::Overdue, 5, true)]);
        let alice: Vec<_> = d[&m("alice")].iter().map(|i| (i.rolled, i.id, i.as_giver)).collect();
        assert_eq!(alice, [(Rolled::Expired, 1, false), (Rolled::Overdue, 5, false)]);
        assert!(d[&m("dave")].iter().all(|i| !i.as_giver && i.id == 9));
        assert!(!d[&m("carol")].iter().any(|i| i.recipient == m("alice")), "carol sees nothing of alice's circle");
    }
}
