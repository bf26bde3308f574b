//! `status`, `status green`, `status orange <amount> [note]`, `status red <amount> <days> [note]`

use crate::amount::Amount;
use crate::command::args::{limited, short};
use crate::command::{Args, Command, Ctx, Scope, Spec};
use crate::error::CommandError;
use crate::outcome::{Outcome, Reply, StatusView};
use crate::profile::{LedgerFacts, MAX_TEXT_CHARS, Need, Profile, RED_DAYS};
use crate::text::Text;

pub const SPEC: Spec = Spec {
    name: "status",
    usage: &[
        "status",
        "status green",
        "status orange <amount> [note]",
        "status red <amount> <days> [note]",
    ],
    example: "status orange 300 \"rent and food\"",
    summary: "help-status",
    scope: Scope::Anywhere,
};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatusCommand {
    Show,
    Green,
    Orange { requested: Amount, note: Option<String> },
    Red { requested: Amount, days: u32, note: Option<String> },
}

pub fn parse(args: &Args<'_>) -> Result<Command, CommandError> {
    let cmd = match args.keyword(0).as_deref() {
        None => StatusCommand::Show,
        Some("green") => {
            args.end(1)?;
            StatusCommand::Green
        }
        Some("orange") => {
            StatusCommand::Orange { requested: args.positive_amount(1)?, note: note(args, 2)? }
        }
        Some("red") => {
            let requested = args.positive_amount(1)?;
            let word = args.required(2, "days")?;
            let days =
                word.parse::<u32>().ok().filter(|d| RED_DAYS.contains(d)).ok_or_else(|| {
                    CommandError::bad_arguments(Text::new("err-days").arg("word", short(word)))
                })?;
            StatusCommand::Red { requested, days, note: note(args, 3)? }
        }
        Some(_) => {
            let word = args.get(0).unwrap_or_default();
            return Err(CommandError::bad_arguments(
                Text::new("err-bad-choice")
                    .arg("word", short(word))
                    .arg("choices", "green, orange, red"),
            ));
        }
    };
    Ok(Command::Status(cmd))
}

fn note(args: &Args<'_>, i: usize) -> Result<Option<String>, CommandError> {
    args.rest(i).map(|t| limited(t, MAX_TEXT_CHARS)).transpose()
}

pub fn decide(
    cmd: &StatusCommand,
    ctx: &Ctx<'_>,
    profile: &Profile,
    facts: &LedgerFacts,
) -> Result<Outcome, CommandError> {
    let need = match cmd {
        StatusCommand::Show => {
            return Ok(Outcome::read(view(profile, profile.need.clone(), facts)));
        }
        StatusCommand::Green => Need::Green,
        StatusCommand::Orange { requested, note } => {
            Need::Orange { requested: *requested, note: note.clone() }
        }
        StatusCommand::Red { requested, days, note } => {
            profile.need.red(*requested, *days, note.clone(), ctx.now)
        }
    };
    let mut updated = profile.clone();
    updated.need = need.clone();
    let reply = view(profile, need, facts);
    Ok(Outcome::save(updated, reply))
}

fn view(profile: &Profile, need: Need, facts: &LedgerFacts) -> Reply {
    Reply::Status(StatusView { owner: profile.member.clone(), need, facts: *facts })
}
