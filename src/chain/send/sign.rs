//! Signing an EIP-1559 transaction into the raw bytes that are journaled and broadcast.

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::eips::eip2718::Encodable2718;
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, B256, Bytes, TxKind, U256};
use alloy::signers::local::PrivateKeySigner;

use super::error::SendError;
use super::fees::Fees;
use super::record::NewAttempt;

/// The payload every attempt of one send shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    pub chain_id: u64,
    pub nonce: u64,
    pub to: Address,
    pub value: U256,
    pub input: Bytes,
    pub gas_limit: u64,
}

/// Signs `payload` with `fees`; the result is ready to journal.
pub fn sign_eip1559(
    signer: &PrivateKeySigner,
    payload: &Payload,
    fees: Fees,
) -> Result<NewAttempt, SendError> {
    let mut tx = TxEip1559 {
        chain_id: payload.chain_id,
        nonce: payload.nonce,
        gas_limit: payload.gas_limit,
        max_fee_per_gas: fees.max_fee_per_gas,
        max_priority_fee_per_gas: fees.max_priority_fee_per_gas,
        to: TxKind::Call(payload.to),
        value: payload.value,
        access_list: Default::default(),
        input: payload.input.clone(),
    };
    let signature = signer
        .sign_transaction_sync(&mut tx)
        .map_err(|e| SendError::Sign(e.to_string()))?;
    let signed = tx.into_signed(signature);
    let hash: B256 = *signed.hash();
    let raw = TxEnvelope::from(signed).encoded_2718();
    Ok(NewAttempt {
        nonce: payload.nonce,
        hash,
        raw: raw.into(),
        max_fee_per_gas: fees.max_fee_per_gas,
        max_priority_fee_per_gas: fees.max_priority_fee_per_gas,
    })
}
