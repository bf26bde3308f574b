-- A fair outbox (issue 18): order is kept per destination (a room, or a member's DM), replies
-- go before notifications and digests, and a destination that fails backs off on its own.

-- 0 a reply to a command, 1 a notification, 2 a job's digest. Rows written before this
-- migration count as notifications.
ALTER TABLE outbox ADD COLUMN priority SMALLINT NOT NULL DEFAULT 1;

-- The pending rows of each destination in order: the outbox sends the first of each.
CREATE INDEX outbox_pending_by_destination ON outbox (COALESCE(room_id, recipient), id)
    WHERE sent_ms IS NULL AND failed_ms IS NULL;

-- Destinations whose last send failed: retried at retry_at_ms (exponential, capped), given up
-- (failed_ms) when failing for longer than the configured bound, until an admin retries or
-- drops them. A destination is a room ID or the user ID of a member (their DM).
CREATE TABLE outbox_destinations (
    destination      TEXT PRIMARY KEY,
    failures         INTEGER NOT NULL,
    failing_since_ms INTEGER NOT NULL,
    retry_at_ms      INTEGER NOT NULL,
    failed_ms        INTEGER,
    last_error       TEXT NOT NULL
);

-- Messages given up (a permanent error, or dropped by an admin), for admin stats and /metrics.
CREATE INDEX outbox_failed ON outbox (id) WHERE failed_ms IS NOT NULL AND sent_ms IS NULL;

-- Facts about the database itself: `first_start_ms`, when the bot first ran on it. A room the
-- bot had joined before then (an old data_dir next to a new database) is read from its present,
-- never from the bot's old join event (V7).
CREATE TABLE bot_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
