//! The compute pipelines, compiled once per device, and how each is dispatched. A kernel's
//! storage buffers are bound in order from binding 0 (attention names its bindings) and its
//! parameters, 32-bit words, are the uniform after them, so one `dispatch` serves all.

mod binding;

use std::cell::RefCell;

use binding::Bindings;

use crate::context::GpuContext;
use crate::matrix::{GpuMatrix, WeightFormat};

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

/// Positions per page of the KV cache (`PAGE` in attention.wgsl and kv_cache.wgsl).
pub const PAGE: usize = 16;

/// Threads per workgroup of every kernel.
const WORKGROUP: u32 = 64;
/// Activation rows one matmul workgroup takes (`ROWS` in matmul.wgsl).
const MATMUL_ROWS: u32 = 8;
/// Weight rows one matmul workgroup takes (`WEIGHT_ROWS` in matmul.wgsl).
const MATMUL_WEIGHT_ROWS: u32 = 8;
/// WebGPU's guaranteed maximum workgroups per dimension.
const MAX_GROUPS: u32 = 65_535;

pub struct Kernels {
    queue: wgpu::Queue,
    subgroups: bool,
    bindings: RefCell<Bindings>,
    /// Compute dispatches encoded so far (benchmarks report them per token).
    dispatches: std::cell::Cell<u64>,
    matmul: [wgpu::ComputePipeline; 4],
    norm_matmul: [wgpu::ComputePipeline; 4],
    embedding: [wgpu::ComputePipeline; 4],
    rope: wgpu::ComputePipeline,
    swiglu: wgpu::ComputePipeline,
    add: wgpu::ComputePipeline,
    attention: wgpu::ComputePipeline,
    kv_store: wgpu::ComputePipeline,
    gather_rows: wgpu::ComputePipeline,
}

fn module(device: &wgpu::Device, label: &str, source: &str) -> wgpu::ShaderModule {
    device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(source.into()),
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
        let matmul = module(device, "matmul", &format!("{lane_sums}\n{DEQUANTIZE}\n{MATMUL_INPUT}\n{MATMUL}"));
        let norm_matmul =
            module(device, "norm_matmul", &format!("{lane_sums}\n{DEQUANTIZE}\n{MATMUL_INPUT_NORMED}\n{MATMUL}"));
        let embedding = module(device, "embedding", &format!("{DEQUANTIZE}\n{EMBEDDING}"));
        let per_format = |m: &wgpu::ShaderModule| {
            WeightFormat::ALL.map(|f| pipeline(device, m, "main", &[("FORMAT", f.shader_code() as f64)]))
        };
        let elementwise = module(device, "elementwise", ELEMENTWISE);
        Self {
            queue: ctx.queue.clone(),
            subgroups,
            bindings: RefCell::new(Bindings::new(device, &ctx.queue)),
            dispatches: Default::default(),
            matmul: per_format(&matmul),
            norm_matmul: per_format(&norm_matmul),
            embedding: per_format(&embedding),
            rope: pipeline(device, &module(device, "rope", ROPE), "main", &[]),
            swiglu: pipeline(device, &elementwise, "swiglu", &[]),
            add: pipeline(device, &elementwise, "add", &[]),
            attention: pipeline(device, &module(device, "attention", ATTENTION), "main", &[]),
            kv_store: pipeline(device, &module(device, "kv_cache", KV_CACHE), "main", &[]),
            gather_rows: pipeline(device, &module(device, "rows", ROWS), "main", &[]),
        }
    }

    /// `out (m × w.rows) = x (m × w.cols) · wᵀ`, or `out += …` when `accumulate` (the residual
    /// stream), one dispatch per part of `w`.
    #[allow(clippy::too_many_arguments)]
    pub fn matmul(
        &self,
        pass: &mut wgpu::ComputePass,
        x: &wgpu::Buffer,
        w: &GpuMatrix,
        out: &wgpu::Buffer,
        m: u32,
        accumulate: bool,
    ) {
        self.product(pass, x, None, w, out, m, accumulate);
    }

    /// `out = RMSNorm(x) · wᵀ`, the norm (its weights, its epsilon) applied on the fly.
    pub fn norm_matmul(
        &self,
        pass: &mut wgpu::ComputePass,
        x: &wgpu::Buffer,
        norm: (&wgpu::Buffer, f32),
        w: &GpuMatrix,
        out: &wgpu::Buffer,
        m: u32,
    ) {
        self.product(pass, x, Some(norm), w, out, m, false);
    }

    #[allow(clippy::too_many_arguments)]
    fn product(
        &self,
        pass: &mut wgpu::ComputePass,
        x: &wgpu::Buffer,
        norm: Option<(&wgpu::Buffer, f32)>,
        w: &GpuMatrix,
        out: &wgpu::Buffer,
        m: u32,
        accumulate: bool,
    ) {
        let eps = norm.map_or(0.0, |(_, eps)| eps);
        for part in &w.parts {
            let n = part.rows as u32;
            let (gx, gy) = spread(n.div_ceil(MATMUL_WEIGHT_ROWS));
            let params =
                [m, n, w.cols as u32, w.rows as u32, part.first_row as u32, u32::from(accumulate), eps.to_bits()];
            let groups = [gx, gy, m.div_ceil(MATMUL_ROWS)];
            let mut bindings = vec![(0, x), (1, &part.words), (2, &part.scales), (3, out)];
            let pipelines = match norm {
                Some((weight, _)) => {
                    bindings.push((5, weight));
                    &self.norm_matmul
                }
                None => &self.matmul,
            };
            self.dispatch_bound(pass, &pipelines[part.format.index()], &bindings, 4, &params, groups);
        }
    }

    /// `out (ids.len() × w.cols)`: the rows of `w` named by `ids` (a `u32` buffer of `m` ids),
    /// each part of `w` writing the rows it holds.
    pub fn embedding(
        &self,
        pass: &mut wgpu::ComputePass,
        ids: &wgpu::Buffer,
        w: &GpuMatrix,
        out: &wgpu::Buffer,
        m: u32,
    ) {
        let blocks = (w.cols / 32) as u32;
        for part in &w.parts {
            let params = [m, w.cols as u32, part.first_row as u32, part.rows as u32];
            self.dispatch(
                pass,
                &self.embedding[part.format.index()],
                &[ids, &part.words, &part.scales, out],
                params,
                [blocks.div_ceil(WORKGROUP), m, 1],
            );
        }
    }

    /// Rotate the first `heads × head_dim` values of each of `rows` rows of `stride` values in
    /// place (the q and k heads at the start of a q | k | v row); `positions` holds one `u32`
    /// per row, `table` the cos/sin of every position and frequency (see [`rope_table`]).
    #[allow(clippy::too_many_arguments)]
    pub fn rope(
        &self,
        pass: &mut wgpu::ComputePass,
        data: &wgpu::Buffer,
        positions: &wgpu::Buffer,
        table: &wgpu::Buffer,
        rows: u32,
        heads: u32,
        head_dim: u32,
        stride: u32,
        halves: bool,
    ) {
        let threads = rows * heads * head_dim / 2;
        self.dispatch_bound(
            pass,
            &self.rope,
            &[(0, data), (1, positions), (2, table)],
            3,
            &[rows, heads, head_dim, u32::from(halves), stride],
            [threads.div_ceil(WORKGROUP), 1, 1],
        );
    }

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
        self.dispatch(pass, &self.swiglu, &[out, gate_up], [n, width, 0, 0], elementwise_groups(n));
    }

    /// `acc += x` over `n` values, `x` repeating every `period` values (a bias on every row).
    pub fn add(&self, pass: &mut wgpu::ComputePass, acc: &wgpu::Buffer, x: &wgpu::Buffer, n: u32, period: u32) {
        self.dispatch(pass, &self.add, &[acc, x], [n, period, 0, 0], elementwise_groups(n));
    }

    /// Write each row's key and value (`width` values each, from `offset` in a row of `stride`
    /// values of `qkv`) into its slot of the paged caches `keys` and `values`. `row_info` holds
    /// per row its position and the offset of its page table in `page_table`.
    #[allow(clippy::too_many_arguments)]
    pub fn kv_store(
        &self,
        pass: &mut wgpu::ComputePass,
        qkv: &wgpu::Buffer,
        keys: &wgpu::Buffer,
        values: &wgpu::Buffer,
        row_info: &wgpu::Buffer,
        page_table: &wgpu::Buffer,
        shape: StoreShape,
    ) {
        let StoreShape { rows, width, stride, offset } = shape;
        let groups = [(2 * width).div_ceil(WORKGROUP), rows, 1];
        let bindings = [(0, qkv), (1, keys), (2, values), (3, row_info), (4, page_table)];
        self.dispatch_bound(pass, &self.kv_store, &bindings, 5, &[rows, width, stride, offset], groups);
    }

    /// Copy the `rows` rows of `width` values of `src` that `chosen` (`u32` row numbers) names
    /// into `out`, from value `out_offset` on.
    #[allow(clippy::too_many_arguments)]
    pub fn gather_rows(
        &self,
        pass: &mut wgpu::ComputePass,
        src: &wgpu::Buffer,
        chosen: &wgpu::Buffer,
        out: &wgpu::Buffer,
        rows: u32,
        width: u32,
        out_offset: u32,
    ) {
        let groups = [width.div_ceil(WORKGROUP), rows, 1];
        self.dispatch(pass, &self.gather_rows, &[src, chosen, out], [rows, width, out_offset, 0], groups);
    }

    /// Causal attention of `shape.rows` query rows over the paged cache: `out` (rows × heads ×
    /// head_dim). `scores` needs rows × heads × `shape.span` values.
    #[allow(clippy::too_many_arguments)]
    pub fn attention(
        &self,
        pass: &mut wgpu::ComputePass,
        q: &wgpu::Buffer,
        keys: &wgpu::Buffer,
        values: &wgpu::Buffer,
        row_info: &wgpu::Buffer,
        page_table: &wgpu::Buffer,
        scores: &wgpu::Buffer,
        out: &wgpu::Buffer,
        shape: AttentionShape,
    ) {
        let AttentionShape { rows, heads, kv_heads, head_dim, span, q_stride } = shape;
        let scale = 1.0 / (head_dim as f32).sqrt();
        let params = [rows, heads, kv_heads, head_dim, span, scale.to_bits(), q_stride, 0];
        let bindings = [(0, q), (1, keys), (2, values), (3, row_info), (4, page_table), (5, scores), (6, out)];
        let (gx, gy) = spread(rows * heads);
        self.dispatch_bound(pass, &self.attention, &bindings, 7, &params, [gx, gy, 1]);
    }
}

#[derive(Debug, Clone, Copy)]
pub struct AttentionShape {
    pub rows: u32,
    pub heads: u32,
    pub kv_heads: u32,
    pub head_dim: u32,
    /// Cached positions per (row, head) in `scores`: the longest sequence of the batch.
    pub span: u32,
    /// Values per row of `q` (q | k | v rows hold more than the query).
    pub q_stride: u32,
}

#[derive(Debug, Clone, Copy)]
pub struct StoreShape {
    pub rows: u32,
    /// Values of one key (and of one value).
    pub width: u32,
    /// Values per row of the source.
    pub stride: u32,
    /// Where a row's key starts in the source; its value follows.
    pub offset: u32,
}

/// The cos/sin table of the rotary embedding for positions `0..positions`, computed as the CPU
/// engine computes it: `sclab_model::rope` frequencies, angles `pos · f` in f32.
pub fn rope_table(head_dim: usize, base: f32, positions: usize) -> Vec<f32> {
    let inv_freq = sclab_model::rope::inverse_frequencies(head_dim, base);
    (0..positions)
        .flat_map(|pos| {
            inv_freq.iter().flat_map(move |&f| {
                let (sin, cos) = (pos as f32 * f).sin_cos();
                [cos, sin]
            })
        })
        .collect()
}

/// `n` workgroups as (x, y) within the per-dimension limit.
fn spread(n: u32) -> (u32, u32) {
    (n.min(MAX_GROUPS), n.div_ceil(MAX_GROUPS))
}

fn elementwise_groups(n: u32) -> [u32; 3] {
    let groups = n.div_ceil(WORKGROUP);
    [groups.min(MAX_GROUPS), groups.div_ceil(MAX_GROUPS), 1]
}

impl Kernels {
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

    fn dispatch(
        &self,
        pass: &mut wgpu::ComputePass,
        pipeline: &wgpu::ComputePipeline,
        buffers: &[&wgpu::Buffer],
        params: [u32; 4],
        groups: [u32; 3],
    ) {
        let bound: Vec<(u32, &wgpu::Buffer)> = buffers.iter().enumerate().map(|(i, b)| (i as u32, *b)).collect();
        self.dispatch_bound(pass, pipeline, &bound, buffers.len() as u32, &params, groups);
    }

    /// `buffers` at their named bindings, `params` (padded to 16 bytes) at `params_binding`.
    /// Nothing runs before [`submit`](Self::submit), which writes the parameters.
    fn dispatch_bound(
        &self,
        pass: &mut wgpu::ComputePass,
        pipeline: &wgpu::ComputePipeline,
        buffers: &[(u32, &wgpu::Buffer)],
        params_binding: u32,
        params: &[u32],
        groups: [u32; 3],
    ) {
        self.dispatches.set(self.dispatches.get() + 1);
        let bind_group = self.bindings.borrow_mut().bind(pipeline, buffers, params_binding, params);
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
    }
}
