-- Exodus bot, sqlite: runs of the scheduled jobs (SPEC §4). One row per job and slot (the scheduled
-- instant a run stands for): claiming the row is what lets one process of several sharing the
-- database run the job; a claim whose process died is taken over once its lease has passed.
CREATE TABLE job_runs (
    job            TEXT NOT NULL,
    slot_ms        INTEGER NOT NULL,
    runner         TEXT NOT NULL,
    started_ms     INTEGER NOT NULL,
    lease_until_ms INTEGER NOT NULL,
    finished_ms    INTEGER,
    summary        TEXT,
    PRIMARY KEY (job, slot_ms)
);
