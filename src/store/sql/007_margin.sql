-- The liquidator desk's index of a Dex223 margin module: orders and positions as the
-- module's events tell them (completed by reads of what no event carries), the decoded
-- event history per position, and the desk's own liquidations. Token amounts are
-- decimal strings (uint256).
CREATE TABLE margin_orders (
    chain_id      INTEGER NOT NULL,
    module        TEXT    NOT NULL,
    order_id      INTEGER NOT NULL,
    owner         TEXT    NOT NULL,
    base_asset    TEXT    NOT NULL,
    whitelist     TEXT    NOT NULL,
    interest_rate TEXT    NOT NULL,
    duration      INTEGER NOT NULL,
    min_loan      TEXT    NOT NULL,
    leverage      INTEGER NOT NULL,
    oracle        TEXT    NOT NULL,
    collaterals   TEXT    NOT NULL DEFAULT '[]',
    alive         INTEGER NOT NULL DEFAULT 1,
    -- No event carries the reward or the deadline: NULL until read from the module.
    reward_amount TEXT,
    reward_asset  TEXT,
    deadline      INTEGER,
    currency_limit INTEGER,
    stale         INTEGER NOT NULL DEFAULT 1,
    created_block INTEGER NOT NULL,
    PRIMARY KEY (chain_id, module, order_id)
);

CREATE TABLE margin_positions (
    chain_id        INTEGER NOT NULL,
    module          TEXT    NOT NULL,
    position_id     INTEGER NOT NULL,
    -- PositionOpened carries neither the order nor the terms: NULL until read.
    order_id        INTEGER,
    owner           TEXT    NOT NULL,
    base_asset      TEXT    NOT NULL,
    initial_balance TEXT    NOT NULL,
    interest        TEXT,
    created_at      INTEGER,
    deadline        INTEGER,
    -- JSON [[asset, balance], ...] in the module's order; the base asset first.
    holdings        TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('open', 'closed', 'liquidated')),
    frozen_time     INTEGER NOT NULL DEFAULT 0,
    liquidator      TEXT,
    -- 1: read it from the module before trusting it (new, or touched by a reorg).
    stale           INTEGER NOT NULL DEFAULT 1,
    opened_block    INTEGER NOT NULL,
    closed_block    INTEGER,
    PRIMARY KEY (chain_id, module, position_id)
);
CREATE INDEX margin_positions_status ON margin_positions(chain_id, module, status);

CREATE TABLE margin_events (
    chain_id     INTEGER NOT NULL,
    module       TEXT    NOT NULL,
    block_number INTEGER NOT NULL,
    block_hash   TEXT    NOT NULL,
    log_index    INTEGER NOT NULL,
    tx_hash      TEXT    NOT NULL,
    position_id  INTEGER,
    order_id     INTEGER,
    name         TEXT    NOT NULL,
    detail       TEXT    NOT NULL,
    PRIMARY KEY (chain_id, block_hash, log_index)
);
CREATE INDEX margin_events_position ON margin_events(chain_id, module, position_id, block_number);

-- One row per freeze round the desk starts on a position: the first freeze is round 1,
-- a re-freeze after the hour ran out is the next round.
CREATE TABLE liquidations (
    id               INTEGER PRIMARY KEY,
    chain_id         INTEGER NOT NULL,
    module           TEXT    NOT NULL,
    position_id      INTEGER NOT NULL,
    round            INTEGER NOT NULL,
    state            TEXT    NOT NULL CHECK (state IN
                         ('freezing', 'frozen', 'confirming', 'confirmed', 'recovered',
                          'expired', 'failed', 'lost')),
    by_operator      INTEGER NOT NULL DEFAULT 0,
    freeze_action    INTEGER REFERENCES actions(id),
    confirm_action   INTEGER REFERENCES actions(id),
    frozen_time      INTEGER,
    reward_asset     TEXT    NOT NULL,
    reward_amount    TEXT    NOT NULL,
    reward_usd_cents INTEGER,
    gas_wei          TEXT    NOT NULL DEFAULT '0',
    gas_usd_cents    INTEGER,
    profit_usd_cents INTEGER,
    note             TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (chain_id, module, position_id, round)
);
CREATE INDEX liquidations_state ON liquidations(chain_id, module, state);
