//! Every kernel against a CPU reference on random inputs (relative error ≤ 1e-4 of the largest
//! value), on the platform's adapter: Mesa's lavapipe in CI. Every GGUF format the GPU takes is
//! checked against candle's dequantization of the same bytes, as the CPU engine reads them.
#![cfg(not(target_arch = "wasm32"))] // natively on Vulkan; sclab-lab/tests/gpu_browser.rs runs in Chromium

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::Device;
use pollster::block_on;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sclab_gpu::{rope_table, wgpu, AttentionShape, GpuContext, GpuMatrix, Kernels, PAGE};
use sclab_model::rope::{inverse_frequencies, RopeScaling};

const TOLERANCE: f32 = 1e-4;

fn gpu() -> (GpuContext, Kernels) {
    let ctx = block_on(GpuContext::new()).expect("a Vulkan adapter (Debian: mesa-vulkan-drivers)");
    let kernels = Kernels::new(&ctx);
    (ctx, kernels)
}

/// Encode one compute pass with `work`, submit it, and read `out` back.
fn run(
    (ctx, kernels): (&GpuContext, &Kernels),
    out: &wgpu::Buffer,
    len: usize,
    work: impl FnOnce(&mut wgpu::ComputePass),
) -> Vec<f32> {
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        work(&mut pass);
    }
    kernels.submit(encoder);
    block_on(ctx.read_f32(out, len)).unwrap()
}

fn assert_close(got: &[f32], want: &[f32], what: &str) {
    sclab_testkit::assert_close(got, want, TOLERANCE, what);
}

fn random(rng: &mut ChaCha8Rng, n: usize, range: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-range..range)).collect()
}

/// Every GGUF format the GPU takes: its own layouts, and those repacked into one (F16, Q5_0 and
/// the K-quants of the common Q4_K_M / Q5_K_M mixes).
const FORMATS: [GgmlDType; 9] = [
    GgmlDType::F32,
    GgmlDType::F16,
    GgmlDType::Q8_0,
    GgmlDType::Q4_0,
    GgmlDType::Q4_1,
    GgmlDType::Q5_0,
    GgmlDType::Q4K,
    GgmlDType::Q5K,
    GgmlDType::Q6K,
];

/// `cols`, or the next multiple of 256 for a K-quant (its super-blocks are 256 weights).
fn width(dtype: GgmlDType, cols: usize) -> usize {
    cols.next_multiple_of(dtype.block_size())
}

/// GGUF bytes of a random `rows × cols` matrix in `dtype`, quantized by candle as a converter
/// would, with its values as candle dequantizes them.
fn random_matrix(rng: &mut ChaCha8Rng, dtype: GgmlDType, rows: usize, cols: usize) -> (Vec<u8>, Vec<f32>) {
    // Rows of different magnitudes, so that blocks get different scales.
    let values: Vec<f32> =
        (0..rows * cols).map(|i| rng.random_range(-1f32..1.0) * (1.0 + (i / cols % 7) as f32)).collect();
    let tensor = candle_core::Tensor::from_vec(values, (rows, cols), &Device::Cpu).unwrap();
    let quantized = QTensor::quantize(&tensor, dtype).unwrap();
    let bytes = quantized.data().unwrap().into_owned();
    let values = quantized.dequantize(&Device::Cpu).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
    (bytes, values)
}

#[test]
#[ignore = "needs a Vulkan adapter: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn matmul_matches_the_dequantized_product_in_every_format() {
    let (ctx, preferred) = gpu();
    // The adapter's own kernels and the portable ones. Where the adapter offers subgroups the
    // matrix product must sum with them (Mesa's lavapipe does), or that variant goes untested.
    assert_eq!(preferred.uses_subgroups(), ctx.has_subgroups());
    if ctx.info.name.contains("llvmpipe") {
        assert!(preferred.uses_subgroups(), "lavapipe offers subgroups of 8 or more");
    }
    for kernels in [preferred, Kernels::portable(&ctx)] {
        matmul_matches(&ctx, &kernels);
    }
}

fn matmul_matches(ctx: &GpuContext, kernels: &Kernels) {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    // 576 is SmolLM2's width; m = 1 is decoding, 5 the K samples, 11 spans two row tiles.
    for format in FORMATS {
        let (rows, cols) = (200, width(format, 576));
        let (bytes, w) = random_matrix(&mut rng, format, rows, cols);
        for matrix in whole_and_split(ctx, format, rows, cols, &bytes) {
            for m in [1, 5, 11] {
                let x = random(&mut rng, m * cols, 2.0);
                let want: Vec<f32> = (0..m * rows)
                    .map(|o| {
                        let (i, j) = (o / rows, o % rows);
                        (0..cols).map(|c| x[i * cols + c] as f64 * w[j * cols + c] as f64).sum::<f64>() as f32
                    })
                    .collect();
                let xb = ctx.storage_f32("x", &x).unwrap();
                let out = ctx.zeros("out", m * rows).unwrap();
                let got = run((ctx, kernels), &out, m * rows, |pass| {
                    kernels.matmul(pass, &xb, &matrix, &out, m as u32, false)
                });
                assert_close(
                    &got,
                    &want,
                    &format!(
                        "{format:?} m={m} in {} parts, subgroups {}",
                        matrix.parts.len(),
                        kernels.uses_subgroups()
                    ),
                );
                // Accumulating adds the product to what `out` holds (the residual stream).
                let twice: Vec<f32> = want.iter().map(|v| 2.0 * v).collect();
                let got = run((ctx, kernels), &out, m * rows, |pass| {
                    kernels.matmul(pass, &xb, &matrix, &out, m as u32, true)
                });
                assert_close(&got, &twice, &format!("{format:?} m={m} accumulated"));
            }
        }
    }
}

/// The matrix in one buffer, and split into row ranges as for an adapter whose binding limit is
/// a third of its size.
fn whole_and_split(ctx: &GpuContext, format: GgmlDType, rows: usize, cols: usize, bytes: &[u8]) -> [GpuMatrix; 2] {
    let whole = GpuMatrix::upload(ctx, "w", format, rows, cols, bytes).unwrap();
    let third = whole.parts[0].words.size() / 3 + 4;
    let split = GpuMatrix::upload_in_parts(ctx, "w", format, rows, cols, bytes, third).unwrap();
    assert_eq!((whole.parts.len(), split.parts.len()), (1, 4), "{format:?}");
    [whole, split]
}

#[test]
#[ignore = "needs a Vulkan adapter: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn stacked_matrices_multiply_as_one_in_one_format_or_several() {
    let (ctx, kernels) = gpu();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    // Q5_0 becomes Q8_0's layout, so those two still share one buffer.
    use GgmlDType::*;
    for (formats, parts) in [([Q8_0, Q8_0], 1), ([Q5_0, Q8_0], 1), ([Q8_0, Q4_1], 2), ([Q4K, Q6K], 2)] {
        let cols = width(formats[0], 96);
        let (rows, mut pieces, mut w) = ([40, 24], Vec::new(), Vec::new());
        for (format, r) in formats.into_iter().zip(rows) {
            let (bytes, values) = random_matrix(&mut rng, format, r, cols);
            pieces.push((format, r, bytes));
            w.extend(values);
        }
        let matrix = GpuMatrix::stacked(&ctx, "w", cols, &pieces).unwrap();
        assert_eq!(matrix.parts.len(), parts, "{formats:?}");
        let (m, n) = (3, 64);
        let x = random(&mut rng, m * cols, 2.0);
        let want: Vec<f32> = (0..m * n)
            .map(|o| (0..cols).map(|c| x[o / n * cols + c] as f64 * w[o % n * cols + c] as f64).sum::<f64>() as f32)
            .collect();
        let (xb, out) = (ctx.storage_f32("x", &x).unwrap(), ctx.zeros("out", m * n).unwrap());
        let got = run((&ctx, &kernels), &out, m * n, |pass| kernels.matmul(pass, &xb, &matrix, &out, m as u32, false));
        assert_close(&got, &want, &format!("{formats:?}"));
    }
}

#[test]
#[ignore = "needs a Vulkan adapter: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn embedding_gathers_dequantized_rows() {
    let (ctx, kernels) = gpu();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for format in FORMATS {
        let (rows, cols) = (50, width(format, 96));
        let (bytes, w) = random_matrix(&mut rng, format, rows, cols);
        for matrix in whole_and_split(&ctx, format, rows, cols, &bytes) {
            let ids = [7u32, 0, 49, 7, 20];
            let want: Vec<f32> = ids.iter().flat_map(|&id| w[id as usize * cols..][..cols].to_vec()).collect();
            let idb = ctx.storage_u32("ids", &ids).unwrap();
            let out = ctx.zeros("out", ids.len() * cols).unwrap();
            let got = run((&ctx, &kernels), &out, want.len(), |pass| kernels.embedding(pass, &idb, &matrix, &out, 5));
            assert_close(&got, &want, &format!("{format:?} in {} parts", matrix.parts.len()));
        }
    }
}

/// RMSNorm as the CPU engine computes it.
fn rms_norm(x: &[f32], weight: &[f32], eps: f32) -> Vec<f32> {
    x.chunks_exact(weight.len())
        .flat_map(|row| {
            let scale = 1.0 / (row.iter().map(|v| v * v).sum::<f32>() / weight.len() as f32 + eps).sqrt();
            row.iter().zip(weight).map(move |(v, w)| v * scale * w)
        })
        .collect()
}

#[test]
#[ignore = "needs a Vulkan adapter: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn the_normed_product_matches_rms_norm_then_the_product() {
    let (ctx, preferred) = gpu();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for kernels in [preferred, Kernels::portable(&ctx)] {
        for format in [GgmlDType::Q8_0, GgmlDType::Q4_1, GgmlDType::Q6K] {
            let (rows, cols) = (200, width(format, 576));
            let (bytes, w) = random_matrix(&mut rng, format, rows, cols);
            let matrix = GpuMatrix::upload(&ctx, "w", format, rows, cols, &bytes).unwrap();
            for m in [1, 11] {
                let (x, weight) = (random(&mut rng, m * cols, 3.0), random(&mut rng, cols, 1.5));
                let h = rms_norm(&x, &weight, 1e-5);
                let want: Vec<f32> = (0..m * rows)
                    .map(|o| {
                        (0..cols).map(|c| h[o / rows * cols + c] as f64 * w[o % rows * cols + c] as f64).sum::<f64>()
                            as f32
                    })
                    .collect();
                let (xb, wb) = (ctx.storage_f32("x", &x).unwrap(), ctx.storage_f32("norm", &weight).unwrap());
                let out = ctx.zeros("out", m * rows).unwrap();
                let got = run((&ctx, &kernels), &out, m * rows, |pass| {
                    kernels.norm_matmul(pass, &xb, (&wb, 1e-5), &matrix, &out, m as u32)
                });
                assert_close(&got, &want, &format!("{format:?} m={m} subgroups {}", kernels.uses_subgroups()));
            }
        }
    }
}

#[test]
#[ignore = "needs a Vulkan adapter: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn swiglu_and_add_match_the_cpu_engine() {
    let (ctx, kernels) = gpu();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    // Two rows of gate | up.
    let (gate, up) = (random(&mut rng, 2 * 1536, 6.0), random(&mut rng, 2 * 1536, 2.0));
    let want: Vec<f32> = gate.iter().zip(&up).map(|(g, u)| g / (1.0 + (-g).exp()) * u).collect();
    let gate_up: Vec<f32> = gate.chunks(1536).zip(up.chunks(1536)).flat_map(|(g, u)| [g, u].concat()).collect();
    let (gub, gb) = (ctx.storage_f32("gate_up", &gate_up).unwrap(), ctx.zeros("act", gate.len()).unwrap());
    let got = run((&ctx, &kernels), &gb, gate.len(), |p| kernels.swiglu(p, &gub, &gb, 2, 1536));
    assert_close(&got, &want, "swiglu");
    let ub = ctx.storage_f32("u", &up).unwrap();
    let want: Vec<f32> = want.iter().zip(&up).map(|(a, u)| a + u).collect();
    let got =
        run((&ctx, &kernels), &gb, gate.len(), |p| kernels.add(p, &gb, &ub, gate.len() as u32, gate.len() as u32));
    assert_close(&got, &want, "add");
}

#[test]
#[ignore = "needs a Vulkan adapter: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn attention_over_scattered_pages_matches_a_direct_softmax() {
    let (ctx, kernels) = gpu();
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    // SmolLM2's heads; 40 cached positions in pages 2, 0, 1 of the cache (out of order).
    let (heads, kv_heads, head_dim, span) = (9usize, 3usize, 64usize, 40usize);
    let kv_dim = kv_heads * head_dim;
    let pages = [2u32, 0, 1];
    let (keys, values) = (random(&mut rng, 3 * PAGE * kv_dim, 1.0), random(&mut rng, 3 * PAGE * kv_dim, 1.0));
    let slot = |pos: usize| pages[pos / PAGE] as usize * PAGE + pos % PAGE;
    // Two query rows of one sequence at positions 17 and 39, in rows wider than q (as q | k | v).
    let (positions, q_stride) = ([17usize, 39], heads * head_dim + 2 * kv_dim);
    let q = random(&mut rng, positions.len() * q_stride, 1.0);
    let scale = 1.0 / (head_dim as f32).sqrt();
    let mut want = Vec::new();
    for (row, &last) in positions.iter().enumerate() {
        for head in 0..heads {
            let (qh, kvh) = (&q[row * q_stride + head * head_dim..][..head_dim], head / (heads / kv_heads));
            let at = |pos: usize| slot(pos) * kv_dim + kvh * head_dim;
            let scores: Vec<f32> = (0..=last)
                .map(|pos| qh.iter().zip(&keys[at(pos)..][..head_dim]).map(|(a, b)| a * b).sum::<f32>() * scale)
                .collect();
            let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let sum: f32 = scores.iter().map(|s| (s - max).exp()).sum();
            want.extend(
                (0..head_dim)
                    .map(|d| (0..=last).map(|pos| (scores[pos] - max).exp() / sum * values[at(pos) + d]).sum::<f32>()),
            );
        }
    }
    let row_info: Vec<u32> = positions.iter().flat_map(|&p| [p as u32, 0]).collect();
    let buffers = (
        ctx.storage_f32("q", &q).unwrap(),
        ctx.storage_f32("keys", &keys).unwrap(),
        ctx.storage_f32("values", &values).unwrap(),
        ctx.storage_u32("rows", &row_info).unwrap(),
        ctx.storage_u32("pages", &pages).unwrap(),
        ctx.zeros("scores", positions.len() * heads * span).unwrap(),
        ctx.zeros("out", want.len()).unwrap(),
    );
    let (qb, kb, vb, rb, pb, sb, out) = &buffers;
    let shape = AttentionShape {
        rows: positions.len() as u32,
        heads: heads as u32,
        kv_heads: kv_heads as u32,
        head_dim: head_dim as u32,
        span: span as u32,
        q_stride: q_stride as u32,
    };
    let got = run((&ctx, &kernels), out, want.len(), |p| kernels.attention(p, qb, kb, vb, rb, pb, sb, out, shape));
    assert_close(&got, &want, "attention");
}

#[test]
#[ignore = "needs a Vulkan adapter: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn rope_rotates_as_the_cpu_engine_in_both_layouts() {
    let (ctx, kernels) = gpu();
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let (heads, head_dim, base) = (9, 64, 100_000f32);
    let positions = [0u32, 1, 17, 4000];
    let table = rope_table(&inverse_frequencies(head_dim, base, &RopeScaling::None), 4096);
    let tb = ctx.storage_f32("table", &table).unwrap();
    let pb = ctx.storage_u32("positions", &positions).unwrap();
    for halves in [false, true] {
        let data = random(&mut rng, positions.len() * heads * head_dim, 2.0);
        let mut want = data.clone();
        let half = head_dim / 2;
        for (row, &pos) in want.chunks_exact_mut(heads * head_dim).zip(&positions) {
            for head in row.chunks_exact_mut(head_dim) {
                for i in 0..half {
                    let f = 1.0 / base.powf(2.0 * i as f32 / head_dim as f32);
                    let (sin, cos) = (pos as f32 * f).sin_cos();
                    let (a, b) = if halves { (i, i + half) } else { (2 * i, 2 * i + 1) };
                    let (x0, x1) = (head[a], head[b]);
                    head[a] = x0 * cos - x1 * sin;
                    head[b] = x0 * sin + x1 * cos;
                }
            }
        }
        let db = ctx.storage_f32("data", &data).unwrap();
        let got = run((&ctx, &kernels), &db, data.len(), |p| {
            kernels.rope(
                p,
                &db,
                &pb,
                &tb,
                positions.len() as u32,
                heads as u32,
                head_dim as u32,
                (heads * head_dim) as u32,
                halves,
            )
        });
        assert_close(&got, &want, &format!("rope halves={halves}"));
    }
}

#[test]
#[ignore = "needs a Vulkan adapter: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn a_matrix_larger_than_a_binding_is_split_and_a_row_larger_is_refused() {
    let (mut ctx, _) = gpu();
    ctx.limits.max_storage_buffer_binding_size = 1024;
    let matrix = GpuMatrix::upload(&ctx, "token_embd", GgmlDType::F32, 32, 32, &[0u8; 32 * 32 * 4]).unwrap();
    let ranges: Vec<(usize, usize)> = matrix.parts.iter().map(|p| (p.first_row, p.rows)).collect();
    assert_eq!(ranges, vec![(0, 8), (8, 8), (16, 8), (24, 8)]);
    let err = GpuMatrix::upload(&ctx, "token_embd", GgmlDType::F32, 1, 512, &[0u8; 512 * 4]).err().unwrap();
    assert_eq!(err.to_string(), "one row of token_embd needs 2048 bytes in one binding; this adapter allows 1024");
}
