//! Clearing (SPEC §3.5): who takes part (`clearing_members`), obligations kept out
//! (`record_keeps`), the obligations a run is computed over, and applying a run
//! (`clearing_runs`, `clearing_changes`) in the caller's transaction.

use chrono::{DateTime, Utc};
use exodus_commands::clearing::setoff::{self, Change, ClearingItem, Eligible, LastClearing, Plan};
use exodus_commands::ledger::RecordId;
use exodus_commands::{Amount, MemberId};

use crate::ledger::member;
use crate::{Backend, Result, StoreError, Tx, from_millis, millis, on_backend};

impl Tx {
    /// Whether `member` takes part in the set-off.
    pub async fn clearing_opted_in(&mut self, member: &MemberId) -> Result<bool> {
        const SQL: &str = "SELECT COUNT(*) FROM clearing_members WHERE user_id = $1";
        let n: i64 = on_backend!(&mut self.tx, tx => sqlx::query_scalar(SQL).bind(member.as_str()).fetch_one(&mut **tx).await?);
        Ok(n > 0)
    }

    /// `clearing on|off`.
    pub async fn set_clearing(
        &mut self,
        member: &MemberId,
        on: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        const ON: &str = "INSERT INTO clearing_members (user_id, opted_ms) VALUES ($1, $2) ON CONFLICT DO NOTHING";
        const OFF: &str = "DELETE FROM clearing_members WHERE user_id = $1";
        on_backend!(&mut self.tx, tx => {
            if on {
                sqlx::query(ON).bind(member.as_str()).bind(millis(now)).execute(&mut **tx).await?;
            } else {
                sqlx::query(OFF).bind(member.as_str()).execute(&mut **tx).await?;
            }
        });
        Ok(())
    }

    /// The parties keeping record `#id` out of the set-off.
    pub async fn keepers(&mut self, id: RecordId) -> Result<Vec<MemberId>> {
        const SQL: &str = "SELECT member FROM record_keeps WHERE record_id = $1 ORDER BY member";
        let rows: Vec<String> = on_backend!(&mut self.tx, tx => sqlx::query_scalar(SQL).bind(id).fetch_all(&mut **tx).await?);
        rows.iter().map(|m| member(m)).collect()
    }

    /// `keep #N` (`keep`) or `unkeep #N` by `member`.
    pub async fn set_kept(
        &mut self,
        id: RecordId,
        by: &MemberId,
        keep: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        const KEEP: &str = "INSERT INTO record_keeps (record_id, member, kept_ms) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
        const UNKEEP: &str = "DELETE FROM record_keeps WHERE record_id = $1 AND member = $2";
        on_backend!(&mut self.tx, tx => {
            if keep {
                sqlx::query(KEEP).bind(id).bind(by.as_str()).bind(millis(now)).execute(&mut **tx).await?;
            } else {
                sqlx::query(UNKEEP).bind(id).bind(by.as_str()).execute(&mut **tx).await?;
            }
        });
        Ok(())
    }

    /// The eligible obligations (SPEC §3.5): open, both parties opted in, kept by neither, by
    /// record number; locked on PostgreSQL until the transaction ends (SQLite's transaction
    /// holds the write lock already), so that nothing settles them while the run is applied.
    pub async fn eligible_obligations(&mut self) -> Result<Vec<Eligible>> {
        let lock = if self.anonymous_params() { "" } else { " FOR UPDATE OF r" };
        let sql = format!(
            "SELECT r.id, r.giver, r.recipient, r.amount_cents FROM records r \
             JOIN clearing_members g ON g.user_id = r.giver JOIN clearing_members c ON c.user_id = r.recipient \
             WHERE r.kind = 'obligation' AND r.state = 'open' AND r.amount_cents > 0 AND r.giver <> r.recipient \
             AND NOT EXISTS (SELECT 1 FROM record_keeps k WHERE k.record_id = r.id) ORDER BY r.id{lock}"
        );
        let rows: Vec<(i64, String, String, i64)> = on_backend!(&mut self.tx, tx => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).fetch_all(&mut **tx).await?);
        rows.into_iter()
            .map(|(id, giver, recipient, cents)| {
                Ok(Eligible {
                    id,
                    giver: member(&giver)?,
                    recipient: member(&recipient)?,
                    amount: Amount::from_stored_cents(cents),
                })
            })
            .collect()
    }

    /// Applies `plan` (computed in this transaction over [`Tx::eligible_obligations`]): each
    /// obligation set off whole becomes `cleared`, one set off in part keeps the rest open and
    /// its set-off part becomes a `cleared` record of its own (numbered into `plan`'s changes);
    /// the run and its changes are recorded. Returns the run's number, `None` when the plan
    /// changes nothing (and nothing is written).
    pub async fn apply_clearing(
        &mut self,
        plan: &mut Plan,
        as_of: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        if plan.is_empty() {
            return Ok(None);
        }
        for change in &mut plan.changes {
            let record = self.record_for_update(change.id).await?.ok_or_else(|| {
                StoreError::Corrupt(format!("record #{} to clear is gone", change.id))
            })?;
            if record.amount != change.before
                || record.state != exodus_commands::ledger::State::Open
            {
                return Err(StoreError::Corrupt(format!(
                    "record #{} changed while it was being cleared",
                    change.id
                )));
            }
            let part = if change.cleared() { None } else { Some(self.next_record_id().await?) };
            let (kept, split) = setoff::apply(&record, change, part, now);
            self.update_record(&kept).await?;
            if let Some(split) = split {
                self.insert_record(&split).await?;
                // The part belongs where the obligation does (an initiative's, say).
                const LINK: &str = "UPDATE records SET initiative_id = (SELECT initiative_id FROM records WHERE id = $2) WHERE id = $1";
                on_backend!(&mut self.tx, tx => { sqlx::query(LINK).bind(split.id).bind(record.id).execute(&mut **tx).await?; });
            }
            change.part = part;
        }
        const RUN: &str = "INSERT INTO clearing_runs (as_of_ms, run_ms, eligible, total_cents, cleared_cents, bound_cents) \
                           VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
        let eligible = i64::try_from(plan.eligible).unwrap_or(i64::MAX);
        let run: i64 = on_backend!(&mut self.tx, tx => sqlx::query_scalar(RUN)
            .bind(millis(as_of)).bind(millis(now)).bind(eligible).bind(plan.total.cents()).bind(plan.cleared.cents()).bind(plan.bound.cents())
            .fetch_one(&mut **tx).await?);
        const CHANGE: &str = "INSERT INTO clearing_changes (run_id, record_id, giver, recipient, before_cents, set_off_cents, part_id) \
                              VALUES ($1, $2, $3, $4, $5, $6, $7)";
        for c in &plan.changes {
            on_backend!(&mut self.tx, tx => { sqlx::query(CHANGE)
                .bind(run).bind(c.id).bind(c.giver.as_str()).bind(c.recipient.as_str()).bind(c.before.cents()).bind(c.set_off.cents()).bind(c.part)
                .execute(&mut **tx).await?; });
        }
        Ok(Some(run))
    }

    /// The last run that set something off, with the changes to `member`'s own obligations.
    pub async fn last_clearing(&mut self, member_id: &MemberId) -> Result<Option<LastClearing>> {
        const RUN: &str = "SELECT id, as_of_ms FROM clearing_runs ORDER BY id DESC LIMIT 1";
        let run: Option<(i64, i64)> =
            on_backend!(&mut self.tx, tx => sqlx::query_as(RUN).fetch_optional(&mut **tx).await?);
        let Some((run, at)) = run else { return Ok(None) };
        const CHANGES: &str = "SELECT record_id, giver, recipient, before_cents, set_off_cents, part_id FROM clearing_changes \
                               WHERE run_id = $1 AND (giver = $2 OR recipient = $2) ORDER BY record_id";
        let rows: Vec<(i64, String, String, i64, i64, Option<i64>)> = on_backend!(&mut self.tx, tx => sqlx::query_as(CHANGES).bind(run).bind(member_id.as_str()).fetch_all(&mut **tx).await?);
        let mut items = Vec::with_capacity(rows.len());
        for (id, giver, recipient, before, set_off, part) in rows {
            let change = Change {
                id,
                giver: member(&giver)?,
                recipient: member(&recipient)?,
                before: Amount::from_stored_cents(before),
                set_off: Amount::from_stored_cents(set_off),
                part,
            };
            items.push(ClearingItem { as_giver: &change.giver == member_id, change });
        }
        Ok(Some(LastClearing { at: from_millis(at)?, items }))
    }
}
