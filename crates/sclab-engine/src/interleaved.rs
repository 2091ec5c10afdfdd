//! Q8_0 and Q4_0 weights interleaved eight rows at a time, multiplied by 16-bit activations with
//! AVX-512 VNNI (or AVX2), or with wasm SIMD in the browser.
//!
//! candle's kernels take one dot product at a time (about eight instructions per 32
//! multiply-adds), so a batch of K rows costs K times the arithmetic of one, and they round the
//! activations to 8 bits, which is enough to flip SmolLM2's first answer token. Here a 256-bit
//! register holds two consecutive weights of each of eight rows (sign-extended to i16), and one
//! `vpdpwssd` multiplies them with two activations broadcast to every lane: 16 multiply-adds for
//! eight outputs at once. The weight registers of a block are unpacked once and reused for every
//! activation row of the batch, and activations keep 16 bits (block-scaled), 256 times finer
//! than 8. Q4_0 stays packed in memory, two weights a byte, and is unpacked in registers.
//!
//! wasm SIMD has the same pair product (`i32x4.dot_i16x8_s`) on 128-bit registers: a group's
//! eight rows take two registers. So the browser computes what the native engine computes, with
//! the same 16-bit activations, and answers the same.

// Only x86-64 has these kernels; elsewhere `detect()` says so and the rest is never reached.
#![cfg_attr(not(any(target_arch = "x86_64", target_feature = "simd128")), allow(dead_code))]

use candle_core::utils::barrier_pool;
use half::f16;

const BLOCK: usize = 32;
/// Weight rows interleaved in one group: the lanes of a 256-bit register of i32.
const LANES: usize = 8;
/// Consecutive weights of one row in one `vpdpwssd` lane.
const PAIR: usize = 2;
const PAIRS: usize = BLOCK / PAIR;
/// Activation rows handled against one load of a weight block.
const ROW_TILE: usize = 8;
const Q8_0_BYTES: usize = 2 + BLOCK;
const Q4_0_BYTES: usize = 2 + BLOCK / 2;

/// The block format of the weights, as in GGUF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Q8_0,
    Q4_0,
}

impl Format {
    fn gguf_block_bytes(self) -> usize {
        match self {
            Format::Q8_0 => Q8_0_BYTES,
            Format::Q4_0 => Q4_0_BYTES,
        }
    }

    /// Stored bytes of one (group, block): eight rows' weights.
    fn group_block_bytes(self) -> usize {
        match self {
            Format::Q8_0 => BLOCK * LANES,
            Format::Q4_0 => BLOCK * LANES / 2,
        }
    }
}

/// The instruction set the kernel runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(dead_code)] // each target builds only its own kernels
pub enum Isa {
    /// `vpdpwssd`: multiply and accumulate in one instruction.
    Avx512Vnni,
    /// `vpmaddwd` then `vpaddd`.
    Avx2,
    /// `i32x4.dot_i16x8_s` then `i32x4.add`, two registers per group.
    WasmSimd128,
}

/// The best kernel this CPU runs, if any; without one the weights stay in candle's layout.
pub fn detect() -> Option<Isa> {
    #[cfg(target_arch = "x86_64")]
    {
        let avx2 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
        let vnni = is_x86_feature_detected!("avx512vnni") && is_x86_feature_detected!("avx512vl");
        match (avx2, vnni) {
            (true, true) => Some(Isa::Avx512Vnni),
            (true, false) => Some(Isa::Avx2),
            _ => None,
        }
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        Some(Isa::WasmSimd128)
    }
    #[cfg(not(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128"))))]
    {
        None
    }
}

pub struct Interleaved {
    isa: Isa,
    format: Format,
    rows: usize,
    cols: usize,
    /// Per (group, block), pair `p` of the eight rows is `LANES × PAIR` consecutive values.
    /// Q8_0: one signed byte each, pairs in order. Q4_0: one nibble each (`q + 8`), pair `p` in
    /// the low nibbles and pair `p + 8` in the high nibbles of the same 16 bytes.
    qs: Vec<u8>,
    /// Per (group, block, lane): the weight block's scale.
    scales: Vec<f32>,
}

impl Interleaved {
    /// From the GGUF bytes of a `rows × cols` matrix (`rows` a multiple of 8).
    pub fn from_gguf_bytes(isa: Isa, format: Format, bytes: &[u8], rows: usize, cols: usize) -> Self {
        assert!(rows.is_multiple_of(LANES) && cols.is_multiple_of(BLOCK));
        let blocks = cols / BLOCK;
        let block_bytes = format.gguf_block_bytes();
        assert_eq!(bytes.len(), rows * blocks * block_bytes);
        let mut this = Self {
            isa,
            format,
            rows,
            cols,
            qs: vec![0u8; rows / LANES * blocks * format.group_block_bytes()],
            scales: vec![0f32; rows * blocks],
        };
        let mut values = [0i8; BLOCK];
        for row in 0..rows {
            let (group, lane) = (row / LANES, row % LANES);
            for b in 0..blocks {
                let src = &bytes[(row * blocks + b) * block_bytes..][..block_bytes];
                let gb = group * blocks + b;
                this.scales[gb * LANES + lane] = f16::from_le_bytes([src[0], src[1]]).to_f32();
                match format {
                    Format::Q8_0 => values.iter_mut().zip(&src[2..]).for_each(|(v, &q)| *v = q as i8),
                    Format::Q4_0 => {
                        for (i, &q) in src[2..].iter().enumerate() {
                            values[i] = (q & 0x0F) as i8 - 8;
                            values[i + BLOCK / 2] = (q >> 4) as i8 - 8;
                        }
                    }
                }
                for (e, &v) in values.iter().enumerate() {
                    this.store(gb, e, lane, v);
                }
            }
        }
        this
    }

    /// Byte index and nibble shift (0 for Q8_0) of weight `element` of `lane` in a (group, block).
    fn position(&self, group_block: usize, element: usize, lane: usize) -> (usize, u32) {
        let (pair, within) = (element / PAIR, element % PAIR);
        let base = group_block * self.format.group_block_bytes();
        match self.format {
            Format::Q8_0 => (base + pair * LANES * PAIR + lane * PAIR + within, 0),
            Format::Q4_0 => {
                let (chunk, shift) = if pair < PAIRS / 2 { (pair, 0) } else { (pair - PAIRS / 2, 4) };
                (base + chunk * LANES * PAIR + lane * PAIR + within, shift)
            }
        }
    }

    fn store(&mut self, group_block: usize, element: usize, lane: usize, value: i8) {
        let (i, shift) = self.position(group_block, element, lane);
        match self.format {
            Format::Q8_0 => self.qs[i] = value as u8,
            Format::Q4_0 => self.qs[i] |= ((value + 8) as u8) << shift,
        }
    }

    fn load(&self, group_block: usize, element: usize, lane: usize) -> i8 {
        let (i, shift) = self.position(group_block, element, lane);
        match self.format {
            Format::Q8_0 => self.qs[i] as i8,
            Format::Q4_0 => ((self.qs[i] >> shift) & 0x0F) as i8 - 8,
        }
    }

    pub fn dequantize_row(&self, row: usize, out: &mut [f32]) {
        let (group, lane) = (row / LANES, row % LANES);
        for (b, out) in out.chunks_exact_mut(BLOCK).enumerate() {
            let gb = group * (self.cols / BLOCK) + b;
            let scale = self.scales[gb * LANES + lane];
            for (e, o) in out.iter_mut().enumerate() {
                *o = self.load(gb, e, lane) as f32 * scale;
            }
        }
    }

    /// `out (m × rows) = xs (m × cols) · selfᵀ`.
    pub fn matmul(&self, xs: &[f32], m: usize, out: &mut [f32]) {
        let activations = QuantizedRows::new(xs, m, self.cols);
        let out_ptr = out.as_mut_ptr() as usize;
        barrier_pool().execute_chunked(self.rows / LANES, |groups| {
            for group in groups {
                // SAFETY: `isa` came from `detect()` on this CPU, and each group writes only its
                // own eight output columns of every row.
                unsafe {
                    match self.isa {
                        Isa::Avx512Vnni => self.group_vnni(group, &activations, out_ptr as *mut f32),
                        Isa::Avx2 => self.group_avx2(group, &activations, out_ptr as *mut f32),
                        Isa::WasmSimd128 => self.group_wasm(group, &activations, out_ptr as *mut f32),
                    }
                }
            }
        });
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512vnni,avx512vl,avx2,fma")]
    unsafe fn group_vnni(&self, group: usize, x: &QuantizedRows, out: *mut f32) {
        use std::arch::x86_64::_mm256_dpwssd_epi32;
        self.group(group, x, out, |acc, a, b| _mm256_dpwssd_epi32(acc, a, b))
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn group_avx2(&self, group: usize, x: &QuantizedRows, out: *mut f32) {
        use std::arch::x86_64::{_mm256_add_epi32, _mm256_madd_epi16};
        self.group(group, x, out, |acc, a, b| _mm256_add_epi32(acc, _mm256_madd_epi16(a, b)))
    }

    /// One group of eight weight rows against every activation row; inlined into a caller
    /// compiled for the instruction set, with `pair_dot(acc, x, w)` adding the i16 pair products.
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn group(
        &self,
        group: usize,
        x: &QuantizedRows,
        out: *mut f32,
        pair_dot: impl Fn(
            std::arch::x86_64::__m256i,
            std::arch::x86_64::__m256i,
            std::arch::x86_64::__m256i,
        ) -> std::arch::x86_64::__m256i,
    ) {
        use std::arch::x86_64::*;
        let blocks = self.cols / BLOCK;
        for tile_start in (0..x.rows).step_by(ROW_TILE) {
            let tile = ROW_TILE.min(x.rows - tile_start);
            let mut acc = [_mm256_setzero_ps(); ROW_TILE];
            for b in 0..blocks {
                let gb = group * blocks + b;
                let wq = self.qs.as_ptr().add(gb * self.format.group_block_bytes());
                let chunk = |c: usize| _mm_loadu_si128(wq.add(c * LANES * PAIR) as *const __m128i);
                let w: [__m256i; PAIRS] = match self.format {
                    Format::Q8_0 => std::array::from_fn(|p| _mm256_cvtepi8_epi16(chunk(p))),
                    Format::Q4_0 => {
                        let (low, eight) = (_mm_set1_epi8(0x0F), _mm_set1_epi8(8));
                        std::array::from_fn(|p| {
                            let packed = chunk(p % (PAIRS / 2));
                            let nibbles = if p < PAIRS / 2 { packed } else { _mm_srli_epi16(packed, 4) };
                            _mm256_cvtepi8_epi16(_mm_sub_epi8(_mm_and_si128(nibbles, low), eight))
                        })
                    }
                };
                let scale = _mm256_loadu_ps(self.scales.as_ptr().add(gb * LANES));
                for (r, acc) in acc.iter_mut().enumerate().take(tile) {
                    let row = tile_start + r;
                    let xq = x.qs.as_ptr().add(row * self.cols + b * BLOCK);
                    let mut dot = _mm256_setzero_si256();
                    for (p, &wp) in w.iter().enumerate() {
                        let two = _mm256_set1_epi32((xq.add(p * PAIR) as *const i32).read_unaligned());
                        dot = pair_dot(dot, two, wp);
                    }
                    let weighted = _mm256_mul_ps(_mm256_cvtepi32_ps(dot), scale);
                    *acc = _mm256_fmadd_ps(weighted, _mm256_set1_ps(x.scales[row * blocks + b]), *acc);
                }
            }
            for (r, acc) in acc.iter().enumerate().take(tile) {
                _mm256_storeu_ps(out.add((tile_start + r) * self.rows + group * LANES), *acc);
            }
        }
    }

    /// The kernel of `group` in wasm SIMD: lanes 0–3 and 4–7 of the group in two registers.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    unsafe fn group_wasm(&self, group: usize, x: &QuantizedRows, out: *mut f32) {
        use std::arch::wasm32::*;
        let blocks = self.cols / BLOCK;
        let halves = |v: v128| [i16x8_extend_low_i8x16(v), i16x8_extend_high_i8x16(v)];
        for tile_start in (0..x.rows).step_by(ROW_TILE) {
            let tile = ROW_TILE.min(x.rows - tile_start);
            let mut acc = [[f32x4_splat(0.0); 2]; ROW_TILE];
            for b in 0..blocks {
                let gb = group * blocks + b;
                let wq = self.qs.as_ptr().add(gb * self.format.group_block_bytes());
                let chunk = |c: usize| v128_load(wq.add(c * LANES * PAIR) as *const v128);
                let w: [[v128; 2]; PAIRS] = match self.format {
                    Format::Q8_0 => std::array::from_fn(|p| halves(chunk(p))),
                    Format::Q4_0 => {
                        let (low, eight) = (i8x16_splat(0x0F), i8x16_splat(8));
                        std::array::from_fn(|p| {
                            let packed = chunk(p % (PAIRS / 2));
                            let nibbles = if p < PAIRS / 2 { packed } else { u16x8_shr(packed, 4) };
                            halves(i8x16_sub(v128_and(nibbles, low), eight))
                        })
                    }
                };
                let scales = self.scales.as_ptr().add(gb * LANES);
                let scale = [v128_load(scales as *const v128), v128_load(scales.add(4) as *const v128)];
                for (r, acc) in acc.iter_mut().enumerate().take(tile) {
                    let row = tile_start + r;
                    let xq = x.qs.as_ptr().add(row * self.cols + b * BLOCK);
                    let mut dot = [i32x4_splat(0); 2];
                    for (p, wp) in w.iter().enumerate() {
                        let two = i32x4_splat((xq.add(p * PAIR) as *const i32).read_unaligned());
                        dot[0] = i32x4_add(dot[0], i32x4_dot_i16x8(two, wp[0]));
                        dot[1] = i32x4_add(dot[1], i32x4_dot_i16x8(two, wp[1]));
                    }
                    let xs = f32x4_splat(x.scales[row * blocks + b]);
                    for h in 0..2 {
                        let weighted = f32x4_mul(f32x4_convert_i32x4(dot[h]), scale[h]);
                        acc[h] = f32x4_add(f32x4_mul(weighted, xs), acc[h]);
                    }
                }
            }
            for (r, acc) in acc.iter().enumerate().take(tile) {
                let o = out.add((tile_start + r) * self.rows + group * LANES);
                v128_store(o as *mut v128, acc[0]);
                v128_store(o.add(4) as *mut v128, acc[1]);
            }
        }
    }

    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    unsafe fn group_wasm(&self, _group: usize, _x: &QuantizedRows, _out: *mut f32) {
        unreachable!("Interleaved is only built where `detect()` finds a kernel")
    }

    #[cfg(not(target_arch = "x86_64"))]
    unsafe fn group_vnni(&self, _group: usize, _x: &QuantizedRows, _out: *mut f32) {
        unreachable!("Interleaved is only built where `detect()` finds a kernel")
    }

    #[cfg(not(target_arch = "x86_64"))]
    unsafe fn group_avx2(&self, _group: usize, _x: &QuantizedRows, _out: *mut f32) {
        unreachable!("Interleaved is only built where `detect()` finds a kernel")
    }
}

/// Activation rows as 16-bit blocks of 32 with one f32 scale each.
struct QuantizedRows {
    rows: usize,
    qs: Vec<i16>,
    scales: Vec<f32>,
}

impl QuantizedRows {
    fn new(xs: &[f32], rows: usize, cols: usize) -> Self {
        let mut qs = vec![0i16; rows * cols];
        let mut scales = vec![0f32; rows * cols / BLOCK];
        for ((x, q), scale) in xs.chunks_exact(BLOCK).zip(qs.chunks_exact_mut(BLOCK)).zip(scales.iter_mut()) {
            let amax = x.iter().fold(0f32, |m, v| m.max(v.abs()));
            let d = amax / i16::MAX as f32;
            let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
            for (q, &v) in q.iter_mut().zip(x) {
                *q = (v * inv).round() as i16;
            }
            *scale = d;
        }
        Self { rows, qs, scales }
    }
}

#[cfg(test)]
mod tests {
    use candle_core::quantized::{GgmlDType, QTensor};
    use candle_core::{Device, Tensor};
    use rand::{Rng, SeedableRng};

    use super::*;

    /// Both instruction sets, every batch size, against the f32 product with the dequantized
    /// weights: 16-bit activations leave errors far below Q8_0's own.
    #[test]
    fn matches_dequantized_reference_on_each_isa_and_format() {
        let Some(best) = detect() else { return };
        for (format, dtype) in [(Format::Q8_0, GgmlDType::Q8_0), (Format::Q4_0, GgmlDType::Q4_0)] {
            check(best, format, dtype);
        }
    }

    fn check(best: Isa, format: Format, dtype: GgmlDType) {
        let (rows, cols) = (24, 576);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let values: Vec<f32> = (0..rows * cols).map(|_| rng.random_range(-1.0..1.0)).collect();
        let q = QTensor::quantize(&Tensor::from_vec(values, (rows, cols), &Device::Cpu).unwrap(), dtype).unwrap();
        let bytes = q.data().unwrap().into_owned();
        let deq = q.dequantize(&Device::Cpu).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let isas = match best {
            Isa::Avx512Vnni => vec![Isa::Avx2, Isa::Avx512Vnni],
            other => vec![other],
        };
        for isa in isas {
            let w = Interleaved::from_gguf_bytes(isa, format, &bytes, rows, cols);
            let mut row = vec![0f32; cols];
            w.dequantize_row(13, &mut row);
            assert_eq!(row, deq[13 * cols..14 * cols]);
            for m in [1, 5, 9] {
                // Activations with an outlier, as real hidden states have.
                let mut xs: Vec<f32> = (0..m * cols).map(|_| rng.random_range(-0.5..1.5)).collect();
                xs[3] = 40.0;
                let mut out = vec![0f32; m * rows];
                w.matmul(&xs, m, &mut out);
                for i in 0..m {
                    for j in 0..rows {
                        let reference: f32 = (0..cols).map(|c| xs[i * cols + c] * deq[j * cols + c]).sum();
                        let err = (out[i * rows + j] - reference).abs();
                        assert!(
                            err < 1e-3 * (1.0 + reference.abs()),
                            "{format:?} {isa:?} m={m} ({i},{j}): {} vs {reference}",
                            out[i * rows + j]
                        );
                    }
                }
            }
        }
    }
}
