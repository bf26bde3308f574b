//! The scheduled jobs' statements (SPEC §4), in the caller's transaction. Expiry and overdue are
//! not written into the records they concern: a run reads what it changes (by the partial
//! indexes of active intentions and of open obligations by due date) and writes one row, an
//! expiry or an overdue mark, that the `ledger` view applies to every read (migration 0010). The
//! renewals are one set-based statement. With a million records a rollover is a few statements
//! that rewrite nothing, and a crash halfway rolls all of it back.

use chrono::{DateTime, Utc};
use exodus_commands::cycle::{Marked, Marking};
use exodus_commands::{Amount, MemberId};

use crate::ledger::member;
use crate::{Backend, Result, Tx, from_millis, millis, on_backend};

/// id, giver, recipient, amount_cents, due_ms, and the renewed obligation (renewals) or the state.
type Row = (i64, String, String, i64, Option<i64>, Option<String>);

/// The obligations open or paid, due before $1, that no overdue mark covers yet.
const NEWLY_OVERDUE: &str = "SELECT r.id, r.giver, r.recipient, r.amount_cents, r.due_ms, CAST(NULL AS TEXT) FROM records r \
     WHERE r.kind = 'obligation' AND r.state IN ('open', 'paid') AND NOT r.overdue AND r.due_ms < $1 \
     AND NOT EXISTS (SELECT 1 FROM overdue_marks o WHERE r.due_ms < o.before_ms AND r.id <= o.upto_id AND o.id > r.overdue_seen) ORDER BY r.id";
/// The highest record number there is or an earlier mark covered (a mark never covers less
/// than one it replaces).
const UPTO: &str = "SELECT CAST(COALESCE(MAX(u), 0) AS BIGINT) FROM (SELECT MAX(id) AS u FROM records \
     UNION ALL SELECT MAX(upto_id) AS u FROM overdue_marks WHERE before_ms <= $1) AS t";
/// Which open obligations a reminders run is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reminding {
    /// Every open one except those of running red collections (the month-end reminder).
    MonthEnd,
    /// Those in favour of members whose red collection is running (the daily reminder).
    RedCollections,
    /// The obligations of approved pool claims, due within the pool's `pay_days` (the daily
    /// reminder).
    PoolObligations,
}

fn marking(marked: Marked, (id, giver, recipient, amount_cents, due_ms, _): Row) -> Result<Marking> {
    Ok(Marking {
        marked,
        id,
        giver: member(&giver)?,
        recipient: member(&recipient)?,
        amount: Amount::from_stored_cents(amount_cents),
        due: due_ms.map(from_millis).transpose()?,
    })
}

impl Tx {
    /// Rolls the cycle that began at `previous_start` over into the one beginning at
    /// `cycle_start`, at `now`: expires the past cycle's uncommitted circle intentions, renews
    /// the obligations fulfilled in it as intentions while their owner is orange, marks
    /// obligations past due overdue. Running it again for the same cycle changes nothing more:
    /// expired and overdue records no longer match, and a renewal names the obligation it renews
    /// (unique).
    pub async fn rollover(&mut self, previous_start: DateTime<Utc>, cycle_start: DateTime<Utc>, now: DateTime<Utc>) -> Result<Vec<Marking>> {
        self.cache.records_changed();
        // Circle intentions still active (no expiry covers them) made before the cycle began.
        const EXPIRING: &str = "SELECT r.id, r.giver, r.recipient, r.amount_cents, r.due_ms, CAST(NULL AS TEXT) FROM records r \
             WHERE r.kind = 'intention' AND r.state = 'active' AND r.created_ms < $1 AND r.room_id IN (SELECT room_id FROM circles) \
             AND NOT EXISTS (SELECT 1 FROM expiries x WHERE r.created_ms < x.before_ms AND r.id <= x.upto_id AND x.id > r.expiry_seen) ORDER BY r.id";
        const EXPIRE: &str = "INSERT INTO expiries (before_ms, upto_id, at_ms) SELECT $1, CAST(COALESCE(MAX(id), 0) AS BIGINT), $2 FROM records";
        const RENEW: &str = "INSERT INTO records (kind, giver, recipient, room_id, amount_cents, what, state, overdue, created_ms, \
             changed_ms, renewed_from) \
             SELECT 'intention', r.giver, r.recipient, r.room_id, r.amount_cents, r.what, 'active', FALSE, $1, $1, r.id \
             FROM records r JOIN circles c ON c.owner = r.recipient AND c.room_id = r.room_id \
             JOIN members m ON m.user_id = r.recipient \
             WHERE r.kind = 'obligation' AND r.state = 'fulfilled' AND r.changed_ms >= $2 AND r.changed_ms < $3 \
             AND m.status = 'orange' ORDER BY r.id \
             ON CONFLICT (renewed_from) DO NOTHING \
             RETURNING id, giver, recipient, amount_cents, due_ms, CAST(renewed_from AS TEXT)";
        let (now_ms, previous_ms, start_ms) = (millis(now), millis(previous_start), millis(cycle_start));
        let (expired, renewed): (Vec<Row>, Vec<Row>) = on_backend!(&mut self.tx, tx => {
            let expired: Vec<Row> = sqlx::query_as(EXPIRING).bind(start_ms).fetch_all(&mut **tx).await?;
            if !expired.is_empty() {
                sqlx::query(EXPIRE).bind(start_ms).bind(now_ms).execute(&mut **tx).await?;
            }
            let renewed = sqlx::query_as(RENEW).bind(now_ms).bind(previous_ms).bind(start_ms).fetch_all(&mut **tx).await?;
            (expired, renewed)
        });
        let overdue = self.mark_overdue(now).await?;
        let mut changes = Vec::with_capacity(expired.len() + renewed.len() + overdue.len());
        for row in expired {
            changes.push(marking(Marked::Expired, row)?);
        }
        changes.extend(overdue);
        for row in renewed {
            let from = row.5.as_deref().and_then(|f| f.parse().ok());
            let from = from.ok_or_else(|| crate::StoreError::Corrupt(format!("renewal #{} without its obligation", row.0)))?;
            changes.push(marking(Marked::Renewed { from }, row)?);
        }
        changes.sort();
        Ok(changes)
    }

    /// Marks the obligations past due at `now` overdue (they stay payable); each is marked once.
    /// One overdue mark covers them all, and replaces the marks it covers.
    pub async fn mark_overdue(&mut self, now: DateTime<Utc>) -> Result<Vec<Marking>> {
        self.cache.records_changed();
        const MARK: &str = "INSERT INTO overdue_marks (before_ms, upto_id) VALUES ($1, $2)";
        const REPLACED: &str = "DELETE FROM overdue_marks WHERE before_ms <= $1 AND upto_id <= $2 AND id <> (SELECT MAX(id) FROM overdue_marks)";
        let now_ms = millis(now);
        let rows: Vec<Row> = on_backend!(&mut self.tx, tx => {
            let rows: Vec<Row> = sqlx::query_as(NEWLY_OVERDUE).bind(now_ms).fetch_all(&mut **tx).await?;
            if !rows.is_empty() {
                let upto: i64 = sqlx::query_scalar(UPTO).bind(now_ms).fetch_one(&mut **tx).await?;
                sqlx::query(MARK).bind(now_ms).bind(upto).execute(&mut **tx).await?;
                sqlx::query(REPLACED).bind(now_ms).bind(upto).execute(&mut **tx).await?;
            }
            rows
        });
        let mut out = rows.into_iter().map(|row| marking(Marked::Overdue, row)).collect::<Result<Vec<_>>>()?;
        out.sort();
        Ok(out)
    }

    /// Writes into at most `limit` records what the expiries and overdue marks made of them
    /// (the hourly deadlines job does it a slice at a time, off the rollover's path), so that the
    /// partial indexes of active intentions and open obligations keep only what is active and
    /// open. Reads through `ledger` are the same before and after. Returns how many it wrote.
    pub async fn settle_marks(&mut self, limit: i64) -> Result<u64> {
        const EXPIRED: &str = "UPDATE records SET state = 'expired', changed_ms = (SELECT MIN(x.at_ms) FROM expiries x \
             WHERE records.created_ms < x.before_ms AND records.id <= x.upto_id AND x.id > records.expiry_seen) \
             WHERE id IN (SELECT r.id FROM records r WHERE r.kind = 'intention' AND r.state = 'active' \
             AND r.room_id IN (SELECT room_id FROM circles) \
             AND EXISTS (SELECT 1 FROM expiries x WHERE r.created_ms < x.before_ms AND r.id <= x.upto_id AND x.id > r.expiry_seen) ORDER BY r.id LIMIT $1)";
        const OVERDUE: &str = "UPDATE records SET overdue = TRUE WHERE id IN (SELECT r.id FROM records r \
             WHERE r.kind = 'obligation' AND r.state IN ('open', 'paid') AND NOT r.overdue \
             AND EXISTS (SELECT 1 FROM overdue_marks o WHERE r.due_ms < o.before_ms AND r.id <= o.upto_id AND o.id > r.overdue_seen) ORDER BY r.id LIMIT $1)";
        self.cache.records_changed();
        Ok(on_backend!(&mut self.tx, tx => {
            let expired = sqlx::query(EXPIRED).bind(limit).execute(&mut **tx).await?.rows_affected();
            let overdue = sqlx::query(OVERDUE).bind(limit).execute(&mut **tx).await?.rows_affected();
            expired + overdue
        }))
    }

    /// What a reminders run tells: each open obligation to its giver ([`Marked::Due`]), each
    /// reported but unconfirmed one to its recipient ([`Marked::Unconfirmed`]). The two kinds do
    /// not overlap, so a member never hears of the same obligation twice in a day.
    pub async fn reminders(&mut self, which: Reminding, now: DateTime<Utc>) -> Result<Vec<Marking>> {
        const MONTH_END: &str = "SELECT r.id, r.giver, r.recipient, r.amount_cents, r.due_ms, r.state FROM records r \
             WHERE r.kind = 'obligation' AND r.state IN ('open', 'paid') AND NOT EXISTS (SELECT 1 FROM members m \
             WHERE m.user_id = r.recipient AND m.status = 'red' AND m.deadline_ms > $1) \
             AND NOT EXISTS (SELECT 1 FROM pools p WHERE p.room_id = r.room_id) ORDER BY r.id";
        const POOLS: &str = "SELECT r.id, r.giver, r.recipient, r.amount_cents, r.due_ms, r.state FROM records r \
             JOIN pools p ON p.room_id = r.room_id WHERE r.kind = 'obligation' AND r.state IN ('open', 'paid') ORDER BY r.id";
        const RED: &str = "SELECT r.id, r.giver, r.recipient, r.amount_cents, r.due_ms, r.state FROM records r \
             JOIN members m ON m.user_id = r.recipient \
             WHERE m.status = 'red' AND m.deadline_ms > $1 AND r.kind = 'obligation' AND r.state IN ('open', 'paid') \
             AND NOT EXISTS (SELECT 1 FROM pools p WHERE p.room_id = r.room_id) ORDER BY r.id";
        let rows: Vec<Row> = match which {
            Reminding::MonthEnd => on_backend!(&mut self.tx, tx => sqlx::query_as(MONTH_END).bind(millis(now)).fetch_all(&mut **tx).await?),
            Reminding::RedCollections => on_backend!(&mut self.tx, tx => sqlx::query_as(RED).bind(millis(now)).fetch_all(&mut **tx).await?),
            Reminding::PoolObligations => on_backend!(&mut self.tx, tx => sqlx::query_as(POOLS).fetch_all(&mut **tx).await?),
        };
        rows.into_iter()
            .map(|row| {
                let marked = if row.5.as_deref() == Some("paid") { Marked::Unconfirmed } else { Marked::Due };
                marking(marked, row)
            })
            .collect()
    }

    /// Members whose red collection's deadline is at or before `now`.
    pub async fn red_past_deadline(&mut self, now: DateTime<Utc>) -> Result<Vec<MemberId>> {
        const SQL: &str = "SELECT user_id FROM members WHERE status = 'red' AND deadline_ms <= $1 ORDER BY user_id";
        let ids: Vec<String> = on_backend!(&mut self.tx, tx => sqlx::query_scalar(SQL).bind(millis(now)).fetch_all(&mut **tx).await?);
        ids.iter().map(|id| member(id)).collect()
    }
}
