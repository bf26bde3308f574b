-- Exodus bot: the monthly rollover (SPEC §4). An obligation fulfilled in the past cycle renews as
-- an intention once: the new intention names the obligation it renews, and the unique index is
-- what makes a second run (or a run after a crash) add nothing.
ALTER TABLE records ADD COLUMN renewed_from BIGINT;
CREATE UNIQUE INDEX records_renewed_from ON records (renewed_from);
-- Obligations past due that are still open: the overdue pass and the reminders read them by due date.
CREATE INDEX records_due ON records (due_ms) WHERE kind = 'obligation' AND state IN ('open', 'paid');
