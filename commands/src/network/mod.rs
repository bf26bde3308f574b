//! A member's network (SPEC §6): the six relation lists, from the support relations of the
//! ledger, limited to what the asker may see (V1).
//!
//! "Supports" means an active intention or open obligation this cycle, or a fulfilment in the last
//! three cycles; storage selects those records, this module only relates them.

// The `network` command: its grammar and parser (`parse`), the text of its reply (`render`) and
// its `org.exodus.result` fields (`result`).
pub(crate) mod parse;
pub(crate) mod render;
pub mod result;

use std::collections::{BTreeMap, BTreeSet};

use crate::ids::MemberId;
use crate::profile::Level;

/// How many cycles back a fulfilment still makes its giver a supporter.
pub const FULFILMENT_CYCLES: u32 = 3;

/// One support relation: `giver` supports `recipient`, recorded in the circle room `room_id` (the
/// recipient's circle). Who supports whom is a record of that circle (V1).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Support {
    pub giver: MemberId,
    pub recipient: MemberId,
    pub room_id: String,
}

/// The six lists of SPEC §6, in its order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum List {
    /// (1) who supports M.
    Supporters,
    /// (2) whom M supports.
    Supported,
    /// (3) who else supports those who support M.
    SupportersOfSupporters,
    /// (4) who else supports those M supports.
    CoSupporters,
    /// (5) whom else M's supporters support.
    SupportedBySupporters,
    /// (6) who is supported by those M supports.
    SupportedBySupported,
}

impl List {
    pub const ALL: [List; 6] = [
        List::Supporters,
        List::Supported,
        List::SupportersOfSupporters,
        List::CoSupporters,
        List::SupportedBySupporters,
        List::SupportedBySupported,
    ];
}

/// The relations read for a `network` command, with what the asker may see.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetworkFacts {
    /// Every support relation of the asker and of the members they are related to.
    pub supports: Vec<Support>,
    /// Circle rooms the asker is joined to now (V1: a relation between two others is shown only
    /// to a member of the circle it is recorded in).
    pub joined_rooms: BTreeSet<String>,
    /// The status of the members concerned; a member without a profile counts as green.
    pub levels: BTreeMap<MemberId, Level>,
}

/// One member in a list, with the status shown (the request is not secret, SPEC §2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Related {
    pub member: MemberId,
    pub level: Level,
}

/// The six lists, each sorted by user ID.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Network {
    pub lists: BTreeMap<List, Vec<Related>>,
}

impl Network {
    pub fn list(&self, list: List) -> &[Related] {
        self.lists.get(&list).map_or(&[], Vec::as_slice)
    }
}

/// The six relation sets of `me` over `supports`, without regard to visibility.
pub fn relations<'a>(
    me: &MemberId,
    supports: impl IntoIterator<Item = &'a Support> + Clone,
) -> BTreeMap<List, BTreeSet<MemberId>> {
    let supporters_of = |member: &MemberId| -> BTreeSet<MemberId> {
        supports
            .clone()
            .into_iter()
            .filter(|s| &s.recipient == member)
            .map(|s| s.giver.clone())
            .collect()
    };
    let supported_by = |member: &MemberId| -> BTreeSet<MemberId> {
        supports
            .clone()
            .into_iter()
            .filter(|s| &s.giver == member)
            .map(|s| s.recipient.clone())
            .collect()
    };
    let mut out = BTreeMap::new();
    let supporters: BTreeSet<MemberId> =
        supporters_of(me).into_iter().filter(|m| m != me).collect();
    let supported: BTreeSet<MemberId> = supported_by(me).into_iter().filter(|m| m != me).collect();
    let around =
        |of: &BTreeSet<MemberId>,
         step: &dyn Fn(&MemberId) -> BTreeSet<MemberId>|
         -> BTreeSet<MemberId> { of.iter().flat_map(step).filter(|m| m != me).collect() };
    out.insert(List::SupportersOfSupporters, around(&supporters, &supporters_of));
    out.insert(List::SupportedBySupporters, around(&supporters, &supported_by));
    out.insert(List::CoSupporters, around(&supported, &supporters_of));
    out.insert(List::SupportedBySupported, around(&supported, &supported_by));
    out.insert(List::Supporters, supporters);
    out.insert(List::Supported, supported);
    out
}

/// Everyone in `me`'s network (relations 1–6): who hears of an emergency (SPEC §5). Only the
/// request travels to them, never a record, so visibility does not narrow it.
pub fn network_members(me: &MemberId, supports: &[Support]) -> BTreeSet<MemberId> {
    relations(me, supports).into_values().flatten().collect()
}

/// What `network` shows `me`: the six lists over the relations `me` may see — those `me` is a
/// party to, and those recorded in a circle room `me` is joined to now (V1).
pub fn network(me: &MemberId, facts: &NetworkFacts) -> Network {
    let visible: Vec<&Support> = facts
        .supports
        .iter()
        .filter(|s| &s.giver == me || &s.recipient == me || facts.joined_rooms.contains(&s.room_id))
        .collect();
    let lists = relations(me, visible.iter().copied())
        .into_iter()
        .map(|(list, members)| {
            let related = members
                .into_iter()
                .map(|member| Related {
                    level: facts.levels.get(&member).copied().unwrap_or(Level::Green),
                    member,
                })
                .collect();
            (list, related)
        })
        .collect();
    Network { lists }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> MemberId {
        MemberId::parse(&format!("@{s}:x.org")).unwrap()
    }

    fn s(giver: &str, recipient: &str) -> Support {
        Support { giver: m(giver), recipient: m(recipient), room_id: format!("!{recipient}:x.org") }
    }

    fn names(network: &Network, list: List) -> Vec<String> {
        network
            .list(list)
            .iter()
            .map(|r| {
                r.member.as_str().trim_start_matches('@').split(':').next().unwrap().to_owned()
            })
            .collect()
    }

    /// bob and carol support me; I support dave; erin supports bob; bob supports frank;
    /// gina supports dave; dave supports hank.
    fn web() -> Vec<Support> {
        vec![
            s("bob", "me"),
            s("carol", "me"),
            s("me", "dave"),
            s("erin", "bob"),
            s("bob", "frank"),
            s("gina", "dave"),
            s("dave", "hank"),
        ]
    }

    #[test]
    fn the_six_lists_follow_spec_section_6() {
        let facts = NetworkFacts {
            supports: web(),
            joined_rooms: ["!bob:x.org", "!frank:x.org", "!dave:x.org", "!hank:x.org"]
                .map(String::from)
                .into(),
            levels: [(m("dave"), Level::Red)].into(),
        };
        let n = network(&m("me"), &facts);
        assert_eq!(names(&n, List::Supporters), ["bob", "carol"]);
        assert_eq!(names(&n, List::Supported), ["dave"]);
        assert_eq!(names(&n, List::SupportersOfSupporters), ["erin"]);
        assert_eq!(names(&n, List::CoSupporters), ["gina"]);
        assert_eq!(names(&n, List::SupportedBySupporters), ["frank"]);
        assert_eq!(names(&n, List::SupportedBySupported), ["hank"]);
        assert_eq!(n.list(List::Supported)[0].level, Level::Red);
        assert_eq!(n.list(List::Supporters)[0].level, Level::Green, "no profile: green");
    }

    #[test]
    fn relations_between_others_need_membership_of_their_circle() {
        // Joined to none of the others' circles: only my own relations show.
        let n = network(&m("me"), &NetworkFacts { supports: web(), ..Default::default() });
        assert_eq!(names(&n, List::Supporters), ["bob", "carol"]);
        assert_eq!(names(&n, List::Supported), ["dave"]);
        for list in &List::ALL[2..] {
            assert!(
                n.list(*list).is_empty(),
                "{list:?} shows a relation recorded in a circle I am not in: {n:?}"
            );
        }
        // The red notice still reaches the whole network: only the request travels.
        let all: Vec<_> = network_members(&m("me"), &web()).into_iter().collect();
        assert_eq!(all.len(), 7);
        assert!(!all.contains(&m("me")));
    }
}
