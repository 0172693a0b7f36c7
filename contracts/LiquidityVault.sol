// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// The ERC-20 calls the vault makes on its wrapped BTC.
interface ILiquidityVaultToken {
    function decimals() external view returns (uint8);
    function balanceOf(address account) external view returns (uint256);
    function transfer(address to, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
}

/// @title LiquidityVault
/// @notice BitHedge's liquidity pool vault (`liquidity-pool.clar`, "Liquidity Pool
/// Specification (Hybrid MVP)") ported from Stacks to EVM: native ETH in the place of STX and
/// an 8-decimal ERC-20 wrapped BTC in the place of sBTC. On chain light, off chain heavy: the
/// vault holds the pooled funds and tracks only the totals per token (and, as the spec's
/// optional tracking, the totals locked for policies) and, not in the spec, what the
/// backend approved each provider to withdraw; every provider's balance, tier, yield and
/// health lives off chain, in the desk that drives the vault with the backend key.
///
/// @dev A token is named by its address: `address(0)` is ETH, `wbtcToken` (set once by the
/// admin) is WBTC; anything else is `INVALID_TOKEN`. Amounts are base units (wei, sats).
///
/// Who may call what: anyone deposits for themselves; a provider withdraws for themselves,
/// but only what the backend approved for them (`approveWithdrawal`, after the desk checked
/// the provider's own maximum off chain; the vault has no balances per provider, so without
/// an approval any address could take the whole pool: a deliberate deviation from the
/// spec, whose Clarity vault trusted the prepared transaction); only `backendPrincipal`
/// approves withdrawals, locks, releases and settles; only `admin` (the deployer, fixed)
/// sets the backend principal and, once, the WBTC token.
///
/// Every failure reverts with `PoolError(code)`, the spec's error codes:
/// 200 NOT_AUTHORIZED, 201 INSUFFICIENT_BALANCE, 202 INVALID_TOKEN, 203 TRANSFER_FAILED,
/// 204 ALREADY_INITIALIZED, 205 LOCK_EXCEEDS_AVAILABLE, 206 UNLOCK_EXCEEDS_LOCKED; and a call
/// made while another one of this contract's state-changing functions is running reverts
/// with `Reentrant()`.
///
/// Invariant: `locked <= total` per token, so `available = total - locked` never
/// underflows. Funds that reach the vault other than through `depositFunds` (a token
/// `transfer`, a forced ETH send) are not counted and stay in it; plain ETH transfers revert.
contract LiquidityVault {
    uint256 private constant ERR_NOT_AUTHORIZED = 200;
    uint256 private constant ERR_INSUFFICIENT_BALANCE = 201;
    uint256 private constant ERR_INVALID_TOKEN = 202;
    uint256 private constant ERR_TRANSFER_FAILED = 203;
    uint256 private constant ERR_ALREADY_INITIALIZED = 204;
    uint256 private constant ERR_LOCK_EXCEEDS_AVAILABLE = 205;
    uint256 private constant ERR_UNLOCK_EXCEEDS_LOCKED = 206;

    /// The token argument that means native ETH.
    address private constant ETH = address(0);

    /// `contract-admin`: the deployer.
    address public immutable admin;
    address private _backendPrincipal;
    address private _wbtcToken;
    uint256 private _totalEthBalance;
    uint256 private _totalWbtcBalance;
    uint256 private _totalEthLocked;
    uint256 private _totalWbtcLocked;
    bool private _entered;
    /// What each provider may still withdraw of each token, as the backend approved it.
    mapping(address provider => mapping(address token => uint256)) private _withdrawalAllowance;

    /// `funds-deposited`: `token` is `address(0)` for ETH.
    event FundsDeposited(address indexed depositor, uint256 amount, address indexed token);
    /// `funds-withdrawn`.
    event FundsWithdrawn(address indexed withdrawer, uint256 amount, address indexed token);
    /// Not in the spec: the backend set what `provider` may withdraw of `token` to `amount`
    /// (0 revokes).
    event WithdrawalApproved(address indexed provider, uint256 amount, address indexed token);
    /// `collateral-locked`: the policies the aggregate `amount` was locked for.
    event CollateralLocked(uint256[] policyIds, uint256 amount, address indexed token);
    /// `collateral-released`.
    event CollateralReleased(uint256[] policyIds, uint256 amount, address indexed token);
    /// `settlement-paid`.
    event SettlementPaid(uint256 indexed policyId, address indexed buyer, uint256 amount, address indexed token);
    /// Not in the spec (Clarity's setters print nothing): the admin changed the backend.
    event BackendPrincipalSet(address indexed previous, address indexed backend);
    /// Not in the spec: the admin set the WBTC token, once.
    event WbtcTokenSet(address indexed token);

    /// Clarity's `(err uint)`: one of the codes 200 to 206 above.
    error PoolError(uint256 code);
    /// A state-changing call re-entered the vault (from an ETH receiver or a token).
    error Reentrant();

    modifier nonReentrant() {
        if (_entered) revert Reentrant();
        _entered = true;
        _;
        _entered = false;
    }

    modifier onlyAdmin() {
        if (msg.sender != admin) revert PoolError(ERR_NOT_AUTHORIZED);
        _;
    }

    modifier onlyBackend() {
        if (msg.sender != _backendPrincipal) revert PoolError(ERR_NOT_AUTHORIZED);
        _;
    }

    /// The deployer is the admin and, until `setBackendPrincipal`, the backend principal
    /// (both `tx-sender` in the Clarity original).
    constructor() {
        admin = msg.sender;
        _backendPrincipal = msg.sender;
    }

    // ------------------------------------------------------------------------------------
    // Admin

    /// `set-backend-principal`: the key the off-chain backend signs lock, release and
    /// settlement with. Admin only; may be changed again (key rotation). The zero address
    /// disables the backend functions until a real one is set.
    function setBackendPrincipal(address backend) external onlyAdmin nonReentrant {
        address previous = _backendPrincipal;
        _backendPrincipal = backend;
        emit BackendPrincipalSet(previous, backend);
    }

    /// `set-sbtc-token-principal`: the WBTC contract, once (`ALREADY_INITIALIZED` after).
    /// Admin only. It must be a contract whose `decimals()` is 8, else `INVALID_TOKEN`.
    function setWbtcToken(address token) external onlyAdmin nonReentrant {
        if (_wbtcToken != address(0)) revert PoolError(ERR_ALREADY_INITIALIZED);
        if (token == ETH || token.code.length == 0) revert PoolError(ERR_INVALID_TOKEN);
        try ILiquidityVaultToken(token).decimals() returns (uint8 decimals) {
            if (decimals != 8) revert PoolError(ERR_INVALID_TOKEN);
        } catch {
            revert PoolError(ERR_INVALID_TOKEN);
        }
        _wbtcToken = token;
        emit WbtcTokenSet(token);
    }

    // ------------------------------------------------------------------------------------
    // Providers (user-signed, prepared off chain)

    /// `deposit-funds`: moves `amount` of `token` from the caller into the pool. ETH:
    /// `msg.value` must be exactly `amount`. WBTC: `msg.value` must be 0, the caller has
    /// approved the vault, and the vault's balance must grow by exactly `amount` (a token
    /// that takes a fee or lies about the transfer is refused). Otherwise, and for an
    /// `amount` of 0 (which a Clarity transfer refuses too), `TRANSFER_FAILED`.
    function depositFunds(uint256 amount, address token) external payable nonReentrant {
        bool isEth = _requireToken(token);
        if (msg.value != (isEth ? amount : 0) || amount == 0) revert PoolError(ERR_TRANSFER_FAILED);
        if (isEth) {
            _totalEthBalance += amount;
            emit FundsDeposited(msg.sender, amount, token);
            return;
        }
        uint256 before = _wbtcBalance();
        _totalWbtcBalance += amount;
        emit FundsDeposited(msg.sender, amount, token);
        _tokenCall(abi.encodeCall(ILiquidityVaultToken.transferFrom, (msg.sender, address(this), amount)));
        if (_wbtcBalance() != before + amount) revert PoolError(ERR_TRANSFER_FAILED);
    }

    /// `withdraw-funds`: pays `amount` of `token` out of the pool to the caller. The vault
    /// knows no provider balances: the off-chain side checks the provider's own maximum and
    /// then the backend approves the withdrawal (`approveWithdrawal`). On chain, `amount`
    /// must not exceed the caller's approval for `token` (`NOT_AUTHORIZED`; the approval goes
    /// down by `amount`) nor what is not locked for policies (`total - locked`,
    /// `INSUFFICIENT_BALANCE`), and a payout the caller or the token refuses is
    /// `TRANSFER_FAILED` (as is an `amount` of 0).
    function withdrawFunds(uint256 amount, address token) external nonReentrant {
        bool isEth = _requireToken(token);
        if (amount == 0) revert PoolError(ERR_TRANSFER_FAILED);
        uint256 allowance = _withdrawalAllowance[msg.sender][token];
        if (amount > allowance) revert PoolError(ERR_NOT_AUTHORIZED);
        if (amount > _available(isEth)) revert PoolError(ERR_INSUFFICIENT_BALANCE);
        unchecked {
            _withdrawalAllowance[msg.sender][token] = allowance - amount;
        }
        if (isEth) {
            _totalEthBalance -= amount;
        } else {
            _totalWbtcBalance -= amount;
        }
        emit FundsWithdrawn(msg.sender, amount, token);
        _pay(isEth, msg.sender, amount);
    }

    // ------------------------------------------------------------------------------------
    // Backend

    /// Not in the spec: sets (does not add to) what `provider` may withdraw of `token` to
    /// `amount`, which the desk approves after checking the provider's maximum off chain; 0
    /// revokes. Each `withdrawFunds` spends its amount of it. No funds move, and nothing is
    /// checked against the totals (`withdrawFunds` does that). Backend only; `INVALID_TOKEN`
    /// for a token other than ETH and WBTC.
    function approveWithdrawal(address provider, uint256 amount, address token) external onlyBackend nonReentrant {
        _requireToken(token);
        _withdrawalAllowance[provider][token] = amount;
        emit WithdrawalApproved(provider, amount, token);
    }

    /// `lock-collateral-aggregate`: marks `amount` of `token` as locked for `policyIds`
    /// (the desk keeps which provider backs what). No funds move. Backend only;
    /// `LOCK_EXCEEDS_AVAILABLE` when `amount > total - locked`.
    function lockCollateralAggregate(uint256[] calldata policyIds, uint256 amount, address token)
        external
        onlyBackend
        nonReentrant
    {
        bool isEth = _requireToken(token);
        if (amount > _available(isEth)) revert PoolError(ERR_LOCK_EXCEEDS_AVAILABLE);
        if (isEth) {
            _totalEthLocked += amount;
        } else {
            _totalWbtcLocked += amount;
        }
        emit CollateralLocked(policyIds, amount, token);
    }

    /// `release-collateral-aggregate`: unlocks `amount` of `token` (policies expired or
    /// settled), available for withdrawal again. No funds move. Backend only;
    /// `UNLOCK_EXCEEDS_LOCKED` when `amount > locked`.
    function releaseCollateralAggregate(uint256[] calldata policyIds, uint256 amount, address token)
        external
        onlyBackend
        nonReentrant
    {
        bool isEth = _requireToken(token);
        uint256 locked = isEth ? _totalEthLocked : _totalWbtcLocked;
        if (amount > locked) revert PoolError(ERR_UNLOCK_EXCEEDS_LOCKED);
        unchecked {
            if (isEth) {
                _totalEthLocked = locked - amount;
            } else {
                _totalWbtcLocked = locked - amount;
            }
        }
        emit CollateralReleased(policyIds, amount, token);
    }

    /// `settle-policy`: pays an in-the-money policy's `amount` of `token` to `buyer` out of
    /// the pool. Backend only. `amount` must not exceed the total (`INSUFFICIENT_BALANCE`);
    /// locked or not, the payout comes out of the pool's collateral. The total goes down by
    /// `amount` and the locked total by as much of it as is locked (`min(amount, locked)`):
    /// a payout spends the collateral locked for the policy first, so `locked <= total`
    /// holds, and the desk releases the rest of the policy's lock afterwards. A zero
    /// `buyer`, an `amount` of 0 or a payout the buyer or the token refuses is
    /// `TRANSFER_FAILED`.
    function settlePolicy(uint256 policyId, address buyer, uint256 amount, address token)
        external
        onlyBackend
        nonReentrant
    {
        bool isEth = _requireToken(token);
        if (buyer == address(0) || amount == 0) revert PoolError(ERR_TRANSFER_FAILED);
        uint256 total = isEth ? _totalEthBalance : _totalWbtcBalance;
        if (amount > total) revert PoolError(ERR_INSUFFICIENT_BALANCE);
        uint256 locked = isEth ? _totalEthLocked : _totalWbtcLocked;
        uint256 unlocked = amount < locked ? amount : locked;
        unchecked {
            if (isEth) {
                _totalEthBalance = total - amount;
                _totalEthLocked = locked - unlocked;
            } else {
                _totalWbtcBalance = total - amount;
                _totalWbtcLocked = locked - unlocked;
            }
        }
        emit SettlementPaid(policyId, buyer, amount, token);
        _pay(isEth, buyer, amount);
    }

    // ------------------------------------------------------------------------------------
    // Readers

    /// `get-total-stx-balance`: wei held for the pool.
    function getTotalEthBalance() external view returns (uint256) {
        return _totalEthBalance;
    }

    /// `get-total-sbtc-balance`: sats held for the pool.
    function getTotalWbtcBalance() external view returns (uint256) {
        return _totalWbtcBalance;
    }

    /// `get-total-stx-locked`.
    function getTotalEthLocked() external view returns (uint256) {
        return _totalEthLocked;
    }

    /// `get-total-sbtc-locked`.
    function getTotalWbtcLocked() external view returns (uint256) {
        return _totalWbtcLocked;
    }

    /// `get-sbtc-token-principal`: the zero address until set.
    function getWbtcToken() external view returns (address) {
        return _wbtcToken;
    }

    /// `get-backend-principal`.
    function getBackendPrincipal() external view returns (address) {
        return _backendPrincipal;
    }

    /// The total held for `token` (`address(0)` ETH, or the WBTC token; else `INVALID_TOKEN`).
    function totalBalance(address token) external view returns (uint256) {
        return _requireToken(token) ? _totalEthBalance : _totalWbtcBalance;
    }

    /// The total locked for policies in `token`.
    function totalLocked(address token) external view returns (uint256) {
        return _requireToken(token) ? _totalEthLocked : _totalWbtcLocked;
    }

    /// `total - locked` for `token`: what withdrawals and new locks may take.
    function availableBalance(address token) external view returns (uint256) {
        return _available(_requireToken(token));
    }

    /// What `provider` may still withdraw of `token` (approved by the backend, less what it
    /// has withdrawn since); `INVALID_TOKEN` for a token other than ETH and WBTC.
    function withdrawalAllowance(address provider, address token) external view returns (uint256) {
        _requireToken(token);
        return _withdrawalAllowance[provider][token];
    }

    // ------------------------------------------------------------------------------------
    // Internals

    /// Whether `token` is ETH (true) or WBTC (false); anything else reverts `INVALID_TOKEN`.
    function _requireToken(address token) private view returns (bool isEth) {
        if (token == ETH) return true;
        if (token != _wbtcToken) revert PoolError(ERR_INVALID_TOKEN);
        // `_wbtcToken` is not zero here: `token` is not.
        return false;
    }

    function _available(bool isEth) private view returns (uint256) {
        unchecked {
            // locked <= total always.
            return isEth ? _totalEthBalance - _totalEthLocked : _totalWbtcBalance - _totalWbtcLocked;
        }
    }

    /// Sends `amount` of ETH or WBTC to `to`, or reverts `TRANSFER_FAILED`.
    function _pay(bool isEth, address to, uint256 amount) private {
        if (isEth) {
            (bool ok,) = to.call{value: amount}("");
            if (!ok) revert PoolError(ERR_TRANSFER_FAILED);
        } else {
            _tokenCall(abi.encodeCall(ILiquidityVaultToken.transfer, (to, amount)));
        }
    }

    /// A WBTC call that must succeed and, if it returns anything, return true; otherwise
    /// `TRANSFER_FAILED` (the token's own revert reason is not passed on, as the Clarity
    /// original maps every failed transfer to its error code).
    function _tokenCall(bytes memory data) private {
        (bool ok, bytes memory ret) = _wbtcToken.call(data);
        if (!ok || (ret.length != 0 && (ret.length != 32 || abi.decode(ret, (uint256)) != 1))) {
            revert PoolError(ERR_TRANSFER_FAILED);
        }
    }

    /// The vault's WBTC balance, or `TRANSFER_FAILED` when the token cannot say.
    function _wbtcBalance() private view returns (uint256) {
        (bool ok, bytes memory ret) = _wbtcToken.staticcall(abi.encodeCall(ILiquidityVaultToken.balanceOf, (address(this))));
        if (!ok || ret.length != 32) revert PoolError(ERR_TRANSFER_FAILED);
        return abi.decode(ret, (uint256));
    }
}
