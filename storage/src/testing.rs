//! Throwaway PostgreSQL databases for tests and benchmarks, and a bulk loader for benchmark
//! data. A test that needs PostgreSQL fails loudly when the server is missing; it never passes by
//! skipping.

use exodus_commands::Code;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use exodus_commands::ledger::Record;
use exodus_commands::{MemberId, Need};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::{Backend, ROWS_PER_STATEMENT, Result, StoreError, Tx, millis, on_backend, value_rows};

impl Tx {
    /// Benchmark data in bulk, in multi-row statements: members with their status (green or
    /// orange), circles (owner, room) and records (numbered by the database, in order; the
    /// `id` field is not read). PostgreSQL: the tables are analysed afterwards.
    pub async fn bulk_load(
        &mut self,
        members: &[(MemberId, Need)],
        circles: &[(MemberId, String)],
        records: &[Record],
        now: DateTime<Utc>,
    ) -> Result<()> {
        if let Some((member, _)) = members.iter().find(|(_, need)| matches!(need, Need::Red { .. }))
        {
            return Err(StoreError::Corrupt(format!(
                "bulk_load writes green and orange members, not {member}'s red collection"
            )));
        }
        self.cache.records_changed();
        let anonymous = self.anonymous_params();
        for chunk in members.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO members (user_id, status, requested_cents, updated_ms) VALUES {}",
                value_rows(anonymous, chunk.len(), 4)
            );
            let rows: Vec<_> = chunk
                .iter()
                .map(|(member, need)| {
                    (member.as_str(), need.level().code(), need.requested().map(|a| a.cents()))
                })
                .collect();
            on_backend!(&mut self.tx, tx => {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
                for (member, status, requested) in &rows {
                    query = query.bind(*member).bind(*status).bind(*requested).bind(millis(now));
                }
                query.execute(&mut **tx).await?;
            });
        }
        for chunk in circles.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO circles (owner, room_id, created_ms) VALUES {}",
                value_rows(anonymous, chunk.len(), 3)
            );
            on_backend!(&mut self.tx, tx => {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
                for (owner, room) in chunk {
                    query = query.bind(owner.as_str()).bind(room.as_str()).bind(millis(now));
                }
                query.execute(&mut **tx).await?;
            });
        }
        for chunk in records.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO records (kind, giver, recipient, room_id, amount_cents, what, state, overdue, created_ms, due_ms, changed_ms) VALUES {}",
                value_rows(anonymous, chunk.len(), 11)
            );
            on_backend!(&mut self.tx, tx => {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
                for r in chunk {
                    query = query.bind(r.kind.code()).bind(r.giver.as_str()).bind(r.recipient.as_str()).bind(r.room_id.as_str())
                        .bind(r.amount.cents()).bind(r.what.as_deref()).bind(r.state.code()).bind(r.overdue)
                        .bind(millis(r.created_at)).bind(r.due.map(millis)).bind(millis(r.changed_at));
                }
                query.execute(&mut **tx).await?;
            });
        }
        // What autovacuum would do soon after: statistics for the planner.
        if let Backend::Postgres(tx) = &mut self.tx {
            sqlx::query("ANALYZE members, circles, records").execute(&mut **tx).await?;
        }
        Ok(())
    }
}

/// The server tests use: `EXODUS_TEST_PG_URL`, by default the local one.
pub fn postgres_base_url() -> String {
    std::env::var("EXODUS_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// Creates an empty database with a unique name on the server of `base_url`; returns its URL.
pub async fn create_postgres_database(base_url: &str, prefix: &str) -> Result<String> {
    let options = PgConnectOptions::from_str(base_url)?;
    let mut conn = options.connect().await?;
    let name = format!("{prefix}_{}_{}", std::process::id(), unique());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    let mut url = url_without_database(base_url);
    url.push('/');
    url.push_str(&name);
    Ok(url)
}

/// Drops a database made by [`create_postgres_database`].
pub async fn drop_postgres_database(url: &str) -> Result<()> {
    let (base, name) = url.rsplit_once('/').unwrap_or((url, ""));
    let options = PgConnectOptions::from_str(&format!("{base}/postgres"))?;
    let mut conn = options.connect().await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}

fn url_without_database(url: &str) -> String {
    let without_query = url.split('?').next().unwrap_or(url);
    match without_query.rsplit_once('/') {
        Some((base, _db))
            if base.contains("://") && base.len() > base.find("://").unwrap_or(0) + 3 =>
        {
            base.to_owned()
        }
        _ => without_query.to_owned(),
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    (u64::from(nanos) << 16) | (N.fetch_add(1, Ordering::Relaxed) & 0xffff)
}

#[cfg(test)]
mod tests {
    #[test]
    fn strips_the_database_name() {
        assert_eq!(
            super::url_without_database("postgres://postgres@127.0.0.1:5432/test"),
            "postgres://postgres@127.0.0.1:5432"
        );
        assert_eq!(
            super::url_without_database("postgres://u@h/db?sslmode=disable"),
            "postgres://u@h"
        );
    }
}
