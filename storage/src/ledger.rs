//! Circles and their ledger: the `circles` and `records` tables (SPEC §3.2).

use exodus_commands::{Code, FromCode};
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use exodus_commands::ledger::{Kind, Record, RecordId, State};
use exodus_commands::network::Support;
use exodus_commands::profile::{Level, Reliability, Totals};
use exodus_commands::{Amount, MemberId};
use sqlx::Row;

use crate::batch::TotalsByMember;
use crate::{
    Backend, ROWS_PER_STATEMENT, Result, Store, StoreError, Tx, from_millis, millis, on_backend,
    placeholders,
};

const COLUMNS: &str = "id, kind, giver, recipient, room_id, amount_cents, what, state, overdue, created_ms, due_ms, changed_ms";
/// The last expiry and overdue mark a written record has taken into account (migration 0010), and
/// their values for a record written now.
const SEEN_COLUMNS: &str = "expiry_seen, overdue_seen";
const SEEN: &str =
    "(SELECT COALESCE(MAX(id), 0) FROM expiries), (SELECT COALESCE(MAX(id), 0) FROM overdue_marks)";

/// The stored columns of a record, before validation.
struct Columns {
    id: i64,
    kind: String,
    giver: String,
    recipient: String,
    room_id: String,
    amount_cents: i64,
    what: Option<String>,
    state: String,
    overdue: bool,
    created_ms: i64,
    due_ms: Option<i64>,
    changed_ms: i64,
}

/// Reads the [`COLUMNS`] of a row of either backend.
macro_rules! columns {
    ($row:expr) => {
        Columns {
            id: $row.try_get(0)?,
            kind: $row.try_get(1)?,
            giver: $row.try_get(2)?,
            recipient: $row.try_get(3)?,
            room_id: $row.try_get(4)?,
            amount_cents: $row.try_get(5)?,
            what: $row.try_get(6)?,
            state: $row.try_get(7)?,
            overdue: $row.try_get(8)?,
            created_ms: $row.try_get(9)?,
            due_ms: $row.try_get(10)?,
            changed_ms: $row.try_get(11)?,
        }
    };
}

pub(crate) fn member(text: &str) -> Result<MemberId> {
    MemberId::parse(text).ok_or_else(|| StoreError::Corrupt(format!("member {text}")))
}

impl Columns {
    fn into_record(self) -> Result<Record> {
        Ok(Record {
            id: self.id,
            kind: Kind::from_code(&self.kind)
                .ok_or_else(|| StoreError::Corrupt(format!("record kind {}", self.kind)))?,
            giver: member(&self.giver)?,
            recipient: member(&self.recipient)?,
            room_id: self.room_id,
            amount: Amount::from_stored_cents(self.amount_cents),
            what: self.what,
            state: State::from_code(&self.state)
                .ok_or_else(|| StoreError::Corrupt(format!("record state {}", self.state)))?,
            overdue: self.overdue,
            created_at: from_millis(self.created_ms)?,
            due: self.due_ms.map(from_millis).transpose()?,
            changed_at: from_millis(self.changed_ms)?,
        })
    }
}

/// Runs a query returning [`COLUMNS`] rows and turns them into records.
macro_rules! fetch_records {
    ($backend:expr, $sql:expr, $($bind:expr),*) => {{
        let columns: Vec<Columns> = on_backend!($backend, conn => {
            let rows = sqlx::query($sql)$(.bind($bind))*.fetch_all(&mut **conn).await?;
            rows.iter().map(|row| Ok(columns!(row))).collect::<Result<Vec<_>, sqlx::Error>>()?
        });
        columns.into_iter().map(Columns::into_record).collect::<Result<Vec<Record>>>()
    }};
}

impl Store {
    /// The owner of the circle bound to `room_id`.
    pub async fn circle_owner_of(&self, room_id: &str) -> Result<Option<MemberId>> {
        const SQL: &str = "SELECT owner FROM circles WHERE room_id = $1";
        let owner: Option<String> = on_backend!(&self.pool, pool => sqlx::query_scalar(SQL).bind(room_id).fetch_optional(pool).await?);
        owner.as_deref().map(member).transpose()
    }

    /// The room of `owner`'s circle.
    pub async fn circle_room_of(&self, owner: &MemberId) -> Result<Option<String>> {
        const SQL: &str = "SELECT room_id FROM circles WHERE owner = $1";
        Ok(
            on_backend!(&self.pool, pool => sqlx::query_scalar(SQL).bind(owner.as_str()).fetch_optional(pool).await?),
        )
    }

    /// The circle rooms of those of `owners` who have one.
    pub async fn circle_rooms_of(&self, owners: &[MemberId]) -> Result<BTreeMap<MemberId, String>> {
        let mut out = BTreeMap::new();
        for chunk in owners.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "SELECT owner, room_id FROM circles WHERE owner IN ({})",
                placeholders(1, chunk.len())
            );
            let rows: Vec<(String, String)> = on_backend!(&self.pool, pool => {
                let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()));
                for m in chunk {
                    query = query.bind(m.as_str());
                }
                query.fetch_all(pool).await?
            });
            for (owner, room) in rows {
                out.insert(member(&owner)?, room);
            }
        }
        Ok(out)
    }

    /// The room of record `#id`'s circle.
    pub async fn record_room(&self, id: RecordId) -> Result<Option<String>> {
        const SQL: &str = "SELECT room_id FROM records WHERE id = $1";
        Ok(
            on_backend!(&self.pool, pool => sqlx::query_scalar(SQL).bind(id).fetch_optional(pool).await?),
        )
    }

    /// The tag of the message the bot sent as `event_id` (`paid:<id>` for a paid notice).
    pub async fn sent_message_tag(&self, event_id: &str) -> Result<Option<crate::Tag>> {
        const SQL: &str = "SELECT tag FROM outbox WHERE sent_event_id = $1";
        let tag: Option<Option<String>> = on_backend!(&self.pool, pool => sqlx::query_scalar(SQL).bind(event_id).fetch_optional(pool).await?);
        tag.flatten().map(|t| t.parse()).transpose()
    }

    /// The support relations (SPEC §6) of `member` and of everyone `member` is related to (see
    /// [`Tx::network_supports`]), as committed.
    pub async fn network_supports(
        &self,
        member: &MemberId,
        since: DateTime<Utc>,
        max_related: usize,
    ) -> Result<Vec<Support>> {
        let mut tx = self.read().await?;
        let supports = tx.network_supports(member, since, max_related).await?;
        tx.rollback().await?;
        Ok(supports)
    }

    /// The status levels of `members`; those without a profile are left out (green).
    pub async fn levels(&self, members: &[MemberId]) -> Result<BTreeMap<MemberId, Level>> {
        const SQL: &str = "SELECT status FROM members WHERE user_id = $1";
        let mut out = BTreeMap::new();
        for m in members {
            let status: Option<String> = on_backend!(&self.pool, pool => sqlx::query_scalar(SQL).bind(m.as_str()).fetch_optional(pool).await?);
            if let Some(status) = status {
                let level = Level::from_code(&status)
                    .ok_or_else(|| StoreError::Corrupt(format!("status {status}")))?;
                out.insert(m.clone(), level);
            }
        }
        Ok(out)
    }

    /// Every circle, as `(owner, room_id)`.
    pub async fn circles(&self) -> Result<Vec<(MemberId, String)>> {
        const SQL: &str = "SELECT owner, room_id FROM circles ORDER BY owner";
        let rows: Vec<(String, String)> =
            on_backend!(&self.pool, pool => sqlx::query_as(SQL).fetch_all(pool).await?);
        rows.into_iter().map(|(o, r)| Ok((member(&o)?, r))).collect()
    }
}

impl Tx {
    /// The support relations (SPEC §6) of `member` and of everyone `member` is related to: one
    /// per giver, recipient and circle room, from active intentions, open obligations and
    /// fulfilments since `since`. At most `max_related` related members are followed.
    pub async fn network_supports(
        &mut self,
        member: &MemberId,
        since: DateTime<Utc>,
        max_related: usize,
    ) -> Result<Vec<Support>> {
        let mut all: BTreeSet<Support> =
            self.supports_of(std::slice::from_ref(member), since).await?;
        let related: Vec<MemberId> = all
            .iter()
            .flat_map(|s| [s.giver.clone(), s.recipient.clone()])
            .filter(|m| m != member)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .take(max_related)
            .collect();
        all.extend(self.supports_of(&related, since).await?);
        Ok(all.into_iter().collect())
    }

    /// Reads the support relations of `members` into the cache (kept until a record is written).
    pub async fn preload_supports(
        &mut self,
        members: &[MemberId],
        since: DateTime<Utc>,
    ) -> Result<()> {
        self.supports_of(members, since).await.map(drop)
    }

    /// The support relations any of `members` is a party to: from the cache, and for the others
    /// one statement per few hundred members.
    async fn supports_of(
        &mut self,
        members: &[MemberId],
        since: DateTime<Utc>,
    ) -> Result<BTreeSet<Support>> {
        let since_ms = millis(since);
        if self.cache.supports.as_ref().is_none_or(|(s, _)| *s != since_ms) {
            self.cache.supports = Some((since_ms, BTreeMap::new()));
        }
        let mut out = BTreeSet::new();
        let mut missing = Vec::new();
        if let Some((_, cached)) = &self.cache.supports {
            for m in members {
                match cached.get(m) {
                    Some(found) => out.extend(found.iter().cloned()),
                    None => missing.push(m.clone()),
                }
            }
        }
        for chunk in missing.chunks(ROWS_PER_STATEMENT) {
            let list = placeholders(1, chunk.len());
            let since_param = chunk.len() + 1;
            let sql = format!(
                "SELECT DISTINCT giver, recipient, room_id FROM ledger WHERE (giver IN ({list}) OR recipient IN ({list})) \
                 AND (state IN ('active', 'open', 'paid') OR (state IN ('fulfilled', 'cleared') AND changed_ms >= ${since_param})) \
                 ORDER BY giver, recipient, room_id"
            );
            let rows: Vec<(String, String, String)> = on_backend!(&mut self.tx, tx => {
                let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()));
                for m in chunk {
                    query = query.bind(m.as_str());
                }
                query.bind(since_ms).fetch_all(&mut **tx).await?
            });
            let mut by_member: BTreeMap<MemberId, Vec<Support>> =
                chunk.iter().map(|m| (m.clone(), Vec::new())).collect();
            for (g, r, room_id) in rows {
                let support = Support { giver: member(&g)?, recipient: member(&r)?, room_id };
                for party in [&support.giver, &support.recipient] {
                    if let Some(list) = by_member.get_mut(party) {
                        list.push(support.clone());
                    }
                }
                out.insert(support);
            }
            if let Some((_, cached)) = &mut self.cache.supports {
                cached.extend(by_member);
            }
        }
        Ok(out)
    }

    pub async fn circle_owner_of(&mut self, room_id: &str) -> Result<Option<MemberId>> {
        if let Some(owner) = self.cache.circle_owners.get(room_id) {
            return Ok(owner.clone());
        }
        self.preload_circle_owners(&[room_id.to_owned()]).await?;
        Ok(self.cache.circle_owners.get(room_id).cloned().flatten())
    }

    /// Reads the owners of the circles bound to those of `rooms` not in the cache yet.
    pub(crate) async fn preload_circle_owners(&mut self, rooms: &[String]) -> Result<()> {
        let missing: Vec<&str> = rooms
            .iter()
            .map(String::as_str)
            .filter(|r| !self.cache.circle_owners.contains_key(*r))
            .collect();
        let found = self.circles_by("room_id", "owner", &missing).await?;
        for room in missing {
            let owner = found.get(room).map(|o| member(o)).transpose()?;
            self.cache.circle_owners.insert(room.to_owned(), owner);
        }
        Ok(())
    }

    /// `key → value` of the circles whose `key` column (`owner` or `room_id`) is one of `keys`.
    async fn circles_by(
        &mut self,
        key: &'static str,
        value: &'static str,
        keys: &[&str],
    ) -> Result<BTreeMap<String, String>> {
        let mut found = BTreeMap::new();
        for chunk in keys.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "SELECT {key}, {value} FROM circles WHERE {key} IN ({})",
                placeholders(1, chunk.len())
            );
            let rows: Vec<(String, String)> = on_backend!(&mut self.tx, tx => {
                let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()));
                for k in chunk {
                    query = query.bind(*k);
                }
                query.fetch_all(&mut **tx).await?
            });
            found.extend(rows);
        }
        Ok(found)
    }

    pub async fn circle_room_of(&mut self, owner: &MemberId) -> Result<Option<String>> {
        if let Some(room) = self.cache.circle_rooms.get(owner) {
            return Ok(room.clone());
        }
        self.preload_circle_rooms(std::slice::from_ref(owner)).await?;
        Ok(self.cache.circle_rooms.get(owner).cloned().flatten())
    }

    /// Reads the circle rooms of the `owners` not in the cache yet.
    pub(crate) async fn preload_circle_rooms(&mut self, owners: &[MemberId]) -> Result<()> {
        let missing: Vec<&MemberId> =
            owners.iter().filter(|m| !self.cache.circle_rooms.contains_key(*m)).collect();
        let keys: Vec<&str> = missing.iter().map(|m| m.as_str()).collect();
        let found = self.circles_by("owner", "room_id", &keys).await?;
        for m in missing {
            self.cache.circle_rooms.insert(m.clone(), found.get(m.as_str()).cloned());
        }
        Ok(())
    }

    /// Binds `room_id` as `owner`'s circle; `false` when the owner already has a circle or the
    /// room already is one (nothing written).
    pub async fn bind_circle(
        &mut self,
        owner: &MemberId,
        room_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        const SQL: &str = "INSERT INTO circles (owner, room_id, created_ms) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
        let n = on_backend!(&mut self.tx, tx => sqlx::query(SQL)
            .bind(owner.as_str()).bind(room_id).bind(millis(now))
            .execute(&mut **tx).await?.rows_affected());
        if n == 1 {
            self.cache.circle_rooms.insert(owner.clone(), Some(room_id.to_owned()));
            self.cache.circle_owners.insert(room_id.to_owned(), Some(owner.clone()));
        }
        Ok(n == 1)
    }

    /// The number the next record will get. On SQLite the write lock of `BEGIN IMMEDIATE` makes
    /// it safe; on PostgreSQL it comes from the table's sequence.
    pub async fn next_record_id(&mut self) -> Result<RecordId> {
        Ok(match &mut self.tx {
            Backend::Sqlite(tx) => {
                sqlx::query_scalar::<_, i64>("SELECT COALESCE(MAX(id), 0) + 1 FROM records")
                    .fetch_one(&mut **tx)
                    .await?
            }
            Backend::Postgres(tx) => {
                sqlx::query_scalar::<_, i64>(
                    "SELECT nextval(pg_get_serial_sequence('records', 'id'))",
                )
                .fetch_one(&mut **tx)
                .await?
            }
        })
    }

    /// Record `#id`, locked until the transaction ends.
    pub async fn record_for_update(&mut self, id: RecordId) -> Result<Option<Record>> {
        let sql = match &self.tx {
            Backend::Sqlite(_) => format!("SELECT {COLUMNS} FROM ledger WHERE id = $1"),
            Backend::Postgres(_) => {
                format!("SELECT {COLUMNS} FROM ledger WHERE id = $1 FOR UPDATE")
            }
        };
        let mut found = fetch_records!(&mut self.tx, sqlx::AssertSqlSafe(sql.as_str()), id)?;
        Ok(found.pop())
    }

    /// A circle's records for its figures: every open one, those that closed since
    /// `cycle_start`, and those due at `red_deadline`.
    pub async fn circle_records(
        &mut self,
        room_id: &str,
        cycle_start: DateTime<Utc>,
        red_deadline: Option<DateTime<Utc>>,
    ) -> Result<Vec<Record>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM ledger WHERE room_id = $1 AND (state IN ('active', 'open', 'paid') \
             OR changed_ms >= $2 OR due_ms = $3) ORDER BY id"
        );
        fetch_records!(
            &mut self.tx,
            sqlx::AssertSqlSafe(sql.as_str()),
            room_id,
            millis(cycle_start),
            red_deadline.map(millis)
        )
    }

    /// The member's records as giver or recipient, newest first, at most `limit`.
    pub async fn member_records(
        &mut self,
        member: &MemberId,
        open: bool,
        limit: i64,
    ) -> Result<Vec<Record>> {
        let states = if open {
            "state IN ('active', 'open', 'paid')"
        } else {
            "state NOT IN ('active', 'open', 'paid')"
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM ledger WHERE (giver = $1 OR recipient = $1) AND {states} ORDER BY id DESC LIMIT $2"
        );
        fetch_records!(&mut self.tx, sqlx::AssertSqlSafe(sql.as_str()), member.as_str(), limit)
    }

    /// Open intentions in `recipient`'s favour (cancelled when they go green).
    pub async fn active_intentions_for(&mut self, recipient: &MemberId) -> Result<Vec<Record>> {
        if let Some(found) = self.cache.intentions_for.get(recipient) {
            return Ok(found.clone());
        }
        self.preload_intentions_for(std::slice::from_ref(recipient)).await?;
        Ok(self.cache.intentions_for.get(recipient).cloned().unwrap_or_default())
    }

    /// Reads the open intentions in favour of `recipients` into the cache (kept until a record
    /// is written).
    pub async fn preload_intentions_for(&mut self, recipients: &[MemberId]) -> Result<()> {
        let missing: Vec<MemberId> = recipients
            .iter()
            .filter(|m| !self.cache.intentions_for.contains_key(*m))
            .cloned()
            .collect();
        for chunk in missing.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "SELECT {COLUMNS} FROM ledger WHERE recipient IN ({}) AND state = 'active' AND initiative_id IS NULL ORDER BY id",
                placeholders(1, chunk.len())
            );
            let columns: Vec<Columns> = on_backend!(&mut self.tx, tx => {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
                for m in chunk {
                    query = query.bind(m.as_str());
                }
                let rows = query.fetch_all(&mut **tx).await?;
                rows.iter().map(|row| Ok(columns!(row))).collect::<Result<Vec<_>, sqlx::Error>>()?
            });
            let mut by_recipient: BTreeMap<MemberId, Vec<Record>> =
                chunk.iter().map(|m| (m.clone(), Vec::new())).collect();
            for c in columns {
                let record = c.into_record()?;
                if let Some(list) = by_recipient.get_mut(&record.recipient) {
                    list.push(record);
                }
            }
            self.cache.intentions_for.extend(by_recipient);
        }
        Ok(())
    }

    /// The records of initiative `#initiative` that its figures count: active backings, the
    /// obligations funding made, and those a lapse at `lapsed_at` cancelled.
    pub async fn initiative_records(
        &mut self,
        initiative: i64,
        lapsed_at: Option<DateTime<Utc>>,
    ) -> Result<Vec<Record>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM ledger WHERE initiative_id = $1 AND (state = 'active' OR kind = 'obligation' \
             OR (state = 'cancelled' AND changed_ms = $2)) ORDER BY id"
        );
        fetch_records!(
            &mut self.tx,
            sqlx::AssertSqlSafe(sql.as_str()),
            initiative,
            lapsed_at.map(millis)
        )
    }

    /// Active backings by `giver` of the initiatives of `room_id` (withdrawn when they leave it).
    pub async fn active_backings_by(
        &mut self,
        giver: &MemberId,
        room_id: &str,
    ) -> Result<Vec<Record>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM ledger WHERE giver = $1 AND room_id = $2 AND state = 'active' AND initiative_id IS NOT NULL ORDER BY id"
        );
        fetch_records!(&mut self.tx, sqlx::AssertSqlSafe(sql.as_str()), giver.as_str(), room_id)
    }

    /// Writes a new backing of initiative `#initiative` with the number it already has.
    pub async fn insert_backing(&mut self, initiative: i64, r: &Record) -> Result<()> {
        self.insert_record(r).await?;
        const SQL: &str = "UPDATE records SET initiative_id = $2 WHERE id = $1";
        on_backend!(&mut self.tx, tx => { sqlx::query(SQL).bind(r.id).bind(initiative).execute(&mut **tx).await?; });
        Ok(())
    }

    /// Open intentions by `giver` in the circle of `room_id` (withdrawn when they leave it).
    pub async fn active_intentions_by(
        &mut self,
        giver: &MemberId,
        room_id: &str,
    ) -> Result<Vec<Record>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM ledger WHERE giver = $1 AND room_id = $2 AND state = 'active' ORDER BY id"
        );
        fetch_records!(&mut self.tx, sqlx::AssertSqlSafe(sql.as_str()), giver.as_str(), room_id)
    }

    /// Writes a new record with the number it already has (from [`Tx::next_record_id`]).
    pub async fn insert_record(&mut self, r: &Record) -> Result<()> {
        crate::no_nul("a record's text", r.what.as_deref())?;
        self.cache.records_changed();
        // Written as it is now: the expiries and overdue marks there are already applied to it.
        let sql = format!(
            "INSERT INTO records ({COLUMNS}, {SEEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, {SEEN})"
        );
        on_backend!(&mut self.tx, tx => { sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(r.id).bind(r.kind.code()).bind(r.giver.as_str()).bind(r.recipient.as_str()).bind(&r.room_id)
            .bind(r.amount.cents()).bind(&r.what).bind(r.state.code()).bind(r.overdue).bind(millis(r.created_at))
            .bind(r.due.map(millis)).bind(millis(r.changed_at))
            .execute(&mut **tx).await?; });
        Ok(())
    }

    /// Writes a changed record (amount, state, overdue, due, changed time).
    pub async fn update_record(&mut self, r: &Record) -> Result<()> {
        self.cache.records_changed();
        // Written as it is now (read through `ledger`): the marks there are no longer apply to it.
        const SQL: &str = "UPDATE records SET kind = $2, amount_cents = $3, state = $4, overdue = $5, due_ms = $6, \
                           changed_ms = $7, expiry_seen = (SELECT COALESCE(MAX(id), 0) FROM expiries), \
                           overdue_seen = (SELECT COALESCE(MAX(id), 0) FROM overdue_marks) WHERE id = $1";
        let n = on_backend!(&mut self.tx, tx => sqlx::query(SQL)
            .bind(r.id).bind(r.kind.code()).bind(r.amount.cents()).bind(r.state.code()).bind(r.overdue)
            .bind(r.due.map(millis)).bind(millis(r.changed_at))
            .execute(&mut **tx).await?.rows_affected());
        if n != 1 {
            return Err(StoreError::Corrupt(format!("record #{} to update does not exist", r.id)));
        }
        Ok(())
    }

    /// What `status` shows of the member's giving and receiving this cycle: ❤️ open intentions,
    /// 🤝 open obligations, 👍 fulfilled since `cycle_start`; as giver and as recipient.
    pub async fn cycle_totals(
        &mut self,
        member: &MemberId,
        cycle_start: DateTime<Utc>,
    ) -> Result<(Totals, Totals)> {
        let (given, received, _) = self.member_totals(member, cycle_start).await?;
        Ok((given, received))
    }

    /// How the member kept the obligations they gave, over all time (read with the cycle
    /// totals of `cycle_start`, in the same statement).
    pub async fn reliability(
        &mut self,
        member: &MemberId,
        cycle_start: DateTime<Utc>,
    ) -> Result<Reliability> {
        Ok(self.member_totals(member, cycle_start).await?.2)
    }

    async fn member_totals(
        &mut self,
        member: &MemberId,
        cycle_start: DateTime<Utc>,
    ) -> Result<(Totals, Totals, Reliability)> {
        if let Some((start, totals)) = &self.cache.totals
            && *start == millis(cycle_start)
            && let Some(found) = totals.get(member)
        {
            return Ok(*found);
        }
        let mut totals = self.read_totals(std::slice::from_ref(member), cycle_start).await?;
        Ok(totals.remove(member).unwrap_or_default())
    }

    /// Reads the cycle totals of `members` into the cache (kept until a record is written).
    pub(crate) async fn preload_totals(
        &mut self,
        members: &[MemberId],
        cycle_start: DateTime<Utc>,
    ) -> Result<()> {
        let totals = self.read_totals(members, cycle_start).await?;
        let start = millis(cycle_start);
        match &mut self.cache.totals {
            Some((s, cached)) if *s == start => cached.extend(totals),
            _ => self.cache.totals = Some((start, totals)),
        }
        Ok(())
    }

    /// [`Tx::cycle_totals`] of several members: one statement per few hundred members, every one
    /// of them in the map.
    async fn read_totals(
        &mut self,
        members: &[MemberId],
        cycle_start: DateTime<Utc>,
    ) -> Result<TotalsByMember> {
        let mut out: TotalsByMember =
            members.iter().map(|m| (m.clone(), Default::default())).collect();
        for chunk in members.chunks(ROWS_PER_STATEMENT) {
            let list = placeholders(1, chunk.len());
            let since = chunk.len() + 1;
            let open = format!(
                "(state IN ('active', 'open', 'paid') OR (state IN ('fulfilled', 'cleared') AND changed_ms >= ${since}))"
            );
            // As giver, as recipient of someone else's record, and the giver's reliability counts
            // (kind `counted`; the second column is then the overdue flag, the last the count).
            let sql = format!(
                "SELECT giver, TRUE, kind, state, CAST(SUM(amount_cents) AS BIGINT) FROM ledger \
                 WHERE giver IN ({list}) AND {open} GROUP BY giver, kind, state \
                 UNION ALL SELECT recipient, FALSE, kind, state, CAST(SUM(amount_cents) AS BIGINT) FROM ledger \
                 WHERE recipient IN ({list}) AND giver <> recipient AND {open} GROUP BY recipient, kind, state \
                 UNION ALL SELECT giver, overdue, 'counted', state, CAST(COUNT(*) AS BIGINT) FROM ledger \
                 WHERE giver IN ({list}) AND kind = 'obligation' AND (state IN ('fulfilled', 'cleared', 'forgiven') OR overdue) \
                 GROUP BY giver, overdue, state"
            );
            let rows: Vec<(String, bool, String, String, i64)> = on_backend!(&mut self.tx, tx => {
                let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()));
                for m in chunk {
                    query = query.bind(m.as_str());
                }
                query.bind(millis(cycle_start)).fetch_all(&mut **tx).await?
            });
            for (who, as_giver, kind, state, cents) in rows {
                let Some((given, received, reliability)) = out.get_mut(&member(&who)?) else {
                    continue;
                };
                if kind == "counted" {
                    let n = u32::try_from(cents).unwrap_or(u32::MAX);
                    let overdue = as_giver;
                    match state.as_str() {
                        "fulfilled" | "cleared" => {
                            reliability.fulfilled = reliability.fulfilled.saturating_add(n)
                        }
                        "forgiven" => reliability.forgiven = reliability.forgiven.saturating_add(n),
                        _ => {}
                    }
                    if overdue {
                        reliability.overdue = reliability.overdue.saturating_add(n);
                    }
                    continue;
                }
                let totals = if as_giver { given } else { received };
                let sum = match (kind.as_str(), state.as_str()) {
                    ("intention", "active") => &mut totals.intentions,
                    ("obligation", "open" | "paid") => &mut totals.obligations,
                    ("obligation", "fulfilled" | "cleared") => &mut totals.fulfilled,
                    _ => continue,
                };
                *sum = sum.saturating_add(Amount::from_stored_cents(cents));
            }
        }
        Ok(out)
    }
}
