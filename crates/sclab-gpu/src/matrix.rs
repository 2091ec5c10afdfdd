//! Weight matrices on the GPU in their GGUF block formats, repacked so that shaders read 32-bit
//! words: a block's quantized values become whole words and its f16 scale (and Q4_1's minimum)
//! an f32 in a separate array. Nothing is dequantized on upload: Q8_0 stays 8 bits a weight.

use half::f16;

use crate::context::{GpuContext, GpuError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightFormat {
    F32,
    Q8_0,
    Q4_0,
    Q4_1,
}

impl WeightFormat {
    pub const ALL: [WeightFormat; 4] = [WeightFormat::F32, WeightFormat::Q8_0, WeightFormat::Q4_0, WeightFormat::Q4_1];

    /// `FORMAT` in dequant.wgsl.
    pub fn shader_code(self) -> u32 {
        self.index() as u32
    }

    pub fn index(self) -> usize {
        match self {
            WeightFormat::F32 => 0,
            WeightFormat::Q8_0 => 1,
            WeightFormat::Q4_0 => 2,
            WeightFormat::Q4_1 => 3,
        }
    }

    /// Bytes of one 32-weight block in a GGUF file.
    pub fn gguf_block_bytes(self) -> usize {
        match self {
            WeightFormat::F32 => 128,
            WeightFormat::Q8_0 => 34,
            WeightFormat::Q4_0 => 18,
            WeightFormat::Q4_1 => 20,
        }
    }
}

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
    /// Upload a `rows × cols` matrix from its GGUF bytes.
    pub fn upload(
        ctx: &GpuContext,
        label: &str,
        format: WeightFormat,
        rows: usize,
        cols: usize,
        bytes: &[u8],
    ) -> Result<Self, GpuError> {
        let limit = ctx.limits.max_storage_buffer_binding_size;
        Self::upload_in_parts(ctx, label, format, rows, cols, bytes, limit)
    }

    /// [`upload`](Self::upload) in parts of at most `part_bytes` per buffer.
    pub fn upload_in_parts(
        ctx: &GpuContext,
        label: &str,
        format: WeightFormat,
        rows: usize,
        cols: usize,
        bytes: &[u8],
        part_bytes: u64,
    ) -> Result<Self, GpuError> {
        let (words, scales) = repack(format, rows, cols, bytes);
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
    /// one matrix product computes them all: one buffer when they share a format (the usual
    /// case), else one part per matrix.
    pub fn stacked(
        ctx: &GpuContext,
        label: &str,
        cols: usize,
        pieces: &[(WeightFormat, usize, Vec<u8>)],
    ) -> Result<Self, GpuError> {
        let rows = pieces.iter().map(|(_, r, _)| r).sum();
        let format = pieces[0].0;
        if pieces.iter().all(|(f, _, _)| *f == format) {
            let bytes: Vec<u8> = pieces.iter().flat_map(|(_, _, b)| b.iter().copied()).collect();
            return Self::upload(ctx, label, format, rows, cols, &bytes);
        }
        let mut parts = Vec::new();
        let mut first = 0;
        for (format, piece_rows, bytes) in pieces {
            let piece = Self::upload(ctx, label, *format, *piece_rows, cols, bytes)?;
            parts.extend(piece.parts.into_iter().map(|p| MatrixPart { first_row: first + p.first_row, ..p }));
            first += piece_rows;
        }
        Ok(Self { rows, cols, parts })
    }
}

/// The words and scales of a matrix's GGUF bytes (`cols` a multiple of 32).
pub fn repack(format: WeightFormat, rows: usize, cols: usize, bytes: &[u8]) -> (Vec<u32>, Vec<f32>) {
    assert!(cols.is_multiple_of(32), "rows of {cols} are not whole 32-weight blocks");
    let blocks = rows * cols / 32;
    assert_eq!(bytes.len(), blocks * format.gguf_block_bytes(), "{format:?} matrix of {rows} × {cols}");
    // GGUF blocks hold their words and half-precision scales unaligned.
    let word = |b: &[u8]| bytemuck::pod_read_unaligned::<u32>(b);
    let half = |b: &[u8]| f16::from_bits(bytemuck::pod_read_unaligned::<u16>(&b[..2])).to_f32();
    let mut words = Vec::with_capacity(blocks * 8);
    let mut scales = Vec::with_capacity(blocks * 2);
    for block in bytes.chunks_exact(format.gguf_block_bytes()) {
        match format {
            WeightFormat::F32 => words.extend(block.chunks_exact(4).map(word)),
            WeightFormat::Q8_0 | WeightFormat::Q4_0 => {
                scales.push(half(block));
                words.extend(block[2..].chunks_exact(4).map(word));
            }
            WeightFormat::Q4_1 => {
                scales.extend([half(block), half(&block[2..])]);
                words.extend(block[4..].chunks_exact(4).map(word));
            }
        }
    }
    (words, scales)
}
