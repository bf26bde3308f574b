//! `mine`, `archive [fulfilled|overdue]` (SPEC §3.2)

use crate::command::args::short;
use crate::command::{Args, Command, Scope, Spec};
use crate::error::CommandError;
use crate::text::Text;

pub const MINE: Spec = Spec {
    name: "mine",
    usage: &["mine"],
    example: "mine",
    summary: "help-mine",
    scope: Scope::DmOrCircle,
};
pub const ARCHIVE: Spec = Spec {
    name: "archive",
    usage: &["archive", "archive fulfilled", "archive overdue"],
    example: "archive fulfilled",
    summary: "help-archive",
    scope: Scope::Dm,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArchiveFilter {
    All,
    Fulfilled,
    Overdue,
}

pub fn parse_mine(args: &Args<'_>) -> Result<Command, CommandError> {
    args.end(0)?;
    Ok(Command::Mine)
}

pub fn parse_archive(args: &Args<'_>) -> Result<Command, CommandError> {
    let filter = match args.keyword(0).as_deref() {
        None => ArchiveFilter::All,
        Some("fulfilled") => ArchiveFilter::Fulfilled,
        Some("overdue") => ArchiveFilter::Overdue,
        Some(_) => {
            return Err(CommandError::bad_arguments(
                Text::new("err-bad-choice")
                    .arg("word", short(args.get(0).unwrap_or_default()))
                    .arg("choices", "fulfilled, overdue"),
            ));
        }
    };
    args.end(1)?;
    Ok(Command::Archive(filter))
}
