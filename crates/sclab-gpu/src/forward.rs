//! One forward pass on the GPU: the batch's new tokens laid out as rows for the kernels, the
//! buffers the pass reads and writes, and the dispatches of the whole model, recorded into one
//! compute pass.

use std::collections::HashMap;

use sclab_core::{BackendError, BatchRows, ForwardRequest, SeqId};
use sclab_model::ModelConfig;

use crate::context::{GpuContext, GpuError};
use crate::kernels::{AttentionShape, Kernels, StoreShape};
use crate::kv::{PagedKv, SeqPages};
use crate::model::GpuModel;
use crate::workspace::Workspace;

/// Every new token of a batch as a row, in request order.
pub struct Layout {
    pub ids: Vec<u32>,
    pub positions: Vec<u32>,
    /// Per row: its position and the offset of its sequence's page table in `page_table`.
    pub row_info: Vec<u32>,
    pub page_table: Vec<u32>,
    /// The longest sequence of the batch once the rows are appended.
    pub span: usize,
    pub rows: BatchRows,
    /// The rows whose hidden states were asked for, in request order.
    pub hidden_rows: Vec<usize>,
}

impl Layout {
    /// Lay `batch` out, reserving each sequence's cache pages for its new tokens (a shared page
    /// is copied first, by `encoder`).
    pub fn of(
        batch: &[ForwardRequest],
        seqs: &mut HashMap<SeqId, SeqPages>,
        kv: &mut PagedKv,
        encoder: &mut wgpu::CommandEncoder,
    ) -> Result<Self, BackendError> {
        let rows = BatchRows::of(batch);
        let hidden_rows = batch.iter().zip(&rows.last).filter(|(r, _)| r.hidden).map(|(_, &row)| row).collect();
        let mut layout = Layout {
            ids: Vec::new(),
            positions: Vec::new(),
            row_info: Vec::new(),
            page_table: Vec::new(),
            span: 0,
            rows,
            hidden_rows,
        };
        for req in batch {
            let seq = seqs.get_mut(&req.seq).ok_or(BackendError::UnknownSequence(req.seq))?;
            let new_len = seq.len + req.tokens.len();
            if !kv.reserve(encoder, seq, new_len) {
                return Err(BackendError::Device("the GPU KV cache is full".into()));
            }
            let table = layout.page_table.len() as u32;
            layout.page_table.extend(&seq.pages);
            for (t, &token) in req.tokens.iter().enumerate() {
                let pos = (seq.len + t) as u32;
                layout.ids.push(token);
                layout.positions.push(pos);
                layout.row_info.extend([pos, table]);
            }
            layout.span = layout.span.max(new_len);
        }
        Ok(layout)
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Decoding asks for every row's logits: then the head reads the residual stream as it is.
    fn logits_of_every_row(&self) -> bool {
        self.rows.logits.iter().copied().eq(0..self.len())
    }
}

/// The buffers of one forward pass, from the workspace.
pub struct Buffers {
    ids: wgpu::Buffer,
    positions: wgpu::Buffer,
    row_info: wgpu::Buffer,
    page_table: wgpu::Buffer,
    hidden_rows: wgpu::Buffer,
    logit_rows: wgpu::Buffer,
    /// The residual stream.
    x: wgpu::Buffer,
    qkv: wgpu::Buffer,
    att: wgpu::Buffer,
    gate_up: wgpu::Buffer,
    act: wgpu::Buffer,
    scores: wgpu::Buffer,
    selected: wgpu::Buffer,
    /// Per layer, the hidden state of each row in `hidden_rows`.
    pub hidden: wgpu::Buffer,
    /// The logits of each row whose logits were asked for.
    pub logits: wgpu::Buffer,
}

impl Buffers {
    pub fn new(
        workspace: &mut Workspace,
        ctx: &GpuContext,
        c: &ModelConfig,
        layout: &Layout,
    ) -> Result<Self, GpuError> {
        let m = layout.len();
        let (d, q_dim, kv_dim, ffn) = (c.hidden_size, c.n_heads * c.head_dim, c.kv_dim(), c.ffn_size);
        let as_u32 = |rows: &[usize]| rows.iter().map(|&r| r as u32).collect::<Vec<u32>>();
        let (n_hidden, n_logits) = (layout.hidden_rows.len(), layout.rows.logits.len());
        Ok(Self {
            ids: workspace.upload(ctx, "ids", &layout.ids)?,
            positions: workspace.upload(ctx, "positions", &layout.positions)?,
            row_info: workspace.upload(ctx, "rows", &layout.row_info)?,
            page_table: workspace.upload(ctx, "pages", &layout.page_table)?,
            hidden_rows: workspace.upload(ctx, "hidden rows", &as_u32(&layout.hidden_rows))?,
            logit_rows: workspace.upload(ctx, "logit rows", &as_u32(&layout.rows.logits))?,
            x: workspace.buffer(ctx, "x", m * d)?,
            qkv: workspace.buffer(ctx, "qkv", m * (q_dim + 2 * kv_dim))?,
            att: workspace.buffer(ctx, "att", m * q_dim)?,
            gate_up: workspace.buffer(ctx, "gate_up", m * 2 * ffn)?,
            act: workspace.buffer(ctx, "act", m * ffn)?,
            scores: workspace.buffer(ctx, "scores", m * c.n_heads * layout.span)?,
            selected: workspace.buffer(ctx, "selected", n_logits * d)?,
            hidden: workspace.buffer(ctx, "hidden", c.n_layers * n_hidden * d)?,
            logits: workspace.buffer(ctx, "logits", n_logits * c.vocab_size)?,
        })
    }
}

/// Record the whole model into `pass`: the embedding, every layer (8 dispatches, and the hidden
/// states' rows gathered after it when asked for), and the output head on the rows whose logits
/// were asked for.
pub fn record(
    pass: &mut wgpu::ComputePass,
    kernels: &Kernels,
    model: &GpuModel,
    kv: &PagedKv,
    layout: &Layout,
    b: &Buffers,
) {
    let c = &model.config;
    let (d, q_dim, kv_dim, ffn) = (c.hidden_size, c.n_heads * c.head_dim, c.kv_dim(), c.ffn_size);
    let (m, qkv_width) = (layout.len() as u32, (q_dim + 2 * kv_dim) as u32);
    let attention = AttentionShape {
        rows: m,
        heads: c.n_heads as u32,
        kv_heads: c.n_kv_heads as u32,
        head_dim: c.head_dim as u32,
        span: layout.span as u32,
        q_stride: qkv_width,
    };
    let store = StoreShape { rows: m, width: kv_dim as u32, stride: qkv_width, offset: q_dim as u32 };
    let rope_heads = (c.n_heads + c.n_kv_heads) as u32;
    let n_hidden = layout.hidden_rows.len();

    kernels.embedding(pass, &b.ids, &model.embedding, &b.x, m);
    for (l, layer) in model.layers.iter().enumerate() {
        kernels.norm_matmul(pass, &b.x, (&layer.attn_norm, c.rms_eps), &layer.wqkv, &b.qkv, m);
        if let Some(bias) = &layer.bias {
            kernels.add(pass, &b.qkv, bias, m * qkv_width, qkv_width);
        }
        let (table, halves) = (&model.rope_table, model.halves());
        kernels.rope(pass, &b.qkv, &b.positions, table, m, rope_heads, c.head_dim as u32, qkv_width, halves);
        let (keys, values) = (&kv.keys[l], &kv.values[l]);
        kernels.kv_store(pass, &b.qkv, keys, values, &b.row_info, &b.page_table, store);
        kernels.attention(pass, &b.qkv, keys, values, &b.row_info, &b.page_table, &b.scores, &b.att, attention);
        kernels.matmul(pass, &b.att, &layer.wo, &b.x, m, true);
        kernels.norm_matmul(pass, &b.x, (&layer.ffn_norm, c.rms_eps), &layer.w_gate_up, &b.gate_up, m);
        kernels.swiglu(pass, &b.gate_up, &b.act, m, ffn as u32);
        kernels.matmul(pass, &b.act, &layer.w_down, &b.x, m, true);
        if n_hidden > 0 {
            let at = (l * n_hidden * d) as u32;
            kernels.gather_rows(pass, &b.x, &b.hidden_rows, &b.hidden, n_hidden as u32, d as u32, at);
        }
    }
    let n_logits = layout.rows.logits.len() as u32;
    if n_logits > 0 {
        let head_input = if layout.logits_of_every_row() {
            &b.x
        } else {
            kernels.gather_rows(pass, &b.x, &b.logit_rows, &b.selected, n_logits, d as u32, 0);
            &b.selected
        };
        let norm = (&model.output_norm, c.rms_eps);
        kernels.norm_matmul(pass, head_input, norm, model.head(), &b.logits, n_logits);
    }
}
