//! Binance USDT-M futures JSON shapes, as far as we read them. Decimals arrive as strings
//! (`"0.001"`); unknown fields are ignored.

use rust_decimal::Decimal;
use serde::Deserialize;

/// Every error body: `{"code": -1021, "msg": "..."}`.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiError {
    pub code: i64,
    pub msg: String,
}

/// `GET /fapi/v1/time`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerTime {
    pub server_time: i64,
}

/// `GET /fapi/v1/exchangeInfo`.
#[derive(Debug, Clone, Deserialize)]
pub struct ExchangeInfo {
    pub symbols: Vec<SymbolInfo>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SymbolInfo {
    pub symbol: String,
    #[serde(default)]
    pub filters: Vec<Filter>,
}

/// The filters we apply; the others (PRICE_FILTER, PERCENT_PRICE, ...) only matter for
/// limit orders.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "filterType")]
pub enum Filter {
    #[serde(rename = "LOT_SIZE", rename_all = "camelCase")]
    LotSize {
        step_size: Decimal,
        min_qty: Decimal,
        max_qty: Decimal,
    },
    #[serde(rename = "MARKET_LOT_SIZE", rename_all = "camelCase")]
    MarketLotSize {
        step_size: Decimal,
        min_qty: Decimal,
        max_qty: Decimal,
    },
    #[serde(rename = "MIN_NOTIONAL")]
    MinNotional { notional: Decimal },
    #[serde(other)]
    Other,
}

/// `POST /fapi/v1/order` (RESULT) and `GET /fapi/v1/order`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub order_id: i64,
    pub symbol: String,
    pub status: String,
    pub client_order_id: String,
    pub side: String,
    pub orig_qty: Decimal,
    pub executed_qty: Decimal,
    pub avg_price: Decimal,
}

/// One row of `GET /fapi/v3/positionRisk` (v3 carries no leverage; see
/// [`PositionRisk::implied_leverage`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PositionRisk {
    pub symbol: String,
    pub position_amt: Decimal,
    pub entry_price: Decimal,
    pub mark_price: Decimal,
    pub un_realized_profit: Decimal,
    #[serde(default)]
    pub notional: Option<Decimal>,
    #[serde(default)]
    pub position_initial_margin: Option<Decimal>,
}

impl PositionRisk {
    /// `|notional| / positionInitialMargin`, rounded: the leverage the margin was posted at.
    pub fn implied_leverage(&self) -> Option<u32> {
        let notional = self.notional?.abs();
        let margin = self.position_initial_margin?;
        if margin.is_zero() {
            return None;
        }
        u32::try_from((notional / margin).round().mantissa()).ok()
    }
}

/// `GET /fapi/v1/premiumIndex?symbol=`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PremiumIndex {
    pub symbol: String,
    pub mark_price: Decimal,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn parses_exchange_info_filters_and_skips_the_others() {
        let json = r#"{"timezone":"UTC","serverTime":1,"symbols":[{"symbol":"BTCUSDT",
            "status":"TRADING","filters":[
              {"filterType":"PRICE_FILTER","maxPrice":"4529764","minPrice":"556.80","tickSize":"0.10"},
              {"filterType":"LOT_SIZE","maxQty":"1000","minQty":"0.001","stepSize":"0.001"},
              {"filterType":"MARKET_LOT_SIZE","maxQty":"120","minQty":"0.001","stepSize":"0.001"},
              {"filterType":"MAX_NUM_ORDERS","limit":200},
              {"filterType":"MIN_NOTIONAL","notional":"100"}]}]}"#;
        let info: ExchangeInfo = serde_json::from_str(json).unwrap();
        let filters = &info.symbols[0].filters;
        assert_eq!(filters.len(), 5);
        assert_eq!(filters[0], Filter::Other);
        assert_eq!(
            filters[2],
            Filter::MarketLotSize {
                step_size: d("0.001"),
                min_qty: d("0.001"),
                max_qty: d("120")
            }
        );
        assert_eq!(filters[4], Filter::MinNotional { notional: d("100") });
    }

    #[test]
    fn position_risk_implies_leverage_from_margin() {
        let json = r#"{"symbol":"BTCUSDT","positionSide":"BOTH","positionAmt":"-0.010",
            "entryPrice":"60000","breakEvenPrice":"60000","markPrice":"61000",
            "unRealizedProfit":"-10","liquidationPrice":"0","isolatedMargin":"61",
            "notional":"-610","marginAsset":"USDT","isolatedWallet":"60",
            "initialMargin":"61","maintMargin":"2.44","positionInitialMargin":"61",
            "openOrderInitialMargin":"0","adl":1,"bidNotional":"0","askNotional":"0",
            "updateTime":1}"#;
        let row: PositionRisk = serde_json::from_str(json).unwrap();
        assert_eq!(row.position_amt, d("-0.010"));
        assert_eq!(row.un_realized_profit, d("-10"));
        assert_eq!(row.implied_leverage(), Some(10));
    }
}
