//! A circle as a member reads it: `circle` and its subcommands, the requests for help it sends and
//! the ends of a red collection; their lines and, in [`super::result_circle`], their result fields.

use crate::Code;
use crate::ledger::render::record_list;
use crate::outcome::{CircleView, HelpRequest};
use crate::profile::{Level, needed};
use crate::render::fit::Room;
use crate::render::result::{self as wire, Coded, Fields};
use crate::render::{Line, Parts, Style, date, tr};
use crate::text::Text;
use crate::{Amount, MemberId};

/// `Reply::CircleOpened`: `circle open`.
pub(crate) fn circle_opened<'a>(
    owner: &'a MemberId,
    room_id: &'a Option<String>,
    style: &Style<'_>,
) -> Parts<'a> {
    let t = |text: Text| tr(style.lang, &text);
    (
        vec![Line::Plain(t(match room_id {
            Some(_) => Text::new("circle-opened").arg("owner", owner.as_str()),
            None => Text::new("circle-creating"),
        }))],
        Fields::CircleOpened(wire::circle::CircleOpened { owner, room_id: room_id.as_deref() }),
    )
}

/// `Reply::Circle`: `circle`.
pub(crate) fn circle<'a>(view: &'a CircleView, style: &Style<'_>) -> Parts<'a> {
    let mut lines = circle_lines(view, style).into_iter().map(Line::Plain).collect::<Vec<_>>();
    let (record_lines, records) = record_list(&view.records, style, &mut Room::default());
    lines.extend(record_lines);
    (lines, Fields::Circle(wire::circle::Circle { figures: circle_fields(view), records }))
}

/// `Reply::CircleLink`: `circle link`.
pub(crate) fn circle_link<'a>(room_id: &'a str, style: &Style<'_>) -> Parts<'a> {
    let t = |text: Text| tr(style.lang, &text);
    let link = format!("https://matrix.to/#/{room_id}");
    (
        vec![Line::Plain(t(Text::new("circle-link").arg("link", &link)))],
        Fields::CircleLink(wire::circle::CircleLink { link }),
    )
}

/// `Reply::CircleInvited`: `circle invite`.
pub(crate) fn circle_invited<'a>(member: &'a MemberId, style: &Style<'_>) -> Parts<'a> {
    let t = |text: Text| tr(style.lang, &text);
    (
        vec![Line::Plain(t(Text::new("circle-invited").arg("member", member.as_str())))],
        Fields::CircleInvited(wire::circle::CircleInvited { member }),
    )
}

/// `Reply::CollectionComplete`: a red collection reached its amount.
pub(crate) fn collection_complete<'a>(
    owner: &'a MemberId,
    collected: &'a Amount,
    style: &Style<'_>,
) -> Parts<'a> {
    let t = |text: Text| tr(style.lang, &text);
    (
        vec![Line::Plain(t(Text::new("collection-complete")
            .arg("owner", owner.as_str())
            .arg("amount", *collected)
            .arg("unit", style.unit)))],
        Fields::CollectionComplete(wire::circle::CollectionComplete {
            notice: wire::circle::CollectionCompleteNotice,
            owner,
            collected: *collected,
        }),
    )
}

/// `Reply::HelpRequest`: a request for help, to the circle or the network.
pub(crate) fn help_request<'a>(request: &'a HelpRequest, style: &Style<'_>) -> Parts<'a> {
    let (lines, request) = help_request_lines(request, style);
    (lines, Fields::HelpRequest(request))
}

/// `Reply::CollectionEnded`: a red collection reached its deadline first.
pub(crate) fn collection_ended<'a>(
    owner: &'a MemberId,
    collected: &'a Amount,
    requested: &'a Amount,
    status: &'a Level,
    style: &Style<'_>,
) -> Parts<'a> {
    let t = |text: Text| tr(style.lang, &text);
    (
        vec![Line::Plain(t(Text::new("collection-ended")
            .arg("owner", owner.as_str())
            .arg("collected", *collected)
            .arg("requested", *requested)
            .arg("unit", style.unit)
            .arg("status", status.code())))],
        Fields::CollectionEnded(wire::circle::CollectionEnded {
            notice: wire::circle::CollectionEndedNotice,
            owner,
            collected: *collected,
            requested: *requested,
            status: Coded(*status),
        }),
    )
}

/// SPEC §3 result fields of `circle` (beside its records).
fn circle_fields(view: &CircleView) -> wire::circle::CircleFigures<'_> {
    wire::circle::CircleFigures {
        owner: &view.owner,
        need: (&view.need).into(),
        intentions: view.totals.intentions,
        obligations: view.totals.obligations,
        fulfilled: view.totals.fulfilled,
        needed: needed(&view.need, &view.totals),
        supporters: view.supporters,
    }
}

fn circle_lines(view: &CircleView, style: &Style<'_>) -> Vec<String> {
    let t = |text: Text| tr(style.lang, &text);
    let need = &view.need;
    let head = match need.level() {
        Level::Green => t(Text::new("circle-green").arg("owner", view.owner.as_str())),
        Level::Orange => t(Text::new("circle-orange")
            .arg("owner", view.owner.as_str())
            .arg("requested", need.requested().unwrap_or_default())
            .arg("unit", style.unit)),
        Level::Red => t(Text::new("circle-red")
            .arg("owner", view.owner.as_str())
            .arg("requested", need.requested().unwrap_or_default())
            .arg("unit", style.unit)
            .arg("deadline", need.deadline().map(|d| date(d, style)).unwrap_or_default())),
    };
    vec![
        head,
        t(Text::new("status-figures")
            .arg("intentions", view.totals.intentions)
            .arg("obligations", view.totals.obligations)
            .arg("fulfilled", view.totals.fulfilled)
            .arg("needed", needed(need, &view.totals))
            .num("supporters", i64::from(view.supporters))),
    ]
}

/// A request for help passed on to the circle or the network (SPEC §5): the need, what is still
/// needed, the supporter count and the circle's link; never a record.
fn help_request_lines<'a>(
    request: &'a HelpRequest,
    style: &Style<'_>,
) -> (Vec<Line>, wire::circle::HelpRequest<'a>) {
    let need = &request.need;
    let link = request.circle_room.as_ref().map(|room| format!("https://matrix.to/#/{room}"));
    let id = match need.level() {
        Level::Red => "request-red",
        _ => "request-orange",
    };
    let mut head = tr(
        style.lang,
        &Text::new(id)
            .arg("owner", request.owner.as_str())
            .arg("requested", need.requested().unwrap_or_default())
            .arg("needed", request.needed)
            .arg("unit", style.unit)
            .num("supporters", i64::from(request.supporters))
            .arg("deadline", need.deadline().map(|d| date(d, style)).unwrap_or_default()),
    );
    if let Some(note) = need.note() {
        head.push_str(&format!(" — “{note}”"));
    }
    let mut lines = vec![Line::Plain(head)];
    if let Some(link) = &link {
        lines.push(Line::Plain(tr(style.lang, &Text::new("request-join").arg("link", link))));
    }
    let result = wire::circle::HelpRequest {
        notice: wire::circle::HelpRequestNotice,
        owner: &request.owner,
        need: need.into(),
        needed: request.needed,
        supporters: request.supporters,
        link,
    };
    (lines, result)
}
