//! `help [command]`

use crate::command::{Args, SPECS, Scope, Spec};
use crate::error::CommandError;
use crate::outcome::{Outcome, Reply};
use crate::text::Text;

pub const SPEC: Spec = Spec {
    name: "help",
    usage: &["help", "help <command>"],
    example: "help status",
    summary: "help-help",
    scope: Scope::Anywhere,
};

pub fn parse(args: &Args<'_>) -> Result<crate::command::Command, CommandError> {
    args.end(1)?;
    let topic = match args.get(0) {
        None => None,
        Some(word) => {
            let name = word.trim_start_matches(['!', '/']).to_lowercase();
            let spec = SPECS.iter().find(|s| s.name == name).ok_or_else(|| {
                CommandError::bad_arguments(
                    Text::new("err-unknown-topic").arg("word", crate::command::args::short(word)),
                )
            })?;
            Some(spec.name)
        }
    };
    Ok(crate::command::Command::Help { topic })
}

pub fn decide(topic: Option<&'static str>) -> Outcome {
    Outcome::read(Reply::Help { topic })
}
