// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

// Test-only helpers for `tests/liquidity_vault.rs`: the hostile counterparts the vault must
// survive. Never deployed by the devnet.

import {LiquidityVault} from "./LiquidityVault.sol";

/// @title VaultFaultyToken
/// @notice An ERC-20 that misbehaves on demand. `mode` (anyone sets it): 0 a normal token;
/// 1 `transfer`/`transferFrom` return false and move nothing; 2 they revert; 3 they return
/// true and move nothing; 4 they keep a fee of one base unit; 5 `balanceOf` reverts; 6 they
/// move the tokens and return nothing (as USDT does). `mint` is open to anyone.
contract VaultFaultyToken {
    uint8 public constant NORMAL = 0;
    uint8 public constant RETURN_FALSE = 1;
    uint8 public constant REVERT = 2;
    uint8 public constant NO_MOVE = 3;
    uint8 public constant FEE = 4;
    uint8 public constant BALANCE_REVERTS = 5;
    uint8 public constant NO_RETURN = 6;

    uint8 public immutable decimals;
    uint8 public mode;
    uint256 public totalSupply;
    mapping(address account => uint256) private _balances;
    mapping(address holder => mapping(address spender => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor(uint8 decimals_) {
        decimals = decimals_;
    }

    function balanceOf(address account) external view returns (uint256) {
        require(mode != BALANCE_REVERTS, "VaultFaultyToken: no balance");
        return _balances[account];
    }

    function setMode(uint8 mode_) external {
        mode = mode_;
    }

    function mint(address to, uint256 amount) external {
        totalSupply += amount;
        _balances[to] += amount;
        emit Transfer(address(0), to, amount);
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transfer(address to, uint256 value) external returns (bool) {
        return _transfer(msg.sender, to, value);
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        require(allowance[from][msg.sender] >= value, "VaultFaultyToken: allowance");
        allowance[from][msg.sender] -= value;
        return _transfer(from, to, value);
    }

    function _transfer(address from, address to, uint256 value) private returns (bool) {
        uint8 m = mode;
        if (m == RETURN_FALSE) return false;
        if (m == REVERT) revert("VaultFaultyToken: refused");
        if (m == NO_MOVE) return true;
        require(_balances[from] >= value, "VaultFaultyToken: balance");
        uint256 fee = m == FEE && value > 0 ? 1 : 0;
        _balances[from] -= value;
        _balances[to] += value - fee;
        totalSupply -= fee;
        emit Transfer(from, to, value - fee);
        if (m == NO_RETURN) {
            assembly {
                return(0, 0)
            }
        }
        return true;
    }
}

/// @title VaultRejectingReceiver
/// @notice A provider (or policy buyer) whose address refuses ETH: it deposits and
/// withdraws through the vault itself (a vault revert is passed on as is), and its
/// `receive` always reverts.
contract VaultRejectingReceiver {
    LiquidityVault public immutable vault;

    constructor(address vault_) {
        vault = LiquidityVault(vault_);
    }

    function deposit() external payable {
        vault.depositFunds{value: msg.value}(msg.value, address(0));
    }

    function withdraw(uint256 amount, address token) external {
        vault.withdrawFunds(amount, token);
    }

    receive() external payable {
        revert("VaultRejectingReceiver: no ETH");
    }
}

/// @title VaultReentrantReceiver
/// @notice A provider, policy buyer or (made so by the admin) backend that calls back into
/// the vault while the vault pays it ETH. `arm(data, propagate)` sets the call its `receive`
/// makes, once per arming; it records whether that call succeeded and what it reverted with,
/// and passes the revert on when `propagate`.
contract VaultReentrantReceiver {
    LiquidityVault public immutable vault;
    bytes public reentryCall;
    bool public propagate;
    bool public armed;
    /// Set by the last re-entry attempt.
    bool public attempted;
    bool public reentrySucceeded;
    bytes public reentryRevert;
    uint256 public received;

    constructor(address vault_) {
        vault = LiquidityVault(vault_);
    }

    function arm(bytes calldata data, bool propagate_) external {
        reentryCall = data;
        propagate = propagate_;
        armed = true;
        attempted = false;
        reentrySucceeded = false;
        delete reentryRevert;
    }

    function deposit() external payable {
        vault.depositFunds{value: msg.value}(msg.value, address(0));
    }

    function withdraw(uint256 amount, address token) external {
        vault.withdrawFunds(amount, token);
    }

    function settle(uint256 policyId, address buyer, uint256 amount, address token) external {
        vault.settlePolicy(policyId, buyer, amount, token);
    }

    receive() external payable {
        received += msg.value;
        if (!armed) return;
        armed = false;
        attempted = true;
        (bool ok, bytes memory ret) = address(vault).call(reentryCall);
        reentrySucceeded = ok;
        reentryRevert = ret;
        if (!ok && propagate) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
    }
}
