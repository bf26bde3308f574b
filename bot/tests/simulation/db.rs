//! The simulation's databases: an empty one per seed (SQLite: a new file; PostgreSQL: one
//! database per test, emptied between seeds, which is much faster than creating one), and the
//! inspector, a connection of its own that reads what is committed, to check the invariants.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{PgPool, SqlitePool};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Where the seeds of one test put their databases.
pub enum Databases {
    Sqlite(tempfile::TempDir),
    /// One database, its URL; emptied before each seed.
    Postgres(String),
}

impl Databases {
    /// PostgreSQL must answer (`EXODUS_TEST_PG_URL`): the test fails loudly otherwise.
    pub async fn new(backend: Backend) -> Databases {
        match backend {
            Backend::Sqlite => {
                Databases::Sqlite(tempfile::tempdir().expect("a temporary directory"))
            }
            Backend::Postgres => {
                let base = exodus_storage::testing::postgres_base_url();
                let url = exodus_storage::testing::create_postgres_database(&base, "exodus_sim")
                    .await
                    .unwrap_or_else(|e| {
                        panic!("PostgreSQL is needed at {base} (EXODUS_TEST_PG_URL): {e}")
                    });
                // A throwaway database: its commits need not wait for the disk (the crashes
                // are the simulation's, in the process, not the server's).
                let name = url.rsplit('/').next().unwrap_or_default();
                let admin =
                    PgPoolOptions::new().max_connections(1).connect(&url).await.expect("pg");
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "ALTER DATABASE \"{name}\" SET synchronous_commit = off"
                )))
                .execute(&admin)
                .await
                .expect("synchronous_commit");
                admin.close().await;
                // The schema, once.
                exodus_storage::Store::connect(&url).await.expect("migrations").close().await;
                Databases::Postgres(url)
            }
        }
    }

    /// An empty database for `seed`: its URL.
    pub async fn fresh(&self, seed: u64) -> String {
        match self {
            Databases::Sqlite(dir) => {
                let path = dir.path().join(format!("seed-{seed}.db"));
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
                format!("sqlite://{}", path.display())
            }
            Databases::Postgres(url) => {
                // DELETE is much faster than TRUNCATE on tables this small; sequences restart,
                // so that a seed replays with the same record numbers.
                let pool = PgPoolOptions::new().max_connections(1).connect(url).await.expect("pg");
                let mut tables: Vec<String> = sqlx::query_scalar(
                    "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' \
                     AND tablename <> '_sqlx_migrations' ORDER BY tablename",
                )
                .fetch_all(&pool)
                .await
                .expect("tables");
                // A table still referenced by another's rows waits for the next pass.
                while !tables.is_empty() {
                    let before = tables.len();
                    let mut left = Vec::new();
                    for table in tables {
                        let sql = format!("DELETE FROM \"{table}\"");
                        if sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&pool).await.is_err() {
                            left.push(table);
                        }
                    }
                    assert!(left.len() < before, "cannot empty {left:?}");
                    tables = left;
                }
                let sequences: Vec<String> = sqlx::query_scalar(
                    "SELECT sequencename::text FROM pg_sequences WHERE schemaname = 'public'",
                )
                .fetch_all(&pool)
                .await
                .expect("sequences");
                for sequence in sequences {
                    let sql = format!("ALTER SEQUENCE \"{sequence}\" RESTART");
                    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&pool).await.expect("restart");
                }
                pool.close().await;
                url.clone()
            }
        }
    }

    /// Drops the PostgreSQL database (the SQLite directory goes with `self`).
    pub async fn drop_all(self) {
        if let Databases::Postgres(url) = self {
            let _ = exodus_storage::testing::drop_postgres_database(&url).await;
        }
    }
}

/// A record as the `ledger` view shows it now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DbRecord {
    pub kind: String,
    pub giver: String,
    pub recipient: String,
    pub room: String,
    pub cents: i64,
    pub state: String,
    pub what: Option<String>,
    pub initiative: Option<i64>,
}

/// What a set-off run did to one obligation (`clearing_changes`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DbChange {
    pub record: i64,
    pub giver: String,
    pub recipient: String,
    pub before: i64,
    pub set_off: i64,
    pub part: Option<i64>,
}

/// An outbox row (its content never changes once written).
#[derive(Clone, Debug)]
pub struct OutboxRow {
    pub id: i64,
    pub txn_id: String,
    /// The room it goes to (`None`: a member's DM).
    pub room: Option<String>,
    /// The member whose DM it goes to.
    pub recipient: Option<String>,
    pub content: serde_json::Value,
}

/// Reads what is committed, on a connection of its own.
pub enum Inspector {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            Inspector::Sqlite($pool) => $body,
            Inspector::Postgres($pool) => $body,
        }
    };
}

type LedgerRow = (i64, String, String, String, String, i64, String, Option<String>, Option<i64>);
type ChangeRow = (i64, i64, String, String, i64, i64, Option<i64>);
type OutboxTuple = (i64, String, Option<String>, Option<String>, String);

impl Inspector {
    /// Opens it once the store has made the schema.
    pub async fn open(url: &str) -> Inspector {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url).expect("url");
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await
                .expect("inspector");
            Inspector::Sqlite(pool)
        } else {
            Inspector::Postgres(
                PgPoolOptions::new().max_connections(1).connect(url).await.expect("inspector"),
            )
        }
    }

    pub async fn close(&self) {
        on_db!(self, pool => pool.close().await)
    }

    /// Every event claimed, with its outcome.
    pub async fn processed(&self) -> BTreeMap<String, String> {
        const SQL: &str = "SELECT event_id, outcome FROM processed_events";
        let rows: Vec<(String, String)> =
            on_db!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await.expect("processed"));
        rows.into_iter().collect()
    }

    pub async fn ledger(&self) -> BTreeMap<i64, DbRecord> {
        const SQL: &str = "SELECT id, kind, giver, recipient, room_id, amount_cents, state, what, \
                           initiative_id FROM ledger";
        let rows: Vec<LedgerRow> =
            on_db!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await.expect("ledger"));
        rows.into_iter()
            .map(|(id, kind, giver, recipient, room, cents, state, what, initiative)| {
                (id, DbRecord { kind, giver, recipient, room, cents, state, what, initiative })
            })
            .collect()
    }

    /// The pools' rules, pledges, claims and their ballots, initiatives, opt-ins and keeps, one
    /// line each (see `Model::domain`), in one round trip.
    pub async fn domain(&self) -> BTreeSet<String> {
        const SQL: &str = "\
            SELECT 'pool|' || room_id || '|' || name || '|' || vote_hours || '|' || pay_days || '|' \
                || COALESCE(CAST(max_claim_cents AS TEXT), '-') || '|' || renew FROM pools \
            UNION ALL SELECT 'pledge|' || room_id || '|' || member || '|' || amount_cents || '|' \
                || cycle_ms FROM pool_pledges \
            UNION ALL SELECT 'claim|' || id || '|' || room_id || '|' || claimant || '|' || amount_cents \
                || '|' || state || '|' || COALESCE(verdict, '-') || '|' \
                || COALESCE(CAST(covered_cents AS TEXT), '-') || '|' || closes_ms FROM claims \
            UNION ALL SELECT 'ballot|' || claim_id || '|' || seq || '|' || voter || '|' \
                || COALESCE(vote, '-') FROM claim_ballots \
            UNION ALL SELECT 'initiative|' || id || '|' || room_id || '|' || proposer || '|' \
                || goal_cents || '|' || deadline_ms || '|' || state FROM initiatives \
            UNION ALL SELECT 'opted|' || user_id FROM clearing_members \
            UNION ALL SELECT 'kept|' || record_id || '|' || member FROM record_keeps";
        let rows: Vec<String> =
            on_db!(self, pool => sqlx::query_scalar(SQL).fetch_all(pool).await.expect("domain"));
        rows.into_iter().collect()
    }

    /// The set-off runs after run `after`, in order: (run, run_ms, its changes).
    pub async fn clearing_runs_after(&self, after: i64) -> Vec<(i64, i64, Vec<DbChange>)> {
        const RUNS: &str = "SELECT id, run_ms FROM clearing_runs WHERE id > $1 ORDER BY id";
        const CHANGES: &str = "SELECT run_id, record_id, giver, recipient, before_cents, \
                               set_off_cents, part_id FROM clearing_changes WHERE run_id > $1 \
                               ORDER BY run_id, record_id";
        let (runs, changes): (Vec<(i64, i64)>, Vec<ChangeRow>) = on_db!(self, pool => (
            sqlx::query_as(RUNS).bind(after).fetch_all(pool).await.expect("clearing runs"),
            sqlx::query_as(CHANGES).bind(after).fetch_all(pool).await.expect("clearing changes"),
        ));
        runs.into_iter()
            .map(|(run, at)| {
                let of_run = changes
                    .iter()
                    .filter(|c| c.0 == run)
                    .map(|(_, record, giver, recipient, before, set_off, part)| DbChange {
                        record: *record,
                        giver: giver.clone(),
                        recipient: recipient.clone(),
                        before: *before,
                        set_off: *set_off,
                        part: *part,
                    })
                    .collect();
                (run, at, of_run)
            })
            .collect()
    }

    /// Circle owner → room.
    pub async fn circles(&self) -> BTreeMap<String, String> {
        const SQL: &str = "SELECT owner, room_id FROM circles";
        let rows: Vec<(String, String)> =
            on_db!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await.expect("circles"));
        rows.into_iter().collect()
    }

    /// Room → the event ID its cursor points at.
    pub async fn cursors(&self) -> BTreeMap<String, String> {
        const SQL: &str = "SELECT room_id, event_id FROM room_cursors";
        let rows: Vec<(String, String)> =
            on_db!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await.expect("cursors"));
        rows.into_iter().collect()
    }

    /// Outbox rows written after `after`, in order.
    pub async fn outbox_after(&self, after: i64) -> Vec<OutboxRow> {
        const SQL: &str = "SELECT id, txn_id, room_id, recipient, content FROM outbox \
                           WHERE id > $1 ORDER BY id";
        let rows: Vec<OutboxTuple> = on_db!(self, pool => sqlx::query_as(SQL)
            .bind(after).fetch_all(pool).await.expect("outbox"));
        rows.into_iter()
            .map(|(id, txn_id, room, recipient, content)| OutboxRow {
                id,
                txn_id,
                room,
                recipient,
                content: serde_json::from_str(&content).expect("outbox content is JSON"),
            })
            .collect()
    }

    /// Renewal → the obligation it renews.
    pub async fn renewals(&self) -> BTreeMap<i64, i64> {
        const SQL: &str = "SELECT id, renewed_from FROM records WHERE renewed_from IS NOT NULL";
        let rows: Vec<(i64, i64)> =
            on_db!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await.expect("renewals"));
        rows.into_iter().collect()
    }

    /// The members whose status is orange.
    pub async fn orange(&self) -> std::collections::BTreeSet<String> {
        const SQL: &str = "SELECT user_id FROM members WHERE status = 'orange'";
        let rows: Vec<String> =
            on_db!(self, pool => sqlx::query_scalar(SQL).fetch_all(pool).await.expect("members"));
        rows.into_iter().collect()
    }

    /// (unsent and not given up, given up).
    pub async fn outbox_left(&self) -> (i64, i64) {
        const SQL: &str = "SELECT \
            (SELECT COUNT(*) FROM outbox WHERE sent_ms IS NULL AND failed_ms IS NULL), \
            (SELECT COUNT(*) FROM outbox WHERE failed_ms IS NOT NULL)";
        on_db!(self, pool => sqlx::query_as(SQL).fetch_one(pool).await.expect("outbox counts"))
    }
}
