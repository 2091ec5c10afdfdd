// Appending the new rows' keys and values to the paged caches: row r's key (`width` values
// from `offset` in its row of `src`) and the value after it go to the slot of its position in
// its sequence's pages.

struct Params {
    rows: u32,
    width: u32,
    stride: u32,
    offset: u32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> keys: array<f32>;
@group(0) @binding(2) var<storage, read_write> vals: array<f32>;
@group(0) @binding(3) var<storage, read> row_info: array<u32>;
@group(0) @binding(4) var<storage, read> page_table: array<u32>;
@group(0) @binding(5) var<uniform> p: Params;


@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    let row = id.y;
    if (row >= p.rows || i >= 2u * p.width) {
        return;
    }
    let pos = row_info[2u * row];
    let table = row_info[2u * row + 1u];
    let slot = page_table[table + pos / PAGE] * PAGE + pos % PAGE;
    let value = src[row * p.stride + p.offset + i];
    if (i < p.width) {
        keys[slot * p.width + i] = value;
    } else {
        vals[slot * p.width + i - p.width] = value;
    }
}
