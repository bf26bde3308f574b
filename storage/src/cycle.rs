//! The scheduled jobs' statements (SPEC §4), in the caller's transaction. Expiry and overdue are
//! not written into the records they concern: a run reads what it changes (by the partial
//! indexes of active intentions and of open obligations by due date) and writes one row, an
//! expiry or an overdue mark, that the `ledger` view applies to every read (migration 0010). The
//! renewals are one set-based statement. With a million records a rollover is a few statements
//! that rewrite nothing, and a crash halfway rolls all of it back.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use exodus_commands::cycle::{Marked, Marking};
use exodus_commands::{Amount, MemberId};

use crate::ledger::member;
use crate::{Backend, Result, StoreError, Tx, from_millis, millis, on_backend};

/// A record a job reads: id, giver, recipient, amount_cents, due_ms, and `extra` (the renewed
/// obligation of a renewal, the state of a reminded obligation), as the database packs them.
type Row<'a> = (i64, &'a str, &'a str, i64, Option<i64>, Option<&'a str>);

/// PostgreSQL's packing of [`Row`]s: one array per column, sent in its binary form.
const POSTGRES_COLUMNS: &str = "array_agg(id), array_agg(giver), array_agg(recipient), array_agg(amount_cents), array_agg(due_ms), array_agg(extra)";
/// The columns of [`POSTGRES_COLUMNS`] (none when there were no rows).
type Columns = (
    Option<Vec<i64>>,
    Option<Vec<String>>,
    Option<Vec<String>>,
    Option<Vec<i64>>,
    Option<Vec<Option<i64>>>,
    Option<Vec<Option<String>>>,
);

/// The obligations open or paid, due before $1, that no overdue mark covers yet.
const NEWLY_OVERDUE: &str = "SELECT r.id, r.giver, r.recipient, r.amount_cents, r.due_ms, CAST(NULL AS TEXT) AS extra FROM records r \
     WHERE r.kind = 'obligation' AND r.state IN ('open', 'paid') AND NOT r.overdue AND r.due_ms < $1 \
     AND NOT EXISTS (SELECT 1 FROM overdue_marks o WHERE r.due_ms < o.before_ms AND r.id <= o.upto_id AND o.id > r.overdue_seen)";
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

/// The members a job's rows name, each parsed once and then shared by every marking that
/// names them.
#[derive(Default)]
struct Members(HashSet<MemberId>);

impl Members {
    fn get(&mut self, text: &str) -> Result<MemberId> {
        if let Some(known) = self.0.get(text) {
            return Ok(known.clone());
        }
        let parsed = member(text)?;
        self.0.insert(parsed.clone());
        Ok(parsed)
    }
}

impl Tx {
    /// The rows of `select` (columns id, giver, recipient, amount_cents, due_ms, extra; at most one
    /// parameter, `$1` = `param`) as the markings `marked` makes of them. The database packs the
    /// rows into one value (SQLite one JSON array, PostgreSQL one array per column), which crosses
    /// into the process at once: sqlx hands rows over one at a time, and for a rollover's 480,000
    /// that took longer than the statements.
    async fn read_markings(
        &mut self,
        select: &str,
        param: Option<i64>,
        members: &mut Members,
        marked: impl Fn(&Row<'_>) -> Result<Marked>,
    ) -> Result<Vec<Marking>> {
        match &mut self.tx {
            Backend::Sqlite(tx) => {
                let sql = format!(
                    "SELECT COUNT(*), json_group_array(json_array(id, giver, recipient, amount_cents, due_ms, extra)) FROM ({select})"
                );
                let query = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()));
                let query = if let Some(param) = param { query.bind(param) } else { query };
                let (count, packed): (i64, String) = query.fetch_one(&mut **tx).await?;
                packed_markings(
                    &packed,
                    usize::try_from(count).unwrap_or_default(),
                    members,
                    marked,
                )
            }
            Backend::Postgres(tx) => {
                let sql = format!("SELECT {POSTGRES_COLUMNS} FROM ({select}) AS c");
                let query = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()));
                let query = if let Some(param) = param { query.bind(param) } else { query };
                column_markings(query.fetch_one(&mut **tx).await?, members, marked)
            }
        }
    }

    /// Rolls the cycle that began at `previous_start` over into the one beginning at
    /// `cycle_start`, at `now`: expires the past cycle's uncommitted circle intentions, renews
    /// the obligations fulfilled in it as intentions while their owner is orange, marks
    /// obligations past due overdue. Running it again for the same cycle changes nothing more:
    /// expired and overdue records no longer match, and a renewal names the obligation it renews
    /// (unique).
    pub async fn rollover(
        &mut self,
        previous_start: DateTime<Utc>,
        cycle_start: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Marking>> {
        self.cache.records_changed();
        // Circle intentions still active (no expiry covers them) made before the cycle began.
        const EXPIRING: &str = "SELECT r.id, r.giver, r.recipient, r.amount_cents, r.due_ms, CAST(NULL AS TEXT) AS extra FROM records r \
             WHERE r.kind = 'intention' AND r.state = 'active' AND r.created_ms < $1 AND EXISTS (SELECT 1 FROM circles c WHERE c.room_id = r.room_id) \
             AND NOT EXISTS (SELECT 1 FROM expiries x WHERE r.created_ms < x.before_ms AND r.id <= x.upto_id AND x.id > r.expiry_seen)";
        const EXPIRE: &str = "INSERT INTO expiries (before_ms, upto_id, at_ms) SELECT $1, CAST(COALESCE(MAX(id), 0) AS BIGINT), $2 FROM records";
        // Renewals are numbered circle by circle (in the order of the obligations they renew):
        // a circle's renewals then go into the indexes by room and by recipient side by side.
        const RENEW: &str = "INSERT INTO records (kind, giver, recipient, room_id, amount_cents, what, state, overdue, created_ms, \
             changed_ms, renewed_from) \
             SELECT 'intention', r.giver, r.recipient, r.room_id, r.amount_cents, r.what, 'active', FALSE, $1, $1, r.id \
             FROM records r JOIN circles c ON c.owner = r.recipient AND c.room_id = r.room_id \
             JOIN members m ON m.user_id = r.recipient \
             WHERE r.kind = 'obligation' AND r.state = 'fulfilled' AND r.changed_ms >= $2 AND r.changed_ms < $3 \
             AND m.status = 'orange' ORDER BY r.room_id, r.id \
             ON CONFLICT (renewed_from) DO NOTHING";
        // The records the renewal made (SQLite: they are numbered after every record there was,
        // and no other writer runs meanwhile).
        const RENEWED: &str = "SELECT id, giver, recipient, amount_cents, due_ms, CAST(renewed_from AS TEXT) AS extra FROM records \
             WHERE id > $1 AND renewed_from IS NOT NULL";
        let (now_ms, previous_ms, start_ms) =
            (millis(now), millis(previous_start), millis(cycle_start));
        let mut members = Members::default();
        // A rollover writes a few hundred megabytes of log: copied back by the background task.
        self.leave_checkpoint_to_background().await?;
        let started = std::time::Instant::now();
        let mut changes = self
            .read_markings(EXPIRING, Some(start_ms), &mut members, |_| Ok(Marked::Expired))
            .await?;
        if !changes.is_empty() {
            on_backend!(&mut self.tx, tx => {
                sqlx::query(EXPIRE).bind(start_ms).bind(now_ms).execute(&mut **tx).await?;
            });
        }
        let expired_at = started.elapsed();
        let renewed = |row: &Row<'_>| {
            let from = row.5.and_then(|f| f.parse().ok());
            let from = from.ok_or_else(|| {
                StoreError::Corrupt(format!("renewal #{} without its obligation", row.0))
            })?;
            Ok(Marked::Renewed { from })
        };
        let renewals = if let Backend::Postgres(tx) = &mut self.tx {
            let sql = format!(
                "WITH renewed AS ({RENEW} RETURNING id, giver, recipient, amount_cents, due_ms, CAST(renewed_from AS TEXT) AS extra) \
                 SELECT {POSTGRES_COLUMNS} FROM renewed"
            );
            let columns = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(now_ms)
                .bind(previous_ms)
                .bind(start_ms)
                .fetch_one(&mut **tx)
                .await?;
            column_markings(columns, &mut members, renewed)?
        } else {
            let before: i64 = on_backend!(&mut self.tx, tx => {
                let before = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM records").fetch_one(&mut **tx).await?;
                sqlx::query(RENEW).bind(now_ms).bind(previous_ms).bind(start_ms).execute(&mut **tx).await?;
                before
            });
            self.read_markings(RENEWED, Some(before), &mut members, renewed).await?
        };
        let expired = changes.len();
        let (renewed, renewed_at) = (renewals.len(), started.elapsed());
        changes.extend(renewals);
        changes.extend(self.mark_overdue_with(now, &mut members).await?);
        let overdue_at = started.elapsed();
        changes.sort_unstable();
        tracing::debug!(
            expired,
            renewed,
            overdue = changes.len() - expired - renewed,
            ?expired_at,
            ?renewed_at,
            ?overdue_at,
            "rollover statements"
        );
        Ok(changes)
    }

    /// Marks the obligations past due at `now` overdue (they stay payable); each is marked once.
    /// One overdue mark covers them all, and replaces the marks it covers.
    pub async fn mark_overdue(&mut self, now: DateTime<Utc>) -> Result<Vec<Marking>> {
        let mut out = self.mark_overdue_with(now, &mut Members::default()).await?;
        out.sort_unstable();
        Ok(out)
    }

    async fn mark_overdue_with(
        &mut self,
        now: DateTime<Utc>,
        members: &mut Members,
    ) -> Result<Vec<Marking>> {
        self.cache.records_changed();
        const MARK: &str = "INSERT INTO overdue_marks (before_ms, upto_id) VALUES ($1, $2)";
        const REPLACED: &str = "DELETE FROM overdue_marks WHERE before_ms <= $1 AND upto_id <= $2 AND id <> (SELECT MAX(id) FROM overdue_marks)";
        let now_ms = millis(now);
        let out = self
            .read_markings(NEWLY_OVERDUE, Some(now_ms), members, |_| Ok(Marked::Overdue))
            .await?;
        if !out.is_empty() {
            on_backend!(&mut self.tx, tx => {
                let upto: i64 = sqlx::query_scalar(UPTO).bind(now_ms).fetch_one(&mut **tx).await?;
                sqlx::query(MARK).bind(now_ms).bind(upto).execute(&mut **tx).await?;
                sqlx::query(REPLACED).bind(now_ms).bind(upto).execute(&mut **tx).await?;
            });
        }
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
             AND EXISTS (SELECT 1 FROM circles c WHERE c.room_id = r.room_id) \
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
    pub async fn reminders(
        &mut self,
        which: Reminding,
        now: DateTime<Utc>,
    ) -> Result<Vec<Marking>> {
        const MONTH_END: &str = "SELECT r.id, r.giver, r.recipient, r.amount_cents, r.due_ms, r.state AS extra FROM records r \
             WHERE r.kind = 'obligation' AND r.state IN ('open', 'paid') AND NOT EXISTS (SELECT 1 FROM members m \
             WHERE m.user_id = r.recipient AND m.status = 'red' AND m.deadline_ms > $1) \
             AND NOT EXISTS (SELECT 1 FROM pools p WHERE p.room_id = r.room_id)";
        const POOLS: &str = "SELECT r.id, r.giver, r.recipient, r.amount_cents, r.due_ms, r.state AS extra FROM records r \
             JOIN pools p ON p.room_id = r.room_id WHERE r.kind = 'obligation' AND r.state IN ('open', 'paid')";
        const RED: &str = "SELECT r.id, r.giver, r.recipient, r.amount_cents, r.due_ms, r.state AS extra FROM records r \
             JOIN members m ON m.user_id = r.recipient \
             WHERE m.status = 'red' AND m.deadline_ms > $1 AND r.kind = 'obligation' AND r.state IN ('open', 'paid') \
             AND NOT EXISTS (SELECT 1 FROM pools p WHERE p.room_id = r.room_id)";
        let (select, param) = match which {
            Reminding::MonthEnd => (MONTH_END, Some(millis(now))),
            Reminding::RedCollections => (RED, Some(millis(now))),
            Reminding::PoolObligations => (POOLS, None),
        };
        let marked = |row: &Row<'_>| {
            Ok(if row.5 == Some("paid") { Marked::Unconfirmed } else { Marked::Due })
        };
        let mut out = self.read_markings(select, param, &mut Members::default(), marked).await?;
        out.sort_unstable_by_key(|m| m.id);
        Ok(out)
    }

    /// Members whose red collection's deadline is at or before `now`.
    pub async fn red_past_deadline(&mut self, now: DateTime<Utc>) -> Result<Vec<MemberId>> {
        const SQL: &str = "SELECT user_id FROM members WHERE status = 'red' AND deadline_ms <= $1 ORDER BY user_id";
        let ids: Vec<String> = on_backend!(&mut self.tx, tx => sqlx::query_scalar(SQL).bind(millis(now)).fetch_all(&mut **tx).await?);
        ids.iter().map(|id| member(id)).collect()
    }
}

/// The markings of `count` rows packed as a JSON array (see [`Tx::read_markings`]), made as the
/// array is read.
fn packed_markings(
    packed: &str,
    count: usize,
    members: &mut Members,
    marked: impl Fn(&Row<'_>) -> Result<Marked>,
) -> Result<Vec<Marking>> {
    use serde::de::{DeserializeSeed, Deserializer, Error as _, SeqAccess, Visitor};

    struct Rows<'m, F> {
        count: usize,
        members: &'m mut Members,
        marked: F,
    }
    impl<'de, F: Fn(&Row<'_>) -> Result<Marked>> Visitor<'de> for Rows<'_, F> {
        type Value = Vec<Marking>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an array of records")
        }
        fn visit_seq<A: SeqAccess<'de>>(
            self,
            mut rows: A,
        ) -> std::result::Result<Vec<Marking>, A::Error> {
            let mut out = Vec::with_capacity(self.count);
            while let Some(row) = rows.next_element::<Row<'de>>()? {
                out.push(marking(&row, self.members, &self.marked).map_err(A::Error::custom)?);
            }
            Ok(out)
        }
    }
    impl<'de, F: Fn(&Row<'_>) -> Result<Marked>> DeserializeSeed<'de> for Rows<'_, F> {
        type Value = Vec<Marking>;
        fn deserialize<D: Deserializer<'de>>(
            self,
            d: D,
        ) -> std::result::Result<Vec<Marking>, D::Error> {
            d.deserialize_seq(self)
        }
    }

    let corrupt = |e: serde_json::Error| StoreError::Corrupt(format!("records read by a job: {e}"));
    let mut reader = serde_json::Deserializer::from_str(packed);
    let out = Rows { count, members, marked }.deserialize(&mut reader).map_err(corrupt)?;
    reader.end().map_err(corrupt)?;
    Ok(out)
}

fn marking(
    row: &Row<'_>,
    members: &mut Members,
    marked: impl Fn(&Row<'_>) -> Result<Marked>,
) -> Result<Marking> {
    Ok(Marking {
        marked: marked(row)?,
        id: row.0,
        giver: members.get(row.1)?,
        recipient: members.get(row.2)?,
        amount: Amount::from_stored_cents(row.3),
        due: row.4.map(from_millis).transpose()?,
    })
}

/// The markings of rows packed as one array per column (see [`Tx::read_markings`]).
fn column_markings(
    (ids, givers, recipients, cents, dues, extras): Columns,
    members: &mut Members,
    marked: impl Fn(&Row<'_>) -> Result<Marked>,
) -> Result<Vec<Marking>> {
    let (ids, givers, recipients, cents, dues, extras) = (
        ids.unwrap_or_default(),
        givers.unwrap_or_default(),
        recipients.unwrap_or_default(),
        cents.unwrap_or_default(),
        dues.unwrap_or_default(),
        extras.unwrap_or_default(),
    );
    let n = ids.len();
    if [givers.len(), recipients.len(), cents.len(), dues.len(), extras.len()]
        .iter()
        .any(|len| *len != n)
    {
        return Err(StoreError::Corrupt(
            "records read by a job: columns of different lengths".into(),
        ));
    }
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let row: Row<'_> =
            (ids[i], &givers[i], &recipients[i], cents[i], dues[i], extras[i].as_deref());
        out.push(marking(&row, members, &marked)?);
    }
    Ok(out)
}
