-- A call's use is counted when it is decided (a reservation, under the budget's lock) and taken
-- back if the call does not run, so the lock is held for the decision, not for the call's work.
ALTER TABLE usage ADD COLUMN reservation TEXT;
CREATE INDEX IF NOT EXISTS usage_reservation ON usage (reservation) WHERE reservation IS NOT NULL;
