//! A circle (SPEC §3.2): `circle` and its subcommands, a member's need as `status` and `circle`
//! show it, the requests for help it sends (SPEC §5) and the ends of a red collection.

// The doc comments below are the documentation of the wire format: none may be missing.
#![warn(missing_docs)]

use serde::Serialize;

use crate::render::result::constant;

use crate::profile::Level;
use crate::render::result::ledger::RecordList;
use crate::render::result::{Coded, Instant};
use crate::{Amount, MemberId};

constant!(
    /// `notice` of [`CollectionComplete`].
    CollectionCompleteNotice = "collection-complete"
);
constant!(
    /// `notice` of [`CollectionEnded`].
    CollectionEndedNotice = "collection-ended"
);
constant!(
    /// `notice` of [`HelpRequest`].
    HelpRequestNotice = "help-request"
);

/// A member's need (SPEC §1).
#[derive(Debug, Serialize)]
pub struct Need<'a> {
    /// `green`, `orange` or `red`.
    pub status: Coded<Level>,
    /// 💰 what the member asks for; `null` when green.
    pub requested: Option<Amount>,
    /// When a red collection ends; `null` unless red.
    pub deadline: Option<Instant>,
    /// The member's note on their need; `null` when none.
    pub note: Option<&'a str>,
}

impl<'a> From<&'a crate::profile::Need> for Need<'a> {
    fn from(need: &'a crate::profile::Need) -> Need<'a> {
        Need {
            status: Coded(need.level()),
            requested: need.requested(),
            deadline: need.deadline().map(Instant),
            note: need.note(),
        }
    }
}

/// A circle's owner, their need and the circle's figures (SPEC §3: the fields of `circle`, and
/// the first ones of `status`).
#[derive(Debug, Serialize)]
pub struct CircleFigures<'a> {
    /// The circle's owner.
    pub owner: &'a MemberId,
    /// `status`, `requested`, `deadline`, `note`.
    #[serde(flatten)]
    pub need: Need<'a>,
    /// ❤️ open intentions in the owner's favour.
    pub intentions: Amount,
    /// 🤝 open obligations in the owner's favour, paid-awaiting-confirmation included.
    pub obligations: Amount,
    /// 👍 fulfilled in the owner's favour.
    pub fulfilled: Amount,
    /// 🙏 still needed: requested − open obligations − fulfilled, never below 0.
    pub needed: Amount,
    /// How many members support the owner.
    pub supporters: u32,
}

/// `circle`: the figures and the circle's records.
#[derive(Debug, Serialize)]
pub struct Circle<'a> {
    /// The owner, their need and the circle's figures.
    #[serde(flatten)]
    pub figures: CircleFigures<'a>,
    /// `records` and, when it was cut, `more`.
    #[serde(flatten)]
    pub records: RecordList<'a>,
}

/// `circle open`.
#[derive(Debug, Serialize)]
pub struct CircleOpened<'a> {
    /// The circle's owner: the sender.
    pub owner: &'a MemberId,
    /// The room bound as the circle; `null` from a DM, where the room is still being created.
    pub room_id: Option<&'a str>,
}

/// `circle link`.
#[derive(Debug, Serialize)]
pub struct CircleLink {
    /// A `https://matrix.to/#/<room>` link to the circle's room.
    pub link: String,
}

/// `circle invite <member>`.
#[derive(Debug, Serialize)]
pub struct CircleInvited<'a> {
    /// The member the bot invited.
    pub member: &'a MemberId,
}

/// A red collection reached its amount (announced in the circle).
#[derive(Debug, Serialize)]
pub struct CollectionComplete<'a> {
    /// `collection-complete`.
    pub notice: CollectionCompleteNotice,
    /// Whose collection it was.
    pub owner: &'a MemberId,
    /// What was collected.
    pub collected: Amount,
}

/// A red collection reached its deadline before its amount (SPEC §3.2): the owner's status is
/// back to `status`; open obligations stay payable.
#[derive(Debug, Serialize)]
pub struct CollectionEnded<'a> {
    /// `collection-ended`.
    pub notice: CollectionEndedNotice,
    /// Whose collection it was.
    pub owner: &'a MemberId,
    /// What was collected.
    pub collected: Amount,
    /// What was asked for.
    pub requested: Amount,
    /// The status the owner is back to: `green` or `orange`.
    pub status: Coded<Level>,
}

/// A member's request for help, sent to their circle (orange) or their whole network (red) when
/// their status changes (SPEC §5): the need and how to join the circle, never a record.
#[derive(Debug, Serialize)]
pub struct HelpRequest<'a> {
    /// `help-request`.
    pub notice: HelpRequestNotice,
    /// Who asks for help.
    pub owner: &'a MemberId,
    /// `status`, `requested`, `deadline`, `note`.
    #[serde(flatten)]
    pub need: Need<'a>,
    /// 🙏 still needed.
    pub needed: Amount,
    /// How many members support the owner.
    pub supporters: u32,
    /// A `https://matrix.to/#/<room>` link to the owner's circle; `null` when they have none.
    pub link: Option<String>,
}
