//! `about [text]`

use crate::command::args::limited;
use crate::command::{Args, Command, Scope, Spec};
use crate::error::CommandError;
use crate::outcome::{Outcome, Reply};
use crate::profile::{MAX_TEXT_CHARS, Profile};

pub const SPEC: Spec = Spec {
    name: "about",
    usage: &["about", "about <text>"],
    example: "about \"Baker in Lyon, can lend tools\"",
    summary: "help-about",
    scope: Scope::Anywhere,
};

pub fn parse(args: &Args<'_>) -> Result<Command, CommandError> {
    let text = args.rest(0).map(|t| limited(t, MAX_TEXT_CHARS)).transpose()?;
    Ok(Command::About { text })
}

pub fn decide(text: Option<&str>, profile: &Profile) -> Outcome {
    match text {
        None => Outcome::read(Reply::About(profile.about.clone())),
        Some(text) => {
            let mut updated = profile.clone();
            updated.about = Some(text.to_owned());
            Outcome::save(updated, Reply::About(Some(text.to_owned())))
        }
    }
}
