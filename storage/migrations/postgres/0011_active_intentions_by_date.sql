-- Exodus bot: the index of active intentions keyed by when they were made instead of by room.
-- The rollover expires those made before the month began (a range of this index) and renews
-- last month's fulfilled obligations as intentions made now: with the date as the key those go
-- in at the index's end, where by room each went into a page of its own (benchmark B3: 80,000
-- renewals). A room's active intentions are found by records_room, as its other records are.
DROP INDEX records_active_intentions;
CREATE INDEX records_active_intentions ON records (created_ms) WHERE kind = 'intention' AND state = 'active';
