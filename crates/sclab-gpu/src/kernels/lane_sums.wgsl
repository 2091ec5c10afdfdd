// The matrix product's per-row sums of its LANES partial dots, through workgroup memory: works
// on every adapter. Lane 0 of each weight row gets the row's sums (a tree: lane i adds lane
// i + 4, then i + 2, then i + 1).

var<workgroup> partial: array<f32, ROWS * WORKGROUP>;

fn sum_lanes(acc: array<f32, ROWS>, t: u32) -> array<f32, ROWS> {
    let lane = t % LANES;
    for (var r = 0u; r < ROWS; r++) {
        partial[r * WORKGROUP + t] = acc[r];
    }
    workgroupBarrier();
    for (var stride = LANES / 2u; stride > 0u; stride >>= 1u) {
        if (lane < stride) {
            for (var r = 0u; r < ROWS; r++) {
                partial[r * WORKGROUP + t] += partial[r * WORKGROUP + t + stride];
            }
        }
        workgroupBarrier();
    }
    var sums: array<f32, ROWS>;
    for (var r = 0u; r < ROWS; r++) {
        sums[r] = partial[r * WORKGROUP + t];
    }
    return sums;
}
