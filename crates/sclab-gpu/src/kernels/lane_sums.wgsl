// The matrix product's per-row sums of its LANES partial dots, through workgroup memory: works
// on every adapter. Lane 0 of each weight row gets the row's sums (a tree: lane i adds lane
// i + 4, then i + 2, then i + 1).

var<workgroup> partial: array<f32, 512>;

fn sum_lanes(acc: array<f32, 8>, t: u32) -> array<f32, 8> {
    let lane = t % LANES;
    for (var r = 0u; r < ROWS; r++) {
        partial[r * WG + t] = acc[r];
    }
    workgroupBarrier();
    for (var stride = LANES / 2u; stride > 0u; stride >>= 1u) {
        if (lane < stride) {
            for (var r = 0u; r < ROWS; r++) {
                partial[r * WG + t] += partial[r * WG + t + stride];
            }
        }
        workgroupBarrier();
    }
    var sums: array<f32, 8>;
    for (var r = 0u; r < ROWS; r++) {
        sums[r] = partial[r * WG + t];
    }
    return sums;
}
