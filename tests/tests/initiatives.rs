//! Initiatives (SPEC §3.4, V1, V2) seen from real Matrix clients: the card the bot keeps up to
//! date by editing it, 👍 on it as interest (and its redaction), backing changed and withdrawn
//! before funding, the goal moved by the proposer, funding the moment backing reaches the goal
//! (every backing an obligation due in 14 days, over-funding kept), withdrawal refused after
//! funding, a non-member refused by DM, a lapse at the deadline, a backer leaving the room, and
//! malformed input.
//!
//! Tests fail by panicking so that the bot's log is printed (see `BotProcess`'s `Drop`).
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Duration, Utc};
use exodus_e2e::*;
use matrix_sdk::ruma::{OwnedEventId, OwnedRoomId};
use serde_json::{Value, json};

/// A bot with an admin, and a room its proposer created.
struct Town {
    bot: BotProcess,
    admin: TestUser,
    admin_dm: OwnedRoomId,
    alice: TestUser,
    room: OwnedRoomId,
}

impl Town {
    async fn create() -> Town {
        Town::create_on(Database::Sqlite).await
    }

    async fn create_on(database: Database) -> Town {
        init_tracing();
        let hs = Homeserver::a();
        let admin = TestUser::login(&hs, "admin").await.unwrap();
        let bot = BotProcess::start_new(
            &hs,
            BotOptions { admins: vec![admin.user_id.to_string()], database, ..Default::default() },
        )
        .await
        .unwrap();
        let admin_dm = admin.create_dm_with(&bot.user_id).await.unwrap();
        let alice = TestUser::login(&hs, "alice").await.unwrap();
        let room = alice.create_room_with(&bot.user_id, false).await.unwrap();
        Town { bot, admin, admin_dm, alice, room }
    }

    async fn member(&self, hs: &Homeserver, name: &str) -> TestUser {
        let user = TestUser::login(hs, name).await.unwrap();
        self.alice.bring_in(&self.room, &user).await.unwrap();
        user
    }

    /// `propose`: the card's event ID and the initiative's number.
    async fn propose(&self, body: &str) -> (OwnedEventId, i64, Value) {
        let r = self.alice.command(&self.room, body).await.unwrap();
        r.assert_ok("propose");
        assert_eq!(
            (&r.result["kind"], &r.result["state"], &r.result["backing"]),
            (&json!("initiative"), &json!("active"), &json!("0.00"))
        );
        (r.event_id.clone(), r.result["id"].as_i64().unwrap(), r.result.clone())
    }

    /// The latest edit of the card that `check` accepts, as `user` sees it (its new content's
    /// result).
    async fn card_until(
        &self,
        user: &TestUser,
        card: &OwnedEventId,
        what: &str,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        let edit = user
            .wait_event(&self.room, REPLY_TIMEOUT, what, |e| {
                e.sender == self.bot.user_id
                    && e.content["m.relates_to"]["rel_type"] == "m.replace"
                    && e.content["m.relates_to"]["event_id"] == card.as_str()
                    && check(&e.content["m.new_content"]["org.exodus.result"])
            })
            .await
            .unwrap();
        assert!(
            edit.body().unwrap_or_default().starts_with("* "),
            "an edit's fallback body: {:?}",
            edit.body()
        );
        edit.content["m.new_content"]["org.exodus.result"].clone()
    }

    /// `admin run <job> as-of <at>`; the result.
    async fn run(&self, job: &str, at: DateTime<Utc>) -> Value {
        admin_run(&self.admin, &self.admin_dm, job, at).await
    }

    async fn dm_notice(
        &self,
        user: &TestUser,
        what: &str,
        predicate: impl Fn(&Value) -> bool,
    ) -> Value {
        bot_dm_notice(user, &self.bot.user_id, what, predicate).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_initiative_is_funded_when_backing_reaches_its_goal() {
    let t = Town::create().await;
    let hs = Homeserver::a();
    let bob = t.member(&hs, "bob").await;
    let carol = t.member(&hs, "carol").await;
    let (card, i, proposed) = t.propose("!propose 120 10 \"a shared tool library\"").await;
    assert_eq!(
        (&proposed["goal"], &proposed["remaining"], &proposed["days_left"], &proposed["title"]),
        (&json!("120.00"), &json!("120.00"), &json!(10), &json!("a shared tool library"))
    );
    assert_eq!(proposed["proposer"], t.alice.user_id.as_str());

    // bob backs it from the room: an intention in favour of the proposer; the card follows.
    let r = bob.command(&t.room, &format!("!back #{i} 40")).await.unwrap();
    r.assert_ok("back");
    assert_eq!(
        (&r.result["kind"], &r.result["initiative"], &r.result["amount"], &r.result["backing"]),
        (&json!("intention"), &json!(i), &json!("40.00"), &json!("40.00"))
    );
    let first = r.result["id"].as_i64().unwrap();
    t.card_until(&carol, &card, "the card with bob's 40", |c| {
        c["backing"] == "40.00" && c["backers"] == 1 && c["remaining"] == "80.00"
    })
    .await;
    let told = t
        .dm_notice(&t.alice, "the proposer hears of the backing", |r| {
            r["notice"] == "backed" && r["id"] == i
        })
        .await;
    assert_eq!(told["record"]["amount"], "40.00");
    // Backing again changes it (the same record).
    let r = bob.command(&t.room, &format!("!back #{i} 30")).await.unwrap();
    r.assert_ok("back");
    assert_eq!((&r.result["id"], &r.result["backing"]), (&json!(first), &json!("30.00")));

    // 👍 on the card is interest, binding nobody; redacting it takes it back.
    let reaction = carol.react(&t.room, &card, "👍").await.unwrap();
    t.card_until(&bob, &card, "one interested", |c| c["interest"] == 1 && c["backing"] == "30.00")
        .await;
    carol.redact(&t.room, &reaction).await.unwrap();
    t.card_until(&bob, &card, "interest withdrawn", |c| c["interest"] == 0).await;
    let shown = carol.command(&t.room, &format!("!initiative #{i}")).await.unwrap();
    shown.assert_ok("initiative");
    assert_eq!((&shown.result["interest"], &shown.result["backing"]), (&json!(0), &json!("30.00")));

    // A non-member learns nothing by DM, not even that it exists; carol (joined) backs by DM.
    let eve = TestUser::login(&hs, "eve").await.unwrap();
    let eve_dm = eve.create_dm_with(&t.bot.user_id).await.unwrap();
    eve.command(&eve_dm, &format!("!back #{i} 10")).await.unwrap().assert_error("not_found");
    eve.command(&eve_dm, &format!("!initiative #{i}")).await.unwrap().assert_error("not_found");
    let carol_dm = carol.create_dm_with(&t.bot.user_id).await.unwrap();
    let r = carol.command(&carol_dm, &format!("!back #{i} 20")).await.unwrap();
    r.assert_ok("back");
    assert_eq!(r.result["backing"], "50.00");
    let carol_backing = r.result["id"].as_i64().unwrap();
    // The proposer does not back their own; only the proposer moves the goal.
    t.alice.command(&t.room, &format!("!back #{i} 5")).await.unwrap().assert_error("forbidden");
    bob.command(&t.room, &format!("!initiative #{i} goal 10"))
        .await
        .unwrap()
        .assert_error("forbidden");
    let raised = t.alice.command(&t.room, &format!("!initiative #{i} goal 150")).await.unwrap();
    raised.assert_ok("initiative");
    assert_eq!(
        (&raised.result["goal"], &raised.result["state"]),
        (&json!("150.00"), &json!("active"))
    );
    let listed = bob.command(&t.room, "!initiatives").await.unwrap();
    listed.assert_ok("initiatives");
    assert_eq!(
        listed.result["initiatives"]
            .as_array()
            .map(|a| a.iter().map(|v| v["id"].clone()).collect::<Vec<_>>()),
        Some(vec![json!(i)])
    );

    // Withdrawn before funding: an intention; a backing is changed with back, not intend/commit.
    bob.command(&t.room, &format!("!commit #{first}")).await.unwrap().assert_error("invalid_state");
    bob.command(&t.room, &format!("!withdraw #{first}")).await.unwrap().assert_ok("withdraw");
    t.card_until(&carol, &card, "bob's backing withdrawn", |c| {
        c["backing"] == "20.00" && c["backers"] == 1
    })
    .await;
    let r = bob.command(&t.room, &format!("!back #{i} 100")).await.unwrap();
    r.assert_ok("back");
    let second = r.result["id"].as_i64().unwrap();
    assert_ne!(
        second, first,
        "a withdrawn backing stays withdrawn; backing again is a new intention"
    );
    assert_eq!((&r.result["backing"], &r.result["state"]), (&json!("120.00"), &json!("active")));

    // The proposer lowers the goal to 110: reached, funded at once; 120 are kept as pledged.
    let funded = t.alice.command(&t.room, &format!("!initiative #{i} goal 110")).await.unwrap();
    funded.assert_ok("initiative");
    assert_eq!(
        (&funded.result["state"], &funded.result["backing"], &funded.result["remaining"]),
        (&json!("funded"), &json!("120.00"), &json!("0.00"))
    );
    let due = funded.result["due"].as_str().unwrap().to_owned();
    let due_at = DateTime::parse_from_rfc3339(&due).unwrap().with_timezone(&Utc);
    assert!(
        (due_at - (Utc::now() + Duration::days(14))).num_minutes().abs() < 10,
        "due in 14 days: {due}"
    );
    let bob_dm = bob.dm_room_with(&t.bot.user_id, JOIN_TIMEOUT).await.unwrap();
    for (user, dm, id, amount) in
        [(&bob, &bob_dm, second, "100.00"), (&carol, &carol_dm, carol_backing, "20.00")]
    {
        let n = user
            .wait_notice(dm, REPLY_TIMEOUT, "funded: the backer's obligation", |r| {
                r["notice"] == "funded" && r["record"]["id"] == id
            })
            .await
            .unwrap()
            .result;
        assert_eq!(
            (&n["record"]["kind"], &n["record"]["amount"], &n["record"]["state"]),
            (&json!("obligation"), &json!(amount), &json!("open"))
        );
        assert_eq!(n["record"]["due"], due.as_str());
    }
    t.alice
        .wait_notice(&t.room, REPLY_TIMEOUT, "funded, in the room", |r| {
            r["notice"] == "funded" && r["id"] == i
        })
        .await
        .unwrap();
    t.card_until(&carol, &card, "the card says funded", |c| c["state"] == "funded").await;

    // After funding: an obligation, not withdrawable; no more backing or goal changes; paid and
    // confirmed as in circles.
    bob.command(&t.room, &format!("!withdraw #{second}"))
        .await
        .unwrap()
        .assert_error("invalid_state");
    carol.command(&t.room, &format!("!back #{i} 5")).await.unwrap().assert_error("invalid_state");
    t.alice
        .command(&t.room, &format!("!initiative #{i} goal 200"))
        .await
        .unwrap()
        .assert_error("invalid_state");
    bob.command(&t.room, &format!("!paid #{second}")).await.unwrap().assert_ok("paid");
    let confirmed = t.alice.command(&t.room, &format!("!confirm #{second}")).await.unwrap();
    confirmed.assert_ok("confirm");
    assert_eq!(confirmed.result["state"], "fulfilled");
    let none = bob.command(&t.room, "!initiatives").await.unwrap();
    assert_eq!(none.result["initiatives"], json!([]), "funded is no longer active");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unfunded_initiative_lapses_and_a_leaver_withdraws() {
    let t = Town::create().await;
    let hs = Homeserver::a();
    let bob = t.member(&hs, "bob").await;
    let dave = t.member(&hs, "dave").await;
    let (card, i, _) = t.propose("!propose 500 3 bikes").await;
    let r = bob.command(&t.room, &format!("!back #{i} 50")).await.unwrap();
    r.assert_ok("back");
    let backing = r.result["id"].as_i64().unwrap();
    dave.command(&t.room, &format!("!back #{i} 25")).await.unwrap().assert_ok("back");
    // dave leaves the room: his backing is withdrawn, announced, the card follows.
    dave.leave(&t.room).await.unwrap();
    let left = t
        .alice
        .wait_notice(&t.room, REPLY_TIMEOUT, "dave's backing withdrawn", |r| r["notice"] == "left")
        .await
        .unwrap();
    assert_eq!(
        (&left.result["record"]["state"], &left.result["backing"]),
        (&json!("withdrawn"), &json!("50.00"))
    );
    t.card_until(&bob, &card, "without dave", |c| c["backing"] == "50.00" && c["backers"] == 1)
        .await;

    // Two days on, the deadlines job refreshes the days left on the card; nothing lapses.
    let run = t.run("deadlines", Utc::now() + Duration::days(2)).await;
    assert_eq!(
        (&run["initiatives_lapsed"], &run["initiative_cards_refreshed"]),
        (&json!(0), &json!(1)),
        "{run:#}"
    );
    t.card_until(&bob, &card, "one day left", |c| c["days_left"] == 1).await;
    // Past the deadline: lapsed, backings cancelled, everyone told; a second run does nothing.
    let at = Utc::now() + Duration::days(3) + Duration::hours(1);
    let run = t.run("deadlines", at).await;
    assert_eq!(run["initiatives_lapsed"], 1, "{run:#}");
    let again = t.run("deadlines", at).await;
    assert_eq!(
        (&again["initiatives_lapsed"], &again["initiative_cards_refreshed"]),
        (&json!(0), &json!(0))
    );
    let n = t
        .dm_notice(&bob, "lapsed: bob's backing cancelled", |r| {
            r["notice"] == "lapsed" && r["id"] == i
        })
        .await;
    assert_eq!((&n["record"]["id"], &n["record"]["state"]), (&json!(backing), &json!("cancelled")));
    t.dm_notice(&t.alice, "lapsed: the proposer", |r| r["notice"] == "lapsed" && r["id"] == i)
        .await;
    t.alice
        .wait_notice(&t.room, REPLY_TIMEOUT, "lapsed, in the room", |r| {
            r["notice"] == "lapsed" && r["id"] == i
        })
        .await
        .unwrap();
    let c = t.card_until(&bob, &card, "the card says lapsed", |c| c["state"] == "lapsed").await;
    assert_eq!((&c["backing"], &c["days_left"]), (&json!("50.00"), &json!(0)));
    bob.command(&t.room, &format!("!back #{i} 5")).await.unwrap().assert_error("invalid_state");
    bob.command(&t.room, &format!("!withdraw #{backing}"))
        .await
        .unwrap()
        .assert_error("invalid_state");
    let shown = bob.command(&t.room, &format!("!initiative #{i}")).await.unwrap();
    shown.assert_ok("initiative");
    assert_eq!(shown.result["state"], "lapsed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_initiative_commands_change_nothing() {
    let t = Town::create().await;
    let bob = t.member(&Homeserver::a(), "bob").await;
    for (body, code) in [
        ("!propose", "bad_arguments"),
        ("!propose 0 10 nothing", "bad_arguments"),
        ("!propose -5 10 less", "bad_arguments"),
        ("!propose 10.001 10 cents", "bad_arguments"),
        ("!propose 1000000000000000000000000000000 10 huge", "bad_arguments"),
        ("!propose 100 0 today", "bad_arguments"),
        ("!propose 100 366 too-long", "bad_arguments"),
        ("!propose 100 10", "bad_arguments"),
        ("!back", "bad_arguments"),
        ("!back #1", "bad_arguments"),
        ("!back 1 10", "bad_arguments"),
        ("!back #1 0", "bad_arguments"),
        ("!back #999 10", "not_found"),
        ("!initiative", "bad_arguments"),
        ("!initiative #1 goal", "bad_arguments"),
        ("!initiative #1 title new", "bad_arguments"),
        ("!initiatives now", "bad_arguments"),
    ] {
        let r = bob.command(&t.room, body).await.unwrap();
        r.assert_error(code);
        r.assert_usage();
    }
    let long = format!("!propose 10 10 {}", "x".repeat(201));
    bob.command(&t.room, &long).await.unwrap().assert_error("limit_exceeded");
    // Not in a DM, nor in a circle's room.
    let dm = bob.create_dm_with(&t.bot.user_id).await.unwrap();
    bob.command(&dm, "!propose 10 10 private").await.unwrap().assert_error("forbidden");
    bob.command(&dm, "!initiatives").await.unwrap().assert_error("forbidden");
    let circle = bob.create_room_with(&t.bot.user_id, false).await.unwrap();
    bob.command(&circle, "!circle open").await.unwrap().assert_ok("circle");
    bob.command(&circle, "!propose 10 10 here").await.unwrap().assert_error("invalid_state");
    // Nothing was created: the room lists none, and the first number is still free.
    let listed = bob.command(&t.room, "!initiatives").await.unwrap();
    assert_eq!(listed.result["initiatives"], json!([]));
    let (_, i, _) = t.propose("!propose 10 10 first").await;
    assert_eq!(i, 1, "no initiative was made by the refused commands");
}

/// A room where initiatives live keeps their backings as its records: it cannot be bound as a
/// circle or a pool too (found by the seeded simulation: `commit #N` on a backing made it a
/// circle's obligation while its initiative was still open). Nothing is bound.
async fn a_room_with_initiatives_holds_no_circle_or_pool(database: Database) {
    let t = Town::create_on(database).await;
    let (_, i, _) = t.propose("!propose 50 10 \"a shared oven\"").await;
    let circle = t.alice.command(&t.room, "!circle open").await.unwrap();
    circle.assert_error("invalid_state");
    assert!(circle.body.contains("Initiatives live in this room"), "{}", circle.body);
    t.alice.command(&t.room, "!pool create Oven").await.unwrap().assert_error("invalid_state");
    // Neither was bound: the room is no circle and no pool, and the initiative is as it was.
    t.alice.command(&t.room, "!circle").await.unwrap().assert_error("invalid_state");
    t.alice.command(&t.room, "!pool").await.unwrap().assert_error("invalid_state");
    let shown = t.alice.command(&t.room, &format!("!initiative #{i}")).await.unwrap();
    shown.assert_ok("initiative");
    assert_eq!(shown.result["state"], "active");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_with_initiatives_holds_no_circle_or_pool_sqlite() {
    a_room_with_initiatives_holds_no_circle_or_pool(Database::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_with_initiatives_holds_no_circle_or_pool_postgres() {
    a_room_with_initiatives_holds_no_circle_or_pool(Database::Postgres).await;
}
