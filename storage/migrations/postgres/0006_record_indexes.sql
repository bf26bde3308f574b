-- Exodus bot: the records' lookup indexes keyed by room, giver and recipient alone. Keyed with the
-- state as well (0002), every change of state (the rollover expires a third of a large network's
-- records at once) moved the row within all three indexes; keyed without it, a change of state
-- leaves them alone, and a lookup reads the member's or room's records and filters them by state.
-- The rollover finds the intentions to expire in a partial index of the active ones, which a row
-- leaves (one deletion) when it changes state.
DROP INDEX records_room;
DROP INDEX records_giver;
DROP INDEX records_recipient;
CREATE INDEX records_room ON records (room_id);
CREATE INDEX records_giver ON records (giver);
CREATE INDEX records_recipient ON records (recipient);
CREATE INDEX records_active_intentions ON records (room_id) WHERE kind = 'intention' AND state = 'active';
