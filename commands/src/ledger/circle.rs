//! `circle open`, `circle`, `circle invite <member>`, `circle link` (SPEC §3.2)

use crate::command::args::short;
use crate::command::{Args, Command, Scope, Spec};
use crate::error::CommandError;
use crate::ids::MemberId;
use crate::text::Text;

pub const SPEC: Spec = Spec {
    name: "circle",
    usage: &["circle", "circle open", "circle invite <member>", "circle link"],
    example: "circle invite @bob:example.org",
    summary: "help-circle",
    scope: Scope::Circle,
};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CircleCommand {
    Show,
    Open,
    /// `typed`: the word as a full user ID, when it is one; a mention in the message wins (V5).
    Invite {
        typed: Option<MemberId>,
        word: String,
    },
    Link,
}

pub fn parse(args: &Args<'_>) -> Result<Command, CommandError> {
    let cmd = match args.keyword(0).as_deref() {
        None => CircleCommand::Show,
        Some("open") => {
            args.end(1)?;
            CircleCommand::Open
        }
        Some("link") => {
            args.end(1)?;
            CircleCommand::Link
        }
        Some("invite") => {
            // A mention pill's text may be several words (a display name): the whole rest.
            let word = args.rest(1).ok_or_else(|| {
                CommandError::bad_arguments(Text::new("err-missing-argument").arg("what", "member"))
            })?;
            CircleCommand::Invite { typed: MemberId::parse(word.trim()), word: short(&word) }
        }
        Some(_) => {
            let word = args.get(0).unwrap_or_default();
            return Err(CommandError::bad_arguments(
                Text::new("err-bad-choice")
                    .arg("word", short(word))
                    .arg("choices", "open, invite, link"),
            ));
        }
    };
    Ok(Command::Circle(cmd))
}
