//! The words after a command keyword, with typed accessors whose errors name the bad word.

use crate::amount::{Amount, AmountError};
use crate::error::{CommandError, ErrorCode};
use crate::lexer::Word;
use crate::text::Text;

#[derive(Debug)]
pub struct Args<'a> {
    line: &'a str,
    /// Words after the keyword.
    words: Vec<Word>,
}

impl<'a> Args<'a> {
    /// `words` is the whole tokenised line; the first word is the keyword.
    pub fn new(line: &'a str, mut words: Vec<Word>) -> Args<'a> {
        if !words.is_empty() {
            words.remove(0);
        }
        Args { line, words }
    }

    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<&str> {
        self.words.get(i).map(|w| w.text.as_str())
    }

    /// The `i`th word, lower-cased, for keywords (`orange`, `add`, `on`).
    pub fn keyword(&self, i: usize) -> Option<String> {
        self.words.get(i).filter(|w| !w.quoted).map(|w| w.text.to_lowercase())
    }

    pub fn required(&self, i: usize, what: &'static str) -> Result<&str, CommandError> {
        self.get(i).ok_or_else(|| {
            CommandError::bad_arguments(Text::new("err-missing-argument").arg("what", what))
        })
    }

    /// Fails when there are words from `i` on.
    pub fn end(&self, i: usize) -> Result<(), CommandError> {
        match self.words.get(i) {
            None => Ok(()),
            Some(w) => Err(CommandError::bad_arguments(
                Text::new("err-unexpected-word").arg("word", short(&w.text)),
            )),
        }
    }

    /// Free text from word `i` to the end: a single quoted word is unquoted, anything else is taken
    /// as typed. `None` when there is nothing.
    pub fn rest(&self, i: usize) -> Option<String> {
        let first = self.words.get(i)?;
        if first.quoted && self.words.len() == i + 1 {
            return Some(first.text.trim().to_owned()).filter(|t| !t.is_empty());
        }
        Some(self.line[first.start..].trim().to_owned()).filter(|t| !t.is_empty())
    }

    pub fn amount(&self, i: usize) -> Result<Amount, CommandError> {
        let word = self.required(i, "amount")?;
        Amount::parse(word).map_err(|e| {
            let (code, id) = match e {
                AmountError::NotANumber => (ErrorCode::BadArguments, "err-not-an-amount"),
                AmountError::Negative => (ErrorCode::BadArguments, "err-amount-negative"),
                AmountError::TooManyDecimals => (ErrorCode::BadArguments, "err-amount-decimals"),
                AmountError::TooLarge => (ErrorCode::BadArguments, "err-amount-too-large"),
            };
            CommandError::new(
                code,
                Text::new(id).arg("word", short(word)).arg("max", crate::amount::MAX_UNITS),
            )
        })
    }

    /// An amount that must be above zero.
    pub fn positive_amount(&self, i: usize) -> Result<Amount, CommandError> {
        let amount = self.amount(i)?;
        if amount.is_zero() {
            return Err(CommandError::bad_arguments(Text::new("err-amount-zero")));
        }
        Ok(amount)
    }
}

/// A word as quoted back in an error message: at most 40 characters.
pub fn short(word: &str) -> String {
    let mut s: String = word.chars().take(40).collect();
    if word.chars().nth(40).is_some() {
        s.push('…');
    }
    s
}

/// Checks a free text against a length limit in characters (`limit_exceeded`).
pub fn limited(text: String, max: usize) -> Result<String, CommandError> {
    let n = text.chars().count();
    if n > max {
        return Err(CommandError::new(
            ErrorCode::LimitExceeded,
            Text::new("err-text-too-long").num("max", max as i64).num("length", n as i64),
        ));
    }
    Ok(text)
}
