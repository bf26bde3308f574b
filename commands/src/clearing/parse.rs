//! The clearing commands (SPEC §3.5): `clearing [on|off]`, `keep #N`, `unkeep #N`. The admin's
//! `admin clearing preview|run` is in [`crate::cycle::admin`].

use crate::command::args::short;
use crate::command::{Args, Command, Scope, Spec};
use crate::error::CommandError;
use crate::text::Text;

pub const CLEARING: Spec = Spec {
    name: "clearing",
    usage: &["clearing", "clearing on|off"],
    example: "clearing on",
    summary: "help-clearing",
    scope: Scope::Anywhere,
};
pub const KEEP: Spec = Spec {
    name: "keep",
    usage: &["keep #N"],
    example: "keep #12",
    summary: "help-keep",
    scope: Scope::DmOrCircle,
};
pub const UNKEEP: Spec = Spec {
    name: "unkeep",
    usage: &["unkeep #N"],
    example: "unkeep #12",
    summary: "help-unkeep",
    scope: Scope::DmOrCircle,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClearingCommand {
    /// `clearing`: the own opt-in and the last clearing's effect on the own obligations (DM).
    Show,
    /// `clearing on|off`
    Set(bool),
    /// `keep #N` (`true`) / `unkeep #N` (`false`)
    Keep { id: crate::ledger::RecordId, keep: bool },
}

pub fn parse_clearing(args: &Args<'_>) -> Result<Command, CommandError> {
    args.end(1)?;
    let cmd = match args.keyword(0).as_deref() {
        None => ClearingCommand::Show,
        Some("on") => ClearingCommand::Set(true),
        Some("off") => ClearingCommand::Set(false),
        Some(_) => {
            let word = args.get(0).unwrap_or_default();
            return Err(CommandError::bad_arguments(
                Text::new("err-bad-choice").arg("word", short(word)).arg("choices", "on, off"),
            ));
        }
    };
    Ok(Command::Clearing(cmd))
}

pub fn parse_keep(args: &Args<'_>, keep: bool) -> Result<Command, CommandError> {
    let id = crate::ledger::pledge::required_ref(args, 0)?;
    args.end(1)?;
    Ok(Command::Clearing(ClearingCommand::Keep { id, keep }))
}
