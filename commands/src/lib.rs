//! Exodus bot's command language and domain rules. Pure: no I/O, no clock, no randomness.
//!
//! `parse` turns a message body into a typed command; `decide` applies a command to the facts
//! (profile, ledger, `now`) and returns what to persist and what to say; `render` puts that into a
//! member's language as text, HTML and the `org.exodus.result` object (SPEC §3).

pub mod amount;
pub mod clearing;
pub mod code;
pub mod command;
pub mod consequence;
pub mod cycle;
pub mod error;
pub mod ids;
pub mod initiative;
pub mod ledger;
pub mod lexer;
pub mod network;
pub mod outcome;
pub mod pool;
pub mod profile;
pub mod render;
pub mod text;

pub use amount::Amount;
pub use code::{Code, FromCode};
pub use command::{Command, Ctx, Parsed, decide, parse};
pub use error::{CommandError, ErrorCode};
pub use ids::{Lang, MemberId};
pub use outcome::{Effect, Outcome, Reply};
pub use profile::{LedgerFacts, Need, Profile};
