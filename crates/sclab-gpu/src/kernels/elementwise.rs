//! `elementwise.wgsl`: SwiGLU and adding in place.

use bytemuck::{Pod, Zeroable};

use super::{elementwise_groups, uniform, Kernels};

/// elementwise.wgsl's `Params`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct ElementwiseParams {
    n: u32,
    /// Values of one row of the second operand (a bias repeats every `period` values).
    period: u32,
    _pad: [u32; 2],
}
uniform!(ElementwiseParams);

impl Kernels {
    /// `out = silu(gate) · up` for `rows` rows of `width` values, from rows of gate | up.
    pub fn swiglu(
        &self,
        pass: &mut wgpu::ComputePass,
        gate_up: &wgpu::Buffer,
        out: &wgpu::Buffer,
        rows: u32,
        width: u32,
    ) {
        let n = rows * width;
        let params = ElementwiseParams { n, period: width, _pad: [0; 2] };
        self.dispatch(pass, &self.swiglu, &[out, gate_up], &params, elementwise_groups(n));
    }

    /// `acc += x` over `n` values, `x` repeating every `period` values (a bias on every row).
    pub fn add(&self, pass: &mut wgpu::ComputePass, acc: &wgpu::Buffer, x: &wgpu::Buffer, n: u32, period: u32) {
        let params = ElementwiseParams { n, period, _pad: [0; 2] };
        self.dispatch(pass, &self.add, &[acc, x], &params, elementwise_groups(n));
    }
}
