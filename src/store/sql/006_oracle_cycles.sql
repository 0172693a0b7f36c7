-- One row per oracle publishing cycle: how long it took and what it decided.
CREATE TABLE oracle_cycles (
    id             INTEGER PRIMARY KEY,
    chain_id       INTEGER NOT NULL,
    at_ms          INTEGER NOT NULL,
    duration_us    INTEGER NOT NULL,
    verified       INTEGER NOT NULL,
    due            INTEGER NOT NULL,
    outcome        TEXT    NOT NULL CHECK (outcome IN ('proposed', 'nothing_due', 'refused')),
    action_id      INTEGER REFERENCES actions(id),
    error          TEXT
);
CREATE INDEX oracle_cycles_chain ON oracle_cycles(chain_id, id);
