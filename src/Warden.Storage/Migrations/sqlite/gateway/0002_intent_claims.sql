-- Replicas share the intents: one left by a replica that stopped is taken over by another, which
-- first claims it until a time (so that two do not record it twice, and a taker that stops too
-- leaves it to the next).
ALTER TABLE intents ADD COLUMN claimed_until TEXT;
