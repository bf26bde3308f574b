-- Exodus bot, SQLite: circles and their ledger (SPEC §3.2).

-- One circle per owner, bound to one room.
CREATE TABLE circles (
    owner      TEXT PRIMARY KEY,
    room_id    TEXT NOT NULL UNIQUE,
    created_ms INTEGER NOT NULL
);

-- Intentions and obligations: one sequence of numbers (#N) for both.
CREATE TABLE records (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL CHECK (kind IN ('intention', 'obligation')),
    giver        TEXT NOT NULL,
    recipient    TEXT NOT NULL,
    room_id      TEXT NOT NULL,
    amount_cents INTEGER NOT NULL CHECK (amount_cents >= 0),
    what         TEXT,
    state        TEXT NOT NULL CHECK (state IN ('active', 'open', 'paid', 'fulfilled', 'forgiven', 'withdrawn',
                                                'expired', 'cancelled', 'cleared')),
    overdue      INTEGER NOT NULL DEFAULT 0,
    created_ms   INTEGER NOT NULL,
    due_ms       INTEGER,
    changed_ms   INTEGER NOT NULL,
    CHECK (kind = 'obligation' OR state IN ('active', 'withdrawn', 'expired', 'cancelled'))
);
CREATE INDEX records_room ON records (room_id, state);
CREATE INDEX records_giver ON records (giver, state);
CREATE INDEX records_recipient ON records (recipient, state);


-- What a sent message stands for, where a reaction to it means something: 'paid:<record id>'
-- for the paid notices a recipient confirms with 👍.
ALTER TABLE outbox ADD COLUMN tag TEXT;
CREATE INDEX outbox_sent_event ON outbox (sent_event_id) WHERE sent_event_id IS NOT NULL;
