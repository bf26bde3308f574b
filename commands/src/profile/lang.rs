//! `lang [en|ru]`

use crate::FromCode;
use crate::command::args::short;
use crate::command::{Args, Command, Scope, Spec};
use crate::error::CommandError;
use crate::ids::Lang;
use crate::outcome::{Outcome, Reply};
use crate::profile::Profile;
use crate::text::Text;

pub const SPEC: Spec = Spec {
    name: "lang",
    usage: &["lang", "lang en|ru"],
    example: "lang ru",
    summary: "help-lang",
    scope: Scope::Anywhere,
};

pub fn parse(args: &Args<'_>) -> Result<Command, CommandError> {
    args.end(1)?;
    let lang = args
        .get(0)
        .map(|word| {
            Lang::from_code(word).ok_or_else(|| {
                CommandError::bad_arguments(
                    Text::new("err-bad-choice").arg("word", short(word)).arg("choices", "en, ru"),
                )
            })
        })
        .transpose()?;
    Ok(Command::Lang(lang))
}

/// `default` is the configured language, shown when the member chose none.
pub fn decide(lang: Option<Lang>, profile: &Profile) -> Outcome {
    match lang {
        None => Outcome::read(Reply::Lang(profile.lang.unwrap_or_default())),
        Some(lang) => {
            let mut updated = profile.clone();
            updated.lang = Some(lang);
            Outcome::save(updated, Reply::Lang(lang))
        }
    }
}
