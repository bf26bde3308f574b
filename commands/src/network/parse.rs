//! `network` (SPEC §3.2, §6)

use crate::command::{Args, Command, Scope, Spec};
use crate::error::CommandError;

pub const SPEC: Spec = Spec {
    name: "network",
    usage: &["network"],
    example: "network",
    summary: "help-network",
    scope: Scope::Dm,
};

pub fn parse(args: &Args<'_>) -> Result<Command, CommandError> {
    args.end(0)?;
    Ok(Command::Network)
}
