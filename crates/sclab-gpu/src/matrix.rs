//! Weight matrices on the GPU, in 32-weight blocks that shaders read as 32-bit words: a
//! block's quantized values become whole words and its scale (and minimum) f32s in a separate
//! array (repack.rs turns each GGUF format into one of these layouts). Nothing is dequantized on
//! upload: Q8_0 stays 8 bits a weight, Q4_0 and Q4_1 four.

use candle_core::quantized::GgmlDType;

use crate::context::{GpuContext, GpuError};
use crate::repack::{repack, Repacked, WeightFormat};

pub struct GpuMatrix {
    pub rows: usize,
    pub cols: usize,
    /// Consecutive row ranges, each within the adapter's storage-binding limit (one part unless
    /// the matrix is larger than that).
    pub parts: Vec<MatrixPart>,
}

pub struct MatrixPart {
    pub format: WeightFormat,
    pub first_row: usize,
    pub rows: usize,
    pub words: wgpu::Buffer,
    pub scales: wgpu::Buffer,
}

impl GpuMatrix {
    /// Upload a `rows × cols` matrix from its GGUF bytes in `dtype`.
    pub fn upload(
        ctx: &GpuContext,
        label: &str,
        dtype: GgmlDType,
        rows: usize,
        cols: usize,
        bytes: &[u8],
    ) -> Result<Self, GpuError> {
        let limit = ctx.limits.max_storage_buffer_binding_size;
        Self::upload_in_parts(ctx, label, dtype, rows, cols, bytes, limit)
    }

    /// [`upload`](Self::upload) in parts of at most `part_bytes` per buffer.
    pub fn upload_in_parts(
        ctx: &GpuContext,
        label: &str,
        dtype: GgmlDType,
        rows: usize,
        cols: usize,
        bytes: &[u8],
        part_bytes: u64,
    ) -> Result<Self, GpuError> {
        Self::upload_repacked(ctx, label, repack(dtype, rows, cols, bytes), rows, cols, part_bytes)
    }

    fn upload_repacked(
        ctx: &GpuContext,
        label: &str,
        repacked: Repacked,
        rows: usize,
        cols: usize,
        part_bytes: u64,
    ) -> Result<Self, GpuError> {
        let Repacked { format, words, scales } = repacked;
        let (row_words, row_scales) = (words.len() / rows.max(1), scales.len() / rows.max(1));
        let limit = part_bytes as usize;
        let rows_per_part = limit / (row_words.max(row_scales) * 4).max(1);
        if rows_per_part == 0 {
            let bytes = (row_words * 4) as u64;
            return Err(GpuError::TooLarge { what: format!("one row of {label}"), bytes, limit: limit as u64 });
        }
        let mut parts = Vec::with_capacity(rows.div_ceil(rows_per_part));
        for first_row in (0..rows).step_by(rows_per_part) {
            let n = rows_per_part.min(rows - first_row);
            let part_scales = &scales[(first_row * row_scales).min(scales.len())..][..n * row_scales];
            parts.push(MatrixPart {
                format,
                first_row,
                rows: n,
                words: ctx
                    .storage_u32(&format!("{label} weights"), &words[first_row * row_words..][..n * row_words])?,
                scales: ctx.storage_f32(
                    &format!("{label} scales"),
                    if part_scales.is_empty() { &[0.0] } else { part_scales },
                )?,
            });
        }
        Ok(Self { rows, cols, parts })
    }

    /// Bytes of its buffers on the GPU.
    pub fn bytes(&self) -> u64 {
        self.parts.iter().map(|p| p.words.size() + p.scales.size()).sum()
    }

    /// Matrices of `cols` columns stacked row-wise into one (q, k and v; gate and up), so that
    /// one matrix product computes them all: one buffer when their GPU layouts agree (the usual
    /// case), else one part per matrix.
    pub fn stacked(
        ctx: &GpuContext,
        label: &str,
        cols: usize,
        pieces: &[(GgmlDType, usize, Vec<u8>)],
    ) -> Result<Self, GpuError> {
        let rows = pieces.iter().map(|(_, r, _)| r).sum();
        let limit = ctx.limits.max_storage_buffer_binding_size;
        let repacked: Vec<Repacked> = pieces.iter().map(|(dtype, r, bytes)| repack(*dtype, *r, cols, bytes)).collect();
        let format = repacked[0].format;
        if repacked.iter().all(|r| r.format == format) {
            let words = repacked.iter().flat_map(|r| r.words.iter().copied()).collect();
            let scales = repacked.iter().flat_map(|r| r.scales.iter().copied()).collect();
            return Self::upload_repacked(ctx, label, Repacked { format, words, scales }, rows, cols, limit);
        }
        let mut parts = Vec::new();
        let mut first = 0;
        for (piece, (_, piece_rows, _)) in repacked.into_iter().zip(pieces) {
            let piece = Self::upload_repacked(ctx, label, piece, *piece_rows, cols, limit)?;
            parts.extend(piece.parts.into_iter().map(|p| MatrixPart { first_row: first + p.first_row, ..p }));
            first += piece_rows;
        }
        Ok(Self { rows, cols, parts })
    }
}
