//! The initiative commands (SPEC §3.4): `propose`, `back`, `initiative`, `initiatives`.
//! `withdraw #N` withdraws a backing as any intention.

use crate::command::args::{limited, short};
use crate::command::{Args, Command, Scope, Spec};
use crate::error::CommandError;
use crate::initiative::{InitiativeId, MAX_DAYS, MAX_TITLE_CHARS};
use crate::text::Text;

pub const PROPOSE: Spec = Spec {
    name: "propose",
    usage: &["propose <goal> <days> <title>"],
    example: "propose 400 30 \"a shared tool library in the basement\"",
    summary: "help-propose",
    scope: Scope::Room,
};
pub const BACK: Spec = Spec {
    name: "back",
    usage: &["back #I <amount>"],
    example: "back #3 25",
    summary: "help-back",
    scope: Scope::Room,
};
pub const INITIATIVE: Spec = Spec {
    name: "initiative",
    usage: &["initiative #I", "initiative #I goal <amount>"],
    example: "initiative #3 goal 350",
    summary: "help-initiative",
    scope: Scope::Room,
};
pub const INITIATIVES: Spec = Spec {
    name: "initiatives",
    usage: &["initiatives"],
    example: "initiatives",
    summary: "help-initiatives",
    scope: Scope::Room,
};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InitiativeCommand {
    Show { id: InitiativeId },
    Goal { id: InitiativeId, goal: crate::Amount },
}

pub fn parse_propose(args: &Args<'_>) -> Result<Command, CommandError> {
    let goal = args.positive_amount(0)?;
    let word = args.required(1, "days")?;
    let days = word
        .parse::<u32>()
        .ok()
        .filter(|d| (1..=MAX_DAYS).contains(d) && word.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            CommandError::bad_arguments(
                Text::new("err-initiative-days")
                    .arg("word", short(word))
                    .num("max", i64::from(MAX_DAYS)),
            )
        })?;
    let title = args.rest(2).ok_or_else(|| {
        CommandError::bad_arguments(Text::new("err-missing-argument").arg("what", "title"))
    })?;
    Ok(Command::Propose { goal, days, title: limited(title, MAX_TITLE_CHARS)? })
}

pub fn parse_back(args: &Args<'_>) -> Result<Command, CommandError> {
    let id = crate::ledger::pledge::required_ref(args, 0)?;
    let amount = args.positive_amount(1)?;
    args.end(2)?;
    Ok(Command::Back { id, amount })
}

pub fn parse_initiative(args: &Args<'_>) -> Result<Command, CommandError> {
    let id = crate::ledger::pledge::required_ref(args, 0)?;
    let cmd = match args.keyword(1).as_deref() {
        None => InitiativeCommand::Show { id },
        Some("goal") => {
            let goal = args.positive_amount(2)?;
            args.end(3)?;
            InitiativeCommand::Goal { id, goal }
        }
        Some(_) => {
            let word = args.get(1).unwrap_or_default();
            return Err(CommandError::bad_arguments(
                Text::new("err-bad-choice").arg("word", short(word)).arg("choices", "goal"),
            ));
        }
    };
    Ok(Command::Initiative(cmd))
}

pub fn parse_initiatives(args: &Args<'_>) -> Result<Command, CommandError> {
    args.end(0)?;
    Ok(Command::Initiatives)
}
