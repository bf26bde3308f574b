//! What deciding a command produced: the change to persist and what to say, still structured.
//! `render` turns a [`Reply`] into text, HTML and `org.exodus.result`.

use crate::ids::{Lang, MemberId};
use crate::profile::{LedgerFacts, Need, PaymentMethod, Profile};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Nothing to write (reads, and every error).
    None,
    /// Write this profile back.
    Save(Profile),
    /// `forget-me confirm`: erase the member's profile, payment details and language.
    Erase,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub change: Change,
    /// The reply in the room where the command was sent.
    pub reply: Reply,
    /// A private reply sent to the sender's DM with the bot (V8: payment details asked for in a
    /// shared room go there).
    pub private: Option<Reply>,
}

impl Decision {
    pub fn read(reply: Reply) -> Decision {
        Decision { change: Change::None, reply, private: None }
    }

    pub fn save(profile: Profile, reply: Reply) -> Decision {
        Decision { change: Change::Save(profile), reply, private: None }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusView {
    pub owner: MemberId,
    pub need: Need,
    pub facts: LedgerFacts,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayAction {
    Add,
    Remove,
    Default,
}

impl PayAction {
    pub fn code(self) -> &'static str {
        match self {
            PayAction::Add => "add",
            PayAction::Remove => "remove",
            PayAction::Default => "default",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    Help { topic: Option<&'static str> },
    Status(StatusView),
    About(Option<String>),
    /// The member's own payment details; only ever rendered into their DM (V8).
    PayMethods(Vec<PaymentMethod>),
    PaySentByDm,
    PayChanged { action: PayAction, label: String },
    Lang(Lang),
    Notify(bool),
    ForgetPending,
    ForgetDone,
}
