//! Throwaway PostgreSQL databases for tests and benchmarks. A test that needs PostgreSQL fails
//! loudly when the server is missing; it never passes by skipping.

use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::Result;

/// The server tests use: `EXODUS_TEST_PG_URL`, by default the local one.
pub fn postgres_base_url() -> String {
    std::env::var("EXODUS_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// Creates an empty database with a unique name on the server of `base_url`; returns its URL.
pub async fn create_postgres_database(base_url: &str, prefix: &str) -> Result<String> {
    let options = PgConnectOptions::from_str(base_url)?;
    let mut conn = options.connect().await?;
    let name = format!("{prefix}_{}_{}", std::process::id(), unique());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\""))).execute(&mut conn).await?;
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
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))).execute(&mut conn).await?;
    conn.close().await?;
    Ok(())
}

fn url_without_database(url: &str) -> String {
    let without_query = url.split('?').next().unwrap_or(url);
    match without_query.rsplit_once('/') {
        Some((base, _db)) if base.contains("://") && base.len() > base.find("://").unwrap_or(0) + 3 => base.to_owned(),
        _ => without_query.to_owned(),
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    (u64::from(nanos) << 16) | (N.fetch_add(1, Ordering::Relaxed) & 0xffff)
}

#[cfg(test)]
mod tests {
    #[test]
    fn strips_the_database_name() {
        assert_eq!(super::url_without_database("postgres://postgres@127.0.0.1:5432/test"), "postgres://postgres@127.0.0.1:5432");
        assert_eq!(super::url_without_database("postgres://u@h/db?sslmode=disable"), "postgres://u@h");
    }
}
