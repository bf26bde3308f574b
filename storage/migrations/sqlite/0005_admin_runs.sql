-- Exodus bot, sqlite: runs of a job an admin asked for (`admin run <job> [as-of <time>]`, SPEC §3.6).
-- Kept apart from job_runs: an admin's run, perhaps as of a time far ahead, must not count as the
-- scheduled run of any slot.
CREATE TABLE manual_job_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job         TEXT NOT NULL,
    as_of_ms    INTEGER NOT NULL,
    admin       TEXT NOT NULL,
    started_ms  INTEGER NOT NULL,
    finished_ms INTEGER NOT NULL,
    summary     TEXT NOT NULL
);
CREATE INDEX manual_job_runs_job ON manual_job_runs (job, id);

-- Leases on work only one process of several sharing the database may do at a time (sending the
-- outbox: two senders would send a message twice and out of order). A holder renews its lease;
-- when it stops renewing, another process takes over once the lease has passed.
CREATE TABLE leases (
    name     TEXT PRIMARY KEY,
    holder   TEXT NOT NULL,
    until_ms INTEGER NOT NULL
);
