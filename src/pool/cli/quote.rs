//! `pool quote`: the what-if premium of a policy, from the config alone.

use std::process::ExitCode;

use serde_json::{Value, json};

use super::QuoteArgs;
use super::format::{btc, expiry_text, tokens_sym, usd, usd_decimal};
use super::input::{parse_btc_amount, parse_expiry, parse_kind, parse_token, parse_usd};
use crate::app::AppContext;
use crate::cli::{GlobalArgs, InputError, print_json};
use crate::pool::math::MathError;
use crate::pool::math::collateral::{coverage_usd, required_collateral};
use crate::pool::math::premium::{QuoteRequest, quote};
use crate::pool::model::{Prices, TierParams, Token, Units, UsdE8};
use crate::pool::params::PoolParams;
use crate::tui::format::percent_bps;

/// `pool quote`: reads the config only (no log file, no store); a bad input is
/// `error: <field>: <reason>` and exit 2.
pub(super) fn quote_command(args: &QuoteArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let ctx = AppContext::load(global)?;
    let params = PoolParams::from_config(&ctx.config.pool).map_err(anyhow::Error::msg)?;
    match quote_report(&params, args) {
        Ok(report) => {
            if args.json {
                print_json(&report.json())?;
            } else {
                print!("{}", report.text());
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(2))
        }
    }
}

/// A quote and what it was asked for.
#[derive(Debug, Clone)]
struct QuoteReport {
    req: QuoteRequest,
    expiry_secs: u64,
    tier: TierParams,
    model: crate::pool::math::premium::PremiumModel,
    prices: Prices,
    quote: crate::pool::math::premium::Quote,
    coverage_usd: UsdE8,
    collateral: Units,
}

impl QuoteReport {
    fn json(&self) -> Value {
        let r = &self.req;
        json!({
            "inputs": {
                "kind": r.kind.as_str(),
                "strike_usd_e8": r.strike_usd.to_string(),
                "amount_sats": r.amount_sats,
                "expiry_secs": self.expiry_secs,
                "btc_usd_e8": r.spot_usd.to_string(),
                "eth_usd_e8": (self.prices.eth_usd > 0).then(|| self.prices.eth_usd.to_string()),
                "tier": self.tier.name,
                "token": r.token.as_str(),
            },
            "model": {
                "volatility": self.model.volatility.to_string(),
                "risk_free_rate": self.model.risk_free_rate.to_string(),
                "risk_loading": self.model.risk_loading.to_string(),
                "market_adjustment": self.model.market_adjustment.to_string(),
                "tier_multiplier": r.tier_multiplier.to_string(),
            },
            "fair_per_btc_usd": self.quote.fair_per_btc.to_string(),
            "loaded_per_btc_usd": self.quote.loaded_per_btc.to_string(),
            "premium_usd_e8": self.quote.premium_usd.to_string(),
            "premium": self.quote.premium.to_string(),
            "token_usd_e8": r.token_price.to_string(),
            "collateral": {
                "tier": self.tier.name,
                "collateral_ratio_bps": self.tier.collateral_ratio_bps,
                "coverage_usd_e8": self.coverage_usd.to_string(),
                "locked": self.collateral.to_string(),
                "token": r.token.as_str(),
            },
        })
    }

    fn text(&self) -> String {
        let r = &self.req;
        let m = &self.model;
        let tok = r.token;
        let mut price_line = format!("BTC/USD {}", usd(r.spot_usd));
        if tok == Token::Eth {
            price_line.push_str(&format!(", ETH/USD {}", usd(r.token_price)));
        }
        let mut out = String::new();
        let mut line = |label: &str, text: String| {
            out.push_str(&format!("{label:<12}{text}\n"));
        };
        line(
            "policy",
            format!(
                "{} on {} BTC at strike {} USD, expiring in {}",
                r.kind,
                btc(r.amount_sats),
                usd(r.strike_usd),
                expiry_text(self.expiry_secs)
            ),
        );
        line("prices", price_line);
        line(
            "tier",
            format!(
                "{} (premium × {}, collateral ratio {})",
                self.tier.name,
                self.tier.premium_multiplier,
                percent_bps(self.tier.collateral_ratio_bps)
            ),
        );
        line(
            "model",
            format!(
                "Black-Scholes, volatility {}, risk-free rate {}",
                m.volatility, m.risk_free_rate
            ),
        );
        line(
            "fair value",
            format!("{} USD per BTC", usd_decimal(self.quote.fair_per_btc)),
        );
        line(
            "loadings",
            format!(
                "× (1 + risk loading {}) × market adjustment {} × tier {} = {} USD per BTC",
                m.risk_loading,
                m.market_adjustment,
                r.tier_multiplier,
                usd_decimal(self.quote.loaded_per_btc)
            ),
        );
        line(
            "premium",
            format!(
                "{} USD = {}",
                usd(self.quote.premium_usd),
                tokens_sym(tok, self.quote.premium)
            ),
        );
        line(
            "collateral",
            format!(
                "{} locked by tier {} (coverage {} USD × {})",
                tokens_sym(tok, self.collateral),
                self.tier.name,
                usd(self.coverage_usd),
                percent_bps(self.tier.collateral_ratio_bps)
            ),
        );
        out
    }
}

/// A math error about one of the quote's inputs, named as the flag it came from.
fn math_input_error(e: MathError) -> InputError {
    match e {
        MathError::Invalid { field, why } => {
            let flag = match field {
                "strike" => "strike",
                "amount" => "amount",
                "expiry" => "expiry",
                "BTC/USD price" => "price",
                "premium multiplier" => "tier",
                "volatility" => "pool.premium.volatility",
                "ln" | "sqrt" => {
                    return InputError::new(
                        "strike",
                        format!("too far from --price for the premium model ({why})"),
                    );
                }
                other => other,
            };
            let why = if why == "is too large" {
                "too large for the premium model".to_string()
            } else {
                why
            };
            InputError::new(flag, why)
        }
        MathError::ZeroPrice { token: t } => InputError::new(
            if t == Token::Eth {
                "eth_price"
            } else {
                "price"
            },
            "must be above zero",
        ),
        MathError::Overflow { what } => InputError::new(
            "amount",
            format!("the {what} overflows for this strike, price and amount"),
        ),
        other => InputError::new("amount", other.to_string()),
    }
}

fn quote_report(params: &PoolParams, args: &QuoteArgs) -> Result<QuoteReport, InputError> {
    let kind = parse_kind(&args.kind)?;
    let strike_usd = parse_usd("strike", &args.strike)?;
    let amount_sats = parse_btc_amount(&args.amount)?;
    let expiry_secs = parse_expiry(&args.expiry)?;
    let btc_usd = parse_usd("price", &args.price)?;
    let token = parse_token(&args.token)?;
    let eth_usd = match (&args.eth_price, token) {
        (Some(text), _) => parse_usd("eth_price", text)?,
        (None, Token::Eth) => {
            return Err(InputError::new(
                "eth_price",
                "needed with --token eth: the premium and the collateral are converted at ETH/USD",
            ));
        }
        (None, Token::Wbtc) => 0,
    };
    let tier_name = args
        .tier
        .as_deref()
        .map(str::trim)
        .unwrap_or(params.default_tier.as_str());
    let tier = params.tier(tier_name).cloned().ok_or_else(|| {
        InputError::new(
            "tier",
            format!(
                "no provider tier '{tier_name}' in [pool] (configured: {})",
                params
                    .tiers
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })?;
    let prices = Prices { btc_usd, eth_usd };
    let req = QuoteRequest {
        kind,
        strike_usd,
        amount_sats,
        spot_usd: btc_usd,
        duration_ms: i64::try_from(expiry_secs * 1000).expect("at most a century"),
        tier_multiplier: tier.premium_multiplier,
        token,
        token_price: prices.of(token),
    };
    let err = math_input_error;
    let q = quote(&params.premium, &req).map_err(err)?;
    let coverage = coverage_usd(kind, strike_usd, amount_sats, btc_usd).map_err(err)?;
    let collateral = required_collateral(
        kind,
        strike_usd,
        amount_sats,
        token,
        &prices,
        tier.collateral_ratio_bps,
    )
    .map_err(err)?;
    Ok(QuoteReport {
        req,
        expiry_secs,
        tier,
        model: params.premium,
        prices,
        quote: q,
        coverage_usd: coverage,
        collateral,
    })
}
