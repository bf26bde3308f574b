//! `network` as a member reads it: one line per list; the result fields are in [`super::result`].

use crate::network::{List, Network};
use crate::render::fit::Room;
use crate::render::result::{self as wire, Fields, OmittedMembers};
use crate::render::{Line, Parts, Style, more_line, tr};
use crate::text::Text;

/// `Reply::Network`: `network`.
pub(crate) fn network<'a>(network: &'a Network, style: &Style<'_>) -> Parts<'a> {
    let (lines, network) = network_lines(network, style);
    (lines, Fields::Network(network))
}

/// `network`: one line per list of SPEC §6, each member with their status.
fn network_lines<'a>(
    network: &'a Network,
    style: &Style<'_>,
) -> (Vec<Line>, wire::network::Network<'a>) {
    let mut lines = vec![Line::Plain(tr(style.lang, &Text::new("network-title")))];
    let mut result = wire::network::Network::default();
    // The six lists share the message by what each needs: a short list is shown whole.
    let member = |r: &'a crate::network::Related| {
        (format!("{} {}", r.level.emoji(), r.member), wire::network::Related::from(r))
    };
    let room = Room::default();
    let needs: Vec<usize> =
        List::ALL.iter().map(|&list| room.need(network.list(list), member)).collect();
    for (list, mut room) in List::ALL.into_iter().zip(room.split(&needs)) {
        let related = network.list(list);
        let cut = room.cut(related, member);
        let mut members = if related.is_empty() {
            tr(style.lang, &Text::new("network-nobody"))
        } else {
            cut.shown.join(", ")
        };
        if !cut.rest.is_empty() {
            *result.more.list_mut(list) = Some(OmittedMembers { count: cut.rest.len() });
            let more = more_line(cut.rest.len(), None, Text::new("more-members"), style);
            members = if cut.shown.is_empty() { more } else { format!("{members} {more}") };
        }
        *result.list_mut(list) = cut.values;
        lines.push(Line::Plain(format!(
            "{}: {members}",
            tr(style.lang, &Text::new(network_message(list)))
        )));
    }
    (lines, result)
}

fn network_message(list: List) -> &'static str {
    match list {
        List::Supporters => "network-supporters",
        List::Supported => "network-supported",
        List::SupportersOfSupporters => "network-supporters-of-supporters",
        List::CoSupporters => "network-co-supporters",
        List::SupportedBySupporters => "network-supported-by-supporters",
        List::SupportedBySupported => "network-supported-by-supported",
    }
}
