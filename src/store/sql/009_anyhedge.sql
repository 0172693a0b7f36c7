-- 9: the AnyHedge desk's offers, hedge positions, funding, settlements and redemptions.
-- Times are Unix seconds. Addresses are EIP-55 0x strings. Amounts are sats (INTEGER);
-- the liquidation multipliers are REAL because offers state them as doubles.

CREATE TABLE anyhedge_positions (
    id                              INTEGER PRIMARY KEY,
    address                         TEXT    NOT NULL UNIQUE,
    anyhedge_contract_version       TEXT    NOT NULL,
    factory                         TEXT    NOT NULL,
    collateral                      TEXT    NOT NULL,
    satoshis                        INTEGER NOT NULL CHECK (satoshis > 0),
    start_timestamp                 INTEGER NOT NULL,
    maturity_timestamp              INTEGER NOT NULL CHECK (maturity_timestamp > start_timestamp),
    short_wallet_hash               TEXT    NOT NULL,
    short_address                   TEXT    NOT NULL,
    long_wallet_hash                TEXT    NOT NULL,
    long_address                    TEXT    NOT NULL,
    oracle_pubkey                   TEXT    NOT NULL,
    oracle_address                  TEXT    NOT NULL,
    start_price                     INTEGER NOT NULL CHECK (start_price > 0),
    low_liquidation_multiplier      REAL    NOT NULL,
    high_liquidation_multiplier     REAL    NOT NULL,
    leveraged                       INTEGER NOT NULL CHECK (leveraged IN (0, 1)),
    low_price                       INTEGER NOT NULL,
    high_price                      INTEGER NOT NULL,
    nominal_units_x_sats_per_bch    INTEGER NOT NULL,
    sats_for_nominal_units_at_high  INTEGER NOT NULL,
    payout_sats                     INTEGER NOT NULL,
    short_input_sats                INTEGER NOT NULL,
    long_input_sats                 INTEGER NOT NULL,
    starting_oracle_message         TEXT    NOT NULL,
    starting_oracle_signature       TEXT    NOT NULL,
    funding_tx_hash                 TEXT,
    funding_tx_hash_validated       INTEGER NOT NULL DEFAULT 0 CHECK (funding_tx_hash_validated IN (0, 1)),
    created_at                      INTEGER NOT NULL
);
CREATE INDEX anyhedge_positions_short_wallet ON anyhedge_positions(short_wallet_hash);
CREATE INDEX anyhedge_positions_long_wallet ON anyhedge_positions(long_wallet_hash);
CREATE INDEX anyhedge_positions_start ON anyhedge_positions(start_timestamp DESC, id DESC);

-- A party's signed `Funding` permit: it lets the contract pull `sats` from it until `deadline`.
CREATE TABLE anyhedge_funding_proposals (
    position_id   INTEGER NOT NULL REFERENCES anyhedge_positions(id),
    side          TEXT    NOT NULL CHECK (side IN ('short', 'long')),
    signature     TEXT    NOT NULL,
    deadline      INTEGER NOT NULL,
    sats          INTEGER NOT NULL,
    submitted_at  INTEGER NOT NULL,
    PRIMARY KEY (position_id, side)
);

CREATE TABLE anyhedge_fundings (
    position_id             INTEGER PRIMARY KEY REFERENCES anyhedge_positions(id),
    tx_hash                 TEXT    NOT NULL,
    block_number            INTEGER,
    short_funding_satoshis  INTEGER NOT NULL,
    long_funding_satoshis   INTEGER NOT NULL,
    gas_fee_wei             TEXT,
    validated               INTEGER NOT NULL CHECK (validated IN (0, 1)),
    recorded_at             INTEGER NOT NULL
);

CREATE TABLE anyhedge_settlements (
    position_id                   INTEGER PRIMARY KEY REFERENCES anyhedge_positions(id),
    spending_transaction          TEXT    NOT NULL,
    settlement_type               TEXT    NOT NULL CHECK (settlement_type IN
                                      ('maturation', 'liquidation', 'mutual_redemption')),
    short_satoshis                INTEGER NOT NULL,
    long_satoshis                 INTEGER NOT NULL,
    oracle_pubkey                 TEXT    NOT NULL,
    settlement_price              INTEGER,
    settlement_price_sequence     INTEGER,
    settlement_message_sequence   INTEGER,
    settlement_message_timestamp  INTEGER,
    settlement_message            TEXT,
    settlement_signature          TEXT,
    recorded_at                   INTEGER NOT NULL
);
CREATE INDEX anyhedge_settlements_tx ON anyhedge_settlements(spending_transaction);

CREATE TABLE anyhedge_mutual_redemptions (
    position_id       INTEGER PRIMARY KEY REFERENCES anyhedge_positions(id),
    redemption_type   TEXT    NOT NULL CHECK (redemption_type IN ('refund', 'early_maturation', 'arbitrary')),
    initiator         TEXT    NOT NULL CHECK (initiator IN ('short', 'long')),
    short_satoshis    INTEGER NOT NULL,
    long_satoshis     INTEGER NOT NULL,
    settlement_price  INTEGER NOT NULL,
    deadline          INTEGER NOT NULL,
    short_signature   TEXT,
    long_signature    TEXT,
    tx_hash           TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);

CREATE TABLE anyhedge_position_fees (
    position_id  INTEGER PRIMARY KEY REFERENCES anyhedge_positions(id),
    address      TEXT    NOT NULL,
    satoshis     INTEGER NOT NULL CHECK (satoshis > 0)
);

CREATE TABLE anyhedge_position_metadata (
    position_id               INTEGER PRIMARY KEY REFERENCES anyhedge_positions(id),
    position_taker            TEXT CHECK (position_taker IN ('short', 'long')),
    liquidity_fee             INTEGER,
    network_fee               INTEGER,
    total_short_funding_sats  INTEGER,
    total_long_funding_sats   INTEGER
);

CREATE TABLE anyhedge_offers (
    id                           INTEGER PRIMARY KEY,
    position                     TEXT    NOT NULL CHECK (position IN ('short', 'long')),
    status                       TEXT    NOT NULL CHECK (status IN
                                     ('pending', 'accepted', 'settled', 'cancelled')),
    wallet_hash                  TEXT    NOT NULL,
    address                      TEXT    NOT NULL,
    satoshis                     INTEGER NOT NULL CHECK (satoshis > 0),
    duration_seconds             INTEGER NOT NULL CHECK (duration_seconds > 0),
    low_liquidation_multiplier   REAL    NOT NULL,
    high_liquidation_multiplier  REAL    NOT NULL,
    oracle_pubkey                TEXT    NOT NULL,
    leveraged                    INTEGER NOT NULL CHECK (leveraged IN (0, 1)),
    hedge_position_id            INTEGER UNIQUE REFERENCES anyhedge_positions(id),
    expires_at                   INTEGER,
    created_at                   INTEGER NOT NULL,
    updated_at                   INTEGER NOT NULL
);
CREATE INDEX anyhedge_offers_match ON anyhedge_offers(status, position, oracle_pubkey);
CREATE INDEX anyhedge_offers_wallet ON anyhedge_offers(wallet_hash);

-- Who accepted a pending offer, at which start price, and the contract that makes: kept
-- from `accepted` until `settled`; cleared when the settlement deadline passes.
CREATE TABLE anyhedge_offer_counterparties (
    offer_id                        INTEGER PRIMARY KEY REFERENCES anyhedge_offers(id),
    wallet_hash                     TEXT    NOT NULL,
    address                         TEXT    NOT NULL,
    satoshis                        INTEGER NOT NULL,
    contract_address                TEXT    NOT NULL UNIQUE,
    anyhedge_contract_version       TEXT    NOT NULL,
    factory                         TEXT    NOT NULL,
    collateral                      TEXT    NOT NULL,
    oracle_address                  TEXT    NOT NULL,
    starting_oracle_message         TEXT    NOT NULL,
    starting_oracle_signature       TEXT    NOT NULL,
    price_value                     INTEGER NOT NULL,
    price_message_timestamp         INTEGER NOT NULL,
    price_sequence                  INTEGER NOT NULL,
    oracle_message_sequence         INTEGER NOT NULL,
    start_timestamp                 INTEGER NOT NULL,
    maturity_timestamp              INTEGER NOT NULL,
    start_price                     INTEGER NOT NULL,
    low_price                       INTEGER NOT NULL,
    high_price                      INTEGER NOT NULL,
    nominal_units_x_sats_per_bch    INTEGER NOT NULL,
    sats_for_nominal_units_at_high  INTEGER NOT NULL,
    payout_sats                     INTEGER NOT NULL,
    short_input_sats                INTEGER NOT NULL,
    long_input_sats                 INTEGER NOT NULL,
    settlement_deadline             INTEGER NOT NULL,
    accepted_at                     INTEGER NOT NULL
);
CREATE INDEX anyhedge_offer_counterparties_deadline ON anyhedge_offer_counterparties(settlement_deadline);
CREATE INDEX anyhedge_offer_counterparties_wallet ON anyhedge_offer_counterparties(wallet_hash);
