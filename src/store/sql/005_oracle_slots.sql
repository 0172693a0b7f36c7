-- The oracle desk's slot layout: which asset's price lives in which PriceCaster slot.
CREATE TABLE oracle_slots (
    chain_id      INTEGER NOT NULL,
    slot          INTEGER NOT NULL CHECK (slot BETWEEN 0 AND 254),
    asset_id      INTEGER NOT NULL,
    decimals      INTEGER NOT NULL CHECK (decimals BETWEEN 0 AND 19),
    price_id      TEXT    NOT NULL,
    symbol        TEXT    NOT NULL,
    registered_at INTEGER NOT NULL,
    PRIMARY KEY (chain_id, slot),
    UNIQUE (chain_id, asset_id),
    UNIQUE (chain_id, price_id)
);
