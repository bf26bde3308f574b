-- Exodus bot, PostgreSQL: circles and their ledger (SPEC §3.2).

-- One circle per owner, bound to one room.
CREATE TABLE circles (
    owner      TEXT PRIMARY KEY,
    room_id    TEXT NOT NULL UNIQUE,
    created_ms BIGINT NOT NULL
);

-- Intentions and obligations: one sequence of numbers (#N) for both.
CREATE TABLE records (
    id           BIGSERIAL PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('intention', 'obligation')),
    giver        TEXT NOT NULL,
    recipient    TEXT NOT NULL,
    room_id      TEXT NOT NULL,
    amount_cents BIGINT NOT NULL CHECK (amount_cents >= 0),
    what         TEXT,
    state        TEXT NOT NULL CHECK (state IN ('active', 'open', 'paid', 'fulfilled', 'forgiven', 'withdrawn',
                                                'expired', 'cancelled', 'cleared')),
    overdue      BOOLEAN NOT NULL DEFAULT FALSE,
    created_ms   BIGINT NOT NULL,
    due_ms       BIGINT,
    changed_ms   BIGINT NOT NULL,
    CHECK (kind = 'obligation' OR state IN ('active', 'withdrawn', 'expired', 'cancelled'))
);
CREATE INDEX records_room ON records (room_id, state);
CREATE INDEX records_giver ON records (giver, state);
CREATE INDEX records_recipient ON records (recipient, state);


-- What a sent message stands for, where a reaction to it means something: 'paid:<record id>'
-- for the paid notices a recipient confirms with 👍.
ALTER TABLE outbox ADD COLUMN tag TEXT;
CREATE INDEX outbox_sent_event ON outbox (sent_event_id) WHERE sent_event_id IS NOT NULL;
