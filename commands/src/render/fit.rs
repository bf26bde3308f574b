//! Messages a homeserver accepts (SPEC §8, issue 18): Matrix refuses an event over 64 KiB (65,536
//! bytes of JSON: the content with its envelope, hashes and signatures), and an event refused is a
//! reply lost, or an outbox that retries it forever. So every list a message holds (a circle's
//! records, `mine`, `archive`, the six lists of `network`, a pool's members and claims, a claim's
//! shares, the initiatives of a room, a job's digest, a clearing's changes) is cut to the room the
//! message has for it, and what was cut is summed up in one line and in `more.<list>` of
//! `org.exodus.result` (never dropped silently). One mechanism for every list: [`Room::cut`].
//!
//! The sizes are those of the JSON text the bot sends: `body`, `formatted_body` and
//! `org.exodus.result`, each as it is escaped inside the event (UTF-8 as is, as serde_json and
//! Synapse write it).

use serde::Serialize;
use serde_json::Value;

use super::Line;

/// The most a message's `body`, `formatted_body` and `org.exodus.result` may weigh together, as JSON
/// text. Well under the 65,536 bytes of an event: in an encrypted room the event carries the
/// message encrypted and base64-encoded (4/3 of its size, plus the megolm envelope), so 40 KiB of
/// content is about 56 KB on the wire; unencrypted, the content with its envelope (`msgtype`,
/// `m.mentions`, `m.relates_to`) stays under 42 KB.
pub const MESSAGE_BUDGET: usize = 40 * 1024;

/// What the lists of one message may take together. The rest of [`MESSAGE_BUDGET`] is for what is
/// around them (headings, figures, a usage), whose texts the parser bounds (280 characters, a
/// member ID at most 255 bytes).
pub const LISTS_BUDGET: usize = 32 * 1024;

/// Set aside in a list's share for the line (and the `more` object) saying what was cut.
const MORE_RESERVE: usize = 1024;

/// Bytes of `c` inside a JSON string.
fn json_char(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\t' | '\r' | '\u{8}' | '\u{c}' => 2,
        c if u32::from(c) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

/// Bytes of `s` as a JSON string's contents.
pub fn json_len(s: &str) -> usize {
    s.chars().map(json_char).sum()
}

/// Bytes of `s` once HTML-escaped ([`super::escape`]) and then put in a JSON string.
pub fn html_json_len(s: &str) -> usize {
    s.chars()
        .map(|c| match c {
            '&' | '\'' => 5,
            '<' | '>' => 4,
            '"' => 6,
            c => json_char(c),
        })
        .sum()
}

/// Bytes of a value as JSON text, and the comma that separates it from the next one; nothing for
/// `null` (an item with no JSON).
pub fn value_weight<V: Serialize + ?Sized>(value: &V) -> usize {
    match serde_json::to_string(value) {
        Ok(text) if text == "null" => 0,
        Ok(text) => text.len() + 1,
        Err(_) => usize::MAX / 4,
    }
}

/// What a piece of a message weighs in the event: in the plain body and in the HTML body.
pub(crate) trait Weigh {
    fn weigh(&self) -> usize;
}

impl Weigh for Line {
    fn weigh(&self) -> usize {
        match self {
            // `\n` in the body, `<br>` in the HTML.
            Line::Plain(s) => json_len(s) + html_json_len(s) + 2 + 4,
            Line::Code(s) => json_len(s) + html_json_len(s) + 2 + 4 + "<code></code>".len(),
        }
    }
}

/// A piece of a line (a member in a `network` list, a share of a claim), with its separator.
impl Weigh for String {
    fn weigh(&self) -> usize {
        json_len(self) + html_json_len(self) + 2 * ", ".len()
    }
}

impl Weigh for Vec<Line> {
    fn weigh(&self) -> usize {
        self.iter().map(Weigh::weigh).sum()
    }
}

/// Nothing in the text (a list shown only in `org.exodus.result`).
impl Weigh for () {
    fn weigh(&self) -> usize {
        0
    }
}

/// The bytes the lists of one message may still take.
#[derive(Debug)]
pub struct Room {
    left: usize,
}

impl Default for Room {
    fn default() -> Room {
        Room::new(LISTS_BUDGET)
    }
}

/// A list cut to its share of a [`Room`]: the items shown, rendered (`shown`, and `values` for
/// `org.exodus.result`), and the items that did not fit (`rest`, empty when all did).
#[derive(Debug)]
pub struct Cut<'a, T, R, V> {
    pub shown: Vec<R>,
    pub values: Vec<V>,
    pub rest: &'a [T],
}

impl Room {
    pub fn new(bytes: usize) -> Room {
        Room { left: bytes }
    }

    /// What `items` would take shown whole, as [`Room::cut`] counts; counted only up to a little
    /// over this room (a longer list is cut anyway).
    pub fn need<'a, T, R: Weigh, V: Serialize>(
        &self,
        items: &'a [T],
        mut render: impl FnMut(&'a T) -> (R, V),
    ) -> usize {
        let mut need = 0;
        for item in items {
            need += weigh(&render(item));
            if need > self.left {
                break;
            }
        }
        need
    }

    /// Splits the room between the lists of one message by what each `needs` ([`Room::need`]): a
    /// list that needs less than an even share gets all it needs, and the longer ones share the
    /// rest evenly. So a short list is shown whole beside a long one (`network`'s six lists), and
    /// no list crowds out the others.
    pub fn split(self, needs: &[usize]) -> Vec<Room> {
        let mut order: Vec<usize> = (0..needs.len()).collect();
        order.sort_by_key(|&i| needs[i]);
        let mut left = self.left;
        let mut shares = vec![0; needs.len()];
        for (k, &i) in order.iter().enumerate() {
            shares[i] = needs[i].min(left / (needs.len() - k));
            left -= shares[i];
        }
        shares.into_iter().map(Room::new).collect()
    }

    /// Renders `items` in order while they fit in the room; a list cut keeps room for the line
    /// saying what was cut. Only the items that may be shown are rendered (a digest of 10,000
    /// lines renders a few hundred).
    pub fn cut<'a, T, R: Weigh, V: Serialize>(
        &mut self,
        items: &'a [T],
        mut render: impl FnMut(&'a T) -> (R, V),
    ) -> Cut<'a, T, R, V> {
        let mut used = 0;
        let (mut shown, mut values, mut weights) = (Vec::new(), Vec::new(), Vec::new());
        for item in items {
            let (rendered, value) = render(item);
            let weight = rendered.weigh().saturating_add(value_weight(&value));
            if used + weight > self.left {
                break;
            }
            used += weight;
            shown.push(rendered);
            values.push(value);
            weights.push(weight);
        }
        if shown.len() < items.len() {
            // Cut: room for the line about the rest.
            while used + MORE_RESERVE > self.left
                && let Some(weight) = weights.pop()
            {
                shown.pop();
                values.pop();
                used -= weight;
            }
            used = (used + MORE_RESERVE).min(self.left);
        }
        self.left -= used;
        let rest = &items[shown.len()..];
        Cut { shown, values, rest }
    }
}

/// What an item weighs: its text and its JSON.
fn weigh<R: Weigh, V: Serialize>((rendered, value): &(R, V)) -> usize {
    rendered.weigh().saturating_add(value_weight(value))
}

/// What the lines and the result of a message weigh together.
pub(super) fn weight(lines: &[Line], result: &Value) -> usize {
    lines.iter().map(Weigh::weigh).sum::<usize>() + value_weight(result)
}

/// The last resort, for a message over [`MESSAGE_BUDGET`] although its lists were cut (a bug, or
/// a list rendered without [`Room::cut`]): `org.exodus.result` keeps its plain fields only (and
/// only `command`, `ok` and `error` if those are too many), marked `truncated`, and the lines are
/// kept while they fit. Returns how many lines were dropped.
pub(super) fn squeeze(lines: &mut Vec<Line>, result: &mut Value) -> usize {
    if let Value::Object(map) = result {
        map.insert("truncated".into(), Value::Bool(true));
        if value_weight(&Value::Object(map.clone())) > MESSAGE_BUDGET / 2 {
            map.retain(|_, v| !v.is_array() && !v.is_object());
        }
        if value_weight(&Value::Object(map.clone())) > MESSAGE_BUDGET / 2 {
            map.retain(|k, _| matches!(k.as_str(), "command" | "ok" | "error" | "truncated"));
        }
    }
    let room = MESSAGE_BUDGET.saturating_sub(value_weight(result) + MORE_RESERVE);
    let mut used = 0;
    let kept = lines
        .iter()
        .take_while(|line| {
            used += line.weigh();
            used <= room
        })
        .count();
    let dropped = lines.len() - kept;
    lines.truncate(kept);
    dropped
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::escape;
    use super::*;

    #[test]
    fn sizes_are_those_of_the_escaped_json() {
        for s in [
            "plain",
            "a \"quoted\" \\ back\nslash\t",
            "<b>&'x'</b>",
            "кириллица ❤️",
            "\u{1}\u{1f}\u{7f}\u{85}",
        ] {
            let html = escape(s);
            assert_eq!(json_len(s) + 2, serde_json::to_string(s).unwrap().len(), "{s:?}");
            assert_eq!(html_json_len(s) + 2, serde_json::to_string(&html).unwrap().len(), "{s:?}");
        }
        assert_eq!(value_weight(&json!({"a": "b"})), r#"{"a":"b"},"#.len());
    }

    fn item(n: &u32) -> (String, Value) {
        (format!("item {n}"), json!(n))
    }

    #[test]
    fn a_list_that_fits_is_not_cut() {
        let items: Vec<u32> = (0..100).collect();
        let mut room = Room::default();
        let need = room.need(&items, item);
        let cut = room.cut(&items, item);
        assert_eq!((cut.shown.len(), cut.values.len(), cut.rest.len()), (100, 100, 0));
        assert_eq!(room.left, LISTS_BUDGET - need);
    }

    #[test]
    fn a_long_list_is_cut_in_order_keeping_room_for_the_rest() {
        let items: Vec<u32> = (0..100_000).collect();
        let mut room = Room::default();
        let cut = room.cut(&items, item);
        let weight: usize = cut.shown.iter().map(Weigh::weigh).sum::<usize>()
            + cut.values.iter().map(value_weight).sum::<usize>();
        assert!(
            weight + MORE_RESERVE <= LISTS_BUDGET && weight + MORE_RESERVE + 64 > LISTS_BUDGET,
            "{weight}"
        );
        assert_eq!(cut.shown.len() + cut.rest.len(), items.len());
        assert_eq!(cut.rest.first(), Some(&(cut.shown.len() as u32)), "cut in order");
    }

    #[test]
    fn short_lists_get_what_they_need_and_long_ones_share_the_rest() {
        let room = Room::new(1_000);
        let shares: Vec<usize> =
            room.split(&[5_000, 10, 0, 300, 2_000]).into_iter().map(|r| r.left).collect();
        assert_eq!(shares, [345, 10, 0, 300, 345]);
        let all: Vec<usize> =
            Room::new(1_000).split(&[100, 200]).into_iter().map(|r| r.left).collect();
        assert_eq!(all, [100, 200]);
        let items: Vec<u32> = (0..100_000).collect();
        let room = Room::default();
        let needs = [room.need(&items, item), room.need(&items[..10], item)];
        assert!(needs[0] > LISTS_BUDGET);
        let mut rooms = room.split(&needs);
        assert!(rooms[1].cut(&items[..10], item).rest.is_empty(), "the short list is whole");
        assert!(!rooms[0].cut(&items, item).rest.is_empty());
    }

    #[test]
    fn an_item_larger_than_the_room_is_not_shown() {
        let items = vec!["x".repeat(100_000)];
        let cut = Room::default().cut(&items, |s| (s.clone(), Value::Null));
        assert_eq!((cut.shown.len(), cut.rest.len()), (0, 1));
    }
}
