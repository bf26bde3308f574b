//! The numbered migrations of each backend, embedded in the binary.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};

const SQLITE: &[(i64, &str, &str)] = &[
    (1, "foundation", include_str!("../migrations/sqlite/0001_foundation.sql")),
    (2, "circles", include_str!("../migrations/sqlite/0002_circles.sql")),
    (3, "jobs", include_str!("../migrations/sqlite/0003_jobs.sql")),
    (4, "rollover", include_str!("../migrations/sqlite/0004_rollover.sql")),
    (5, "admin_runs", include_str!("../migrations/sqlite/0005_admin_runs.sql")),
    (6, "record_indexes", include_str!("../migrations/sqlite/0006_record_indexes.sql")),
    (7, "pools", include_str!("../migrations/sqlite/0007_pools.sql")),
    (8, "initiatives", include_str!("../migrations/sqlite/0008_initiatives.sql")),
    (9, "clearing", include_str!("../migrations/sqlite/0009_clearing.sql")),
    (10, "derived_marks", include_str!("../migrations/sqlite/0010_derived_marks.sql")),
    (
        11,
        "active_intentions_by_date",
        include_str!("../migrations/sqlite/0011_active_intentions_by_date.sql"),
    ),
    (12, "fair_outbox", include_str!("../migrations/sqlite/0012_fair_outbox.sql")),
];

const POSTGRES: &[(i64, &str, &str)] = &[
    (1, "foundation", include_str!("../migrations/postgres/0001_foundation.sql")),
    (2, "circles", include_str!("../migrations/postgres/0002_circles.sql")),
    (3, "jobs", include_str!("../migrations/postgres/0003_jobs.sql")),
    (4, "rollover", include_str!("../migrations/postgres/0004_rollover.sql")),
    (5, "admin_runs", include_str!("../migrations/postgres/0005_admin_runs.sql")),
    (6, "record_indexes", include_str!("../migrations/postgres/0006_record_indexes.sql")),
    (7, "pools", include_str!("../migrations/postgres/0007_pools.sql")),
    (8, "initiatives", include_str!("../migrations/postgres/0008_initiatives.sql")),
    (9, "clearing", include_str!("../migrations/postgres/0009_clearing.sql")),
    (10, "derived_marks", include_str!("../migrations/postgres/0010_derived_marks.sql")),
    (
        11,
        "active_intentions_by_date",
        include_str!("../migrations/postgres/0011_active_intentions_by_date.sql"),
    ),
    (12, "fair_outbox", include_str!("../migrations/postgres/0012_fair_outbox.sql")),
];

fn migrator(list: &'static [(i64, &'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        list.iter()
            .map(|(version, name, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*name),
                    MigrationType::Simple,
                    sqlx::SqlSafeStr::into_sql_str(*sql),
                    false,
                )
            })
            .collect(),
    )
}

pub fn sqlite() -> Migrator {
    migrator(SQLITE)
}

pub fn postgres() -> Migrator {
    migrator(POSTGRES)
}
