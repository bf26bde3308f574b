//! Group commit: several commands applied in one transaction with multi-row statements (SPEC §8,
//! §9 B1). The transaction's cache holds what its commands read for their decisions, so that a
//! later command of the same group sees an earlier one's changes without a statement of its own.

use exodus_commands::Code;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use exodus_commands::ledger::Record;
use exodus_commands::network::Support;
use exodus_commands::profile::{Reliability, Totals};
use exodus_commands::{MemberId, Profile};

use crate::{
    Backend, Cursor, EventRef, Outcome, ROWS_PER_STATEMENT, Result, Tx, millis, on_backend,
    value_rows,
};

/// What each member gave and received in a cycle, and how they kept their obligations.
pub(crate) type TotalsByMember = BTreeMap<MemberId, (Totals, Totals, Reliability)>;

/// A profile as the transaction knows it.
#[derive(Debug)]
pub(crate) struct CachedProfile {
    /// What the database holds now (`None`: no row).
    pub(crate) stored: Option<Profile>,
    /// What the transaction's decisions made of it; written at commit when it differs.
    pub(crate) current: Option<Profile>,
    /// The time of the last change, for `updated_ms`.
    pub(crate) updated_ms: i64,
}

#[derive(Debug, Default)]
pub(crate) struct Cache {
    /// Profiles read for a decision (locked on PostgreSQL until the transaction ends).
    pub(crate) profiles: BTreeMap<MemberId, CachedProfile>,
    /// Owners' circle rooms (`None`: no circle).
    pub(crate) circle_rooms: BTreeMap<MemberId, Option<String>>,
    /// Rooms' circle owners (`None`: the room is no circle).
    pub(crate) circle_owners: BTreeMap<String, Option<MemberId>>,
    /// Cycle totals by member for the cycle starting at the key's instant; dropped at the first
    /// record written.
    pub(crate) totals: Option<(i64, TotalsByMember)>,
    /// Open intentions by recipient; dropped at the first record written.
    pub(crate) intentions_for: BTreeMap<MemberId, Vec<Record>>,
    /// Support relations by member for relations since the key's instant; dropped at the first
    /// record written.
    pub(crate) supports: Option<(i64, BTreeMap<MemberId, Vec<Support>>)>,
}

impl Cache {
    /// What was read from the records no longer holds once one is written.
    pub(crate) fn records_changed(&mut self) {
        self.totals = None;
        self.intentions_for.clear();
        self.supports = None;
    }
}

impl Tx {
    /// Records command events as decided, in one statement per few hundred: returns the event
    /// IDs that were not decided before (the others must be left alone: exactly once, V7).
    pub async fn claim_events(
        &mut self,
        events: &[(&EventRef, Outcome)],
        now: DateTime<Utc>,
    ) -> Result<BTreeSet<String>> {
        let mut claimed = BTreeSet::new();
        let mut seen = BTreeSet::new();
        // One row per event ID: the first occurrence decides.
        let unique: Vec<&(&EventRef, Outcome)> =
            events.iter().filter(|(e, _)| seen.insert(e.event_id.as_str())).collect();
        for chunk in unique.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO processed_events (event_id, room_id, outcome, processed_ms) VALUES {} \
                 ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
                value_rows(self.anonymous_params(), chunk.len(), 4)
            );
            let ids: Vec<String> = on_backend!(&mut self.tx, tx => {
                let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.as_str()));
                for (event, outcome) in chunk {
                    query = query.bind(event.event_id.as_str()).bind(event.room_id.as_str()).bind(outcome.code()).bind(millis(now));
                }
                query.fetch_all(&mut **tx).await?
            });
            claimed.extend(ids);
        }
        Ok(claimed)
    }

    /// Moves several rooms' cursors; for a room named more than once the last cursor counts.
    pub async fn set_cursors(
        &mut self,
        cursors: &[(&str, Cursor)],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut last: BTreeMap<&str, &Cursor> = BTreeMap::new();
        for (room, cursor) in cursors {
            last.insert(room, cursor);
        }
        let rows: Vec<(&str, &Cursor)> = last.into_iter().collect();
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO room_cursors (room_id, event_id, origin_ts, updated_ms) VALUES {} \
                 ON CONFLICT (room_id) DO UPDATE SET event_id = excluded.event_id, origin_ts = excluded.origin_ts, \
                 updated_ms = excluded.updated_ms",
                value_rows(self.anonymous_params(), chunk.len(), 4)
            );
            on_backend!(&mut self.tx, tx => {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
                for (room, cursor) in chunk {
                    query = query.bind(*room).bind(cursor.event_id.as_str()).bind(cursor.origin_ts).bind(millis(now));
                }
                query.execute(&mut **tx).await?;
            });
        }
        Ok(())
    }

    /// Reads, in a few statements, what decisions about `members` in `rooms` will need: their
    /// profiles (locked for update), their circle rooms, whose circle each room is, and, with
    /// `cycle_start`, their totals of that cycle. Later reads of these come from the cache.
    pub async fn preload(
        &mut self,
        members: &[MemberId],
        rooms: &[String],
        cycle_start: Option<DateTime<Utc>>,
    ) -> Result<()> {
        let members: Vec<MemberId> =
            members.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect();
        let rooms: Vec<String> =
            rooms.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect();
        self.preload_profiles(&members).await?;
        self.preload_circle_rooms(&members).await?;
        self.preload_circle_owners(&rooms).await?;
        if let Some(start) = cycle_start {
            self.preload_totals(&members, start).await?;
        }
        Ok(())
    }
}
