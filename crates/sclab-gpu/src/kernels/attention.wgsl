// Causal attention of new rows over a paged KV cache: `scores` (q·k / √d, masked beyond each
// row's own position), a softmax over each (row, head) (softmax.wgsl), then `values`. A row's
// cached position p lives in page page_table[table + p / PAGE], slot p % PAGE.

struct Params {
    rows: u32,
    heads: u32,
    kv_heads: u32,
    head_dim: u32,
    // Scores per (row, head): the longest sequence of the batch.
    span: u32,
    scale: f32,
    // Values per row of q (a q | k | v row).
    q_stride: u32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> keys: array<f32>;
@group(0) @binding(2) var<storage, read> vals: array<f32>;
// Per row: its position, the offset of its sequence's page table.
@group(0) @binding(3) var<storage, read> row_info: array<u32>;
@group(0) @binding(4) var<storage, read> page_table: array<u32>;
@group(0) @binding(5) var<storage, read_write> scores: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;
@group(0) @binding(7) var<uniform> p: Params;

const PAGE: u32 = 16u;

fn slot(table: u32, pos: u32) -> u32 {
    return page_table[table + pos / PAGE] * PAGE + pos % PAGE;
}

@compute @workgroup_size(64)
fn scores_main(@builtin(global_invocation_id) id: vec3<u32>) {
    let pos = id.x;
    let row = id.y / p.heads;
    let head = id.y % p.heads;
    if (row >= p.rows || pos >= p.span) {
        return;
    }
    var s = -3.4e38;
    if (pos <= row_info[2u * row]) {
        let kv_head = head / (p.heads / p.kv_heads);
        let k = slot(row_info[2u * row + 1u], pos) * p.kv_heads * p.head_dim + kv_head * p.head_dim;
        let qi = row * p.q_stride + head * p.head_dim;
        var acc = 0.0;
        for (var i = 0u; i < p.head_dim; i++) {
            acc += q[qi + i] * keys[k + i];
        }
        s = acc * p.scale;
    }
    scores[id.y * p.span + pos] = s;
}

@compute @workgroup_size(64)
fn values_main(@builtin(global_invocation_id) id: vec3<u32>) {
    let d = id.x;
    let row = id.y / p.heads;
    let head = id.y % p.heads;
    if (row >= p.rows || d >= p.head_dim) {
        return;
    }
    let kv_head = head / (p.heads / p.kv_heads);
    let table = row_info[2u * row + 1u];
    var acc = 0.0;
    for (var pos = 0u; pos <= row_info[2u * row]; pos++) {
        let v = slot(table, pos) * p.kv_heads * p.head_dim + kv_head * p.head_dim + d;
        acc += scores[id.y * p.span + pos] * vals[v];
    }
    out[(row * p.heads + head) * p.head_dim + d] = acc;
}
