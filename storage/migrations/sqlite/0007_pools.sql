-- Exodus bot, sqlite: pools (SPEC §3.3). A pool is one room; members pledge a maximum contribution
-- for the cycle, nothing is collected in advance; an approved claim becomes obligations to the
-- claimant (rows of `records` in the pool's room).
CREATE TABLE pools (
    room_id         TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    created_ms      INTEGER NOT NULL,
    events          TEXT NOT NULL,
    min_pledge_cents INTEGER NOT NULL CHECK (min_pledge_cents >= 0),
    max_pledge_cents INTEGER CHECK (max_pledge_cents >= 0),
    max_claim_cents INTEGER CHECK (max_claim_cents >= 0),
    quorum          TEXT NOT NULL,
    approval        TEXT NOT NULL,
    vote_hours      INTEGER NOT NULL CHECK (vote_hours > 0),
    pay_days        INTEGER NOT NULL CHECK (pay_days > 0),
    renew           TEXT NOT NULL CHECK (renew IN ('auto', 'manual'))
);

-- A member's pledge in a pool: their maximum contribution for the cycle that began at cycle_ms
-- (a pool renewing by hand lets it lapse at the next rollover).
CREATE TABLE pool_pledges (
    room_id      TEXT NOT NULL REFERENCES pools (room_id),
    member       TEXT NOT NULL,
    amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
    cycle_ms     INTEGER NOT NULL,
    changed_ms   INTEGER NOT NULL,
    PRIMARY KEY (room_id, member)
);

-- Claims (#C, a sequence of their own). Voting until closes_ms; then approved or rejected
-- (verdict: approved, rejected, no_quorum), with the amount covered.
CREATE TABLE claims (
    id            INTEGER PRIMARY KEY,
    room_id       TEXT NOT NULL REFERENCES pools (room_id),
    claimant      TEXT NOT NULL,
    event         TEXT NOT NULL,
    amount_cents  INTEGER NOT NULL CHECK (amount_cents > 0),
    description   TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('voting', 'approved', 'rejected')),
    verdict       TEXT,
    covered_cents INTEGER,
    opened_ms     INTEGER NOT NULL,
    closes_ms     INTEGER NOT NULL,
    decided_ms    INTEGER
);
CREATE INDEX claims_room ON claims (room_id, state);
CREATE INDEX claims_voting ON claims (closes_ms) WHERE state = 'voting';

-- Every act of voting as the bot saw it (V3): a 👍/👎 reaction on the claim message or a `vote`
-- command (vote 'yes'/'no'), or the redaction of one (vote NULL, retracts: the event it removes).
-- source_event_id is the event that cast or retracted it: once each.
CREATE TABLE claim_ballots (
    source_event_id TEXT PRIMARY KEY,
    claim_id        INTEGER NOT NULL REFERENCES claims (id),
    voter           TEXT NOT NULL,
    vote            TEXT CHECK (vote IN ('yes', 'no')),
    retracts        TEXT,
    at_ms           INTEGER NOT NULL,
    seq             INTEGER NOT NULL,
    CHECK ((vote IS NULL) <> (retracts IS NULL))
);
CREATE INDEX claim_ballots_claim ON claim_ballots (claim_id, seq);
