//! Finding where a reorganised chain forked from what a stream scanned.
//!
//! The stream remembers `(number, hash)` of recently scanned blocks. Blocks chain by
//! parent hash, so if a remembered block is still canonical every remembered block below
//! it is too: "still canonical" is monotone along the list, and a binary search finds the
//! highest such block in O(log n) header lookups.

use std::future::Future;

use alloy::primitives::B256;

/// `recorded` is highest first; `canonical_hash(n)` is the chain's current hash at height
/// `n` (`None`: the chain is shorter). Returns the index in `recorded` of the highest
/// block that is still canonical, or `None` when none is.
pub(crate) async fn highest_canonical<F, Fut, E>(
    recorded: &[(u64, B256)],
    mut canonical_hash: F,
) -> Result<Option<usize>, E>
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Result<Option<B256>, E>>,
{
    // The answer is the first index whose block matches; every index after it matches.
    let (mut lo, mut hi) = (0usize, recorded.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let (number, hash) = recorded[mid];
        if canonical_hash(number).await? == Some(hash) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Ok((lo < recorded.len()).then_some(lo))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn h(n: u64, fork: u8) -> B256 {
        let mut b = [fork; 32];
        b[..8].copy_from_slice(&n.to_be_bytes());
        B256::from(b)
    }

    async fn search(recorded: &[(u64, B256)], fork_above: u64, head: u64) -> (Option<usize>, u32) {
        let calls = Cell::new(0);
        let found = highest_canonical(recorded, |n| {
            calls.set(calls.get() + 1);
            let answer = if n > head {
                None
            } else if n > fork_above {
                Some(h(n, 2))
            } else {
                Some(h(n, 1))
            };
            async move { Ok::<_, ()>(answer) }
        })
        .await
        .unwrap();
        (found, calls.get())
    }

    #[tokio::test]
    async fn finds_the_fork_point_with_few_lookups() {
        // Remembered on fork 1: every block from 1000 down to 1.
        let recorded: Vec<(u64, B256)> = (1..=1000).rev().map(|n| (n, h(n, 1))).collect();
        let (found, calls) = search(&recorded, 990, 1000).await;
        assert_eq!(recorded[found.unwrap()].0, 990);
        assert!(calls <= 11, "{calls} lookups");

        // Nothing reorganised: the top block itself.
        let (found, _) = search(&recorded, 1000, 1000).await;
        assert_eq!(found, Some(0));

        // A shorter chain: blocks above the head are gone.
        let (found, _) = search(&recorded, 1000, 900).await;
        assert_eq!(recorded[found.unwrap()].0, 900);

        // Deeper than everything remembered.
        let (found, _) = search(&recorded, 0, 1000).await;
        assert_eq!(found, None);
        let (found, _) = search(&[], 0, 1000).await;
        assert_eq!(found, None);
    }

    #[tokio::test]
    async fn sparse_records_fork_at_the_highest_match() {
        let recorded = vec![(500, h(500, 1)), (320, h(320, 1)), (100, h(100, 1))];
        let (found, _) = search(&recorded, 400, 500).await;
        assert_eq!(recorded[found.unwrap()].0, 320);
    }
}
