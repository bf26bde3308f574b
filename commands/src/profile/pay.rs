//! `pay`, `pay add <label> <details>`, `pay remove <label>`, `pay default <label>` (SPEC §3.1, V8)

use crate::command::args::{limited, short};
use crate::command::{Args, Command, Ctx, Scope, Spec};
use crate::error::{CommandError, ErrorCode};
use crate::outcome::{Outcome, PayAction, Reply};
use crate::profile::{
    MAX_LABEL_CHARS, MAX_PAYMENT_METHODS, MAX_TEXT_CHARS, PaymentMethod, Profile,
};
use crate::text::Text;

pub const SPEC: Spec = Spec {
    name: "pay",
    usage: &["pay", "pay add <label> <details>", "pay remove <label>", "pay default <label>"],
    example: "pay add bank \"IBAN DE89 3704 0044 0532 0130 00\"",
    summary: "help-pay",
    scope: Scope::Anywhere,
};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PayCommand {
    Show,
    Add { label: String, details: String },
    Remove { label: String },
    Default { label: String },
}

pub fn parse(args: &Args<'_>) -> Result<Command, CommandError> {
    let label = |i| -> Result<String, CommandError> {
        let label = args.required(i, "label")?.trim().to_owned();
        if label.is_empty() {
            return Err(CommandError::bad_arguments(
                Text::new("err-missing-argument").arg("what", "label"),
            ));
        }
        limited(label, MAX_LABEL_CHARS)
    };
    let cmd = match args.keyword(0).as_deref() {
        None => PayCommand::Show,
        Some("add") => {
            let label = label(1)?;
            let details = args.rest(2).ok_or_else(|| {
                CommandError::bad_arguments(
                    Text::new("err-missing-argument").arg("what", "details"),
                )
            })?;
            PayCommand::Add { label, details: limited(details, MAX_TEXT_CHARS)? }
        }
        Some("remove") => {
            args.end(2)?;
            PayCommand::Remove { label: label(1)? }
        }
        Some("default") => {
            args.end(2)?;
            PayCommand::Default { label: label(1)? }
        }
        Some(_) => {
            let word = args.get(0).unwrap_or_default();
            return Err(CommandError::bad_arguments(
                Text::new("err-bad-choice")
                    .arg("word", short(word))
                    .arg("choices", "add, remove, default"),
            ));
        }
    };
    Ok(Command::Pay(cmd))
}

fn position(methods: &[PaymentMethod], label: &str) -> Option<usize> {
    methods.iter().position(|m| m.label.to_lowercase() == label.to_lowercase())
}

fn not_found(label: &str) -> CommandError {
    CommandError::new(
        ErrorCode::NotFound,
        Text::new("err-label-missing").arg("label", short(label)),
    )
}

pub fn decide(cmd: &PayCommand, ctx: &Ctx<'_>, profile: &Profile) -> Result<Outcome, CommandError> {
    let mut updated = profile.clone();
    let methods = &mut updated.payment;
    let (action, label) = match cmd {
        PayCommand::Show => {
            // V8: in a circle room its owner's details are shown to the room's joined members,
            // so that supporters know how to give.
            if let (false, Some(owner)) = (ctx.in_dm, ctx.circle_owner) {
                return Ok(Outcome::read(Reply::CirclePay {
                    owner: owner.member.clone(),
                    methods: owner.payment.clone(),
                }));
            }
            let methods = Reply::PayMethods(profile.payment.clone());
            // V8: elsewhere a member's details are shown only to that member, in the DM.
            return Ok(if ctx.in_dm {
                Outcome::read(methods)
            } else {
                Outcome { private: Some(methods), ..Outcome::read(Reply::PaySentByDm) }
            });
        }
        PayCommand::Add { label, details } => {
            if position(methods, label).is_some() {
                return Err(CommandError::new(
                    ErrorCode::InvalidState,
                    Text::new("err-label-exists").arg("label", short(label)),
                ));
            }
            if methods.len() >= MAX_PAYMENT_METHODS {
                return Err(CommandError::new(
                    ErrorCode::LimitExceeded,
                    Text::new("err-too-many-methods").num("max", MAX_PAYMENT_METHODS as i64),
                ));
            }
            let is_default = methods.is_empty();
            methods.push(PaymentMethod {
                label: label.clone(),
                details: details.clone(),
                is_default,
            });
            methods.sort_by(|a, b| a.label.cmp(&b.label));
            (PayAction::Add, label.clone())
        }
        PayCommand::Remove { label } => {
            let i = position(methods, label).ok_or_else(|| not_found(label))?;
            let removed = methods.remove(i);
            if removed.is_default
                && let Some(first) = methods.first_mut()
            {
                first.is_default = true;
            }
            (PayAction::Remove, removed.label)
        }
        PayCommand::Default { label } => {
            let i = position(methods, label).ok_or_else(|| not_found(label))?;
            for (j, m) in methods.iter_mut().enumerate() {
                m.is_default = i == j;
            }
            (PayAction::Default, methods[i].label.clone())
        }
    };
    Ok(Outcome::save(updated, Reply::PayChanged { action, label }))
}
