-- The perp desk's hedges on a venue, one row per hedge of a trader position, and the paper
-- venue's fills. Quantities and prices are decimal strings exactly as the venue took them.
CREATE TABLE perp_hedges (
    id               INTEGER PRIMARY KEY,
    position_key     TEXT    NOT NULL,
    venue            TEXT    NOT NULL,
    market           TEXT    NOT NULL,
    symbol           TEXT    NOT NULL,
    side             TEXT    NOT NULL CHECK (side IN ('BUY','SELL')),
    quantity         TEXT    NOT NULL,
    state            TEXT    NOT NULL CHECK (state IN
                         ('opening','open','closing','closed','failed')),
    open_client_id   TEXT    NOT NULL UNIQUE,
    open_action_id   INTEGER,
    entry_price      TEXT,
    close_client_id  TEXT    UNIQUE,
    close_action_id  INTEGER,
    close_reason     TEXT,
    exit_price       TEXT,
    reason           TEXT    NOT NULL,
    note             TEXT,
    last_flag_at     INTEGER NOT NULL,
    opened_at        INTEGER,
    closed_at        INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
-- At most one live hedge per trader position: what keeps a restart from doubling one.
CREATE UNIQUE INDEX perp_hedges_live ON perp_hedges(position_key)
    WHERE state IN ('opening','open','closing');
CREATE INDEX perp_hedges_state ON perp_hedges(state, id);

CREATE TABLE paper_fills (
    client_order_id  TEXT    PRIMARY KEY,
    symbol           TEXT    NOT NULL,
    side             TEXT    NOT NULL CHECK (side IN ('BUY','SELL')),
    quantity         TEXT    NOT NULL,
    price            TEXT    NOT NULL,
    fee              TEXT    NOT NULL,
    reduce_only      INTEGER NOT NULL,
    filled_at        INTEGER NOT NULL
);
CREATE INDEX paper_fills_symbol ON paper_fills(symbol, filled_at);
