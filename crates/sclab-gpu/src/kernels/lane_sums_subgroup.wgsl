// The matrix product's per-row sums of its LANES partial dots, by subgroup shuffles: no
// workgroup memory, no barriers. Needs subgroups of at least LANES invocations, which hold a
// weight row's consecutive lanes; the butterfly (xor 4, 2, 1) adds in the same order as the
// workgroup-memory tree, and every lane ends with the sums. Used natively (wgpu's WGSL front end
// takes no `enable subgroups;`, which a browser would want first).

fn sum_lanes(acc: array<f32, ROWS>, t: u32) -> array<f32, ROWS> {
    var sums = acc;
    for (var r = 0u; r < ROWS; r++) {
        var v = sums[r];
        v += subgroupShuffleXor(v, 4u);
        v += subgroupShuffleXor(v, 2u);
        v += subgroupShuffleXor(v, 1u);
        sums[r] = v;
    }
    return sums;
}
