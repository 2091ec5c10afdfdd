//! Per-sequence key/value cache with shared prefixes.
//!
//! A sequence is a chain of frozen, reference-counted segments followed by its own growing
//! tail. Forking freezes the tail and lets the child share every segment: K samples of one
//! round input reuse one cached prefix without copying it. Rolling back into a shared segment
//! copies only the part kept.

use std::sync::Arc;

#[derive(Clone, Default)]
struct LayerKv {
    k: Vec<f32>,
    v: Vec<f32>,
}

#[derive(Clone)]
struct Segment {
    len: usize,
    layers: Vec<LayerKv>,
}

impl Segment {
    fn empty(n_layers: usize) -> Self {
        Self { len: 0, layers: vec![LayerKv::default(); n_layers] }
    }
}

pub struct KvSeq {
    kv_dim: usize,
    frozen: Vec<Arc<Segment>>,
    tail: Segment,
}

impl KvSeq {
    pub fn new(n_layers: usize, kv_dim: usize) -> Self {
        Self { kv_dim, frozen: Vec::new(), tail: Segment::empty(n_layers) }
    }

    /// Committed positions.
    pub fn len(&self) -> usize {
        self.frozen_len() + self.tail.len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn frozen_len(&self) -> usize {
        self.frozen.iter().map(|s| s.len).sum()
    }

    /// Stage keys and values of new positions for one layer; they count once `commit` is called
    /// after every layer has staged them, but attention of later rows already sees them.
    pub fn stage(&mut self, layer: usize, k: &[f32], v: &[f32]) {
        let kv = &mut self.tail.layers[layer];
        kv.k.extend_from_slice(k);
        kv.v.extend_from_slice(v);
    }

    pub fn commit(&mut self, n: usize) {
        self.tail.len += n;
        debug_assert!(self.tail.layers.iter().all(|l| l.k.len() == self.tail.len * self.kv_dim));
    }

    /// Contiguous `(keys, values)` chunks of one layer, oldest first, staged rows included.
    pub fn chunks(&self, layer: usize) -> impl Iterator<Item = (&[f32], &[f32])> {
        self.frozen
            .iter()
            .map(move |s| (&s.layers[layer].k[..], &s.layers[layer].v[..]))
            .chain(std::iter::once((&self.tail.layers[layer].k[..], &self.tail.layers[layer].v[..])))
    }

    pub fn fork(&mut self) -> KvSeq {
        if self.tail.len > 0 {
            let n_layers = self.tail.layers.len();
            let tail = std::mem::replace(&mut self.tail, Segment::empty(n_layers));
            self.frozen.push(Arc::new(tail));
        }
        KvSeq { kv_dim: self.kv_dim, frozen: self.frozen.clone(), tail: Segment::empty(self.tail.layers.len()) }
    }

    /// Keep the first `len` positions (`len <= self.len()`).
    pub fn truncate(&mut self, len: usize) {
        let frozen_len = self.frozen_len();
        if len >= frozen_len {
            self.truncate_tail(len - frozen_len);
            return;
        }
        let mut start = frozen_len;
        while let Some(last) = self.frozen.pop() {
            start -= last.len;
            if start <= len {
                let keep = len - start;
                let mut copy = Segment::empty(last.layers.len());
                for (dst, src) in copy.layers.iter_mut().zip(&last.layers) {
                    dst.k.extend_from_slice(&src.k[..keep * self.kv_dim]);
                    dst.v.extend_from_slice(&src.v[..keep * self.kv_dim]);
                }
                copy.len = keep;
                self.tail = copy;
                return;
            }
        }
    }

    fn truncate_tail(&mut self, keep: usize) {
        for kv in &mut self.tail.layers {
            kv.k.truncate(keep * self.kv_dim);
            kv.v.truncate(keep * self.kv_dim);
        }
        self.tail.len = keep;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn positions(seq: &KvSeq) -> Vec<f32> {
        seq.chunks(0).flat_map(|(k, _)| k.iter().copied()).collect()
    }

    fn push(seq: &mut KvSeq, values: &[f32]) {
        seq.stage(0, values, values);
        seq.commit(values.len());
    }

    #[test]
    fn fork_shares_prefix_and_diverges() {
        let mut parent = KvSeq::new(1, 1);
        push(&mut parent, &[1.0, 2.0]);
        let mut child = parent.fork();
        push(&mut parent, &[3.0]);
        push(&mut child, &[9.0]);
        assert_eq!(positions(&parent), vec![1.0, 2.0, 3.0]);
        assert_eq!(positions(&child), vec![1.0, 2.0, 9.0]);
        assert!(Arc::ptr_eq(&parent.frozen[0], &child.frozen[0]));
    }

    #[test]
    fn truncate_into_shared_segment_copies_only_the_kept_part() {
        let mut parent = KvSeq::new(1, 1);
        push(&mut parent, &[1.0, 2.0, 3.0]);
        let mut child = parent.fork();
        push(&mut child, &[4.0]);
        child.truncate(2);
        assert_eq!(child.len(), 2);
        assert_eq!(positions(&child), vec![1.0, 2.0]);
        push(&mut child, &[5.0]);
        assert_eq!(positions(&child), vec![1.0, 2.0, 5.0]);
        assert_eq!(positions(&parent), vec![1.0, 2.0, 3.0]);
    }
}
