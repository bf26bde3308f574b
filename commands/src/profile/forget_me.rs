//! `forget-me`, then `forget-me confirm` (SPEC §3.1): a confirmation flag on a destructive command.

use crate::command::args::short;
use crate::command::{Args, Command, Ctx, Scope, Spec};
use crate::error::{CommandError, ErrorCode};
use crate::outcome::{Effect, Outcome, Reply};
use crate::profile::{FORGET_CONFIRM_MINUTES, Profile};
use crate::text::Text;

pub const SPEC: Spec = Spec {
    name: "forget-me",
    usage: &["forget-me", "forget-me confirm"],
    example: "forget-me",
    summary: "help-forget-me",
    scope: Scope::Anywhere,
};

pub fn parse(args: &Args<'_>) -> Result<Command, CommandError> {
    args.end(1)?;
    let confirm = match args.keyword(0).as_deref() {
        None => false,
        Some("confirm") => true,
        Some(_) => {
            let word = args.get(0).unwrap_or_default();
            return Err(CommandError::bad_arguments(
                Text::new("err-bad-choice").arg("word", short(word)).arg("choices", "confirm"),
            ));
        }
    };
    Ok(Command::ForgetMe { confirm })
}

pub fn decide(confirm: bool, ctx: &Ctx<'_>, profile: &Profile) -> Result<Outcome, CommandError> {
    if !confirm {
        let mut updated = profile.clone();
        updated.forget_requested_at = Some(ctx.now);
        return Ok(Outcome::save(updated, Reply::ForgetPending));
    }
    if !profile.forget_pending(ctx.now) {
        return Err(CommandError::new(
            ErrorCode::InvalidState,
            Text::new("err-forget-not-pending").num("minutes", FORGET_CONFIRM_MINUTES),
        ));
    }
    Ok(Outcome::new(vec![Effect::Forget(profile.member.clone())], Reply::ForgetDone))
}
