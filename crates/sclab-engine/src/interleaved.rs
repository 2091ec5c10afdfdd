//! Quantized weights interleaved eight rows at a time, multiplied by 16-bit activations with
//! AVX-512 VNNI (or AVX2), or with wasm SIMD in the browser: Q8_0 and Q4_0, and the formats of
//! the common GGUF mixes (Q5_0, Q4_K, Q5_K, Q6_K), each rewritten losslessly as small integers
//! with a scale per block of 32 (per 16 for Q6_K) and, for the k-quants' minimums, an offset
//! per block of 32.
//!
//! candle's kernels take one dot product at a time (about eight instructions per 32
//! multiply-adds), so a batch of K rows costs K times the arithmetic of one, and they round the
//! activations to 8 bits, which is enough to flip SmolLM2's first answer token. Here a 256-bit
//! register holds two consecutive weights of each of eight rows (sign-extended to i16), and one
//! `vpdpwssd` multiplies them with two activations broadcast to every lane: 16 multiply-adds for
//! eight outputs at once. The weight registers of a block are unpacked once and reused for every
//! activation row of the batch, and activations keep 16 bits (block-scaled), 256 times finer
//! than 8. Q4_0 and Q4_K stay packed in memory, two weights a byte, and are unpacked in
//! registers; Q5_0, Q5_K and Q6_K take a byte per weight. A block's weights are
//! `scale · q + offset`, so its product with activations `x` is `scale · (q · x) + offset · Σx`:
//! the offset costs one multiply-add per block and row.
//!
//! wasm SIMD has the same pair product (`i32x4.dot_i16x8_s`) on 128-bit registers: a group's
//! eight rows take two registers. So the browser computes what the native engine computes, with
//! the same 16-bit activations, and answers the same.

// Only x86-64 and wasm with SIMD have these kernels; elsewhere `detect()` says so and the rest
// is never reached.
#![cfg_attr(not(any(target_arch = "x86_64", target_feature = "simd128")), allow(dead_code))]

use candle_core::quantized::GgmlDType;
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

/// The block format of the weights, as in GGUF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Q8_0,
    Q4_0,
    Q5_0,
    Q4K,
    Q5K,
    Q6K,
}

impl Format {
    fn dtype(self) -> GgmlDType {
        match self {
            Format::Q8_0 => GgmlDType::Q8_0,
            Format::Q4_0 => GgmlDType::Q4_0,
            Format::Q5_0 => GgmlDType::Q5_0,
            Format::Q4K => GgmlDType::Q4K,
            Format::Q5K => GgmlDType::Q5K,
            Format::Q6K => GgmlDType::Q6K,
        }
    }

    pub fn from_dtype(dtype: GgmlDType) -> Option<Self> {
        [Format::Q8_0, Format::Q4_0, Format::Q5_0, Format::Q4K, Format::Q5K, Format::Q6K]
            .into_iter()
            .find(|f| f.dtype() == dtype)
    }

    /// Weights and bytes of one GGUF block.
    fn gguf_block(self) -> (usize, usize) {
        (self.dtype().block_size(), self.dtype().type_size())
    }

    /// Two weights a byte (the others take one).
    fn nibbles(self) -> bool {
        matches!(self, Format::Q4_0 | Format::Q4K)
    }

    /// What a stored nibble is above its weight's integer: Q4_0's are `q + 8` for q in −8..8.
    fn nibble_bias(self) -> i8 {
        if self == Format::Q4_0 {
            8
        } else {
            0
        }
    }

    /// Scales per block of 32: Q6_K has one per 16 weights.
    fn scales_per_block(self) -> usize {
        if self == Format::Q6K {
            2
        } else {
            1
        }
    }

    /// Whether blocks have an offset (the k-quants' `−dmin · m`).
    fn has_offsets(self) -> bool {
        matches!(self, Format::Q4K | Format::Q5K)
    }

    /// Stored bytes of one (group, block): eight rows' weights.
    fn group_block_bytes(self) -> usize {
        if self.nibbles() {
            BLOCK * LANES / 2
        } else {
            BLOCK * LANES
        }
    }

    /// One GGUF block `src` as integers `q` with `scales` (per 32 or 16 weights) and `offsets`
    /// (per 32, k-quants only): weight = scale · q + offset, evaluated as candle dequantizes, so
    /// the dequantized rows are bit for bit candle's.
    fn decode(self, src: &[u8], q: &mut [i8], scales: &mut [f32], offsets: &mut [f32]) {
        let f16_at = |i: usize| f16::from_le_bytes([src[i], src[i + 1]]).to_f32();
        match self {
            Format::Q8_0 => {
                scales[0] = f16_at(0);
                q.iter_mut().zip(&src[2..]).for_each(|(q, &b)| *q = b as i8);
            }
            Format::Q4_0 => {
                scales[0] = f16_at(0);
                for (j, &b) in src[2..].iter().enumerate() {
                    q[j] = (b & 0x0F) as i8 - 8;
                    q[j + 16] = (b >> 4) as i8 - 8;
                }
            }
            Format::Q5_0 => {
                scales[0] = f16_at(0);
                let high = u32::from_le_bytes([src[2], src[3], src[4], src[5]]);
                for (j, &b) in src[6..].iter().enumerate() {
                    let (h0, h1) = (((high >> j) & 1) << 4, ((high >> (j + 16)) & 1) << 4);
                    q[j] = ((b & 0x0F) as u32 | h0) as i8 - 16;
                    q[j + 16] = ((b >> 4) as u32 | h1) as i8 - 16;
                }
            }
            Format::Q4K | Format::Q5K => {
                let (d, dmin) = (f16_at(0), f16_at(2));
                let packed = &src[4..16];
                let (high, low) = if self == Format::Q5K { (&src[16..48], &src[48..]) } else { (&[][..], &src[16..]) };
                for chunk in 0..4 {
                    for half in 0..2 {
                        let sub = 2 * chunk + half;
                        let (sc, m) = scale_min_k4(sub, packed);
                        scales[sub] = d * sc as f32;
                        offsets[sub] = -(dmin * m as f32);
                        for l in 0..32 {
                            let nibble = if half == 0 { low[32 * chunk + l] & 0x0F } else { low[32 * chunk + l] >> 4 };
                            let fifth = high.get(l).map_or(0, |h| ((h >> sub) & 1) << 4);
                            q[32 * sub + l] = (nibble | fifth) as i8;
                        }
                    }
                }
            }
            Format::Q6K => {
                let (low, high, sub_scales, d) = (&src[..128], &src[128..192], &src[192..208], f16_at(208));
                for (s, &sc) in sub_scales.iter().enumerate() {
                    scales[s] = d * sc as i8 as f32;
                }
                for half in 0..2 {
                    let (low, high, q) = (&low[64 * half..], &high[32 * half..], &mut q[128 * half..]);
                    for l in 0..32 {
                        let six = |nibble: u8, shift: usize| (nibble | ((high[l] >> shift) & 3) << 4) as i8 - 32;
                        q[l] = six(low[l] & 0x0F, 0);
                        q[l + 32] = six(low[l + 32] & 0x0F, 2);
                        q[l + 64] = six(low[l] >> 4, 4);
                        q[l + 96] = six(low[l + 32] >> 4, 6);
                    }
                }
            }
        }
    }
}

/// Scale and minimum of sub-block `j` from the k-quants' 12 packed bytes of 6-bit values.
fn scale_min_k4(j: usize, q: &[u8]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        ((q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4))
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
    /// Bytes: one signed byte each, pairs in order. Nibbles: one nibble each (`q + bias`),
    /// pair `p` in the low nibbles and pair `p + 8` in the high nibbles of the same 16 bytes.
    qs: Vec<u8>,
    /// Per (group, block, scale of the block, lane): the weights' scale.
    scales: Vec<f32>,
    /// Per (group, block, lane): the weights' offset; empty for formats without one.
    offsets: Vec<f32>,
}

impl Interleaved {
    /// From the GGUF bytes of a `rows × cols` matrix (`rows` a multiple of 8).
    pub fn from_gguf_bytes(isa: Isa, format: Format, bytes: &[u8], rows: usize, cols: usize) -> Self {
        let (block_weights, block_bytes) = format.gguf_block();
        assert!(rows.is_multiple_of(LANES) && cols.is_multiple_of(block_weights));
        let (blocks, gguf_blocks) = (cols / BLOCK, cols / block_weights);
        assert_eq!(bytes.len(), rows * gguf_blocks * block_bytes);
        let per_block = format.scales_per_block();
        let mut this = Self {
            isa,
            format,
            rows,
            cols,
            qs: vec![0u8; rows / LANES * blocks * format.group_block_bytes()],
            scales: vec![0f32; rows * blocks * per_block],
            offsets: vec![0f32; if format.has_offsets() { rows * blocks } else { 0 }],
        };
        let mut q = vec![0i8; block_weights];
        let mut scales = vec![0f32; block_weights / BLOCK * per_block];
        let mut offsets = vec![0f32; block_weights / BLOCK];
        for row in 0..rows {
            let (group, lane) = (row / LANES, row % LANES);
            for g in 0..gguf_blocks {
                let src = &bytes[(row * gguf_blocks + g) * block_bytes..][..block_bytes];
                format.decode(src, &mut q, &mut scales, &mut offsets);
                for (sub, q) in q.chunks_exact(BLOCK).enumerate() {
                    let gb = group * blocks + g * block_weights / BLOCK + sub;
                    for s in 0..per_block {
                        this.scales[(gb * per_block + s) * LANES + lane] = scales[sub * per_block + s];
                    }
                    if format.has_offsets() {
                        this.offsets[gb * LANES + lane] = offsets[sub];
                    }
                    for (e, &v) in q.iter().enumerate() {
                        this.store(gb, e, lane, v);
                    }
                }
            }
        }
        this
    }

    /// Bytes the rewritten weights take in memory.
    pub fn resident_bytes(&self) -> usize {
        self.qs.len() + 4 * (self.scales.len() + self.offsets.len())
    }

    /// Byte index and nibble shift (0 for bytes) of weight `element` of `lane` in a (group, block).
    fn position(&self, group_block: usize, element: usize, lane: usize) -> (usize, u32) {
        let (pair, within) = (element / PAIR, element % PAIR);
        let base = group_block * self.format.group_block_bytes();
        if self.format.nibbles() {
            let (chunk, shift) = if pair < PAIRS / 2 { (pair, 0) } else { (pair - PAIRS / 2, 4) };
            (base + chunk * LANES * PAIR + lane * PAIR + within, shift)
        } else {
            (base + pair * LANES * PAIR + lane * PAIR + within, 0)
        }
    }

    fn store(&mut self, group_block: usize, element: usize, lane: usize, value: i8) {
        let (i, shift) = self.position(group_block, element, lane);
        if self.format.nibbles() {
            self.qs[i] |= ((value + self.format.nibble_bias()) as u8) << shift;
        } else {
            self.qs[i] = value as u8;
        }
    }

    fn load(&self, group_block: usize, element: usize, lane: usize) -> i8 {
        let (i, shift) = self.position(group_block, element, lane);
        if self.format.nibbles() {
            ((self.qs[i] >> shift) & 0x0F) as i8 - self.format.nibble_bias()
        } else {
            self.qs[i] as i8
        }
    }

    pub fn dequantize_row(&self, row: usize, out: &mut [f32]) {
        let (group, lane) = (row / LANES, row % LANES);
        let per_block = self.format.scales_per_block();
        for (b, out) in out.chunks_exact_mut(BLOCK).enumerate() {
            let gb = group * (self.cols / BLOCK) + b;
            let offset = self.offsets.get(gb * LANES + lane);
            for (e, o) in out.iter_mut().enumerate() {
                let scale = self.scales[(gb * per_block + e * per_block / BLOCK) * LANES + lane];
                let weight = scale * self.load(gb, e, lane) as f32;
                *o = offset.map_or(weight, |offset| weight + offset);
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
                let w: [__m256i; PAIRS] = if self.format.nibbles() {
                    let (low, bias) = (_mm_set1_epi8(0x0F), _mm_set1_epi8(self.format.nibble_bias()));
                    std::array::from_fn(|p| {
                        let packed = chunk(p % (PAIRS / 2));
                        let nibbles = if p < PAIRS / 2 { packed } else { _mm_srli_epi16(packed, 4) };
                        _mm256_cvtepi8_epi16(_mm_sub_epi8(_mm_and_si128(nibbles, low), bias))
                    })
                } else {
                    std::array::from_fn(|p| _mm256_cvtepi8_epi16(chunk(p)))
                };
                let per_block = self.format.scales_per_block();
                let scales = self.scales.as_ptr().add(gb * per_block * LANES);
                let (first, second) = (_mm256_loadu_ps(scales), _mm256_loadu_ps(scales.add((per_block - 1) * LANES)));
                let offset = self.format.has_offsets().then(|| _mm256_loadu_ps(self.offsets.as_ptr().add(gb * LANES)));
                for (r, acc) in acc.iter_mut().enumerate().take(tile) {
                    let row = tile_start + r;
                    let xq = x.qs.as_ptr().add(row * self.cols + b * BLOCK);
                    // The block's two halves apart, for Q6_K's scale per 16 weights.
                    let (mut low, mut high) = (_mm256_setzero_si256(), _mm256_setzero_si256());
                    for (p, &wp) in w.iter().enumerate() {
                        let two = _mm256_set1_epi32((xq.add(p * PAIR) as *const i32).read_unaligned());
                        if p < PAIRS / 2 {
                            low = pair_dot(low, two, wp);
                        } else {
                            high = pair_dot(high, two, wp);
                        }
                    }
                    let weighted = if per_block == 2 {
                        _mm256_fmadd_ps(_mm256_cvtepi32_ps(high), second, _mm256_mul_ps(_mm256_cvtepi32_ps(low), first))
                    } else {
                        _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(low, high)), first)
                    };
                    *acc = _mm256_fmadd_ps(weighted, _mm256_set1_ps(x.scales[row * blocks + b]), *acc);
                    if let Some(offset) = offset {
                        *acc = _mm256_fmadd_ps(offset, _mm256_set1_ps(x.sums[row * blocks + b]), *acc);
                    }
                }
            }
            for (r, acc) in acc.iter().enumerate().take(tile) {
                _mm256_storeu_ps(out.add((tile_start + r) * self.rows + group * LANES), *acc);
            }
        }
    }

    /// The kernel of `group` in wasm SIMD, compiled once per shape of format (nibbles or
    /// bytes, one scale per block or two, offsets or none) so that each inner loop carries only
    /// its own work: V8 keeps fewer values live and spills less.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    unsafe fn group_wasm(&self, group: usize, x: &QuantizedRows, out: *mut f32) {
        // <NIBBLES, HALVES, OFFSETS>: what each format's blocks hold (`Format::decode`).
        match self.format {
            Format::Q8_0 | Format::Q5_0 => self.group_wasm_as::<false, false, false>(group, x, out),
            Format::Q4_0 => self.group_wasm_as::<true, false, false>(group, x, out),
            Format::Q4K => self.group_wasm_as::<true, false, true>(group, x, out),
            Format::Q5K => self.group_wasm_as::<false, false, true>(group, x, out),
            Format::Q6K => self.group_wasm_as::<false, true, false>(group, x, out),
        }
    }

    /// `group` in wasm SIMD: lanes 0–3 and 4–7 of the group in two registers. Byte-wide
    /// weights are sign-extended straight from memory in each row's loop (`v128.load8x8_s`, one
    /// instruction): decoded once per block instead, 32 registers' worth of weights spill to the
    /// stack in V8, and a single row (decoding) pays the decode on its own. Nibbles take more
    /// work to unpack, so they are unpacked once per block. `HALVES`: a scale per 16 weights
    /// (Q6_K); `OFFSETS`: the k-quants' minimums.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(always)]
    unsafe fn group_wasm_as<const NIBBLES: bool, const HALVES: bool, const OFFSETS: bool>(
        &self,
        group: usize,
        x: &QuantizedRows,
        out: *mut f32,
    ) {
        use std::arch::wasm32::*;
        debug_assert_eq!(
            (NIBBLES, HALVES, OFFSETS),
            (self.format.nibbles(), self.format.scales_per_block() == 2, self.format.has_offsets())
        );
        let blocks = self.cols / BLOCK;
        let per_block = if HALVES { 2 } else { 1 };
        let halves = |v: v128| [i16x8_extend_low_i8x16(v), i16x8_extend_high_i8x16(v)];
        for tile_start in (0..x.rows).step_by(ROW_TILE) {
            let tile = ROW_TILE.min(x.rows - tile_start);
            let mut acc = [[f32x4_splat(0.0); 2]; ROW_TILE];
            for b in 0..blocks {
                let gb = group * blocks + b;
                let wq = self.qs.as_ptr().add(gb * self.format.group_block_bytes());
                let unpacked: [[v128; 2]; PAIRS] = if NIBBLES {
                    let (low, bias) = (i8x16_splat(0x0F), i8x16_splat(self.format.nibble_bias()));
                    std::array::from_fn(|p| {
                        let packed = v128_load(wq.add((p % (PAIRS / 2)) * LANES * PAIR) as *const v128);
                        let nibbles = if p < PAIRS / 2 { packed } else { u16x8_shr(packed, 4) };
                        halves(i8x16_sub(v128_and(nibbles, low), bias))
                    })
                } else {
                    [[i32x4_splat(0); 2]; PAIRS]
                };
                let lanes = |v: *const f32| [v128_load(v as *const v128), v128_load(v.add(4) as *const v128)];
                let scales = self.scales.as_ptr().add(gb * per_block * LANES);
                let (first, second) = (lanes(scales), lanes(scales.add((per_block - 1) * LANES)));
                let offset = if OFFSETS { lanes(self.offsets.as_ptr().add(gb * LANES)) } else { first };
                for (r, acc) in acc.iter_mut().enumerate().take(tile) {
                    let row = tile_start + r;
                    let xq = x.qs.as_ptr().add(row * self.cols + b * BLOCK);
                    let dot = if NIBBLES {
                        wasm_block_dot::<HALVES>(xq, |p| unpacked[p])
                    } else {
                        wasm_block_dot::<HALVES>(xq, |p| {
                            let bytes = wq.add(p * LANES * PAIR) as *const i8;
                            [i16x8_load_extend_i8x8(bytes), i16x8_load_extend_i8x8(bytes.add(LANES))]
                        })
                    };
                    let xs = f32x4_splat(x.scales[row * blocks + b]);
                    for h in 0..2 {
                        let weighted = if HALVES {
                            let low = f32x4_mul(f32x4_convert_i32x4(dot[0][h]), first[h]);
                            f32x4_add(f32x4_mul(f32x4_convert_i32x4(dot[1][h]), second[h]), low)
                        } else {
                            f32x4_mul(f32x4_convert_i32x4(dot[0][h]), first[h])
                        };
                        acc[h] = f32x4_add(f32x4_mul(weighted, xs), acc[h]);
                        if OFFSETS {
                            let sum = f32x4_splat(x.sums[row * blocks + b]);
                            acc[h] = f32x4_add(f32x4_mul(offset[h], sum), acc[h]);
                        }
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

/// One row's 16-bit activations against a block of eight weight rows, as i32 sums of lanes
/// 0–3 and 4–7: `weight(p)` gives pair `p`'s weights of those lanes as i16. With `HALVES` the
/// block's two halves are summed apart (`[0]` and `[1]`, for Q6_K's scale per 16 weights),
/// else all in `[0]`.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
unsafe fn wasm_block_dot<const HALVES: bool>(
    xq: *const i16,
    weight: impl Fn(usize) -> [std::arch::wasm32::v128; 2],
) -> [[std::arch::wasm32::v128; 2]; 2] {
    use std::arch::wasm32::*;
    let mut dot = [[i32x4_splat(0); 2]; 2];
    for p in 0..PAIRS {
        let wp = weight(p);
        let two = i32x4_splat((xq.add(p * PAIR) as *const i32).read_unaligned());
        let half = &mut dot[if HALVES { p / (PAIRS / 2) } else { 0 }];
        half[0] = i32x4_add(half[0], i32x4_dot_i16x8(two, wp[0]));
        half[1] = i32x4_add(half[1], i32x4_dot_i16x8(two, wp[1]));
    }
    dot
}

/// Activation rows as 16-bit blocks of 32 with one f32 scale each, and each block's sum (what
/// a weight block's offset multiplies).
struct QuantizedRows {
    rows: usize,
    qs: Vec<i16>,
    scales: Vec<f32>,
    sums: Vec<f32>,
}

impl QuantizedRows {
    fn new(xs: &[f32], rows: usize, cols: usize) -> Self {
        let mut qs = vec![0i16; rows * cols];
        let mut scales = vec![0f32; rows * cols / BLOCK];
        let mut sums = vec![0f32; rows * cols / BLOCK];
        let blocks = xs.chunks_exact(BLOCK).zip(qs.chunks_exact_mut(BLOCK));
        for ((x, q), (scale, sum)) in blocks.zip(scales.iter_mut().zip(sums.iter_mut())) {
            let amax = x.iter().fold(0f32, |m, v| m.max(v.abs()));
            let d = amax / i16::MAX as f32;
            let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
            for (q, &v) in q.iter_mut().zip(x) {
                *q = (v * inv).round() as i16;
            }
            *scale = d;
            // The sum of the activations as rounded, so that an offset meets what the dot did.
            *sum = d * q.iter().map(|&q| q as i32).sum::<i32>() as f32;
        }
        Self { rows, qs, scales, sums }
    }
}

#[cfg(test)]
mod tests {
    use candle_core::quantized::QTensor;
    use candle_core::{Device, Tensor};
    use rand::{Rng, SeedableRng};

    use super::*;

    /// Both instruction sets, every batch size, against the f32 product with the dequantized
    /// weights: 16-bit activations leave errors far below Q8_0's own.
    #[test]
    fn matches_dequantized_reference_on_each_isa_and_format() {
        let Some(best) = detect() else { return };
        for dtype in [GgmlDType::Q8_0, GgmlDType::Q4_0, GgmlDType::Q5_0, GgmlDType::Q4K, GgmlDType::Q5K, GgmlDType::Q6K]
        {
            check(best, Format::from_dtype(dtype).unwrap(), dtype);
        }
    }

    fn check(best: Isa, format: Format, dtype: GgmlDType) {
        // SmolLM2's width where the block size allows it.
        let (rows, cols) = (24, if dtype.block_size() == 256 { 512 } else { 576 });
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
