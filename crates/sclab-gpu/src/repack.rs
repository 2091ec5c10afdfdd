//! GGUF block formats → the GPU's layouts (matrix.rs): 32-weight blocks of 32-bit words plus f32
//! scales. The formats the kernels read as they are keep their bits (F32, Q8_0, Q4_0, Q4_1);
//! the others become one of those, or one of two 8-bit layouts kept for them, holding the same
//! values: F16 → F32; Q5_0 → Q8_0 (each 5-bit value minus 16 as a byte); Q4_K → Q4_1 and Q5_K →
//! Q8Min (each 32-weight sub-block's 6-bit scale and minimum multiplied out by the super-block's,
//! as ggml does); Q6_K → Q8Halves (its 16-weight scales multiplied out). Dequantizing the result
//! gives ggml's values to f32 rounding (candle's dequantization is the tests' reference).

use candle_core::quantized::GgmlDType;
use half::f16;

/// The GPU's block layouts (`FORMAT` in dequant.wgsl).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightFormat {
    F32,
    /// 8-bit values times the block's scale.
    Q8_0,
    /// 4-bit values minus 8, times the scale.
    Q4_0,
    /// 4-bit values times the scale, plus the minimum.
    Q4_1,
    /// 8-bit values times the scale, plus the minimum (Q5_K's sub-blocks).
    Q8Min,
    /// 8-bit values times a scale per 16 (Q6_K's).
    Q8Halves,
}

impl WeightFormat {
    pub const ALL: [WeightFormat; 6] = [
        WeightFormat::F32,
        WeightFormat::Q8_0,
        WeightFormat::Q4_0,
        WeightFormat::Q4_1,
        WeightFormat::Q8Min,
        WeightFormat::Q8Halves,
    ];

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
            WeightFormat::Q8Min => 4,
            WeightFormat::Q8Halves => 5,
        }
    }
}

/// The GPU layout a GGUF format becomes, or `None` where the kernels have none.
pub fn gpu_format(dtype: GgmlDType) -> Option<WeightFormat> {
    use GgmlDType as D;
    Some(match dtype {
        D::F32 | D::F16 => WeightFormat::F32,
        D::Q8_0 | D::Q5_0 => WeightFormat::Q8_0,
        D::Q4_0 => WeightFormat::Q4_0,
        D::Q4_1 | D::Q4K => WeightFormat::Q4_1,
        D::Q5K => WeightFormat::Q8Min,
        D::Q6K => WeightFormat::Q8Halves,
        _ => return None,
    })
}

/// A matrix in its GPU layout.
pub struct Repacked {
    pub format: WeightFormat,
    pub words: Vec<u32>,
    pub scales: Vec<f32>,
}

/// The words and scales of a `rows × cols` matrix from its GGUF bytes in `dtype` (a format
/// [`gpu_format`] takes; `cols` a multiple of the format's block).
pub fn repack(dtype: GgmlDType, rows: usize, cols: usize, bytes: &[u8]) -> Repacked {
    let format = gpu_format(dtype).unwrap_or_else(|| panic!("the GPU has no layout for {dtype:?}"));
    assert!(cols.is_multiple_of(dtype.block_size().max(32)), "rows of {cols} are not whole {dtype:?} blocks of 32");
    let blocks = rows * cols / dtype.block_size();
    assert_eq!(bytes.len(), blocks * dtype.type_size(), "{dtype:?} matrix of {rows} × {cols}");
    let mut out = Repacked { format, words: Vec::with_capacity(rows * cols / 4), scales: Vec::new() };
    for block in bytes.chunks_exact(dtype.type_size()) {
        match dtype {
            GgmlDType::F32 => out.words.extend(block.chunks_exact(4).map(word)),
            GgmlDType::F16 => out.words.extend(block.chunks_exact(2).map(|b| half(b).to_bits())),
            GgmlDType::Q8_0 | GgmlDType::Q4_0 => {
                out.scales.push(half(block));
                out.words.extend(block[2..].chunks_exact(4).map(word));
            }
            GgmlDType::Q4_1 => {
                out.scales.extend([half(block), half(&block[2..])]);
                out.words.extend(block[4..].chunks_exact(4).map(word));
            }
            GgmlDType::Q5_0 => q5_0(&mut out, block),
            GgmlDType::Q4K => q4_k(&mut out, block),
            GgmlDType::Q5K => q5_k(&mut out, block),
            GgmlDType::Q6K => q6_k(&mut out, block),
            other => unreachable!("{other:?} has no GPU layout"),
        }
    }
    out
}

// The words are little-endian and the GGUF fields unaligned.
fn word(b: &[u8]) -> u32 {
    bytemuck::pod_read_unaligned::<u32>(&b[..4])
}

fn half(b: &[u8]) -> f32 {
    f16::from_bits(bytemuck::pod_read_unaligned::<u16>(&b[..2])).to_f32()
}

/// 32 byte values as 8 words (Q8_0's layout).
fn push_bytes(out: &mut Repacked, values: &[u8; 32]) {
    out.words.extend(values.chunks_exact(4).map(word));
}

/// 32 values below 16 as 4 words in Q4_1's order: byte i holds values i and i + 16.
fn push_nibbles(out: &mut Repacked, values: &[u8; 32]) {
    let bytes: [u8; 16] = std::array::from_fn(|i| values[i] | (values[i + 16] << 4));
    out.words.extend(bytes.chunks_exact(4).map(word));
}

/// Q5_0 (d, 32 high bits, 16 bytes of low nibbles): `(q - 16) · d` as Q8_0.
fn q5_0(out: &mut Repacked, block: &[u8]) {
    let (d, high, low) = (half(block), word(&block[2..6]), &block[6..22]);
    let mut values = [0u8; 32];
    for j in 0..16 {
        let high_0 = ((high >> j) << 4) & 0x10;
        let high_1 = (high >> (j + 12)) & 0x10;
        values[j] = (((low[j] & 0xF) as u32 | high_0) as i32 - 16) as i8 as u8;
        values[j + 16] = (((low[j] >> 4) as u32 | high_1) as i32 - 16) as i8 as u8;
    }
    out.scales.push(d);
    push_bytes(out, &values);
}

/// The 6-bit scale and minimum of sub-block `j` of a K-quant super-block.
fn scale_min(j: usize, scales: &[u8]) -> (f32, f32) {
    let (d, m) = if j < 4 {
        (scales[j] & 63, scales[j + 4] & 63)
    } else {
        ((scales[j + 4] & 0xF) | ((scales[j - 4] >> 6) << 4), (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4))
    };
    (d as f32, m as f32)
}

/// Q4_K (d, dmin, 12 bytes of scales, 128 bytes of nibbles; 256 weights): per 32-weight
/// sub-block `d·sc · q − dmin·m`, as Q4_1 with scale `d·sc` and minimum `−dmin·m`.
fn q4_k(out: &mut Repacked, block: &[u8]) {
    let (d, dmin, scales, qs) = (half(block), half(&block[2..]), &block[4..16], &block[16..144]);
    for chunk in 0..4 {
        let q = &qs[32 * chunk..][..32];
        for (half_index, shift) in [(0, 0), (1, 4)] {
            let (sc, m) = scale_min(2 * chunk + half_index, scales);
            let values: [u8; 32] = std::array::from_fn(|l| (q[l] >> shift) & 0xF);
            out.scales.extend([d * sc, -(dmin * m)]);
            push_nibbles(out, &values);
        }
    }
}

/// Q5_K (d, dmin, 12 bytes of scales, 32 bytes of fifth bits, 128 bytes of nibbles): per
/// sub-block `d·sc · q − dmin·m` with 5-bit `q`, as Q8Min.
fn q5_k(out: &mut Repacked, block: &[u8]) {
    let (d, dmin, scales) = (half(block), half(&block[2..]), &block[4..16]);
    let (qh, qs) = (&block[16..48], &block[48..176]);
    for chunk in 0..4 {
        let q = &qs[32 * chunk..][..32];
        for (half_index, shift) in [(0, 0), (1, 4)] {
            let (sc, m) = scale_min(2 * chunk + half_index, scales);
            let bit = 1u8 << (2 * chunk + half_index);
            let values: [u8; 32] =
                std::array::from_fn(|l| ((q[l] >> shift) & 0xF) + if qh[l] & bit != 0 { 16 } else { 0 });
            out.scales.extend([d * sc, -(dmin * m)]);
            push_bytes(out, &values);
        }
    }
}

/// Q6_K (128 bytes of low nibbles, 64 of high bit pairs, 16 signed scales, d; 256 weights):
/// weight n is `d·scales[n / 16] · (q − 32)`, as Q8Halves (one scale per 16 weights).
fn q6_k(out: &mut Repacked, block: &[u8]) {
    let (ql, qh, scales, d) = (&block[..128], &block[128..192], &block[192..208], half(&block[208..]));
    let mut values = [0i8; 256];
    for part in 0..2 {
        let (ql, qh) = (&ql[64 * part..], &qh[32 * part..]);
        for l in 0..32 {
            let q = |low: u8, high: u8| ((low | (high << 4)) as i8) - 32;
            values[128 * part + l] = q(ql[l] & 0xF, qh[l] & 3);
            values[128 * part + l + 32] = q(ql[l + 32] & 0xF, (qh[l] >> 2) & 3);
            values[128 * part + l + 64] = q(ql[l] >> 4, (qh[l] >> 4) & 3);
            values[128 * part + l + 96] = q(ql[l + 32] >> 4, (qh[l] >> 6) & 3);
        }
    }
    for sub in 0..8 {
        let scale = |i: usize| d * (scales[i] as i8) as f32;
        out.scales.extend([scale(2 * sub), scale(2 * sub + 1)]);
        let bytes: [u8; 32] = std::array::from_fn(|l| values[32 * sub + l] as u8);
        push_bytes(out, &bytes);
    }
}
