//! Simulation before every send: `eth_call` with the exact payload, and revert decoding
//! so a refusal says why (`Error(string)`, `Panic(uint256)`, custom errors by name).

use alloy::dyn_abi::{DynSolValue, JsonAbiExt};
use alloy::json_abi::{Error as AbiError, JsonAbi};
use alloy::primitives::{Address, Bytes, hex};
use alloy::providers::{Provider, RootProvider};
use alloy::rpc::json_rpc::RpcError;
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::{Panic, Revert, SolError};
use alloy::transports::TransportError;

use super::TxRequest;
use super::error::SendError;

/// Decodes revert data into a reason a person can read. Knows `Error(string)` and
/// `Panic(uint256)` always, and the custom errors of the ABIs and signatures it is given.
#[derive(Debug, Clone, Default)]
pub struct RevertDecoder {
    errors: Vec<AbiError>,
}

impl RevertDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Knows every custom error of `abi`.
    pub fn from_abi(abi: &JsonAbi) -> Self {
        Self::new().with_abi(abi)
    }

    pub fn with_abi(mut self, abi: &JsonAbi) -> Self {
        self.errors.extend(abi.errors().cloned());
        self
    }

    /// Knows the custom errors given as signatures, e.g. `"NotOwner(address caller)"` or
    /// `"error NotOwner(address)"`.
    pub fn from_signatures<S: AsRef<str>>(
        signatures: impl IntoIterator<Item = S>,
    ) -> Result<Self, String> {
        signatures
            .into_iter()
            .try_fold(Self::new(), |decoder, s| decoder.with_signature(s.as_ref()))
    }

    pub fn with_signature(mut self, signature: &str) -> Result<Self, String> {
        let error = AbiError::parse(signature)
            .map_err(|e| format!("not an error signature: {signature:?}: {e}"))?;
        self.errors.push(error);
        Ok(self)
    }

    /// The reason behind revert data.
    pub fn decode(&self, data: &[u8]) -> String {
        if data.is_empty() {
            return "reverted without a reason".into();
        }
        let Some(selector) = data.get(..4) else {
            return format!("reverted with data 0x{}", hex::encode(data));
        };
        if selector == Revert::SELECTOR {
            if let Ok(revert) = Revert::abi_decode(data) {
                return revert.reason().to_string();
            }
        } else if selector == Panic::SELECTOR
            && let Ok(panic) = Panic::abi_decode(data)
        {
            let meaning = panic
                .kind()
                .map(|kind| kind.as_str().to_string())
                .unwrap_or_else(|| "unknown panic code".into());
            return format!("panic 0x{:02x}: {meaning}", panic.code);
        }
        if let Some(error) = self
            .errors
            .iter()
            .find(|e| e.selector().as_slice() == selector)
        {
            return match error.abi_decode_input(&data[4..]) {
                Ok(values) => format!(
                    "{}({})",
                    error.name,
                    values
                        .iter()
                        .map(format_value)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Err(_) => format!(
                    "{} with undecodable arguments 0x{}",
                    error.signature(),
                    hex::encode(&data[4..])
                ),
            };
        }
        let args = &data[4..];
        if args.is_empty() {
            format!("custom error 0x{}", hex::encode(selector))
        } else {
            format!(
                "custom error 0x{} (arguments 0x{})",
                hex::encode(selector),
                hex::encode(args)
            )
        }
    }

    /// A refusal from a node error: revert data decoded when there is any.
    pub(crate) fn refusal(&self, err: &TransportError) -> Option<SendError> {
        let RpcError::ErrorResp(payload) = err else {
            return None;
        };
        if let Some(data) = payload.as_revert_data() {
            return Some(SendError::Reverted {
                reason: self.decode(&data),
                data,
            });
        }
        let message = payload.message.to_string();
        if message.to_lowercase().contains("revert") {
            return Some(SendError::Reverted {
                reason: message,
                data: Bytes::new(),
            });
        }
        Some(SendError::SimulationFailed { message })
    }
}

fn format_value(value: &DynSolValue) -> String {
    match value {
        DynSolValue::Bool(b) => b.to_string(),
        DynSolValue::Int(i, _) => i.to_string(),
        DynSolValue::Uint(u, _) => u.to_string(),
        DynSolValue::Address(a) => a.to_string(),
        DynSolValue::FixedBytes(word, size) => format!("0x{}", hex::encode(&word[..*size])),
        DynSolValue::Bytes(b) => format!("0x{}", hex::encode(b)),
        DynSolValue::String(s) => format!("{s:?}"),
        DynSolValue::Array(items) | DynSolValue::FixedArray(items) => format!(
            "[{}]",
            items
                .iter()
                .map(format_value)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        DynSolValue::Tuple(items) => format!(
            "({})",
            items
                .iter()
                .map(format_value)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => format!("{other:?}"),
    }
}

/// The `eth_call` / `eth_estimateGas` request for a send.
pub(crate) fn call_request(from: Address, request: &TxRequest) -> TransactionRequest {
    let mut tx = TransactionRequest::default()
        .from(from)
        .to(request.to)
        .value(request.value)
        .input(request.input.clone().into());
    if let Some(gas) = request.gas_limit {
        tx = tx.gas_limit(gas);
    }
    tx
}

/// Runs the send as an `eth_call` against the pending state (the latest when the node has
/// no pending block) and refuses it on a revert, with the decoded reason.
pub async fn simulate(
    provider: &RootProvider,
    from: Address,
    request: &TxRequest,
    decoder: &RevertDecoder,
) -> Result<(), SendError> {
    let call = call_request(from, request);
    let result = match provider.call(call.clone()).pending().await {
        Err(RpcError::ErrorResp(payload)) if no_pending_block(&payload.message) => {
            provider.call(call).latest().await
        }
        other => other,
    };
    match result {
        Ok(_) => Ok(()),
        Err(e) => Err(decoder.refusal(&e).unwrap_or(SendError::Rpc(e))),
    }
}

/// `eth_estimateGas` for the send, refusing on a revert like [`simulate`].
pub async fn estimate_gas(
    provider: &RootProvider,
    from: Address,
    request: &TxRequest,
    decoder: &RevertDecoder,
) -> Result<u64, SendError> {
    let call = call_request(from, request);
    let result = match provider.estimate_gas(call.clone()).pending().await {
        Err(RpcError::ErrorResp(payload)) if no_pending_block(&payload.message) => {
            provider.estimate_gas(call).latest().await
        }
        other => other,
    };
    result.map_err(|e| decoder.refusal(&e).unwrap_or(SendError::Rpc(e)))
}

fn no_pending_block(message: &str) -> bool {
    let message = message.to_lowercase();
    !message.contains("revert")
        && (message.contains("pending")
            || message.contains("unknown block")
            || message.contains("not supported"))
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{U256, address};
    use alloy::sol_types::SolValue;

    use super::*;

    #[test]
    fn decodes_reason_strings_panics_and_custom_errors() {
        let decoder = RevertDecoder::new();
        let revert = Revert::from("TestToken: insufficient balance").abi_encode();
        assert_eq!(decoder.decode(&revert), "TestToken: insufficient balance");

        let panic = Panic::from(U256::from(0x11)).abi_encode();
        assert_eq!(
            decoder.decode(&panic),
            "panic 0x11: arithmetic underflow or overflow"
        );
        let odd_panic = Panic::from(U256::from(0x99)).abi_encode();
        assert_eq!(decoder.decode(&odd_panic), "panic 0x99: unknown panic code");

        let caller = address!("0x70997970c51812dc3a010C7d01b50e68830e7d38");
        let mut not_owner = AbiError::parse("NotOwner(address)")
            .unwrap()
            .selector()
            .to_vec();
        not_owner.extend(caller.abi_encode());
        // Without an ABI: the selector.
        assert_eq!(
            decoder.decode(&not_owner),
            "custom error 0x245aecd3 (arguments 0x00000000000000000000000070997970c51812dc3a010c7d01b50e68830e7d38)"
        );
        // With a signature: the name and the arguments.
        let named = RevertDecoder::from_signatures(["error NotOwner(address caller)"]).unwrap();
        assert_eq!(
            named.decode(&not_owner),
            "NotOwner(0x70997970c51812dc3a010C7d01b50e68830e7d38)"
        );
        assert_eq!(decoder.decode(&[]), "reverted without a reason");
        assert_eq!(decoder.decode(&[1, 2]), "reverted with data 0x0102");
        assert!(RevertDecoder::from_signatures(["not a signature ("]).is_err());
    }

    #[test]
    fn formats_nested_values() {
        let value = DynSolValue::Tuple(vec![
            DynSolValue::Uint(U256::from(7), 256),
            DynSolValue::String("x".into()),
            DynSolValue::Array(vec![DynSolValue::Bool(true)]),
        ]);
        assert_eq!(format_value(&value), "(7, \"x\", [true])");
    }
}
