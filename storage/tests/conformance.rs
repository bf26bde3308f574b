#![allow(clippy::unwrap_used)]
//! The store conformance suite: every case runs against SQLite and against PostgreSQL.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use exodus_commands::ledger::{Kind, Record, State};
use exodus_commands::network::Support;
use exodus_commands::profile::{Level, PaymentMethod, Settled};
use exodus_commands::{Amount, Lang, MemberId, Need, Profile};
use exodus_storage::testing::{
    create_postgres_database, drop_postgres_database, postgres_base_url,
};
use exodus_storage::{
    Backoff, Cursor, EventRef, OutboxMessage, Outcome, Priority, Store, StoreError, Tag, Target,
};

/// A fresh, migrated store of one backend; dropping it removes the PostgreSQL database.
struct Fixture {
    store: Store,
    pg_url: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl Fixture {
    async fn sqlite() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("exodus.db").display());
        Fixture { store: Store::connect(&url).await.unwrap(), pg_url: None, _dir: Some(dir) }
    }

    async fn postgres() -> Fixture {
        let base = postgres_base_url();
        let url = create_postgres_database(&base, "exodus_conformance").await.unwrap_or_else(|e| {
            panic!("PostgreSQL is required at {base} (set EXODUS_TEST_PG_URL): {e}")
        });
        Fixture { store: Store::connect(&url).await.unwrap(), pg_url: Some(url), _dir: None }
    }

    async fn finish(self) {
        self.store.close().await;
        if let Some(url) = self.pg_url {
            drop_postgres_database(&url).await.unwrap();
        }
    }
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let f = super::Fixture::sqlite().await;
                super::$name(&f.store).await;
                f.finish().await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let f = super::Fixture::postgres().await;
                super::$name(&f.store).await;
                f.finish().await;
            })*
        }
    };
}

#[path = "conformance/recognise_sent.rs"]
mod recognise_sent;
use recognise_sent::{
    a_message_marked_with_another_event_is_not_recognised,
    a_sent_message_not_yet_marked_is_recognised_by_its_transaction_id,
    only_a_message_to_that_room_or_its_members_dm_is_recognised,
};

conformance!(
    a_sent_message_not_yet_marked_is_recognised_by_its_transaction_id,
    only_a_message_to_that_room_or_its_members_dm_is_recognised,
    a_message_marked_with_another_event_is_not_recognised,
    migrations_can_run_again,
    an_event_is_claimed_once,
    a_rolled_back_transaction_leaves_nothing,
    profiles_round_trip,
    erasing_a_member_removes_profile_and_payment,
    cursors_start_once_and_move,
    outbox_keeps_order_and_state,
    dm_rooms_are_remembered_and_forgotten,
    concurrent_claims_of_one_event_apply_it_once,
    concurrent_updates_of_one_profile_lose_nothing,
    records_round_trip_and_sum,
    network_supports_follow_the_relations,
    a_job_slot_is_claimed_by_one_runner,
    many_messages_enqueued_at_once_keep_their_order,
    a_group_claims_only_new_events_once,
    a_group_moves_each_cursor_to_its_last_event,
    a_group_writes_its_profiles_at_commit_and_sees_them_before,
    preloaded_totals_match_one_by_one_and_follow_writes,
    rollover_expires_renews_and_marks_overdue_once,
    deadlines_and_reminders_find_what_is_due,
    reliability_counts_follow_the_givers_obligations,
    a_lease_has_one_holder_until_it_passes,
    pools_keep_rules_pledges_claims_and_ballots,
    initiatives_keep_backings_interest_and_cards,
    clearing_selects_eligible_obligations_and_applies_a_run_once,
    notification_settings_are_read_only_where_they_differ_from_the_defaults,
    the_outbox_offers_each_destinations_next_message_replies_first,
    a_failing_destination_backs_off_alone_and_is_given_up,
    an_admin_retries_or_drops_a_failing_destination,
    nul_in_stored_text_is_refused_by_both_backends,
    the_first_start_is_recorded_once,
);

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_790_000_000_000).unwrap()
}

fn member(name: &str) -> MemberId {
    MemberId::parse(&format!("@{name}:example.org")).unwrap()
}

fn event(id: &str) -> EventRef {
    EventRef { event_id: format!("${id}"), room_id: "!room:example.org".into(), origin_ts: 1 }
}

fn message(txn: &str, target: Target) -> OutboxMessage {
    OutboxMessage {
        txn_id: txn.into(),
        target,
        event_type: "m.room.message".into(),
        content: serde_json::json!({"body": txn}),
        tag: None,
        priority: exodus_storage::Priority::Reply,
    }
}

async fn migrations_can_run_again(store: &Store) {
    // Connecting runs the migrations; a second pass over a migrated database must be a no-op.
    assert!(store.processed_count().await.unwrap() == 0);
    let mut tx = store.begin().await.unwrap();
    assert!(tx.claim_event(&event("m"), Outcome::Applied, now()).await.unwrap());
    tx.commit().await.unwrap();
    assert!(store.is_processed("$m").await.unwrap());
}

async fn an_event_is_claimed_once(store: &Store) {
    let mut tx = store.begin().await.unwrap();
    assert!(tx.claim_event(&event("a"), Outcome::Applied, now()).await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert!(!tx.claim_event(&event("a"), Outcome::Ignored, now()).await.unwrap());
    tx.rollback().await.unwrap();
    assert!(store.is_processed("$a").await.unwrap());
    assert!(!store.is_processed("$b").await.unwrap());
    assert_eq!(store.processed_count().await.unwrap(), 1);
}

async fn a_rolled_back_transaction_leaves_nothing(store: &Store) {
    let alice = member("alice");
    let mut tx = store.begin().await.unwrap();
    tx.claim_event(&event("r"), Outcome::Applied, now()).await.unwrap();
    tx.set_cursor("!room:example.org", &Cursor { event_id: "$r".into(), origin_ts: 5 }, now())
        .await
        .unwrap();
    let before = tx.profile_for_update(&alice).await.unwrap();
    let mut after = before.clone();
    after.about = Some("hello".into());
    tx.save_profile(&before, &after, now()).await.unwrap();
    tx.enqueue(&message("t-r", Target::Room("!room:example.org".into())), now()).await.unwrap();
    drop(tx); // no commit
    assert!(!store.is_processed("$r").await.unwrap());
    assert_eq!(store.cursor("!room:example.org").await.unwrap(), None);
    assert_eq!(store.profile(&alice).await.unwrap(), None);
    assert!(store.pending_outbox(10).await.unwrap().is_empty());
}

async fn profiles_round_trip(store: &Store) {
    let alice = member("alice");
    let mut orange = Profile::new(alice.clone());
    orange.need = Need::Orange {
        requested: Amount::parse("300.50").unwrap(),
        note: Some("rent «и еда»".into()),
    };
    orange.about = Some("Baker".into());
    orange.lang = Some(Lang::Ru);
    orange.notify = false;
    orange.forget_requested_at = Some(now());
    orange.payment = vec![
        PaymentMethod { label: "bank".into(), details: "IBAN 1".into(), is_default: true },
        PaymentMethod { label: "cash".into(), details: "hand".into(), is_default: false },
    ];
    let mut red = orange.clone();
    red.need = orange.need.red(Amount::parse("1000").unwrap(), 7, None, now());
    red.payment.pop();
    for (before, after) in [(Profile::new(alice.clone()), orange.clone()), (orange, red.clone())] {
        let mut tx = store.begin().await.unwrap();
        tx.save_profile(&before, &after, now()).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(store.profile(&alice).await.unwrap().as_ref(), Some(&after));
    }
    let Need::Red { previous, deadline, .. } = red.need else { panic!() };
    assert!(matches!(previous, Settled::Orange { .. }));
    assert_eq!(deadline, now() + Duration::days(7));
}

async fn erasing_a_member_removes_profile_and_payment(store: &Store) {
    let bob = member("bob");
    let mut p = Profile::new(bob.clone());
    p.payment.push(PaymentMethod { label: "bank".into(), details: "x".into(), is_default: true });
    let mut tx = store.begin().await.unwrap();
    tx.save_profile(&Profile::new(bob.clone()), &p, now()).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.erase_member(&bob).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.profile(&bob).await.unwrap(), None);
    // A new profile after erasure starts empty: no payment rows were left behind.
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.profile_for_update(&bob).await.unwrap(), Profile::new(bob.clone()));
    tx.rollback().await.unwrap();
}

async fn cursors_start_once_and_move(store: &Store) {
    let room = "!c:example.org";
    let join = Cursor { event_id: "$join".into(), origin_ts: 10 };
    assert!(store.init_cursor(room, &join, now()).await.unwrap());
    assert!(
        !store
            .init_cursor(room, &Cursor { event_id: "$other".into(), origin_ts: 1 }, now())
            .await
            .unwrap()
    );
    assert_eq!(store.cursor(room).await.unwrap(), Some(join));
    let later = Cursor { event_id: "$later".into(), origin_ts: 20 };
    store.advance_cursor(room, &later, now()).await.unwrap();
    assert_eq!(store.cursor(room).await.unwrap(), Some(later));
    store.forget_cursor(room).await.unwrap();
    assert_eq!(store.cursor(room).await.unwrap(), None);
}

async fn outbox_keeps_order_and_state(store: &Store) {
    let mut tx = store.begin().await.unwrap();
    for i in 0..5 {
        tx.enqueue(&message(&format!("t{i}"), Target::Room("!r:x".into())), now()).await.unwrap();
    }
    tx.enqueue(&message("dm", Target::Dm(member("carol"))), now()).await.unwrap();
    // The same transaction ID twice is one message (a re-decided command cannot double a reply).
    tx.enqueue(&message("t0", Target::Room("!r:x".into())), now()).await.unwrap();
    tx.commit().await.unwrap();
    let pending = store.pending_outbox(100).await.unwrap();
    let txns: Vec<_> = pending.iter().map(|p| p.message.txn_id.as_str()).collect();
    assert_eq!(txns, ["t0", "t1", "t2", "t3", "t4", "dm"]);
    assert_eq!(pending[5].message.target, Target::Dm(member("carol")));
    assert_eq!(pending[0].message.content["body"], "t0");
    store.mark_sent(pending[0].id, "$sent", now()).await.unwrap();
    store.mark_failed(pending[1].id, "timeout", false, now()).await.unwrap();
    store.mark_failed(pending[2].id, "forbidden", true, now()).await.unwrap();
    let pending = store.pending_outbox(100).await.unwrap();
    let txns: Vec<_> = pending.iter().map(|p| (p.message.txn_id.as_str(), p.attempts)).collect();
    assert_eq!(txns, [("t1", 1), ("t3", 0), ("t4", 0), ("dm", 0)]);
}

async fn dm_rooms_are_remembered_and_forgotten(store: &Store) {
    let dave = member("dave");
    assert_eq!(store.dm_room(&dave).await.unwrap(), None);
    store.set_dm_room(&dave, "!dm1:x", now()).await.unwrap();
    store.set_dm_room(&dave, "!dm2:x", now()).await.unwrap();
    assert_eq!(store.dm_room(&dave).await.unwrap().as_deref(), Some("!dm2:x"));
    assert_eq!(store.dm_owner("!dm2:x").await.unwrap(), Some(dave.clone()));
    assert_eq!(store.forget_dm_room("!dm2:x").await.unwrap(), Some(dave.clone()));
    assert_eq!(store.dm_room(&dave).await.unwrap(), None);
}

async fn concurrent_claims_of_one_event_apply_it_once(store: &Store) {
    let store = Arc::new(store.clone());
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut tx = store.begin().await.unwrap();
                let won = tx.claim_event(&event("race"), Outcome::Applied, now()).await.unwrap();
                if won {
                    tx.enqueue(&message("race-reply", Target::Room("!r:x".into())), now())
                        .await
                        .unwrap();
                    tx.commit().await.unwrap();
                } else {
                    tx.rollback().await.unwrap();
                }
                won
            })
        })
        .collect();
    let mut winners = 0;
    for t in tasks {
        winners += usize::from(t.await.unwrap());
    }
    assert_eq!(winners, 1);
    assert_eq!(store.pending_outbox(10).await.unwrap().len(), 1);
}

async fn concurrent_updates_of_one_profile_lose_nothing(store: &Store) {
    let erin = member("erin");
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let store = store.clone();
            let erin = erin.clone();
            tokio::spawn(async move {
                let mut tx = store.begin().await.unwrap();
                let before = tx.profile_for_update(&erin).await.unwrap();
                let mut after = before.clone();
                after.payment.push(PaymentMethod {
                    label: format!("l{i:02}"),
                    details: "d".into(),
                    is_default: false,
                });
                after.payment.sort_by(|a, b| a.label.cmp(&b.label));
                tokio::task::yield_now().await;
                tx.save_profile(&before, &after, now()).await.unwrap();
                tx.commit().await.unwrap();
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let p = store.profile(&erin).await.unwrap().unwrap();
    assert_eq!(p.payment.len(), 10, "a read-modify-write was lost: {:?}", p.payment);
}

fn record(
    id: i64,
    kind: Kind,
    giver: &str,
    recipient: &str,
    cents: i64,
    state: State,
    changed: DateTime<Utc>,
) -> Record {
    Record {
        id,
        kind,
        giver: member(giver),
        recipient: member(recipient),
        room_id: format!("!{recipient}:example.org"),
        amount: Amount::from_cents(cents).unwrap(),
        what: (id == 2).then(|| "2h plumbing".to_owned()),
        state,
        overdue: false,
        created_at: changed,
        due: (kind == Kind::Obligation).then(|| now() + Duration::days(20)),
        changed_at: changed,
    }
}

async fn records_round_trip_and_sum(store: &Store) {
    let mut tx = store.begin().await.unwrap();
    assert!(tx.bind_circle(&member("alice"), "!alice:example.org", now()).await.unwrap());
    assert!(
        !tx.bind_circle(&member("alice"), "!other:example.org", now()).await.unwrap(),
        "one circle per owner"
    );
    let first = tx.next_record_id().await.unwrap();
    let records = [
        record(first, Kind::Intention, "bob", "alice", 10_000, State::Active, now()),
        record(first + 1, Kind::Obligation, "carol", "alice", 2_550, State::Open, now()),
        record(first + 2, Kind::Obligation, "bob", "alice", 1_000, State::Fulfilled, now()),
        record(
            first + 3,
            Kind::Obligation,
            "bob",
            "alice",
            700,
            State::Fulfilled,
            now() - Duration::days(40),
        ),
    ];
    for r in &records {
        tx.insert_record(r).await.unwrap();
    }
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.record_for_update(first + 1).await.unwrap().as_ref(), Some(&records[1]));
    let mut paid = records[1].clone();
    paid.state = State::Paid;
    tx.update_record(&paid).await.unwrap();
    let since = now() - Duration::days(1);
    let circle: Vec<i64> = tx
        .circle_records("!alice:example.org", since, None)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(circle, vec![first, first + 1, first + 2], "open ones and those closed this cycle");
    let (given, received) = tx.cycle_totals(&member("bob"), since).await.unwrap();
    assert_eq!(
        (given.intentions.cents(), given.obligations.cents(), given.fulfilled.cents()),
        (10_000, 0, 1_000)
    );
    assert_eq!(received.intentions.cents(), 0);
    let (_, received) = tx.cycle_totals(&member("alice"), since).await.unwrap();
    assert_eq!(
        (received.intentions.cents(), received.obligations.cents(), received.fulfilled.cents()),
        (10_000, 2_550, 1_000)
    );
    let open: Vec<i64> =
        tx.member_records(&member("bob"), true, 10).await.unwrap().iter().map(|r| r.id).collect();
    assert_eq!(open, vec![first]);
    let closed: Vec<i64> =
        tx.member_records(&member("bob"), false, 10).await.unwrap().iter().map(|r| r.id).collect();
    assert_eq!(closed, vec![first + 3, first + 2], "newest first");
    tx.commit().await.unwrap();
    assert_eq!(store.record_room(first).await.unwrap().as_deref(), Some("!alice:example.org"));
    assert_eq!(store.circle_owner_of("!alice:example.org").await.unwrap(), Some(member("alice")));
}

async fn network_supports_follow_the_relations(store: &Store) {
    // bob → me (active), me → dave (open), erin → bob (fulfilled this cycle), zed → bob (fulfilled
    // long ago: no longer a relation), frank → zed (unrelated to me), gina → dave (withdrawn).
    let mut tx = store.begin().await.unwrap();
    let old = now() - Duration::days(200);
    let rows = [
        record(1, Kind::Intention, "bob", "me", 100, State::Active, now()),
        record(2, Kind::Obligation, "me", "dave", 100, State::Open, now()),
        record(3, Kind::Obligation, "erin", "bob", 100, State::Fulfilled, now()),
        record(4, Kind::Obligation, "zed", "bob", 100, State::Fulfilled, old),
        record(5, Kind::Obligation, "frank", "zed", 100, State::Open, now()),
        record(6, Kind::Intention, "gina", "dave", 100, State::Withdrawn, now()),
    ];
    for r in &rows {
        tx.insert_record(r).await.unwrap();
    }
    let mut dave = Profile::new(member("dave"));
    dave.need = Need::Orange { requested: Amount::from_cents(500).unwrap(), note: None };
    tx.save_profile(&Profile::new(member("dave")), &dave, now()).await.unwrap();
    tx.commit().await.unwrap();

    let supports =
        store.network_supports(&member("me"), now() - Duration::days(90), 100).await.unwrap();
    let pairs: Vec<(&str, &str)> =
        supports.iter().map(|s: &Support| (s.giver.as_str(), s.recipient.as_str())).collect();
    assert_eq!(
        pairs,
        vec![
            ("@bob:example.org", "@me:example.org"),
            ("@erin:example.org", "@bob:example.org"),
            ("@me:example.org", "@dave:example.org")
        ]
    );
    assert_eq!(supports[1].room_id, "!bob:example.org");
    let levels = store.levels(&[member("dave"), member("bob")]).await.unwrap();
    assert_eq!(levels.into_iter().collect::<Vec<_>>(), vec![(member("dave"), Level::Orange)]);
}

async fn a_job_slot_is_claimed_by_one_runner(store: &Store) {
    let slot = now() - Duration::hours(1);
    let lease = Duration::minutes(10);
    assert_eq!(store.last_job_slot("rollover").await.unwrap(), None);
    // Two runners at once: one wins.
    let (a, b) = tokio::join!(
        store.claim_job_run("rollover", slot, "a", now(), lease),
        store.claim_job_run("rollover", slot, "b", now(), lease)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a ^ b, "exactly one runner claims the slot: a={a} b={b}");
    let (winner, loser) = if a { ("a", "b") } else { ("b", "a") };
    // While the lease holds nobody else takes it; the loser cannot finish it.
    assert!(
        !store
            .claim_job_run("rollover", slot, loser, now() + Duration::minutes(5), lease)
            .await
            .unwrap()
    );
    assert!(!store.finish_job_run("rollover", slot, loser, "x", now()).await.unwrap());
    // The winner died: after its lease the run is taken over, and the late winner's finish is refused.
    let later = now() + Duration::minutes(11);
    assert!(store.claim_job_run("rollover", slot, loser, later, lease).await.unwrap());
    assert!(!store.finish_job_run("rollover", slot, winner, "late", later).await.unwrap());
    assert!(store.finish_job_run("rollover", slot, loser, "3 expired", later).await.unwrap());
    // Finished: never claimed again, even long after.
    assert!(
        !store
            .claim_job_run("rollover", slot, winner, now() + Duration::days(40), lease)
            .await
            .unwrap()
    );
    assert_eq!(store.last_job_slot("rollover").await.unwrap(), Some(slot));
    assert!(store.claim_job_run("deadlines", slot, "a", now(), lease).await.unwrap());
    let runs = store.last_job_runs().await.unwrap();
    assert_eq!(
        runs.iter().map(|r| (r.job.as_str(), r.finished.is_some())).collect::<Vec<_>>(),
        vec![("deadlines", false), ("rollover", true)]
    );
    assert_eq!(runs[1].summary.as_deref(), Some("3 expired"));
    // A failed run gives its claim up: the next look claims it again at once.
    store.abandon_job_run("deadlines", slot, "a").await.unwrap();
    assert!(
        store
            .claim_job_run("deadlines", slot, "b", now() + Duration::seconds(1), lease)
            .await
            .unwrap()
    );
    // An admin's run, even as of a time far ahead, is shown but is no scheduled slot.
    let ahead = now() + Duration::days(60);
    store
        .record_manual_run("rollover", ahead, "@admin:example.org", now(), now(), "expired 0")
        .await
        .unwrap();
    assert_eq!(store.last_job_slot("rollover").await.unwrap(), Some(slot));
    let runs = store.last_job_runs().await.unwrap();
    let shown: Vec<_> =
        runs.iter().map(|r| (r.job.as_str(), r.manual, r.slot, r.runner.as_str())).collect();
    assert_eq!(
        shown,
        vec![
            ("deadlines", false, slot, "b"),
            ("rollover", false, slot, loser),
            ("rollover", true, ahead, "@admin:example.org")
        ]
    );
    let counts = store.counts().await.unwrap();
    assert_eq!(counts.iter().find(|(name, _)| *name == "records"), Some(&("records", 0)));
}

async fn many_messages_enqueued_at_once_keep_their_order(store: &Store) {
    // More than one statement's worth, with a DM, a tag and a duplicate among them.
    let mut messages: Vec<OutboxMessage> =
        (0..230).map(|i| message(&format!("m{i:03}"), Target::Room("!r:x".into()))).collect();
    messages[7].target = Target::Dm(member("dave"));
    messages[8].tag = Some(Tag::Paid(8));
    messages.push(message("m000", Target::Room("!r:x".into())));
    let mut tx = store.begin().await.unwrap();
    tx.enqueue_all(&messages, now()).await.unwrap();
    tx.enqueue_all(&[] as &[OutboxMessage], now()).await.unwrap();
    tx.commit().await.unwrap();
    let pending = store.pending_outbox(1000).await.unwrap();
    let txns: Vec<String> = pending.iter().map(|p| p.message.txn_id.clone()).collect();
    let expected: Vec<String> = (0..230).map(|i| format!("m{i:03}")).collect();
    assert_eq!(txns, expected, "one row per transaction ID, in order");
    assert_eq!(pending[7].message.target, Target::Dm(member("dave")));
    assert_eq!(pending[8].message.tag, Some(Tag::Paid(8)));
    assert_eq!(pending[229].message.content["body"], "m229");
}

async fn a_group_claims_only_new_events_once(store: &Store) {
    let mut tx = store.begin().await.unwrap();
    assert!(tx.claim_event(&event("g1"), Outcome::Applied, now()).await.unwrap());
    tx.commit().await.unwrap();
    let (g1, g2, g3) = (event("g1"), event("g2"), event("g3"));
    let mut tx = store.begin().await.unwrap();
    // g1 was decided before; g2 appears twice in the group: claimed once.
    let claims = [
        (&g1, Outcome::Applied),
        (&g2, Outcome::Applied),
        (&g3, Outcome::Ignored),
        (&g2, Outcome::Ignored),
    ];
    let claimed = tx.claim_events(&claims, now()).await.unwrap();
    assert_eq!(claimed.into_iter().collect::<Vec<_>>(), vec!["$g2".to_owned(), "$g3".to_owned()]);
    tx.commit().await.unwrap();
    assert_eq!(store.processed_count().await.unwrap(), 3);
    let mut tx = store.begin().await.unwrap();
    assert!(
        tx.claim_events(&claims, now()).await.unwrap().is_empty(),
        "a replayed group claims nothing"
    );
    tx.rollback().await.unwrap();
    // Many events: more than one statement's worth.
    let many: Vec<EventRef> = (0..1_234).map(|n| event(&format!("many-{n}"))).collect();
    let claims: Vec<(&EventRef, Outcome)> = many.iter().map(|e| (e, Outcome::Applied)).collect();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.claim_events(&claims, now()).await.unwrap().len(), 1_234);
    tx.commit().await.unwrap();
    assert_eq!(store.processed_count().await.unwrap(), 3 + 1_234);
}

async fn a_group_moves_each_cursor_to_its_last_event(store: &Store) {
    let cursor = |id: &str, ts| Cursor { event_id: id.into(), origin_ts: ts };
    let mut tx = store.begin().await.unwrap();
    tx.set_cursors(
        &[("!a:x", cursor("$a1", 1)), ("!b:x", cursor("$b1", 2)), ("!a:x", cursor("$a2", 3))],
        now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.cursor("!a:x").await.unwrap(), Some(cursor("$a2", 3)));
    assert_eq!(store.cursor("!b:x").await.unwrap(), Some(cursor("$b1", 2)));
    let mut tx = store.begin().await.unwrap();
    tx.set_cursors(&[("!b:x", cursor("$b2", 4))], now()).await.unwrap();
    drop(tx); // rolled back
    assert_eq!(store.cursor("!b:x").await.unwrap(), Some(cursor("$b1", 2)));
}

async fn a_group_writes_its_profiles_at_commit_and_sees_them_before(store: &Store) {
    let (alice, bob, carol) = (member("alice"), member("bob"), member("carol"));
    // Carol has a profile with a payment method before the group.
    let mut tx = store.begin().await.unwrap();
    let before = tx.profile_for_update(&carol).await.unwrap();
    let mut c = before.clone();
    c.payment =
        vec![PaymentMethod { label: "bank".into(), details: "IBAN-1".into(), is_default: true }];
    tx.save_profile(&before, &c, now()).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    tx.preload(&[alice.clone(), bob.clone(), carol.clone(), alice.clone()], &[], Some(now()))
        .await
        .unwrap();
    // Alice changes twice; the second decision sees the first.
    let a0 = tx.profile_for_update(&alice).await.unwrap();
    let mut a1 = a0.clone();
    a1.need =
        Need::Orange { requested: Amount::from_stored_cents(30_000), note: Some("rent".into()) };
    tx.save_profile(&a0, &a1, now()).await.unwrap();
    assert_eq!(tx.profile_for_update(&alice).await.unwrap(), a1);
    let mut a2 = a1.clone();
    a2.lang = Some(Lang::Ru);
    a2.payment =
        vec![PaymentMethod { label: "cash".into(), details: "in person".into(), is_default: true }];
    tx.save_profile(&a1, &a2, now()).await.unwrap();
    // Bob is erased after a change; Carol's method is removed.
    let b0 = tx.profile_for_update(&bob).await.unwrap();
    let mut b1 = b0.clone();
    b1.about = Some("gone soon".into());
    tx.save_profile(&b0, &b1, now()).await.unwrap();
    tx.erase_member(&bob).await.unwrap();
    assert_eq!(tx.find_profile(&bob, false).await.unwrap(), None);
    let c0 = tx.profile_for_update(&carol).await.unwrap();
    assert_eq!(c0, c);
    let mut c1 = c0.clone();
    c1.payment.clear();
    tx.save_profile(&c0, &c1, now()).await.unwrap();
    // Nothing is written until the commit: another connection still sees the old state.
    let other = store.reconnect().await.unwrap();
    assert_eq!(other.profile(&alice).await.unwrap(), None);
    other.close().await;
    tx.commit().await.unwrap();
    assert_eq!(store.profile(&alice).await.unwrap(), Some(a2));
    assert_eq!(store.profile(&bob).await.unwrap(), None);
    assert_eq!(store.profile(&carol).await.unwrap(), Some(c1));

    // A group that is rolled back writes nothing.
    let mut tx = store.begin().await.unwrap();
    tx.preload(std::slice::from_ref(&carol), &[], None).await.unwrap();
    let c2 = tx.profile_for_update(&carol).await.unwrap();
    let mut c3 = c2.clone();
    c3.about = Some("never".into());
    tx.save_profile(&c2, &c3, now()).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(store.profile(&carol).await.unwrap(), Some(c2));
}

async fn preloaded_totals_match_one_by_one_and_follow_writes(store: &Store) {
    let since = now() - Duration::days(1);
    let mut tx = store.begin().await.unwrap();
    let first = tx.next_record_id().await.unwrap();
    let records = [
        record(first, Kind::Intention, "bob", "alice", 10_000, State::Active, now()),
        record(first + 1, Kind::Obligation, "carol", "alice", 2_550, State::Open, now()),
        record(first + 2, Kind::Obligation, "alice", "bob", 1_000, State::Fulfilled, now()),
        record(
            first + 3,
            Kind::Obligation,
            "bob",
            "carol",
            700,
            State::Fulfilled,
            now() - Duration::days(40),
        ),
    ];
    for r in &records {
        tx.insert_record(r).await.unwrap();
    }
    tx.commit().await.unwrap();
    let people = [member("alice"), member("bob"), member("carol"), member("dave")];
    let mut one_by_one = Vec::new();
    let mut tx = store.begin().await.unwrap();
    for m in &people {
        one_by_one.push(tx.cycle_totals(m, since).await.unwrap());
    }
    tx.rollback().await.unwrap();
    assert_eq!(one_by_one[0].1.intentions.cents(), 10_000);
    assert_eq!(one_by_one[0].0.fulfilled.cents(), 1_000);
    assert_eq!(one_by_one[3], Default::default());

    let mut tx = store.begin().await.unwrap();
    tx.preload(&people, &["!dave:example.org".to_owned()], Some(since)).await.unwrap();
    for (m, expected) in people.iter().zip(&one_by_one) {
        assert_eq!(&tx.cycle_totals(m, since).await.unwrap(), expected, "{m}");
    }
    tx.preload_intentions_for(&people).await.unwrap();
    tx.preload_supports(&people, since).await.unwrap();
    let open_for_alice: Vec<i64> =
        tx.active_intentions_for(&member("alice")).await.unwrap().iter().map(|r| r.id).collect();
    assert_eq!(open_for_alice, vec![first]);
    let pairs = |supports: Vec<Support>| -> Vec<(String, String)> {
        supports
            .into_iter()
            .map(|s| (s.giver.as_str().to_owned(), s.recipient.as_str().to_owned()))
            .collect()
    };
    let before = pairs(tx.network_supports(&member("dave"), since, 10).await.unwrap());
    assert!(before.is_empty(), "dave has no relations: {before:?}");
    let before = pairs(tx.network_supports(&member("alice"), since, 10).await.unwrap());
    assert!(
        before.contains(&("@bob:example.org".into(), "@alice:example.org".into())),
        "{before:?}"
    );
    // A record written in the transaction shows in everything read after it.
    let mut withdrawn = records[0].clone();
    withdrawn.state = State::Withdrawn;
    tx.update_record(&withdrawn).await.unwrap();
    assert_eq!(tx.cycle_totals(&member("alice"), since).await.unwrap().1.intentions.cents(), 0);
    assert_eq!(tx.cycle_totals(&member("bob"), since).await.unwrap().0.intentions.cents(), 0);
    assert!(tx.active_intentions_for(&member("alice")).await.unwrap().is_empty());
    let after = pairs(tx.network_supports(&member("alice"), since, 10).await.unwrap());
    assert!(
        !after.contains(&("@bob:example.org".into(), "@alice:example.org".into())),
        "{after:?}"
    );
    assert!(
        after.contains(&("@carol:example.org".into(), "@alice:example.org".into())),
        "{after:?}"
    );
    // Circle rooms read in the group follow a binding made in it.
    assert_eq!(tx.circle_room_of(&member("dave")).await.unwrap(), None);
    assert_eq!(tx.circle_owner_of("!dave:example.org").await.unwrap(), None);
    assert!(tx.bind_circle(&member("dave"), "!dave:example.org", now()).await.unwrap());
    assert_eq!(
        tx.circle_room_of(&member("dave")).await.unwrap().as_deref(),
        Some("!dave:example.org")
    );
    assert_eq!(tx.circle_owner_of("!dave:example.org").await.unwrap(), Some(member("dave")));
    tx.commit().await.unwrap();
    let rooms = store.circle_rooms_of(&people).await.unwrap();
    assert_eq!(
        rooms.into_iter().collect::<Vec<_>>(),
        vec![(member("dave"), "!dave:example.org".to_owned())]
    );
}

/// PostgreSQL that refuses connections (nothing listens on the port) is reported as unavailable
/// on the first try, not after the pool's 30 s of retries: the bot logs that it waits, at once.
#[tokio::test]
async fn a_postgres_that_refuses_connections_is_unavailable_at_once() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let started = std::time::Instant::now();
    let err = match Store::connect(&format!("postgres://exodus@127.0.0.1:{port}/exodus")).await {
        Ok(_) => panic!("connected to a closed port"),
        Err(e) => e,
    };
    assert!(err.is_unavailable(), "{err}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "the first try took {:?}",
        started.elapsed()
    );
}

/// SQLite only: the WAL is copied into the database file by the store's own checkpointer, not by
/// the committing writer, and stays bounded under a steady stream of writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_wal_is_checkpointed_in_the_background_and_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("exodus.db");
    let wal = dir.path().join("exodus.db-wal");
    let store = Store::connect(&format!("sqlite://{}", db.display())).await.unwrap();
    let body = "x".repeat(4000);
    let sizes = || {
        (
            std::fs::metadata(&db).unwrap().len(),
            std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0),
        )
    };
    let mut largest_wal = 0;
    let mut written = 0;
    // Transactions of 50 replies of ~4 KiB, ~200 KiB each.
    let mut write = async |transactions: usize, largest_wal: &mut u64| {
        for _ in 0..transactions {
            let mut tx = store.begin().await.unwrap();
            let batch: Vec<OutboxMessage> = (0..50)
                .map(|i| OutboxMessage {
                    txn_id: format!("t{written}-{i}"),
                    target: Target::Room("!r:x".into()),
                    event_type: "m.room.message".into(),
                    content: serde_json::json!({ "body": body }),
                    tag: None,
                    priority: exodus_storage::Priority::Notice,
                })
                .collect();
            written += 1;
            tx.enqueue_all(&batch, now()).await.unwrap();
            tx.commit().await.unwrap();
            *largest_wal = (*largest_wal).max(sizes().1);
        }
    };
    // ~48 MiB, below the writer's own checkpoint (16,384 pages, 64 MiB): within a few rounds of
    // the checkpointer (every 100 ms) the pages are in the database file.
    write(240, &mut largest_wal).await;
    let mut copied = sizes();
    for _ in 0..50 {
        if copied.0 > 40 << 20 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        copied = sizes();
    }
    assert!(
        copied.0 > 40 << 20,
        "the background checkpointer copied the log into the database: {copied:?}"
    );
    // ~200 MiB more without a pause: the log restarts instead of growing with the writes. The
    // writer's own checkpoint past 64 MiB is skipped while the background one runs (which, on a
    // busy disk, took seconds: 110 MB seen in CI); a write transaction that finds the log past
    // 80 MiB waits for a checkpoint of all of it first, so it exceeds that by one transaction at
    // most, however slow the disk.
    write(1000, &mut largest_wal).await;
    assert!(
        largest_wal <= (80 << 20) + (1 << 20),
        "the WAL stays within its 80 MiB bound: {largest_wal} bytes"
    );
    assert!(sizes().0 > 200 << 20, "{:?}", sizes());
    assert_eq!(store.pending_outbox(i64::MAX).await.unwrap().len(), 1240 * 50);
    store.close().await;
}

/// Inserts `records`, numbered as the bot numbers them (PostgreSQL: from the sequence the
/// renewals use too), and commits.
async fn insert_numbered(mut tx: exodus_storage::Tx, records: &[Record]) {
    for r in records {
        assert_eq!(tx.next_record_id().await.unwrap(), r.id);
        tx.insert_record(r).await.unwrap();
    }
    tx.commit().await.unwrap();
}

async fn set_need(tx: &mut exodus_storage::Tx, name: &str, need: Need, at: DateTime<Utc>) {
    let before = tx.profile_for_update(&member(name)).await.unwrap();
    let after = Profile { need, ..before.clone() };
    tx.save_profile(&before, &after, at).await.unwrap();
}

async fn rollover_expires_renews_and_marks_overdue_once(store: &Store) {
    use exodus_commands::cycle::{Marked, Marking};
    let cycle_start = now();
    let previous = cycle_start - Duration::days(30);
    let run_at = cycle_start + Duration::minutes(1);
    let mut tx = store.begin().await.unwrap();
    for owner in ["alice", "dave"] {
        assert!(
            tx.bind_circle(&member(owner), &format!("!{owner}:example.org"), previous)
                .await
                .unwrap()
        );
    }
    set_need(
        &mut tx,
        "alice",
        Need::Orange { requested: Amount::from_cents(30_000).unwrap(), note: None },
        previous,
    )
    .await;
    let mut records = vec![
        // Never committed in the past cycle: expires.
        record(
            1,
            Kind::Intention,
            "bob",
            "alice",
            1_000,
            State::Active,
            previous + Duration::days(1),
        ),
        // Made in the new cycle: stays.
        record(
            2,
            Kind::Intention,
            "carol",
            "alice",
            2_000,
            State::Active,
            cycle_start + Duration::seconds(30),
        ),
        // Fulfilled in the past cycle, owner orange: renews as an intention.
        record(
            3,
            Kind::Obligation,
            "bob",
            "alice",
            3_000,
            State::Fulfilled,
            previous + Duration::days(5),
        ),
        // Fulfilled in the past cycle, owner green: does not.
        record(
            4,
            Kind::Obligation,
            "carol",
            "dave",
            4_000,
            State::Fulfilled,
            previous + Duration::days(5),
        ),
        // Open and past due: overdue.
        record(
            5,
            Kind::Obligation,
            "bob",
            "alice",
            5_000,
            State::Open,
            previous + Duration::days(2),
        ),
        // Paid, not yet confirmed, due later: nothing yet.
        record(
            6,
            Kind::Obligation,
            "carol",
            "alice",
            6_000,
            State::Paid,
            previous + Duration::days(2),
        ),
        // Fulfilled two cycles ago: not renewed again.
        record(
            7,
            Kind::Obligation,
            "carol",
            "alice",
            7_000,
            State::Fulfilled,
            previous - Duration::days(1),
        ),
    ];
    records[4].due = Some(cycle_start - Duration::days(1));
    records[5].due = Some(cycle_start + Duration::days(10));
    insert_numbered(tx, &records).await;

    // A rollover that does not commit (a crash halfway) leaves everything as it was.
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.rollover(previous, cycle_start, run_at).await.unwrap().len(), 3);
    tx.rollback().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    let changes = tx.rollover(previous, cycle_start, run_at).await.unwrap();
    tx.commit().await.unwrap();
    let renewal =
        changes.iter().find(|c| matches!(c.marked, Marked::Renewed { .. })).map(|c| c.id).unwrap();
    assert!(renewal > 7, "a new record: {changes:?}");
    let change = |marked, id, giver: &str, recipient: &str, cents, due| Marking {
        marked,
        id,
        giver: member(giver),
        recipient: member(recipient),
        amount: Amount::from_cents(cents).unwrap(),
        due,
    };
    assert_eq!(
        changes,
        [
            change(Marked::Expired, 1, "bob", "alice", 1_000, None),
            change(Marked::Renewed { from: 3 }, renewal, "bob", "alice", 3_000, None),
            change(
                Marked::Overdue,
                5,
                "bob",
                "alice",
                5_000,
                Some(cycle_start - Duration::days(1))
            ),
        ]
    );
    let mut tx = store.begin().await.unwrap();
    let expired = tx.record_for_update(1).await.unwrap().unwrap();
    assert_eq!((expired.state, expired.changed_at), (State::Expired, run_at));
    assert_eq!(tx.record_for_update(2).await.unwrap().unwrap().state, State::Active);
    let renewed = tx.record_for_update(renewal).await.unwrap().unwrap();
    assert_eq!(
        (renewed.kind, renewed.state, renewed.amount.cents(), renewed.room_id.as_str()),
        (Kind::Intention, State::Active, 3_000, "!alice:example.org")
    );
    assert_eq!(renewed.created_at, run_at);
    assert!(tx.record_for_update(5).await.unwrap().unwrap().overdue);
    assert!(!tx.record_for_update(6).await.unwrap().unwrap().overdue);
    // The same cycle again, even later: nothing more.
    assert_eq!(tx.rollover(previous, cycle_start, run_at + Duration::hours(1)).await.unwrap(), []);
    tx.commit().await.unwrap();

    // The run's expiry covers the records there were when it ran: one written after it, dated
    // before the cycle began (as after an admin's run as of a later time), stays active.
    let mut tx = store.begin().await.unwrap();
    let mut late = record(
        0,
        Kind::Intention,
        "carol",
        "alice",
        900,
        State::Active,
        previous + Duration::days(3),
    );
    late.id = tx.next_record_id().await.unwrap();
    tx.insert_record(&late).await.unwrap();
    let read_all = async |tx: &mut exodus_storage::Tx| {
        let mut all = Vec::new();
        // (PostgreSQL's numbers have gaps: the rolled-back run took some.)
        for id in 1..=late.id {
            all.extend(tx.record_for_update(id).await.unwrap());
        }
        all
    };
    // An intention that existed at the run, committed after it (due before the run's time, as
    // after an admin's run as of a later time): the run's overdue mark does not apply to it.
    let mut committed = tx.record_for_update(renewal).await.unwrap().unwrap();
    (committed.kind, committed.state, committed.due) =
        (Kind::Obligation, State::Open, Some(cycle_start - Duration::days(2)));
    tx.update_record(&committed).await.unwrap();
    assert!(
        !tx.record_for_update(renewal).await.unwrap().unwrap().overdue,
        "overdue by a mark made before it was an obligation"
    );
    let before = read_all(&mut tx).await;
    assert_eq!(before.last().map(|r| (r.id, r.state)), Some((late.id, State::Active)));
    // Writing what the marks decided into the records (a slice at a time) changes nothing read.
    assert_eq!(tx.settle_marks(1).await.unwrap(), 2, "the expired #1 and the overdue #5");
    assert_eq!(tx.settle_marks(100).await.unwrap(), 0);
    assert_eq!(read_all(&mut tx).await, before);
    tx.commit().await.unwrap();
}

async fn deadlines_and_reminders_find_what_is_due(store: &Store) {
    use exodus_commands::cycle::Marked;
    use exodus_commands::profile::Settled;
    use exodus_storage::Reminding;
    let t0 = now();
    let deadline = t0 + Duration::days(5);
    let mut tx = store.begin().await.unwrap();
    for owner in ["alice", "dave"] {
        assert!(
            tx.bind_circle(&member(owner), &format!("!{owner}:example.org"), t0).await.unwrap()
        );
    }
    // Alice collects in an emergency until `deadline`; Dave is orange.
    set_need(
        &mut tx,
        "alice",
        Need::Red {
            requested: Amount::from_cents(50_000).unwrap(),
            deadline,
            note: None,
            previous: Settled::Green,
        },
        t0,
    )
    .await;
    set_need(
        &mut tx,
        "dave",
        Need::Orange { requested: Amount::from_cents(10_000).unwrap(), note: None },
        t0,
    )
    .await;
    let mut records = vec![
        record(1, Kind::Obligation, "bob", "alice", 1_000, State::Open, t0),
        record(2, Kind::Obligation, "carol", "alice", 2_000, State::Paid, t0),
        record(3, Kind::Obligation, "bob", "dave", 3_000, State::Open, t0),
        record(4, Kind::Obligation, "carol", "dave", 4_000, State::Paid, t0),
        record(5, Kind::Obligation, "carol", "dave", 5_000, State::Fulfilled, t0),
        record(6, Kind::Intention, "bob", "dave", 6_000, State::Active, t0),
    ];
    for r in &mut records[..2] {
        r.due = Some(deadline);
    }
    insert_numbered(tx, &records).await;

    let mut tx = store.begin().await.unwrap();
    let seen = |m: Vec<exodus_commands::cycle::Marking>| {
        m.into_iter().map(|m| (m.marked, m.id)).collect::<Vec<_>>()
    };
    // Daily: Alice's running collection; at month end: the rest, never the same one twice.
    assert_eq!(
        seen(tx.reminders(Reminding::RedCollections, t0).await.unwrap()),
        [(Marked::Due, 1), (Marked::Unconfirmed, 2)]
    );
    assert_eq!(
        seen(tx.reminders(Reminding::MonthEnd, t0).await.unwrap()),
        [(Marked::Due, 3), (Marked::Unconfirmed, 4)]
    );
    // Nothing is past its deadline yet.
    assert_eq!(tx.red_past_deadline(t0).await.unwrap(), []);
    assert_eq!(tx.mark_overdue(t0).await.unwrap(), []);
    // After the deadline: Alice's collection has ended, and its obligations are overdue, once.
    let after = deadline + Duration::minutes(1);
    assert_eq!(tx.red_past_deadline(after).await.unwrap(), [member("alice")]);
    assert_eq!(
        tx.reminders(Reminding::RedCollections, after).await.unwrap(),
        [],
        "a collection past its deadline is not reminded daily"
    );
    assert_eq!(
        seen(tx.reminders(Reminding::MonthEnd, after).await.unwrap()).len(),
        4,
        "but with the others at month end"
    );
    assert_eq!(
        seen(tx.mark_overdue(after).await.unwrap()),
        [(Marked::Overdue, 1), (Marked::Overdue, 2)]
    );
    assert_eq!(tx.mark_overdue(after + Duration::hours(1)).await.unwrap(), []);
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert!(tx.record_for_update(1).await.unwrap().unwrap().overdue);
    assert!(!tx.record_for_update(3).await.unwrap().unwrap().overdue);
    tx.rollback().await.unwrap();
}

async fn reliability_counts_follow_the_givers_obligations(store: &Store) {
    let t0 = now();
    let mut tx = store.begin().await.unwrap();
    assert!(tx.bind_circle(&member("alice"), "!alice:example.org", t0).await.unwrap());
    let mut records = vec![
        record(
            1,
            Kind::Obligation,
            "bob",
            "alice",
            1_000,
            State::Fulfilled,
            t0 - Duration::days(90),
        ),
        record(2, Kind::Obligation, "bob", "alice", 2_000, State::Fulfilled, t0),
        record(3, Kind::Obligation, "bob", "alice", 3_000, State::Open, t0),
        record(4, Kind::Obligation, "bob", "alice", 4_000, State::Forgiven, t0),
        record(5, Kind::Obligation, "bob", "alice", 5_000, State::Cleared, t0),
        record(6, Kind::Intention, "bob", "alice", 6_000, State::Active, t0),
        // Someone else's: not Bob's figures.
        record(7, Kind::Obligation, "carol", "alice", 7_000, State::Fulfilled, t0),
    ];
    // #2 was fulfilled late, #3 is late and still open.
    records[1].overdue = true;
    records[2].overdue = true;
    insert_numbered(tx, &records).await;
    let mut tx = store.begin().await.unwrap();
    let bob = tx.reliability(&member("bob"), t0 - Duration::days(10)).await.unwrap();
    assert_eq!((bob.fulfilled, bob.overdue, bob.forgiven), (3, 2, 1));
    let carol = tx.reliability(&member("carol"), t0).await.unwrap();
    assert_eq!((carol.fulfilled, carol.overdue, carol.forgiven), (1, 0, 0));
    assert_eq!(
        tx.reliability(&member("alice"), t0).await.unwrap(),
        Default::default(),
        "a recipient's figures are not hers"
    );
    // Preloaded with the group's totals, the same figures.
    tx.preload(&[member("bob")], &[], Some(t0 - Duration::days(10))).await.unwrap();
    assert_eq!(tx.reliability(&member("bob"), t0 - Duration::days(10)).await.unwrap(), bob);
    tx.rollback().await.unwrap();
}

async fn a_lease_has_one_holder_until_it_passes(store: &Store) {
    let ttl = Duration::seconds(30);
    assert!(store.hold_lease("outbox", "a", now(), ttl).await.unwrap());
    assert!(!store.hold_lease("outbox", "b", now() + Duration::seconds(10), ttl).await.unwrap());
    // The holder renews it; the other still waits.
    assert!(store.hold_lease("outbox", "a", now() + Duration::seconds(20), ttl).await.unwrap());
    assert!(!store.hold_lease("outbox", "b", now() + Duration::seconds(40), ttl).await.unwrap());
    // A holder that stops renewing loses it once it has passed.
    assert!(store.hold_lease("outbox", "b", now() + Duration::seconds(51), ttl).await.unwrap());
    assert!(!store.hold_lease("outbox", "a", now() + Duration::seconds(52), ttl).await.unwrap());
    // Given up: the other takes it at once.
    store.release_lease("outbox", "b").await.unwrap();
    assert!(store.hold_lease("outbox", "a", now() + Duration::seconds(53), ttl).await.unwrap());
    store.release_lease("outbox", "b").await.unwrap();
    assert!(
        !store.hold_lease("outbox", "b", now() + Duration::seconds(54), ttl).await.unwrap(),
        "only the holder releases it"
    );
}

async fn pools_keep_rules_pledges_claims_and_ballots(store: &Store) {
    use exodus_commands::pool::{Ballot, Claim, ClaimState, Rules, Verdict, Vote};
    const ROOM: &str = "!pool:example.org";
    let start = now() - Duration::days(1);
    let cents = |c: i64| Amount::from_cents(c).unwrap();
    let mut tx = store.begin().await.unwrap();
    let rules = Rules::default()
        .with("renew", "manual")
        .unwrap()
        .with("max_claim", "500")
        .unwrap()
        .with("quorum", "0.75")
        .unwrap();
    assert!(tx.create_pool(ROOM, "Neighbours", &member("alice"), &rules, now()).await.unwrap());
    assert!(
        !tx.create_pool(ROOM, "Again", &member("bob"), &Rules::default(), now()).await.unwrap(),
        "one pool per room"
    );
    tx.set_pledge(ROOM, &member("alice"), Some(cents(10_000)), start, now()).await.unwrap();
    tx.set_pledge(ROOM, &member("bob"), Some(cents(5_000)), start, now()).await.unwrap();
    tx.set_pledge(ROOM, &member("bob"), Some(cents(7_000)), start, now()).await.unwrap();
    tx.set_pledge(ROOM, &member("carol"), Some(cents(1_000)), start, now()).await.unwrap();
    tx.set_pledge(ROOM, &member("carol"), None, start, now()).await.unwrap();
    let id = tx.next_claim_id().await.unwrap();
    let claim = Claim {
        id,
        room_id: ROOM.into(),
        claimant: member("alice"),
        event: "fire".into(),
        amount: cents(3_000),
        description: "kitchen".into(),
        state: ClaimState::Voting,
        verdict: None,
        covered: None,
        opened: now(),
        closes: now() + Duration::hours(24),
        decided: None,
    };
    tx.insert_claim(&claim).await.unwrap();
    let ballot = |source: &str, vote: Option<Vote>, retracts: Option<&str>| Ballot {
        voter: member("bob"),
        vote,
        source: source.into(),
        retracts: retracts.map(str::to_owned),
        at: now(),
    };
    assert!(tx.insert_ballot(id, &ballot("$up", Some(Vote::Yes), None)).await.unwrap());
    assert!(
        !tx.insert_ballot(id, &ballot("$up", Some(Vote::No), None)).await.unwrap(),
        "one ballot per source event"
    );
    assert!(tx.insert_ballot(id, &ballot("$redaction", None, Some("$up"))).await.unwrap());
    tx.commit().await.unwrap();

    assert!(store.is_pool(ROOM).await.unwrap());
    assert_eq!(store.claim_room(id).await.unwrap().as_deref(), Some(ROOM));
    assert_eq!(store.ballot_of("$up").await.unwrap(), Some((id, member("bob"))));
    assert_eq!(store.ballot_of("$redaction").await.unwrap(), None, "a retraction casts no vote");
    let mut tx = store.begin().await.unwrap();
    let pool = tx.pool(ROOM, start).await.unwrap().unwrap();
    assert_eq!(pool.rules, rules);
    assert_eq!(
        pool.pledges.into_iter().collect::<Vec<_>>(),
        vec![(member("alice"), cents(10_000)), (member("bob"), cents(7_000))]
    );
    assert_eq!(pool.voting.len(), 1);
    assert_eq!(pool.voting[0].0, claim);
    assert_eq!(
        pool.voting[0].1.iter().map(|b| b.source.as_str()).collect::<Vec<_>>(),
        vec!["$up", "$redaction"]
    );
    assert_eq!(tx.claims_to_close(now()).await.unwrap(), vec![]);
    assert_eq!(tx.claims_to_close(claim.closes).await.unwrap(), vec![(id, ROOM.to_owned())]);
    let decided = Claim {
        state: ClaimState::Approved,
        verdict: Some(Verdict::Approved),
        covered: Some(cents(3_000)),
        decided: Some(claim.closes),
        ..claim.clone()
    };
    assert!(tx.decide_claim(&decided).await.unwrap());
    assert!(!tx.decide_claim(&decided).await.unwrap(), "a claim is decided once");
    assert_eq!(tx.claim_for_update(id).await.unwrap(), Some(decided));
    // A pool obligation this cycle is charged against the pledge; overdue, it excludes its giver.
    let mut owed = record(0, Kind::Obligation, "bob", "alice", 2_000, State::Open, now());
    owed.room_id = ROOM.into();
    owed.id = tx.next_record_id().await.unwrap();
    tx.insert_record(&owed).await.unwrap();
    let pool = tx.pool(ROOM, start).await.unwrap().unwrap();
    assert_eq!(pool.charged.get(&member("bob")), Some(&cents(2_000)));
    // Reminded daily while open, and not again at the month's end.
    let reminded = tx.reminders(exodus_storage::Reminding::PoolObligations, now()).await.unwrap();
    assert_eq!(
        reminded.iter().map(|m| (m.id, m.giver.clone())).collect::<Vec<_>>(),
        vec![(owed.id, member("bob"))]
    );
    let monthly = tx.reminders(exodus_storage::Reminding::MonthEnd, now()).await.unwrap();
    assert!(monthly.iter().all(|m| m.id != owed.id), "{monthly:?}");
    assert!(pool.voting.is_empty());
    assert_eq!(tx.exclude_overdue_pool_members().await.unwrap(), vec![]);
    owed.overdue = true;
    tx.update_record(&owed).await.unwrap();
    let excluded = tx.exclude_overdue_pool_members().await.unwrap();
    assert_eq!(
        excluded.iter().map(|e| (e.member.clone(), e.pledge, e.name.as_str())).collect::<Vec<_>>(),
        vec![(member("bob"), cents(7_000), "Neighbours")]
    );
    assert_eq!(tx.exclude_overdue_pool_members().await.unwrap(), vec![], "excluded once");
    assert!(tx.pool(ROOM, start).await.unwrap().unwrap().overdue.contains(&member("bob")));
    // The rollover: a pool renewed by hand lets its pledges lapse; a second run finds none.
    let next = start + Duration::days(31);
    let (carried, lapsed) = tx.roll_pledges(next).await.unwrap();
    assert_eq!(
        (carried, lapsed.iter().map(|e| e.member.clone()).collect::<Vec<_>>()),
        (0, vec![member("alice")])
    );
    assert_eq!(tx.roll_pledges(next).await.unwrap(), (0, vec![]));
    tx.set_pledge(ROOM, &member("dave"), Some(cents(100)), start, now()).await.unwrap();
    assert_eq!(
        tx.end_pledge(ROOM, &member("dave")).await.unwrap().map(|e| e.pledge),
        Some(cents(100))
    );
    assert_eq!(tx.end_pledge(ROOM, &member("dave")).await.unwrap(), None);
    tx.commit().await.unwrap();
}

async fn initiatives_keep_backings_interest_and_cards(store: &Store) {
    use exodus_commands::initiative::{Initiative, InitiativeState};
    const ROOM: &str = "!town:example.org";
    let cents = |c: i64| Amount::from_cents(c).unwrap();
    let mut tx = store.begin().await.unwrap();
    let id = tx.next_initiative_id().await.unwrap();
    let initiative = Initiative {
        id,
        room_id: ROOM.into(),
        proposer: member("alice"),
        title: "tool library".into(),
        goal: cents(10_000),
        deadline: now() + Duration::days(10),
        state: InitiativeState::Active,
        created: now(),
        decided: None,
    };
    tx.create_initiative(&initiative, 10).await.unwrap();
    assert!(!tx.has_initiatives("!elsewhere:example.org").await.unwrap());
    assert!(tx.has_initiatives(ROOM).await.unwrap());
    let backing = |id: i64, giver: &str, c: i64| Record {
        id,
        kind: Kind::Intention,
        giver: member(giver),
        recipient: member("alice"),
        room_id: ROOM.into(),
        amount: cents(c),
        what: None,
        state: State::Active,
        overdue: false,
        created_at: now(),
        due: None,
        changed_at: now(),
    };
    let first = tx.next_record_id().await.unwrap();
    tx.insert_backing(id, &backing(first, "bob", 4_000)).await.unwrap();
    let second = tx.next_record_id().await.unwrap();
    tx.insert_backing(id, &backing(second, "carol", 2_000)).await.unwrap();
    // A circle intention for alice elsewhere: not the initiative's, and going green cancels
    // only such intentions, never a backing.
    let third = tx.next_record_id().await.unwrap();
    tx.insert_record(&Record {
        room_id: "!circle:example.org".into(),
        ..backing(third, "dave", 500)
    })
    .await
    .unwrap();
    assert_eq!(
        tx.active_intentions_for(&member("alice"))
            .await
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect::<Vec<_>>(),
        vec![third]
    );
    assert!(tx.add_interest(id, &member("bob"), "$up", now()).await.unwrap());
    assert!(
        !tx.add_interest(id, &member("bob"), "$up-again", now()).await.unwrap(),
        "one interest per member"
    );
    assert!(tx.add_interest(id, &member("carol"), "$up-carol", now()).await.unwrap());
    tx.commit().await.unwrap();

    assert_eq!(store.initiative_room(id).await.unwrap().as_deref(), Some(ROOM));
    assert_eq!(store.interest_of("$up").await.unwrap(), Some((id, member("bob"))));
    assert_eq!(store.interest_of("$up-again").await.unwrap(), None);
    let mut tx = store.begin().await.unwrap();
    let (facts, days) = tx.initiative_for_update(id).await.unwrap().unwrap();
    assert_eq!((facts.initiative.clone(), days, facts.interest), (initiative.clone(), 10, 2));
    assert_eq!(facts.backings.iter().map(|r| r.id).collect::<Vec<_>>(), vec![first, second]);
    assert_eq!(facts.backing(), cents(6_000));
    assert_eq!(tx.record_initiative(first).await.unwrap(), Some(id));
    assert_eq!(tx.record_initiative(third).await.unwrap(), None);
    assert_eq!(
        tx.active_backings_by(&member("bob"), ROOM)
            .await
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect::<Vec<_>>(),
        vec![first]
    );
    assert_eq!(tx.room_initiatives(ROOM).await.unwrap().len(), 1);
    assert_eq!(tx.active_initiatives().await.unwrap(), vec![(id, initiative.deadline, 10)]);
    tx.set_card_days(id, 3).await.unwrap();
    assert_eq!(tx.remove_interest("$up").await.unwrap(), Some(id));
    assert_eq!(tx.remove_interest("$up").await.unwrap(), None, "removed once");
    // A lapse: the backings cancelled at the decision time are what it shows afterwards.
    let at = initiative.deadline;
    for r in &facts.backings {
        tx.update_record(&Record { state: State::Cancelled, changed_at: at, ..r.clone() })
            .await
            .unwrap();
    }
    let lapsed =
        Initiative { state: InitiativeState::Lapsed, decided: Some(at), ..initiative.clone() };
    tx.save_initiative(&lapsed).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let (facts, days) = tx.initiative_for_update(id).await.unwrap().unwrap();
    assert_eq!((facts.initiative.clone(), days, facts.interest), (lapsed, 3, 1));
    assert_eq!(facts.backing(), cents(6_000), "the cancelled backings of its lapse");
    assert!(tx.active_initiatives().await.unwrap().is_empty());
    assert!(tx.room_initiatives(ROOM).await.unwrap().is_empty());
    tx.rollback().await.unwrap();
}

async fn clearing_selects_eligible_obligations_and_applies_a_run_once(store: &Store) {
    use exodus_commands::clearing::setoff;
    let cents = |c: i64| Amount::from_cents(c).unwrap();
    let obligation = |id: i64, giver: &str, recipient: &str, c: i64, state: State| Record {
        id,
        kind: Kind::Obligation,
        giver: member(giver),
        recipient: member(recipient),
        room_id: format!("!{recipient}:example.org"),
        amount: cents(c),
        what: None,
        state,
        overdue: false,
        created_at: now(),
        due: Some(now() + Duration::days(5)),
        changed_at: now(),
    };
    let mut tx = store.begin().await.unwrap();
    for who in ["alice", "bob", "carol", "erin"] {
        assert!(!tx.clearing_opted_in(&member(who)).await.unwrap(), "off by default");
        tx.set_clearing(&member(who), true, now()).await.unwrap();
    }
    tx.set_clearing(&member("alice"), true, now()).await.unwrap();
    assert!(tx.clearing_opted_in(&member("alice")).await.unwrap());
    // A triangle alice → bob → carol → alice, and around it what takes no part: an obligation
    // paid and awaiting confirmation, one fulfilled, an intention, one to dave (not opted in),
    // one kept by its recipient, one of erin to herself.
    let mut ids = Vec::new();
    for (giver, recipient, c, state) in [
        ("alice", "bob", 3_000, State::Open),
        ("bob", "carol", 2_000, State::Open),
        ("carol", "alice", 2_500, State::Open),
        ("carol", "alice", 900, State::Paid),
        ("bob", "alice", 700, State::Fulfilled),
        ("alice", "dave", 1_000, State::Open),
        ("bob", "erin", 400, State::Open),
        ("erin", "erin", 300, State::Open),
    ] {
        let id = tx.next_record_id().await.unwrap();
        tx.insert_record(&obligation(id, giver, recipient, c, state)).await.unwrap();
        ids.push(id);
    }
    let intention = tx.next_record_id().await.unwrap();
    tx.insert_record(&Record {
        kind: Kind::Intention,
        state: State::Active,
        due: None,
        ..obligation(intention, "carol", "bob", 800, State::Active)
    })
    .await
    .unwrap();
    tx.set_kept(ids[6], &member("erin"), true, now()).await.unwrap();
    tx.set_kept(ids[6], &member("erin"), true, now()).await.unwrap();
    assert_eq!(tx.keepers(ids[6]).await.unwrap(), vec![member("erin")]);
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    let eligible = tx.eligible_obligations().await.unwrap();
    assert_eq!(eligible.iter().map(|e| e.id).collect::<Vec<_>>(), ids[..3].to_vec());
    assert_eq!(tx.last_clearing(&member("alice")).await.unwrap(), None);
    let mut plan = setoff::plan(&eligible).unwrap();
    assert_eq!(plan.cleared, cents(6_000));
    assert!(tx.apply_clearing(&mut plan, now(), now()).await.unwrap().is_some());
    // A crash before the commit leaves nothing done.
    tx.rollback().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.eligible_obligations().await.unwrap(), eligible);
    assert_eq!(tx.last_clearing(&member("alice")).await.unwrap(), None);
    let mut plan = setoff::plan(&eligible).unwrap();
    let run = tx.apply_clearing(&mut plan, now(), now()).await.unwrap().unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    let first = tx.record_for_update(ids[0]).await.unwrap().unwrap();
    assert_eq!(
        (first.state, first.amount),
        (State::Open, cents(1_000)),
        "alice still owes bob the rest"
    );
    let part_id = plan.changes[0].part.unwrap();
    let part = tx.record_for_update(part_id).await.unwrap().unwrap();
    assert_eq!(
        (part.state, part.amount, &part.giver, &part.recipient, &part.room_id),
        (State::Cleared, cents(2_000), &first.giver, &first.recipient, &first.room_id)
    );
    assert_eq!(tx.record_for_update(ids[1]).await.unwrap().unwrap().state, State::Cleared);
    let third = tx.record_for_update(ids[2]).await.unwrap().unwrap();
    assert_eq!((third.state, third.amount), (State::Open, cents(500)));
    assert_eq!(
        tx.record_for_update(ids[3]).await.unwrap().unwrap().amount,
        cents(900),
        "a paid obligation is left alone"
    );
    // The set-off counts as fulfilled for the giver.
    let reliability = tx.reliability(&member("bob"), now() - Duration::days(1)).await.unwrap();
    assert_eq!(reliability.fulfilled, 2, "#2 cleared and #5 fulfilled: {reliability:?}");
    // Each member reads the run's changes to their own obligations only.
    let last = tx.last_clearing(&member("alice")).await.unwrap().unwrap();
    assert_eq!(last.at, now());
    assert_eq!(
        last.items.iter().map(|i| (i.change.id, i.as_giver)).collect::<Vec<_>>(),
        vec![(ids[0], true), (ids[2], false)]
    );
    assert_eq!(last.items[0].change.part, Some(part_id));
    let erin = tx.last_clearing(&member("erin")).await.unwrap().unwrap();
    assert!(erin.items.is_empty());
    // A second run finds nothing more to set off and records nothing.
    let eligible = tx.eligible_obligations().await.unwrap();
    assert_eq!(eligible.iter().map(|e| e.id).collect::<Vec<_>>(), vec![ids[0], ids[2]]);
    let mut again = setoff::plan(&eligible).unwrap();
    assert!(again.is_empty());
    assert_eq!(tx.apply_clearing(&mut again, now(), now()).await.unwrap(), None);
    // Opting out or keeping takes an obligation out; erasing a member drops the opt-in.
    tx.set_kept(ids[0], &member("bob"), true, now()).await.unwrap();
    assert_eq!(
        tx.eligible_obligations().await.unwrap().iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![ids[2]]
    );
    tx.set_kept(ids[0], &member("bob"), false, now()).await.unwrap();
    tx.set_clearing(&member("carol"), false, now()).await.unwrap();
    assert_eq!(
        tx.eligible_obligations().await.unwrap().iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![ids[0]]
    );
    tx.erase_member(&member("alice")).await.unwrap();
    assert!(!tx.clearing_opted_in(&member("alice")).await.unwrap());
    assert!(tx.eligible_obligations().await.unwrap().is_empty());
    tx.commit().await.unwrap();
    assert!(run > 0);
}

/// A job reads the language and notification setting of the members it writes to in one
/// statement, and gets only those that are not the defaults (a language chosen, notifications
/// off): a member with the defaults, or with no profile at all, is left out.
async fn notification_settings_are_read_only_where_they_differ_from_the_defaults(store: &Store) {
    let mut tx = store.begin().await.unwrap();
    for (name, lang, notify) in [
        ("ann", Some(Lang::Ru), true),
        ("bob", None, false),
        ("carol", None, true),
        ("erin", Some(Lang::En), false),
    ] {
        let before = tx.profile_for_update(&member(name)).await.unwrap();
        let after = Profile { lang, notify, about: Some("here".into()), ..before.clone() };
        tx.save_profile(&before, &after, now()).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert!(tx.notification_settings(&[]).await.unwrap().is_empty());
    // Thousands at once (a rollover asks for 100,000), the ones with settings among them.
    let mut asked: Vec<MemberId> = (0..5_000).map(|i| member(&format!("m{i}"))).collect();
    asked.extend(["ann", "bob", "carol", "dave", "erin"].map(member));
    let got = tx.notification_settings(&asked).await.unwrap();
    let want: std::collections::BTreeMap<MemberId, (Option<Lang>, bool)> = [
        (member("ann"), (Some(Lang::Ru), true)),
        (member("bob"), (None, false)),
        (member("erin"), (Some(Lang::En), false)),
    ]
    .into_iter()
    .collect();
    assert_eq!(got, want);
    // Only those asked about.
    let got = tx.notification_settings(&[member("bob"), member("carol")]).await.unwrap();
    assert_eq!(got.into_iter().collect::<Vec<_>>(), vec![(member("bob"), (None, false))]);
    tx.rollback().await.unwrap();
}

fn with_priority(txn: &str, target: Target, priority: Priority) -> OutboxMessage {
    OutboxMessage { priority, ..message(txn, target) }
}

fn heads(pending: &[exodus_storage::PendingMessage]) -> Vec<&str> {
    pending.iter().map(|p| p.message.txn_id.as_str()).collect()
}

async fn the_outbox_offers_each_destinations_next_message_replies_first(store: &Store) {
    let busy = Target::Room("!busy:x".into());
    let quiet = Target::Room("!quiet:x".into());
    let mut tx = store.begin().await.unwrap();
    // A digest written first, a backlog of replies to one room, a notice, then another room's reply.
    tx.enqueue(&with_priority("digest", Target::Dm(member("dora")), Priority::Digest), now())
        .await
        .unwrap();
    for i in 0..5 {
        tx.enqueue(&with_priority(&format!("busy{i}"), busy.clone(), Priority::Reply), now())
            .await
            .unwrap();
    }
    tx.enqueue(&with_priority("notice", Target::Dm(member("nina")), Priority::Notice), now())
        .await
        .unwrap();
    tx.enqueue(&with_priority("quiet0", quiet.clone(), Priority::Reply), now()).await.unwrap();
    tx.commit().await.unwrap();
    // One per destination: replies (oldest first), then the notice, then the digest.
    let round = store.outbox_heads(now(), 100).await.unwrap();
    assert_eq!(heads(&round), ["busy0", "quiet0", "notice", "digest"]);
    assert_eq!(round[0].message.priority, Priority::Reply);
    assert_eq!(round[3].message.priority, Priority::Digest);
    assert_eq!(store.outbox_heads(now(), 2).await.unwrap().len(), 2);
    // A destination's next message comes up only once the one before it is sent.
    store.mark_sent(round[0].id, "$e", now()).await.unwrap();
    store.mark_sent(round[1].id, "$e", now()).await.unwrap();
    assert_eq!(
        heads(&store.outbox_heads(now(), 100).await.unwrap()),
        ["busy1", "notice", "digest"]
    );
    let status = store.outbox_status().await.unwrap();
    assert_eq!(status.pending, [4, 1, 1]);
    assert_eq!(status.oldest[Priority::Reply as usize], Some(now()));
    assert_eq!((status.failed_messages, status.backing_off, status.failed_destinations), (0, 0, 0));
}

async fn a_failing_destination_backs_off_alone_and_is_given_up(store: &Store) {
    let down = Target::Dm(member("remote"));
    let up = Target::Room("!up:x".into());
    let mut tx = store.begin().await.unwrap();
    tx.enqueue(&with_priority("down0", down.clone(), Priority::Notice), now()).await.unwrap();
    tx.enqueue(&with_priority("down1", down.clone(), Priority::Notice), now()).await.unwrap();
    tx.enqueue(&with_priority("up0", up.clone(), Priority::Notice), now()).await.unwrap();
    tx.commit().await.unwrap();
    let backoff = Backoff {
        first: Duration::seconds(2),
        max: Duration::seconds(10),
        give_up_after: Duration::minutes(5),
    };
    let d = down.destination();
    let first =
        store.destination_failed(d, "502 remote unreachable", now(), backoff).await.unwrap();
    assert_eq!(
        (first.failures, first.retry_at, first.failed),
        (1, now() + Duration::seconds(2), false)
    );
    // While it waits, the others go on and its messages keep their order behind it.
    assert_eq!(
        heads(&store.outbox_heads(now() + Duration::seconds(1), 100).await.unwrap()),
        ["up0"]
    );
    let round = store.outbox_heads(now() + Duration::seconds(2), 100).await.unwrap();
    assert_eq!(heads(&round), ["down0", "up0"]);
    assert_eq!(round[0].destination_failures, 1);
    let status = store.outbox_status().await.unwrap();
    assert_eq!((status.backing_off, status.failed_destinations), (1, 0));
    assert_eq!(
        status.oldest[Priority::Notice as usize],
        Some(now()),
        "the failing destination's messages are not the outbox's delay"
    );
    // The wait doubles up to the cap.
    let waits: Vec<_> = (1..=4).map(|i| now() + Duration::seconds(i)).collect::<Vec<_>>();
    let mut last = first;
    for at in waits {
        last = store.destination_failed(d, "502", at, backoff).await.unwrap();
    }
    assert_eq!(
        (last.failures, last.retry_at - (now() + Duration::seconds(4))),
        (5, Duration::seconds(10))
    );
    // Past the bound it is given up: nothing more is offered, the messages count as failed.
    let given_up =
        store.destination_failed(d, "502", now() + Duration::minutes(5), backoff).await.unwrap();
    assert!(given_up.failed);
    assert_eq!(heads(&store.outbox_heads(now() + Duration::days(1), 100).await.unwrap()), ["up0"]);
    let status = store.outbox_status().await.unwrap();
    assert_eq!((status.failed_destinations, status.failed_messages, status.backing_off), (1, 2, 0));
    let failing = store.failing_destinations(10).await.unwrap();
    assert_eq!(failing.len(), 1);
    assert_eq!(
        (failing[0].destination.as_str(), failing[0].failures, failing[0].pending),
        ("@remote:example.org", 6, 2)
    );
    assert_eq!(failing[0].failed, Some(now() + Duration::minutes(5)));
    // It recovers: a send went through.
    store.destination_recovered(d).await.unwrap();
    assert_eq!(heads(&store.outbox_heads(now(), 100).await.unwrap()), ["down0", "up0"]);
    assert!(store.failing_destinations(10).await.unwrap().is_empty());
}

async fn an_admin_retries_or_drops_a_failing_destination(store: &Store) {
    let a = Target::Room("!a:x".into());
    let b = Target::Room("!b:x".into());
    let mut tx = store.begin().await.unwrap();
    for (txn, target) in [("a0", &a), ("a1", &a), ("b0", &b), ("b1", &b)] {
        tx.enqueue(&with_priority(txn, target.clone(), Priority::Notice), now()).await.unwrap();
    }
    tx.commit().await.unwrap();
    let backoff = Backoff {
        first: Duration::seconds(1),
        max: Duration::seconds(1),
        give_up_after: Duration::zero(),
    };
    assert!(store.destination_failed("!a:x", "e", now(), backoff).await.unwrap().failed);
    assert!(store.destination_failed("!b:x", "e", now(), backoff).await.unwrap().failed);
    // A message given up on its own is set going again by a retry, a dropped one is not.
    let a0 = store
        .pending_outbox(10)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.message.txn_id == "a0")
        .unwrap();
    store.mark_failed(a0.id, "403", true, now()).await.unwrap();
    assert_eq!(store.outbox_drop("!b:x", now()).await.unwrap(), 2);
    assert_eq!(store.outbox_retry(Some("!a:x")).await.unwrap(), (1, 1));
    assert_eq!(heads(&store.outbox_heads(now(), 100).await.unwrap()), ["a0"]);
    let status = store.outbox_status().await.unwrap();
    assert_eq!((status.failed_destinations, status.failed_messages, status.pending[1]), (0, 2, 2));
    // `all` retries every destination; the dropped messages stay dropped.
    assert!(store.destination_failed("!a:x", "e", now(), backoff).await.unwrap().failed);
    assert_eq!(store.outbox_retry(None).await.unwrap(), (1, 0));
    assert_eq!(heads(&store.outbox_heads(now(), 100).await.unwrap()), ["a0"]);
    assert_eq!(store.outbox_drop("!nobody:x", now()).await.unwrap(), 0);
}

async fn nul_in_stored_text_is_refused_by_both_backends(store: &Store) {
    let nul = member("nul");
    let mut tx = store.begin().await.unwrap();
    let before = tx.profile_for_update(&nul).await.unwrap();
    let after = Profile { about: Some("a\0b".into()), ..before.clone() };
    tx.save_profile(&before, &after, now()).await.unwrap();
    assert!(
        matches!(tx.commit().await, Err(StoreError::Nul(_))),
        "the about text's NUL is refused at commit"
    );
    assert_eq!(store.profile(&nul).await.unwrap(), None, "nothing was written");
    let mut tx = store.begin().await.unwrap();
    let record = Record {
        id: tx.next_record_id().await.unwrap(),
        kind: Kind::Intention,
        giver: member("g"),
        recipient: member("r"),
        room_id: "!c:x".into(),
        amount: Amount::from_stored_cents(100),
        what: Some("x\0y".into()),
        state: State::Active,
        overdue: false,
        created_at: now(),
        due: None,
        changed_at: now(),
    };
    assert!(matches!(tx.insert_record(&record).await, Err(StoreError::Nul(_))));
    tx.rollback().await.unwrap();
}

async fn the_first_start_is_recorded_once(store: &Store) {
    let first = store.first_start(now()).await.unwrap();
    assert_eq!(first, now());
    assert_eq!(store.first_start(now() + Duration::days(3)).await.unwrap(), now());
}
