//! The compute pipelines, compiled once per device, and how each is dispatched. Each kernel
//! family's Rust sits beside its `.wgsl` file: its parameter block as a `#[repr(C)]` struct
//! that mirrors the WGSL `Params` struct field for field (bytes by `bytemuck`), and its
//! dispatch. A kernel's storage buffers are bound from binding 0 (attention names its bindings)
//! and its parameters are the uniform after them. The constants the kernels share with this
//! code are prepended to every module from one place ([`shared_constants`]).

mod attention;
mod binding;
mod elementwise;
mod embedding;
mod kv_cache;
mod matmul;
mod rope;
mod rows;

use std::cell::RefCell;

use binding::Bindings;

pub use attention::AttentionShape;
pub use kv_cache::StoreShape;
pub use rope::rope_table;

use crate::context::GpuContext;
use crate::repack::WeightFormat;

const DEQUANTIZE: &str = include_str!("dequant.wgsl");
const MATMUL: &str = include_str!("matmul.wgsl");
const MATMUL_INPUT: &str = include_str!("matmul_input.wgsl");
const MATMUL_INPUT_NORMED: &str = include_str!("matmul_input_normed.wgsl");
const LANE_SUMS: &str = include_str!("lane_sums.wgsl");
const LANE_SUMS_SUBGROUP: &str = include_str!("lane_sums_subgroup.wgsl");
const EMBEDDING: &str = include_str!("embedding.wgsl");
const ROPE: &str = include_str!("rope.wgsl");
const ELEMENTWISE: &str = include_str!("elementwise.wgsl");
const ATTENTION: &str = include_str!("attention.wgsl");
const KV_CACHE: &str = include_str!("kv_cache.wgsl");
const ROWS: &str = include_str!("rows.wgsl");

/// Positions per page of the KV cache.
pub const PAGE: usize = 16;
/// Threads per workgroup of every kernel.
const WORKGROUP: u32 = 64;
/// Activation rows one matmul workgroup takes.
const MATMUL_ROWS: u32 = 8;
/// Weight rows one matmul workgroup takes; each gets `WORKGROUP / MATMUL_WEIGHT_ROWS` lanes.
const MATMUL_WEIGHT_ROWS: u32 = 8;
/// WebGPU's guaranteed maximum workgroups per dimension.
const MAX_GROUPS: u32 = 65_535;

const FORMATS: usize = WeightFormat::ALL.len();

const _: () = assert!(WORKGROUP / MATMUL_WEIGHT_ROWS == 8, "lane_sums_subgroup.wgsl's butterfly sums eight lanes");

/// The WGSL names of the constants above, prepended to every module.
fn shared_constants() -> String {
    format!(
        "const WORKGROUP: u32 = {WORKGROUP}u;\nconst PAGE: u32 = {PAGE}u;\nconst ROWS: u32 = {MATMUL_ROWS}u;\n\
         const WEIGHT_ROWS: u32 = {MATMUL_WEIGHT_ROWS}u;\nconst MAX_GROUPS: u32 = {MAX_GROUPS}u;\n"
    )
}

/// A kernel's parameter block: the uniform a dispatch binds, mirroring a WGSL `Params` struct.
/// Uniform blocks are read in 16-byte rows, so every block fills whole rows (checked when the
/// type is declared with [`uniform!`]).
trait Params: bytemuck::Pod {}

macro_rules! uniform {
    ($($block:ty),*) => {
        $(
            const _: () = assert!(std::mem::size_of::<$block>() % 16 == 0, "a uniform block fills whole 16-byte rows");
            impl $crate::kernels::Params for $block {}
        )*
    };
}
use uniform;

pub struct Kernels {
    queue: wgpu::Queue,
    subgroups: bool,
    bindings: RefCell<Bindings>,
    /// Compute dispatches encoded so far (benchmarks report them per token).
    dispatches: std::cell::Cell<u64>,
    /// One pipeline per weight layout (`FORMAT` in dequant.wgsl).
    matmul: [wgpu::ComputePipeline; FORMATS],
    norm_matmul: [wgpu::ComputePipeline; FORMATS],
    embedding: [wgpu::ComputePipeline; FORMATS],
    rope: wgpu::ComputePipeline,
    swiglu: wgpu::ComputePipeline,
    add: wgpu::ComputePipeline,
    attention: wgpu::ComputePipeline,
    kv_store: wgpu::ComputePipeline,
    gather_rows: wgpu::ComputePipeline,
}

/// A module of the shared constants and `sources`, in order.
fn module(device: &wgpu::Device, label: &str, sources: &[&str]) -> wgpu::ShaderModule {
    let constants = shared_constants();
    let source: Vec<&str> = std::iter::once(constants.as_str()).chain(sources.iter().copied()).collect();
    device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(source.join("\n").into()),
    })
}

fn pipeline(
    device: &wgpu::Device,
    module: &wgpu::ShaderModule,
    entry: &str,
    constants: &[(&str, f64)],
) -> wgpu::ComputePipeline {
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(entry),
        layout: None,
        module,
        entry_point: Some(entry),
        compilation_options: wgpu::PipelineCompilationOptions { constants, ..Default::default() },
        cache: None,
    })
}

impl Kernels {
    /// The kernels for this device, with the subgroup variants where it offers subgroups.
    pub fn new(ctx: &GpuContext) -> Self {
        Self::build(ctx, ctx.has_subgroups())
    }

    /// The kernels every adapter runs (workgroup memory instead of subgroup operations).
    pub fn portable(ctx: &GpuContext) -> Self {
        Self::build(ctx, false)
    }

    /// Whether the matrix product sums its lanes with subgroup operations.
    pub fn uses_subgroups(&self) -> bool {
        self.subgroups
    }

    fn build(ctx: &GpuContext, subgroups: bool) -> Self {
        let device = &ctx.device;
        let lane_sums = if subgroups { LANE_SUMS_SUBGROUP } else { LANE_SUMS };
        let matmul = module(device, "matmul", &[lane_sums, DEQUANTIZE, MATMUL_INPUT, MATMUL]);
        let norm_matmul = module(device, "norm_matmul", &[lane_sums, DEQUANTIZE, MATMUL_INPUT_NORMED, MATMUL]);
        let embedding = module(device, "embedding", &[DEQUANTIZE, EMBEDDING]);
        let per_format = |m: &wgpu::ShaderModule| {
            WeightFormat::ALL.map(|f| pipeline(device, m, "main", &[("FORMAT", f.shader_code() as f64)]))
        };
        let elementwise = module(device, "elementwise", &[ELEMENTWISE]);
        Self {
            queue: ctx.queue.clone(),
            subgroups,
            bindings: RefCell::new(Bindings::new(device, &ctx.queue)),
            dispatches: Default::default(),
            matmul: per_format(&matmul),
            norm_matmul: per_format(&norm_matmul),
            embedding: per_format(&embedding),
            rope: pipeline(device, &module(device, "rope", &[ROPE]), "main", &[]),
            swiglu: pipeline(device, &elementwise, "swiglu", &[]),
            add: pipeline(device, &elementwise, "add", &[]),
            attention: pipeline(device, &module(device, "attention", &[ATTENTION]), "main", &[]),
            kv_store: pipeline(device, &module(device, "kv_cache", &[KV_CACHE]), "main", &[]),
            gather_rows: pipeline(device, &module(device, "rows", &[ROWS]), "main", &[]),
        }
    }

    pub fn dispatches(&self) -> u64 {
        self.dispatches.get()
    }

    /// Bind groups created so far: dispatches whose buffers and slot were not seen before.
    pub fn bind_groups_created(&self) -> u64 {
        self.bindings.borrow().created
    }

    /// Submit the commands encoded with these kernels, their parameters written first.
    pub fn submit(&self, encoder: wgpu::CommandEncoder) {
        self.bindings.borrow_mut().flush();
        self.queue.submit([encoder.finish()]);
    }

    /// Drop the cached bind groups: buffers they bind are being replaced (a grown workspace).
    pub fn forget_bindings(&self) {
        self.bindings.borrow_mut().forget();
    }

    /// `buffers` at bindings 0, 1, …, `params` after them.
    fn dispatch(
        &self,
        pass: &mut wgpu::ComputePass,
        pipeline: &wgpu::ComputePipeline,
        buffers: &[&wgpu::Buffer],
        params: &impl Params,
        groups: [u32; 3],
    ) {
        let bound: Vec<(u32, &wgpu::Buffer)> = buffers.iter().enumerate().map(|(i, b)| (i as u32, *b)).collect();
        self.dispatch_bound(pass, pipeline, &bound, buffers.len() as u32, params, groups);
    }

    /// `buffers` at their named bindings, `params` at `params_binding`. Nothing runs before
    /// [`submit`](Self::submit), which writes the parameters.
    fn dispatch_bound(
        &self,
        pass: &mut wgpu::ComputePass,
        pipeline: &wgpu::ComputePipeline,
        buffers: &[(u32, &wgpu::Buffer)],
        params_binding: u32,
        params: &impl Params,
        groups: [u32; 3],
    ) {
        self.dispatches.set(self.dispatches.get() + 1);
        let bytes = bytemuck::bytes_of(params);
        let bind_group = self.bindings.borrow_mut().bind(pipeline, buffers, params_binding, bytes);
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
    }
}

/// `n` workgroups as (x, y) within the per-dimension limit.
fn spread(n: u32) -> (u32, u32) {
    (n.min(MAX_GROUPS), n.div_ceil(MAX_GROUPS))
}

/// Workgroups for one thread per value of `n`, spread over x and y (the kernels index
/// `x + y · MAX_GROUPS · WORKGROUP`).
fn elementwise_groups(n: u32) -> [u32; 3] {
    let groups = n.div_ceil(WORKGROUP);
    [groups.min(MAX_GROUPS), groups.div_ceil(MAX_GROUPS), 1]
}
