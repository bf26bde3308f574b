//! Clearing (SPEC §3.5, V1) seen from real Matrix clients: three members, each owning a circle
//! and owing the next one, opt in; an obligation kept out stays as it is; the admin's preview
//! changes nothing; the run sets off the triangle (one obligation whole, the others in part),
//! each member hears by DM of their own obligations only, `clearing` shows the last run's effect,
//! a second run finds nothing more; malformed and unauthorised input changes nothing.
//!
//! Tests fail by panicking so that the bot's log is printed (see `BotProcess`'s `Drop`).
#![allow(clippy::unwrap_used)]

use chrono::{Duration, Utc};
use exodus_e2e::*;
use matrix_sdk::ruma::{OwnedRoomId, RoomId};
use serde_json::{Value, json};

/// A member with the circle they own.
struct Owner {
    user: TestUser,
    room: OwnedRoomId,
}

async fn owner(hs: &Homeserver, bot: &BotProcess, name: &str) -> Owner {
    let user = TestUser::login(hs, name).await.unwrap();
    let room = user.create_room_with(&bot.user_id, false).await.unwrap();
    user.command(&room, "!circle open").await.unwrap().assert_ok("circle");
    user.command(&room, "!status orange 100").await.unwrap().assert_ok("status");
    Owner { user, room }
}

/// `member` joins `owner`'s circle.
async fn join(owner: &Owner, member: &TestUser) {
    owner.user.bring_in(&owner.room, member).await.unwrap();
}

/// `giver` commits `amount` to the owner of `room`; the obligation's number.
async fn commit(giver: &TestUser, room: &RoomId, amount: &str) -> i64 {
    let r = giver.command(room, &format!("!commit {amount}")).await.unwrap();
    r.assert_ok("commit");
    r.result["id"].as_i64().unwrap()
}

/// The changes of a clearing digest as (id, before, set off, after, state).
fn changes(result: &Value) -> Vec<(i64, String, String, String, String)> {
    result["changes"]
        .as_array()
        .unwrap_or_else(|| panic!("no changes in {result:#}"))
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
            (c["id"].as_i64().unwrap(), s("before"), s("set_off"), s("after"), s("state"))
        })
        .collect()
}

/// The bot's clearing digest in `user`'s DM with it.
async fn digest(user: &TestUser, bot: &BotProcess) -> Value {
    bot_dm_notice(user, &bot.user_id, "a clearing digest", |r| r["changes"].is_array()).await
}

/// One of `records` (a `mine` result) by number.
fn record(records: &Value, id: i64) -> Value {
    records["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no #{id} in {records:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_triangle_of_obligations_is_set_off_and_each_member_hears_of_their_own() {
    init_tracing();
    let hs = Homeserver::a();
    let admin = TestUser::login(&hs, "admin").await.unwrap();
    let bot = BotProcess::start_new(
        &hs,
        BotOptions { admins: vec![admin.user_id.to_string()], ..Default::default() },
    )
    .await
    .unwrap();
    let admin_dm = admin.create_dm_with(&bot.user_id).await.unwrap();
    let (alice, bob, carol) = (
        owner(&hs, &bot, "alice").await,
        owner(&hs, &bot, "bob").await,
        owner(&hs, &bot, "carol").await,
    );
    join(&bob, &alice.user).await;
    join(&carol, &bob.user).await;
    join(&alice, &carol.user).await;
    let dave = TestUser::login(&hs, "dave").await.unwrap();
    join(&alice, &dave).await;

    // alice owes bob 30, bob owes carol 20, carol owes alice 25 and 5 more (kept out).
    let ab = commit(&alice.user, &bob.room, "30").await;
    let bc = commit(&bob.user, &carol.room, "20").await;
    let ca = commit(&carol.user, &alice.room, "25").await;
    let kept = commit(&carol.user, &alice.room, "5").await;
    let r = carol.user.command(&alice.room, &format!("!keep #{kept}")).await.unwrap();
    assert_eq!(
        (&r.assert_ok("keep").result["kept"], &r.result["id"]),
        (&json!(true), &json!(kept))
    );

    // Nobody has opted in yet: nothing is eligible.
    let preview = admin.command(&admin_dm, "!admin clearing preview").await.unwrap();
    assert_eq!(
        (&preview.assert_ok("admin").result["eligible"], &preview.result["cleared"]),
        (&json!(0), &json!("0.00"))
    );

    // Malformed or unauthorised input: a clear error, nothing changed.
    for (who, room, body, code) in [
        (&alice.user, &alice.room, "!clearing maybe", "bad_arguments"),
        (&alice.user, &alice.room, "!keep", "bad_arguments"),
        (&alice.user, &alice.room, "!keep 12", "bad_arguments"),
        (&alice.user, &alice.room, "!keep #99999999", "not_found"),
        (&dave, &alice.room, &format!("!keep #{ca}"), "not_found"),
        (&alice.user, &alice.room, &format!("!keep #{ab}"), "forbidden"),
        (&alice.user, &alice.room, "!clearing", "forbidden"),
        (&dave, &alice.room, "!admin clearing run", "forbidden"),
        (&alice.user, &alice.room, "!admin clearing preview", "forbidden"),
    ] {
        who.command(room, body).await.unwrap().assert_error(code).assert_usage();
    }
    let r = admin.command(&admin_dm, "!admin clearing apply").await.unwrap();
    r.assert_error("bad_arguments");

    for o in [&alice, &bob, &carol] {
        let r = o.user.command(&o.room, "!clearing on").await.unwrap();
        assert_eq!(r.assert_ok("clearing").result["opted_in"], json!(true));
    }
    let preview = admin.command(&admin_dm, "!admin clearing preview").await.unwrap();
    let p = &preview.assert_ok("admin").result;
    // 20 set off on each side of the triangle; no set-off could exceed 75 − 10 (bob is owed 10 net).
    assert_eq!(
        (
            &p["applied"],
            &p["eligible"],
            &p["total"],
            &p["cleared"],
            &p["obligations_changed"],
            &p["bound"]
        ),
        (&json!(false), &json!(3), &json!("75.00"), &json!("60.00"), &json!(3), &json!("65.00"))
    );
    let mine = alice.user.command(&alice.room, "!circle").await.unwrap();
    assert_eq!(
        record(&mine.assert_ok("circle").result, ca)["state"],
        "open",
        "the preview changed nothing"
    );

    let at = Utc::now() + Duration::minutes(1);
    let run = admin_run(&admin, &admin_dm, "clearing", at).await;
    assert_eq!(
        (&run["applied"], &run["cleared"], &run["obligations_changed"]),
        (&json!(true), &json!("60.00"), &json!(3))
    );

    // Each member hears of their own obligations only (V1).
    let a = changes(&digest(&alice.user, &bot).await);
    assert_eq!(
        a,
        [
            (ab, "30.00".into(), "20.00".into(), "10.00".into(), "open".into()),
            (ca, "25.00".into(), "20.00".into(), "5.00".into(), "open".into())
        ]
    );
    let b = changes(&digest(&bob.user, &bot).await);
    assert_eq!(b.iter().map(|c| c.0).collect::<Vec<_>>(), [ab, bc]);
    assert_eq!(b[1], (bc, "20.00".into(), "20.00".into(), "0.00".into(), "cleared".into()));
    let c = digest(&carol.user, &bot).await;
    assert_eq!(
        changes(&c).iter().map(|c| c.0).collect::<Vec<_>>(),
        [bc, ca],
        "not #{kept}, kept out, nor alice's #{ab}"
    );
    assert!(!c.to_string().contains(&format!("\"id\":{ab}")), "{c}");

    // The records: what was set off counts as fulfilled, the rest is still owed.
    let circle = bob.user.command(&bob.room, "!circle").await.unwrap();
    let circle = circle.assert_ok("circle").result.clone();
    assert_eq!(
        (&record(&circle, ab)["state"], &record(&circle, ab)["amount"]),
        (&json!("open"), &json!("10.00"))
    );
    assert_eq!(circle["fulfilled"], "20.00", "{circle:#}");
    let circle = carol.user.command(&carol.room, "!circle").await.unwrap();
    let circle = &circle.assert_ok("circle").result;
    assert_eq!(
        (&circle["fulfilled"], &circle["obligations"]),
        (&json!("20.00"), &json!("0.00")),
        "bob's #{bc} set off whole"
    );
    let circle = alice.user.command(&alice.room, "!circle").await.unwrap();
    assert_eq!(record(&circle.assert_ok("circle").result, kept)["amount"], "5.00");

    // `clearing` in the DM: the opt-in and the last run's changes to one's own obligations.
    let dm = bob.user.dm_room_with(&bot.user_id, JOIN_TIMEOUT).await.unwrap();
    let state = bob.user.command(&dm, "!clearing").await.unwrap();
    let s = &state.assert_ok("clearing").result;
    assert_eq!(s["opted_in"], json!(true));
    assert_eq!(changes(&s["last"]).iter().map(|c| c.0).collect::<Vec<_>>(), [ab, bc]);
    let part = s["last"]["changes"][0]["part"].as_i64().unwrap();
    let archive = bob.user.command(&dm, "!archive").await.unwrap();
    let archive = &archive.assert_ok("archive").result;
    assert_eq!(record(archive, bc)["state"], "cleared");
    assert_eq!(
        (
            &record(archive, part)["state"],
            &record(archive, part)["amount"],
            &record(archive, part)["from"]
        ),
        (&json!("cleared"), &json!("20.00"), &json!(alice.user.user_id.as_str()))
    );

    // A second run finds nothing more to set off, changes nothing and sends nothing.
    let again = admin.command(&admin_dm, "!admin clearing run").await.unwrap();
    let g = &again.assert_ok("admin").result;
    assert_eq!(
        (&g["cleared"], &g["obligations_changed"], &g["eligible"]),
        (&json!("0.00"), &json!(0), &json!(2))
    );
    let adm = alice.user.dm_room_with(&bot.user_id, JOIN_TIMEOUT).await.unwrap();
    alice.user.command(&adm, "!help").await.unwrap().assert_ok("help");
    let digests = alice
        .user
        .recording()
        .events(&adm)
        .iter()
        .filter(|e| e.exodus_result().is_some_and(|r| r["changes"].is_array()))
        .count();
    assert_eq!(digests, 1, "one digest, from the first run");

    // Opting out takes one's obligations out.
    bob.user.command(&dm, "!clearing off").await.unwrap().assert_ok("clearing");
    let preview = admin.command(&admin_dm, "!admin clearing preview").await.unwrap();
    assert_eq!(
        preview.assert_ok("admin").result["eligible"],
        json!(1),
        "only carol → alice is left"
    );
}
