//! The pool commands (SPEC §3.3): `pool create|rules|rule|leave`, `pool`, `pledge`, `claim`,
//! `vote`.

use crate::command::args::{limited, short};
use crate::command::{Args, Command, Scope, Spec};
use crate::error::CommandError;
use crate::pool::{ClaimId, RULE_KEYS, Vote};
use crate::profile::MAX_TEXT_CHARS;
use crate::text::Text;

pub const POOL: Spec = Spec {
    name: "pool",
    usage: &["pool", "pool create <name>", "pool rules", "pool rule <key> <value>", "pool leave"],
    example: "pool rule quorum 0.6",
    summary: "help-pool",
    scope: Scope::Pool,
};
pub const PLEDGE: Spec = Spec {
    name: "pledge",
    usage: &["pledge <amount>"],
    example: "pledge 50",
    summary: "help-pledge",
    scope: Scope::Pool,
};
pub const CLAIM: Spec = Spec {
    name: "claim",
    usage: &["claim <event> <amount> <description>"],
    example: "claim accident 300 \"broken wrist, two weeks off work\"",
    summary: "help-claim",
    scope: Scope::Pool,
};
pub const VOTE: Spec = Spec {
    name: "vote",
    usage: &["vote #C yes|no"],
    example: "vote #3 yes",
    summary: "help-vote",
    scope: Scope::Pool,
};

/// Longest pool name, in characters.
pub const MAX_POOL_NAME_CHARS: usize = 100;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PoolCommand {
    Show,
    Create {
        name: String,
    },
    Rules,
    /// `value` as typed (validated against the rule when decided).
    Rule {
        key: String,
        value: String,
    },
    Leave,
}

pub fn parse_pool(args: &Args<'_>) -> Result<Command, CommandError> {
    let cmd = match args.keyword(0).as_deref() {
        None => PoolCommand::Show,
        Some("create") => {
            let name = args.rest(1).ok_or_else(|| {
                CommandError::bad_arguments(Text::new("err-missing-argument").arg("what", "name"))
            })?;
            PoolCommand::Create { name: limited(name, MAX_POOL_NAME_CHARS)? }
        }
        Some("rules") => {
            args.end(1)?;
            PoolCommand::Rules
        }
        Some("rule") => {
            let key = args.keyword(1).ok_or_else(|| {
                CommandError::bad_arguments(Text::new("err-missing-argument").arg("what", "key"))
            })?;
            if !RULE_KEYS.contains(&key.as_str()) {
                return Err(CommandError::bad_arguments(
                    Text::new("err-bad-choice")
                        .arg("word", short(&key))
                        .arg("choices", RULE_KEYS.join(", ")),
                ));
            }
            let value = args.rest(2).ok_or_else(|| {
                CommandError::bad_arguments(Text::new("err-missing-argument").arg("what", "value"))
            })?;
            PoolCommand::Rule { key, value: limited(value, MAX_TEXT_CHARS)? }
        }
        Some("leave") => {
            args.end(1)?;
            PoolCommand::Leave
        }
        Some(_) => {
            let word = args.get(0).unwrap_or_default();
            return Err(CommandError::bad_arguments(
                Text::new("err-bad-choice")
                    .arg("word", short(word))
                    .arg("choices", "create, rules, rule, leave"),
            ));
        }
    };
    Ok(Command::Pool(cmd))
}

pub fn parse_pledge(args: &Args<'_>) -> Result<Command, CommandError> {
    let amount = args.amount(0)?;
    args.end(1)?;
    Ok(Command::Pledge { amount })
}

pub fn parse_claim(args: &Args<'_>) -> Result<Command, CommandError> {
    let event = args.keyword(0).ok_or_else(|| {
        CommandError::bad_arguments(Text::new("err-missing-argument").arg("what", "event"))
    })?;
    let amount = args.positive_amount(1)?;
    let description = args.rest(2).ok_or_else(|| {
        CommandError::bad_arguments(Text::new("err-missing-argument").arg("what", "description"))
    })?;
    Ok(Command::Claim {
        event: short(&event),
        amount,
        description: limited(description, MAX_TEXT_CHARS)?,
    })
}

pub fn parse_vote(args: &Args<'_>) -> Result<Command, CommandError> {
    let id = crate::ledger::pledge::required_ref(args, 0)?;
    let vote = match args.keyword(1).as_deref() {
        Some("yes") => Vote::Yes,
        Some("no") => Vote::No,
        Some(_) => {
            let word = args.get(1).unwrap_or_default();
            return Err(CommandError::bad_arguments(
                Text::new("err-bad-choice").arg("word", short(word)).arg("choices", "yes, no"),
            ));
        }
        None => {
            return Err(CommandError::bad_arguments(
                Text::new("err-missing-argument").arg("what", "yes|no"),
            ));
        }
    };
    args.end(2)?;
    Ok(Command::Vote { id: ClaimId::from(id), vote })
}
