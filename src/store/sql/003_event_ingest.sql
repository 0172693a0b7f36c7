-- Event ingestion (issue #4): one cursor per stream, the hashes of recently scanned
-- blocks (to detect a reorg below the cursor and find the fork point), and every log
-- delivered to a desk, applied or retracted. Hashes and addresses are 0x-prefixed
-- lowercase hex.

-- A stream: a named filter (contract addresses + optional topic0 set) on one chain.
-- next_block is the next block to scan; every block below it has been scanned.
CREATE TABLE ingest_streams (
    chain_id    INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    addresses   TEXT    NOT NULL,            -- sorted, comma-separated
    topic0      TEXT    NOT NULL,            -- sorted, comma-separated; '' = any event
    start_block INTEGER NOT NULL,
    next_block  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (chain_id, name)
);

-- Hashes of scanned blocks, pruned to a window below the cursor: every block that held
-- one of the stream's logs, and the last block of every scanned chunk.
CREATE TABLE ingest_blocks (
    chain_id INTEGER NOT NULL,
    stream   TEXT    NOT NULL,
    number   INTEGER NOT NULL,
    hash     TEXT    NOT NULL,
    PRIMARY KEY (chain_id, stream, number),
    FOREIGN KEY (chain_id, stream) REFERENCES ingest_streams(chain_id, name) ON DELETE CASCADE
) WITHOUT ROWID;

-- Every log delivered to a stream's handler. A log is one row per stream, keyed by
-- (block hash, log index): recording it again is a no-op, so it is applied exactly once.
CREATE TABLE ingest_logs (
    id              INTEGER PRIMARY KEY,
    chain_id        INTEGER NOT NULL,
    stream          TEXT    NOT NULL,
    block_number    INTEGER NOT NULL,
    block_hash      TEXT    NOT NULL,
    block_timestamp INTEGER,
    log_index       INTEGER NOT NULL,
    tx_hash         TEXT    NOT NULL,
    address         TEXT    NOT NULL,
    topics          TEXT    NOT NULL,        -- comma-separated
    data            BLOB    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('applied', 'retracted')),
    applied_at      INTEGER NOT NULL,
    retracted_at    INTEGER,
    UNIQUE (chain_id, stream, block_hash, log_index),
    FOREIGN KEY (chain_id, stream) REFERENCES ingest_streams(chain_id, name) ON DELETE CASCADE
);
CREATE INDEX ingest_logs_stream_block ON ingest_logs(chain_id, stream, block_number, log_index);
