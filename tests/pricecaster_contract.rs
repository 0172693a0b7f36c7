//! `contracts/PriceCaster.sol` on a real anvil: real mainnet Pyth accumulator updates from
//! `tests/fixtures/pyth/` verified on chain against the mainnet guardian sets and stored in
//! 92-byte slots, read back field by field against values decoded here, independently of
//! the contract (and of the desk's own parser); and every refusal by its custom error.
//!
//! Synthetic updates (normalisation overflow, zero and negative prices, a 3-message Merkle
//! tree) are signed here by a devnet guardian set of random keys, so they go through the
//! same signature and proof checks as the real ones.
//!
//! Needs anvil (`scripts/bootstrap` installs it in `.tools/bin`).

mod common;

use std::path::PathBuf;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionReceipt;
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolEvent;
use hedgedesk::chain::contracts::PriceCaster::{self, PriceCasterErrors, PriceCasterInstance};
use hedgedesk::devnet::{AnvilNode, AnvilOptions};

const PYTHNET_CHAIN: u16 = 26;
const PYTHNET_EMITTER: &str = "e101faedac5851e32b9b23b5f9411a8c2bac4aae3ed4dd7b811dd1a72ea4aa71";
const FLAG_TESTING: u8 = 0x80;
const FLAG_NO_MERKLE: u8 = 0x40;

type Contract = PriceCasterInstance<DynProvider>;

// ---------------------------------------------------------------------------------------
// Fixtures and an independent decoder

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pyth")
}

/// A fixture's bytes (`.hex` or `.b64`).
fn fixture(name: &str) -> Vec<u8> {
    common::pyth::fixture(name)
}

fn guardian_set(index: u32) -> Vec<Address> {
    let text = std::fs::read_to_string(fixtures().join("derived_guardian_sets.json")).unwrap();
    let sets: serde_json::Value = serde_json::from_str(&text).unwrap();
    sets[index.to_string()]
        .as_array()
        .expect("guardian set in derived_guardian_sets.json")
        .iter()
        .map(|key| key.as_str().unwrap().parse().unwrap())
        .collect()
}

fn emitter() -> B256 {
    PYTHNET_EMITTER.parse().unwrap()
}

/// A PriceFeedMessage, decoded by the test.
#[derive(Debug, Clone, PartialEq)]
struct Msg {
    id: B256,
    price: i64,
    conf: u64,
    expo: i32,
    publish_time: u64,
    prev_publish_time: u64,
    ema_price: i64,
    ema_conf: u64,
}

impl Msg {
    fn decode(raw: &[u8]) -> Msg {
        assert_eq!(raw[0], 0, "price feed message");
        assert!(raw.len() >= 85);
        let u64_at = |p: usize| u64::from_be_bytes(raw[p..p + 8].try_into().unwrap());
        Msg {
            id: B256::from_slice(&raw[1..33]),
            price: u64_at(33) as i64,
            conf: u64_at(41),
            expo: i32::from_be_bytes(raw[49..53].try_into().unwrap()),
            publish_time: u64_at(53),
            prev_publish_time: u64_at(61),
            ema_price: u64_at(69) as i64,
            ema_conf: u64_at(77),
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = vec![0u8];
        out.extend_from_slice(self.id.as_slice());
        out.extend_from_slice(&self.price.to_be_bytes());
        out.extend_from_slice(&self.conf.to_be_bytes());
        out.extend_from_slice(&self.expo.to_be_bytes());
        out.extend_from_slice(&self.publish_time.to_be_bytes());
        out.extend_from_slice(&self.prev_publish_time.to_be_bytes());
        out.extend_from_slice(&self.ema_price.to_be_bytes());
        out.extend_from_slice(&self.ema_conf.to_be_bytes());
        assert_eq!(out.len(), 85);
        out
    }
}

/// The parts of a PNAU update the tests look at or rewrite.
struct Pnau {
    /// Offset of the VAA's u16 length.
    vaa_len_at: usize,
    vaa: Vec<u8>,
    /// Everything after the VAA (update count, updates).
    tail: Vec<u8>,
    guardian_set: u32,
    /// Each signature's 66 bytes (index, r, s, v).
    signatures: Vec<[u8; 66]>,
    /// Offset of the VAA body inside `vaa`.
    body_at: usize,
    /// (message, proof nodes) per update.
    updates: Vec<(Vec<u8>, Vec<[u8; 20]>)>,
}

impl Pnau {
    fn decode(data: &[u8]) -> Pnau {
        assert_eq!(&data[..4], b"PNAU");
        assert_eq!(data[4], 1);
        let mut p = 7 + data[6] as usize;
        assert_eq!(data[p], 0, "wormhole merkle");
        p += 1;
        let vaa_len_at = p;
        let vaa_len = u16::from_be_bytes([data[p], data[p + 1]]) as usize;
        p += 2;
        let vaa = data[p..p + vaa_len].to_vec();
        p += vaa_len;
        let tail = data[p..].to_vec();
        assert_eq!(vaa[0], 1);
        let guardian_set = u32::from_be_bytes(vaa[1..5].try_into().unwrap());
        let count = vaa[5] as usize;
        let signatures = (0..count)
            .map(|i| vaa[6 + 66 * i..6 + 66 * (i + 1)].try_into().unwrap())
            .collect();
        let body_at = 6 + 66 * count;
        let mut updates = Vec::new();
        let n = data[p] as usize;
        p += 1;
        for _ in 0..n {
            let len = u16::from_be_bytes([data[p], data[p + 1]]) as usize;
            p += 2;
            let message = data[p..p + len].to_vec();
            p += len;
            let nodes = data[p] as usize;
            p += 1;
            let proof = (0..nodes)
                .map(|k| data[p + 20 * k..p + 20 * (k + 1)].try_into().unwrap())
                .collect();
            p += 20 * nodes;
            updates.push((message, proof));
        }
        assert_eq!(p, data.len());
        Pnau {
            vaa_len_at,
            vaa,
            tail,
            guardian_set,
            signatures,
            body_at,
            updates,
        }
    }

    fn messages(&self) -> Vec<Msg> {
        self.updates.iter().map(|(m, _)| Msg::decode(m)).collect()
    }

    /// The update as in `data` with other signatures in its VAA.
    fn with_signatures(&self, data: &[u8], signatures: &[[u8; 66]]) -> Vec<u8> {
        let mut vaa = self.vaa[..5].to_vec();
        vaa.push(signatures.len() as u8);
        for sig in signatures {
            vaa.extend_from_slice(sig);
        }
        vaa.extend_from_slice(&self.vaa[self.body_at..]);
        let mut out = data[..self.vaa_len_at].to_vec();
        out.extend_from_slice(&(vaa.len() as u16).to_be_bytes());
        out.extend_from_slice(&vaa);
        out.extend_from_slice(&self.tail);
        out
    }
}

/// `price * 10^(12 + expo - decimals)` computed here with checked u128 arithmetic.
fn normalize(price: i64, expo: i32, decimals: u8) -> Option<u64> {
    if price <= 0 {
        return Some(0);
    }
    let k = 12 + expo as i64 - decimals as i64;
    let p = price as u128;
    let r = if k >= 0 {
        10u128
            .checked_pow(k as u32)
            .and_then(|f| p.checked_mul(f))?
    } else if k < -38 {
        0
    } else {
        p / 10u128.pow((-k) as u32)
    };
    u64::try_from(r).ok()
}

/// The 92-byte slot the contract must hold for `msg` in a slot of `asset_id`/`decimals`.
fn expected_slot(asset_id: u64, decimals: u8, msg: &Msg) -> Vec<u8> {
    let mut out = Vec::with_capacity(92);
    out.extend_from_slice(&asset_id.to_be_bytes());
    out.extend_from_slice(
        &normalize(msg.price, msg.expo, decimals)
            .unwrap()
            .to_be_bytes(),
    );
    out.extend_from_slice(&msg.price.to_be_bytes());
    out.extend_from_slice(&msg.conf.to_be_bytes());
    out.extend_from_slice(&msg.expo.to_be_bytes());
    out.extend_from_slice(&msg.ema_price.to_be_bytes());
    out.extend_from_slice(&msg.ema_conf.to_be_bytes());
    out.extend_from_slice(&msg.publish_time.to_be_bytes());
    out.extend_from_slice(&msg.prev_publish_time.to_be_bytes());
    out.extend_from_slice(&[0u8; 24]);
    assert_eq!(out.len(), 92);
    out
}

// ---------------------------------------------------------------------------------------
// Synthetic updates signed by a devnet guardian set

fn keccak160(data: &[u8]) -> [u8; 20] {
    keccak256(data)[..20].try_into().unwrap()
}

fn leaf(message: &[u8]) -> [u8; 20] {
    let mut data = vec![0u8];
    data.extend_from_slice(message);
    keccak160(&data)
}

fn node(a: [u8; 20], b: [u8; 20]) -> [u8; 20] {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut data = vec![1u8];
    data.extend_from_slice(&lo);
    data.extend_from_slice(&hi);
    keccak160(&data)
}

/// The root of a Merkle tree over `messages` and each message's proof (an odd node out is
/// carried up a level unpaired).
fn merkle(messages: &[Vec<u8>]) -> ([u8; 20], Vec<Vec<[u8; 20]>>) {
    let mut level: Vec<[u8; 20]> = messages.iter().map(|m| leaf(m)).collect();
    // Which node of the current level each message's path is at.
    let mut position: Vec<usize> = (0..messages.len()).collect();
    let mut proofs = vec![Vec::new(); messages.len()];
    while level.len() > 1 {
        for (proof, pos) in proofs.iter_mut().zip(position.iter_mut()) {
            let sibling = *pos ^ 1;
            if sibling < level.len() {
                proof.push(level[sibling]);
            }
            *pos /= 2;
        }
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [a, b] => node(*a, *b),
                [a] => *a,
                _ => unreachable!(),
            })
            .collect();
    }
    (level[0], proofs)
}

/// A PNAU update of `messages`, its VAA signed by `guardians` (all of them, in order) as
/// guardian set `set_index`, from `emitter`.
fn synthetic_update(
    guardians: &[PrivateKeySigner],
    set_index: u32,
    emitter_address: B256,
    messages: &[Vec<u8>],
) -> Vec<u8> {
    let (root, proofs) = merkle(messages);
    let mut payload = b"AUWV".to_vec();
    payload.push(0);
    payload.extend_from_slice(&123_456_789u64.to_be_bytes()); // slot
    payload.extend_from_slice(&1_000u32.to_be_bytes()); // ring size
    payload.extend_from_slice(&root);
    let mut body = Vec::new();
    body.extend_from_slice(&1_700_000_000u32.to_be_bytes()); // timestamp
    body.extend_from_slice(&0u32.to_be_bytes()); // nonce
    body.extend_from_slice(&PYTHNET_CHAIN.to_be_bytes());
    body.extend_from_slice(emitter_address.as_slice());
    body.extend_from_slice(&42u64.to_be_bytes()); // sequence
    body.push(1); // consistency
    body.extend_from_slice(&payload);
    let digest = keccak256(keccak256(&body));
    let mut vaa = vec![1u8];
    vaa.extend_from_slice(&set_index.to_be_bytes());
    vaa.push(guardians.len() as u8);
    for (i, guardian) in guardians.iter().enumerate() {
        let sig = guardian.sign_hash_sync(&digest).unwrap();
        vaa.push(i as u8);
        vaa.extend_from_slice(&sig.r().to_be_bytes::<32>());
        vaa.extend_from_slice(&sig.s().to_be_bytes::<32>());
        vaa.push(sig.v() as u8);
    }
    vaa.extend_from_slice(&body);
    let mut out = b"PNAU".to_vec();
    out.extend_from_slice(&[1, 0, 0, 0]); // major, minor, trailing header len, proof type
    out.extend_from_slice(&(vaa.len() as u16).to_be_bytes());
    out.extend_from_slice(&vaa);
    out.push(messages.len() as u8);
    for (message, proof) in messages.iter().zip(&proofs) {
        out.extend_from_slice(&(message.len() as u16).to_be_bytes());
        out.extend_from_slice(message);
        out.push(proof.len() as u8);
        for n in proof {
            out.extend_from_slice(n);
        }
    }
    out
}

fn synthetic_msg(id: u8, price: i64, expo: i32, publish_time: u64) -> Msg {
    Msg {
        id: B256::repeat_byte(id),
        price,
        conf: 7,
        expo,
        publish_time,
        prev_publish_time: publish_time - 1,
        ema_price: price,
        ema_conf: 9,
    }
}

// ---------------------------------------------------------------------------------------
// Chain helpers

struct Chain {
    node: AnvilNode,
}

impl Chain {
    fn start() -> Chain {
        Chain {
            node: AnvilNode::start(&AnvilOptions::default()).expect("anvil"),
        }
    }

    /// A fresh signing provider for dev account `index` (fresh: alloy's nonce cache loses
    /// a nonce when a send fails during estimation).
    fn provider(&self, index: usize) -> DynProvider {
        ProviderBuilder::new()
            .wallet(EthereumWallet::from(self.node.signer(index)))
            .connect_http(self.node.http_url().parse().unwrap())
            .erased()
    }

    async fn deploy(&self, keys: Vec<Address>, set_index: u32, flags: u8) -> Contract {
        self.deploy_with_emitter(keys, set_index, emitter(), flags)
            .await
    }

    async fn deploy_with_emitter(
        &self,
        keys: Vec<Address>,
        set_index: u32,
        emitter_address: B256,
        flags: u8,
    ) -> Contract {
        PriceCaster::deploy(
            self.provider(0),
            keys,
            set_index,
            PYTHNET_CHAIN,
            emitter_address,
            flags,
        )
        .await
        .expect("deploy PriceCaster")
    }
}

/// The contract's custom error in a failed call.
fn revert_of(err: alloy::contract::Error) -> PriceCasterErrors {
    err.as_decoded_interface_error::<PriceCasterErrors>()
        .unwrap_or_else(|| panic!("not a PriceCaster error: {err}"))
}

async fn store_reverts(pc: &Contract, data: &[u8], slots: &[u8]) -> PriceCasterErrors {
    let err = pc
        .store(Bytes::copy_from_slice(data), slots.to_vec())
        .call()
        .await
        .expect_err("store must revert");
    revert_of(err)
}

async fn store(pc: &Contract, data: &[u8], slots: &[u8]) -> TransactionReceipt {
    // A call first, so a revert shows its error instead of failing the estimate.
    if let Err(err) = pc
        .store(Bytes::copy_from_slice(data), slots.to_vec())
        .call()
        .await
    {
        panic!("store reverts: {:?}", revert_of(err));
    }
    let receipt = pc
        .store(Bytes::copy_from_slice(data), slots.to_vec())
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());
    receipt
}

async fn alloc(pc: &Contract, asset_id: u64, decimals: u8, price_id: B256) -> u8 {
    let slot = pc.alloc(asset_id, decimals, price_id).call().await.unwrap();
    let receipt = pc
        .alloc(asset_id, decimals, price_id)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());
    let event = events::<PriceCaster::SlotAllocated>(&receipt);
    assert_eq!(event.len(), 1);
    assert_eq!(
        (
            event[0].slot,
            event[0].assetId,
            event[0].decimals,
            event[0].priceId
        ),
        (slot, asset_id, decimals, price_id)
    );
    slot
}

fn events<E: SolEvent>(receipt: &TransactionReceipt) -> Vec<E> {
    receipt
        .inner
        .logs()
        .iter()
        .filter_map(|log| log.log_decode::<E>().ok())
        .map(|log| log.inner.data)
        .collect()
}

/// Checks slot `slot` holds `msg` both as the 92 raw bytes and decoded.
async fn assert_slot(pc: &Contract, slot: u8, asset_id: u64, decimals: u8, msg: &Msg) {
    let expected = expected_slot(asset_id, decimals, msg);
    let raw = pc.readSlot(slot).call().await.unwrap();
    assert_eq!(
        hex::encode(&raw),
        hex::encode(&expected),
        "slot {slot} raw bytes"
    );
    let s = pc.getSlot(slot).call().await.unwrap();
    assert_eq!(s.assetId, asset_id);
    assert_eq!(
        s.normalizedPrice,
        normalize(msg.price, msg.expo, decimals).unwrap()
    );
    assert_eq!(s.price, msg.price);
    assert_eq!(s.confidence, msg.conf);
    assert_eq!(s.exponent, msg.expo);
    assert_eq!(s.emaPrice, msg.ema_price);
    assert_eq!(s.emaConfidence, msg.ema_conf);
    assert_eq!(s.publishTime, msg.publish_time);
    assert_eq!(s.prevPublishTime, msg.prev_publish_time);
    let info = pc.slotInfo(slot).call().await.unwrap();
    assert_eq!(
        (info.assetId, info.decimals, info.priceId),
        (asset_id, decimals, msg.id)
    );
}

/// Allocates one slot per message of `data` (asset ids from `first_asset`, decimals
/// cycling 0, 6, 8, 18, 19) and returns the slots.
async fn alloc_for(pc: &Contract, data: &[u8], first_asset: u64) -> Vec<(u8, u64, u8)> {
    let mut out = Vec::new();
    for (i, msg) in Pnau::decode(data).messages().iter().enumerate() {
        let asset_id = first_asset + i as u64;
        let decimals = [0u8, 6, 8, 18, 19][i % 5];
        let slot = alloc(pc, asset_id, decimals, msg.id).await;
        out.push((slot, asset_id, decimals));
    }
    out
}

// ---------------------------------------------------------------------------------------
// Tests

/// The Hermes documentation's 2-feed update (the same bytes as
/// `hermes_v2_latest_response_example.json`) stores, and the slots hold what Hermes' own
/// `parsed` section says.
#[tokio::test]
async fn mainnet_two_feed_update_stores_and_reads_back_as_hermes_parsed_it() {
    let chain = Chain::start();
    let pc = chain.deploy(guardian_set(4), 4, 0).await;
    assert_eq!(pc.guardianSetIndex().call().await.unwrap(), 4);
    assert_eq!(pc.emitterChain().call().await.unwrap(), PYTHNET_CHAIN);
    assert_eq!(pc.emitterAddress().call().await.unwrap(), emitter());

    let response: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("hermes_v2_latest_response_example.json"))
            .unwrap(),
    )
    .unwrap();
    let data = hex::decode(response["binary"]["data"][0].as_str().unwrap()).unwrap();
    assert_eq!(data, fixture("pnau_gs4_btc_c964_2feeds_devhub.hex"));

    // The messages as Hermes parsed them.
    let parsed: Vec<Msg> = response["parsed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|feed| {
            let int = |v: &serde_json::Value| -> i64 {
                v.as_str()
                    .map(|s| s.parse().unwrap())
                    .unwrap_or_else(|| v.as_i64().unwrap())
            };
            Msg {
                id: format!("0x{}", feed["id"].as_str().unwrap())
                    .parse()
                    .unwrap(),
                price: int(&feed["price"]["price"]),
                conf: int(&feed["price"]["conf"]) as u64,
                expo: int(&feed["price"]["expo"]) as i32,
                publish_time: int(&feed["price"]["publish_time"]) as u64,
                prev_publish_time: int(&feed["metadata"]["prev_publish_time"]) as u64,
                ema_price: int(&feed["ema_price"]["price"]),
                ema_conf: int(&feed["ema_price"]["conf"]) as u64,
            }
        })
        .collect();
    assert_eq!(Pnau::decode(&data).messages(), parsed);

    // BTC/USD normalised to 8 decimals, the other feed to 6.
    let btc = alloc(&pc, 1, 8, parsed[0].id).await;
    let other = alloc(&pc, 2, 6, parsed[1].id).await;
    assert_eq!((btc, other), (0, 1));
    assert_eq!(pc.slotCount().call().await.unwrap(), 2);

    let receipt = store(&pc, &data, &[btc, other]).await;
    eprintln!(
        "GAS: store of a 2-feed mainnet update (13 signatures): {}",
        receipt.gas_used
    );
    assert!(receipt.gas_used < 400_000, "gas {}", receipt.gas_used);

    assert_slot(&pc, btc, 1, 8, &parsed[0]).await;
    assert_slot(&pc, other, 2, 6, &parsed[1]).await;
    // The normalised price is the price of one base unit in 10^-12 USD: BTC at
    // $61409.93501000 (price 6140993501000, expo -8) with 8 decimals is 6140993501000 *
    // 10^(12 - 8 - 8) = 614099350, i.e. one satoshi costs 0.000614099350 USD.
    let s = pc.getSlot(btc).call().await.unwrap();
    assert_eq!(s.normalizedPrice, 614_099_350);
    // 4959503 * 10^(12 - 8 - 6) = 49595.
    assert_eq!(
        pc.getSlot(other).call().await.unwrap().normalizedPrice,
        49_595
    );

    // One Store event per slot, carrying its 92 bytes.
    let stored = events::<PriceCaster::Store>(&receipt);
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].slot, btc);
    assert_eq!(stored[0].data.to_vec(), expected_slot(1, 8, &parsed[0]));
    assert_eq!(stored[1].slot, other);
    assert_eq!(stored[1].data.to_vec(), expected_slot(2, 6, &parsed[1]));

    // The same update again is not newer: both ignored, nothing changes.
    let receipt = store(&pc, &data, &[btc, other]).await;
    let ignored: Vec<u8> = events::<PriceCaster::PriceIgnoredOld>(&receipt)
        .iter()
        .map(|e| e.slot)
        .collect();
    assert_eq!(ignored, vec![btc, other]);
    assert!(events::<PriceCaster::Store>(&receipt).is_empty());
    assert_slot(&pc, btc, 1, 8, &parsed[0]).await;
}

/// Every other valid set-4 fixture stores into fresh slots and reads back equal to this
/// test's own decoding; an older BTC price does not overwrite a newer one.
#[tokio::test]
async fn every_mainnet_set4_fixture_stores_and_older_prices_are_ignored() {
    let chain = Chain::start();
    let pc = chain.deploy(guardian_set(4), 4, 0).await;
    let mut asset = 100;
    for name in [
        "pnau_gs4_btc_eth_ton.hex",
        "pnau_gs4_3feeds_jssdk_test.b64",
        "pnau_gs4_1feed_pythnet_sdk_wire_test.hex",
        "pnau_gs4_1feed_stylus_2025_a.hex",
        "pnau_gs4_btc_stylus_2025_b.hex",
        "pnau_gs4_btc_devhub_137.hex",
    ] {
        let data = fixture(name);
        let messages = Pnau::decode(&data).messages();
        let slots = alloc_for(&pc, &data, asset).await;
        asset += 10;
        let ids: Vec<u8> = slots.iter().map(|s| s.0).collect();
        let receipt = store(&pc, &data, &ids).await;
        eprintln!(
            "GAS: {name}: {} feed(s), {} gas",
            messages.len(),
            receipt.gas_used
        );
        assert_eq!(
            events::<PriceCaster::Store>(&receipt).len(),
            messages.len(),
            "{name}"
        );
        for ((slot, asset_id, decimals), msg) in slots.iter().zip(&messages) {
            assert_slot(&pc, *slot, *asset_id, *decimals, msg).await;
        }
    }

    // The stylus 2025 BTC update is newer than the 2024 one from the TON tests: storing the
    // older one into the slot that holds the newer emits PriceIgnoredOld and changes nothing.
    let newer = fixture("pnau_gs4_btc_stylus_2025_b.hex");
    let older = fixture("pnau_gs4_btc_eth_ton.hex");
    let newer_msg = Pnau::decode(&newer).messages()[0].clone();
    let older_msgs = Pnau::decode(&older).messages();
    let btc_index = older_msgs
        .iter()
        .position(|m| m.id == newer_msg.id)
        .expect("BTC in both");
    assert!(older_msgs[btc_index].publish_time < newer_msg.publish_time);
    let slot = alloc(&pc, 999, 8, newer_msg.id).await;
    store(&pc, &newer, &[slot]).await;
    let before = pc.readSlot(slot).call().await.unwrap();
    let mut slots = vec![255u8; older_msgs.len()]; // SKIP_SLOT for the others
    slots[btc_index] = slot;
    let receipt = store(&pc, &older, &slots).await;
    let ignored: Vec<u8> = events::<PriceCaster::PriceIgnoredOld>(&receipt)
        .iter()
        .map(|e| e.slot)
        .collect();
    assert_eq!(ignored, vec![slot]);
    assert!(events::<PriceCaster::Store>(&receipt).is_empty());
    assert_eq!(pc.readSlot(slot).call().await.unwrap(), before);
    assert_slot(&pc, slot, 999, 8, &newer_msg).await;

    // Steady state: the newer BTC price overwrites the older one in the TON fixture's slot
    // (every word already non-zero).
    let ton_btc_slot = btc_index as u8; // the first fixture was allocated slots 0, 1
    assert_eq!(
        pc.slotInfo(ton_btc_slot).call().await.unwrap().priceId,
        newer_msg.id
    );
    let receipt = store(&pc, &newer, &[ton_btc_slot]).await;
    eprintln!(
        "GAS: 1-feed store over an older price (slot words already set): {}",
        receipt.gas_used
    );
    assert_slot(
        &pc,
        ton_btc_slot,
        100 + btc_index as u64,
        [0u8, 6][btc_index],
        &newer_msg,
    )
    .await;
}

#[tokio::test]
async fn guardian_set_3_needs_set_3_and_the_bad_merkle_fixture_stores_nothing() {
    let chain = Chain::start();
    let pc = chain.deploy(guardian_set(4), 4, 0).await;
    let valid = fixture("pnau_gs3_2feeds_fuel_valid.hex");
    let bad = fixture("pnau_gs3_2feeds_fuel_BAD_merkle_msg1.hex");
    let slots = alloc_for(&pc, &valid, 1).await;
    let ids: Vec<u8> = slots.iter().map(|s| s.0).collect();

    match store_reverts(&pc, &valid, &ids).await {
        PriceCasterErrors::WrongGuardianSet(e) => assert_eq!(e.index, 3),
        other => panic!("{other:?}"),
    }

    let receipt = pc
        .setGuardianSet(guardian_set(3), 3)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());
    assert_eq!(pc.guardianSetIndex().call().await.unwrap(), 3);
    let set = pc.guardianSet(3).call().await.unwrap();
    assert_eq!(set.keys, guardian_set(3));
    assert_eq!(set.expiresAt, 0);
    // Set 4 stays valid for a day.
    let set4 = pc.guardianSet(4).call().await.unwrap();
    assert_eq!(set4.keys, guardian_set(4));
    assert!(set4.expiresAt > 0);

    // The BAD fixture fails on message 1's proof; mined with a fixed gas limit, the
    // transaction reverts and both slots stay empty.
    match store_reverts(&pc, &bad, &ids).await {
        PriceCasterErrors::BadMerkleProof(e) => assert_eq!(e.update, U256::from(1)),
        other => panic!("{other:?}"),
    }
    let receipt = pc
        .store(Bytes::from(bad.clone()), ids.clone())
        .gas(3_000_000)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(!receipt.status(), "the BAD update reverts on chain");
    for (slot, _, _) in &slots {
        let s = pc.getSlot(*slot).call().await.unwrap();
        assert_eq!((s.price, s.publishTime, s.normalizedPrice), (0, 0, 0));
    }

    let receipt = store(&pc, &valid, &ids).await;
    eprintln!(
        "GAS: pnau_gs3_2feeds_fuel_valid.hex (2 feeds): {}",
        receipt.gas_used
    );
    let messages = Pnau::decode(&valid).messages();
    for ((slot, asset_id, decimals), msg) in slots.iter().zip(&messages) {
        assert_slot(&pc, *slot, *asset_id, *decimals, msg).await;
    }

    // Within the day, set-4 updates still verify; a day later they do not.
    let gs4 = fixture("pnau_gs4_btc_devhub_137.hex");
    let gs4_slot = alloc_for(&pc, &gs4, 50).await[0].0;
    store(&pc, &gs4, &[gs4_slot]).await;
    let provider = chain.provider(0);
    let _: serde_json::Value = provider
        .raw_request("evm_increaseTime".into(), (86_401u64,))
        .await
        .unwrap();
    let _: serde_json::Value = provider.raw_request("evm_mine".into(), ()).await.unwrap();
    match store_reverts(&pc, &fixture("pnau_gs4_btc_eth_ton.hex"), &[255, 255]).await {
        PriceCasterErrors::WrongGuardianSet(e) => assert_eq!(e.index, 4),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn forged_reordered_and_too_few_signatures_are_refused() {
    let chain = Chain::start();
    let pc = chain.deploy(guardian_set(4), 4, 0).await;
    let data = fixture("pnau_gs4_btc_c964_2feeds_devhub.hex");
    let pnau = Pnau::decode(&data);
    assert_eq!(pnau.guardian_set, 4);
    assert_eq!(pnau.signatures.len(), 13);
    let ids: Vec<u8> = alloc_for(&pc, &data, 1).await.iter().map(|s| s.0).collect();

    // A flipped bit in one signature's s.
    let mut sigs = pnau.signatures.clone();
    sigs[3][40] ^= 0x01;
    match store_reverts(&pc, &pnau.with_signatures(&data, &sigs), &ids).await {
        PriceCasterErrors::InvalidSignature(e) => assert_eq!(e.index, sigs[3][0]),
        other => panic!("{other:?}"),
    }
    // A signature presented as another guardian's: the 13th under the 12th's index.
    let mut sigs = pnau.signatures[..11].to_vec();
    let mut moved = pnau.signatures[12];
    moved[0] = pnau.signatures[11][0];
    sigs.push(moved);
    match store_reverts(&pc, &pnau.with_signatures(&data, &sigs), &ids).await {
        PriceCasterErrors::InvalidSignature(e) => assert_eq!(e.index, moved[0]),
        other => panic!("{other:?}"),
    }
    // Swapped (descending) and duplicated signatures.
    let mut sigs = pnau.signatures.clone();
    sigs.swap(0, 1);
    assert!(matches!(
        store_reverts(&pc, &pnau.with_signatures(&data, &sigs), &ids).await,
        PriceCasterErrors::SignatureIndexesNotAscending(_)
    ));
    let mut sigs = pnau.signatures.clone();
    sigs[1] = sigs[0];
    assert!(matches!(
        store_reverts(&pc, &pnau.with_signatures(&data, &sigs), &ids).await,
        PriceCasterErrors::SignatureIndexesNotAscending(_)
    ));
    // 12 of 19 valid signatures are one short of the quorum of 13.
    match store_reverts(
        &pc,
        &pnau.with_signatures(&data, &pnau.signatures[..12]),
        &ids,
    )
    .await
    {
        PriceCasterErrors::NoQuorum(e) => {
            assert_eq!((e.valid, e.needed), (U256::from(12), U256::from(13)))
        }
        other => panic!("{other:?}"),
    }
    // Nothing was stored by any of these.
    assert_eq!(pc.getSlot(ids[0]).call().await.unwrap().publishTime, 0);
    // The untouched update still stores.
    store(&pc, &data, &ids).await;
}

#[tokio::test]
async fn malformed_updates_and_wrong_slots_are_refused_by_name() {
    let chain = Chain::start();
    let pc = chain.deploy(guardian_set(4), 4, 0).await;
    let data = fixture("pnau_gs4_btc_c964_2feeds_devhub.hex");
    let messages = Pnau::decode(&data).messages();
    let btc = alloc(&pc, 1, 8, messages[0].id).await;
    let other = alloc(&pc, 2, 8, messages[1].id).await;

    let e = store_reverts(&pc, &data, &[other, btc]).await;
    assert!(
        matches!(e, PriceCasterErrors::WrongPriceId(ref e) if e.slot == other),
        "{e:?}"
    );
    let e = store_reverts(&pc, &data, &[btc, 7]).await;
    assert!(
        matches!(e, PriceCasterErrors::SlotNotAllocated(ref e) if e.slot == 7),
        "{e:?}"
    );
    let e = store_reverts(&pc, &data, &[btc]).await;
    assert!(
        matches!(e, PriceCasterErrors::SlotCountMismatch(ref e) if e.updates == U256::from(2) && e.slots == U256::from(1)),
        "{e:?}"
    );
    for cut in [3, 100, 500, data.len() - 1] {
        let e = store_reverts(&pc, &data[..cut], &[btc, other]).await;
        assert!(
            matches!(e, PriceCasterErrors::Truncated(_)),
            "cut at {cut}: {e:?}"
        );
    }
    let mut longer = data.clone();
    longer.push(0);
    assert!(matches!(
        store_reverts(&pc, &longer, &[btc, other]).await,
        PriceCasterErrors::TrailingData(_)
    ));
    let mut bad = data.clone();
    bad[0] = b'X';
    assert!(matches!(
        store_reverts(&pc, &bad, &[btc, other]).await,
        PriceCasterErrors::BadMagic(_)
    ));
    let mut bad = data.clone();
    bad[4] = 2;
    assert!(matches!(
        store_reverts(&pc, &bad, &[btc, other]).await,
        PriceCasterErrors::UnsupportedVersion(_)
    ));

    // TWAP messages (type 1) are refused, unless their slot is SKIP_SLOT.
    let twap = fixture("pnau_gs4_twap_msgs_jssdk_test.b64");
    let n = Pnau::decode(&twap).updates.len();
    let mut slots = vec![255u8; n];
    slots[0] = btc;
    match store_reverts(&pc, &twap, &slots).await {
        PriceCasterErrors::UnsupportedMessageType(e) => {
            assert_eq!((e.update, e.messageType), (U256::ZERO, 1))
        }
        other => panic!("{other:?}"),
    }
    let receipt = store(&pc, &twap, &vec![255u8; n]).await;
    assert!(receipt.inner.logs().is_empty());

    // The same update offered to a PriceCaster that accepts another emitter.
    let elsewhere = chain
        .deploy_with_emitter(guardian_set(4), 4, B256::repeat_byte(0x11), 0)
        .await;
    alloc(&elsewhere, 1, 8, messages[0].id).await;
    alloc(&elsewhere, 2, 8, messages[1].id).await;
    match store_reverts(&elsewhere, &data, &[0, 1]).await {
        PriceCasterErrors::WrongEmitter(e) => {
            assert_eq!((e.chain, e.emitter), (PYTHNET_CHAIN, emitter()))
        }
        other => panic!("{other:?}"),
    }
}

/// Normalisation at its edges, on updates signed by a devnet guardian set.
#[tokio::test]
async fn normalisation_overflow_zero_and_negative_prices_on_a_devnet_guardian_set() {
    let chain = Chain::start();
    let guardians: Vec<PrivateKeySigner> = (0..4).map(|_| PrivateKeySigner::random()).collect();
    let keys: Vec<Address> = guardians.iter().map(|g| g.address()).collect();
    let pc = chain.deploy(keys, 0, 0).await;
    let update = |msgs: &[Msg]| {
        let raw: Vec<Vec<u8>> = msgs.iter().map(Msg::encode).collect();
        synthetic_update(&guardians, 0, emitter(), &raw)
    };

    // d=0, e=+12: 10^24 · price cannot fit in a u64.
    let big = synthetic_msg(1, 5, 12, 1000);
    let slot_big = alloc(&pc, 1, 0, big.id).await;
    assert_eq!(normalize(5, 12, 0), None);
    match store_reverts(&pc, &update(std::slice::from_ref(&big)), &[slot_big]).await {
        PriceCasterErrors::NormalizedPriceOverflow(e) => assert_eq!(e.slot, slot_big),
        other => panic!("{other:?}"),
    }
    // The largest power that still fits: price 1, 10^19.
    let edge = synthetic_msg(1, 1, 7, 1001);
    assert_eq!(normalize(1, 7, 0), Some(10_000_000_000_000_000_000));
    // ... and a price that overflows with a small power: i64::MAX · 10^1.
    let max = synthetic_msg(2, i64::MAX, -11, 1000);
    let slot_max = alloc(&pc, 2, 0, max.id).await;
    assert_eq!(normalize(i64::MAX, -11, 0), None);
    assert!(matches!(
        store_reverts(&pc, &update(std::slice::from_ref(&max)), &[slot_max]).await,
        PriceCasterErrors::NormalizedPriceOverflow(_)
    ));
    // i64::MAX · 10^0 fits.
    let fits = synthetic_msg(2, i64::MAX, -12, 1001);
    // d=19, e=-12: 10^-31 · price truncates to 0: NormPriceZero, slot untouched.
    let tiny = synthetic_msg(3, 123_456_789, -12, 1000);
    let slot_tiny = alloc(&pc, 3, 19, tiny.id).await;
    // A negative price cannot be normalised into a u64: NegativePrice, slot untouched.
    let negative = synthetic_msg(4, -5, -8, 1000);
    let slot_negative = alloc(&pc, 4, 8, negative.id).await;
    // Exact truncation with a negative power: 987654321 · 10^(12-8-6) = 9876543.
    let exact = synthetic_msg(5, 987_654_321, -8, 1000);
    let slot_exact = alloc(&pc, 5, 6, exact.id).await;

    // Five messages in one update: a Merkle tree with an odd node out.
    let msgs = [
        edge.clone(),
        fits.clone(),
        tiny.clone(),
        negative.clone(),
        exact.clone(),
    ];
    let receipt = store(
        &pc,
        &update(&msgs),
        &[slot_big, slot_max, slot_tiny, slot_negative, slot_exact],
    )
    .await;
    let zero: Vec<u8> = events::<PriceCaster::NormPriceZero>(&receipt)
        .iter()
        .map(|e| e.slot)
        .collect();
    assert_eq!(zero, vec![slot_tiny]);
    let negatives: Vec<u8> = events::<PriceCaster::NegativePrice>(&receipt)
        .iter()
        .map(|e| e.slot)
        .collect();
    assert_eq!(negatives, vec![slot_negative]);
    let stored: Vec<u8> = events::<PriceCaster::Store>(&receipt)
        .iter()
        .map(|e| e.slot)
        .collect();
    assert_eq!(stored, vec![slot_big, slot_max, slot_exact]);
    assert_slot(&pc, slot_big, 1, 0, &edge).await;
    assert_eq!(
        pc.getSlot(slot_big).call().await.unwrap().normalizedPrice,
        10_000_000_000_000_000_000
    );
    assert_slot(&pc, slot_max, 2, 0, &fits).await;
    assert_slot(&pc, slot_exact, 5, 6, &exact).await;
    assert_eq!(
        pc.getSlot(slot_exact).call().await.unwrap().normalizedPrice,
        9_876_543
    );
    for slot in [slot_tiny, slot_negative] {
        assert_eq!(pc.getSlot(slot).call().await.unwrap().publishTime, 0);
    }

    // The devnet set's quorum is 3 of 4: two signatures are too few.
    let mut data = synthetic_update(&guardians, 0, emitter(), &[exact.encode()]);
    let pnau = Pnau::decode(&data);
    data = pnau.with_signatures(&data, &pnau.signatures[..2]);
    match store_reverts(&pc, &data, &[slot_exact]).await {
        PriceCasterErrors::NoQuorum(e) => {
            assert_eq!((e.valid, e.needed), (U256::from(2), U256::from(3)))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn flags_testing_mode_and_merkle_switch() {
    let chain = Chain::start();
    let pc = chain.deploy(guardian_set(4), 4, 0).await;
    assert_eq!(pc.flags().call().await.unwrap(), 0);
    for bad in [0x40u8, 0x80, 0xc0, 0x41, 0xff] {
        match revert_of(pc.setFlags(bad).call().await.unwrap_err()) {
            PriceCasterErrors::ReservedFlagBits(e) => assert_eq!(e.flags, bad),
            other => panic!("{other:?}"),
        }
    }
    let receipt = pc
        .setFlags(0x3f)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert_eq!(events::<PriceCaster::FlagsSet>(&receipt)[0].flags, 0x3f);
    assert_eq!(pc.flags().call().await.unwrap(), 0x3f);

    // Bits 6-7 from the constructor survive setFlags.
    let system = chain
        .deploy(guardian_set(3), 3, FLAG_TESTING | FLAG_NO_MERKLE)
        .await;
    assert_eq!(system.flags().call().await.unwrap(), 0xc0);
    let p = chain.provider(0);
    let system = PriceCaster::new(*system.address(), p);
    system
        .setFlags(0x05)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert_eq!(system.flags().call().await.unwrap(), 0xc5);

    // Bit 6: the BAD-proof fixture stores (Merkle checks off).
    let bad = fixture("pnau_gs3_2feeds_fuel_BAD_merkle_msg1.hex");
    let slots = alloc_for(&system, &bad, 1).await;
    let ids: Vec<u8> = slots.iter().map(|s| s.0).collect();
    store(&system, &bad, &ids).await;
    let msgs = Pnau::decode(&bad).messages();
    assert_slot(&system, ids[1], slots[1].1, slots[1].2, &msgs[1]).await;

    // Bit 7: signatures are not checked (a forged one passes, any guardian set index).
    let testing = chain.deploy(guardian_set(4), 4, FLAG_TESTING).await;
    let data = fixture("pnau_gs3_2feeds_fuel_valid.hex");
    let pnau = Pnau::decode(&data);
    let mut sigs = pnau.signatures.clone();
    sigs[0][40] ^= 1;
    let forged = pnau.with_signatures(&data, &sigs);
    let ids: Vec<u8> = alloc_for(&testing, &data, 1)
        .await
        .iter()
        .map(|s| s.0)
        .collect();
    store(&testing, &forged, &ids).await;
    // ... but the Merkle proofs still are.
    let fresh = chain.deploy(guardian_set(4), 4, FLAG_TESTING).await;
    let ids: Vec<u8> = alloc_for(&fresh, &bad, 1)
        .await
        .iter()
        .map(|s| s.0)
        .collect();
    assert!(matches!(
        store_reverts(&fresh, &bad, &ids).await,
        PriceCasterErrors::BadMerkleProof(_)
    ));
}

#[tokio::test]
async fn alloc_limits_reset_and_owner_only() {
    let chain = Chain::start();
    let pc = chain.deploy(guardian_set(4), 4, 0).await;
    let data = fixture("pnau_gs4_btc_c964_2feeds_devhub.hex");
    let slots = alloc_for(&pc, &data, 1).await;
    let ids: Vec<u8> = slots.iter().map(|s| s.0).collect();
    store(&pc, &data, &ids).await;

    match revert_of(pc.alloc(9, 20, B256::ZERO).call().await.unwrap_err()) {
        PriceCasterErrors::DecimalsTooLarge(e) => assert_eq!(e.decimals, 20),
        other => panic!("{other:?}"),
    }
    match revert_of(pc.readSlot(2).call().await.unwrap_err()) {
        PriceCasterErrors::SlotNotAllocated(e) => assert_eq!(e.slot, 2),
        other => panic!("{other:?}"),
    }

    // Not the owner: every write is refused with the caller named.
    let stranger = chain.node.address(1);
    let theirs = PriceCaster::new(*pc.address(), chain.provider(1));
    let errors = [
        theirs
            .store(Bytes::from(data.clone()), ids.clone())
            .call()
            .await
            .unwrap_err(),
        theirs.alloc(1, 8, B256::ZERO).call().await.unwrap_err(),
        theirs.reset().call().await.unwrap_err(),
        theirs.setFlags(1).call().await.unwrap_err(),
        theirs
            .setGuardianSet(guardian_set(3), 3)
            .call()
            .await
            .unwrap_err(),
        theirs.transferOwnership(stranger).call().await.unwrap_err(),
    ];
    for err in errors {
        match revert_of(err) {
            PriceCasterErrors::NotOwner(e) => assert_eq!(e.caller, stranger),
            other => panic!("{other:?}"),
        }
    }

    // Bad guardian sets.
    for keys in [
        vec![],
        vec![Address::ZERO],
        vec![guardian_set(4)[0], guardian_set(4)[0]],
    ] {
        assert!(matches!(
            revert_of(pc.setGuardianSet(keys, 9).call().await.unwrap_err()),
            PriceCasterErrors::BadGuardianSet(_)
        ));
    }

    // reset zeroes everything: the count, the slots and what alloc registered.
    let receipt = pc
        .reset()
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert_eq!(events::<PriceCaster::Reset>(&receipt).len(), 1);
    assert_eq!(pc.slotCount().call().await.unwrap(), 0);
    assert!(matches!(
        revert_of(pc.getSlot(0).call().await.unwrap_err()),
        PriceCasterErrors::SlotNotAllocated(_)
    ));
    // Raw storage: `_slots` starts at storage slot 3 (3 words a slot), `_config` after
    // its 255 slots (2 words a slot).
    let provider = chain.provider(0);
    for slot in 0..2u64 {
        let words = (0..3)
            .map(|w| 3 + slot * 3 + w)
            .chain((0..2).map(|w| 3 + 255 * 3 + slot * 2 + w));
        for word in words {
            let value = provider
                .get_storage_at(*pc.address(), U256::from(word))
                .await
                .unwrap();
            assert_eq!(value, U256::ZERO, "storage word {word}");
        }
    }
    let slot = alloc(&pc, 77, 8, B256::repeat_byte(7)).await;
    assert_eq!(slot, 0);
    assert_eq!(
        pc.readSlot(0).call().await.unwrap().to_vec(),
        [&77u64.to_be_bytes()[..], &[0u8; 84][..]].concat()
    );
    // The flags and guardian set survive a reset; the old update stores again.
    let slots = alloc_for(&pc, &data, 1).await;
    let ids: Vec<u8> = slots.iter().map(|s| s.0).collect();
    assert_eq!(ids, vec![1, 2]);
    store(&pc, &data, &ids).await;

    // Ownership moves.
    pc.transferOwnership(stranger)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert_eq!(pc.owner().call().await.unwrap(), stranger);
    theirs
        .setFlags(2)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert_eq!(pc.flags().call().await.unwrap(), 2);
}
