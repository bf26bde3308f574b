-- Exodus bot, SQLite: members' profiles, exactly-once bookkeeping, outbox, DM rooms.
-- Times are Unix milliseconds; amounts are integer cents.

CREATE TABLE members (
    user_id              TEXT PRIMARY KEY,
    status               TEXT NOT NULL DEFAULT 'green' CHECK (status IN ('green', 'orange', 'red')),
    requested_cents      INTEGER CHECK (requested_cents >= 0),
    deadline_ms          INTEGER,
    note                 TEXT,
    prev_status          TEXT CHECK (prev_status IN ('green', 'orange')),
    prev_requested_cents INTEGER CHECK (prev_requested_cents >= 0),
    prev_note            TEXT,
    about                TEXT,
    lang                 TEXT,
    notify               INTEGER NOT NULL DEFAULT 1,
    forget_requested_ms  INTEGER,
    updated_ms           INTEGER NOT NULL
);

CREATE TABLE payment_methods (
    user_id    TEXT NOT NULL,
    label      TEXT NOT NULL,
    details    TEXT NOT NULL,
    is_default INTEGER NOT NULL,
    PRIMARY KEY (user_id, label)
);

-- Every command event the bot has decided on, written in the same transaction as its effects
-- (SPEC §8). outcome: 'applied' (executed, successfully or with an error reply) or 'ignored'.
CREATE TABLE processed_events (
    event_id     TEXT PRIMARY KEY,
    room_id      TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    processed_ms INTEGER NOT NULL
);

-- The last event of each room the bot has handled; catch-up starts after it.
CREATE TABLE room_cursors (
    room_id    TEXT PRIMARY KEY,
    event_id   TEXT NOT NULL,
    origin_ts  INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);

-- Replies and notifications, written with the effects and sent afterwards with a stable
-- transaction ID. Exactly one of room_id (a room) or recipient (a member's DM) is set.
CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    txn_id        TEXT NOT NULL UNIQUE,
    room_id       TEXT,
    recipient     TEXT,
    event_type    TEXT NOT NULL,
    content       TEXT NOT NULL,
    created_ms    INTEGER NOT NULL,
    sent_ms       INTEGER,
    sent_event_id TEXT,
    failed_ms     INTEGER,
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    CHECK ((room_id IS NULL) <> (recipient IS NULL))
);
CREATE INDEX outbox_pending ON outbox (id) WHERE sent_ms IS NULL AND failed_ms IS NULL;

CREATE TABLE dm_rooms (
    user_id    TEXT PRIMARY KEY,
    room_id    TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
