// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// The slice of ERC-20 the margin contracts move (`MarginModule` imports it too).
interface IMarginToken {
    function transfer(address to, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
    function approve(address spender, uint256 value) external returns (bool);
}

/// @title MarginOracle
/// @notice The devnet stand-in for the Dex223 margin module's price oracle, and the market
/// maker the devnet `MarginModule` sells a position's holdings to when it liquidates or
/// closes one.
///
/// Prices are set by the owner per pair as a Uniswap-style `sqrtPriceX96`: the square root
/// of token1 units per token0 unit (raw base units), Q64.96, where token0 is the lower
/// address. `getAmountOut` values an amount the way the real oracle does from a pool's
/// price: exactly (Dex223 main, `pricePrecisionDecimals == 0`) or with the legacy oracle's
/// truncation to about `pricePrecisionDecimals` significant digits of the amount.
///
/// @dev `swap` trades at exactly the `getAmountOut` quote out of the tokens the oracle
/// holds; the devnet mints that inventory to it. Nothing here is meant for a real chain.
contract MarginOracle {
    address public immutable owner;

    /// Digits of the amount the legacy oracle keeps; 0 = full precision.
    uint256 public pricePrecisionDecimals;

    /// sqrtPriceX96 by sorted pair (token0 => token1 => price); 0 = not set.
    mapping(address token0 => mapping(address token1 => uint160)) private sqrtPrices;

    event PriceSet(address indexed token0, address indexed token1, uint160 sqrtPriceX96);
    event PrecisionSet(uint256 digits);
    event Swapped(address indexed buy, address indexed sell, uint256 amountIn, uint256 amountOut, address recipient);

    /// The caller is not the owner.
    error NotOwner(address caller);

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    constructor() {
        owner = msg.sender;
    }

    // ------------------------------------------------------------------------------------
    // Owner

    /// Sets the pair's price: token1 per token0 as a Q64.96 square root, whichever order
    /// the tokens are given in. 0 unsets it.
    function setSqrtPriceX96(address tokenA, address tokenB, uint160 sqrtPriceX96) external onlyOwner {
        require(tokenA != tokenB, "MarginOracle: same token");
        (address token0, address token1) = _sort(tokenA, tokenB);
        sqrtPrices[token0][token1] = sqrtPriceX96;
        emit PriceSet(token0, token1, sqrtPriceX96);
    }

    /// Switches between exact valuation (0) and the legacy truncation to `digits` digits.
    function setPricePrecisionDecimals(uint256 digits) external onlyOwner {
        pricePrecisionDecimals = digits;
        emit PrecisionSet(digits);
    }

    // ------------------------------------------------------------------------------------
    // Pricing

    /// The pair's sqrtPriceX96 (token1 per token0, token0 the lower address); 0 = not set.
    function sqrtPriceX96Of(address tokenA, address tokenB) public view returns (uint160) {
        (address token0, address token1) = _sort(tokenA, tokenB);
        return sqrtPrices[token0][token1];
    }

    /// Units of `buy` that `amountToSell` units of `sell` are worth at the set price.
    function getAmountOut(address buy, address sell, uint256 amountToSell) public view returns (uint256 amountBought) {
        require(buy != address(0) && sell != address(0), "MarginOracle: zero address");
        require(buy != sell, "MarginOracle: same token");
        uint256 sqrtPrice = sqrtPriceX96Of(buy, sell);
        require(sqrtPrice != 0, "MarginOracle: no price");
        if (amountToSell == 0) return 0;

        uint256 digits = pricePrecisionDecimals;
        if (digits == 0) return _exactAmountOut(sqrtPrice, sell < buy, amountToSell);
        return _legacyAmountOut(sqrtPrice, sell > buy, amountToSell, digits);
    }

    /// Full precision: the square is taken in 192 bits while it fits, otherwise scaled down
    /// to 128 fractional bits first, and every product goes through the 512-bit `_mulDiv`.
    function _exactAmountOut(uint256 sqrtPrice, bool sellIsToken0, uint256 amount) private pure returns (uint256) {
        if (sqrtPrice <= type(uint128).max) {
            uint256 ratioX192 = sqrtPrice * sqrtPrice;
            return sellIsToken0 ? _mulDiv(ratioX192, amount, 1 << 192) : _mulDiv(1 << 192, amount, ratioX192);
        }
        uint256 ratioX128 = _mulDiv(sqrtPrice, sqrtPrice, 1 << 64);
        return sellIsToken0 ? _mulDiv(ratioX128, amount, 1 << 128) : _mulDiv(1 << 128, amount, ratioX128);
    }

    /// The legacy oracle: the amount is cut to about `digits` significant digits before it
    /// is multiplied by the price (so the product stays in 256 bits for large amounts), and
    /// selling token1 inverts the token0 valuation of the same amount. Checked arithmetic:
    /// an overflow or a quote that rounds to zero reverts, as it did there.
    function _legacyAmountOut(uint256 sqrtPrice, bool sellIsToken1, uint256 amount, uint256 digits)
        private
        pure
        returns (uint256 bought)
    {
        uint256 price = sqrtPrice * sqrtPrice;
        uint256 limit = 10 ** digits;
        if (amount > limit) {
            uint256 kept = amount;
            uint256 slashed = 0;
            while (kept > limit) {
                kept /= 10;
                slashed++;
            }
            bought = price * kept / 2 ** 192 * 10 ** slashed;
        } else {
            bought = price * amount / 2 ** 192;
        }
        if (sellIsToken1) bought = amount * amount / bought;
    }

    // ------------------------------------------------------------------------------------
    // Market maker

    /// Sells `amountIn` of `sell` (pulled from the caller, who approved it) for the
    /// `getAmountOut` quote of `buy`, paid to `recipient` from the oracle's own inventory.
    function swap(address buy, address sell, uint256 amountIn, uint256 minOut, address recipient)
        external
        returns (uint256 out)
    {
        out = getAmountOut(buy, sell, amountIn);
        require(out >= minOut, "MarginOracle: slippage");
        _call(sell, abi.encodeCall(IMarginToken.transferFrom, (msg.sender, address(this), amountIn)));
        _call(buy, abi.encodeCall(IMarginToken.transfer, (recipient, out)));
        emit Swapped(buy, sell, amountIn, out, recipient);
    }

    // ------------------------------------------------------------------------------------
    // Helpers

    function _sort(address a, address b) private pure returns (address, address) {
        return a < b ? (a, b) : (b, a);
    }

    /// A token call that must succeed and, if it returns anything, return true (tolerates
    /// ERC-20s that return nothing). A revert is passed on as is.
    function _call(address token, bytes memory data) private {
        require(token.code.length > 0, "MarginOracle: not a token");
        (bool ok, bytes memory ret) = token.call(data);
        if (!ok) {
            // Pass the token's own reason on (e.g. an allowance too small).
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        require(ret.length == 0 || abi.decode(ret, (bool)), "MarginOracle: token transfer failed");
    }

    /// floor(a * b / denominator) with a 512-bit intermediate product. Reverts when the
    /// denominator is 0 or the result does not fit in 256 bits.
    function _mulDiv(uint256 a, uint256 b, uint256 denominator) private pure returns (uint256 result) {
        unchecked {
            // The product as hi * 2^256 + lo: `mulmod` by 2^256 - 1 and the wrapped product
            // differ by the high word (Chinese remainder theorem).
            uint256 lo = a * b;
            uint256 hi;
            {
                uint256 mm = mulmod(a, b, type(uint256).max);
                hi = mm - lo;
                if (mm < lo) hi -= 1;
            }
            require(denominator > hi, "MarginOracle: mulDiv overflow");
            if (hi == 0) return lo / denominator;

            // Make the product divisible: subtract the remainder from the 512-bit number.
            uint256 rem = mulmod(a, b, denominator);
            if (rem > lo) hi -= 1;
            lo -= rem;

            // Divide out the largest power of two in the denominator, moving hi's bits down.
            uint256 twos = denominator & (0 - denominator);
            denominator /= twos;
            lo /= twos;
            // 2^256 / twos, computed as (0 - twos) / twos + 1 (0 when twos is 2^256, never).
            uint256 shift = (0 - twos) / twos + 1;
            lo |= hi * shift;

            // The denominator is now odd, so it has an inverse modulo 2^256; Newton-Raphson
            // doubles the correct bits each step starting from 4 (d * d == 1 mod 16 for odd d).
            uint256 inverse = (3 * denominator) ^ 2;
            for (uint256 i = 0; i < 6; i++) {
                inverse *= 2 - denominator * inverse;
            }
            // The quotient is exact, so multiplying by the inverse gives it modulo 2^256, which
            // is the quotient itself since it is < 2^256 (checked above).
            result = lo * inverse;
        }
    }
}
