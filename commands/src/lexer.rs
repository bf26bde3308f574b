//! Quote-aware splitting of a command line into words (SPEC §3: "arguments may be quoted").
//!
//! Straight quotes `"…"`, typographic quotes `“…”` and guillemets `«…»` group words; inside
//! straight quotes `\"` and `\\` escape. Every word keeps its byte span in the input, so that a
//! parse error can point at the word it is about, and the raw text after a word can be taken whole
//! for free-text arguments (`about`, notes, payment details).

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub quoted: bool,
    /// Byte range of the word in the input, quotes included.
    pub start: usize,
    pub end: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unterminated quote at byte {at}")]
pub struct LexError {
    pub at: usize,
}

fn closing_quote(open: char) -> Option<char> {
    match open {
        '"' => Some('"'),
        '“' => Some('”'),
        '„' => Some('“'),
        '«' => Some('»'),
        _ => None,
    }
}

pub fn tokenize(input: &str) -> Result<Vec<Word>, LexError> {
    let mut words = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        if let Some(close) = closing_quote(c) {
            chars.next();
            let mut text = String::new();
            let mut end = None;
            while let Some((i, ch)) = chars.next() {
                if ch == close {
                    end = Some(i + ch.len_utf8());
                    break;
                }
                if ch == '\\'
                    && c == '"'
                    && let Some(&(_, next)) = chars.peek()
                    && (next == '"' || next == '\\')
                {
                    text.push(next);
                    chars.next();
                    continue;
                }
                text.push(ch);
            }
            let end = end.ok_or(LexError { at: start })?;
            words.push(Word { text, quoted: true, start, end });
        } else {
            let mut end = start;
            let mut text = String::new();
            while let Some(&(i, ch)) = chars.peek() {
                if ch.is_whitespace() {
                    break;
                }
                text.push(ch);
                end = i + ch.len_utf8();
                chars.next();
            }
            words.push(Word { text, quoted: false, start, end });
        }
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(input: &str) -> Vec<String> {
        tokenize(input).unwrap().into_iter().map(|w| w.text).collect()
    }

    #[test]
    fn splits_on_whitespace_and_groups_quotes() {
        assert_eq!(texts("status  orange 300"), ["status", "orange", "300"]);
        assert_eq!(
            texts(r#"pay add bank "IBAN DE00 1234""#),
            ["pay", "add", "bank", "IBAN DE00 1234"]
        );
        assert_eq!(texts("about «Привет, мир»"), ["about", "Привет, мир"]);
        assert_eq!(texts("for “2h plumbing”"), ["for", "2h plumbing"]);
        assert_eq!(texts(r#"say "a \"b\" c""#), ["say", r#"a "b" c"#]);
        assert_eq!(texts(r#""""#), [""]);
        assert!(texts("   ").is_empty());
    }

    #[test]
    fn keeps_spans() {
        let w = tokenize(r#"a "b c" d"#).unwrap();
        assert_eq!((w[1].start, w[1].end, w[1].quoted), (2, 7, true));
        assert_eq!((w[2].start, w[2].end), (8, 9));
    }

    #[test]
    fn unterminated_quote_is_an_error_pointing_at_it() {
        assert_eq!(tokenize(r#"about "hello"#), Err(LexError { at: 6 }));
        assert_eq!(tokenize("about «hello"), Err(LexError { at: 6 }));
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_spans_are_in_bounds(s in "\\PC{0,200}") {
            if let Ok(words) = tokenize(&s) {
                for w in words {
                    proptest::prop_assert!(w.start < w.end && w.end <= s.len());
                    proptest::prop_assert!(s.is_char_boundary(w.start) && s.is_char_boundary(w.end));
                }
            }
        }
    }
}
