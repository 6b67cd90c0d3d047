-- Replicas share each agent's request rate: a token bucket per agent, refilled by the time that
-- passed (in milliseconds since the epoch, by whichever replica's clock is later), taken from in one
-- statement, so an agent's flood is refused at the same rate whichever replicas it reaches.
CREATE TABLE IF NOT EXISTS agent_rates (
    agent TEXT COLLATE "C" PRIMARY KEY,
    tokens DOUBLE PRECISION NOT NULL,
    at_ms BIGINT NOT NULL
);
