//! The KV cache on the GPU: per layer, one buffer of keys and one of values, cut into pages of
//! `PAGE` positions. A sequence is a list of pages; a fork shares its parent's pages (counted),
//! and a page is copied before a sequence writes into one it shares, so appending to either
//! leaves the other unchanged — the CPU engine's fork semantics.

use crate::context::{GpuContext, GpuError};
use crate::kernels::PAGE;

#[derive(Clone, Default)]
pub struct SeqPages {
    pub len: usize,
    pub pages: Vec<u32>,
}

pub struct PagedKv {
    pub keys: Vec<wgpu::Buffer>,
    pub values: Vec<wgpu::Buffer>,
    /// One page: WebGPU copies only between different buffers, so a page is copied through it.
    bounce: wgpu::Buffer,
    /// Bytes of one page in one layer's buffer.
    page_bytes: u64,
    refs: Vec<u32>,
    free: Vec<u32>,
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
            refs: vec![0; pages],
            free: (0..pages as u32).rev().collect(),
        })
    }

    fn allocate(&mut self) -> Option<u32> {
        let page = self.free.pop()?;
        self.refs[page as usize] = 1;
        Some(page)
    }

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

    /// Make room for positions `seq.len..new_len`: a shared page about to be written is first
    /// copied (encoded into `encoder`), and new pages are taken from the pool.
    pub fn reserve(&mut self, encoder: &mut wgpu::CommandEncoder, seq: &mut SeqPages, new_len: usize) -> bool {
        let first_written = seq.len / PAGE;
        if let Some(&shared) = seq.pages.get(first_written).filter(|&&p| self.refs[p as usize] > 1) {
            let Some(copy) = self.allocate() else { return false };
            for buffers in [&self.keys, &self.values] {
                for b in buffers {
                    let (from, to) = (shared as u64 * self.page_bytes, copy as u64 * self.page_bytes);
                    encoder.copy_buffer_to_buffer(b, from, &self.bounce, 0, self.page_bytes);
                    encoder.copy_buffer_to_buffer(&self.bounce, 0, b, to, self.page_bytes);
                }
            }
            self.release(&[shared]);
            seq.pages[first_written] = copy;
        }
        while seq.pages.len() < new_len.div_ceil(PAGE) {
            let Some(page) = self.allocate() else { return false };
            seq.pages.push(page);
        }
        true
    }
}
