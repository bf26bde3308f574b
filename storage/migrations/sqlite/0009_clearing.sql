-- Exodus bot, SQLite: clearing (SPEC §3.5). A member takes part in the set-off while a row of
-- theirs is in clearing_members (default: not). Either party to an obligation may keep it out:
-- one row per party in record_keeps; it is eligible while it has none.
CREATE TABLE clearing_members (
    user_id   TEXT PRIMARY KEY,
    opted_ms  INTEGER NOT NULL
);

CREATE TABLE record_keeps (
    record_id INTEGER NOT NULL REFERENCES records (id),
    member    TEXT NOT NULL,
    kept_ms   INTEGER NOT NULL,
    PRIMARY KEY (record_id, member)
);

-- A run that set something off (a run that finds nothing leaves no row), with its figures.
CREATE TABLE clearing_runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    as_of_ms      INTEGER NOT NULL,
    run_ms        INTEGER NOT NULL,
    eligible      INTEGER NOT NULL,
    total_cents   INTEGER NOT NULL,
    cleared_cents INTEGER NOT NULL,
    bound_cents   INTEGER NOT NULL
);

-- What a run did to each obligation: the amount before and the amount set off; part is the
-- cleared record split off an obligation set off in part.
CREATE TABLE clearing_changes (
    run_id        INTEGER NOT NULL REFERENCES clearing_runs (id),
    record_id     INTEGER NOT NULL REFERENCES records (id),
    giver         TEXT NOT NULL,
    recipient     TEXT NOT NULL,
    before_cents  INTEGER NOT NULL CHECK (before_cents > 0),
    set_off_cents INTEGER NOT NULL CHECK (set_off_cents > 0 AND set_off_cents <= before_cents),
    part_id       INTEGER REFERENCES records (id),
    PRIMARY KEY (run_id, record_id)
);
CREATE INDEX clearing_changes_giver ON clearing_changes (giver, run_id);
CREATE INDEX clearing_changes_recipient ON clearing_changes (recipient, run_id);
