//! `notify [on|off]`

use crate::command::args::short;
use crate::command::{Args, Command, Scope, Spec};
use crate::error::CommandError;
use crate::outcome::{Outcome, Reply};
use crate::profile::Profile;
use crate::text::Text;

pub const SPEC: Spec = Spec {
    name: "notify",
    usage: &["notify", "notify on|off"],
    example: "notify off",
    summary: "help-notify",
    scope: Scope::Anywhere,
};

pub fn parse(args: &Args<'_>) -> Result<Command, CommandError> {
    args.end(1)?;
    let on = match args.keyword(0).as_deref() {
        None => None,
        Some("on") => Some(true),
        Some("off") => Some(false),
        Some(_) => {
            let word = args.get(0).unwrap_or_default();
            return Err(CommandError::bad_arguments(
                Text::new("err-bad-choice").arg("word", short(word)).arg("choices", "on, off"),
            ));
        }
    };
    Ok(Command::Notify(on))
}

pub fn decide(on: Option<bool>, profile: &Profile) -> Outcome {
    match on {
        None => Outcome::read(Reply::Notify(profile.notify)),
        Some(on) => {
            let mut updated = profile.clone();
            updated.notify = on;
            Outcome::save(updated, Reply::Notify(on))
        }
    }
}
