// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title PriceCaster
/// @notice An EVM port of the Algorand Pricecaster app: a linear space of 92-byte price
/// slots, filled by the owner with Pyth accumulator updates ("PNAU", Wormhole-Merkle) that
/// this contract verifies itself: the Wormhole VAA's guardian signatures against the
/// guardian set it keeps, the accepted emitter, and each message's keccak-160 Merkle proof
/// against the root in the VAA's "AUWV" payload.
///
/// Slot layout (92 bytes, big-endian, returned by `readSlot` and emitted by `Store`):
///
/// | offset | size | field                                        |
/// |--------|------|----------------------------------------------|
/// |      0 |    8 | asset_id (u64)                               |
/// |      8 |    8 | normalized_price (u64) = price*10^(12+e-d)   |
/// |     16 |    8 | price (i64, as Pyth gives it)                |
/// |     24 |    8 | confidence (u64)                             |
/// |     32 |    4 | exponent (i32)                               |
/// |     36 |    8 | ema_price (i64)                              |
/// |     44 |    8 | ema_confidence (u64)                         |
/// |     52 |    8 | publish_time (u64)                           |
/// |     60 |    8 | prev_publish_time (u64)                      |
/// |     68 |   24 | reserved, zero                               |
///
/// The system slot holds the entry count (u8, slots `0..count-1` are allocated) and the
/// config flags (u8): bit 7 = testing mode, bit 6 = Merkle verification disabled (both
/// fixed at construction), bits 0-5 free for the operator (`setFlags`).
///
/// @dev Storage: each price slot is kept as three words holding exactly the 92 bytes above
/// (word 2 is bytes 64..91 followed by 4 zero bytes), so `readSlot` is three loads and a
/// store writes three words that were built without reading them. A separate
/// `SlotConfig` word pair holds what `alloc` registered (asset id, decimals, Pyth price id).
///
/// Guardian sets: the current set and, after `setGuardianSet`, the previous one for 24 hours
/// (as Wormhole does), so updates signed just before a switch still verify. Any index may be
/// installed (the operator follows the Wormhole set; tests also switch backwards).
///
/// Testing mode (flag bit 7, only at construction) skips the guardian-set and signature
/// checks (the emitter, payload and Merkle proofs are still checked), so tests can feed
/// synthetic updates. It is visible in `flags()`; a production deployment passes 0.
contract PriceCaster {
    /// A price slot, decoded (see the layout table above).
    struct PriceSlot {
        uint64 assetId;
        uint64 normalizedPrice;
        int64 price;
        uint64 confidence;
        int32 exponent;
        int64 emaPrice;
        uint64 emaConfidence;
        uint64 publishTime;
        uint64 prevPublishTime;
    }

    /// What `alloc` registered for a slot (two storage words).
    struct SlotConfig {
        bytes32 priceId;
        uint64 assetId;
        uint8 decimals;
    }

    /// One signature-verified accumulator header, as parsed from the update.
    struct Header {
        bytes20 root;
        uint256 offset; // where the update count is
    }

    /// The fields of a Pyth PriceFeedMessage (type 0) we keep.
    struct Message {
        bytes32 feedId;
        int64 price;
        uint64 conf;
        int32 expo;
        uint64 publishTime;
        uint64 prevPublishTime;
        int64 emaPrice;
        uint64 emaConf;
    }

    /// Number of price slots (the entry count is a u8; 0xFF is `SKIP_SLOT`).
    uint256 public constant MAX_SLOTS = 255;
    /// In `store`'s `slots`, the update is verified but not stored (e.g. a TWAP message).
    uint8 public constant SKIP_SLOT = 0xFF;
    uint8 public constant MAX_DECIMALS = 19;
    uint8 public constant FLAG_TESTING = 0x80;
    uint8 public constant FLAG_NO_MERKLE = 0x40;
    uint8 public constant SYSTEM_FLAGS = FLAG_TESTING | FLAG_NO_MERKLE;
    /// How long the previous guardian set stays valid after `setGuardianSet`.
    uint256 public constant GUARDIAN_SET_GRACE = 24 hours;
    uint256 private constant SLOT_SIZE = 92;
    uint256 private constant PRICE_MESSAGE_SIZE = 85;

    /// The Wormhole emitter whose VAAs are accepted (Pythnet: chain 26, e101fa...aa71).
    uint16 public immutable emitterChain;
    bytes32 public immutable emitterAddress;

    // System slot, packed into one word with the owner.
    address public owner;
    uint8 private _count;
    uint8 private _flags;
    uint32 public guardianSetIndex;
    uint32 private _previousGuardianSetIndex;
    uint64 private _previousGuardianSetExpiry; // 0: there is no previous set

    mapping(uint32 index => address[] keys) private _guardianSets;
    bytes32[3][MAX_SLOTS] private _slots;
    SlotConfig[MAX_SLOTS] private _config;

    event SlotAllocated(uint8 indexed slot, uint64 indexed assetId, uint8 decimals, bytes32 priceId);
    /// A slot was written; `data` is its 92 bytes.
    event Store(uint8 indexed slot, bytes data);
    /// The normalized price is 0 (price 0, or it rounds down to 0): the slot is left alone.
    event NormPriceZero(uint8 indexed slot);
    /// The price is negative, which the u64 normalized price cannot hold: left alone.
    event NegativePrice(uint8 indexed slot);
    /// The update is not newer than what the slot holds: left alone.
    event PriceIgnoredOld(uint8 indexed slot);
    event FlagsSet(uint8 flags);
    event Reset();
    event GuardianSetChanged(uint32 indexed index, uint32 previousIndex);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    error NotOwner(address caller);
    error ZeroAddress();
    /// `setFlags` may only change bits 0-5; bits 6-7 are fixed at construction.
    error ReservedFlagBits(uint8 flags);
    error DecimalsTooLarge(uint8 decimals);
    error NoFreeSlot();
    error SlotNotAllocated(uint8 slot);
    /// Empty, longer than 255, or with a zero or repeated key.
    error BadGuardianSet();
    // Wire format.
    error Truncated();
    error TrailingData();
    error BadMagic();
    error UnsupportedVersion(uint8 major, uint8 minor);
    error UnsupportedProofType(uint8 proofType);
    error UnsupportedVaaVersion(uint8 version);
    error NotAccumulatorPayload();
    error UnsupportedPayloadType(uint8 payloadType);
    error UnsupportedMessageType(uint256 update, uint8 messageType);
    error SlotCountMismatch(uint256 updates, uint256 slots);
    // Verification.
    error WrongGuardianSet(uint32 index);
    error SignatureIndexesNotAscending();
    error GuardianIndexOutOfRange(uint8 index);
    error InvalidSignature(uint8 index);
    error NoQuorum(uint256 valid, uint256 needed);
    error WrongEmitter(uint16 chain, bytes32 emitter);
    error BadMerkleProof(uint256 update);
    error WrongPriceId(uint8 slot);
    error NormalizedPriceOverflow(uint8 slot);

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    /// @param guardians the guardian set's keys, in guardian-index order.
    /// @param flags_ the initial flags, bits 6-7 included (the only way to set them).
    constructor(
        address[] memory guardians,
        uint32 guardianSetIndex_,
        uint16 emitterChain_,
        bytes32 emitterAddress_,
        uint8 flags_
    ) {
        owner = msg.sender;
        emitterChain = emitterChain_;
        emitterAddress = emitterAddress_;
        _flags = flags_;
        _installGuardianSet(guardians, guardianSetIndex_);
        emit OwnershipTransferred(address(0), msg.sender);
        emit GuardianSetChanged(guardianSetIndex_, guardianSetIndex_);
    }

    // ----------------------------------------------------------------------------------
    // Readers

    /// The entry count: slots `0..slotCount()-1` are allocated.
    function slotCount() external view returns (uint8) {
        return _count;
    }

    function flags() external view returns (uint8) {
        return _flags;
    }

    /// The 92 bytes of an allocated slot.
    function readSlot(uint8 slot) external view returns (bytes memory) {
        _requireAllocated(slot);
        bytes32[3] storage w = _slots[slot];
        return abi.encodePacked(w[0], w[1], bytes28(w[2]));
    }

    /// An allocated slot, decoded.
    function getSlot(uint8 slot) external view returns (PriceSlot memory s) {
        _requireAllocated(slot);
        bytes32[3] storage w = _slots[slot];
        uint256 w0 = uint256(w[0]);
        uint256 w1 = uint256(w[1]);
        uint256 w2 = uint256(w[2]);
        s.assetId = uint64(w0 >> 192);
        s.normalizedPrice = uint64(w0 >> 128);
        s.price = int64(uint64(w0 >> 64));
        s.confidence = uint64(w0);
        s.exponent = int32(uint32(w1 >> 224));
        s.emaPrice = int64(uint64(w1 >> 160));
        s.emaConfidence = uint64(w1 >> 96);
        s.publishTime = uint64(w1 >> 32);
        s.prevPublishTime = uint64(((w1 & 0xffffffff) << 32) | (w2 >> 224));
    }

    /// What `alloc` registered for an allocated slot.
    function slotInfo(uint8 slot) external view returns (uint64 assetId, uint8 decimals, bytes32 priceId) {
        _requireAllocated(slot);
        SlotConfig storage c = _config[slot];
        return (c.assetId, c.decimals, c.priceId);
    }

    /// A guardian set's keys (empty if never installed) and when it stops being accepted
    /// (0: it is the current set, or no longer accepted at all when it is neither).
    function guardianSet(uint32 index) external view returns (address[] memory keys, uint64 expiresAt) {
        keys = _guardianSets[index];
        if (index != guardianSetIndex && index == _previousGuardianSetIndex) {
            expiresAt = _previousGuardianSetExpiry;
        }
    }

    // ----------------------------------------------------------------------------------
    // Owner operations

    /// Registers the next slot for `assetId`, normalized to `decimals` (at most 19), fed by
    /// the Pyth feed `priceId`.
    function alloc(uint64 assetId, uint8 decimals, bytes32 priceId) external onlyOwner returns (uint8 slot) {
        if (decimals > MAX_DECIMALS) revert DecimalsTooLarge(decimals);
        uint8 count = _count;
        if (count >= MAX_SLOTS) revert NoFreeSlot();
        slot = count;
        _config[slot] = SlotConfig({priceId: priceId, assetId: assetId, decimals: decimals});
        _slots[slot][0] = bytes32(uint256(assetId) << 192);
        _count = count + 1;
        emit SlotAllocated(slot, assetId, decimals, priceId);
    }

    /// Sets the operator flags (bits 0-5); bits 6-7 keep their construction value.
    function setFlags(uint8 newFlags) external onlyOwner {
        if (newFlags & SYSTEM_FLAGS != 0) revert ReservedFlagBits(newFlags);
        uint8 f = (_flags & SYSTEM_FLAGS) | newFlags;
        _flags = f;
        emit FlagsSet(f);
    }

    /// Zeroes every slot and the entry count (the flags and guardian sets stay).
    function reset() external onlyOwner {
        uint256 count = _count;
        for (uint256 i; i < count; ++i) {
            delete _slots[i];
            delete _config[i];
        }
        _count = 0;
        emit Reset();
    }

    /// Installs guardian set `index`; the current one stays valid for 24 hours more.
    /// Re-installing the current index replaces its keys and leaves the previous set alone.
    function setGuardianSet(address[] calldata keys, uint32 index) external onlyOwner {
        uint32 current = guardianSetIndex;
        if (index != current) {
            _previousGuardianSetIndex = current;
            _previousGuardianSetExpiry = uint64(block.timestamp + GUARDIAN_SET_GRACE);
        }
        _installGuardianSet(keys, index);
        emit GuardianSetChanged(index, current);
    }

    function transferOwnership(address newOwner) external onlyOwner {
        if (newOwner == address(0)) revert ZeroAddress();
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }

    /// Verifies a Pyth accumulator update and stores update `i` in slot `slots[i]`
    /// (`SKIP_SLOT` to verify it only). See the contract notes for the checks.
    function store(bytes calldata updateData, uint8[] calldata slots) external onlyOwner {
        Header memory h = _parseHeader(updateData);
        uint256 off = h.offset;
        _need(off + 1, updateData.length);
        uint256 updates = _uint(updateData, off, 1);
        ++off;
        if (slots.length != updates) revert SlotCountMismatch(updates, slots.length);
        bool checkProofs = _flags & FLAG_NO_MERKLE == 0;
        for (uint256 i; i < updates; ++i) {
            uint256 messageStart;
            uint256 messageLen;
            (messageStart, messageLen, off) = _nextUpdate(updateData, off, i, h.root, checkProofs);
            uint8 slot = slots[i];
            if (slot != SKIP_SLOT) _storeMessage(updateData, messageStart, messageLen, i, slot);
        }
        if (off != updateData.length) revert TrailingData();
    }

    // ----------------------------------------------------------------------------------
    // Internals

    function _requireAllocated(uint8 slot) private view {
        if (slot >= _count) revert SlotNotAllocated(slot);
    }

    function _installGuardianSet(address[] memory keys, uint32 index) private {
        uint256 n = keys.length;
        if (n == 0 || n > 255) revert BadGuardianSet();
        for (uint256 i; i < n; ++i) {
            // A zero key would accept any signature ecrecover fails on; a repeated key
            // would let one guardian count twice.
            if (keys[i] == address(0)) revert BadGuardianSet();
            for (uint256 j; j < i; ++j) {
                if (keys[j] == keys[i]) revert BadGuardianSet();
            }
        }
        _guardianSets[index] = keys;
        guardianSetIndex = index;
    }

    function _need(uint256 end, uint256 limit) private pure {
        if (end > limit) revert Truncated();
    }

    /// The `size`-byte big-endian unsigned integer at `pos` in `data` (size 1..32). The
    /// caller has checked `pos + size <= data.length`.
    /// @dev One CALLDATALOAD and a shift, instead of copying a slice to memory: the update
    /// is read field by field, ~60 fields for two feeds.
    function _uint(bytes calldata data, uint256 pos, uint256 size) private pure returns (uint256 v) {
        assembly {
            v := shr(sub(256, shl(3, size)), calldataload(add(data.offset, pos)))
        }
    }

    function _bytes32(bytes calldata data, uint256 pos) private pure returns (bytes32 v) {
        assembly {
            v := calldataload(add(data.offset, pos))
        }
    }

    /// Parses the PNAU header and the VAA, verifies the VAA, and returns the Merkle root and
    /// where the update count is.
    function _parseHeader(bytes calldata data) private view returns (Header memory h) {
        uint256 len = data.length;
        _need(7, len);
        if (_uint(data, 0, 4) != 0x504e4155) revert BadMagic(); // "PNAU"
        uint8 major = uint8(_uint(data, 4, 1));
        if (major != 1) revert UnsupportedVersion(major, uint8(_uint(data, 5, 1)));
        // Minor versions only append to the trailing header, which we skip.
        uint256 off = 7 + _uint(data, 6, 1);
        _need(off + 3, len);
        uint8 proofType = uint8(_uint(data, off, 1));
        if (proofType != 0) revert UnsupportedProofType(proofType); // 0 = Wormhole Merkle
        uint256 vaaLen = _uint(data, off + 1, 2);
        uint256 vaaStart = off + 3;
        uint256 vaaEnd = vaaStart + vaaLen;
        _need(vaaEnd, len);
        h.root = _verifyVaa(data, vaaStart, vaaEnd);
        h.offset = vaaEnd;
    }

    /// Checks a Wormhole VAA v1 at `data[start:end]` and returns the AUWV Merkle root.
    function _verifyVaa(bytes calldata data, uint256 start, uint256 end) private view returns (bytes20 root) {
        _need(start + 6, end);
        uint8 version = uint8(_uint(data, start, 1));
        if (version != 1) revert UnsupportedVaaVersion(version);
        uint256 body = start + 6 + 66 * _uint(data, start + 5, 1);
        root = _checkBody(data, body, end);
        if (_flags & FLAG_TESTING == 0) _verifySignatures(data, start, body, end);
    }

    /// Checks the VAA body at `data[body:end]` (timestamp u32, nonce u32, emitter chain u16,
    /// emitter address, sequence u64, consistency u8, payload) and its AUWV payload (magic,
    /// update type u8, slot u64, ring size u32, root bytes20); returns the root.
    function _checkBody(bytes calldata data, uint256 body, uint256 end) private view returns (bytes20) {
        uint256 payload = body + 51;
        _need(payload + 37, end);
        uint16 chain = uint16(_uint(data, body + 8, 2));
        bytes32 emitter = _bytes32(data, body + 10);
        if (chain != emitterChain || emitter != emitterAddress) revert WrongEmitter(chain, emitter);
        if (_uint(data, payload, 4) != 0x41555756) revert NotAccumulatorPayload(); // "AUWV"
        uint8 payloadType = uint8(_uint(data, payload + 4, 1));
        if (payloadType != 0) revert UnsupportedPayloadType(payloadType);
        return bytes20(_bytes32(data, payload + 17));
    }

    /// Checks the signatures of the VAA at `data[start:end]` whose body starts at `body`:
    /// a guardian set we accept, strictly ascending guardian indexes, each signature by its
    /// guardian over keccak256(keccak256(body)), and a quorum of floor(2n/3)+1.
    function _verifySignatures(bytes calldata data, uint256 start, uint256 body, uint256 end) private view {
        uint32 setIndex = uint32(_uint(data, start + 1, 4));
        if (
            setIndex != guardianSetIndex
                && (setIndex != _previousGuardianSetIndex || block.timestamp >= _previousGuardianSetExpiry)
        ) revert WrongGuardianSet(setIndex);
        address[] storage keys = _guardianSets[setIndex];
        uint256 sigCount = _uint(data, start + 5, 1);
        bytes32 digest = keccak256(abi.encodePacked(keccak256(data[body:end])));
        uint256 last;
        for (uint256 i; i < sigCount; ++i) {
            (uint8 index, address signer) = _recover(data, start + 6 + 66 * i, digest);
            if (i != 0 && index <= last) revert SignatureIndexesNotAscending();
            last = index;
            if (index >= keys.length) revert GuardianIndexOutOfRange(index);
            // Keys are never zero, so a failed recovery (zero) never matches.
            if (signer != keys[index]) revert InvalidSignature(index);
        }
        uint256 needed = (2 * keys.length) / 3 + 1;
        if (sigCount < needed) revert NoQuorum(sigCount, needed);
    }

    /// The guardian index of the signature at `p` (index u8, r, s, v u8) and who signed
    /// `digest` with it (zero when recovery fails).
    function _recover(bytes calldata data, uint256 p, bytes32 digest)
        private
        pure
        returns (uint8 index, address signer)
    {
        index = uint8(_uint(data, p, 1));
        uint8 v = uint8(_uint(data, p + 65, 1));
        signer = ecrecover(digest, v < 27 ? v + 27 : v, _bytes32(data, p + 1), _bytes32(data, p + 33));
    }

    /// Reads update `i` at `off` (message len u16, message, proof len u8, 20-byte nodes),
    /// checks its Merkle proof against `root`, and returns the message and the next offset.
    function _nextUpdate(bytes calldata data, uint256 off, uint256 i, bytes20 root, bool checkProof)
        private
        pure
        returns (uint256 messageStart, uint256 messageLen, uint256 next)
    {
        uint256 len = data.length;
        _need(off + 2, len);
        messageLen = _uint(data, off, 2);
        messageStart = off + 2;
        uint256 proofAt = messageStart + messageLen;
        _need(proofAt + 1, len);
        uint256 nodes = _uint(data, proofAt, 1);
        next = proofAt + 1 + 20 * nodes;
        _need(next, len);
        if (checkProof && _merkleRoot(data, messageStart, messageLen, proofAt + 1, nodes) != root) {
            revert BadMerkleProof(i);
        }
    }

    /// The keccak-160 Merkle root of a message and its proof: leaf = keccak(0x00 ‖ message),
    /// node = keccak(0x01 ‖ min(a, b) ‖ max(a, b)), each truncated to its first 20 bytes.
    function _merkleRoot(bytes calldata data, uint256 messageStart, uint256 messageLen, uint256 proof, uint256 nodes)
        private
        pure
        returns (bytes20 h)
    {
        // Hand-written so the message is hashed straight from calldata and each node in the
        // scratch space, without allocating a `bytes` per hash.
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore8(ptr, 0x00)
            calldatacopy(add(ptr, 1), add(data.offset, messageStart), messageLen)
            let mask := not(0xffffffffffffffffffffffff) // the top 20 bytes
            h := and(keccak256(ptr, add(messageLen, 1)), mask)
            let p := add(data.offset, proof)
            for { let k := 0 } lt(k, nodes) { k := add(k, 1) } {
                let sibling := and(calldataload(add(p, mul(k, 20))), mask)
                let a := h
                let b := sibling
                if gt(a, b) {
                    a := sibling
                    b := h
                }
                mstore8(0x00, 0x01)
                mstore(0x01, a)
                mstore(0x15, b)
                h := and(keccak256(0x00, 0x29), mask)
            }
        }
    }

    function _parseMessage(bytes calldata data, uint256 pos, uint256 len, uint256 i)
        private
        pure
        returns (Message memory m)
    {
        _need(1, len);
        uint8 messageType = uint8(_uint(data, pos, 1));
        if (messageType != 0) revert UnsupportedMessageType(i, messageType);
        // Longer messages are accepted and their tail ignored: Pyth appends fields that way.
        _need(PRICE_MESSAGE_SIZE, len);
        m.feedId = _bytes32(data, pos + 1);
        m.price = int64(uint64(_uint(data, pos + 33, 8)));
        m.conf = uint64(_uint(data, pos + 41, 8));
        m.expo = int32(uint32(_uint(data, pos + 49, 4)));
        m.publishTime = uint64(_uint(data, pos + 53, 8));
        m.prevPublishTime = uint64(_uint(data, pos + 61, 8));
        m.emaPrice = int64(uint64(_uint(data, pos + 69, 8)));
        m.emaConf = uint64(_uint(data, pos + 77, 8));
    }

    function _storeMessage(bytes calldata data, uint256 pos, uint256 len, uint256 i, uint8 slot) private {
        _requireAllocated(slot);
        Message memory m = _parseMessage(data, pos, len, i);
        SlotConfig storage c = _config[slot];
        if (c.priceId != m.feedId) revert WrongPriceId(slot);
        if (m.price < 0) {
            emit NegativePrice(slot);
            return;
        }
        uint64 normalized = _normalize(uint64(m.price), m.expo, c.decimals, slot);
        if (normalized == 0) {
            emit NormPriceZero(slot);
            return;
        }
        bytes32[3] storage w = _slots[slot];
        uint256 w1 = uint256(w[1]);
        if (m.publishTime <= uint64(w1 >> 32)) {
            emit PriceIgnoredOld(slot);
            return;
        }
        bytes32 w0 = bytes32(
            (uint256(c.assetId) << 192) | (uint256(normalized) << 128) | (uint256(uint64(m.price)) << 64)
                | uint256(m.conf)
        );
        bytes32 nw1 = bytes32(
            (uint256(uint32(m.expo)) << 224) | (uint256(uint64(m.emaPrice)) << 160) | (uint256(m.emaConf) << 96)
                | (uint256(m.publishTime) << 32) | uint256(m.prevPublishTime >> 32)
        );
        bytes32 w2 = bytes32(uint256(m.prevPublishTime & 0xffffffff) << 224);
        w[0] = w0;
        w[1] = nw1;
        w[2] = w2;
        emit Store(slot, abi.encodePacked(w0, nw1, bytes28(w2)));
    }

    /// `price * 10^(12 + expo - decimals)`, exactly (truncated when the power is negative);
    /// reverts `NormalizedPriceOverflow(slot)` when it does not fit in a u64.
    function _normalize(uint64 price, int32 expo, uint8 decimals, uint8 slot) private pure returns (uint64) {
        if (price == 0) return 0;
        int256 k = 12 + int256(expo) - int256(uint256(decimals));
        uint256 p = price;
        uint256 r;
        if (k >= 0) {
            // price >= 1, so 10^20 and above cannot fit; below, price < 2^64 times 10^19
            // stays far below 2^256.
            if (k > 19) revert NormalizedPriceOverflow(slot);
            r = p * 10 ** uint256(k);
        } else {
            // price < 2^64 < 10^20, so dividing by 10^20 or more gives 0.
            r = k < -19 ? 0 : p / 10 ** uint256(-k);
        }
        if (r > type(uint64).max) revert NormalizedPriceOverflow(slot);
        return uint64(r);
    }
}
