//! Pools (SPEC §3.3, V3) seen from real Matrix clients: the life of a claim voted by 👍 / 👎
//! reactions (one voter on another homeserver), each vote that does not count, a vote retracted
//! by redacting the reaction, a rejected claim, a claim nobody voted on, a member leaving
//! mid-vote, a claim larger than the pool, an overdue member excluded, pledges lapsing at the
//! rollover of a pool renewed by hand.
//!
//! Tests fail by panicking so that the bot's log is printed (see `BotProcess`'s `Drop`).
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Datelike, Duration, Utc};
use exodus_e2e::*;
use matrix_sdk::ruma::{OwnedEventId, OwnedRoomId};
use serde_json::{Value, json};

/// A bot with an admin, and a pool in a room its founder created.
struct Pool {
    bot: BotProcess,
    admin: TestUser,
    admin_dm: OwnedRoomId,
    founder: TestUser,
    room: OwnedRoomId,
}

impl Pool {
    async fn create() -> Pool {
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
        let founder = TestUser::login(&hs, "founder").await.unwrap();
        let room = founder.create_room_with(&bot.user_id, false).await.unwrap();
        let r = founder.command(&room, "!pool create Neighbours").await.unwrap();
        r.assert_ok("pool");
        assert_eq!(
            (&r.result["kind"], &r.result["name"], &r.result["rules"]["quorum"]),
            (&json!("pool"), &json!("Neighbours"), &json!("0.5"))
        );
        Pool { bot, admin, admin_dm, founder, room }
    }

    async fn member(&self, hs: &Homeserver, name: &str) -> TestUser {
        let user = TestUser::login(hs, name).await.unwrap();
        self.founder.bring_in(&self.room, &user).await.unwrap();
        user
    }

    async fn pledge(&self, user: &TestUser, amount: &str) {
        let r = user.command(&self.room, &format!("!pledge {amount}")).await.unwrap();
        r.assert_ok("pledge");
        assert_eq!(r.result["pledge"], amount, "{:#}", r.result);
    }

    /// `pool`'s result.
    async fn show(&self) -> Value {
        let r = self.founder.command(&self.room, "!pool").await.unwrap();
        r.assert_ok("pool");
        r.result.clone()
    }

    /// `pool` until `check` holds (votes by reaction are answered, but a retraction is not).
    async fn show_until(&self, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        let mut last = Value::Null;
        for _ in 0..30 {
            last = self.show().await;
            if check(&last) {
                return last;
            }
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
        panic!("{what}: never seen; last pool: {last:#}");
    }

    /// Opens a claim; the claim message's event ID and the claim's number.
    async fn claim(&self, claimant: &TestUser, body: &str) -> (OwnedEventId, i64) {
        let r = claimant.command(&self.room, body).await.unwrap();
        r.assert_ok("claim");
        assert_eq!((&r.result["kind"], &r.result["state"]), (&json!("claim"), &json!("voting")));
        (r.event_id.clone(), r.result["id"].as_i64().unwrap())
    }

    /// A reaction on the claim message and the bot's answer to it (a vote that counts), which
    /// names the reaction it counted.
    async fn vote_by_reaction(
        &self,
        voter: &TestUser,
        message: &OwnedEventId,
        key: &str,
        claim: i64,
    ) -> Value {
        let reaction = voter.react(&self.room, message, key).await.unwrap();
        let reply = voter
            .wait_notice(&self.room, REPLY_TIMEOUT, "the vote's tally", |r| {
                r["command"] == "vote" && r["id"] == claim && r["ballot"] == reaction.as_str()
            })
            .await
            .unwrap();
        assert_eq!(reply.result["voter"], voter.user_id.as_str());
        reply.result.clone()
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

fn shares(result: &Value) -> Vec<(String, String)> {
    result["shares"]
        .as_array()
        .unwrap_or_else(|| panic!("no shares in {result:#}"))
        .iter()
        .map(|s| {
            (s["member"].as_str().unwrap().to_owned(), s["amount"].as_str().unwrap().to_owned())
        })
        .collect()
}

fn claim_of(pool: &Value, id: i64) -> Value {
    pool["claims"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no claim #{id} in {pool:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_voted_by_reactions_becomes_obligations_shared_by_pledge() {
    let p = Pool::create().await;
    let bob = p.member(&Homeserver::a(), "bob").await;
    let carol = p.member(&Homeserver::b(), "carol").await;
    let dave = p.member(&Homeserver::a(), "dave").await;

    // Rules: shown, changed by the founder (power 100) and announced; refused to bob (power 0).
    let rules = p.founder.command(&p.room, "!pool rules").await.unwrap();
    rules.assert_ok("pool");
    assert_eq!(
        (&rules.result["rules"]["events"], &rules.result["rules"]["vote_hours"]),
        (&json!("accident,illness,fire"), &json!("24"))
    );
    let changed = p.founder.command(&p.room, "!pool rule vote_hours 2").await.unwrap();
    changed.assert_ok("pool");
    assert_eq!(
        (&changed.result["rule"], &changed.result["from"], &changed.result["to"]),
        (&json!("vote_hours"), &json!("24"), &json!("2"))
    );
    bob.command(&p.room, "!pool rule quorum 0.1").await.unwrap().assert_error("forbidden");
    p.founder.command(&p.room, "!pool rule quorum 2").await.unwrap().assert_error("bad_arguments");

    for (user, amount) in
        [(&p.founder, "100.00"), (&bob, "200.00"), (&carol, "100.00"), (&dave, "100.00")]
    {
        p.pledge(user, amount).await;
    }
    let pool = p.show().await;
    assert_eq!(
        (&pool["total"], &pool["available"], &pool["paid"]),
        (&json!("500.00"), &json!("500.00"), &json!("0.00"))
    );

    // The founder claims; the claim message is what members react to.
    p.founder
        .command(&p.room, "!claim flood 150 cellar")
        .await
        .unwrap()
        .assert_error("bad_arguments");
    let (message, c) = p.claim(&p.founder, "!claim fire 150 \"kitchen fire\"").await;
    p.dm_notice(&bob, "claim opened", |r| r["notice"] == "claim-opened" && r["id"] == c).await;

    let v = p.vote_by_reaction(&bob, &message, "👍", c).await;
    assert_eq!((&v["yes"], &v["no"], &v["eligible"]), (&json!(1), &json!(0), &json!(3)));
    // A voter on another homeserver.
    let v = p.vote_by_reaction(&carol, &message, "👍️", c).await;
    assert_eq!((&v["yes"], &v["no"]), (&json!(2), &json!(0)));
    // dave votes 👎, then 👍: the latest counts.
    let v = p.vote_by_reaction(&dave, &message, "👎", c).await;
    assert_eq!((&v["yes"], &v["no"]), (&json!(2), &json!(1)));
    let v = p.vote_by_reaction(&dave, &message, "👍🏽", c).await;
    assert_eq!((&v["yes"], &v["no"]), (&json!(3), &json!(0)));
    // The claimant's own vote does not count.
    p.founder.react(&p.room, &message, "👍").await.unwrap();
    p.founder.command(&p.room, &format!("!vote #{c} yes")).await.unwrap().assert_error("forbidden");
    let pool = p.show().await;
    let shown = claim_of(&pool, c);
    assert_eq!(
        (&shown["yes"], &shown["no"], &shown["state"]),
        (&json!(3), &json!(0), &json!("voting"))
    );
    assert_eq!(
        pool["reserve"], "350.00",
        "500 available, 150 asked by the claim being voted on: {pool:#}"
    );

    // The window closes (the deadlines job): approved; T = 200 + 100 + 100, A = 150.
    let run = p.run("deadlines", Utc::now() + Duration::hours(3)).await;
    assert_eq!(
        (&run["claims_closed"], &run["claims_approved"], &run["pool_obligations"]),
        (&json!(1), &json!(1), &json!(3))
    );
    let decided = p
        .founder
        .wait_notice(&p.room, REPLY_TIMEOUT, "the decision", |r| {
            r["notice"] == "claim-decided" && r["id"] == c
        })
        .await
        .unwrap();
    assert_eq!(
        (&decided.result["state"], &decided.result["covered"]),
        (&json!("approved"), &json!("150.00"))
    );
    let (b, ca, d) = (bob.user_id.to_string(), carol.user_id.to_string(), dave.user_id.to_string());
    let mut want = vec![
        (b.clone(), "75.00".to_owned()),
        (ca.clone(), "37.50".to_owned()),
        (d.clone(), "37.50".to_owned()),
    ];
    want.sort();
    assert_eq!(shares(&decided.result), want);
    // A second run decides nothing again.
    let again = p.run("deadlines", Utc::now() + Duration::hours(3)).await;
    assert_eq!((&again["claims_closed"], &again["pool_obligations"]), (&json!(0), &json!(0)));

    // Each member charged hears of their obligation, pays it, the claimant confirms.
    let owed = p.dm_notice(&bob, "bob's share", |r| r["notice"] == "pool-obligation").await;
    assert_eq!(
        (&owed["amount"], &owed["to"], &owed["kind"]),
        (&json!("75.00"), &json!(p.founder.user_id.as_str()), &json!("obligation"))
    );
    let o = owed["id"].as_i64().unwrap();
    bob.command(&p.room, &format!("!paid #{o}")).await.unwrap().assert_ok("paid");
    p.founder.command(&p.room, &format!("!confirm #{o}")).await.unwrap().assert_ok("confirm");
    let pool = p.show().await;
    assert_eq!(
        (&pool["paid"], &pool["available"], &pool["total"]),
        (&json!("150.00"), &json!("350.00"), &json!("500.00")),
        "{pool:#}"
    );
    // Voting on a decided claim is refused.
    bob.command(&p.room, &format!("!vote #{c} no")).await.unwrap().assert_error("invalid_state");

    // Daily reminders for the open shares (carol's and dave's), within pay_days.
    let reminders = p.run("reminders", Utc::now() + Duration::hours(4)).await;
    assert_eq!(reminders["reminded"], 2, "{reminders:#}");
    p.dm_notice(&dave, "dave's reminder", |r| {
        r["notice"].is_null() && r["reminders"].as_array().is_some_and(|a| !a.is_empty())
    })
    .await;
    // The rollover carries the pledges of a pool renewing automatically; the shares left unpaid
    // past pay_days are overdue, and their givers are excluded.
    let next_month = {
        let now = Utc::now();
        let first = chrono::NaiveDate::from_ymd_opt(now.year(), now.month(), 1).unwrap()
            + chrono::Months::new(1);
        first.and_hms_opt(0, 5, 0).unwrap().and_utc().max(now + Duration::days(9))
    };
    let run = p.run("rollover", next_month).await;
    assert_eq!(
        (&run["pledges_carried"], &run["pledges_lapsed"], &run["pool_members_excluded"]),
        (&json!(4), &json!(0), &json!(2)),
        "{run:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn votes_that_do_not_count_and_a_retraction() {
    let p = Pool::create().await;
    let bob = p.member(&Homeserver::a(), "bob").await;
    let carol = p.member(&Homeserver::a(), "carol").await;
    let eve = p.member(&Homeserver::a(), "eve").await;
    let outsider = TestUser::login(&Homeserver::a(), "outsider").await.unwrap();
    for (user, amount) in [(&p.founder, "50.00"), (&bob, "50.00"), (&carol, "50.00")] {
        p.pledge(user, amount).await;
    }
    let (message, c) = p.claim(&bob, "!claim illness 40 \"two weeks in bed\"").await;

    // eve is joined but holds no pledge: neither her reaction nor her vote counts.
    eve.react(&p.room, &message, "👍").await.unwrap();
    eve.command(&p.room, &format!("!vote #{c} yes")).await.unwrap().assert_error("forbidden");
    // Someone not in the pool's room cannot see the claim, even by DM.
    let outsider_dm = outsider.create_dm_with(&p.bot.user_id).await.unwrap();
    outsider
        .command(&outsider_dm, &format!("!vote #{c} yes"))
        .await
        .unwrap()
        .assert_error("not_found");
    // A 👍 on a bot message that is not the claim is no vote.
    let other = p.founder.command(&p.room, "!pool").await.unwrap();
    carol.react(&p.room, &other.event_id, "👍").await.unwrap();
    // carol votes, then redacts her reaction: the vote is retracted.
    let reaction = carol.react(&p.room, &message, "👍").await.unwrap();
    carol
        .wait_notice(&p.room, REPLY_TIMEOUT, "carol's vote", |r| {
            r["command"] == "vote" && r["ballot"] == reaction.as_str()
        })
        .await
        .unwrap();
    carol.redact(&p.room, &reaction).await.unwrap();
    let pool = p.show_until("the retraction", |pool| claim_of(pool, c)["yes"] == 0).await;
    assert_eq!(claim_of(&pool, c)["no"], 0, "{pool:#}");
    // The founder votes by DM (joined to the pool's room), then no.
    let founder_dm = p.founder.create_dm_with(&p.bot.user_id).await.unwrap();
    let v = p.founder.command(&founder_dm, &format!("!vote #{c} no")).await.unwrap();
    v.assert_ok("vote");
    assert_eq!(
        (&v.result["yes"], &v.result["no"], &v.result["eligible"]),
        (&json!(0), &json!(1), &json!(2))
    );
    p.founder
        .command(&p.room, "!pool rule vote_hours 5")
        .await
        .unwrap()
        .assert_error("invalid_state");

    // Closed: one of two voted (quorum 0.5 met), no yes: rejected, nothing created.
    let run = p.run("deadlines", Utc::now() + Duration::hours(25)).await;
    assert_eq!(
        (&run["claims_closed"], &run["claims_approved"], &run["pool_obligations"]),
        (&json!(1), &json!(0), &json!(0))
    );
    let decided = bob.dm_room_with(&p.bot.user_id, JOIN_TIMEOUT).await.unwrap();
    let notice = bob
        .wait_notice(&decided, REPLY_TIMEOUT, "the rejection", |r| {
            r["notice"] == "claim-decided" && r["id"] == c
        })
        .await
        .unwrap();
    assert_eq!(
        (&notice.result["state"], &notice.result["verdict"], &notice.result["shares"]),
        (&json!("rejected"), &json!("rejected"), &json!([]))
    );
    // After the window: a vote is refused and a reaction ignored.
    carol.command(&p.room, &format!("!vote #{c} yes")).await.unwrap().assert_error("invalid_state");
    let pool = p.show().await;
    assert_eq!(pool["claims"], json!([]), "no claim is being voted on any more: {pool:#}");
    assert_eq!(pool["paid"], "0.00");

    // A claim nobody votes on expires with nothing created.
    let (_, c2) = p.claim(&carol, "!claim accident 10 \"a fall\"").await;
    let run = p.run("deadlines", Utc::now() + Duration::hours(25)).await;
    assert_eq!((&run["claims_closed"], &run["claims_approved"]), (&json!(1), &json!(0)));
    let notice = p
        .founder
        .wait_notice(&p.room, REPLY_TIMEOUT, "the expiry", |r| {
            r["notice"] == "claim-decided" && r["id"] == c2
        })
        .await
        .unwrap();
    assert_eq!(notice.result["verdict"], "no_quorum");

    // The rules change once nothing is being voted on; a pool renewed by hand lets pledges lapse.
    p.founder.command(&p.room, "!pool rule renew manual").await.unwrap().assert_ok("pool");
    let next_month = {
        let now = Utc::now();
        let first = chrono::NaiveDate::from_ymd_opt(now.year(), now.month(), 1).unwrap()
            + chrono::Months::new(1);
        first.and_hms_opt(0, 5, 0).unwrap().and_utc()
    };
    let run = p.run("rollover", next_month).await;
    assert_eq!(
        (&run["pledges_lapsed"], &run["pledges_carried"]),
        (&json!(3), &json!(0)),
        "{run:#}"
    );
    p.founder
        .wait_notice(&p.room, REPLY_TIMEOUT, "a lapse", |r| {
            r["notice"] == "lapsed" && r["member"] == bob.user_id.as_str()
        })
        .await
        .unwrap();
    let pool = p.show().await;
    assert_eq!((&pool["total"], &pool["members"]), (&json!("0.00"), &json!([])), "{pool:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_leaving_mid_vote_is_not_charged_and_a_large_claim_is_covered_up_to_the_pool() {
    let p = Pool::create().await;
    let bob = p.member(&Homeserver::a(), "bob").await;
    let carol = p.member(&Homeserver::a(), "carol").await;
    p.founder.command(&p.room, "!pool rule pay_days 1").await.unwrap().assert_ok("pool");
    for (user, amount) in [(&p.founder, "10.00"), (&bob, "100.00"), (&carol, "100.00")] {
        p.pledge(user, amount).await;
    }
    // A claim above the pool: covered up to what the others pledged.
    let (message, c) = p.claim(&p.founder, "!claim accident 1000 \"the car\"").await;
    let pool = p.show().await;
    assert_eq!(claim_of(&pool, c)["amount"], "1000.00");
    p.vote_by_reaction(&bob, &message, "👍", c).await;
    p.vote_by_reaction(&carol, &message, "👍", c).await;
    // carol leaves before the window closes: her pledge ends, she is not charged, her vote is gone.
    carol.leave(&p.room).await.unwrap();
    p.founder
        .wait_notice(&p.room, REPLY_TIMEOUT, "carol's leaving", |r| {
            r["notice"] == "left-room" && r["member"] == carol.user_id.as_str()
        })
        .await
        .unwrap();
    let closes = Utc::now() + Duration::hours(25);
    let run = p.run("deadlines", closes).await;
    assert_eq!(
        (&run["claims_approved"], &run["pool_obligations"]),
        (&json!(1), &json!(1)),
        "{run:#}"
    );
    let decided = p
        .founder
        .wait_notice(&p.room, REPLY_TIMEOUT, "the decision", |r| {
            r["notice"] == "claim-decided" && r["id"] == c
        })
        .await
        .unwrap();
    assert_eq!(
        (&decided.result["covered"], &decided.result["yes"], &decided.result["eligible"]),
        (&json!("100.00"), &json!(1), &json!(1))
    );
    assert_eq!(
        shares(&decided.result),
        vec![(bob.user_id.to_string(), "100.00".to_owned())],
        "never above bob's pledge"
    );

    // bob does not pay within pay_days: overdue, excluded from the pool, announced; no new pledge.
    let run = p.run("deadlines", closes + Duration::days(2)).await;
    assert_eq!((&run["overdue"], &run["pool_members_excluded"]), (&json!(1), &json!(1)), "{run:#}");
    p.founder
        .wait_notice(&p.room, REPLY_TIMEOUT, "bob's exclusion", |r| {
            r["notice"] == "excluded" && r["member"] == bob.user_id.as_str()
        })
        .await
        .unwrap();
    let pool = p.show().await;
    let members: Vec<&str> =
        pool["members"].as_array().unwrap().iter().map(|m| m["member"].as_str().unwrap()).collect();
    assert_eq!(members, vec![p.founder.user_id.as_str()], "{pool:#}");
    bob.command(&p.room, "!pledge 50").await.unwrap().assert_error("forbidden");
    let again = p.run("deadlines", closes + Duration::days(2)).await;
    assert_eq!(again["pool_members_excluded"], 0);
    // The obligation stays payable; once paid and confirmed, bob may pledge again.
    let owed = p.dm_notice(&bob, "bob's share", |r| r["notice"] == "pool-obligation").await;
    let o = owed["id"].as_i64().unwrap();
    bob.command(&p.room, &format!("!paid #{o}")).await.unwrap().assert_ok("paid");
    p.founder.command(&p.room, &format!("!confirm #{o}")).await.unwrap().assert_ok("confirm");
    p.pledge(&bob, "50.00").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_needs_power_and_a_room_of_its_own() {
    let p = Pool::create().await;
    let bob = p.member(&Homeserver::a(), "bob").await;
    p.founder.command(&p.room, "!pool create Again").await.unwrap().assert_error("invalid_state");
    p.founder.command(&p.room, "!circle open").await.unwrap().assert_error("invalid_state");
    let other = bob.create_room_with(&p.bot.user_id, false).await.unwrap();
    bob.command(&other, "!pledge 10").await.unwrap().assert_error("invalid_state");
    bob.command(&other, "!circle open").await.unwrap().assert_ok("circle");
    bob.command(&other, "!pool create Mine").await.unwrap().assert_error("invalid_state");
    let dm = bob.create_dm_with(&p.bot.user_id).await.unwrap();
    bob.command(&dm, "!pool create Mine").await.unwrap().assert_error("forbidden");
    // Malformed input changes nothing.
    for body in [
        "!pledge -5",
        "!pledge 1.234",
        "!claim",
        "!claim fire",
        "!claim fire 0 x",
        "!vote",
        "!vote #1 maybe",
        "!pool rule colour red",
        "!pool frobnicate",
    ] {
        bob.command(&p.room, body).await.unwrap().assert_error("bad_arguments").assert_usage();
    }
    let pool = p.show().await;
    assert_eq!((&pool["total"], &pool["claims"]), (&json!("0.00"), &json!([])));
}
