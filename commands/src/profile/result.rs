//! `help`, `status` and a member's own settings (SPEC §3.1): `about`, `pay`, `lang`, `notify`,
//! `forget-me`.

// The doc comments below are the documentation of the wire format: none may be missing.
#![warn(missing_docs)]

use serde::Serialize;

use crate::outcome::PayAction;
use crate::render::result::Coded;
use crate::render::result::circle::CircleFigures;
use crate::{Amount, Lang, MemberId};

/// `help` and `help <command>`.
#[derive(Debug, Serialize)]
pub struct Help {
    /// `help <command>`: its usages, one per line, with the prefix. Left out for `help`, or a
    /// topic without a usage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<String>,
    /// `help <command>`: its example, with the prefix. Left out as `usage` is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
    /// `help <command>`: the command asked about. Left out for `help`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<&'static str>,
    /// The names of the commands `help` lists: all but the admins' own.
    pub commands: Vec<&'static str>,
}

/// `status` (SPEC §3): the member's circle as `circle` shows it, and their own giving.
#[derive(Debug, Serialize)]
pub struct Status<'a> {
    /// `owner` (the member), their need and their circle's figures.
    #[serde(flatten)]
    pub circle: CircleFigures<'a>,
    /// What the member gave this cycle.
    pub given: Totals,
    /// What the member received this cycle.
    pub received: Totals,
    /// How the member kept the obligations they gave, over all time.
    pub reliability: Reliability,
}

/// Sums of ❤️ intentions, 🤝 open obligations and 👍 fulfilled amounts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// ❤️ open intentions.
    pub intentions: Amount,
    /// 🤝 open obligations, paid-awaiting-confirmation included.
    pub obligations: Amount,
    /// 👍 fulfilled (set off included).
    pub fulfilled: Amount,
}

impl From<&crate::profile::Totals> for Totals {
    fn from(t: &crate::profile::Totals) -> Totals {
        Totals { intentions: t.intentions, obligations: t.obligations, fulfilled: t.fulfilled }
    }
}

/// How a member kept the obligations they gave (SPEC §4): counts of obligations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Reliability {
    /// Fulfilled (cleared ones included).
    pub fulfilled: u32,
    /// Went past due, fulfilled since or not.
    pub overdue: u32,
    /// Forgiven.
    pub forgiven: u32,
}

impl From<&crate::profile::Reliability> for Reliability {
    fn from(r: &crate::profile::Reliability) -> Reliability {
        Reliability { fulfilled: r.fulfilled, overdue: r.overdue, forgiven: r.forgiven }
    }
}

/// `about`.
#[derive(Debug, Serialize)]
pub struct About<'a> {
    /// The member's text about themselves; `null` when they wrote none.
    pub about: Option<&'a str>,
}

/// One payment method.
#[derive(Debug, Serialize)]
pub struct PaymentMethod<'a> {
    /// Its name (`cash`, `bank`…).
    pub label: &'a str,
    /// How to pay by it (an account, a phone number…).
    pub details: &'a str,
    /// The method shown first.
    pub default: bool,
}

impl<'a> From<&'a crate::profile::PaymentMethod> for PaymentMethod<'a> {
    fn from(m: &'a crate::profile::PaymentMethod) -> PaymentMethod<'a> {
        PaymentMethod { label: &m.label, details: &m.details, default: m.is_default }
    }
}

/// `pay` in the member's DM: their own payment details (V8: only there).
#[derive(Debug, Serialize)]
pub struct PayMethods<'a> {
    /// The member's payment methods.
    pub methods: Vec<PaymentMethod<'a>>,
}

/// `pay` in a circle room: how to pay the circle's owner (V8: only into that room).
#[derive(Debug, Serialize)]
pub struct CirclePay<'a> {
    /// The circle's owner.
    pub owner: &'a MemberId,
    /// The owner's payment methods.
    pub methods: Vec<PaymentMethod<'a>>,
}

/// `pay` in a shared room other than a circle: the details went to the member's DM (V8).
#[derive(Debug, Serialize)]
pub struct PaySentByDm {
    /// Always `true`.
    pub sent_by_dm: bool,
}

/// `pay add|remove|default <label>`.
#[derive(Debug, Serialize)]
pub struct PayChanged<'a> {
    /// `add`, `remove` or `default`.
    pub action: Coded<PayAction>,
    /// The method's label.
    pub label: &'a str,
}

/// `lang en|ru`.
#[derive(Debug, Serialize)]
pub struct LangSet {
    /// The language now chosen: `en` or `ru`.
    pub lang: Coded<Lang>,
}

/// `notify on|off`.
#[derive(Debug, Serialize)]
pub struct Notify {
    /// Notifications by DM are now on.
    pub notify: bool,
}

/// `forget-me`: waiting for `forget-me confirm`.
#[derive(Debug, Serialize)]
pub struct ForgetPending {
    /// Always `true`.
    pub pending: bool,
}

/// `forget-me confirm`: the member's profile is erased.
#[derive(Debug, Serialize)]
pub struct ForgetDone {
    /// Always `true`.
    pub erased: bool,
}
