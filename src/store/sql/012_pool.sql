-- The pool desk (BitHedge liquidity pool): the providers' books against the Vault, the
-- tiers, the policies and their allocation to providers, the Vault events applied, health
-- transitions, withdrawal requests and a journal of every flow.
-- Token amounts are decimal integers in base units (wei, sats) as TEXT (they exceed
-- SQLite's 64-bit integers); USD values and prices are USD x 10^8 as TEXT; ratios are basis
-- points; times are unix milliseconds. A provider's available balance is total - locked.

CREATE TABLE pool_tiers (
    name                   TEXT    PRIMARY KEY,
    position               INTEGER NOT NULL,
    -- 0: no longer in the config (keeps its books, backs nothing new).
    configured             INTEGER NOT NULL DEFAULT 1,
    collateral_ratio_bps   INTEGER NOT NULL CHECK (collateral_ratio_bps >= 10000),
    warning_ratio_bps      INTEGER NOT NULL,
    margin_call_ratio_bps  INTEGER NOT NULL,
    premium_multiplier     TEXT    NOT NULL,
    -- NULL: no limit.
    capacity_eth           TEXT,
    capacity_wbtc          TEXT,
    updated_at             INTEGER NOT NULL
);

CREATE TABLE pool_providers (
    address           TEXT    PRIMARY KEY,
    tier              TEXT    NOT NULL REFERENCES pool_tiers(name),
    status            TEXT    NOT NULL CHECK (status IN
                          ('healthy','warning','margin_call','liquidating','unknown')),
    status_since      INTEGER,
    health_ratio_bps  INTEGER,
    required_usd_e8   TEXT,
    value_usd_e8      TEXT,
    last_check_at     INTEGER,
    deposit_count     INTEGER NOT NULL DEFAULT 0,
    withdrawal_count  INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX pool_providers_tier ON pool_providers(tier, status);

-- A provider's books per token.
CREATE TABLE pool_balances (
    provider       TEXT NOT NULL REFERENCES pool_providers(address),
    token          TEXT NOT NULL CHECK (token IN ('eth','wbtc')),
    total          TEXT NOT NULL,
    locked         TEXT NOT NULL,
    accrued_yield  TEXT NOT NULL,
    PRIMARY KEY (provider, token)
);

CREATE TABLE pool_policies (
    id                    INTEGER PRIMARY KEY,
    idem_key              TEXT    NOT NULL UNIQUE,
    kind                  TEXT    NOT NULL CHECK (kind IN ('PUT','CALL')),
    buyer                 TEXT    NOT NULL,
    buyer_tier            TEXT    NOT NULL,
    tier                  TEXT    NOT NULL REFERENCES pool_tiers(name),
    token                 TEXT    NOT NULL CHECK (token IN ('eth','wbtc')),
    strike_usd_e8         TEXT    NOT NULL,
    amount_sats           INTEGER NOT NULL CHECK (amount_sats > 0),
    premium               TEXT    NOT NULL,
    collateral_locked     TEXT    NOT NULL,
    collateral_ratio_bps  INTEGER NOT NULL,
    spot_usd_e8           TEXT    NOT NULL,
    expires_at            INTEGER NOT NULL,
    status                TEXT    NOT NULL CHECK (status IN ('active','settled','expired')),
    onchain_locked        INTEGER NOT NULL DEFAULT 0,
    settlement_price_e8   TEXT,
    payout                TEXT,
    yield_accrued_at      INTEGER,
    created_at            INTEGER NOT NULL,
    closed_at             INTEGER,
    updated_at            INTEGER NOT NULL
);
CREATE INDEX pool_policies_status ON pool_policies(status, expires_at);

-- Which providers back a policy, and with how much.
CREATE TABLE pool_allocations (
    policy_id         INTEGER NOT NULL REFERENCES pool_policies(id),
    provider          TEXT    NOT NULL REFERENCES pool_providers(address),
    token             TEXT    NOT NULL CHECK (token IN ('eth','wbtc')),
    amount_locked     TEXT    NOT NULL,
    premium_share     TEXT    NOT NULL,
    settlement_debit  TEXT,
    released_at       INTEGER,
    PRIMARY KEY (policy_id, provider)
);
CREATE INDEX pool_allocations_provider ON pool_allocations(provider, released_at);

-- Every Vault event applied, once: (tx_hash, log_index) is the key replays collide on.
-- outcome 'anomaly': the Vault did it but the books could not follow (named in note); the
-- mirrored totals then disagree with the books and reconciliation reports it.
CREATE TABLE pool_vault_events (
    id            INTEGER PRIMARY KEY,
    tx_hash       TEXT    NOT NULL,
    log_index     INTEGER NOT NULL,
    block_number  INTEGER NOT NULL,
    kind          TEXT    NOT NULL CHECK (kind IN ('funds_deposited','funds_withdrawn',
                      'collateral_locked','collateral_released','settlement_paid')),
    token         TEXT    NOT NULL CHECK (token IN ('eth','wbtc')),
    amount        TEXT    NOT NULL,
    account       TEXT,
    policy_ids    TEXT,
    outcome       TEXT    NOT NULL CHECK (outcome IN ('applied','anomaly')),
    note          TEXT,
    applied_at    INTEGER NOT NULL,
    UNIQUE (tx_hash, log_index)
);

-- The Vault's totals per token, as mirrored from its events (or read from it).
CREATE TABLE pool_metrics (
    token           TEXT    PRIMARY KEY CHECK (token IN ('eth','wbtc')),
    onchain_total   TEXT    NOT NULL,
    onchain_locked  TEXT    NOT NULL,
    last_block      INTEGER,
    last_sync_at    INTEGER
);

CREATE TABLE pool_status_transitions (
    id           INTEGER PRIMARY KEY,
    provider     TEXT    NOT NULL REFERENCES pool_providers(address),
    from_status  TEXT    NOT NULL,
    to_status    TEXT    NOT NULL,
    ratio_bps    INTEGER,
    at           INTEGER NOT NULL
);
CREATE INDEX pool_status_transitions_provider ON pool_status_transitions(provider, id);

-- A provider's request to withdraw, with the maximum it was checked against.
CREATE TABLE pool_withdrawals (
    id                INTEGER PRIMARY KEY,
    provider          TEXT    NOT NULL,
    token             TEXT    NOT NULL CHECK (token IN ('eth','wbtc')),
    amount            TEXT    NOT NULL,
    max_withdrawable  TEXT    NOT NULL,
    refused           TEXT,
    status            TEXT    NOT NULL CHECK (status IN ('requested','refused','done','cancelled')),
    action_id         INTEGER,
    event_id          INTEGER REFERENCES pool_vault_events(id),
    requested_at      INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX pool_withdrawals_open ON pool_withdrawals(status, provider, token);

-- One line per flow that changed the books (deposit, withdrawal, policy, lock, release,
-- settlement, yield, health transition, tier sync, anomaly).
CREATE TABLE pool_journal (
    id       INTEGER PRIMARY KEY,
    at       INTEGER NOT NULL,
    flow     TEXT    NOT NULL,
    subject  TEXT    NOT NULL,
    detail   TEXT    NOT NULL
);
CREATE INDEX pool_journal_at ON pool_journal(at, id);
