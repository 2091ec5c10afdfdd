//! The KV cache on the GPU: per layer, one buffer of keys and one of values, cut into pages of
//! `PAGE` positions. A sequence is a list of pages; a fork shares its parent's pages (counted),
//! and a page is copied before a sequence writes into one it shares, so appending to either
//! leaves the other unchanged — the CPU engine's fork semantics. Which page holds what is
//! [`PageTable`]'s bookkeeping, without a GPU; [`PagedKv`] owns the buffers and copies pages.

use crate::context::{GpuContext, GpuError};
use crate::kernels::PAGE;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeqPages {
    pub len: usize,
    pub pages: Vec<u32>,
}

/// Reference counts of the cache's pages and the free ones.
pub struct PageTable {
    refs: Vec<u32>,
    free: Vec<u32>,
}

/// A page to copy before a sequence writes into it: the shared page and its private copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageCopy {
    pub from: u32,
    pub to: u32,
}

impl PageTable {
    pub fn new(pages: usize) -> Self {
        Self { refs: vec![0; pages], free: (0..pages as u32).rev().collect() }
    }

    fn allocate(&mut self) -> Option<u32> {
        let page = self.free.pop()?;
        self.refs[page as usize] = 1;
        Some(page)
    }

    /// A fork of `seq`: the same pages, each counted once more.
    pub fn share(&mut self, seq: &SeqPages) -> SeqPages {
        for &p in &seq.pages {
            self.refs[p as usize] += 1;
        }
        seq.clone()
    }

    pub fn release(&mut self, pages: &[u32]) {
        for &p in pages {
            let r = &mut self.refs[p as usize];
            *r -= 1;
            if *r == 0 {
                self.free.push(p);
            }
        }
    }

    /// Drop the pages past `len` positions.
    pub fn truncate(&mut self, seq: &mut SeqPages, len: usize) {
        let keep = len.div_ceil(PAGE);
        let dropped = seq.pages.split_off(keep.min(seq.pages.len()));
        self.release(&dropped);
        seq.len = len;
    }

    /// Pages for positions `seq.len..new_len`: a shared page about to be written is swapped for
    /// a private one (returned: its contents must be copied first), and new pages are taken from
    /// the pool. `None` when the pool runs out.
    pub fn reserve(&mut self, seq: &mut SeqPages, new_len: usize) -> Option<Option<PageCopy>> {
        let first_written = seq.len / PAGE;
        let mut copy = None;
        if let Some(&shared) = seq.pages.get(first_written).filter(|&&p| self.refs[p as usize] > 1) {
            let private = self.allocate()?;
            self.release(&[shared]);
            seq.pages[first_written] = private;
            copy = Some(PageCopy { from: shared, to: private });
        }
        while seq.pages.len() < new_len.div_ceil(PAGE) {
            let page = self.allocate()?;
            seq.pages.push(page);
        }
        Some(copy)
    }
}

pub struct PagedKv {
    pub keys: Vec<wgpu::Buffer>,
    pub values: Vec<wgpu::Buffer>,
    /// One page: WebGPU copies only between different buffers, so a page is copied through it.
    bounce: wgpu::Buffer,
    /// Bytes of one page in one layer's buffer.
    page_bytes: u64,
    pub table: PageTable,
}

impl PagedKv {
    pub fn new(ctx: &GpuContext, layers: usize, kv_dim: usize, pages: usize) -> Result<Self, GpuError> {
        let floats = pages * PAGE * kv_dim;
        let buffer = |what: &str, l: usize| ctx.zeros(&format!("{what} cache, layer {l}"), floats);
        Ok(Self {
            keys: (0..layers).map(|l| buffer("key", l)).collect::<Result<_, _>>()?,
            values: (0..layers).map(|l| buffer("value", l)).collect::<Result<_, _>>()?,
            bounce: ctx.zeros("page copy", PAGE * kv_dim)?,
            page_bytes: (PAGE * kv_dim * 4) as u64,
            table: PageTable::new(pages),
        })
    }

    /// Make room for positions `seq.len..new_len`, encoding the copy of a shared page about to
    /// be written into `encoder`; false when the cache is full.
    pub fn reserve(&mut self, encoder: &mut wgpu::CommandEncoder, seq: &mut SeqPages, new_len: usize) -> bool {
        let Some(copy) = self.table.reserve(seq, new_len) else { return false };
        if let Some(PageCopy { from, to }) = copy {
            let (from, to) = (from as u64 * self.page_bytes, to as u64 * self.page_bytes);
            for buffer in self.keys.iter().chain(&self.values) {
                encoder.copy_buffer_to_buffer(buffer, from, &self.bounce, 0, self.page_bytes);
                encoder.copy_buffer_to_buffer(&self.bounce, 0, buffer, to, self.page_bytes);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn appended(table: &mut PageTable, seq: &mut SeqPages, len: usize) -> Option<PageCopy> {
        let copy = table.reserve(seq, len).expect("room");
        seq.len = len;
        copy
    }

    #[test]
    fn a_fork_shares_pages_until_one_side_writes_into_the_shared_page() {
        let mut table = PageTable::new(8);
        let mut parent = SeqPages::default();
        assert_eq!(appended(&mut table, &mut parent, PAGE + 3), None);
        assert_eq!(parent.pages, [0, 1]);
        let mut child = table.share(&parent);
        // The child writes into page 1, which both hold: it gets a copy; page 0 stays shared.
        assert_eq!(appended(&mut table, &mut child, PAGE + 4), Some(PageCopy { from: 1, to: 2 }));
        assert_eq!((parent.pages.as_slice(), child.pages.as_slice()), (&[0, 1][..], &[0, 2][..]));
        // The parent now holds page 1 alone and writes into it without a copy.
        assert_eq!(appended(&mut table, &mut parent, PAGE + 4), None);
    }

    #[test]
    fn truncating_and_releasing_return_pages_and_a_full_pool_refuses() {
        let mut table = PageTable::new(3);
        let mut seq = SeqPages::default();
        appended(&mut table, &mut seq, 3 * PAGE);
        assert_eq!(table.reserve(&mut seq.clone(), 3 * PAGE + 1), None, "no fourth page");
        table.truncate(&mut seq, PAGE);
        assert_eq!((seq.len, seq.pages.as_slice()), (PAGE, &[0][..]));
        let mut other = SeqPages::default();
        assert_eq!(appended(&mut table, &mut other, 2 * PAGE), None);
        assert_eq!(other.pages, [2, 1], "the freed pages, last freed first");
        table.release(&seq.pages);
        table.release(&other.pages);
        let mut all = SeqPages::default();
        assert_eq!(appended(&mut table, &mut all, 3 * PAGE), None, "every page free again");
    }
}
