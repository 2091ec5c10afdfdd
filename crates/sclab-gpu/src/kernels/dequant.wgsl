// The GPU's block layouts (matrix.rs; repack.rs makes them from GGUF formats): every block holds
// 32 weights as 32-bit words. FORMAT is a pipeline-overridable constant: 0 = F32, 1 = Q8_0,
// 2 = Q4_0, 3 = Q4_1, 4 = Q8Min (8-bit · d + m), 5 = Q8Halves (8-bit · a scale per 16).

override FORMAT: u32 = 0u;

@group(0) @binding(1) var<storage, read> words: array<u32>;
@group(0) @binding(2) var<storage, read> scales: array<f32>;

fn words_per_block() -> u32 {
    switch FORMAT {
        case 0u: { return 32u; }
        case 1u, 4u, 5u: { return 8u; }
        default: { return 4u; }
    }
}

// The 32 weights of block `block` (counted over the whole matrix), four at a time.
fn dequantize(block: u32) -> array<vec4<f32>, 8> {
    var w: array<vec4<f32>, 8>;
    let base = block * words_per_block();
    switch FORMAT {
        case 0u: {
            for (var i = 0u; i < 8u; i++) {
                let at = base + 4u * i;
                w[i] = vec4<f32>(
                    bitcast<f32>(words[at]),
                    bitcast<f32>(words[at + 1u]),
                    bitcast<f32>(words[at + 2u]),
                    bitcast<f32>(words[at + 3u]),
                );
            }
        }
        case 1u, 4u, 5u: {
            // Q8_0: q · d; Q8Min: q · d + m; Q8Halves: q · d₀ for weights 0–15, q · d₁ after.
            var d = scales[block];
            var d_high = d;
            var m = 0.0;
            if (FORMAT == 4u) {
                d = scales[2u * block];
                d_high = d;
                m = scales[2u * block + 1u];
            } else if (FORMAT == 5u) {
                d = scales[2u * block];
                d_high = scales[2u * block + 1u];
            }
            for (var i = 0u; i < 8u; i++) {
                let word = bitcast<i32>(words[base + i]);
                let q = vec4<f32>(
                    f32(extractBits(word, 0u, 8u)),
                    f32(extractBits(word, 8u, 8u)),
                    f32(extractBits(word, 16u, 8u)),
                    f32(extractBits(word, 24u, 8u)),
                );
                w[i] = q * select(d, d_high, i >= 4u) + m;
            }
        }
        default: {
            // Q4_0 (value - 8) · d and Q4_1 value · d + m: byte i holds weights i and i + 16.
            var d = scales[block];
            var m = -8.0 * d;
            if (FORMAT == 3u) {
                d = scales[2u * block];
                m = scales[2u * block + 1u];
            }
            for (var i = 0u; i < 4u; i++) {
                let word = words[base + i];
                let low = vec4<f32>(
                    f32(extractBits(word, 0u, 4u)),
                    f32(extractBits(word, 8u, 4u)),
                    f32(extractBits(word, 16u, 4u)),
                    f32(extractBits(word, 24u, 4u)),
                );
                let high = vec4<f32>(
                    f32(extractBits(word, 4u, 4u)),
                    f32(extractBits(word, 12u, 4u)),
                    f32(extractBits(word, 20u, 4u)),
                    f32(extractBits(word, 28u, 4u)),
                );
                w[i] = low * d + m;
                w[i + 4u] = high * d + m;
            }
        }
    }
    return w;
}
