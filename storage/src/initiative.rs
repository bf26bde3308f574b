//! Initiatives (SPEC §3.4): the `initiatives` and `initiative_interest` tables. Backings are
//! `records` rows naming their initiative (`initiative_id`).

use chrono::{DateTime, Utc};
use exodus_commands::initiative::{Initiative, InitiativeFacts, InitiativeId, InitiativeState};
use exodus_commands::{Amount, MemberId};
use exodus_commands::{Code, FromCode};

use crate::ledger::member;
use crate::{Backend, Result, Store, StoreError, Tx, from_millis, millis, on_backend};

/// id, room, proposer, title, goal, deadline, state, created, decided, card days.
type InitiativeRow = (i64, String, String, String, i64, i64, String, i64, Option<i64>, i64);
const INITIATIVE: &str = "id, room_id, proposer, title, goal_cents, deadline_ms, state, created_ms, decided_ms, card_days";

fn initiative(row: InitiativeRow) -> Result<(Initiative, i64)> {
    let (id, room_id, proposer, title, goal, deadline, state, created, decided, card_days) = row;
    let state = InitiativeState::from_code(&state)
        .ok_or_else(|| StoreError::Corrupt(format!("initiative state {state}")))?;
    Ok((
        Initiative {
            id,
            room_id,
            proposer: member(&proposer)?,
            title,
            goal: Amount::from_stored_cents(goal),
            deadline: from_millis(deadline)?,
            state,
            created: from_millis(created)?,
            decided: decided.map(from_millis).transpose()?,
        },
        card_days,
    ))
}

impl Store {
    /// The event the bot sent as the message tagged `tag` in `room_id` (an initiative's card),
    /// once it is sent.
    pub async fn tagged_event(&self, room_id: &str, tag: crate::Tag) -> Result<Option<String>> {
        let tag = tag.to_string();
        const SQL: &str = "SELECT sent_event_id FROM outbox WHERE room_id = $1 AND tag = $2 AND sent_event_id IS NOT NULL ORDER BY id LIMIT 1";
        Ok(
            on_backend!(&self.pool, pool => sqlx::query_scalar(SQL).bind(room_id).bind(&tag).fetch_optional(pool).await?),
        )
    }

    /// The room of initiative `#id`.
    pub async fn initiative_room(&self, id: InitiativeId) -> Result<Option<String>> {
        const SQL: &str = "SELECT room_id FROM initiatives WHERE id = $1";
        Ok(
            on_backend!(&self.pool, pool => sqlx::query_scalar(SQL).bind(id).fetch_optional(pool).await?),
        )
    }

    /// The initiative and member whose interest the 👍 event `source` showed.
    pub async fn interest_of(&self, source: &str) -> Result<Option<(InitiativeId, MemberId)>> {
        const SQL: &str =
            "SELECT initiative_id, member FROM initiative_interest WHERE source_event_id = $1";
        let row: Option<(i64, String)> = on_backend!(&self.pool, pool => sqlx::query_as(SQL).bind(source).fetch_optional(pool).await?);
        row.map(|(id, m)| Ok((id, member(&m)?))).transpose()
    }
}

impl Tx {
    /// The number the next initiative will get (as [`Tx::next_record_id`]).
    pub async fn next_initiative_id(&mut self) -> Result<InitiativeId> {
        Ok(match &mut self.tx {
            Backend::Sqlite(tx) => {
                sqlx::query_scalar::<_, i64>("SELECT COALESCE(MAX(id), 0) + 1 FROM initiatives")
                    .fetch_one(&mut **tx)
                    .await?
            }
            Backend::Postgres(tx) => {
                sqlx::query_scalar::<_, i64>(
                    "SELECT nextval(pg_get_serial_sequence('initiatives', 'id'))",
                )
                .fetch_one(&mut **tx)
                .await?
            }
        })
    }

    /// Writes a new initiative whose card shows `card_days` days left.
    pub async fn create_initiative(&mut self, i: &Initiative, card_days: i64) -> Result<()> {
        crate::no_nul("an initiative's title", i.title.as_str())?;
        let sql = format!(
            "INSERT INTO initiatives ({INITIATIVE}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        );
        on_backend!(&mut self.tx, tx => { sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(i.id).bind(&i.room_id).bind(i.proposer.as_str()).bind(&i.title).bind(i.goal.cents()).bind(millis(i.deadline))
            .bind(i.state.code()).bind(millis(i.created)).bind(i.decided.map(millis)).bind(card_days)
            .execute(&mut **tx).await?; });
        Ok(())
    }

    /// Writes an initiative's goal, state and decision time.
    pub async fn save_initiative(&mut self, i: &Initiative) -> Result<()> {
        const SQL: &str =
            "UPDATE initiatives SET goal_cents = $2, state = $3, decided_ms = $4 WHERE id = $1";
        let n = on_backend!(&mut self.tx, tx => sqlx::query(SQL).bind(i.id).bind(i.goal.cents()).bind(i.state.code()).bind(i.decided.map(millis))
            .execute(&mut **tx).await?.rows_affected());
        if n != 1 {
            return Err(StoreError::Corrupt(format!(
                "initiative #{} to update does not exist",
                i.id
            )));
        }
        Ok(())
    }

    /// Initiative `#id` with its counted backings and interest, its row locked on PostgreSQL
    /// (decisions about one initiative are serialised), and the days left its card shows.
    pub async fn initiative_for_update(
        &mut self,
        id: InitiativeId,
    ) -> Result<Option<(InitiativeFacts, i64)>> {
        let lock = if self.anonymous_params() { "" } else { " FOR UPDATE" };
        let sql = format!("SELECT {INITIATIVE} FROM initiatives WHERE id = $1{lock}");
        let row: Option<InitiativeRow> = on_backend!(&mut self.tx, tx => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(&mut **tx).await?);
        let Some(row) = row else { return Ok(None) };
        let (initiative, card_days) = initiative(row)?;
        Ok(Some((self.facts(initiative).await?, card_days)))
    }

    async fn facts(&mut self, initiative: Initiative) -> Result<InitiativeFacts> {
        let lapsed_at =
            if initiative.state == InitiativeState::Lapsed { initiative.decided } else { None };
        let backings = self.initiative_records(initiative.id, lapsed_at).await?;
        const INTEREST: &str = "SELECT COUNT(*) FROM initiative_interest WHERE initiative_id = $1";
        let interest: i64 = on_backend!(&mut self.tx, tx => sqlx::query_scalar(INTEREST).bind(initiative.id).fetch_one(&mut **tx).await?);
        Ok(InitiativeFacts {
            initiative,
            backings,
            interest: usize::try_from(interest).unwrap_or(0),
        })
    }

    /// The active initiatives of `room_id`, oldest first.
    pub async fn room_initiatives(&mut self, room_id: &str) -> Result<Vec<InitiativeFacts>> {
        let sql = format!(
            "SELECT {INITIATIVE} FROM initiatives WHERE room_id = $1 AND state = 'active' ORDER BY id"
        );
        let rows: Vec<InitiativeRow> = on_backend!(&mut self.tx, tx => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(room_id).fetch_all(&mut **tx).await?);
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(self.facts(initiative(row)?.0).await?);
        }
        Ok(out)
    }

    /// Every active initiative as `(id, deadline, days its card shows)`: the deadlines job lapses
    /// those past their deadline and refreshes the cards whose days left changed.
    pub async fn active_initiatives(&mut self) -> Result<Vec<(InitiativeId, DateTime<Utc>, i64)>> {
        const SQL: &str =
            "SELECT id, deadline_ms, card_days FROM initiatives WHERE state = 'active' ORDER BY id";
        let rows: Vec<(i64, i64, i64)> =
            on_backend!(&mut self.tx, tx => sqlx::query_as(SQL).fetch_all(&mut **tx).await?);
        rows.into_iter()
            .map(|(id, deadline, days)| Ok((id, from_millis(deadline)?, days)))
            .collect()
    }

    /// Remembers the days left the card of `#id` shows now.
    pub async fn set_card_days(&mut self, id: InitiativeId, days: i64) -> Result<()> {
        const SQL: &str = "UPDATE initiatives SET card_days = $2 WHERE id = $1";
        on_backend!(&mut self.tx, tx => { sqlx::query(SQL).bind(id).bind(days).execute(&mut **tx).await?; });
        Ok(())
    }

    /// The initiative record `#id` backs, if any.
    pub async fn record_initiative(
        &mut self,
        id: exodus_commands::ledger::RecordId,
    ) -> Result<Option<InitiativeId>> {
        const SQL: &str = "SELECT initiative_id FROM records WHERE id = $1";
        let found: Option<Option<i64>> = on_backend!(&mut self.tx, tx => sqlx::query_scalar(SQL).bind(id).fetch_optional(&mut **tx).await?);
        Ok(found.flatten())
    }

    /// Whether an initiative lives in `room_id`.
    pub async fn has_initiatives(&mut self, room_id: &str) -> Result<bool> {
        const SQL: &str = "SELECT COUNT(*) FROM initiatives WHERE room_id = $1";
        let n: i64 = on_backend!(&mut self.tx, tx => sqlx::query_scalar(SQL).bind(room_id).fetch_one(&mut **tx).await?);
        Ok(n > 0)
    }

    /// `member` shows interest in `#id` (a 👍 on its card, event `source`); `false` when they
    /// already had (one per member) or the event was seen before.
    pub async fn add_interest(
        &mut self,
        id: InitiativeId,
        member: &MemberId,
        source: &str,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        const SQL: &str = "INSERT INTO initiative_interest (initiative_id, member, source_event_id, at_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING";
        let n = on_backend!(&mut self.tx, tx => sqlx::query(SQL).bind(id).bind(member.as_str()).bind(source).bind(millis(at))
            .execute(&mut **tx).await?.rows_affected());
        Ok(n == 1)
    }

    /// The 👍 event `source` was redacted: the interest it showed is gone. Returns its initiative.
    pub async fn remove_interest(&mut self, source: &str) -> Result<Option<InitiativeId>> {
        const SQL: &str =
            "DELETE FROM initiative_interest WHERE source_event_id = $1 RETURNING initiative_id";
        Ok(
            on_backend!(&mut self.tx, tx => sqlx::query_scalar(SQL).bind(source).fetch_optional(&mut **tx).await?),
        )
    }
}
