//! `admin run <job> [as-of <time>]`, `admin stats` (SPEC §3.6) and `admin clearing
//! preview|run` (SPEC §3.5): for the admins named in the configuration, from any room or DM.

use chrono::{DateTime, Utc};

use crate::command::args::short;
use crate::command::{Args, Command, Scope, Spec};
use crate::cycle::Job;
use crate::error::CommandError;
use crate::text::Text;

pub const SPEC: Spec = Spec {
    name: "admin",
    usage: &[
        "admin run rollover|reminders|deadlines|clearing",
        "admin run <job> as-of <RFC 3339 time>",
        "admin stats",
        "admin clearing preview|run",
        "admin outbox retry <room or user ID>|all",
        "admin outbox drop <room or user ID>",
    ],
    example: "admin run rollover as-of 2027-01-01T00:05:00Z",
    summary: "help-admin",
    scope: Scope::Admin,
};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdminCommand {
    /// Runs a job now, as if the clock showed `as_of` (the real clock when `None`).
    Run {
        job: Job,
        as_of: Option<DateTime<Utc>>,
    },
    Stats,
    /// `admin clearing preview` (`apply: false`) or `run`: the totals of a set-off now, without or
    /// with applying it.
    Clearing {
        apply: bool,
    },
    /// `admin outbox retry|drop`: what to do with a destination the outbox cannot reach.
    Outbox(OutboxAction),
}

/// `admin outbox`: a failing destination is a room ID or a member's user ID (their DM).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutboxAction {
    /// Try it (every failing one with `None`: `all`) again now.
    Retry(Option<String>),
    /// Give its pending messages up for good.
    Drop(String),
}

/// A room ID (`!…:server`) or user ID (`@…:server`), as the outbox names its destinations.
fn destination(args: &Args<'_>, i: usize) -> Result<String, CommandError> {
    let word = args.required(i, "destination")?;
    let valid = (word.starts_with('!') || word.starts_with('@'))
        && word.contains(':')
        && word.len() <= 255
        && !word.chars().any(|c| c.is_whitespace() || c.is_control());
    if !valid {
        return Err(CommandError::bad_arguments(
            Text::new("err-not-a-destination").arg("word", short(word)),
        ));
    }
    Ok(word.to_owned())
}

fn choice(args: &Args<'_>, i: usize, choices: &str) -> CommandError {
    CommandError::bad_arguments(
        Text::new("err-bad-choice")
            .arg("word", short(args.get(i).unwrap_or_default()))
            .arg("choices", choices),
    )
}

pub fn parse(args: &Args<'_>) -> Result<Command, CommandError> {
    match args.keyword(0).as_deref() {
        Some("stats") => {
            args.end(1)?;
            Ok(Command::Admin(AdminCommand::Stats))
        }
        Some("run") => {
            args.required(1, "job")?;
            let job = args
                .keyword(1)
                .as_deref()
                .and_then(Job::from_name)
                .ok_or_else(|| choice(args, 1, "rollover, reminders, deadlines, clearing"))?;
            let as_of = match args.keyword(2).as_deref() {
                None => None,
                Some("as-of") => {
                    let word = args.required(3, "time")?;
                    let at = DateTime::parse_from_rfc3339(word).map_err(|_| {
                        CommandError::bad_arguments(
                            Text::new("err-not-a-time").arg("word", short(word)),
                        )
                    })?;
                    args.end(4)?;
                    Some(at.with_timezone(&Utc))
                }
                Some(_) => return Err(choice(args, 2, "as-of")),
            };
            Ok(Command::Admin(AdminCommand::Run { job, as_of }))
        }
        Some("clearing") => {
            args.required(1, "preview|run")?;
            let apply = match args.keyword(1).as_deref() {
                Some("preview") => false,
                Some("run") => true,
                _ => return Err(choice(args, 1, "preview, run")),
            };
            args.end(2)?;
            Ok(Command::Admin(AdminCommand::Clearing { apply }))
        }
        Some("outbox") => {
            args.required(1, "retry|drop")?;
            let action = match args.keyword(1).as_deref() {
                Some("retry") if args.keyword(2).as_deref() == Some("all") => {
                    OutboxAction::Retry(None)
                }
                Some("retry") => OutboxAction::Retry(Some(destination(args, 2)?)),
                Some("drop") => OutboxAction::Drop(destination(args, 2)?),
                _ => return Err(choice(args, 1, "retry, drop")),
            };
            args.end(3)?;
            Ok(Command::Admin(AdminCommand::Outbox(action)))
        }
        None => Err(CommandError::bad_arguments(
            Text::new("err-missing-argument").arg("what", "action"),
        )),
        Some(_) => Err(choice(args, 0, "run, stats, clearing, outbox")),
    }
}
