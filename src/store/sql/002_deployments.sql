CREATE TABLE deployments (
    chain_id     INTEGER NOT NULL,
    name         TEXT    NOT NULL,
    address      TEXT    NOT NULL,
    artifact     TEXT    NOT NULL,
    tx_hash      TEXT    NOT NULL,
    block_number INTEGER NOT NULL,
    deployed_at  INTEGER NOT NULL,
    PRIMARY KEY (chain_id, name)
);
