//! The sender of one account on one chain: simulate, estimate, price, take a nonce, sign,
//! JOURNAL, broadcast. Idempotent by key: a key already in the journal returns its record
//! and nothing is signed again, before or after a restart.

use std::sync::Arc;

use alloy::primitives::{Address, B256};
use alloy::providers::RootProvider;
use alloy::signers::local::PrivateKeySigner;

use super::broadcast::{Broadcast, broadcast, is_nonce_error};
use super::error::SendError;
use super::fees::{self, FeePolicy};
use super::nonce::NonceManager;
use super::record::{JournalOutcome, NewTx, TxState};
use super::sign::{Payload, sign_eip1559};
use super::simulate::{RevertDecoder, estimate_gas, simulate};
use super::{SendOutcome, TxRequest};
use crate::config::ChainConfig;
use crate::store::Store;

/// Percent added to `eth_estimateGas`.
pub const DEFAULT_GAS_MARGIN_PERCENT: u64 = 20;
/// How many times one send takes a fresh nonce after the node called its nonce stale.
const NONCE_RETRIES: u32 = 3;

/// A point in a send where a test hook runs (to kill the process there).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendStage {
    /// The signed transaction is in the journal; not broadcast yet.
    Journaled,
    /// The node accepted the broadcast; the journal still says `signed`.
    Broadcast,
}

#[doc(hidden)]
pub type SendHook = Arc<dyn Fn(SendStage, B256) + Send + Sync>;

/// Sends transactions from one account. Cheap to clone; clones share the nonce manager.
#[derive(Clone)]
pub struct Sender {
    provider: RootProvider,
    store: Store,
    signer: PrivateKeySigner,
    nonces: Arc<NonceManager>,
    chain_id: u64,
    fees: FeePolicy,
    gas_margin_percent: u64,
    decoder: Arc<RevertDecoder>,
    hook: Option<SendHook>,
}

impl std::fmt::Debug for Sender {
    // The signer stays out of it: no key material in any log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("account", &self.signer.address())
            .field("chain_id", &self.chain_id)
            .field("fees", &self.fees)
            .finish_non_exhaustive()
    }
}

impl Sender {
    /// A sender for `signer`'s account on `chain`. `nonces` must be that account's shared
    /// manager (the same `Arc` for every sender of the account).
    pub fn new(
        provider: RootProvider,
        store: Store,
        signer: PrivateKeySigner,
        nonces: Arc<NonceManager>,
        chain: &ChainConfig,
    ) -> Result<Sender, SendError> {
        if nonces.address() != signer.address() {
            return Err(SendError::Config(format!(
                "the nonce manager is for {}, the signer is {}",
                nonces.address(),
                signer.address()
            )));
        }
        if nonces.chain_id() != chain.chain_id {
            return Err(SendError::Config(format!(
                "the nonce manager is for chain {}, the sender for chain {}",
                nonces.chain_id(),
                chain.chain_id
            )));
        }
        Ok(Sender {
            provider,
            store,
            signer,
            nonces,
            chain_id: chain.chain_id,
            fees: FeePolicy::from_config(chain),
            gas_margin_percent: DEFAULT_GAS_MARGIN_PERCENT,
            decoder: Arc::new(RevertDecoder::new()),
            hook: None,
        })
    }

    /// Custom errors `send` decodes by name (e.g. from the target contract's ABI).
    pub fn with_revert_decoder(mut self, decoder: RevertDecoder) -> Self {
        self.decoder = Arc::new(decoder);
        self
    }

    pub fn with_fee_policy(mut self, fees: FeePolicy) -> Self {
        self.fees = fees;
        self
    }

    pub fn with_gas_margin_percent(mut self, percent: u64) -> Self {
        self.gas_margin_percent = percent;
        self
    }

    /// Test-only: runs `hook` at each [`SendStage`] (e.g. to abort the process there).
    #[doc(hidden)]
    pub fn with_hook(mut self, hook: impl Fn(SendStage, B256) + Send + Sync + 'static) -> Self {
        self.hook = Some(Arc::new(hook));
        self
    }

    pub fn address(&self) -> Address {
        self.signer.address()
    }

    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    pub fn nonce_manager(&self) -> &Arc<NonceManager> {
        &self.nonces
    }

    pub fn fee_policy(&self) -> FeePolicy {
        self.fees
    }

    /// Sends `request` once per idempotency key, decoding reverts with the sender's decoder.
    pub async fn send(&self, request: TxRequest) -> Result<SendOutcome, SendError> {
        let decoder = self.decoder.clone();
        self.send_with(request, &decoder).await
    }

    /// [`Sender::send`] with another revert decoder (e.g. the ABI of this call's contract).
    ///
    /// 1. A key already journaled returns its record: nothing is signed. Except a send the
    ///    node refused (`rejected`, so it holds no nonce and cannot be mined): the same key
    ///    with the same payload tries again, as a new attempt of the same journal entry.
    /// 2. `eth_call` at the pending state; a revert is refused with its decoded reason.
    /// 3. Gas: the request's, else `eth_estimateGas` plus a margin. Fees from
    ///    `eth_feeHistory` within the caps; a base fee above the cap is refused.
    /// 4. Under the account's nonce lock: sign, journal (`signed`), broadcast, `pending`.
    ///    A refused broadcast resyncs the nonce manager; a stale nonce is retried with a
    ///    fresh one, any other refusal ends the send as `rejected`. An unanswered broadcast
    ///    stays `signed` for the tracker to re-broadcast (the same bytes).
    ///
    /// Steps 2 and 3 journal nothing, so a refused send may be retried with the same key.
    pub async fn send_with(
        &self,
        request: TxRequest,
        decoder: &RevertDecoder,
    ) -> Result<SendOutcome, SendError> {
        // A send the node refused holds no nonce and can never be mined: the same key may
        // try again (same payload). Any other journaled send is the answer.
        if request.idem_key.trim().is_empty() {
            return Err(SendError::InvalidRequest(
                "the idempotency key is empty".into(),
            ));
        }
        let mut send_id: Option<i64> = None;
        if let Some(existing) = self.store.tx_by_key(request.idem_key.clone()).await? {
            let same_payload = existing.to == request.to
                && existing.value == request.value
                && existing.input == request.input;
            if existing.state != TxState::Rejected || !same_payload {
                if !same_payload {
                    tracing::warn!(
                        idem_key = %request.idem_key,
                        "the key is journaled with another payload; returning the journaled send"
                    );
                }
                return Ok(SendOutcome::Existing(existing));
            }
            send_id = Some(existing.id);
        }
        let from = self.address();
        simulate(&self.provider, from, &request, decoder).await?;
        let gas_limit = match request.gas_limit {
            Some(gas) => gas,
            None => {
                let estimate = estimate_gas(&self.provider, from, &request, decoder).await?;
                estimate.saturating_add(estimate.saturating_mul(self.gas_margin_percent) / 100)
            }
        };
        let fees = self.fees.fees_for(fees::quote(&self.provider).await?)?;

        let mut nonces = self.nonces.lock().await;
        let mut retries = 0;
        loop {
            let nonce = nonces.current(&self.provider, &self.store).await?;
            let payload = Payload {
                chain_id: self.chain_id,
                nonce,
                to: request.to,
                value: request.value,
                input: request.input.clone(),
                gas_limit,
            };
            let attempt = sign_eip1559(&self.signer, &payload, fees)?;
            let hash = attempt.hash;
            let now = now_ms();
            let outcome = match send_id {
                None => {
                    self.store
                        .tx_journal(
                            NewTx {
                                idem_key: request.idem_key.clone(),
                                chain_id: self.chain_id,
                                from,
                                to: request.to,
                                value: request.value,
                                input: request.input.clone(),
                                gas_limit,
                                attempt,
                            },
                            now,
                        )
                        .await?
                }
                Some(id) => self.store.tx_rearm(id, gas_limit, attempt, now).await?,
            };
            let record = match outcome {
                JournalOutcome::Created(record) => record,
                // A concurrent send of the same key won; our nonce was not used.
                JournalOutcome::Existing(record) => return Ok(SendOutcome::Existing(record)),
                JournalOutcome::NonceTaken => {
                    retries += 1;
                    tracing::warn!(account = %from, nonce, "nonce held by a journaled send; resyncing");
                    nonces.resync(&self.provider, &self.store).await?;
                    if retries > NONCE_RETRIES {
                        return Err(SendError::Node(format!(
                            "no free nonce for {from} after {NONCE_RETRIES} resyncs"
                        )));
                    }
                    continue;
                }
            };
            nonces.consume(nonce);
            send_id = Some(record.id);
            self.stage(SendStage::Journaled, hash);

            match broadcast(
                &self.provider,
                &record.live_attempt().expect("journaled").raw,
            )
            .await
            {
                Broadcast::Accepted => {
                    self.stage(SendStage::Broadcast, hash);
                    if let Err(e) = self.store.tx_mark_broadcast(hash, now_ms()).await {
                        // The tracker will find it in the node's pool.
                        tracing::error!(idem_key = %request.idem_key, %hash, "journal after broadcast: {e}");
                        return Ok(SendOutcome::Sent(record));
                    }
                    let record = self
                        .store
                        .tx_by_key(request.idem_key.clone())
                        .await?
                        .unwrap_or(record);
                    tracing::info!(idem_key = %request.idem_key, %hash, nonce, "transaction sent");
                    return Ok(SendOutcome::Sent(record));
                }
                Broadcast::Uncertain(error) => {
                    tracing::warn!(
                        idem_key = %request.idem_key, %hash, nonce,
                        "broadcast unanswered ({error}); journaled, the tracker re-broadcasts it"
                    );
                    return Ok(SendOutcome::Sent(record));
                }
                Broadcast::Rejected(message) => {
                    // The nonce was not used after all; whatever happens next, re-read it.
                    nonces.invalidate();
                    let retry = is_nonce_error(&message) && retries < NONCE_RETRIES;
                    self.store
                        .tx_mark_rejected(hash, message.clone(), true, now_ms())
                        .await?;
                    tracing::warn!(
                        idem_key = %request.idem_key, %hash, nonce, retry,
                        "node refused the transaction: {message}; resyncing the nonce"
                    );
                    if let Err(e) = nonces.resync(&self.provider, &self.store).await {
                        tracing::warn!(account = %from, "nonce resync failed (retried on the next send): {e}");
                    }
                    if !retry {
                        return Err(SendError::Rejected {
                            idem_key: request.idem_key,
                            message,
                        });
                    }
                    retries += 1;
                }
            }
        }
    }

    fn stage(&self, stage: SendStage, hash: B256) {
        if let Some(hook) = &self.hook {
            hook(stage, hash);
        }
    }
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
