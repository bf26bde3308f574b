//! The monthly rollover (SPEC §4) as three set-based statements in the caller's transaction: with
//! a million records it is a few statements, not a million round trips, and a crash halfway
//! rolls all of it back.

use chrono::{DateTime, Utc};
use exodus_commands::ledger::RecordId;

use crate::{Backend, Result, Tx, millis, on_backend};

/// What the rollover did to one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// An intention of the past cycle that was never committed: its author no longer counts as a
    /// supporter.
    Expired,
    /// A new intention of the same amount, renewing the obligation `from` that was fulfilled in
    /// the past cycle, while the owner is still orange.
    Renewed { from: RecordId },
    /// An obligation past its due date, not fulfilled and confirmed: still payable.
    Overdue,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RolloverChange {
    pub change: Change,
    /// The record changed, or the intention created.
    pub record: RecordId,
    pub giver: String,
    pub recipient: String,
    pub amount_cents: i64,
}

type Row = (i64, String, String, i64, Option<i64>);

impl Tx {
    /// Rolls the cycle that began at `previous_start` over into the one beginning at
    /// `cycle_start`, at `now`. Running it again for the same cycle changes nothing more: expired
    /// and overdue records no longer match, and a renewal names the obligation it renews (unique).
    pub async fn rollover(&mut self, previous_start: DateTime<Utc>, cycle_start: DateTime<Utc>, now: DateTime<Utc>) -> Result<Vec<RolloverChange>> {
        self.cache.records_changed();
        const EXPIRE: &str = "UPDATE records SET state = 'expired', changed_ms = $1 \
             WHERE kind = 'intention' AND state = 'active' AND created_ms < $2 AND room_id IN (SELECT room_id FROM circles) \
             RETURNING id, giver, recipient, amount_cents, CAST(NULL AS BIGINT)";
        const RENEW: &str = "INSERT INTO records (kind, giver, recipient, room_id, amount_cents, what, state, overdue, created_ms, \
             changed_ms, renewed_from) \
             SELECT 'intention', r.giver, r.recipient, r.room_id, r.amount_cents, r.what, 'active', FALSE, $1, $1, r.id \
             FROM records r JOIN circles c ON c.owner = r.recipient AND c.room_id = r.room_id \
             JOIN members m ON m.user_id = r.recipient \
             WHERE r.kind = 'obligation' AND r.state = 'fulfilled' AND r.changed_ms >= $2 AND r.changed_ms < $3 \
             AND m.status = 'orange' ORDER BY r.id \
             ON CONFLICT (renewed_from) DO NOTHING \
             RETURNING id, giver, recipient, amount_cents, renewed_from";
        const OVERDUE: &str = "UPDATE records SET overdue = TRUE, changed_ms = $1 \
             WHERE kind = 'obligation' AND state IN ('open', 'paid') AND NOT overdue AND due_ms < $1 \
             RETURNING id, giver, recipient, amount_cents, CAST(NULL AS BIGINT)";
        let (now_ms, previous_ms, start_ms) = (millis(now), millis(previous_start), millis(cycle_start));
        let (expired, renewed, overdue): (Vec<Row>, Vec<Row>, Vec<Row>) = on_backend!(&mut self.tx, tx => {
            let expired = sqlx::query_as(EXPIRE).bind(now_ms).bind(start_ms).fetch_all(&mut **tx).await?;
            let renewed = sqlx::query_as(RENEW).bind(now_ms).bind(previous_ms).bind(start_ms).fetch_all(&mut **tx).await?;
            let overdue = sqlx::query_as(OVERDUE).bind(now_ms).fetch_all(&mut **tx).await?;
            (expired, renewed, overdue)
        });
        let mut changes = Vec::with_capacity(expired.len() + renewed.len() + overdue.len());
        let rows = expired.into_iter().map(|r| (Change::Expired, r)).chain(overdue.into_iter().map(|r| (Change::Overdue, r)));
        for (change, (id, giver, recipient, amount_cents, _)) in rows {
            changes.push(RolloverChange { change, record: id, giver, recipient, amount_cents });
        }
        for (id, giver, recipient, amount_cents, from) in renewed {
            let from = from.ok_or_else(|| crate::StoreError::Corrupt(format!("renewal #{id} without its obligation")))?;
            changes.push(RolloverChange { change: Change::Renewed { from }, record: id, giver, recipient, amount_cents });
        }
        changes.sort();
        Ok(changes)
    }
}
