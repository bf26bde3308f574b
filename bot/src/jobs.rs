//! The scheduled jobs of SPEC §4, run by the scheduler or by `admin run`; each one a single
//! transaction, so that a crash halfway leaves nothing done and a second run of the same cycle
//! finds nothing more to do.

use chrono::{DateTime, Utc};
use exodus_commands::cycle::{Rolled, digests};
use exodus_commands::ledger::Cycle;
use exodus_commands::render::render_reply;
use exodus_commands::{Amount, MemberId, Profile, Reply};
use exodus_storage::{Change, OutboxMessage, StoreError, Target};

use crate::pipeline::{Pipeline, notice_content, txn_id};

/// What a rollover did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RolloverSummary {
    pub expired: usize,
    pub renewed: usize,
    pub overdue: usize,
    /// Digests queued (one per member with a changed record and notifications on).
    pub digests: usize,
}

impl std::fmt::Display for RolloverSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "expired {}, renewed {}, overdue {}, digests {}", self.expired, self.renewed, self.overdue, self.digests)
    }
}

impl Pipeline {
    /// The rollover into the cycle that contains `as_of` (SPEC §4), as if the clock showed
    /// `as_of`: the past cycle's uncommitted intentions expire, its fulfilled obligations renew as
    /// intentions while their owner is orange, obligations past due become overdue; every party
    /// gets one digest of their own records in their language (V1), in the same transaction.
    pub async fn run_rollover(&self, as_of: DateTime<Utc>) -> Result<RolloverSummary, StoreError> {
        let tz = self.settings().timezone;
        let cycle = Cycle::of(as_of, &tz);
        let (previous, start) = (cycle.back(1).start(&tz), cycle.start(&tz));
        let mut tx = self.store().begin().await?;
        let changes = tx.rollover(previous, start, as_of).await?;
        let mut summary = RolloverSummary::default();
        let mut items = Vec::with_capacity(changes.len());
        for c in changes {
            let rolled = match c.change {
                Change::Expired => {
                    summary.expired += 1;
                    Rolled::Expired
                }
                Change::Renewed { from } => {
                    summary.renewed += 1;
                    Rolled::Renewed { from }
                }
                Change::Overdue => {
                    summary.overdue += 1;
                    Rolled::Overdue
                }
            };
            let member = |id: &str| MemberId::parse(id).ok_or_else(|| StoreError::Corrupt(format!("member {id:?} of #{}", c.record)));
            items.push((rolled, c.record, member(&c.giver)?, member(&c.recipient)?, Amount::from_stored_cents(c.amount_cents)));
        }
        let digests = digests(items);
        let members: Vec<MemberId> = digests.keys().cloned().collect();
        let mut profiles = tx.profiles(&members).await?;
        let mut messages = Vec::with_capacity(digests.len());
        let source = format!("rollover\u{0}{}", start.timestamp_millis());
        for (member, items) in digests {
            let profile = profiles.remove(&member).unwrap_or_else(|| Profile::new(member.clone()));
            if !profile.notify {
                continue;
            }
            let lang = profile.lang.unwrap_or(self.settings().default_language);
            let rendered = render_reply("rollover", &Reply::Rollover(items), &self.style(lang));
            messages.push(OutboxMessage {
                // One digest per member and cycle: the same ID however often it is decided.
                txn_id: txn_id(&format!("{source}\u{0}{member}"), 0),
                target: Target::Dm(member),
                event_type: "m.room.message".into(),
                content: notice_content(&rendered, None),
                tag: None,
            });
        }
        summary.digests = messages.len();
        tx.enqueue_all(&messages, as_of).await?;
        tx.commit().await?;
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use chrono::{Duration, TimeZone as _};
    use exodus_commands::ledger::{Kind, Record, State};
    use exodus_commands::{Lang, Need};
    use exodus_storage::Store;

    use super::*;
    use crate::pipeline::Settings;

    fn m(name: &str) -> MemberId {
        MemberId::parse(&format!("@{name}:example.org")).unwrap()
    }

    #[tokio::test]
    async fn a_rollover_sends_each_party_one_digest_of_its_own_records_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("db").display())).await.unwrap();
        let berlin: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
        let settings = Settings { prefixes: vec!["!".into()], unit: "EUR".into(), default_language: Lang::En, timezone: berlin };
        let pipeline = Pipeline::new(store.clone(), settings);
        // Midnight of 1 January in Berlin; the past cycle is December.
        let start = Utc.with_ymd_and_hms(2026, 12, 31, 23, 0, 0).unwrap();
        let december = start - Duration::days(20);
        let mut tx = store.begin().await.unwrap();
        tx.bind_circle(&m("alice"), "!alice:x", december).await.unwrap();
        let alice = tx.profile_for_update(&m("alice")).await.unwrap();
        let mut orange = alice.clone();
        orange.need = Need::Orange { requested: Amount::from_stored_cents(30_000), note: None };
        tx.save_profile(&alice, &orange, december).await.unwrap();
        let carol = tx.profile_for_update(&m("carol")).await.unwrap();
        let mut russian = carol.clone();
        russian.lang = Some(Lang::Ru);
        tx.save_profile(&carol, &russian, december).await.unwrap();
        let record = |kind, giver: &str, cents, state, due: Option<DateTime<Utc>>| Record {
            id: 0,
            kind,
            giver: m(giver),
            recipient: m("alice"),
            room_id: "!alice:x".into(),
            amount: Amount::from_stored_cents(cents),
            what: None,
            state,
            overdue: false,
            created_at: december,
            due,
            changed_at: december,
        };
        for mut r in [
            record(Kind::Intention, "bob", 1_000, State::Active, None),
            record(Kind::Obligation, "carol", 2_000, State::Fulfilled, Some(december)),
            record(Kind::Obligation, "bob", 3_000, State::Open, Some(start - Duration::hours(2))),
        ] {
            r.id = tx.next_record_id().await.unwrap();
            tx.insert_record(&r).await.unwrap();
        }
        tx.commit().await.unwrap();

        let as_of = start + Duration::minutes(5);
        let summary = pipeline.run_rollover(as_of).await.unwrap();
        assert_eq!(summary, RolloverSummary { expired: 1, renewed: 1, overdue: 1, digests: 3 });
        let out = store.pending_outbox(100).await.unwrap();
        let digest = |who: &str| {
            let found: Vec<_> = out.iter().filter(|p| p.message.target == Target::Dm(m(who))).collect();
            assert_eq!(found.len(), 1, "one digest for {who}");
            found[0].message.content.clone()
        };
        let ids = |content: &serde_json::Value| -> Vec<(String, i64)> {
            content["org.exodus.result"]["rollover"].as_array().unwrap().iter().map(|i| (i["change"].as_str().unwrap().to_owned(), i["id"].as_i64().unwrap())).collect()
        };
        // Alice, the owner, hears of all three; Bob of his two; Carol (in Russian) of her renewal.
        assert_eq!(ids(&digest("alice")), [("expired".into(), 1), ("renewed".into(), 4), ("overdue".into(), 3)]);
        assert_eq!(ids(&digest("bob")), [("expired".into(), 1), ("overdue".into(), 3)]);
        let carol = digest("carol");
        assert_eq!(ids(&carol), [("renewed".into(), 4)]);
        assert_eq!(carol["org.exodus.result"]["rollover"][0]["renews"], 2);
        assert!(carol["body"].as_str().unwrap().starts_with("Начался новый месяц"), "{carol}");
        assert!(digest("bob")["body"].as_str().unwrap().contains("#3"));

        // Again, later the same month: nothing more changes and nothing more is sent.
        assert_eq!(pipeline.run_rollover(as_of + Duration::days(3)).await.unwrap(), RolloverSummary::default());
        assert_eq!(store.pending_outbox(100).await.unwrap().len(), 3);
    }
}
