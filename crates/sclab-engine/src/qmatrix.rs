//! Weight matrices in their GGUF block formats: the formats of `interleaved.rs` rewritten for its
//! 16-bit-activation kernel, the others multiplied by candle's quantized kernels.
//!
//! Both take the whole batch of activation rows at once and read each weight block from memory
//! once per tile of rows, not once per row: this is what makes batched decoding cheaper per
//! token than single-sequence decoding.

use candle_core::quantized::k_quants::{
    self, BlockQ2K, BlockQ3K, BlockQ4K, BlockQ4_0, BlockQ4_1, BlockQ5K, BlockQ5_0, BlockQ5_1, BlockQ6K, BlockQ8_0,
};
use candle_core::quantized::{GgmlDType, GgmlType};
use candle_core::utils::barrier_pool;
use half::f16;
use sclab_model::{GgufFile, ModelError};

use crate::error::{EngineError, Result};
use crate::interleaved::{self, Format, Interleaved};
use crate::ops::dot;

enum QData {
    F32(Vec<f32>),
    F16(Vec<f16>),
    Q4_0(Vec<BlockQ4_0>),
    Q4_1(Vec<BlockQ4_1>),
    Q5_0(Vec<BlockQ5_0>),
    Q5_1(Vec<BlockQ5_1>),
    Q8_0(Vec<BlockQ8_0>),
    Q2K(Vec<BlockQ2K>),
    Q3K(Vec<BlockQ3K>),
    Q4K(Vec<BlockQ4K>),
    Q5K(Vec<BlockQ5K>),
    Q6K(Vec<BlockQ6K>),
    /// Q8_0, Q4_0, Q5_0, Q4_K, Q5_K or Q6_K rearranged for the interleaved kernel (16-bit
    /// activations), where the CPU has it.
    Interleaved(Interleaved),
}

macro_rules! with_blocks {
    ($data:expr, $blocks:ident => $body:expr) => {
        match $data {
            QData::F32($blocks) => $body,
            QData::F16($blocks) => $body,
            QData::Q4_0($blocks) => $body,
            QData::Q4_1($blocks) => $body,
            QData::Q5_0($blocks) => $body,
            QData::Q5_1($blocks) => $body,
            QData::Q8_0($blocks) => $body,
            QData::Q2K($blocks) => $body,
            QData::Q3K($blocks) => $body,
            QData::Q4K($blocks) => $body,
            QData::Q5K($blocks) => $body,
            QData::Q6K($blocks) => $body,
            QData::Interleaved(_) => unreachable!("handled before dispatch"),
        }
    };
}

/// How activations meet quantized weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activations {
    /// Rounded to blocks of integers for integer dot products: 16 bits in the interleaved
    /// formats, candle's 8 bits in the others.
    Quantized,
    /// Kept in f32 against dequantized weight rows: closest to the unquantized model.
    F32,
}

pub struct QMatrix {
    rows: usize,
    cols: usize,
    dtype: GgmlDType,
    data: QData,
}

impl QMatrix {
    /// The 2-D weight `name` of `gguf` (stored as `[cols, rows]`, cols contiguous), read
    /// straight into its typed blocks.
    pub fn from_gguf(gguf: &mut GgufFile, name: &str) -> Result<Self> {
        let (dtype, rows, cols) = gguf.tensor_shape(name)?;
        Self::read(name, dtype, rows, cols, |buf| Ok(gguf.read_tensor(name, buf)?))
    }

    /// Allocate the typed buffer and let `fill` read the raw bytes straight into it.
    pub fn read(
        name: &str,
        dtype: GgmlDType,
        rows: usize,
        cols: usize,
        fill: impl FnOnce(&mut [u8]) -> Result<()>,
    ) -> Result<Self> {
        if !cols.is_multiple_of(dtype.block_size()) {
            let detail =
                format!("row length {cols} is not a multiple of the {dtype:?} block size {}", dtype.block_size());
            return Err(ModelError::BadTensor { tensor: name.to_owned(), detail }.into());
        }
        let n_blocks = rows * cols / dtype.block_size();
        let interleavable = Format::from_dtype(dtype).zip(interleaved::detect()).filter(|_| rows.is_multiple_of(8));
        if let Some((format, isa)) = interleavable {
            let mut bytes = vec![0u8; n_blocks * dtype.type_size()];
            fill(&mut bytes)?;
            let data = QData::Interleaved(Interleaved::from_gguf_bytes(isa, format, &bytes, rows, cols));
            return Ok(Self { rows, cols, dtype, data });
        }
        let data = match dtype {
            GgmlDType::F32 => QData::F32(read_blocks(n_blocks, fill)?),
            GgmlDType::F16 => QData::F16(read_blocks(n_blocks, fill)?),
            GgmlDType::Q4_1 => QData::Q4_1(read_blocks(n_blocks, fill)?),
            GgmlDType::Q5_0 => QData::Q5_0(read_blocks(n_blocks, fill)?),
            GgmlDType::Q5_1 => QData::Q5_1(read_blocks(n_blocks, fill)?),
            GgmlDType::Q8_0 => QData::Q8_0(read_blocks(n_blocks, fill)?),
            GgmlDType::Q4_0 => QData::Q4_0(read_blocks(n_blocks, fill)?),
            GgmlDType::Q2K => QData::Q2K(read_blocks(n_blocks, fill)?),
            GgmlDType::Q3K => QData::Q3K(read_blocks(n_blocks, fill)?),
            GgmlDType::Q4K => QData::Q4K(read_blocks(n_blocks, fill)?),
            GgmlDType::Q5K => QData::Q5K(read_blocks(n_blocks, fill)?),
            GgmlDType::Q6K => QData::Q6K(read_blocks(n_blocks, fill)?),
            other => {
                return Err(EngineError::UnsupportedTensorType { tensor: name.to_owned(), dtype: format!("{other:?}") })
            }
        };
        Ok(Self { rows, cols, dtype, data })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    pub fn dtype(&self) -> GgmlDType {
        self.dtype
    }

    /// Bytes the weights take in memory.
    pub fn resident_bytes(&self) -> usize {
        match &self.data {
            QData::Interleaved(w) => w.resident_bytes(),
            data => with_blocks!(data, blocks => std::mem::size_of_val(blocks.as_slice())),
        }
    }

    /// `out (m × rows) = xs (m × cols) · selfᵀ`.
    pub fn matmul(&self, xs: &[f32], m: usize, out: &mut [f32], activations: Activations) {
        debug_assert_eq!(xs.len(), m * self.cols);
        debug_assert_eq!(out.len(), m * self.rows);
        match (&self.data, activations) {
            (QData::Interleaved(w), Activations::Quantized) => w.matmul(xs, m, out),
            (QData::Interleaved(w), Activations::F32) => {
                matmul_f32_activations(self.rows, self.cols, xs, out, |j, row| w.dequantize_row(j, row))
            }
            (_, Activations::Quantized) => {
                let mkn = (m, self.cols, self.rows);
                with_blocks!(&self.data, blocks => k_quants::matmul(mkn, xs, blocks, out))
                    .expect("matmul shapes are checked at load time")
            }
            (_, Activations::F32) => {
                with_blocks!(&self.data, blocks => {
                    matmul_f32_activations(self.rows, self.cols, xs, out, |j, row| dequantize_blocks(blocks, j, self.cols, row))
                })
            }
        }
    }

    /// Row `r` as f32: an embedding lookup.
    pub fn dequantize_row(&self, r: usize, out: &mut [f32]) {
        if let QData::Interleaved(w) = &self.data {
            return w.dequantize_row(r, out);
        }
        with_blocks!(&self.data, blocks => dequantize_blocks(blocks, r, self.cols, out))
    }
}

/// Dequantize each weight row once and take its f32 dot product with every activation row.
fn matmul_f32_activations(
    rows: usize,
    cols: usize,
    xs: &[f32],
    out: &mut [f32],
    dequantize: impl Fn(usize, &mut [f32]) + Sync,
) {
    let out_ptr = out.as_mut_ptr() as usize;
    barrier_pool().execute_chunked(rows, |range| {
        let mut weights = vec![0f32; cols];
        for j in range {
            dequantize(j, &mut weights);
            for (i, x) in xs.chunks_exact(cols).enumerate() {
                // SAFETY: output column j is written by the one work item that owns row j.
                unsafe { *(out_ptr as *mut f32).add(i * rows + j) = dot(x, &weights) };
            }
        }
    });
}

fn dequantize_blocks<T: GgmlType>(blocks: &[T], r: usize, cols: usize, out: &mut [f32]) {
    let per_row = cols / T::BLCK_SIZE;
    T::to_float(&blocks[r * per_row..(r + 1) * per_row], out)
}

fn read_blocks<T: GgmlType>(n: usize, fill: impl FnOnce(&mut [u8]) -> Result<()>) -> Result<Vec<T>> {
    let mut blocks: Vec<T> = vec![T::zeros(); n];
    // SAFETY: GGML block types are `repr(C)` structs of floats and integer arrays (or plain
    // f32/f16): every byte pattern is a valid value, so viewing them as bytes and reading the
    // file's bytes into them is sound. The byte view covers exactly the vector's elements.
    let bytes = unsafe { std::slice::from_raw_parts_mut(blocks.as_mut_ptr() as *mut u8, n * std::mem::size_of::<T>()) };
    fill(bytes)?;
    Ok(blocks)
}

#[cfg(test)]
mod tests {
    use candle_core::quantized::QTensor;
    use candle_core::{Device, Tensor};
    use rand::{Rng, SeedableRng};

    use super::*;

    /// A random `rows × cols` matrix quantized by candle, as a QMatrix, with its dequantized values.
    fn quantized(dtype: GgmlDType, rows: usize, cols: usize, seed: u64) -> (QMatrix, Vec<f32>) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let values: Vec<f32> = (0..rows * cols).map(|_| rng.random_range(-1.0..1.0)).collect();
        let t = Tensor::from_vec(values, (rows, cols), &Device::Cpu).unwrap();
        let q = QTensor::quantize(&t, dtype).unwrap();
        let bytes = q.data().unwrap().into_owned();
        let m = QMatrix::read("w", dtype, rows, cols, |buf| {
            buf.copy_from_slice(&bytes);
            Ok(())
        })
        .unwrap();
        let deq = q.dequantize(&Device::Cpu).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        (m, deq)
    }

    #[test]
    fn matmul_matches_dequantized_reference_for_every_type() {
        let rows = 16;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut failures = Vec::new();
        // m = 1 is the decode path, m = 3 the batched one, m = 20 spans two row tiles.
        for (m, dtype) in [1, 3, 20].into_iter().flat_map(|m| {
            [
                GgmlDType::F32,
                GgmlDType::F16,
                GgmlDType::Q4_0,
                GgmlDType::Q4_1,
                GgmlDType::Q5_0,
                GgmlDType::Q5_1,
                GgmlDType::Q8_0,
                GgmlDType::Q2K,
                GgmlDType::Q3K,
                GgmlDType::Q4K,
                GgmlDType::Q5K,
                GgmlDType::Q6K,
            ]
            .map(|d| (m, d))
        }) {
            // SmolLM2's width, 576, where the block size allows it.
            let cols = if dtype.block_size() == 256 { 512 } else { 576 };
            let xs: Vec<f32> = (0..m * cols).map(|_| rng.random_range(-0.5..1.5)).collect();
            let (w, deq) = quantized(dtype, rows, cols, 2);
            let mut out = vec![0f32; m * rows];
            let activations = if dtype == GgmlDType::Q4_1 { Activations::F32 } else { Activations::Quantized };
            w.matmul(&xs, m, &mut out, activations);
            let (mut worst, mut scale) = (0f32, 0f32);
            for i in 0..m {
                for j in 0..rows {
                    let reference: f32 = (0..cols).map(|c| xs[i * cols + c] * deq[j * cols + c]).sum();
                    worst = worst.max((out[i * rows + j] - reference).abs());
                    scale = scale.max(reference.abs());
                }
            }
            let worst = worst / scale;
            // Relative to the largest product. The interleaved formats round the activations to
            // 16 bits, candle's other kernels to 8 (Q8_0 / Q8_K blocks), F16 to f16; Q4_1 is
            // checked on the f32-activation path.
            let interleaved = Format::from_dtype(dtype).is_some() && interleaved::detect().is_some();
            let tolerance = match dtype {
                GgmlDType::F32 | GgmlDType::Q4_1 => 1e-5,
                _ if interleaved => 1e-4,
                GgmlDType::F16 => 1e-3,
                _ => 1e-2,
            };
            if worst >= tolerance {
                failures.push(format!("{dtype:?}, m = {m}: max relative error {worst}"));
            }
        }
        assert!(failures.is_empty(), "{failures:?}");
    }

    #[test]
    fn dequantized_row_is_the_embedding_row() {
        let (w, deq) = quantized(GgmlDType::Q8_0, 4, 64, 3);
        let mut row = vec![0f32; 64];
        w.dequantize_row(2, &mut row);
        assert_eq!(row, deq[2 * 64..3 * 64]);
    }
}
