//! The domain error of a command: a code from SPEC §3, a message for the member, and the command
//! whose usage to show.

use serde::Serialize;

use crate::text::Text;

/// SPEC §3 error codes, serialised as they appear in `org.exodus.result`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ErrorCode {
    UnknownCommand,
    BadArguments,
    NotAMember,
    Forbidden,
    NotFound,
    InvalidState,
    LimitExceeded,
    Internal,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {text:?}")]
pub struct CommandError {
    pub code: ErrorCode,
    pub text: Text,
    /// Name of the command whose usage the reply shows; `None` for unknown commands (the reply
    /// then points to `help`).
    pub usage_of: Option<&'static str>,
}

impl CommandError {
    pub fn new(code: ErrorCode, text: Text) -> CommandError {
        CommandError { code, text, usage_of: None }
    }

    pub fn bad_arguments(text: Text) -> CommandError {
        CommandError::new(ErrorCode::BadArguments, text)
    }

    pub fn with_usage(mut self, command: &'static str) -> CommandError {
        self.usage_of.get_or_insert(command);
        self
    }
}
