//! Checks on the typed config that serde cannot express: ranges, names, the log filter,
//! and the UI's own checks of key bindings and the theme.

use std::fmt::Display;
use std::ops::RangeInclusive;
use std::path::Path;

use super::decode::RawProblem;
use super::keypath::KeyPath;
use super::model::{ChainConfig, Config};
use crate::tui::{keymap, theme};

/// Keyring backends `keys.keyring_backend` accepts.
pub const KEYRING_BACKENDS: [&str; 3] = ["auto", "keyutils", "secret-service"];

/// Level names `general.log_level` accepts on their own.
const LOG_LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

/// Every semantic problem in `config`.
pub(crate) fn validate(config: &Config) -> Vec<RawProblem> {
    let mut out = Problems(Vec::new());
    let c = config;

    // [general]
    if let Err(why) = check_log_level(&c.general.log_level) {
        out.push(["general", "log_level"], why);
    }
    out.range(
        ["general", "log_retention_days"],
        c.general.log_retention_days,
        1..=3650,
    );

    // [keys]
    if !KEYRING_BACKENDS.contains(&c.keys.keyring_backend.as_str()) {
        out.push(
            ["keys", "keyring_backend"],
            format!(
                "expected one of {}, got {:?}",
                KEYRING_BACKENDS.join(", "),
                c.keys.keyring_backend
            ),
        );
    }
    if let Err(why) = check_account(&c.keys.account) {
        out.push(["keys", "account"], why);
    }
    out.range(
        ["keys", "max_unlock_attempts"],
        c.keys.max_unlock_attempts,
        1..=10,
    );

    // [store]
    if let Err(why) = check_file_name(&c.store.file) {
        out.push(["store", "file"], why);
    }
    out.range(
        ["store", "busy_timeout_ms"],
        c.store.busy_timeout_ms,
        1..=600_000,
    );
    out.range(
        ["store", "recent_actions"],
        c.store.recent_actions,
        10..=100_000,
    );

    // [ui]
    out.range(["ui", "tick_ms"], c.ui.tick_ms, 50..=60_000);
    out.range(["ui", "log_lines"], c.ui.log_lines, 100..=1_000_000);
    if let Some(why) = theme::check_theme(&c.ui.theme, &c.themes_dir()) {
        out.push(["ui", "theme"], why);
    }
    for (command, why) in keymap::check_bindings(&c.ui.keys) {
        out.0.push(RawProblem::new(
            KeyPath::keys(["ui", "keys", command.as_str()]),
            why,
        ));
    }

    // [headless]
    out.range(
        ["headless", "shutdown_grace_ms"],
        c.headless.shutdown_grace_ms,
        0..=600_000,
    );

    // [workers]
    let backoff = 10..=3_600_000;
    let initial_ok = out.range(
        ["workers", "restart_backoff_ms"],
        c.workers.restart_backoff_ms,
        backoff.clone(),
    );
    let max_ok = out.range(
        ["workers", "restart_backoff_max_ms"],
        c.workers.restart_backoff_max_ms,
        backoff,
    );
    if initial_ok && max_ok && c.workers.restart_backoff_max_ms < c.workers.restart_backoff_ms {
        out.push(
            ["workers", "restart_backoff_max_ms"],
            format!(
                "expected at least workers.restart_backoff_ms ({}), got {}",
                c.workers.restart_backoff_ms, c.workers.restart_backoff_max_ms
            ),
        );
    }

    // [chains.<name>]
    for (name, chain) in &c.chains {
        check_chain(&mut out, name, chain);
    }

    // [oracle]
    check_oracle(&mut out, c);

    // [liquidator]
    check_liquidator(&mut out, c);

    // [anyhedge], [api]
    check_anyhedge(&mut out, c);
    check_perp(&mut out, c);
    check_pool(&mut out, c);
    check_api(&mut out, c);

    // [actions.<kind>]
    for (kind, policy) in &c.actions {
        if policy.min_profit_usd_cents < 0 {
            out.push(
                ["actions", kind.as_str(), "min_profit_usd_cents"],
                format!(
                    "expected 0 or more (US cents), got {}",
                    policy.min_profit_usd_cents
                ),
            );
        }
    }

    out.0
}

fn check_chain(out: &mut Problems, name: &str, chain: &ChainConfig) {
    if check_account(name).is_err() {
        out.push(
            ["chains", name],
            format!("a chain name is letters, digits, `.`, `_` or `-`, got {name:?}"),
        );
    }
    if chain.chain_id == 0 {
        out.push(
            ["chains", name, "chain_id"],
            "expected a chain id above 0, got 0",
        );
    }
    if chain.endpoints.is_empty() {
        out.push(
            ["chains", name, "endpoints"],
            "expected at least one endpoint ([[chains.<name>.endpoints]] with name and url)",
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, endpoint) in chain.endpoints.iter().enumerate() {
        let at = |key: &str| {
            KeyPath::keys(["chains", name, "endpoints"])
                .index(i)
                .child(key)
        };
        if endpoint.name.trim().is_empty() {
            out.0.push(RawProblem::new(
                at("name"),
                "expected a name, got an empty string",
            ));
        } else if !seen.insert(endpoint.name.as_str()) {
            out.0.push(RawProblem::new(
                at("name"),
                format!(
                    "endpoint names must differ; {:?} is used twice",
                    endpoint.name
                ),
            ));
        }
        if let Err(why) = check_url(&endpoint.url, &["http", "https"]) {
            out.0.push(RawProblem::new(at("url"), why));
        }
        if !endpoint.ws_url.is_empty()
            && let Err(why) = check_url(&endpoint.ws_url, &["ws", "wss"])
        {
            out.0.push(RawProblem::new(at("ws_url"), why));
        }
    }
    let limits = [
        ("confirmations", chain.confirmations, 0..=1_000),
        ("poll_interval_ms", chain.poll_interval_ms, 50..=600_000),
        ("log_chunk_blocks", chain.log_chunk_blocks, 1..=100_000),
        (
            "health_interval_ms",
            chain.health_interval_ms,
            100..=600_000,
        ),
        ("max_head_lag_blocks", chain.max_head_lag_blocks, 0..=10_000),
        (
            "request_timeout_ms",
            chain.request_timeout_ms,
            100..=600_000,
        ),
        ("max_fee_gwei", chain.max_fee_gwei, 1..=1_000_000),
        ("stuck_after_secs", chain.stuck_after_secs, 1..=86_400),
        ("fee_bump_percent", chain.fee_bump_percent, 10..=1_000),
    ];
    for (key, value, range) in limits {
        out.range(["chains", name, key], value, range);
    }
    let tip_ok = out.range(
        ["chains", name, "max_priority_fee_gwei"],
        chain.max_priority_fee_gwei,
        0..=1_000_000,
    );
    if tip_ok && chain.max_priority_fee_gwei > chain.max_fee_gwei {
        out.push(
            ["chains", name, "max_priority_fee_gwei"],
            format!(
                "expected at most max_fee_gwei ({}), got {}",
                chain.max_fee_gwei, chain.max_priority_fee_gwei
            ),
        );
    }
}

fn check_oracle(out: &mut Problems, c: &Config) {
    let o = &c.oracle;
    if !c.chains.contains_key(&o.chain) {
        out.push(
            ["oracle", "chain"],
            format!(
                "expected the name of a [chains.<name>] table ({}), got {:?}",
                c.chains.keys().cloned().collect::<Vec<_>>().join(", "),
                o.chain
            ),
        );
    }
    if let Err(why) = check_url(&o.hermes_url, &["http", "https"]) {
        out.push(["oracle", "hermes_url"], why);
    }
    out.range(["oracle", "batch_size"], o.batch_size, 1..=100);
    if o.guardian_sets.trim().is_empty() {
        out.push(
            ["oracle", "guardian_sets"],
            "expected \"mainnet\" or the path of a JSON file of guardian sets",
        );
    }
    if let Err(why) = check_hex32(&o.emitter_address) {
        out.push(["oracle", "emitter_address"], why);
    }
    let mut assets = std::collections::BTreeSet::new();
    let mut ids = std::collections::BTreeSet::new();
    for (i, feed) in o.feeds.iter().enumerate() {
        let at = |key: &str| KeyPath::keys(["oracle", "feeds"]).index(i).child(key);
        if feed.symbol.trim().is_empty() {
            out.0.push(RawProblem::new(
                at("symbol"),
                "expected a name such as \"BTC/USD\"",
            ));
        }
        if !assets.insert(feed.asset_id) {
            out.0.push(RawProblem::new(
                at("asset_id"),
                format!("asset {} already has a feed", feed.asset_id),
            ));
        }
        if feed.decimals > crate::oracle::slot::MAX_DECIMALS {
            out.0.push(RawProblem::new(
                at("decimals"),
                format!("expected 0 to 19, got {}", feed.decimals),
            ));
        }
        match check_hex32(&feed.price_id) {
            Err(why) => out.0.push(RawProblem::new(at("price_id"), why)),
            Ok(()) if !ids.insert(feed.price_id.trim_start_matches("0x").to_ascii_lowercase()) => {
                out.0
                    .push(RawProblem::new(at("price_id"), "this feed is listed twice"));
            }
            Ok(()) => {}
        }
        for (key, value, range) in [
            (
                "time_difference_secs",
                feed.time_difference_secs,
                1..=86_400 * 7,
            ),
            (
                "price_deviation_bps",
                u64::from(feed.price_deviation_bps),
                1..=10_000,
            ),
            (
                "confidence_ratio_bps",
                u64::from(feed.confidence_ratio_bps),
                1..=10_000,
            ),
        ] {
            if !range.contains(&value) {
                out.0.push(RawProblem::new(
                    at(key),
                    format!(
                        "expected a number from {} to {}, got {value}",
                        range.start(),
                        range.end()
                    ),
                ));
            }
        }
    }
}

fn check_liquidator(out: &mut Problems, c: &Config) {
    let l = &c.liquidator;
    if !c.chains.contains_key(&l.chain) {
        out.push(
            ["liquidator", "chain"],
            format!(
                "expected the name of a [chains.<name>] table ({}), got {:?}",
                c.chains.keys().cloned().collect::<Vec<_>>().join(", "),
                l.chain
            ),
        );
    }
    if let Err(why) = check_address_or_name(&l.module) {
        out.push(["liquidator", "module"], why);
    }
    if !l.receiver.is_empty() && !is_address(&l.receiver) {
        out.push(
            ["liquidator", "receiver"],
            format!(
                "expected an address (0x and 40 hex digits) or empty for the unlocked account, got {:?}",
                l.receiver
            ),
        );
    }
    for (key, value) in [
        ("min_profit", l.min_profit),
        (
            "always_liquidate_reward_above",
            l.always_liquidate_reward_above,
        ),
    ] {
        if value < 0 {
            out.push(
                ["liquidator", key],
                format!("expected 0 or more (US cents), got {value}"),
            );
        }
    }
    out.range(
        ["liquidator", "max_fee_per_gas"],
        l.max_fee_per_gas,
        1..=1_000_000,
    );
    out.range(
        ["liquidator", "near_edge_bps"],
        u64::from(l.near_edge_bps),
        0..=10_000,
    );
    out.range(
        ["liquidator", "freeze_gas"],
        l.freeze_gas,
        21_000..=30_000_000,
    );
    out.range(
        ["liquidator", "confirm_gas"],
        l.confirm_gas,
        21_000..=30_000_000,
    );
    out.range(
        ["liquidator", "confirm_gas_per_asset"],
        l.confirm_gas_per_asset,
        0..=10_000_000,
    );
    let mut seen = std::collections::BTreeSet::new();
    for (i, price) in l.prices.iter().enumerate() {
        let at = |key: &str| KeyPath::keys(["liquidator", "prices"]).index(i).child(key);
        let asset = price.asset.trim().to_ascii_lowercase();
        if asset != "eth"
            && let Err(why) = check_address_or_name(&price.asset)
        {
            out.0
                .push(RawProblem::new(at("asset"), format!("{why}, or \"eth\"")));
        } else if !seen.insert(asset) {
            out.0.push(RawProblem::new(
                at("asset"),
                format!("{:?} already has a price", price.asset),
            ));
        }
        match (price.feed.trim().is_empty(), price.usd.trim().is_empty()) {
            (true, true) | (false, false) => out.0.push(RawProblem::new(
                at("feed"),
                "expected exactly one of feed (an [[oracle.feeds]] symbol or a Pyth price id) \
                 and usd (a fixed price)",
            )),
            (false, true) => {
                let feed = price.feed.trim();
                let known = c.oracle.feeds.iter().any(|f| f.symbol == feed);
                if !known && check_hex32(feed).is_err() {
                    out.0.push(RawProblem::new(
                        at("feed"),
                        format!(
                            "expected the symbol of an [[oracle.feeds]] entry or a 32-byte Pyth \
                             price id, got {feed:?}"
                        ),
                    ));
                }
            }
            (true, false) => {
                if let Err(why) = crate::liquidator::usd::UsdPrice::parse(&price.usd) {
                    out.0.push(RawProblem::new(at("usd"), why));
                }
            }
        }
    }
}

fn check_perp(out: &mut Problems, c: &Config) {
    let p = &c.perp;
    if !c.chains.contains_key(&p.chain) {
        out.push(
            ["perp", "chain"],
            format!(
                "expected the name of a [chains.<name>] table ({}), got {:?}",
                c.chains.keys().cloned().collect::<Vec<_>>().join(", "),
                p.chain
            ),
        );
    }
    if let Err(why) = check_address_or_name(&p.registry) {
        out.push(["perp", "registry"], why);
    }
    for (i, asset) in p.assets.iter().enumerate() {
        let at = |key: &str| KeyPath::keys(["perp", "assets"]).index(i).child(key);
        if let Err(why) = check_address_or_name(&asset.asset) {
            out.0.push(RawProblem::new(at("asset"), why));
        }
        if asset.decimals > 36 {
            out.0.push(RawProblem::new(
                at("decimals"),
                format!("expected 0 to 36, got {}", asset.decimals),
            ));
        }
    }
    for (key, text) in [
        ("vault_factor", &p.vault_factor),
        ("vault_profit_limit_factor", &p.vault_profit_limit_factor),
        ("profit_limit_interest", &p.profit_limit_interest),
    ] {
        match text.trim().parse::<rust_decimal::Decimal>() {
            Ok(v) if v > rust_decimal::Decimal::ZERO => {}
            _ => out.push(
                ["perp", key],
                format!("expected a positive decimal in quotes, such as \"0.4\", got {text:?}"),
            ),
        }
    }
    out.range(["perp", "refresh_ms"], p.refresh_ms, 100..=3_600_000);
    out.range(["perp", "price_decimals"], p.price_decimals, 0..=30);
    out.range(["perp", "leverage"], p.leverage, 1..=125);
    out.range(["perp", "expiry_secs"], p.expiry_secs, 1..=86_400);
    if !matches!(p.venue.as_str(), "paper" | "binance") {
        out.push(
            ["perp", "venue"],
            format!("expected \"paper\" or \"binance\", got {:?}", p.venue),
        );
    }
    for (market, symbol) in &p.markets {
        let valid = !symbol.is_empty()
            && symbol
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if !valid {
            out.0.push(RawProblem::new(
                KeyPath::keys(["perp", "markets"]).child(market),
                format!("expected a venue symbol such as \"BTCUSDT\", got {symbol:?}"),
            ));
        }
    }
    let b = &p.binance;
    if let Err(why) = check_url(&b.base_url, &["http", "https"]) {
        out.push(["perp", "binance", "base_url"], why);
    }
    out.range(
        ["perp", "binance", "recv_window_ms"],
        b.recv_window_ms,
        1..=60_000,
    );
    out.range(
        ["perp", "binance", "timeout_ms"],
        b.timeout_ms,
        100..=120_000,
    );
    out.range(
        ["perp", "binance", "max_retry_wait_secs"],
        b.max_retry_wait_secs,
        0..=3_600,
    );
    for (key, name) in [
        ("api_key_env", &b.api_key_env),
        ("api_secret_env", &b.api_secret_env),
    ] {
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            out.push(
                ["perp", "binance", key],
                format!("expected an environment variable name such as HEDGEDESK_BINANCE_API_KEY, got {name:?}"),
            );
        }
    }
    out.range(["perp", "paper", "fee_bps"], p.paper.fee_bps, 0..=1_000);
}

fn check_pool(out: &mut Problems, c: &Config) {
    use crate::pool::model::Token;

    let p = &c.pool;
    if !c.chains.contains_key(&p.chain) {
        out.push(
            ["pool", "chain"],
            format!(
                "expected the name of a [chains.<name>] table ({}), got {:?}",
                c.chains.keys().cloned().collect::<Vec<_>>().join(", "),
                p.chain
            ),
        );
    }
    for (key, value) in [("vault", &p.vault), ("wbtc", &p.wbtc)] {
        if let Err(why) = check_address_or_name(value) {
            out.push(["pool", key], why);
        }
    }
    for (key, value) in [
        ("btc_usd_feed", &p.btc_usd_feed),
        ("eth_usd_feed", &p.eth_usd_feed),
    ] {
        if let Err(why) = check_hex32(value) {
            out.push(["pool", key], format!("a Pyth price feed id: {why}"));
        }
    }
    out.range(
        ["pool", "max_price_age_secs"],
        p.max_price_age_secs,
        1..=86_400,
    );
    out.range(
        ["pool", "health_interval_secs"],
        p.health_interval_secs,
        1..=86_400,
    );
    out.range(
        ["pool", "margin_call_grace_secs"],
        p.margin_call_grace_secs,
        0..=86_400 * 30,
    );
    out.range(
        ["pool", "withdrawal_buffer_bps"],
        p.withdrawal_buffer_bps,
        0..=10_000,
    );

    let mut names = std::collections::BTreeSet::new();
    if p.tiers.is_empty() {
        out.push(
            ["pool", "tiers"],
            "expected at least one [[pool.tiers]] (name, ratios, premium multiplier, capacities)",
        );
    }
    for (i, tier) in p.tiers.iter().enumerate() {
        let at = |key: &str| KeyPath::keys(["pool", "tiers"]).index(i).child(key);
        let mut bad = |key: &str, why: String| out.0.push(RawProblem::new(at(key), why));
        if !is_tier_name(&tier.name) {
            bad(
                "name",
                format!(
                    "expected a name of lowercase letters, digits and `_`, got {:?}",
                    tier.name
                ),
            );
        } else if !names.insert(tier.name.as_str()) {
            bad("name", format!("tier {:?} is listed twice", tier.name));
        }
        let ratios = 10_000..=100_000;
        let mut ratios_ok = true;
        for (key, value) in [
            ("collateral_ratio_bps", tier.collateral_ratio_bps),
            ("warning_ratio_bps", tier.warning_ratio_bps),
            ("margin_call_ratio_bps", tier.margin_call_ratio_bps),
        ] {
            if !ratios.contains(&value) {
                ratios_ok = false;
                bad(
                    key,
                    format!("expected basis points from 10000 (100%) to 100000, got {value}"),
                );
            }
        }
        if ratios_ok {
            if tier.warning_ratio_bps < tier.margin_call_ratio_bps {
                bad(
                    "warning_ratio_bps",
                    format!(
                        "expected at least margin_call_ratio_bps ({}), got {}",
                        tier.margin_call_ratio_bps, tier.warning_ratio_bps
                    ),
                );
            } else if tier.collateral_ratio_bps < tier.warning_ratio_bps {
                bad(
                    "collateral_ratio_bps",
                    format!(
                        "expected at least warning_ratio_bps ({}): a policy must not start a \
                         provider below their warning line, got {}",
                        tier.warning_ratio_bps, tier.collateral_ratio_bps
                    ),
                );
            }
        }
        match tier
            .premium_multiplier
            .trim()
            .parse::<rust_decimal::Decimal>()
        {
            Ok(v) if v > rust_decimal::Decimal::ZERO && v <= rust_decimal::Decimal::from(100) => {}
            _ => bad(
                "premium_multiplier",
                format!(
                    "expected a positive decimal up to 100 in quotes, such as \"1.2\", got {:?}",
                    tier.premium_multiplier
                ),
            ),
        }
        for (key, text, token) in [
            ("capacity_eth", &tier.capacity_eth, Token::Eth),
            ("capacity_wbtc", &tier.capacity_wbtc, Token::Wbtc),
        ] {
            if let Err(why) = token.parse_units(text) {
                bad(
                    key,
                    format!("whole tokens in quotes, \"0\" for no limit: {why}"),
                );
            }
        }
    }
    if !names.contains(p.default_tier.as_str()) {
        out.push(
            ["pool", "default_tier"],
            format!(
                "expected one of the [[pool.tiers]] names ({}), got {:?}",
                names.iter().copied().collect::<Vec<_>>().join(", "),
                p.default_tier
            ),
        );
    }
    if p.buyer_tiers.is_empty() {
        out.push(
            ["pool", "buyer_tiers"],
            "expected at least one [[pool.buyer_tiers]] (name and backed_by)",
        );
    }
    let mut buyers = std::collections::BTreeSet::new();
    for (i, buyer) in p.buyer_tiers.iter().enumerate() {
        let at = |key: &str| KeyPath::keys(["pool", "buyer_tiers"]).index(i).child(key);
        if !is_tier_name(&buyer.name) {
            out.0.push(RawProblem::new(
                at("name"),
                format!(
                    "expected a name of lowercase letters, digits and `_`, got {:?}",
                    buyer.name
                ),
            ));
        } else if !buyers.insert(buyer.name.as_str()) {
            out.0.push(RawProblem::new(
                at("name"),
                format!("buyer tier {:?} is listed twice", buyer.name),
            ));
        }
        if buyer.backed_by.is_empty() {
            out.0.push(RawProblem::new(
                at("backed_by"),
                "expected at least one provider tier to back it",
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (j, backer) in buyer.backed_by.iter().enumerate() {
            let at = at("backed_by").index(j);
            if !names.contains(backer.as_str()) {
                out.0.push(RawProblem::new(
                    at,
                    format!(
                        "expected one of the [[pool.tiers]] names ({}), got {backer:?}",
                        names.iter().copied().collect::<Vec<_>>().join(", ")
                    ),
                ));
            } else if !seen.insert(backer.as_str()) {
                out.0
                    .push(RawProblem::new(at, format!("{backer:?} is listed twice")));
            }
        }
    }
    let pr = &p.premium;
    let decimal = |text: &str| text.trim().parse::<rust_decimal::Decimal>().ok();
    let zero = rust_decimal::Decimal::ZERO;
    for (key, text, ok, expected) in [
        (
            "volatility",
            &pr.volatility,
            decimal(&pr.volatility)
                .is_some_and(|v| v > zero && v <= rust_decimal::Decimal::from(10)),
            "a decimal above 0 and at most 10 (0.5 = 50% a year)",
        ),
        (
            "risk_free_rate",
            &pr.risk_free_rate,
            decimal(&pr.risk_free_rate)
                .is_some_and(|v| v >= zero && v <= rust_decimal::Decimal::ONE),
            "a decimal from 0 to 1 (0.02 = 2% a year)",
        ),
        (
            "risk_loading",
            &pr.risk_loading,
            decimal(&pr.risk_loading)
                .is_some_and(|v| v >= zero && v <= rust_decimal::Decimal::from(10)),
            "a decimal from 0 to 10 (0.01 = 1%)",
        ),
        (
            "market_adjustment",
            &pr.market_adjustment,
            decimal(&pr.market_adjustment)
                .is_some_and(|v| v > zero && v <= rust_decimal::Decimal::from(10)),
            "a decimal above 0 and at most 10",
        ),
    ] {
        if !ok {
            out.push(
                ["pool", "premium", key],
                format!("expected {expected} in quotes, got {text:?}"),
            );
        }
    }
}

/// A tier name: lowercase ASCII letters, digits and `_`, starting with a letter.
fn is_tier_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn check_anyhedge(out: &mut Problems, c: &Config) {
    let a = &c.anyhedge;
    if !c.chains.contains_key(&a.chain) {
        out.push(
            ["anyhedge", "chain"],
            format!(
                "expected the name of a [chains.<name>] table ({}), got {:?}",
                c.chains.keys().cloned().collect::<Vec<_>>().join(", "),
                a.chain
            ),
        );
    }
    for (key, value) in [("factory", &a.factory), ("collateral", &a.collateral)] {
        if let Err(why) = check_address_or_name(value) {
            out.push(["anyhedge", key], why);
        }
    }
    out.range(
        ["anyhedge", "settlement_deadline_secs"],
        a.settlement_deadline_secs,
        1..=86_400,
    );
    out.range(
        ["anyhedge", "poll_interval_secs"],
        a.poll_interval_secs,
        1..=3_600,
    );
    out.range(
        ["anyhedge", "max_fee_per_gas"],
        a.max_fee_per_gas,
        1..=1_000_000,
    );
    let mut seen = std::collections::BTreeSet::new();
    for (i, oracle) in a.oracles.iter().enumerate() {
        let at = |key: &str| KeyPath::keys(["anyhedge", "oracles"]).index(i).child(key);
        let pubkey = oracle.pubkey.trim().to_ascii_lowercase();
        let digits = pubkey.strip_prefix("0x").unwrap_or(&pubkey);
        let well_formed = digits.len() == 66
            && digits.chars().all(|c| c.is_ascii_hexdigit())
            && (digits.starts_with("02") || digits.starts_with("03"));
        if !well_formed {
            out.0.push(RawProblem::new(
                at("pubkey"),
                format!(
                    "expected a compressed public key (66 hex digits starting 02 or 03), got {:?}",
                    oracle.pubkey
                ),
            ));
        } else if !seen.insert(digits.to_string()) {
            out.0.push(RawProblem::new(
                at("pubkey"),
                format!("{:?} is listed twice", oracle.pubkey),
            ));
        }
        if let Err(why) = check_url(&oracle.relay, &["http", "https"]) {
            out.0.push(RawProblem::new(at("relay"), why));
        }
        if oracle.asset_decimals > 18 {
            out.0.push(RawProblem::new(
                at("asset_decimals"),
                format!("expected 0 to 18, got {}", oracle.asset_decimals),
            ));
        }
    }
}

fn check_api(out: &mut Problems, c: &Config) {
    if c.api.listen.parse::<std::net::SocketAddr>().is_err() {
        out.push(
            ["api", "listen"],
            format!(
                "expected host:port with an IP address, e.g. \"127.0.0.1:8787\", got {:?}",
                c.api.listen
            ),
        );
    }
}

fn is_address(text: &str) -> bool {
    let digits = text.trim().strip_prefix("0x").unwrap_or("");
    digits.len() == 40 && digits.chars().all(|c| c.is_ascii_hexdigit())
}

/// An address, or a deployment name (`margin.module`, `token.usdc`).
fn check_address_or_name(text: &str) -> Result<(), String> {
    let text = text.trim();
    if is_address(text) {
        return Ok(());
    }
    let name_ok = !text.is_empty()
        && !text.starts_with("0x")
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if name_ok {
        Ok(())
    } else {
        Err(format!(
            "expected an address (0x and 40 hex digits) or a deployment name such as \"margin.module\", got {text:?}"
        ))
    }
}

/// 32 bytes as 64 hex digits, with or without `0x`.
fn check_hex32(text: &str) -> Result<(), String> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    if digits.len() == 64 && digits.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(format!("expected 32 bytes as 64 hex digits, got {text:?}"))
    }
}

/// An absolute URL with one of `schemes` and a host. The message shows only the URL's
/// scheme and host: RPC URLs often carry an API key in their path.
fn check_url(url: &str, schemes: &[&str]) -> Result<(), String> {
    let expected = format!("expected a {} URL", schemes.join(" or "));
    let shown = crate::chain::redact_url(url);
    match url.split_once("://") {
        Some((scheme, rest))
            if schemes.contains(&scheme.to_ascii_lowercase().as_str())
                && !rest.is_empty()
                && !rest.starts_with('/')
                && !rest.contains(char::is_whitespace) =>
        {
            Ok(())
        }
        _ if url.is_empty() => Err(format!("{expected}, got an empty string")),
        _ => Err(format!(
            "{expected}, got {shown:?} (path and query not shown)"
        )),
    }
}

struct Problems(Vec<RawProblem>);

impl Problems {
    fn push<const N: usize>(&mut self, path: [&str; N], message: impl Into<String>) {
        self.0.push(RawProblem::new(KeyPath::keys(path), message));
    }

    /// Report `value` outside `range`; returns whether it was inside.
    fn range<const N: usize, T: PartialOrd + Display>(
        &mut self,
        path: [&str; N],
        value: T,
        range: RangeInclusive<T>,
    ) -> bool {
        if range.contains(&value) {
            return true;
        }
        self.push(
            path,
            format!(
                "expected a number from {} to {}, got {value}",
                range.start(),
                range.end()
            ),
        );
        false
    }
}

/// A level name, or a tracing filter whose every directive parses
/// (`info,hedgedesk::store=debug`). A bare word must be a level: `verbose` is a typo, not a
/// target name.
pub fn check_log_level(filter: &str) -> Result<(), String> {
    let expected = "expected a level (off, error, warn, info, debug, trace) or a filter such as \
                    `info,hedgedesk::store=debug`";
    let trimmed = filter.trim();
    if trimmed.is_empty() {
        return Err(format!("{expected}, got an empty string"));
    }
    for directive in trimmed.split(',').map(str::trim) {
        let bare = !directive.contains('=') && !directive.contains('[');
        if directive.is_empty()
            || (bare && !LOG_LEVELS.contains(&directive.to_ascii_lowercase().as_str()))
        {
            return Err(format!("{expected}, got {filter:?}"));
        }
    }
    tracing_subscriber::EnvFilter::builder()
        .parse(trimmed)
        .map(|_| ())
        .map_err(|e| format!("{expected}, got {filter:?} ({e})"))
}

/// A keystore name: `[A-Za-z0-9._-]+`, not `.` or `..`.
fn check_account(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "expected a name of letters, digits, `.`, `_` or `-`, got {name:?}"
        ))
    }
}

/// A plain file name: no directory part.
fn check_file_name(name: &str) -> Result<(), String> {
    let path = Path::new(name);
    let plain = !name.is_empty()
        && !name.contains(['/', '\\', '\0'])
        && path.file_name().is_some_and(|f| f == name);
    if plain {
        Ok(())
    } else {
        Err(format!(
            "expected a plain file name inside the data dir (like hedgedesk.sqlite), got {name:?}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::ActionKind;

    fn lines(config: &Config) -> Vec<String> {
        validate(config)
            .iter()
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect()
    }

    #[test]
    fn the_defaults_are_valid() {
        assert_eq!(lines(&Config::default()), Vec::<String>::new());
    }

    #[test]
    fn every_range_and_name_is_checked() {
        let mut c = Config::default();
        c.general.log_level = "loud".into();
        c.general.log_retention_days = 0;
        c.keys.keyring_backend = "kwallet".into();
        c.keys.account = "me/you".into();
        c.keys.max_unlock_attempts = 11;
        c.store.file = "../db.sqlite".into();
        c.store.busy_timeout_ms = 0;
        c.store.recent_actions = 9;
        c.ui.tick_ms = 49;
        c.ui.log_lines = 1_000_001;
        c.headless.shutdown_grace_ms = 600_001;
        c.workers.restart_backoff_ms = 5;
        c.workers.restart_backoff_max_ms = 3_600_001;
        c.actions
            .get_mut(&ActionKind::Liquidate)
            .unwrap()
            .min_profit_usd_cents = -1;
        let got = lines(&c);
        let keys: Vec<&str> = got.iter().map(|l| l.split(':').next().unwrap()).collect();
        assert_eq!(
            keys,
            [
                "general.log_level",
                "general.log_retention_days",
                "keys.keyring_backend",
                "keys.account",
                "keys.max_unlock_attempts",
                "store.file",
                "store.busy_timeout_ms",
                "store.recent_actions",
                "ui.tick_ms",
                "ui.log_lines",
                "headless.shutdown_grace_ms",
                "workers.restart_backoff_ms",
                "workers.restart_backoff_max_ms",
                "actions.liquidate.min_profit_usd_cents",
            ]
        );
        assert!(got.contains(&"ui.tick_ms: expected a number from 50 to 60000, got 49".into()));
    }

    #[test]
    fn backoff_max_must_not_be_below_the_first_wait() {
        let mut c = Config::default();
        c.workers.restart_backoff_ms = 5_000;
        c.workers.restart_backoff_max_ms = 1_000;
        assert_eq!(
            lines(&c),
            [
                "workers.restart_backoff_max_ms: expected at least workers.restart_backoff_ms \
              (5000), got 1000"
            ]
        );
    }

    #[test]
    fn pool_tiers_ratios_and_names_are_checked() {
        let mut c = Config::default();
        c.pool.tiers[0].margin_call_ratio_bps = 13_000; // above its warning ratio (12500)
        c.pool.tiers[1].collateral_ratio_bps = 13_000; // below its warning ratio (13500)
        c.pool.tiers[2].name = "Aggressive".into();
        c.pool.tiers[2].capacity_eth = "1.5".into();
        c.pool.buyer_tiers[1].backed_by = vec!["balanced".into(), "balanced".into()];
        c.pool.premium.risk_free_rate = "2%".into();
        c.pool.eth_usd_feed = "ETH/USD".into();
        assert_eq!(
            lines(&c),
            [
                "pool.eth_usd_feed: a Pyth price feed id: expected 32 bytes as 64 hex digits, got \"ETH/USD\"",
                "pool.tiers[0].warning_ratio_bps: expected at least margin_call_ratio_bps (13000), got 12500",
                "pool.tiers[1].collateral_ratio_bps: expected at least warning_ratio_bps (13500): a \
                 policy must not start a provider below their warning line, got 13000",
                "pool.tiers[2].name: expected a name of lowercase letters, digits and `_`, got \"Aggressive\"",
                "pool.buyer_tiers[1].backed_by[1]: \"balanced\" is listed twice",
                "pool.buyer_tiers[2].backed_by[0]: expected one of the [[pool.tiers]] names \
                 (balanced, conservative), got \"aggressive\"",
                "pool.buyer_tiers[3].backed_by[0]: expected one of the [[pool.tiers]] names \
                 (balanced, conservative), got \"aggressive\"",
                "pool.premium.risk_free_rate: expected a decimal from 0 to 1 (0.02 = 2% a year) in \
                 quotes, got \"2%\"",
            ]
        );
    }

    #[test]
    fn log_levels_and_filters() {
        for ok in [
            "info",
            "WARN",
            "off",
            "info,hedgedesk::store=debug",
            "hedgedesk=trace",
        ] {
            assert_eq!(check_log_level(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "  ",
            "verbose",
            "info,",
            "hedgedesk=loud",
            "info,,debug",
        ] {
            assert!(check_log_level(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names() {
        assert!(check_account("operator-2.main_x").is_ok());
        for bad in ["", ".", "..", "a b", "a/b", "ü"] {
            assert!(check_account(bad).is_err(), "{bad:?}");
        }
        assert!(check_file_name("hedgedesk.sqlite").is_ok());
        for bad in ["", ".", "..", "a/b", "/abs", "dir\\f"] {
            assert!(check_file_name(bad).is_err(), "{bad:?}");
        }
    }
}
