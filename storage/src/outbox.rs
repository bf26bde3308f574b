//! The outbox's fair order (issue 18): each destination (a room, or a member's DM) keeps its own
//! order, and the sender takes the first pending message of every destination at a time, replies
//! before notifications before digests; a destination whose sends fail backs off on its own and
//! is given up after a bound, until an admin retries or drops it.

use chrono::{DateTime, Duration, Utc};
use exodus_commands::MemberId;
use sqlx::Row;

use crate::{
    Backend, OutboxMessage, PendingMessage, Result, Store, StoreError, Target, from_millis, millis,
    on_backend,
};

/// What a message is, for the order the outbox sends in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// A reply to a command: someone is waiting for it.
    Reply = 0,
    /// A notification to someone else (a red alert, a paid notice, a reminder).
    #[default]
    Notice = 1,
    /// A scheduled job's digest.
    Digest = 2,
}

impl Priority {
    pub const ALL: [Priority; 3] = [Priority::Reply, Priority::Notice, Priority::Digest];

    pub(crate) fn code(self) -> i16 {
        self as i16
    }

    fn from_code(code: i16) -> Priority {
        match code {
            0 => Priority::Reply,
            2 => Priority::Digest,
            _ => Priority::Notice,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Priority::Reply => "reply",
            Priority::Notice => "notice",
            Priority::Digest => "digest",
        }
    }
}

impl Target {
    /// The destination the outbox keeps order for: the room ID, or the member's user ID for
    /// their DM (the two never collide: `!…` and `@…`).
    pub fn destination(&self) -> &str {
        match self {
            Target::Room(room) => room,
            Target::Dm(member) => member.as_str(),
        }
    }
}

/// How a failing destination is retried.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    /// The wait after the first failure; doubled after each next one.
    pub first: Duration,
    /// The longest wait.
    pub max: Duration,
    /// Failing for longer than this, the destination is given up (marked failed).
    pub give_up_after: Duration,
}

/// A destination after a failed send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DestinationState {
    pub failures: i32,
    pub retry_at: DateTime<Utc>,
    /// Given up: nothing more is tried until an admin retries it.
    pub failed: bool,
}

/// A destination that failed, for `admin outbox`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailingDestination {
    pub destination: String,
    pub failures: i32,
    pub failing_since: DateTime<Utc>,
    pub retry_at: DateTime<Utc>,
    pub failed: Option<DateTime<Utc>>,
    pub last_error: String,
    /// Messages waiting for it.
    pub pending: i64,
}

/// The outbox at a glance (`/health`, `/metrics`, `admin stats`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutboxStatus {
    /// Pending messages by [`Priority`] (index = its code).
    pub pending: [i64; 3],
    /// The oldest pending message of each priority whose destination is not failing: how long
    /// the outbox itself keeps people waiting.
    pub oldest: [Option<DateTime<Utc>>; 3],
    /// Destinations backing off after failures, and given up.
    pub backing_off: i64,
    pub failed_destinations: i64,
    /// Messages given up one by one or dropped, plus those held by given-up destinations.
    pub failed_messages: i64,
}

const COLUMNS: &str = "o.id, o.txn_id, o.room_id, o.recipient, o.event_type, o.content, o.attempts, o.tag, o.priority, d.failures";

fn pending_row<R: Row>(row: &R) -> Result<PendingMessage>
where
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i32: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i16: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    let room: Option<String> = row.try_get(2)?;
    let recipient: Option<String> = row.try_get(3)?;
    let target = match (room, recipient) {
        (Some(room), None) => Target::Room(room),
        (None, Some(user)) => Target::Dm(
            MemberId::parse(&user)
                .ok_or_else(|| StoreError::Corrupt(format!("recipient {user}")))?,
        ),
        _ => return Err(StoreError::Corrupt("outbox target".into())),
    };
    let content: String = row.try_get(5)?;
    let failures: Option<i32> = row.try_get(9)?;
    Ok(PendingMessage {
        id: row.try_get(0)?,
        attempts: row.try_get(6)?,
        destination_failures: failures.unwrap_or(0),
        message: OutboxMessage {
            txn_id: row.try_get(1)?,
            target,
            event_type: row.try_get(4)?,
            content: serde_json::from_str(&content)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            tag: row.try_get::<Option<String>, _>(7)?.map(|t| t.parse()).transpose()?,
            priority: Priority::from_code(row.try_get(8)?),
        },
    })
}

impl Store {
    /// The next message of every destination that may be tried at `now` (not backing off, not
    /// given up), replies first, then notifications, then digests, older first within each:
    /// one round of the outbox. A destination's later messages wait for its first.
    pub async fn outbox_heads(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<PendingMessage>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM outbox o \
             JOIN (SELECT MIN(id) AS id FROM outbox WHERE sent_ms IS NULL AND failed_ms IS NULL \
                   GROUP BY COALESCE(room_id, recipient)) h ON h.id = o.id \
             LEFT JOIN outbox_destinations d ON d.destination = COALESCE(o.room_id, o.recipient) \
             WHERE d.destination IS NULL OR (d.failed_ms IS NULL AND d.retry_at_ms <= $1) \
             ORDER BY o.priority, o.id LIMIT $2"
        );
        let rows = on_backend!(&self.pool, pool => sqlx::query(sqlx::AssertSqlSafe(sql)).bind(millis(now)).bind(limit).fetch_all(pool).await?
            .iter().map(pending_row).collect::<Result<Vec<_>>>()?);
        Ok(rows)
    }

    /// The oldest unsent outbox rows, in the order they were written, whatever their
    /// destination's state (tests and benchmarks).
    pub async fn pending_outbox(&self, limit: i64) -> Result<Vec<PendingMessage>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM outbox o LEFT JOIN outbox_destinations d ON d.destination = COALESCE(o.room_id, o.recipient) \
             WHERE o.sent_ms IS NULL AND o.failed_ms IS NULL ORDER BY o.id LIMIT $1"
        );
        let rows = on_backend!(&self.pool, pool => sqlx::query(sqlx::AssertSqlSafe(sql)).bind(limit).fetch_all(pool).await?
            .iter().map(pending_row).collect::<Result<Vec<_>>>()?);
        Ok(rows)
    }

    /// Records a failed send to `destination`: it is retried after a wait that doubles with each
    /// failure (up to `backoff.max`), and given up once it has been failing for longer than
    /// `backoff.give_up_after`.
    pub async fn destination_failed(
        &self,
        destination: &str,
        error: &str,
        now: DateTime<Utc>,
        backoff: Backoff,
    ) -> Result<DestinationState> {
        const READ: &str =
            "SELECT failures, failing_since_ms FROM outbox_destinations WHERE destination = $1";
        const WRITE: &str = "INSERT INTO outbox_destinations (destination, failures, failing_since_ms, retry_at_ms, failed_ms, last_error) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (destination) DO UPDATE SET failures = excluded.failures, \
             retry_at_ms = excluded.retry_at_ms, failed_ms = excluded.failed_ms, last_error = excluded.last_error";
        let mut tx = self.begin().await?;
        let before: Option<(i32, i64)> = on_backend!(&mut tx.tx, t => sqlx::query_as(READ).bind(destination).fetch_optional(&mut **t).await?);
        let (failures, since) = match before {
            Some((failures, since)) => (failures.saturating_add(1), from_millis(since)?),
            None => (1, now),
        };
        let wait = (0..failures - 1)
            .fold(backoff.first, |wait, _| (wait * 2).min(backoff.max))
            .min(backoff.max);
        let failed = now - since >= backoff.give_up_after;
        let retry_at = now + wait;
        let failed_ms = failed.then(|| millis(now));
        on_backend!(&mut tx.tx, t => sqlx::query(WRITE)
            .bind(destination).bind(failures).bind(millis(since)).bind(millis(retry_at)).bind(failed_ms).bind(error)
            .execute(&mut **t).await?.rows_affected());
        tx.commit().await?;
        Ok(DestinationState { failures, retry_at, failed })
    }

    /// A send to `destination` went through: it is no longer failing.
    pub async fn destination_recovered(&self, destination: &str) -> Result<()> {
        const SQL: &str = "DELETE FROM outbox_destinations WHERE destination = $1";
        on_backend!(&self.pool, pool => sqlx::query(SQL).bind(destination).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// `admin outbox retry`: the destination (every one with `None`) is tried again at once, its
    /// messages given up one by one too (not those an admin dropped). Returns how many
    /// destinations and messages were set going again.
    pub async fn outbox_retry(&self, destination: Option<&str>) -> Result<(u64, u64)> {
        const DESTINATIONS: &str =
            "DELETE FROM outbox_destinations WHERE $1 IS NULL OR destination = $1";
        const MESSAGES: &str = "UPDATE outbox SET failed_ms = NULL, attempts = 0 \
             WHERE failed_ms IS NOT NULL AND sent_ms IS NULL AND last_error <> $2 \
             AND ($1 IS NULL OR COALESCE(room_id, recipient) = $1)";
        let mut tx = self.begin().await?;
        let done = on_backend!(&mut tx.tx, t => {
            let d = sqlx::query(DESTINATIONS).bind(destination).execute(&mut **t).await?.rows_affected();
            let m = sqlx::query(MESSAGES).bind(destination).bind(DROPPED).execute(&mut **t).await?.rows_affected();
            (d, m)
        });
        tx.commit().await?;
        Ok(done)
    }

    /// `admin outbox drop`: the destination's pending messages are given up for good and it is
    /// no longer failing. Returns how many messages were dropped.
    pub async fn outbox_drop(&self, destination: &str, now: DateTime<Utc>) -> Result<u64> {
        const MESSAGES: &str = "UPDATE outbox SET failed_ms = $2, last_error = $3 \
             WHERE sent_ms IS NULL AND failed_ms IS NULL AND COALESCE(room_id, recipient) = $1";
        const DESTINATION: &str = "DELETE FROM outbox_destinations WHERE destination = $1";
        let mut tx = self.begin().await?;
        let dropped = on_backend!(&mut tx.tx, t => {
            let n = sqlx::query(MESSAGES).bind(destination).bind(millis(now)).bind(DROPPED).execute(&mut **t).await?.rows_affected();
            sqlx::query(DESTINATION).bind(destination).execute(&mut **t).await?;
            n
        });
        tx.commit().await?;
        Ok(dropped)
    }

    /// The failing destinations, given up first, then by how long they have been failing.
    pub async fn failing_destinations(&self, limit: i64) -> Result<Vec<FailingDestination>> {
        const SQL: &str = "SELECT d.destination, d.failures, d.failing_since_ms, d.retry_at_ms, d.failed_ms, d.last_error, \
             (SELECT COUNT(*) FROM outbox o WHERE COALESCE(o.room_id, o.recipient) = d.destination \
              AND o.sent_ms IS NULL AND o.failed_ms IS NULL) \
             FROM outbox_destinations d ORDER BY d.failed_ms IS NULL, d.failing_since_ms, d.destination LIMIT $1";
        type Row = (String, i32, i64, i64, Option<i64>, String, i64);
        let rows: Vec<Row> =
            on_backend!(&self.pool, pool => sqlx::query_as(SQL).bind(limit).fetch_all(pool).await?);
        rows.into_iter()
            .map(|(destination, failures, since, retry, failed, last_error, pending)| {
                Ok(FailingDestination {
                    destination,
                    failures,
                    failing_since: from_millis(since)?,
                    retry_at: from_millis(retry)?,
                    failed: failed.map(from_millis).transpose()?,
                    last_error,
                    pending,
                })
            })
            .collect()
    }

    /// The outbox at a glance (see [`OutboxStatus`]).
    pub async fn outbox_status(&self) -> Result<OutboxStatus> {
        const PENDING: &str = "SELECT o.priority, COUNT(*), MIN(CASE WHEN d.destination IS NULL THEN o.created_ms END), \
             SUM(CASE WHEN d.failed_ms IS NOT NULL THEN 1 ELSE 0 END) \
             FROM outbox o LEFT JOIN outbox_destinations d ON d.destination = COALESCE(o.room_id, o.recipient) \
             WHERE o.sent_ms IS NULL AND o.failed_ms IS NULL GROUP BY o.priority";
        const OTHERS: &str = "SELECT (SELECT COUNT(*) FROM outbox WHERE failed_ms IS NOT NULL AND sent_ms IS NULL), \
             (SELECT COUNT(*) FROM outbox_destinations WHERE failed_ms IS NULL), \
             (SELECT COUNT(*) FROM outbox_destinations WHERE failed_ms IS NOT NULL)";
        let mut status = OutboxStatus::default();
        let rows: Vec<(i16, i64, Option<i64>, Option<i64>)> =
            on_backend!(&self.pool, pool => sqlx::query_as(PENDING).fetch_all(pool).await?);
        for (priority, count, oldest, held) in rows {
            let i = Priority::from_code(priority) as usize;
            status.pending[i] += count;
            status.failed_messages += held.unwrap_or(0);
            if let Some(oldest) = oldest {
                let oldest = from_millis(oldest)?;
                status.oldest[i] = Some(status.oldest[i].map_or(oldest, |o| o.min(oldest)));
            }
        }
        let (failed, backing_off, failed_destinations): (i64, i64, i64) =
            on_backend!(&self.pool, pool => sqlx::query_as(OTHERS).fetch_one(pool).await?);
        status.failed_messages += failed;
        status.backing_off = backing_off;
        status.failed_destinations = failed_destinations;
        Ok(status)
    }
}

/// `last_error` of a message an admin dropped (`admin outbox retry` leaves those alone).
const DROPPED: &str = "dropped by an admin";

/// The outbox rows whose message went to `room_id` ($1): those to the room itself, and those to
/// the member whose DM it is (by their destination, as `outbox_pending_by_destination` has it).
const TO_ROOM: &str =
    "COALESCE(room_id, recipient) IN ($1, (SELECT user_id FROM dm_rooms WHERE room_id = $1))";

/// A message is sent in two steps, `PUT /send/{txnId}` and then [`Store::mark_sent`]; until the
/// second, [`Store::sent_message_tag`] does not know the event it made. A reaction to it read in
/// between (at once, or after a crash between the two steps, before the resend) is recognised
/// here by the transaction ID the homeserver gives back to the device that sent the event.
impl Store {
    /// Whether a tagged message to `room_id` (or to the member whose DM it is) is still waiting
    /// for its mark: only then may a reaction in that room be to a tagged message that
    /// [`Store::sent_message_tag`] does not know yet, and is the event reacted to worth fetching.
    pub async fn unmarked_tagged(&self, room_id: &str) -> Result<bool> {
        let sql = format!(
            "SELECT 1 FROM outbox WHERE {TO_ROOM} AND sent_ms IS NULL AND failed_ms IS NULL \
             AND tag IS NOT NULL LIMIT 1"
        );
        let found: Option<i32> = on_backend!(&self.pool, pool => sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(room_id).fetch_optional(pool).await?);
        Ok(found.is_some())
    }

    /// The tag of the message sent into `room_id` with transaction ID `txn_id`, which made the
    /// event `event_id`: the homeserver names that transaction ID in the event's
    /// `unsigned.transaction_id`, and only to the device that sent it, so the caller must have
    /// read it from the bot's own event as the homeserver gave it. The send is recorded now if
    /// the outbox has not recorded it yet (its later mark of the same event changes nothing, and
    /// a resend after a crash is not needed). `None` when no message to that room (or to the
    /// member whose DM it is) has that transaction ID, or its send made another event.
    pub async fn recognise_sent(
        &self,
        room_id: &str,
        txn_id: &str,
        event_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<crate::Tag>> {
        let mark = format!(
            "UPDATE outbox SET sent_ms = $4, sent_event_id = $3 \
             WHERE txn_id = $2 AND sent_event_id IS NULL AND {TO_ROOM}"
        );
        let read = format!(
            "SELECT tag FROM outbox WHERE txn_id = $2 AND sent_event_id = $3 AND {TO_ROOM}"
        );
        let mut tx = self.begin().await?;
        let tag: Option<Option<String>> = on_backend!(&mut tx.tx, t => {
            sqlx::query(sqlx::AssertSqlSafe(mark)).bind(room_id).bind(txn_id).bind(event_id).bind(millis(now))
                .execute(&mut **t).await?;
            sqlx::query_scalar(sqlx::AssertSqlSafe(read)).bind(room_id).bind(txn_id).bind(event_id)
                .fetch_optional(&mut **t).await?
        });
        tx.commit().await?;
        tag.flatten().map(|t| t.parse()).transpose()
    }
}

impl Store {
    /// When the bot first ran on this database (recorded now if it never did).
    pub async fn first_start(&self, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
        const INSERT: &str = "INSERT INTO bot_meta (key, value) VALUES ('first_start_ms', $1) ON CONFLICT (key) DO NOTHING";
        const READ: &str = "SELECT value FROM bot_meta WHERE key = 'first_start_ms'";
        let value: String = on_backend!(&self.pool, pool => {
            sqlx::query(INSERT).bind(millis(now).to_string()).execute(pool).await?;
            sqlx::query_scalar(READ).fetch_one(pool).await?
        });
        let ms = value
            .parse::<i64>()
            .map_err(|_| StoreError::Corrupt(format!("first_start_ms {value:?}")))?;
        from_millis(ms)
    }
}
