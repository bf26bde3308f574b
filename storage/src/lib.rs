//! Exodus bot's persistence: one API over SQLite (embedded default) and PostgreSQL, with numbered
//! migrations per backend (`migrations/<backend>/NNNN_*.sql`, never edited once landed).
//!
//! Every command is applied in one [`Tx`]: its event ID, the room cursor, the effects and the
//! outbox rows commit together or not at all (SPEC §8). On SQLite write transactions start with
//! `BEGIN IMMEDIATE` in WAL mode; on PostgreSQL rows read for a decision are locked `FOR UPDATE`.

mod batch;
mod clearing;
mod cycle;
mod initiative;
mod jobs;
mod ledger;
mod migrations;
mod outbox;
mod pool;
mod profile;
pub mod testing;

pub use cycle::Reminding;
pub use jobs::JobRun;
pub use outbox::{Backoff, DestinationState, FailingDestination, OutboxStatus, Priority};
pub use pool::EndedPledge;

use exodus_commands::Code;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use exodus_commands::{MemberId, Profile};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, PgPool, Postgres, Row, Sqlite, SqlitePool, Transaction};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL (expected sqlite:… or postgres://…): {0}")]
    UnsupportedUrl(String),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// Text the database would not store (NUL: PostgreSQL refuses it). The parser refuses control
    /// characters first; this is the backstop that keeps SQLite and PostgreSQL alike.
    #[error("refused: {0} contains a NUL character")]
    Nul(&'static str),
}

/// The backstop against NUL in stored text (see [`StoreError::Nul`]).
pub(crate) fn no_nul<'a>(field: &'static str, text: impl Into<Option<&'a str>>) -> Result<()> {
    match text.into() {
        Some(text) if text.contains('\0') => Err(StoreError::Nul(field)),
        _ => Ok(()),
    }
}

impl StoreError {
    /// The database cannot be reached now (down, starting, refusing connections), as opposed to
    /// a mistake in the URL or the schema: worth waiting for.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Database(e)
            | StoreError::Migrate(sqlx::migrate::MigrateError::Execute(e)) => match e {
                sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Tls(_) => true,
                // PostgreSQL: starting up, shutting down, too many connections.
                sqlx::Error::Database(db) => {
                    matches!(db.code().as_deref(), Some("57P01" | "57P02" | "57P03" | "53300"))
                }
                _ => false,
            },
            _ => false,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The longest a first connection to PostgreSQL may take at start before it counts as unavailable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// `$start, $start+1, …` for `count` parameters: the placeholders of an `IN (…)` list or a
/// multi-row `VALUES` built at run time (numbers only, never data).
pub(crate) fn placeholders(start: usize, count: usize) -> String {
    (start..start + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
}

/// `($1, …, $cols), ($cols+1, …)` for `rows` rows of `cols` parameters; with `anonymous`
/// (SQLite), `(?, …), (?, …)` in the same order: SQLite looks a numbered parameter's name up in a
/// list, once per bound value, which made binding a few hundred rows quadratic (~4 % of B1).
pub(crate) fn value_rows(anonymous: bool, rows: usize, cols: usize) -> String {
    if anonymous {
        let row = format!("({})", vec!["?"; cols].join(", "));
        return vec![row.as_str(); rows].join(", ");
    }
    (0..rows)
        .map(|r| format!("({})", placeholders(r * cols + 1, cols)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Rows per multi-row statement: well inside SQLite's 32,766 and PostgreSQL's 65,535 parameters.
pub(crate) const ROWS_PER_STATEMENT: usize = 500;

/// Runs the same statement code on whichever backend `$tx` holds. SQL is written once, with `$N`
/// placeholders, which both SQLite and PostgreSQL accept.
macro_rules! on_backend {
    ($backend:expr, $conn:ident => $body:expr) => {
        match $backend {
            Backend::Sqlite($conn) => $body,
            Backend::Postgres($conn) => $body,
        }
    };
}
pub(crate) use on_backend;

#[derive(Clone, Debug)]
pub(crate) enum Backend<S, P> {
    Sqlite(S),
    Postgres(P),
}

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: Backend<SqlitePool, PgPool>,
    /// As given to [`Store::connect`] (it may hold a password: never logged).
    url: std::sync::Arc<str>,
    /// SQLite only. Held by every clone: when the last one is dropped, SQLite's checkpointer stops.
    _alive: Option<std::sync::Arc<tokio::sync::watch::Sender<()>>>,
    /// SQLite only: the WAL file, whose size every write transaction checks first.
    wal: Option<std::sync::Arc<WalBound>>,
}

/// SQLite's WAL and the size past which a write transaction first checkpoints all of it.
struct WalBound {
    path: std::path::PathBuf,
    /// Held by the background checkpointer while it runs, so that a writer that must wait for it
    /// can (SQLite answers a second checkpointer `SQLITE_BUSY` at once, without its busy handler).
    checkpointing: tokio::sync::Mutex<()>,
    /// [`WAL_HARD_LIMIT_BYTES`], or more while a reader keeps the log from restarting (so that
    /// the writer does not wait for it again before the log has grown by as much again).
    check_above: std::sync::atomic::AtomicU64,
    /// A transaction turned the writer's own checkpoint off for its commit
    /// ([`Tx::leave_checkpoint_to_background`]); the next one turns it on again.
    autocheckpoint_off: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("backend", &self.backend_name()).finish_non_exhaustive()
    }
}

/// A command event as the exactly-once bookkeeping sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRef {
    pub event_id: String,
    pub room_id: String,
    /// `origin_server_ts` in milliseconds.
    pub origin_ts: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub event_id: String,
    pub origin_ts: i64,
}

/// What happened to a command event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Outcome {
    /// Executed (successfully or answered with an error).
    Applied,
    /// Not executed, by rule (V6: the sender is no longer joined, …); recorded so that a later
    /// re-read of the history decides the same way.
    Ignored,
    /// Not executed: the sender had used up their allowance of commands (flood control).
    Refused,
    /// Its handling failed again and again (a bug, a constraint, a panic): answered with an
    /// internal error and passed over, so that the room moves on.
    Failed,
}

/// Where an outbox message goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Room(String),
    /// The member's direct chat with the bot, opened when first needed.
    Dm(MemberId),
}

/// What a sent message stands for, where a later event refers to it: a 👍 on a paid notice
/// confirms the record, 👍 / 👎 on a claim message votes, an initiative's card is edited and its
/// 👍 shows interest. Stored in `outbox.tag` as `paid:<record>`, `claim:<claim>`,
/// `initiative:<initiative>` (the form rows written by earlier versions carry too).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tag {
    Paid(exodus_commands::ledger::RecordId),
    Claim(exodus_commands::pool::ClaimId),
    Initiative(exodus_commands::initiative::InitiativeId),
}

impl std::fmt::Display for Tag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tag::Paid(id) => write!(f, "paid:{id}"),
            Tag::Claim(id) => write!(f, "claim:{id}"),
            Tag::Initiative(id) => write!(f, "initiative:{id}"),
        }
    }
}

/// As its stored text (`paid:8`), where an action's payload names it.
impl serde::Serialize for Tag {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Tag {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Tag, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl FromStr for Tag {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<Tag> {
        let corrupt = || StoreError::Corrupt(format!("outbox tag {text:?}"));
        let (kind, id) = text.split_once(':').ok_or_else(corrupt)?;
        let id: i64 = id.parse().map_err(|_| corrupt())?;
        match kind {
            "paid" => Ok(Tag::Paid(id)),
            "claim" => Ok(Tag::Claim(id)),
            "initiative" => Ok(Tag::Initiative(id)),
            _ => Err(corrupt()),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct OutboxMessage {
    /// Stable across restarts: derived from the source event (SPEC §8).
    pub txn_id: String,
    pub target: Target,
    pub event_type: String,
    pub content: serde_json::Value,
    /// What the message stands for where a later event refers to it.
    pub tag: Option<Tag>,
    /// Replies go before notifications, notifications before digests.
    pub priority: Priority,
}

/// A message whose content is already JSON text: a job's notifications, written by the
/// thousand (a rollover's 100,000 digests, B3), skip building a `serde_json::Value` each.
#[derive(Clone, Debug, PartialEq)]
pub struct SerializedMessage {
    pub txn_id: String,
    pub target: Target,
    pub event_type: String,
    /// A JSON object, as text.
    pub content: String,
}

/// What [`Tx::enqueue_all`] writes: an [`OutboxMessage`] or a [`SerializedMessage`].
pub trait Outgoing {
    fn txn_id(&self) -> &str;
    fn target(&self) -> &Target;
    fn event_type(&self) -> &str;
    /// The content as JSON text.
    fn content_json(&self) -> std::borrow::Cow<'_, str>;
    fn tag(&self) -> Option<Tag>;
    fn priority(&self) -> Priority;
}

impl Outgoing for OutboxMessage {
    fn txn_id(&self) -> &str {
        &self.txn_id
    }
    fn target(&self) -> &Target {
        &self.target
    }
    fn event_type(&self) -> &str {
        &self.event_type
    }
    fn content_json(&self) -> std::borrow::Cow<'_, str> {
        self.content.to_string().into()
    }
    fn tag(&self) -> Option<Tag> {
        self.tag
    }
    fn priority(&self) -> Priority {
        self.priority
    }
}

impl Outgoing for SerializedMessage {
    fn txn_id(&self) -> &str {
        &self.txn_id
    }
    fn target(&self) -> &Target {
        &self.target
    }
    fn event_type(&self) -> &str {
        &self.event_type
    }
    fn content_json(&self) -> std::borrow::Cow<'_, str> {
        self.content.as_str().into()
    }
    fn tag(&self) -> Option<Tag> {
        None
    }
    /// A job's notifications, written by the thousand: digests.
    fn priority(&self) -> Priority {
        Priority::Digest
    }
}

/// An outbox row still to send.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingMessage {
    pub id: i64,
    pub attempts: i32,
    /// Failed sends to its destination since the last that went through (0: none).
    pub destination_failures: i32,
    pub message: OutboxMessage,
}

pub(crate) fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_millis(ms: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {ms}")))
}

/// WAL size (pages) at which a committing writer checkpoints itself (SQLite's own automatic
/// checkpoint, its default is 1,000): by then the background task has copied nearly every page,
/// so it is short, and the next transaction starts the log from the beginning again; the file
/// is truncated back to this size. Under a steady stream of writes this is what bounds the log.
const WAL_BACKSTOP_PAGES: i64 = 16_384;
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);
/// WAL file size past which a write transaction first waits for a checkpoint of the whole log
/// (a quarter above the backstop: 16,384 frames of 4,120 bytes are 67.5 MB). The writer's own
/// checkpoint is skipped while the background one runs, and a background checkpoint waits for
/// the disk (it syncs the database file): on a busy disk that took seconds, while the writer,
/// which does not sync on commit, kept appending (110 MB seen in CI). This is the backpressure
/// that makes the bound hold: the writer waits for the disk instead of outrunning it.
const WAL_HARD_LIMIT_BYTES: u64 = WAL_BACKSTOP_PAGES.unsigned_abs() * 4096 * 5 / 4;

/// Copies SQLite's WAL back into the database file on a connection of its own, off the writer's
/// path: a checkpoint writes and syncs the file, and done by the committing transaction (SQLite's
/// default, every 1,000 pages) it stalled a command for tens of milliseconds every few
/// transactions. `PASSIVE` never blocks the writer. Ends when the pool is closed.
async fn spawn_checkpointer(
    pool: SqlitePool,
    options: SqliteConnectOptions,
    wal: std::sync::Arc<WalBound>,
) -> Result<std::sync::Arc<tokio::sync::watch::Sender<()>>> {
    let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
    let (alive, mut stores) = tokio::sync::watch::channel(());
    tokio::spawn(async move {
        let mut failing = false;
        while !pool.is_closed() {
            tokio::select! {
                () = tokio::time::sleep(CHECKPOINT_EVERY) => {}
                // Every Store clone is gone.
                Err(_) = stores.changed() => break,
            }
            // Never RESTART or TRUNCATE here: those take the write lock, and a writer waiting
            // on it sleeps in SQLite's busy handler for up to 100 ms at a time.
            let checkpointing = wal.checkpointing.lock().await;
            let done = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&mut conn).await;
            drop(checkpointing);
            match done {
                Ok(_) => failing = false,
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(error = %e, "SQLite background checkpoint failed; the writer checkpoints past {WAL_BACKSTOP_PAGES} pages");
                }
                Err(_) => {}
            }
        }
        let _ = conn.close().await;
    });
    Ok(std::sync::Arc::new(alive))
}

impl Store {
    /// Opens the database named by `url` (`sqlite:path`, `sqlite://path`, `postgres://…`) and brings
    /// its schema up to date.
    pub async fn connect(url: &str) -> Result<Store> {
        let (mut alive, mut wal) = (None, None);
        let pool = if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // NORMAL is safe with WAL here: a transaction lost to power failure loses its
                // cursor with it, so the command is read again from the homeserver (SPEC §9).
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true)
                // Statement journals and sorts in memory: a statement that writes many rows (a
                // rollover's renewals and digests, B3) journals every page it changes first, and in
                // a file that was a write to the disk for each.
                .pragma("temp_store", "memory")
                // The WAL is copied back into the database by a task of its own (below); the
                // writer only finishes the copy and restarts the log past WAL_BACKSTOP_PAGES.
                .pragma("wal_autocheckpoint", WAL_BACKSTOP_PAGES.to_string())
                .pragma("journal_size_limit", (WAL_BACKSTOP_PAGES * 4096).to_string());
            // One connection: SQLite runs one writer at a time anyway, and a connection drops its
            // page cache whenever another connection has written, so a pool of several made every
            // transaction start cold. A local file does not go stale: no ping before every
            // transaction either (a round trip to sqlx's SQLite worker thread).
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .test_before_acquire(false)
                .connect_with(options.clone())
                .await?;
            migrations::sqlite().run(&pool).await?;
            let mut file = options.get_filename().as_os_str().to_owned();
            file.push("-wal");
            let bound = std::sync::Arc::new(WalBound {
                path: file.into(),
                checkpointing: tokio::sync::Mutex::new(()),
                check_above: WAL_HARD_LIMIT_BYTES.into(),
                autocheckpoint_off: false.into(),
            });
            alive = Some(spawn_checkpointer(pool.clone(), options, bound.clone()).await?);
            wal = Some(bound);
            Backend::Sqlite(pool)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            // No JIT compilation: the bot's statements are short, and for the few long ones (a
            // rollover's reads of 300,000 records, B3) PostgreSQL spent longer compiling them
            // (0.5 s) than running them.
            let options = PgConnectOptions::from_str(url)?.options([("jit", "off")]);
            // One try first: the pool retries a refused connection for its whole acquire timeout
            // (30 s) before it answers, and a bot waiting for its database says so at once.
            let probe = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options))
                .await
                .map_err(|_| {
                    let timeout = std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("PostgreSQL did not answer within {CONNECT_TIMEOUT:?}"),
                    );
                    sqlx::Error::Io(timeout)
                })??;
            probe.close().await?;
            let pool = PgPoolOptions::new().max_connections(8).connect_with(options).await?;
            migrations::postgres().run(&pool).await?;
            Backend::Postgres(pool)
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        Ok(Store { pool, url: url.into(), _alive: alive, wal })
    }

    /// A second, independent handle on the same database (its own connections).
    pub async fn reconnect(&self) -> Result<Store> {
        Store::connect(&self.url).await
    }

    pub fn backend_name(&self) -> &'static str {
        match self.pool {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE` on SQLite).
    pub async fn begin(&self) -> Result<Tx> {
        let tx = match &self.pool {
            Backend::Sqlite(pool) => {
                self.bound_wal(pool).await?;
                Backend::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?)
            }
            Backend::Postgres(pool) => Backend::Postgres(pool.begin().await?),
        };
        Ok(Tx { tx, cache: batch::Cache::default(), wal: self.wal.clone() })
    }

    /// SQLite: past [`WAL_HARD_LIMIT_BYTES`], waits for the background checkpoint to finish, then
    /// checkpoints the whole log and restarts it before the next write. One `stat` per
    /// transaction otherwise.
    async fn bound_wal(&self, pool: &SqlitePool) -> Result<()> {
        use std::sync::atomic::Ordering;
        let Some(wal) = &self.wal else { return Ok(()) };
        if wal.autocheckpoint_off.swap(false, Ordering::Relaxed) {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "PRAGMA wal_autocheckpoint = {WAL_BACKSTOP_PAGES}"
            )))
            .execute(pool)
            .await?;
        }
        let size = std::fs::metadata(&wal.path).map(|m| m.len()).unwrap_or(0);
        if size <= wal.check_above.load(Ordering::Relaxed) {
            return Ok(());
        }
        let checkpointing = wal.checkpointing.lock().await;
        let (busy, log, copied): (i64, i64, i64) =
            sqlx::query_as("PRAGMA wal_checkpoint(RESTART)").fetch_one(pool).await?;
        drop(checkpointing);
        if busy == 0 {
            wal.check_above.store(WAL_HARD_LIMIT_BYTES, Ordering::Relaxed);
        } else {
            // Another process holds a read transaction on the log or checkpoints it (the bot's
            // own reads share its one connection): wait again only once the log has grown by as
            // much again.
            wal.check_above.store(size + WAL_HARD_LIMIT_BYTES, Ordering::Relaxed);
            tracing::warn!(
                size,
                log,
                copied,
                "SQLite could not restart its WAL: another process reads or checkpoints it"
            );
        }
        Ok(())
    }

    /// Starts a transaction for reading: deferred on SQLite, so it does not wait for a writer
    /// (WAL). Roll it back when done.
    pub(crate) async fn read(&self) -> Result<Tx> {
        let tx = match &self.pool {
            Backend::Sqlite(pool) => Backend::Sqlite(pool.begin().await?),
            Backend::Postgres(pool) => Backend::Postgres(pool.begin().await?),
        };
        Ok(Tx { tx, cache: batch::Cache::default(), wal: None })
    }

    pub async fn close(&self) {
        on_backend!(&self.pool, pool => pool.close().await)
    }

    /// Writes everything logged so far into the database files: SQLite copies its WAL back and
    /// empties it (`wal_checkpoint(TRUNCATE)`), PostgreSQL runs a `CHECKPOINT` (a superuser's or
    /// `pg_checkpoint`'s). The benchmarks call it between loading their data and measuring, so
    /// that the run does not pay for the load's log.
    pub async fn checkpoint(&self) -> Result<()> {
        match &self.pool {
            Backend::Sqlite(pool) => {
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(pool).await?;
            }
            Backend::Postgres(pool) => {
                sqlx::query("CHECKPOINT").execute(pool).await?;
            }
        }
        Ok(())
    }

    /// SQLite only: writes a copy of the database, as it is now, to the new file `path`
    /// (`VACUUM INTO`; the benchmark's `--save-sqlite`, to study a run's statements elsewhere).
    pub async fn vacuum_into(&self, path: &std::path::Path) -> Result<()> {
        let Backend::Sqlite(pool) = &self.pool else {
            return Err(StoreError::UnsupportedUrl(format!(
                "{} (VACUUM INTO is SQLite's)",
                self.backend_name()
            )));
        };
        sqlx::query("VACUUM INTO $1")
            .bind(path.to_string_lossy().into_owned())
            .execute(pool)
            .await?;
        Ok(())
    }

    /// Whether a command event was already decided on (a fast check before a transaction; the
    /// transaction's own claim is what guarantees exactly once).
    pub async fn is_processed(&self, event_id: &str) -> Result<bool> {
        const SQL: &str = "SELECT 1 FROM processed_events WHERE event_id = $1";
        let found = on_backend!(&self.pool, pool => sqlx::query(SQL).bind(event_id).fetch_optional(pool).await?.is_some());
        Ok(found)
    }

    pub async fn processed_count(&self) -> Result<i64> {
        const SQL: &str = "SELECT COUNT(*) FROM processed_events";
        let n: i64 =
            on_backend!(&self.pool, pool => sqlx::query(SQL).fetch_one(pool).await?.try_get(0)?);
        Ok(n)
    }

    pub async fn cursor(&self, room_id: &str) -> Result<Option<Cursor>> {
        const SQL: &str = "SELECT event_id, origin_ts FROM room_cursors WHERE room_id = $1";
        let row = on_backend!(&self.pool, pool => {
            match sqlx::query(SQL).bind(room_id).fetch_optional(pool).await? {
                Some(row) => Some(Cursor { event_id: row.try_get(0)?, origin_ts: row.try_get(1)? }),
                None => None,
            }
        });
        Ok(row)
    }

    /// Sets a room's cursor if it has none yet (the bot's join event: history before it is never
    /// executed, V7). Returns whether it was set.
    pub async fn init_cursor(
        &self,
        room_id: &str,
        cursor: &Cursor,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        const SQL: &str = "INSERT INTO room_cursors (room_id, event_id, origin_ts, updated_ms) VALUES ($1, $2, $3, $4) \
                           ON CONFLICT (room_id) DO NOTHING";
        let done = on_backend!(&self.pool, pool => sqlx::query(SQL)
            .bind(room_id).bind(&cursor.event_id).bind(cursor.origin_ts).bind(millis(now))
            .execute(pool).await?.rows_affected());
        Ok(done == 1)
    }

    /// Moves a room's cursor past events that needed no transaction of their own (ordinary
    /// messages) once every command before them is committed.
    pub async fn advance_cursor(
        &self,
        room_id: &str,
        cursor: &Cursor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        tx.set_cursor(room_id, cursor, now).await?;
        tx.commit().await
    }

    pub async fn forget_cursor(&self, room_id: &str) -> Result<()> {
        const SQL: &str = "DELETE FROM room_cursors WHERE room_id = $1";
        on_backend!(&self.pool, pool => { sqlx::query(SQL).bind(room_id).execute(pool).await?; });
        Ok(())
    }

    pub async fn mark_sent(&self, id: i64, event_id: &str, now: DateTime<Utc>) -> Result<()> {
        const SQL: &str = "UPDATE outbox SET sent_ms = $2, sent_event_id = $3, attempts = attempts + 1 WHERE id = $1";
        on_backend!(&self.pool, pool => { sqlx::query(SQL).bind(id).bind(millis(now)).bind(event_id).execute(pool).await?; });
        Ok(())
    }

    /// Records a failed attempt; `give_up` stops retrying the row (it stays for the record).
    pub async fn mark_failed(
        &self,
        id: i64,
        error: &str,
        give_up: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        const SQL: &str = "UPDATE outbox SET attempts = attempts + 1, last_error = $2, \
                           failed_ms = CASE WHEN $3 THEN $4 ELSE NULL END WHERE id = $1";
        on_backend!(&self.pool, pool => { sqlx::query(SQL).bind(id).bind(error).bind(give_up).bind(millis(now)).execute(pool).await?; });
        Ok(())
    }

    pub async fn dm_room(&self, member: &MemberId) -> Result<Option<String>> {
        const SQL: &str = "SELECT room_id FROM dm_rooms WHERE user_id = $1";
        let room = on_backend!(&self.pool, pool => match sqlx::query(SQL).bind(member.as_str()).fetch_optional(pool).await? {
            Some(row) => Some(row.try_get::<String, _>(0)?),
            None => None,
        });
        Ok(room)
    }

    pub async fn set_dm_room(
        &self,
        member: &MemberId,
        room_id: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        const SQL: &str = "INSERT INTO dm_rooms (user_id, room_id, created_ms) VALUES ($1, $2, $3) \
                           ON CONFLICT (user_id) DO UPDATE SET room_id = excluded.room_id, created_ms = excluded.created_ms";
        on_backend!(&self.pool, pool => { sqlx::query(SQL).bind(member.as_str()).bind(room_id).bind(millis(now)).execute(pool).await?; });
        Ok(())
    }

    /// Forgets a DM room (the member left it); returns the member it belonged to.
    pub async fn forget_dm_room(&self, room_id: &str) -> Result<Option<MemberId>> {
        const SQL: &str = "DELETE FROM dm_rooms WHERE room_id = $1 RETURNING user_id";
        let user = on_backend!(&self.pool, pool => match sqlx::query(SQL).bind(room_id).fetch_optional(pool).await? {
            Some(row) => Some(row.try_get::<String, _>(0)?),
            None => None,
        });
        Ok(user.as_deref().and_then(MemberId::parse))
    }

    /// Whether a room is some member's DM with the bot; returns that member.
    pub async fn dm_owner(&self, room_id: &str) -> Result<Option<MemberId>> {
        const SQL: &str = "SELECT user_id FROM dm_rooms WHERE room_id = $1";
        let user = on_backend!(&self.pool, pool => match sqlx::query(SQL).bind(room_id).fetch_optional(pool).await? {
            Some(row) => Some(row.try_get::<String, _>(0)?),
            None => None,
        });
        Ok(user.as_deref().and_then(MemberId::parse))
    }

    /// A member's profile outside any write (`None` when the bot has none).
    pub async fn profile(&self, member: &MemberId) -> Result<Option<Profile>> {
        let mut tx = self.read().await?;
        let found = tx.find_profile(member, false).await?;
        tx.rollback().await?;
        Ok(found)
    }
}

/// One write transaction. Dropped without [`Tx::commit`], it rolls back.
///
/// Profiles read for a decision stay in the transaction's cache, and saving one only changes
/// the cache: the rows are written, several members in one statement, at [`Tx::commit`]. So a
/// group of commands applied in one transaction (group commit) costs a few statements, not a
/// few per command.
pub struct Tx {
    pub(crate) tx: Backend<Transaction<'static, Sqlite>, Transaction<'static, Postgres>>,
    pub(crate) cache: batch::Cache,
    /// SQLite write transactions: the log's bound.
    wal: Option<std::sync::Arc<WalBound>>,
}

/// txn_id, room, recipient, event type, content, tag, priority.
type OutboxRow<'a> = (
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
    &'a str,
    std::borrow::Cow<'a, str>,
    Option<String>,
    i16,
);

fn outbox_row(m: &impl Outgoing) -> OutboxRow<'_> {
    let (room, recipient) = match m.target() {
        Target::Room(room) => (Some(room.as_str()), None),
        Target::Dm(member) => (None, Some(member.as_str())),
    };
    (
        m.txn_id(),
        room,
        recipient,
        m.event_type(),
        m.content_json(),
        m.tag().map(|t| t.to_string()),
        m.priority().code(),
    )
}

/// PostgreSQL's [`Tx::enqueue_all`]: each column as one array, thousands of rows a statement (a
/// statement of 500 rows of seven parameters each was parsed and planned anew every time, 200
/// times for a rollover's 100,000 digests), inserted in the order given.
async fn enqueue_unnest(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    messages: &[impl Outgoing],
    now: DateTime<Utc>,
) -> Result<u64> {
    const SQL: &str = "INSERT INTO outbox (txn_id, room_id, recipient, event_type, content, created_ms, tag, priority) \
         SELECT txn_id, room_id, recipient, event_type, content, $6, tag, priority \
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $7::text[], $8::int2[]) \
         WITH ORDINALITY AS m (txn_id, room_id, recipient, event_type, content, tag, priority, n) ORDER BY n \
         ON CONFLICT (txn_id) DO NOTHING";
    const ROWS: usize = 5_000;
    let mut added = 0;
    for chunk in messages.chunks(ROWS) {
        let (
            mut txn_ids,
            mut rooms,
            mut recipients,
            mut types,
            mut contents,
            mut tags,
            mut priorities,
        ) = (
            Vec::with_capacity(chunk.len()),
            Vec::with_capacity(chunk.len()),
            Vec::with_capacity(chunk.len()),
            Vec::with_capacity(chunk.len()),
            Vec::with_capacity(chunk.len()),
            Vec::with_capacity(chunk.len()),
            Vec::with_capacity(chunk.len()),
        );
        for (txn_id, room, recipient, event_type, content, tag, priority) in
            chunk.iter().map(outbox_row)
        {
            priorities.push(priority);
            txn_ids.push(txn_id);
            rooms.push(room);
            recipients.push(recipient);
            types.push(event_type);
            contents.push(content);
            tags.push(tag);
        }
        let contents: Vec<&str> = contents.iter().map(|c| c.as_ref()).collect();
        added += sqlx::query(SQL)
            .bind(txn_ids)
            .bind(rooms)
            .bind(recipients)
            .bind(types)
            .bind(contents)
            .bind(millis(now))
            .bind(tags)
            .bind(priorities)
            .execute(&mut **tx)
            .await?
            .rows_affected();
    }
    Ok(added)
}

impl Tx {
    /// Whether multi-row statements use anonymous `?` parameters (SQLite; see [`value_rows`]).
    pub(crate) fn anonymous_params(&self) -> bool {
        matches!(self.tx, Backend::Sqlite(_))
    }

    /// SQLite: this transaction's commit does not copy the log back into the database itself
    /// (SQLite's automatic checkpoint past [`WAL_BACKSTOP_PAGES`]); the background checkpointer
    /// does, and the next write transaction waits for it if the log is past its bound. For a
    /// transaction that writes more than the bound by itself (a rollover's 57,000 pages, 230 MB,
    /// B3), whose commit copied all of it (0.5 s) before the job could report. PostgreSQL: nothing.
    pub(crate) async fn leave_checkpoint_to_background(&mut self) -> Result<()> {
        if let (Backend::Sqlite(tx), Some(wal)) = (&mut self.tx, &self.wal) {
            sqlx::query("PRAGMA wal_autocheckpoint = 0").execute(&mut **tx).await?;
            wal.autocheckpoint_off.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(())
    }

    /// Writes the cached profile changes, then commits.
    pub async fn commit(mut self) -> Result<()> {
        self.flush_profiles().await?;
        on_backend!(self.tx, tx => tx.commit().await?);
        Ok(())
    }

    pub async fn rollback(self) -> Result<()> {
        on_backend!(self.tx, tx => tx.rollback().await?);
        Ok(())
    }

    /// Records a command event as decided. `false`: it already was, and the caller must roll back
    /// and do nothing (exactly once, V7 and SPEC §8).
    pub async fn claim_event(
        &mut self,
        event: &EventRef,
        outcome: Outcome,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        const SQL: &str = "INSERT INTO processed_events (event_id, room_id, outcome, processed_ms) VALUES ($1, $2, $3, $4) \
                           ON CONFLICT (event_id) DO NOTHING";
        let n = on_backend!(&mut self.tx, tx => sqlx::query(SQL)
            .bind(&event.event_id).bind(&event.room_id).bind(outcome.code()).bind(millis(now))
            .execute(&mut **tx).await?.rows_affected());
        Ok(n == 1)
    }

    pub async fn set_cursor(
        &mut self,
        room_id: &str,
        cursor: &Cursor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        const SQL: &str = "INSERT INTO room_cursors (room_id, event_id, origin_ts, updated_ms) VALUES ($1, $2, $3, $4) \
                           ON CONFLICT (room_id) DO UPDATE SET event_id = excluded.event_id, origin_ts = excluded.origin_ts, \
                           updated_ms = excluded.updated_ms";
        on_backend!(&mut self.tx, tx => { sqlx::query(SQL)
            .bind(room_id).bind(&cursor.event_id).bind(cursor.origin_ts).bind(millis(now))
            .execute(&mut **tx).await?; });
        Ok(())
    }

    pub async fn enqueue(&mut self, message: &OutboxMessage, now: DateTime<Utc>) -> Result<()> {
        self.enqueue_all(std::slice::from_ref(message), now).await.map(drop)
    }

    /// Writes `messages` to the outbox in their order, in as few statements as the backends'
    /// parameter limits allow (one round trip for a command's replies and notices). Returns how
    /// many were new: a message whose transaction ID is already there is left as it is.
    pub async fn enqueue_all(
        &mut self,
        messages: &[impl Outgoing],
        now: DateTime<Utc>,
    ) -> Result<u64> {
        const COLUMNS: usize = 8;
        if let Backend::Postgres(tx) = &mut self.tx {
            return enqueue_unnest(tx, messages, now).await;
        }
        let mut added = 0;
        for chunk in messages.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO outbox (txn_id, room_id, recipient, event_type, content, created_ms, tag, priority) VALUES {} \
                 ON CONFLICT (txn_id) DO NOTHING",
                value_rows(self.anonymous_params(), chunk.len(), COLUMNS)
            );
            let rows: Vec<OutboxRow<'_>> = chunk.iter().map(outbox_row).collect();
            on_backend!(&mut self.tx, tx => {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
                for (txn_id, room, recipient, event_type, content, tag, priority) in &rows {
                    query = query.bind(*txn_id).bind(*room).bind(*recipient).bind(*event_type).bind(content.as_ref()).bind(millis(now)).bind(tag.as_deref()).bind(*priority);
                }
                added += query.execute(&mut **tx).await?.rows_affected();
            });
        }
        Ok(added)
    }
}

#[cfg(test)]
mod tests {
    use super::{Backend, Store, StoreError, Tag, WAL_BACKSTOP_PAGES, value_rows};

    async fn autocheckpoint(tx: &mut super::Tx) -> i64 {
        let Backend::Sqlite(tx) = &mut tx.tx else { panic!("SQLite") };
        sqlx::query_scalar("PRAGMA wal_autocheckpoint").fetch_one(&mut **tx).await.expect("pragma")
    }

    /// A transaction that leaves its log to the background checkpointer turns SQLite's own
    /// checkpoint off for its commit only: the next write transaction has it on again, also after
    /// a rollback.
    #[tokio::test]
    async fn a_commit_left_to_the_background_checkpointer_is_the_only_one() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("exodus.db").display()))
            .await
            .expect("store");
        let mut tx = store.begin().await.expect("begin");
        assert_eq!(autocheckpoint(&mut tx).await, WAL_BACKSTOP_PAGES);
        tx.leave_checkpoint_to_background().await.expect("leave");
        assert_eq!(autocheckpoint(&mut tx).await, 0);
        tx.commit().await.expect("commit");
        let mut tx = store.begin().await.expect("begin");
        assert_eq!(autocheckpoint(&mut tx).await, WAL_BACKSTOP_PAGES);
        tx.leave_checkpoint_to_background().await.expect("leave");
        tx.rollback().await.expect("rollback");
        let mut tx = store.begin().await.expect("begin");
        assert_eq!(autocheckpoint(&mut tx).await, WAL_BACKSTOP_PAGES);
        tx.rollback().await.expect("rollback");
        store.close().await;
    }

    #[test]
    fn value_rows_number_or_leave_anonymous_in_the_same_order() {
        assert_eq!(value_rows(false, 2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(value_rows(true, 2, 3), "(?, ?, ?), (?, ?, ?)");
        assert_eq!(value_rows(true, 1, 1), "(?)");
    }

    #[test]
    fn tags_keep_their_stored_form() {
        for (tag, text) in [
            (Tag::Paid(8), "paid:8"),
            (Tag::Claim(3), "claim:3"),
            (Tag::Initiative(12), "initiative:12"),
        ] {
            assert_eq!(tag.to_string(), text);
            assert_eq!(text.parse::<Tag>().unwrap(), tag);
        }
        for bad in ["", "paid", "paid:", "paid:x", "vote:3", "claim:3:4"] {
            assert!(matches!(bad.parse::<Tag>(), Err(StoreError::Corrupt(_))), "{bad}");
        }
    }
}
