//! A Fenwick (binary indexed) tree of integer weights, for fitness-weighted
//! sampling in O(log n). Integer weights make the sums exact, so a tree rebuilt
//! after reopening samples exactly like the one that was built up insert by
//! insert.

#[derive(Debug, Default, Clone)]
pub(crate) struct Fenwick {
    tree: Vec<u64>,
    values: Vec<u64>,
}

impl Fenwick {
    pub fn total(&self) -> u64 {
        let mut i = self.values.len();
        let mut sum = 0u64;
        while i > 0 {
            sum += self.tree[i - 1];
            i &= i - 1;
        }
        sum
    }

    /// Sets the weight at `slot`, growing the tree as needed.
    pub fn set(&mut self, slot: usize, weight: u64) {
        if slot >= self.values.len() {
            self.grow(slot + 1);
        }
        let old = self.values[slot];
        self.values[slot] = weight;
        let mut i = slot + 1;
        while i <= self.tree.len() {
            self.tree[i - 1] = self.tree[i - 1].wrapping_add(weight.wrapping_sub(old));
            i += i & i.wrapping_neg();
        }
    }

    /// The slot whose cumulative weight range holds `target` (< total()).
    pub fn find(&self, mut target: u64) -> usize {
        let n = self.tree.len();
        let mut pos = 0usize;
        let mut step = n.next_power_of_two();
        while step > 0 {
            let next = pos + step;
            if next <= n && self.tree[next - 1] <= target {
                target -= self.tree[next - 1];
                pos = next;
            }
            step >>= 1;
        }
        pos
    }

    fn grow(&mut self, min_len: usize) {
        let len = min_len.next_power_of_two().max(64);
        self.values.resize(len, 0);
        // Rebuild in O(n): each node pushes its sum to its parent.
        self.tree = self.values.clone();
        for i in 1..=len {
            let parent = i + (i & i.wrapping_neg());
            if parent <= len {
                self.tree[parent - 1] += self.tree[i - 1];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_maps_each_unit_of_weight_to_its_slot() {
        let mut f = Fenwick::default();
        let weights = [(3usize, 2u64), (10, 1), (70, 3), (5, 0)];
        for (slot, w) in weights {
            f.set(slot, w);
        }
        assert_eq!(f.total(), 6);
        let found: Vec<usize> = (0..6).map(|t| f.find(t)).collect();
        assert_eq!(found, vec![3, 3, 10, 70, 70, 70]);
        f.set(3, 0);
        assert_eq!(f.total(), 4);
        assert_eq!(f.find(0), 10);
    }
}
