//! Circles and the ledger (SPEC §2, §3.2, §5) seen from real Matrix clients: the life of
//! intentions and obligations, the figures, confirmation by 👍, the red flow, a member from
//! another homeserver who leaves, and the adversarial cases of V1, V2 and V5.
//!
//! Tests fail by panicking so that the bot's log is printed (see `BotProcess`'s `Drop`).
#![allow(clippy::unwrap_used)]

use exodus_e2e::*;
use matrix_sdk::ruma::{OwnedEventId, OwnedRoomId, RoomId};
use serde_json::{Value, json};

/// A bot, an owner with an orange circle in a room they created, and the room.
struct Circle {
    bot: BotProcess,
    owner: TestUser,
    room: OwnedRoomId,
}

impl Circle {
    async fn open(encrypted: bool, need: &str) -> Circle {
        init_tracing();
        let bot = BotProcess::start_new(&Homeserver::a(), BotOptions::default()).await.unwrap();
        let owner = TestUser::login(&Homeserver::a(), "owner").await.unwrap();
        let room = owner.create_room_with(&bot.user_id, encrypted).await.unwrap();
        let reply = owner.command(&room, "!circle open").await.unwrap();
        reply.assert_ok("circle");
        assert_eq!(reply.result["owner"], owner.user_id.as_str());
        owner.command(&room, &format!("!status {need}")).await.unwrap().assert_ok("status");
        Circle { bot, owner, room }
    }

    /// A member on `hs` invited by the owner and joined.
    async fn member(&self, hs: &Homeserver, name: &str) -> TestUser {
        let user = TestUser::login(hs, name).await.unwrap();
        self.owner.bring_in(&self.room, &user).await.unwrap();
        user
    }

    async fn figures(&self) -> Value {
        let reply = self.owner.command(&self.room, "!circle").await.unwrap();
        reply.assert_ok("circle");
        check_sums(&reply.result);
        reply.result
    }
}

fn id(result: &Value) -> i64 {
    result["id"].as_i64().unwrap_or_else(|| panic!("no id in {result:#}"))
}

fn cents(v: &Value) -> i64 {
    let s = v.as_str().unwrap_or_else(|| panic!("not an amount: {v}"));
    let (int, frac) = s.split_once('.').unwrap();
    int.parse::<i64>().unwrap() * 100 + frac.parse::<i64>().unwrap()
}

/// The numbers shown always add up: ❤️ is the sum of the active intentions listed, 🤝 of the
/// open obligations listed, 🙏 = 💰 − 🤝 − 👍 (never below zero).
#[track_caller]
fn check_sums(r: &Value) {
    let records = r["records"].as_array().unwrap_or_else(|| panic!("no records in {r:#}"));
    let sum = |kind: &str, states: &[&str]| -> i64 {
        records
            .iter()
            .filter(|x| {
                x["kind"] == kind && states.contains(&x["state"].as_str().unwrap_or_default())
            })
            .map(|x| cents(&x["amount"]))
            .sum()
    };
    // A long list is cut; `more` sums up the rest.
    let more = |key: &str| r["more"]["records"].get(key).map_or(0, cents);
    assert_eq!(
        cents(&r["intentions"]),
        sum("intention", &["active"]) + more("intentions"),
        "❤️ vs records: {r:#}"
    );
    assert_eq!(
        cents(&r["obligations"]),
        sum("obligation", &["open", "paid", "overdue"]) + more("obligations"),
        "🤝 vs records: {r:#}"
    );
    if let Some(requested) = r["requested"].as_str() {
        let requested = cents(&json!(requested));
        let expected = (requested - cents(&r["obligations"]) - cents(&r["fulfilled"])).max(0);
        assert_eq!(cents(&r["needed"]), expected, "🙏 = 💰 − 🤝 − 👍: {r:#}");
    }
}

async fn dm_notice(user: &TestUser, bot: &BotProcess, what: &str, record: i64) -> Reply {
    let dm = user.dm_room_with(&bot.user_id, JOIN_TIMEOUT).await.unwrap();
    user.wait_notice(&dm, REPLY_TIMEOUT, what, |r| r["notice"] == what && r["id"] == record)
        .await
        .unwrap()
}

async fn ledger_life(encrypted: bool) {
    let c = Circle::open(encrypted, "orange 300 rent").await;
    let bob = c.member(&Homeserver::a(), "bob").await;
    let carol = c.member(&Homeserver::a(), "carol").await;

    // ❤️ an intention, changed; the owner is told by DM.
    let r = bob.command(&c.room, "!intend 100").await.unwrap();
    r.assert_ok("intend");
    let i1 = id(&r.result);
    assert_eq!(
        (&r.result["kind"], &r.result["amount"], &r.result["state"]),
        (&json!("intention"), &json!("100.00"), &json!("active"))
    );
    assert_eq!(r.result["to"], c.owner.user_id.as_str());
    dm_notice(&c.owner, &c.bot, "new-intention", i1).await;
    let f = c.figures().await;
    assert_eq!(
        (&f["intentions"], &f["supporters"], &f["needed"]),
        (&json!("100.00"), &json!(1), &json!("300.00"))
    );
    bob.command(&c.room, &format!("!intend #{i1} 80")).await.unwrap().assert_ok("intend");

    // V8: in the circle room, `pay` tells its members how to pay the owner.
    c.owner.command(&c.room, "!pay add iban \"DE89 3704 0044\"").await.unwrap().assert_ok("pay");
    let how = bob.command(&c.room, "!pay").await.unwrap();
    how.assert_ok("pay");
    assert_eq!(
        (&how.result["owner"], &how.result["methods"][0]["details"]),
        (&json!(c.owner.user_id.as_str()), &json!("DE89 3704 0044"))
    );
    assert!(how.body.contains("DE89 3704 0044"), "{}", how.body);
    c.owner.command(&c.room, "!intend 10").await.unwrap().assert_error("forbidden");
    carol.command(&c.room, &format!("!intend #{i1} 1")).await.unwrap().assert_error("forbidden");

    // 🤝 part of it committed: a new obligation, the rest stays an intention.
    let r = bob.command(&c.room, &format!("!commit #{i1} 50")).await.unwrap();
    r.assert_ok("commit");
    let o1 = id(&r.result);
    assert_ne!(o1, i1);
    assert_eq!(
        (&r.result["kind"], &r.result["amount"], &r.result["state"]),
        (&json!("obligation"), &json!("50.00"), &json!("open"))
    );
    assert_eq!(
        (&r.result["rest"]["id"], &r.result["rest"]["amount"]),
        (&json!(i1), &json!("30.00"))
    );
    assert!(r.result["due"].as_str().is_some(), "an obligation has a due date: {:#}", r.result);
    bob.command(&c.room, &format!("!commit #{i1} 31")).await.unwrap().assert_error("invalid_state");
    let f = c.figures().await;
    assert_eq!(
        (&f["intentions"], &f["obligations"], &f["needed"]),
        (&json!("30.00"), &json!("50.00"), &json!("250.00"))
    );

    // paid, then 👍 by the recipient on the bot's paid notice confirms it; others' 👍 do not.
    let paid_cmd = bob.send_text(&c.room, &format!("!paid #{o1}")).await.unwrap();
    let paid = bob.wait_reply(&c.room, &paid_cmd, REPLY_TIMEOUT).await.unwrap();
    paid.assert_ok("paid");
    assert_eq!(paid.result["state"], "paid");
    bob.command(&c.room, &format!("!paid #{o1}")).await.unwrap().assert_error("invalid_state");
    dm_notice(&c.owner, &c.bot, "paid-reported", o1).await;
    let paid_notice: OwnedEventId = paid.event_id.clone();
    bob.react(&c.room, &paid_notice, "👍").await.unwrap();
    carol.react(&c.room, &paid_notice, "👍").await.unwrap();
    let f = c.figures().await;
    assert_eq!(f["fulfilled"], "0.00", "the giver's and a bystander's 👍 confirm nothing: {f:#}");
    c.owner.react(&c.room, &paid_notice, "👍️").await.unwrap();
    let confirmed = c
        .owner
        .wait_notice(&c.room, REPLY_TIMEOUT, "the confirmation", |r| {
            r["command"] == "confirm" && r["id"] == o1
        })
        .await
        .unwrap();
    assert_eq!(confirmed.result["state"], "fulfilled");
    dm_notice(&bob, &c.bot, "confirmed", o1).await;
    c.owner
        .command(&c.room, &format!("!confirm #{o1}"))
        .await
        .unwrap()
        .assert_error("invalid_state");
    let f = c.figures().await;
    assert_eq!(
        (&f["obligations"], &f["fulfilled"], &f["needed"]),
        (&json!("0.00"), &json!("50.00"), &json!("250.00"))
    );

    // Withdraw the rest; non-monetary aid; forgiveness; remind.
    bob.command(&c.room, &format!("!withdraw #{i1}")).await.unwrap().assert_ok("withdraw");
    let r = carol.command(&c.room, "!commit 20 for \"2h plumbing\"").await.unwrap();
    r.assert_ok("commit");
    let o2 = id(&r.result);
    assert_eq!(r.result["for"], "2h plumbing");
    carol
        .command(&c.room, &format!("!withdraw #{o2}"))
        .await
        .unwrap()
        .assert_error("invalid_state");
    c.owner.command(&c.room, &format!("!remind #{o2}")).await.unwrap().assert_ok("remind");
    dm_notice(&carol, &c.bot, "reminder", o2).await;
    // `notify off` silences the DMs; `notify on` brings them back. The outbox sends in order, so
    // once the reminder sent after `notify on` is there, one sent while off would be too.
    carol.command(&c.room, "!notify off").await.unwrap().assert_ok("notify");
    c.owner.command(&c.room, &format!("!remind #{o2}")).await.unwrap().assert_ok("remind");
    carol.command(&c.room, "!notify on").await.unwrap().assert_ok("notify");
    c.owner.command(&c.room, &format!("!remind #{o2}")).await.unwrap().assert_ok("remind");
    let carol_dm = carol.dm_room_with(&c.bot.user_id, JOIN_TIMEOUT).await.unwrap();
    let reminders = |r: &Recording| {
        r.events(&carol_dm)
            .iter()
            .filter(|e| {
                e.exodus_result().is_some_and(|x| x["notice"] == "reminder" && x["id"] == o2)
            })
            .count()
    };
    carol
        .wait_for(REPLY_TIMEOUT, "the second reminder", Some(&carol_dm), |r| {
            (reminders(r) >= 2).then_some(())
        })
        .await
        .unwrap();
    assert_eq!(
        reminders(&carol.recording()),
        2,
        "a reminder reached carol while her notifications were off"
    );
    carol.command(&c.room, &format!("!forgive #{o2}")).await.unwrap().assert_error("forbidden");
    c.owner.command(&c.room, &format!("!forgive #{o2}")).await.unwrap().assert_ok("forgive");
    let f = c.figures().await;
    assert_eq!(
        (&f["intentions"], &f["obligations"], &f["fulfilled"]),
        (&json!("0.00"), &json!("0.00"), &json!("50.00"))
    );

    // mine and archive: the member's own records only.
    let mine = carol.command(&c.room, "!mine").await.unwrap();
    mine.assert_ok("mine");
    assert_eq!(mine.result["records"], json!([]), "carol has nothing open: {:#}", mine.result);
    let bob_dm = bob.dm_room_with(&c.bot.user_id, JOIN_TIMEOUT).await.unwrap();
    let archive = bob.command(&bob_dm, "!archive").await.unwrap();
    archive.assert_ok("archive");
    let ids: Vec<i64> = archive.result["records"].as_array().unwrap().iter().map(id).collect();
    assert!(ids.contains(&i1) && ids.contains(&o1) && !ids.contains(&o2), "{ids:?}");
    bob.command(&c.room, "!archive").await.unwrap().assert_error("forbidden");
    let fulfilled = bob.command(&bob_dm, "!archive fulfilled").await.unwrap();
    let ids: Vec<i64> = fulfilled.result["records"].as_array().unwrap().iter().map(id).collect();
    assert_eq!(ids, vec![o1]);

    // Going green cancels the intentions in the owner's favour; obligations stay.
    let r = carol.command(&c.room, "!intend 15").await.unwrap();
    let i3 = id(&r.result);
    c.owner.command(&c.room, "!status green").await.unwrap().assert_ok("status");
    dm_notice(&carol, &c.bot, "intention-cancelled", i3).await;
    bob.command(&c.room, "!intend 5").await.unwrap().assert_error("invalid_state");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_life_of_intentions_and_obligations_in_a_plain_room() {
    ledger_life(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_life_of_intentions_and_obligations_in_an_encrypted_room() {
    ledger_life(true).await;
}

/// A member of another homeserver joins, pledges, commits, pays, is confirmed; after leaving,
/// their open intentions are withdrawn, every read and new pledge is refused, and only settling
/// their own obligation still works (V2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_federated_member_pledges_pays_and_leaves() {
    let c = Circle::open(false, "orange 200 food").await;
    let far = c.member(&Homeserver::b(), "far").await;
    assert!(far.user_id.as_str().ends_with(&Homeserver::b().server_name));

    let i = id(&far.command(&c.room, "!intend 40").await.unwrap().assert_ok("intend").result);
    let r = far.command(&c.room, &format!("!commit #{i} 30")).await.unwrap();
    let o = id(&r.assert_ok("commit").result);
    let o2 = id(&far.command(&c.room, "!commit 25").await.unwrap().assert_ok("commit").result);
    far.command(&c.room, &format!("!paid #{o}")).await.unwrap().assert_ok("paid");
    c.owner.command(&c.room, &format!("!confirm #{o}")).await.unwrap().assert_ok("confirm");
    let f = c.figures().await;
    assert_eq!(
        (&f["intentions"], &f["obligations"], &f["fulfilled"], &f["supporters"]),
        (&json!("10.00"), &json!("25.00"), &json!("30.00"), &json!(1))
    );

    // Leaving withdraws the open intention, announced in the room.
    let far_dm = far.dm_room_with(&c.bot.user_id, JOIN_TIMEOUT).await.unwrap();
    far.leave(&c.room).await.unwrap();
    let far_id = far.user_id.to_string();
    let left = c
        .owner
        .wait_notice(&c.room, REPLY_TIMEOUT, "the leave announcement", |r| {
            r["notice"] == "left-circle" && r["member"] == far_id.as_str()
        })
        .await
        .unwrap();
    assert_eq!(left.result["records"][0]["id"], i);
    assert_eq!(left.result["records"][0]["state"], "withdrawn");

    // After leaving: no change by DM, no new pledge, no circle read.
    far.command(&far_dm, &format!("!intend #{i} 5")).await.unwrap().assert_error("not_a_member");
    far.command(&far_dm, &format!("!withdraw #{o2}")).await.unwrap().assert_error("not_a_member");
    far.command(&far_dm, "!intend 5").await.unwrap().assert_error("invalid_state");
    far.command(&far_dm, "!circle").await.unwrap().assert_error("invalid_state");
    // The V2 exception: their own obligation stays payable.
    far.command(&far_dm, &format!("!paid #{o2}")).await.unwrap().assert_ok("paid");
    c.owner.command(&c.room, &format!("!confirm #{o2}")).await.unwrap().assert_ok("confirm");
    let f = c.figures().await;
    assert_eq!(
        (&f["intentions"], &f["obligations"], &f["fulfilled"], &f["needed"]),
        (&json!("0.00"), &json!("0.00"), &json!("55.00"), &json!("145.00"))
    );
}

/// V1/V2: someone who never joined the circle acts by DM and learns nothing; a kicked member's
/// commands queued while the bot was down are not executed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outsiders_and_kicked_members_are_refused() {
    let mut c = Circle::open(false, "orange 100").await;
    let bob = c.member(&Homeserver::a(), "bob").await;
    let i = id(&bob.command(&c.room, "!intend 20").await.unwrap().assert_ok("intend").result);
    let o = id(&bob.command(&c.room, "!commit 10").await.unwrap().assert_ok("commit").result);

    let outsider = TestUser::login(&Homeserver::a(), "outsider").await.unwrap();
    let dm = outsider.create_dm_with(&c.bot.user_id).await.unwrap();
    for body in [
        format!("!withdraw #{i}"),
        format!("!paid #{o}"),
        format!("!confirm #{o}"),
        format!("!remind #{i}"),
        format!("!intend #{i} 1"),
    ] {
        let r = outsider.command(&dm, &body).await.unwrap();
        r.assert_error("not_found");
        assert!(
            !r.body.contains(bob.user_id.as_str()),
            "{body}: the reply reveals the record: {:?}",
            r.body
        );
    }
    let mine = outsider.command(&dm, "!mine").await.unwrap();
    assert_eq!(mine.result["records"], json!([]));

    // Kicked while the bot was down: the commands sent before the kick are not executed (V6:
    // membership is the homeserver's current state when the bot reads them).
    c.bot.stop().await.unwrap();
    let queued = bob.send_text(&c.room, "!intend 7").await.unwrap();
    c.owner.client.get_room(&c.room).unwrap().kick_user(&bob.user_id, Some("test")).await.unwrap();
    c.bot.start().await.unwrap();
    let f = c.figures().await;
    // The kick withdrew bob's intention (leaving does, V2); the queued pledge never counted.
    assert_eq!((&f["intentions"], &f["obligations"]), (&json!("0.00"), &json!("10.00")), "{f:#}");
    assert!(
        !f["records"].to_string().contains("7.00"),
        "a kicked member's queued pledge was executed: {f:#}"
    );
    assert!(
        c.owner.replies_to(&c.room, &queued).is_empty(),
        "a kicked member's queued command got a reply"
    );
}

/// V5: a mention pill names the member by its link, not by its text (which may be a display name
/// set to someone else's user ID).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mention_pill_names_the_member_it_links_to() {
    let c = Circle::open(false, "orange 100").await;
    let victim = TestUser::login(&Homeserver::a(), "victim").await.unwrap();
    let mallory = TestUser::login(&Homeserver::a(), "mallory").await.unwrap();
    let pill = json!({
        "msgtype": "m.text",
        "body": format!("!circle invite {}", victim.user_id),
        "format": "org.matrix.custom.html",
        "formatted_body": format!("!circle invite <a href=\"https://matrix.to/#/{}\">{}</a>", mallory.user_id, victim.user_id),
        "m.mentions": {"user_ids": [mallory.user_id.as_str()]},
    });
    let event = c.owner.send_message(&c.room, pill).await.unwrap();
    let reply = c.owner.wait_reply(&c.room, &event, REPLY_TIMEOUT).await.unwrap();
    reply.assert_ok("circle");
    assert_eq!(
        reply.result["member"],
        mallory.user_id.as_str(),
        "the pill's text decided: {:#}",
        reply.result
    );
    mallory.wait_joined(&c.room, mallory.user_id.as_str(), JOIN_TIMEOUT).await.unwrap();
    assert!(
        victim.client.get_room(&c.room).is_none(),
        "the member named only by the pill's text was invited"
    );

    // A typed full user ID works too; a display name alone does not.
    let typed =
        c.owner.command(&c.room, &format!("!circle invite {}", victim.user_id)).await.unwrap();
    assert_eq!(typed.result["member"], victim.user_id.as_str());
    c.owner.command(&c.room, "!circle invite Victim").await.unwrap().assert_error("bad_arguments");
    let link = c.owner.command(&c.room, "!circle link").await.unwrap();
    assert!(link.result["link"].as_str().unwrap().starts_with("https://matrix.to/#/!"));
}

/// The red flow: only obligations; when confirmed amounts reach 💰 the collection completes, the
/// previous status returns and the obligations not yet fulfilled are cancelled with a notice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_red_collection_completes_and_restores_the_previous_status() {
    let c = Circle::open(false, "orange 300 rent").await;
    let bob = c.member(&Homeserver::a(), "bob").await;
    let carol = c.member(&Homeserver::a(), "carol").await;
    let dave = c.member(&Homeserver::a(), "dave").await;
    c.owner.command(&c.room, "!status red 100 7 roof").await.unwrap().assert_ok("status");
    bob.command(&c.room, "!intend 50").await.unwrap().assert_error("invalid_state");
    let deadline = c.owner.command(&c.room, "!status").await.unwrap().result["deadline"].clone();

    let ob = id(&bob.command(&c.room, "!commit 60").await.unwrap().assert_ok("commit").result);
    let oc = c_commit(&carol, &c.room, "!commit 50").await;
    let od = c_commit(&dave, &c.room, "!commit 30").await;
    let due = bob.command(&c.room, "!mine").await.unwrap().result["records"][0]["due"].clone();
    assert_eq!(due, deadline, "a red obligation is due at the red deadline");

    for (user, o) in [(&bob, ob), (&carol, oc)] {
        user.command(&c.room, &format!("!paid #{o}")).await.unwrap().assert_ok("paid");
        c.owner.command(&c.room, &format!("!confirm #{o}")).await.unwrap().assert_ok("confirm");
    }
    let done = c
        .owner
        .wait_notice(&c.room, REPLY_TIMEOUT, "the completion", |r| {
            r["notice"] == "collection-complete"
        })
        .await
        .unwrap();
    assert_eq!(done.result["collected"], "110.00");
    dm_notice(&dave, &c.bot, "collection-complete-cancelled", od).await;
    let status = c.owner.command(&c.room, "!status").await.unwrap();
    assert_eq!(
        (&status.result["status"], &status.result["requested"]),
        (&json!("orange"), &json!("300.00"))
    );
    dave.command(&c.room, &format!("!paid #{od}")).await.unwrap().assert_error("invalid_state");
}

async fn c_commit(user: &TestUser, room: &RoomId, body: &str) -> i64 {
    id(&user.command(room, body).await.unwrap().assert_ok("commit").result)
}

/// `circle open` from a DM: the bot creates an encrypted room, invites the owner with power 100.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_circle_opened_from_a_dm_gets_its_own_encrypted_room() {
    init_tracing();
    let bot = BotProcess::start_new(&Homeserver::a(), BotOptions::default()).await.unwrap();
    let owner = TestUser::login(&Homeserver::a(), "owner").await.unwrap();
    let dm = owner.create_dm_with(&bot.user_id).await.unwrap();
    let r = owner.command(&dm, "!circle open").await.unwrap();
    r.assert_ok("circle");
    assert_eq!(
        r.result["room_id"],
        Value::Null,
        "from a DM the bot makes the room: {:#}",
        r.result
    );
    let room = wait_until(JOIN_TIMEOUT, "the circle room's invite", || async {
        owner.invites().into_iter().find(|id| *id != dm)
    })
    .await
    .unwrap();
    owner.wait_joined(&room, owner.user_id.as_str(), JOIN_TIMEOUT).await.unwrap();
    let joined = owner.client.get_room(&room).unwrap();
    assert!(
        joined.latest_encryption_state().await.unwrap().is_encrypted(),
        "the circle room is encrypted"
    );
    let power = joined.get_member_no_sync(&owner.user_id).await.unwrap().unwrap().power_level();
    assert_eq!(format!("{power:?}"), "Int(100)");
    let circle = owner.command(&room, "!circle").await.unwrap();
    circle.assert_ok("circle");
    assert_eq!(circle.result["owner"], owner.user_id.as_str());
    owner.command(&dm, "!circle open").await.unwrap().assert_error("invalid_state");
    // A room where the sender has no power is not theirs to bind.
    let other = TestUser::login(&Homeserver::a(), "other").await.unwrap();
    owner.invite(&room, other.user_id.as_str()).await.unwrap();
    other.wait_joined(&room, other.user_id.as_str(), JOIN_TIMEOUT).await.unwrap();
    other.command(&room, "!circle open").await.unwrap().assert_error("invalid_state");
}

/// SPEC §6 and V1: `network` lists relations two steps out, but a relation between two others
/// only to a member of the circle it is recorded in; going red sends the request (never a
/// record) to the whole network, in each member's language (SPEC §5).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_network_shows_what_its_member_may_see_and_hears_of_an_emergency() {
    // alice's circle A: bob supports alice. bob's circle B: carol supports bob.
    let a = Circle::open(false, "orange 300 rent").await;
    let bob = a.member(&Homeserver::a(), "bob").await;
    let carol = TestUser::login(&Homeserver::b(), "carol").await.unwrap();
    let b_room = bob.create_room_with(&a.bot.user_id, false).await.unwrap();
    bob.command(&b_room, "!circle open").await.unwrap().assert_ok("circle");
    bob.command(&b_room, "!status orange 100").await.unwrap().assert_ok("status");
    bob.invite(&b_room, carol.user_id.as_str()).await.unwrap();
    carol.wait_joined(&b_room, carol.user_id.as_str(), JOIN_TIMEOUT).await.unwrap();
    bob.command(&a.room, "!intend 40").await.unwrap().assert_ok("intend");
    carol.command(&b_room, "!intend 25").await.unwrap().assert_ok("intend");
    carol.command(&b_room, "!lang ru").await.unwrap().assert_ok("lang");

    let names = |r: &Value, list: &str| -> Vec<String> {
        r[list]
            .as_array()
            .unwrap_or_else(|| panic!("no {list} in {r:#}"))
            .iter()
            .map(|m| m["member"].as_str().unwrap().to_owned())
            .collect()
    };
    let (alice_id, bob_id, carol_id) =
        (a.owner.user_id.to_string(), bob.user_id.to_string(), carol.user_id.to_string());

    // bob is a party to both relations: he sees both.
    let bob_dm = bob.create_dm_with(&a.bot.user_id).await.unwrap();
    let n = bob.command(&bob_dm, "!network").await.unwrap();
    n.assert_ok("network");
    assert_eq!(
        (names(&n.result, "supporters"), names(&n.result, "supported")),
        (vec![carol_id.clone()], vec![alice_id.clone()])
    );
    assert_eq!(n.result["supported"][0]["status"], "orange");

    // alice is not in bob's circle: carol → bob is not hers to see.
    let alice_dm = a.owner.create_dm_with(&a.bot.user_id).await.unwrap();
    let n = a.owner.command(&alice_dm, "!network").await.unwrap();
    assert_eq!(names(&n.result, "supporters"), vec![bob_id.clone()]);
    assert_eq!(
        names(&n.result, "supporters_of_supporters"),
        Vec::<String>::new(),
        "{:#}",
        n.result
    );
    assert!(
        !n.body.contains(carol_id.as_str()),
        "the reply names a relation alice may not see: {}",
        n.body
    );
    // Once she joins bob's circle, she does.
    bob.invite(&b_room, &alice_id).await.unwrap();
    a.owner.wait_joined(&b_room, &alice_id, JOIN_TIMEOUT).await.unwrap();
    let n = a.owner.command(&alice_dm, "!network").await.unwrap();
    assert_eq!(names(&n.result, "supporters_of_supporters"), vec![carol_id.clone()]);
    // carol is in neither alice's circle nor a party to bob → alice.
    let carol_dm = carol.create_dm_with(&a.bot.user_id).await.unwrap();
    let n = carol.command(&carol_dm, "!network").await.unwrap();
    assert_eq!(names(&n.result, "supported"), vec![bob_id.clone()]);
    assert_eq!(names(&n.result, "supported_by_supported"), Vec::<String>::new(), "{:#}", n.result);
    // The lists are private: DM only.
    bob.command(&a.room, "!network").await.unwrap().assert_error("forbidden");

    // alice goes red: bob (relation 1) and carol (relation 3) hear of it, carol in Russian; the
    // request says how to join the circle and names no record.
    a.owner
        .command(&a.room, "!status red 200 5 \"roof repair\"")
        .await
        .unwrap()
        .assert_ok("status");
    for (user, dm) in [(&bob, &bob_dm), (&carol, &carol_dm)] {
        let request = user
            .wait_notice(dm, REPLY_TIMEOUT, "the emergency request", |r| {
                r["notice"] == "help-request" && r["owner"] == alice_id.as_str()
            })
            .await
            .unwrap();
        assert_eq!(
            (&request.result["status"], &request.result["requested"]),
            (&json!("red"), &json!("200.00"))
        );
        assert!(request.result["deadline"].as_str().is_some());
        assert_eq!(request.result["link"], format!("https://matrix.to/#/{}", a.room));
        assert!(
            request.result.get("records").is_none() && !request.body.contains("40.00"),
            "a record travelled: {:#}",
            request.result
        );
        assert_eq!(
            has_cyrillic(&request.body),
            user.user_id == carol.user_id,
            "{}: {}",
            user.user_id,
            request.body
        );
    }
}

/// V5: a display name that is another member's user ID gives no authority; the sender is their
/// user ID.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_display_name_set_to_another_members_id_gives_no_authority() {
    let c = Circle::open(false, "orange 100").await;
    let bob = c.member(&Homeserver::a(), "bob").await;
    let mallory = c.member(&Homeserver::b(), "mallory").await;
    let o = id(&bob.command(&c.room, "!commit 30").await.unwrap().assert_ok("commit").result);
    bob.command(&c.room, &format!("!paid #{o}")).await.unwrap().assert_ok("paid");
    mallory.client.account().set_display_name(Some(c.owner.user_id.as_str())).await.unwrap();
    let owner_id = c.owner.user_id.to_string();
    let mallory_id = mallory.user_id.to_string();
    c.owner
        .wait_event(&c.room, JOIN_TIMEOUT, "mallory's new display name", |e| {
            e.event_type == "m.room.member"
                && e.state_key.as_deref() == Some(mallory_id.as_str())
                && e.content["displayname"] == owner_id.as_str()
        })
        .await
        .unwrap();
    for body in [format!("!confirm #{o}"), format!("!forgive #{o}"), format!("!remind #{o}")] {
        mallory.command(&c.room, &body).await.unwrap().assert_error("forbidden");
    }
    mallory.command(&c.room, "!intend 5").await.unwrap().assert_ok("intend");
    let f = c.figures().await;
    assert_eq!(
        (&f["owner"], &f["obligations"], &f["fulfilled"]),
        (&json!(owner_id), &json!("30.00"), &json!("0.00"))
    );
    let records = f["records"].as_array().unwrap();
    let pledge = records.iter().find(|r| r["kind"] == "intention").unwrap();
    assert_eq!(
        pledge["from"],
        mallory_id.as_str(),
        "the pledge is mallory's, whatever her name says"
    );
}

/// V4: a command quoted in a reply's fallback is not executed; the reply's own text is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_quoted_inside_a_reply_is_not_executed() {
    let c = Circle::open(false, "orange 100").await;
    let bob = c.member(&Homeserver::a(), "bob").await;
    let carol = c.member(&Homeserver::a(), "carol").await;
    let pledge = bob.send_text(&c.room, "!intend 40").await.unwrap();
    bob.wait_reply(&c.room, &pledge, REPLY_TIMEOUT).await.unwrap().assert_ok("intend");
    let quoting = json!({
        "msgtype": "m.text",
        "body": format!("> <{}> !intend 40\n\nthanks, bob", bob.user_id),
        "format": "org.matrix.custom.html",
        "formatted_body": format!("<mx-reply><blockquote>!intend 40</blockquote></mx-reply>thanks, bob"),
        "m.relates_to": {"m.in_reply_to": {"event_id": pledge}},
    });
    let quoted = carol.send_message(&c.room, quoting).await.unwrap();
    // A reply whose own text is a command is one.
    let own = json!({
        "msgtype": "m.text",
        "body": format!("> <{}> !intend 40\n\n!circle", bob.user_id),
        "m.relates_to": {"m.in_reply_to": {"event_id": pledge}},
    });
    let asked = carol.send_message(&c.room, own).await.unwrap();
    let answer = carol.wait_reply(&c.room, &asked, REPLY_TIMEOUT).await.unwrap();
    answer.assert_ok("circle");
    // The bot handles a room's events in order: by now the quoting reply was seen and ignored.
    assert!(carol.replies_to(&c.room, &quoted).is_empty(), "the quoted command got a reply");
    assert_eq!(
        (&answer.result["intentions"], &answer.result["supporters"]),
        (&json!("40.00"), &json!(1)),
        "{:#}",
        answer.result
    );
}

/// `circle open` in a room needs power 50 there, and never binds a room whose history anyone can
/// read without joining (V9).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_becomes_a_circle_only_for_a_member_with_power_and_never_if_world_readable() {
    init_tracing();
    let bot = BotProcess::start_new(&Homeserver::a(), BotOptions::default()).await.unwrap();
    let creator = TestUser::login(&Homeserver::a(), "creator").await.unwrap();
    let guest = TestUser::login(&Homeserver::b(), "guest").await.unwrap();
    let room = creator.create_room_with(&bot.user_id, false).await.unwrap();
    creator.invite(&room, guest.user_id.as_str()).await.unwrap();
    guest.wait_joined(&room, guest.user_id.as_str(), JOIN_TIMEOUT).await.unwrap();
    guest.command(&room, "!circle open").await.unwrap().assert_error("forbidden");
    guest.command(&room, "!circle").await.unwrap().assert_error("invalid_state");
    let opened = creator.command(&room, "!circle open").await.unwrap();
    opened.assert_ok("circle");
    assert_eq!(opened.result["owner"], creator.user_id.as_str());

    // A room anyone can read: not even its creator, with power 100 and no circle yet, may bind it.
    let publisher = TestUser::login(&Homeserver::a(), "publisher").await.unwrap();
    let public = publisher
        .create_room(RoomOptions {
            invite: vec![bot.user_id.clone()],
            history_visibility: Some("world_readable".into()),
            ..RoomOptions::default()
        })
        .await
        .unwrap();
    publisher.wait_joined(&public, &bot.user_id, JOIN_TIMEOUT).await.unwrap();
    let refused = publisher.command(&public, "!circle open").await.unwrap();
    refused.assert_error("forbidden");
    assert!(refused.body.contains("without joining"), "{}", refused.body);
    publisher.command(&public, "!circle").await.unwrap().assert_error("invalid_state");
}
