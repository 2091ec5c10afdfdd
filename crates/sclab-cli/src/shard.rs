//! `--shard k/n`: one of n slices of a run's items, so that n machines can share a sweep.
//!
//! The slices are strides of the run's seeded item order: shard k takes the items at positions
//! k-1, k-1+n, k-1+2n, … A stride depends only on an item's position, never on how many items
//! there are, so resuming every shard with a larger `--limit` extends each shard file just as it
//! extends an unsharded run, and no item moves to another shard.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based, as written on the command line.
    pub index: usize,
    pub count: usize,
}

impl Shard {
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || format!("shard {s:?} is not k/n with 1 ≤ k ≤ n, e.g. 2/8");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (k.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// This shard's items, in the order they came.
    pub fn take<T>(self, items: Vec<T>) -> Vec<T> {
        items.into_iter().skip(self.index - 1).step_by(self.count).collect()
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_shards_are_refused() {
        for bad in ["0/3", "4/3", "x", "1/0", "/3", "2/", "1/3/5", "-1/3", ""] {
            assert!(Shard::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert_eq!(Shard::parse("3/3"), Ok(Shard { index: 3, count: 3 }));
        assert_eq!(Shard::parse("1/1").unwrap().to_string(), "1/1");
    }

    #[test]
    fn shards_split_the_items_and_grow_with_the_limit() {
        let items: Vec<usize> = (0..20).collect();
        let shards: Vec<Vec<usize>> = (1..=3).map(|k| Shard { index: k, count: 3 }.take(items.clone())).collect();
        assert_eq!(shards[0], [0, 3, 6, 9, 12, 15, 18]);
        assert_eq!(shards[2], [2, 5, 8, 11, 14, 17]);
        let mut all: Vec<usize> = shards.concat();
        all.sort();
        assert_eq!(all, items, "every item in exactly one shard");
        // A larger limit keeps each shard's items and appends to them.
        for (k, shard) in shards.iter().enumerate() {
            let more = Shard { index: k + 1, count: 3 }.take((0..40).collect());
            assert!(more.starts_with(shard));
        }
        // More shards than items: the last ones are empty.
        assert!(Shard { index: 3, count: 3 }.take(vec![0, 1]).is_empty());
    }
}
