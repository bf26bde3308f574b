//! From a message body to a typed [`Command`] (parse), and from a command plus the facts to a
//! [`Outcome`] (decide). Both are pure.
//!
//! Each command family's grammars and parsers live in the family's folder, beside its decide and
//! its rendering (`profile/`, `ledger/`, `network/`, `pool/`, `initiative/`, `clearing/`, and
//! `cycle/` for `admin`); each declares its grammar in [`SPECS`]. This module keeps what they
//! share: the [`Command`] enum, [`Family`], the [`SPECS`] table and the dispatch by keyword.

pub(crate) mod args;

use std::borrow::Cow;

use chrono::{DateTime, Utc};

pub use self::args::Args;
use crate::clearing::parse as clearing;
pub use crate::clearing::parse::ClearingCommand;
use crate::cycle::admin;
pub use crate::cycle::admin::{AdminCommand, OutboxAction};
use crate::error::{CommandError, ErrorCode};
use crate::ids::{Lang, MemberId};
use crate::initiative::parse as initiative;
pub use crate::initiative::parse::InitiativeCommand;
use crate::ledger::RecordId;
use crate::ledger::{circle, mine, pledge};
pub use crate::ledger::{circle::CircleCommand, mine::ArchiveFilter, pledge::RecordAction};
use crate::lexer;
use crate::network::parse as network;
use crate::outcome::{Effect, Outcome};
use crate::pool::parse as pool;
pub use crate::pool::parse::{MAX_POOL_NAME_CHARS, PoolCommand};
use crate::profile::{LedgerFacts, Profile};
use crate::profile::{about, forget_me, help, lang, notify, pay, status};
pub use crate::profile::{pay::PayCommand, status::StatusCommand};
use crate::text::Text;

/// Longest message body the parser looks at (bytes). Longer ones are refused with `limit_exceeded`.
pub const MAX_COMMAND_BYTES: usize = 4000;

/// Where a command may be used (what `help` lists in a room).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Any room the bot is in, or a DM (SPEC §3.1).
    Anywhere,
    /// A circle room, or a DM for the commands naming a record (SPEC §3.2).
    Circle,
    /// A DM, or a circle room (filtered to it).
    DmOrCircle,
    /// A DM only.
    Dm,
    /// A pool room (`vote` also from a DM).
    Pool,
    /// Any room the bot is in (an initiative lives in the room it was proposed in; `back` and
    /// `initiative #I` also from a DM).
    Room,
    /// Anywhere, for the admins named in the configuration; not listed by `help`.
    Admin,
}

/// The grammar and documentation of one command.
#[derive(Debug)]
pub struct Spec {
    pub name: &'static str,
    /// Usage lines, without the prefix.
    pub usage: &'static [&'static str],
    /// One example, without the prefix.
    pub example: &'static str,
    /// Fluent ID of the one-line description.
    pub summary: &'static str,
    pub scope: Scope,
}

/// Every command the bot knows, in the order `help` lists them.
pub const SPECS: &[Spec] = &[
    help::SPEC,
    status::SPEC,
    about::SPEC,
    pay::SPEC,
    lang::SPEC,
    notify::SPEC,
    forget_me::SPEC,
    circle::SPEC,
    pledge::INTEND,
    pledge::WITHDRAW,
    pledge::COMMIT,
    pledge::REMIND,
    pledge::PAID,
    pledge::CONFIRM,
    pledge::FORGIVE,
    mine::MINE,
    mine::ARCHIVE,
    network::SPEC,
    pool::POOL,
    pool::PLEDGE,
    pool::CLAIM,
    pool::VOTE,
    initiative::PROPOSE,
    initiative::BACK,
    initiative::INITIATIVE,
    initiative::INITIATIVES,
    clearing::CLEARING,
    clearing::KEEP,
    clearing::UNKEEP,
    admin::SPEC,
];

pub fn spec(name: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.name == name)
}

/// The families of commands, each decided by its own rules (SPEC §3.1–§3.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// Status, about, payment details, language, notifications, forget-me, help: the sender's
    /// own profile ([`crate::command::decide`]).
    Profile,
    /// A circle and its ledger of intentions and obligations ([`crate::ledger::decide_ledger`]).
    Ledger,
    /// Pools, pledges, claims and votes ([`crate::pool::decide_pool`]).
    Pool,
    /// Initiatives and their backing ([`crate::initiative::decide_initiative`]).
    Initiative,
    /// The clearing opt-in and keeps ([`crate::clearing::setoff::decide_clearing`]).
    Clearing,
    /// `admin` (SPEC §3.6), decided in the bot with the job runs and statistics.
    Admin,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Help {
        topic: Option<&'static str>,
    },
    Status(StatusCommand),
    About {
        text: Option<String>,
    },
    Pay(PayCommand),
    /// `None`: show the current language.
    Lang(Option<Lang>),
    /// `None`: show the current setting.
    Notify(Option<bool>),
    ForgetMe {
        confirm: bool,
    },
    Circle(CircleCommand),
    /// `intend <amount> [for "<what>"]`
    Intend {
        amount: crate::Amount,
        what: Option<String>,
    },
    /// `intend #N <amount>`
    IntendChange {
        id: RecordId,
        amount: crate::Amount,
    },
    /// `commit #N [amount]`
    CommitIntention {
        id: RecordId,
        amount: Option<crate::Amount>,
    },
    /// `commit <amount> [for "<what>"]`
    CommitDirect {
        amount: crate::Amount,
        what: Option<String>,
    },
    /// `withdraw`, `remind`, `paid`, `confirm`, `forgive` `#N`
    Record {
        action: RecordAction,
        id: RecordId,
    },
    Mine,
    Archive(ArchiveFilter),
    Network,
    Pool(PoolCommand),
    /// `pledge <amount>` (0 leaves the pool)
    Pledge {
        amount: crate::Amount,
    },
    /// `claim <event> <amount> <description>`
    Claim {
        event: String,
        amount: crate::Amount,
        description: String,
    },
    /// `vote #C yes|no`
    Vote {
        id: crate::pool::ClaimId,
        vote: crate::pool::Vote,
    },
    /// `propose <goal> <days> <title>`
    Propose {
        goal: crate::Amount,
        days: u32,
        title: String,
    },
    /// `back #I <amount>`
    Back {
        id: crate::initiative::InitiativeId,
        amount: crate::Amount,
    },
    /// `initiative #I` / `initiative #I goal <amount>`
    Initiative(InitiativeCommand),
    /// `initiatives`
    Initiatives,
    /// `clearing [on|off]`, `keep #N`, `unkeep #N`
    Clearing(ClearingCommand),
    Admin(AdminCommand),
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Command::Help { .. } => help::SPEC.name,
            Command::Status(_) => status::SPEC.name,
            Command::About { .. } => about::SPEC.name,
            Command::Pay(_) => pay::SPEC.name,
            Command::Lang(_) => lang::SPEC.name,
            Command::Notify(_) => notify::SPEC.name,
            Command::ForgetMe { .. } => forget_me::SPEC.name,
            Command::Circle(_) => circle::SPEC.name,
            Command::Intend { .. } | Command::IntendChange { .. } => pledge::INTEND.name,
            Command::CommitIntention { .. } | Command::CommitDirect { .. } => pledge::COMMIT.name,
            Command::Record { action, .. } => action.name(),
            Command::Mine => mine::MINE.name,
            Command::Archive(_) => mine::ARCHIVE.name,
            Command::Network => network::SPEC.name,
            Command::Pool(_) => pool::POOL.name,
            Command::Pledge { .. } => pool::PLEDGE.name,
            Command::Claim { .. } => pool::CLAIM.name,
            Command::Vote { .. } => pool::VOTE.name,
            Command::Propose { .. } => initiative::PROPOSE.name,
            Command::Back { .. } => initiative::BACK.name,
            Command::Initiative(_) => initiative::INITIATIVE.name,
            Command::Initiatives => initiative::INITIATIVES.name,
            Command::Clearing(ClearingCommand::Show | ClearingCommand::Set(_)) => {
                clearing::CLEARING.name
            }
            Command::Clearing(ClearingCommand::Keep { keep: true, .. }) => clearing::KEEP.name,
            Command::Clearing(ClearingCommand::Keep { keep: false, .. }) => clearing::UNKEEP.name,
            Command::Admin(_) => admin::SPEC.name,
        }
    }

    /// Which family of rules decides the command. Exhaustive: a new command must say where it
    /// belongs before anything compiles.
    pub fn family(&self) -> Family {
        match self {
            Command::Help { .. }
            | Command::Status(_)
            | Command::About { .. }
            | Command::Pay(_)
            | Command::Lang(_)
            | Command::Notify(_)
            | Command::ForgetMe { .. } => Family::Profile,
            Command::Circle(_)
            | Command::Intend { .. }
            | Command::IntendChange { .. }
            | Command::CommitIntention { .. }
            | Command::CommitDirect { .. }
            | Command::Record { .. }
            | Command::Mine
            | Command::Archive(_)
            | Command::Network => Family::Ledger,
            Command::Pool(_)
            | Command::Pledge { .. }
            | Command::Claim { .. }
            | Command::Vote { .. } => Family::Pool,
            Command::Propose { .. }
            | Command::Back { .. }
            | Command::Initiative(_)
            | Command::Initiatives => Family::Initiative,
            Command::Clearing(_) => Family::Clearing,
            Command::Admin(_) => Family::Admin,
        }
    }

    /// A command of a circle's ledger, a pool or an initiative: decided in its own transaction
    /// with the room's facts read just before it (never in a group commit of profile commands).
    pub fn is_ledger(&self) -> bool {
        matches!(self.family(), Family::Ledger | Family::Pool | Family::Initiative)
    }

    /// A pool command, decided by [`crate::pool::decide_pool`].
    pub fn is_pool(&self) -> bool {
        self.family() == Family::Pool
    }

    /// An initiative command, decided by [`crate::initiative::decide_initiative`].
    pub fn is_initiative(&self) -> bool {
        self.family() == Family::Initiative
    }

    /// A clearing command, decided by [`crate::clearing::setoff::decide_clearing`].
    pub fn is_clearing(&self) -> bool {
        self.family() == Family::Clearing
    }

    /// The initiative `#I` the command names.
    pub fn initiative_id(&self) -> Option<crate::initiative::InitiativeId> {
        match self {
            Command::Back { id, .. }
            | Command::Initiative(
                InitiativeCommand::Show { id } | InitiativeCommand::Goal { id, .. },
            ) => Some(*id),
            _ => None,
        }
    }

    /// The record `#N` the command names.
    pub fn record_id(&self) -> Option<RecordId> {
        match self {
            Command::IntendChange { id, .. }
            | Command::CommitIntention { id, .. }
            | Command::Record { id, .. } => Some(*id),
            _ => None,
        }
    }

    /// Whether deciding the command needs the ledger facts (storage computes them only then).
    pub fn needs_ledger_facts(&self) -> bool {
        matches!(self, Command::Status(_))
    }
}

/// A message that is a command attempt, parsed or not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    /// The command name for `org.exodus.result` (`command`): the keyword as typed (lower case,
    /// at most 32 characters) when it is not a known command.
    pub name: String,
    pub command: Result<Command, CommandError>,
}

/// Recognises a command in a message body. `None`: the body does not start with a prefix, so it is
/// ordinary conversation and gets no reply.
///
/// Before any command sees its arguments, the whole body is refused when it is too long
/// ([`MAX_COMMAND_BYTES`]) or holds a control character ([`forbidden_character`]): checked here,
/// once, so that no command can forget it and no such text reaches a record, a reply or the
/// database (issue 18: a NUL wedged a room on PostgreSQL). The error names the command and shows
/// its usage when the keyword is one.
pub fn parse(body: &str, prefixes: &[String]) -> Option<Parsed> {
    let line = command_line(body, prefixes)?;
    let keyword = keyword(line);
    let known = spec(&keyword);
    let name = known.map_or_else(|| keyword.clone(), |s| s.name.to_owned());
    let refuse = |error: CommandError| {
        let error = match known {
            Some(spec) => error.with_usage(spec.name),
            None => error,
        };
        Some(Parsed { name: name.clone(), command: Err(error) })
    };
    if body.len() > MAX_COMMAND_BYTES {
        return refuse(CommandError::new(
            ErrorCode::LimitExceeded,
            Text::new("err-command-too-long")
                .num("max", MAX_COMMAND_BYTES as i64)
                .num("length", body.len() as i64),
        ));
    }
    // CRLF is a line break as any other (some clients and bridges send it); a lone CR is refused.
    let body: Cow<'_, str> = if body.contains("\r\n") {
        Cow::Owned(body.replace("\r\n", "\n"))
    } else {
        Cow::Borrowed(body)
    };
    let line = command_line(&body, prefixes)?;
    if let Some(at) = body.find(forbidden_character) {
        // The offset in `line` (the body before it is the prefix and blanks: the command word).
        let in_line = (at + line.len()).checked_sub(body.len());
        return refuse(control_character_error(&body, at, line, in_line));
    }
    let command = parse_line(line, &keyword);
    Some(Parsed { name: command.as_ref().map(|c| c.name().to_owned()).unwrap_or(keyword), command })
}

/// The body after its prefix; `None` when it starts with none.
fn command_line<'a>(body: &'a str, prefixes: &[String]) -> Option<&'a str> {
    let trimmed = body.trim_start();
    let prefix =
        prefixes.iter().filter(|p| !p.is_empty()).find(|p| trimmed.starts_with(p.as_str()))?;
    Some(&trimmed[prefix.len()..])
}

/// The command word: what precedes the first blank or control character, lower case, at most 32
/// characters (it is echoed in `org.exodus.result` even when it is no command).
fn keyword(line: &str) -> String {
    line.chars()
        .take_while(|c| !c.is_whitespace() && !c.is_control())
        .flat_map(char::to_lowercase)
        .take(32)
        .collect()
}

/// A character no command accepts anywhere in its body: a control character (Unicode `Cc`: C0,
/// DEL and C1, NUL included) other than tab and line feed. (Carriage return is accepted only as
/// part of CRLF, which [`parse`] reads as a line feed.) Such characters are invisible or
/// meaningless in a chat message, and NUL cannot be stored in PostgreSQL text.
pub fn forbidden_character(c: char) -> bool {
    c.is_control() && c != '\t' && c != '\n'
}

/// The refusal of a body holding a forbidden character at byte `at`: the character as `U+XXXX`,
/// the argument it is in (0: the command word; counted as the lexer splits the line, `in_line`
/// being its offset in `line`) and the text around it with the character made visible.
fn control_character_error(
    body: &str,
    at: usize,
    line: &str,
    in_line: Option<usize>,
) -> CommandError {
    let c = body[at..].chars().next().unwrap_or_default();
    let argument = in_line.map_or(0, |offset| {
        word_starts(line).iter().filter(|&&start| start <= offset).count().saturating_sub(1)
    });
    CommandError::bad_arguments(
        Text::new("err-control-character")
            .arg("char", format!("U+{:04X}", u32::from(c)))
            .arg("sign", visible(c))
            .num("argument", argument as i64)
            .arg("excerpt", excerpt(body, at)),
    )
}

/// Where each word of `line` starts, as the lexer splits it; an unterminated quote is a word to
/// the end of the line.
fn word_starts(line: &str) -> Vec<usize> {
    match lexer::tokenize(line) {
        Ok(words) => words.iter().map(|w| w.start).collect(),
        Err(e) => {
            let mut starts: Vec<usize> = lexer::tokenize(&line[..e.at])
                .unwrap_or_default()
                .iter()
                .map(|w| w.start)
                .collect();
            starts.push(e.at);
            starts
        }
    }
}

/// Up to 15 characters either side of the character at byte `at`, with every control character
/// shown as a visible sign (its Unicode control picture, or `�` for C1) and tab and line feed as
/// spaces, so that the reply quoting it holds none.
fn excerpt(body: &str, at: usize) -> String {
    const SIDE: usize = 15;
    let before: Vec<char> = body[..at].chars().rev().take(SIDE + 1).collect();
    let after: Vec<char> = body[at..].chars().take(SIDE + 2).collect();
    let mut out = String::new();
    if before.len() > SIDE {
        out.push('…');
    }
    out.extend(
        before
            .iter()
            .take(SIDE)
            .rev()
            .copied()
            .chain(after.iter().take(SIDE + 1).copied())
            .map(visible),
    );
    if after.len() > SIDE + 1 {
        out.push('…');
    }
    out
}

fn visible(c: char) -> char {
    match u32::from(c) {
        0x09 | 0x0A => ' ',
        n @ 0x00..=0x1F => char::from_u32(0x2400 + n).unwrap_or('\u{FFFD}'),
        0x7F => '\u{2421}',
        _ if c.is_control() => '\u{FFFD}',
        _ => c,
    }
}

fn parse_line(line: &str, keyword: &str) -> Result<Command, CommandError> {
    if keyword.is_empty() {
        return Err(CommandError::new(ErrorCode::UnknownCommand, Text::new("err-empty-command")));
    }
    let Some(spec) = spec(keyword) else {
        return Err(CommandError::new(
            ErrorCode::UnknownCommand,
            Text::new("err-unknown-command").arg("word", keyword),
        ));
    };
    let words = lexer::tokenize(line).map_err(|e| {
        CommandError::bad_arguments(Text::new("err-unterminated-quote").arg("at", e.at))
            .with_usage(spec.name)
    })?;
    let args = Args::new(line, words);
    let parsed = match spec.name {
        "help" => help::parse(&args),
        "status" => status::parse(&args),
        "about" => about::parse(&args),
        "pay" => pay::parse(&args),
        "lang" => lang::parse(&args),
        "notify" => notify::parse(&args),
        "forget-me" => forget_me::parse(&args),
        "circle" => circle::parse(&args),
        "intend" => pledge::parse_intend(&args),
        "commit" => pledge::parse_commit(&args),
        "withdraw" => pledge::parse_record(&args, RecordAction::Withdraw),
        "remind" => pledge::parse_record(&args, RecordAction::Remind),
        "paid" => pledge::parse_record(&args, RecordAction::Paid),
        "confirm" => pledge::parse_record(&args, RecordAction::Confirm),
        "forgive" => pledge::parse_record(&args, RecordAction::Forgive),
        "mine" => mine::parse_mine(&args),
        "archive" => mine::parse_archive(&args),
        "network" => network::parse(&args),
        "pool" => pool::parse_pool(&args),
        "pledge" => pool::parse_pledge(&args),
        "claim" => pool::parse_claim(&args),
        "vote" => pool::parse_vote(&args),
        "propose" => initiative::parse_propose(&args),
        "back" => initiative::parse_back(&args),
        "initiative" => initiative::parse_initiative(&args),
        "initiatives" => initiative::parse_initiatives(&args),
        "clearing" => clearing::parse_clearing(&args),
        "keep" => clearing::parse_keep(&args, true),
        "unkeep" => clearing::parse_keep(&args, false),
        "admin" => admin::parse(&args),
        other => Err(CommandError::new(
            ErrorCode::UnknownCommand,
            Text::new("err-unknown-command").arg("word", other),
        )),
    };
    parsed.map_err(|e| e.with_usage(spec.name))
}

/// The facts a profile command is decided on. The Matrix adapter establishes them (membership,
/// DM or not); storage supplies the profile and ledger facts.
#[derive(Clone, Copy, Debug)]
pub struct Ctx<'a> {
    pub sender: &'a MemberId,
    /// The command came from the sender's direct chat with the bot.
    pub in_dm: bool,
    pub now: DateTime<Utc>,
    /// The owner of the circle bound to the room the command came from (V8: their payment
    /// details may be shown there, to its joined members).
    pub circle_owner: Option<&'a Profile>,
}

/// Decides a command about the sender's own profile. Pure: no I/O, no clock.
pub fn decide(
    cmd: &Command,
    ctx: &Ctx<'_>,
    profile: &Profile,
    facts: &LedgerFacts,
) -> Result<Outcome, CommandError> {
    let decided = match cmd {
        Command::Help { topic } => Ok(help::decide(*topic)),
        Command::Status(c) => status::decide(c, ctx, profile, facts),
        Command::About { text } => Ok(about::decide(text.as_deref(), profile)),
        Command::Pay(c) => pay::decide(c, ctx, profile),
        Command::Lang(l) => Ok(lang::decide(*l, profile)),
        Command::Notify(on) => Ok(notify::decide(*on, profile)),
        Command::ForgetMe { confirm } => forget_me::decide(*confirm, ctx, profile),
        _ => Err(CommandError::new(
            ErrorCode::Internal,
            Text::new("err-internal").arg("id", "not-a-profile-command"),
        )),
    };
    let mut outcome = decided.map_err(|e| e.with_usage(cmd.name()))?;
    // A status the member changed has consequences for their circle and network.
    let changed = outcome.effects.iter().find_map(|e| match e {
        Effect::SaveProfile(after)
            if after.need.level() != profile.need.level()
                || after.need.requested() != profile.need.requested() =>
        {
            Some(after.need.clone())
        }
        _ => None,
    });
    if let Some(after) = changed {
        outcome.effects.push(Effect::StatusChanged {
            member: profile.member.clone(),
            before: profile.need.clone(),
            after,
        });
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests;
