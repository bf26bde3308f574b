//! The ledger commands (SPEC §3.2): `intend`, `withdraw`, `commit`, `remind`, `paid`, `confirm`,
//! `forgive`.

use crate::command::args::{limited, short};
use crate::command::{Args, Command, Scope, Spec};
use crate::error::CommandError;
use crate::ledger::RecordId;
use crate::profile::MAX_TEXT_CHARS;
use crate::text::Text;

pub const INTEND: Spec = Spec {
    name: "intend",
    usage: &["intend <amount> [for \"<what>\"]", "intend #N <amount>"],
    example: "intend 20",
    summary: "help-intend",
    scope: Scope::Circle,
};
pub const WITHDRAW: Spec = Spec {
    name: "withdraw",
    usage: &["withdraw #N"],
    example: "withdraw #12",
    summary: "help-withdraw",
    scope: Scope::Circle,
};
pub const COMMIT: Spec = Spec {
    name: "commit",
    usage: &["commit #N [amount]", "commit <amount> [for \"<what>\"]"],
    example: "commit #12",
    summary: "help-commit",
    scope: Scope::Circle,
};
pub const REMIND: Spec = Spec {
    name: "remind",
    usage: &["remind #N"],
    example: "remind #12",
    summary: "help-remind",
    scope: Scope::Circle,
};
pub const PAID: Spec = Spec {
    name: "paid",
    usage: &["paid #N"],
    example: "paid #12",
    summary: "help-paid",
    scope: Scope::Circle,
};
pub const CONFIRM: Spec = Spec {
    name: "confirm",
    usage: &["confirm #N"],
    example: "confirm #12",
    summary: "help-confirm",
    scope: Scope::Circle,
};
pub const FORGIVE: Spec = Spec {
    name: "forgive",
    usage: &["forgive #N"],
    example: "forgive #12",
    summary: "help-forgive",
    scope: Scope::Circle,
};

/// What a record command does to record `#N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordAction {
    Withdraw,
    Remind,
    Paid,
    Confirm,
    Forgive,
}

impl RecordAction {
    pub fn name(self) -> &'static str {
        match self {
            RecordAction::Withdraw => WITHDRAW.name,
            RecordAction::Remind => REMIND.name,
            RecordAction::Paid => PAID.name,
            RecordAction::Confirm => CONFIRM.name,
            RecordAction::Forgive => FORGIVE.name,
        }
    }
}

/// Largest record number accepted (far above any real one; keeps the number in an `i64`).
const MAX_RECORD_ID: RecordId = 1_000_000_000_000_000;

/// `#N`; `None` when the word does not start with `#`.
fn record_ref(word: &str) -> Option<Result<RecordId, CommandError>> {
    let digits = word.strip_prefix('#')?;
    Some(
        digits
            .parse::<RecordId>()
            .ok()
            .filter(|n| {
                (1..=MAX_RECORD_ID).contains(n) && digits.bytes().all(|b| b.is_ascii_digit())
            })
            .ok_or_else(|| {
                CommandError::bad_arguments(Text::new("err-record-ref").arg("word", short(word)))
            }),
    )
}

pub(crate) fn required_ref(args: &Args<'_>, i: usize) -> Result<RecordId, CommandError> {
    let word = args.required(i, "#N")?;
    record_ref(word).unwrap_or_else(|| {
        Err(CommandError::bad_arguments(Text::new("err-record-ref").arg("word", short(word))))
    })
}

/// `[for "<what>"]` from word `i`.
fn what(args: &Args<'_>, i: usize) -> Result<Option<String>, CommandError> {
    match args.keyword(i).as_deref() {
        None if args.get(i).is_none() => Ok(None),
        Some("for") => {
            let text = args.rest(i + 1).ok_or_else(|| {
                CommandError::bad_arguments(Text::new("err-missing-argument").arg("what", "what"))
            })?;
            limited(text, MAX_TEXT_CHARS).map(Some)
        }
        _ => Err(CommandError::bad_arguments(
            Text::new("err-unexpected-word").arg("word", short(args.get(i).unwrap_or_default())),
        )),
    }
}

pub fn parse_intend(args: &Args<'_>) -> Result<Command, CommandError> {
    match args.get(0).and_then(record_ref) {
        Some(id) => {
            let id = id?;
            let amount = args.positive_amount(1)?;
            args.end(2)?;
            Ok(Command::IntendChange { id, amount })
        }
        None => Ok(Command::Intend { amount: args.positive_amount(0)?, what: what(args, 1)? }),
    }
}

pub fn parse_commit(args: &Args<'_>) -> Result<Command, CommandError> {
    match args.get(0).and_then(record_ref) {
        Some(id) => {
            let id = id?;
            let amount = if args.get(1).is_some() { Some(args.positive_amount(1)?) } else { None };
            args.end(2)?;
            Ok(Command::CommitIntention { id, amount })
        }
        None => {
            Ok(Command::CommitDirect { amount: args.positive_amount(0)?, what: what(args, 1)? })
        }
    }
}

pub fn parse_record(args: &Args<'_>, action: RecordAction) -> Result<Command, CommandError> {
    let id = required_ref(args, 0)?;
    args.end(1)?;
    Ok(Command::Record { action, id })
}
