// Causal attention of new rows over a paged KV cache, one workgroup per (row, head): the scores
// q·k / √d of every cached position up to the row's own, their softmax, and the weighted sum of
// the values, in one dispatch. A row's cached position p lives in page page_table[table + p /
// PAGE], slot p % PAGE; `scores` is scratch of `span` values per (row, head).

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

var<workgroup> partial: array<f32, WORKGROUP>;

fn slot(table: u32, pos: u32) -> u32 {
    return page_table[table + pos / PAGE] * PAGE + pos % PAGE;
}

// The workgroup's maximum (is_max) or sum of `value`, on every thread.
fn reduce(value: f32, t: u32, is_max: bool) -> f32 {
    partial[t] = value;
    workgroupBarrier();
    for (var stride = WORKGROUP / 2u; stride > 0u; stride >>= 1u) {
        if (t < stride) {
            if (is_max) {
                partial[t] = max(partial[t], partial[t + stride]);
            } else {
                partial[t] += partial[t + stride];
            }
        }
        workgroupBarrier();
    }
    let result = partial[0];
    workgroupBarrier();
    return result;
}

@compute @workgroup_size(WORKGROUP)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
) {
    // (row, head) pairs beyond 65 535 workgroups continue in y.
    let index = wg.x + wg.y * groups.x;
    if (index >= p.rows * p.heads) {
        return;
    }
    let row = index / p.heads;
    let head = index % p.heads;
    let last = row_info[2u * row];
    let table = row_info[2u * row + 1u];
    let kv_head = head / (p.heads / p.kv_heads);
    let qi = row * p.q_stride + head * p.head_dim;
    let base = index * p.span;

    var row_max = -3.4e38;
    for (var pos = t; pos <= last; pos += WORKGROUP) {
        let k = slot(table, pos) * p.kv_heads * p.head_dim + kv_head * p.head_dim;
        var acc = 0.0;
        for (var i = 0u; i < p.head_dim; i++) {
            acc += q[qi + i] * keys[k + i];
        }
        let s = acc * p.scale;
        scores[base + pos] = s;
        row_max = max(row_max, s);
    }
    row_max = reduce(row_max, t, true);

    var sum = 0.0;
    for (var pos = t; pos <= last; pos += WORKGROUP) {
        let e = exp(scores[base + pos] - row_max);
        scores[base + pos] = e;
        sum += e;
    }
    sum = reduce(sum, t, false);
    // The exponentials written by other threads must be visible before they are read.
    storageBarrier();

    for (var d = t; d < p.head_dim; d += WORKGROUP) {
        var acc = 0.0;
        for (var pos = 0u; pos <= last; pos++) {
            let v = slot(table, pos) * p.kv_heads * p.head_dim + kv_head * p.head_dim + d;
            acc += scores[base + pos] * vals[v];
        }
        out[(row * p.heads + head) * p.head_dim + d] = acc / sum;
    }
}
