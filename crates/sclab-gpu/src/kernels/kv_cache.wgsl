// Appending the new rows' keys or values to the paged cache: row r's `width` values go to the
// slot of its position in its sequence's pages.

struct Params {
    rows: u32,
    width: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> pages: array<f32>;
@group(0) @binding(2) var<storage, read> row_info: array<u32>;
@group(0) @binding(3) var<storage, read> page_table: array<u32>;
@group(0) @binding(4) var<uniform> p: Params;

const PAGE: u32 = 16u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    let row = id.y;
    if (row >= p.rows || i >= p.width) {
        return;
    }
    let pos = row_info[2u * row];
    let table = row_info[2u * row + 1u];
    let slot = page_table[table + pos / PAGE] * PAGE + pos % PAGE;
    pages[slot * p.width + i] = src[row * p.width + i];
}
