-- The transaction journal (chain::send): every signed transaction is written here BEFORE it
-- is broadcast, so a restart finds it and nothing is sent twice.
--
-- tx_sends: one row per idempotency key (e.g. 'action:42'): the payload, the nonce, the
-- state, and the receipt of the attempt that was mined.
-- tx_attempts: one row per signed transaction of a send: the original and each fee-bumped
-- replacement (same nonce, same payload), with the raw bytes to re-broadcast unchanged.
--
-- Amounts that may not fit 64 bits (value, fees, prices) are decimal TEXT; addresses are
-- checksummed 0x TEXT, hashes and bytes lower-case 0x hex; times are unix milliseconds.
CREATE TABLE tx_sends (
    id                  INTEGER PRIMARY KEY,
    idem_key            TEXT    NOT NULL UNIQUE,
    chain_id            INTEGER NOT NULL,
    from_addr           TEXT    NOT NULL,
    nonce               INTEGER NOT NULL,
    to_addr             TEXT    NOT NULL,
    value_wei           TEXT    NOT NULL,
    input               TEXT    NOT NULL,
    gas_limit           INTEGER NOT NULL,
    state               TEXT    NOT NULL CHECK (state IN
                            ('signed','pending','mined','confirmed','failed','dropped','rejected')),
    final_hash          TEXT,
    block_number        INTEGER,
    block_hash          TEXT,
    gas_used            INTEGER,
    effective_gas_price TEXT,
    receipt_status      INTEGER,
    error               TEXT,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE INDEX tx_sends_state ON tx_sends(chain_id, state, id);
-- Two live sends of one account never share a nonce (one would silently replace the other).
CREATE UNIQUE INDEX tx_sends_live_nonce ON tx_sends(chain_id, from_addr, nonce)
    WHERE state NOT IN ('rejected', 'dropped');

CREATE TABLE tx_attempts (
    id                       INTEGER PRIMARY KEY,
    send_id                  INTEGER NOT NULL REFERENCES tx_sends(id),
    attempt                  INTEGER NOT NULL,
    nonce                    INTEGER NOT NULL,
    hash                     TEXT    NOT NULL UNIQUE,
    raw_tx                   TEXT    NOT NULL,
    max_fee_per_gas          TEXT    NOT NULL,
    max_priority_fee_per_gas TEXT    NOT NULL,
    state                    TEXT    NOT NULL CHECK (state IN
                                 ('signed','pending','mined','replaced','rejected','dropped')),
    error                    TEXT,
    created_at               INTEGER NOT NULL,
    sent_at                  INTEGER,
    UNIQUE (send_id, attempt)
);
