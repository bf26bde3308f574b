//! A message the outbox has sent and not yet marked sent (the moment between `PUT /send` and
//! `mark_sent`, or a crash in it): a reaction to it is recognised by the transaction ID the
//! homeserver names to the sending device (`Store::unmarked_tagged`, `Store::recognise_sent`).
//! Cases of `conformance.rs`: each runs against SQLite and against PostgreSQL.

use chrono::{DateTime, Utc};
use exodus_commands::MemberId;
use exodus_storage::{OutboxMessage, Priority, Store, Tag, Target};

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_790_000_000_000).unwrap()
}

fn member(name: &str) -> MemberId {
    MemberId::parse(&format!("@{name}:example.org")).unwrap()
}

fn message(txn: &str, target: Target, tag: Option<Tag>) -> OutboxMessage {
    OutboxMessage {
        txn_id: txn.into(),
        target,
        event_type: "m.room.message".into(),
        content: serde_json::json!({"body": txn}),
        tag,
        priority: Priority::Notice,
    }
}

async fn enqueue(store: &Store, messages: &[OutboxMessage]) {
    let mut tx = store.begin().await.unwrap();
    for m in messages {
        tx.enqueue(m, now()).await.unwrap();
    }
    tx.commit().await.unwrap();
}

/// The crash between the send and its mark: the event is unknown by its ID, recognised by its
/// transaction ID (the send recorded then), and known by its ID from then on; the outbox does not
/// send it again, and its own late mark of the same event changes nothing.
pub async fn a_sent_message_not_yet_marked_is_recognised_by_its_transaction_id(store: &Store) {
    let owner = member("owner");
    store.set_dm_room(&owner, "!dm:x", now()).await.unwrap();
    enqueue(
        store,
        &[
            message("reply", Target::Room("!circle:x".into()), None),
            message("notice", Target::Dm(owner.clone()), Some(Tag::Paid(7))),
            message("claim", Target::Room("!circle:x".into()), Some(Tag::Claim(3))),
        ],
    )
    .await;
    let claim_row = store.pending_outbox(10).await.unwrap()[2].id;
    assert!(store.unmarked_tagged("!dm:x").await.unwrap(), "the paid notice to the owner's DM");
    assert!(store.unmarked_tagged("!circle:x").await.unwrap(), "the claim in the circle");
    assert!(!store.unmarked_tagged("!elsewhere:x").await.unwrap());
    // The notice was sent as $n; the outbox died before marking it.
    assert_eq!(store.sent_message_tag("$n").await.unwrap(), None, "the bug: unknown by its ID");
    assert_eq!(
        store.recognise_sent("!dm:x", "notice", "$n", now()).await.unwrap(),
        Some(Tag::Paid(7))
    );
    assert_eq!(store.sent_message_tag("$n").await.unwrap(), Some(Tag::Paid(7)));
    assert!(!store.unmarked_tagged("!dm:x").await.unwrap(), "nothing tagged waits there now");
    // Again (a second reaction): the same answer, nothing else changes.
    assert_eq!(
        store.recognise_sent("!dm:x", "notice", "$n", now()).await.unwrap(),
        Some(Tag::Paid(7))
    );
    let pending: Vec<String> =
        store.pending_outbox(10).await.unwrap().into_iter().map(|p| p.message.txn_id).collect();
    assert_eq!(pending, ["reply", "claim"], "the recognised notice is not sent again");
    // An untagged message is recognised too, without a tag: a reaction to it is no command.
    assert_eq!(store.recognise_sent("!circle:x", "reply", "$r", now()).await.unwrap(), None);
    assert_eq!(store.sent_message_tag("$r").await.unwrap(), None);
    // The outbox marks the claim it sent as $c after a reaction recognised it: still $c.
    assert_eq!(
        store.recognise_sent("!circle:x", "claim", "$c", now()).await.unwrap(),
        Some(Tag::Claim(3))
    );
    store.mark_sent(claim_row, "$c", now()).await.unwrap();
    assert_eq!(store.sent_message_tag("$c").await.unwrap(), Some(Tag::Claim(3)));
    assert!(store.pending_outbox(10).await.unwrap().is_empty());
}

/// A transaction ID is the outbox's only where its message went: a reaction in another room (or
/// in another member's DM) never picks up a message it was not sent into; a transaction ID the
/// outbox never used names nothing.
pub async fn only_a_message_to_that_room_or_its_members_dm_is_recognised(store: &Store) {
    let owner = member("owner");
    let bob = member("bob");
    store.set_dm_room(&owner, "!dm-owner:x", now()).await.unwrap();
    store.set_dm_room(&bob, "!dm-bob:x", now()).await.unwrap();
    enqueue(
        store,
        &[
            message("notice", Target::Dm(owner.clone()), Some(Tag::Paid(7))),
            message("claim", Target::Room("!circle:x".into()), Some(Tag::Claim(3))),
        ],
    )
    .await;
    assert!(!store.unmarked_tagged("!dm-bob:x").await.unwrap());
    for (room, txn) in [
        ("!dm-bob:x", "notice"),
        ("!circle:x", "notice"),
        ("!dm-owner:x", "claim"),
        ("!other:x", "claim"),
        ("!circle:x", "never-used"),
    ] {
        assert_eq!(
            store.recognise_sent(room, txn, "$e", now()).await.unwrap(),
            None,
            "{txn} in {room}"
        );
    }
    assert_eq!(store.pending_outbox(10).await.unwrap().len(), 2, "nothing recorded as sent");
    assert_eq!(store.sent_message_tag("$e").await.unwrap(), None);
}

/// A message the outbox marked with its event: another event naming its transaction ID (which
/// the homeserver would not make) is not it.
pub async fn a_message_marked_with_another_event_is_not_recognised(store: &Store) {
    enqueue(store, &[message("claim", Target::Room("!circle:x".into()), Some(Tag::Claim(3)))])
        .await;
    let id = store.pending_outbox(1).await.unwrap()[0].id;
    store.mark_sent(id, "$c", now()).await.unwrap();
    assert!(!store.unmarked_tagged("!circle:x").await.unwrap());
    assert_eq!(store.recognise_sent("!circle:x", "claim", "$other", now()).await.unwrap(), None);
    assert_eq!(
        store.recognise_sent("!circle:x", "claim", "$c", now()).await.unwrap(),
        Some(Tag::Claim(3))
    );
    assert_eq!(store.sent_message_tag("$other").await.unwrap(), None);
}
