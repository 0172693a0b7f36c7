-- 8: the AnyHedge desk's oracles and their signed price messages.

-- Oracles the desk follows: a compressed secp256k1 key (hex) and the relay serving it.
CREATE TABLE anyhedge_oracles (
    id             INTEGER PRIMARY KEY,
    pubkey         TEXT    NOT NULL UNIQUE CHECK (length(pubkey) = 66),
    relay_url      TEXT    NOT NULL,
    asset_name     TEXT    NOT NULL,
    asset_currency TEXT    NOT NULL,
    asset_decimals INTEGER NOT NULL CHECK (asset_decimals BETWEEN 0 AND 18),
    active         INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);

-- Price messages whose signature verified against `pubkey` (never anything else). The
-- message's fields are copied out of `message` so they can be filtered and ordered.
CREATE TABLE anyhedge_price_messages (
    id                INTEGER PRIMARY KEY,
    pubkey            TEXT    NOT NULL CHECK (length(pubkey) = 66),
    message           TEXT    NOT NULL CHECK (length(message) = 32),
    signature         TEXT    NOT NULL,
    message_timestamp INTEGER NOT NULL,
    message_sequence  INTEGER NOT NULL CHECK (message_sequence > 0),
    price_sequence    INTEGER NOT NULL CHECK (price_sequence > 0),
    price             INTEGER NOT NULL CHECK (price > 0),
    scheme            TEXT    NOT NULL CHECK (scheme IN ('bch-schnorr', 'ecdsa')),
    received_at       INTEGER NOT NULL,
    UNIQUE (pubkey, message_sequence)
);
CREATE INDEX anyhedge_price_messages_time ON anyhedge_price_messages(pubkey, message_timestamp);
CREATE INDEX anyhedge_price_messages_price_seq ON anyhedge_price_messages(pubkey, price_sequence);
CREATE INDEX anyhedge_price_messages_all_time ON anyhedge_price_messages(message_timestamp);
