-- Exodus bot, PostgreSQL: expiry and overdue derived from the runs that decided them, instead of
-- rewriting every record they concern (benchmark B3: a rollover of 1,000,000 records rewrote
-- 400,000 of them and their index entries). A record stays as it was written; `ledger` is what
-- it is now, and every read goes through it.
--
-- An expiry (one per rollover that expired something): the circle intentions still active that
-- were made before before_ms and existed at the run (id at most upto_id) are expired since at_ms.
CREATE TABLE expiries (
    id         BIGSERIAL PRIMARY KEY,
    before_ms  BIGINT NOT NULL,
    upto_id    BIGINT NOT NULL,
    at_ms      BIGINT NOT NULL
);

-- An overdue mark (rollover and deadlines): the obligations still open or paid that were due
-- before before_ms and existed at the run are overdue. A later mark that covers an earlier one
-- replaces it, so there is one row unless a run was made as of an earlier time.
CREATE TABLE overdue_marks (
    id         BIGSERIAL PRIMARY KEY,
    before_ms  BIGINT NOT NULL,
    upto_id    BIGINT NOT NULL
);

-- The last expiry and overdue mark a record's own write took into account: a mark made before the
-- record was last written does not apply to it again (what it decided was written with it), so
-- that an intention committed after a run made as of a later time is not overdue by that run.
ALTER TABLE records ADD COLUMN expiry_seen BIGINT NOT NULL DEFAULT 0;
ALTER TABLE records ADD COLUMN overdue_seen BIGINT NOT NULL DEFAULT 0;

-- A record as it is now: `state` and `changed_ms` with the expiries applied, `overdue` with the
-- overdue marks. Writing a record writes what it is now, so a change keeps the marks.
CREATE VIEW ledger AS
SELECT r.id, r.kind, r.giver, r.recipient, r.room_id, r.amount_cents, r.what,
       CASE WHEN r.expired_ms IS NULL THEN r.state ELSE 'expired' END AS state,
       r.overdue OR (r.kind = 'obligation' AND r.state IN ('open', 'paid')
                 AND EXISTS (SELECT 1 FROM overdue_marks o WHERE r.due_ms < o.before_ms AND r.id <= o.upto_id AND o.id > r.overdue_seen)) AS overdue,
       r.created_ms, r.due_ms, COALESCE(r.expired_ms, r.changed_ms) AS changed_ms, r.renewed_from, r.initiative_id
FROM (SELECT r.*,
             CASE WHEN r.kind = 'intention' AND r.state = 'active' AND EXISTS (SELECT 1 FROM circles c WHERE c.room_id = r.room_id)
                  THEN (SELECT MIN(x.at_ms) FROM expiries x WHERE r.created_ms < x.before_ms AND r.id <= x.upto_id AND x.id > r.expiry_seen) END AS expired_ms
      FROM records r) AS r;
