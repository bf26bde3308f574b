-- Exodus bot, SQLite: initiatives (SPEC §3.4). An initiative lives in the room it was proposed in
-- (#I, a sequence of its own); its backings are intentions in `records` (kind 'intention', in that
-- room, in favour of the proposer) naming it in initiative_id. Funding turns each into an
-- obligation (the same row, as a full commit does); a lapse cancels them.
CREATE TABLE initiatives (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id     TEXT NOT NULL,
    proposer    TEXT NOT NULL,
    title       TEXT NOT NULL,
    goal_cents  INTEGER NOT NULL CHECK (goal_cents > 0),
    deadline_ms INTEGER NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('active', 'funded', 'lapsed')),
    created_ms  INTEGER NOT NULL,
    decided_ms  INTEGER,
    -- The days left the card showed when it was last written (the deadlines job refreshes it when
    -- that changes).
    card_days   INTEGER NOT NULL
);
CREATE INDEX initiatives_room ON initiatives (room_id, state);
CREATE INDEX initiatives_active ON initiatives (deadline_ms) WHERE state = 'active';

ALTER TABLE records ADD COLUMN initiative_id INTEGER REFERENCES initiatives (id);
CREATE INDEX records_initiative ON records (initiative_id) WHERE initiative_id IS NOT NULL;

-- 👍 on an initiative's card: non-binding interest, one per member; source_event_id is the
-- reaction (its redaction removes the interest).
CREATE TABLE initiative_interest (
    initiative_id   INTEGER NOT NULL REFERENCES initiatives (id),
    member          TEXT NOT NULL,
    source_event_id TEXT NOT NULL UNIQUE,
    at_ms           INTEGER NOT NULL,
    PRIMARY KEY (initiative_id, member)
);
