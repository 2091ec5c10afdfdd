// GGUF block formats, repacked to 32-bit words (see matrix.rs): every block holds 32 weights.
// FORMAT is a pipeline-overridable constant: 0 = F32, 1 = Q8_0, 2 = Q4_0, 3 = Q4_1.

override FORMAT: u32 = 0u;

@group(0) @binding(1) var<storage, read> words: array<u32>;
@group(0) @binding(2) var<storage, read> scales: array<f32>;

fn words_per_block() -> u32 {
    switch FORMAT {
        case 0u: { return 32u; }
        case 1u: { return 8u; }
        default: { return 4u; }
    }
}

// The 32 weights of block `block` (counted over the whole matrix).
fn dequantize(block: u32) -> array<f32, 32> {
    var w: array<f32, 32>;
    let base = block * words_per_block();
    switch FORMAT {
        case 0u: {
            for (var i = 0u; i < 32u; i++) {
                w[i] = bitcast<f32>(words[base + i]);
            }
        }
        case 1u: {
            let d = scales[block];
            for (var i = 0u; i < 8u; i++) {
                let word = bitcast<i32>(words[base + i]);
                for (var b = 0u; b < 4u; b++) {
                    w[4u * i + b] = f32(extractBits(word, 8u * b, 8u)) * d;
                }
            }
        }
        case 2u: {
            let d = scales[block];
            for (var i = 0u; i < 4u; i++) {
                let word = words[base + i];
                for (var b = 0u; b < 4u; b++) {
                    let byte = extractBits(word, 8u * b, 8u);
                    w[4u * i + b] = (f32(byte & 15u) - 8.0) * d;
                    w[4u * i + b + 16u] = (f32(byte >> 4u) - 8.0) * d;
                }
            }
        }
        default: {
            let d = scales[2u * block];
            let m = scales[2u * block + 1u];
            for (var i = 0u; i < 4u; i++) {
                let word = words[base + i];
                for (var b = 0u; b < 4u; b++) {
                    let byte = extractBits(word, 8u * b, 8u);
                    w[4u * i + b] = f32(byte & 15u) * d + m;
                    w[4u * i + b + 16u] = f32(byte >> 4u) * d + m;
                }
            }
        }
    }
    return w;
}
