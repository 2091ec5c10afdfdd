//! The GPU implementation of the backend contract: the forward pass of every request of a batch
//! as the rows of one set of kernel dispatches, encoded into one command buffer; logits and
//! hidden states come back through an awaited readback (polled natively, the event loop in the
//! browser).

use std::collections::HashMap;
use std::time::Duration;

use sclab_core::{check_batch, Backend, BackendError, BatchRows, ForwardOutput, ForwardRequest, ModelInfo, SeqId};

use crate::context::{GpuContext, Health};
use crate::kernels::{AttentionShape, Kernels, StoreShape};
use crate::kv::{PagedKv, SeqPages};
use crate::model::GpuModel;
use crate::timing::{PassTimer, TIMESTAMP_WORDS};
use crate::workspace::Workspace;

pub struct GpuBackend {
    ctx: GpuContext,
    kernels: Kernels,
    model: GpuModel,
    info: ModelInfo,
    kv: PagedKv,
    seqs: HashMap<SeqId, SeqPages>,
    next_id: u32,
    workspace: Workspace,
    /// Set by benchmarks: times each forward pass on the GPU.
    timer: Option<PassTimer>,
    last_gpu_time: Option<Duration>,
}

fn device_error(e: impl std::fmt::Display) -> BackendError {
    BackendError::Device(e.to_string())
}

impl GpuBackend {
    /// `cache_positions`: how many positions the KV cache holds over all sequences (forks
    /// share their common prefix).
    pub fn new(
        ctx: GpuContext,
        model: GpuModel,
        stop_tokens: Vec<u32>,
        cache_positions: usize,
    ) -> Result<Self, crate::GpuError> {
        let c = &model.config;
        let info = ModelInfo {
            architecture: c.architecture.clone(),
            n_layers: c.n_layers,
            hidden_size: c.hidden_size,
            vocab_size: c.vocab_size,
            context_length: c.context_length,
            stop_tokens,
        };
        let kv = PagedKv::new(&ctx, c.n_layers, c.kv_dim(), cache_positions.div_ceil(crate::PAGE))?;
        let kernels = Kernels::new(&ctx);
        Ok(Self {
            ctx,
            kernels,
            model,
            info,
            kv,
            seqs: HashMap::new(),
            next_id: 0,
            workspace: Workspace::default(),
            timer: None,
            last_gpu_time: None,
        })
    }

    pub fn adapter(&self) -> &wgpu::AdapterInfo {
        &self.ctx.info
    }

    /// Compute dispatches encoded so far.
    pub fn dispatches(&self) -> u64 {
        self.kernels.dispatches()
    }

    /// Time every forward pass on the GPU (see [`last_gpu_time`](Self::last_gpu_time)); false
    /// where the device has no timestamp queries.
    pub fn time_passes(&mut self, on: bool) -> bool {
        self.timer = if on { PassTimer::new(&self.ctx) } else { None };
        self.last_gpu_time = None;
        self.timer.is_some()
    }

    /// How long the GPU was busy with the last forward pass, when passes are timed.
    pub fn last_gpu_time(&self) -> Option<Duration> {
        self.last_gpu_time
    }

    /// Bytes of the weights on the GPU: what a decoding step streams.
    pub fn weight_bytes(&self) -> u64 {
        self.model.weight_bytes()
    }

    /// Whether the matrix product runs its subgroup variant on this adapter.
    pub fn uses_subgroups(&self) -> bool {
        self.kernels.uses_subgroups()
    }

    /// Bind groups created so far (see `Kernels::bind_groups_created`).
    pub fn bind_groups_created(&self) -> u64 {
        self.kernels.bind_groups_created()
    }

    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }

    fn health(&self) -> Result<(), BackendError> {
        match self.ctx.health() {
            Health::Ok => Ok(()),
            Health::Lost(why) => Err(BackendError::DeviceLost(why)),
            Health::Failed(why) => Err(BackendError::Device(why)),
        }
    }

    fn insert(&mut self, seq: SeqPages) -> SeqId {
        let id = SeqId(self.next_id);
        self.next_id += 1;
        self.seqs.insert(id, seq);
        id
    }
}

impl Backend for GpuBackend {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn new_sequence(&mut self) -> SeqId {
        self.insert(SeqPages::default())
    }

    fn fork(&mut self, seq: SeqId) -> Result<SeqId, BackendError> {
        let parent = self.seqs.get(&seq).ok_or(BackendError::UnknownSequence(seq))?.clone();
        let child = self.kv.share(&parent);
        Ok(self.insert(child))
    }

    fn rollback(&mut self, seq: SeqId, len: usize) -> Result<(), BackendError> {
        let pages = self.seqs.get_mut(&seq).ok_or(BackendError::UnknownSequence(seq))?;
        if len > pages.len {
            return Err(BackendError::InvalidRollback { seq, to: len, len: pages.len });
        }
        self.kv.truncate(pages, len);
        Ok(())
    }

    fn free(&mut self, seq: SeqId) {
        if let Some(pages) = self.seqs.remove(&seq) {
            self.kv.release(&pages.pages);
        }
    }

    fn seq_len(&self, seq: SeqId) -> Result<usize, BackendError> {
        self.seqs.get(&seq).map(|s| s.len).ok_or(BackendError::UnknownSequence(seq))
    }

    async fn forward(&mut self, batch: &[ForwardRequest]) -> Result<Vec<ForwardOutput>, BackendError> {
        check_batch(&self.info, batch, |seq| self.seq_len(seq))?;
        self.health()?;
        let c = self.model.config.clone();
        let (d, kv_dim, q_dim, ffn) = (c.hidden_size, c.kv_dim(), c.n_heads * c.head_dim, c.ffn_size);
        let device = &self.ctx.device;
        let mut encoder = device.create_command_encoder(&Default::default());

        // Rows: every new token, in request order, with its position and its page table.
        let (mut ids, mut row_info, mut page_table, mut positions) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let rows = BatchRows::of(batch);
        let last_row = &rows.last;
        let mut span = 0;
        for req in batch {
            let seq = self.seqs.get_mut(&req.seq).expect("checked");
            let new_len = seq.len + req.tokens.len();
            if !self.kv.reserve(&mut encoder, seq, new_len) {
                return Err(BackendError::Device("the GPU KV cache is full".into()));
            }
            let table = page_table.len() as u32;
            page_table.extend(&seq.pages);
            for (t, &token) in req.tokens.iter().enumerate() {
                let pos = (seq.len + t) as u32;
                ids.push(token);
                positions.push(pos);
                row_info.extend([pos, table]);
            }
            span = span.max(new_len);
        }
        let m = ids.len();
        let ctx = &self.ctx;
        let workspace = &mut self.workspace;
        let mut upload =
            |label: &'static str, values: &[u32]| workspace.upload(ctx, label, values).map_err(device_error);
        let (ids_b, info_b, table_b, pos_b) = (
            upload("ids", &ids)?,
            upload("rows", &row_info)?,
            upload("pages", &page_table)?,
            upload("positions", &positions)?,
        );
        let want_hidden: Vec<usize> =
            batch.iter().enumerate().filter(|(_, r)| r.hidden).map(|(i, _)| last_row[i]).collect();
        let logit_rows = &rows.logits;
        let as_u32 = |rows: &[usize]| rows.iter().map(|&r| r as u32).collect::<Vec<u32>>();
        let hidden_rows_b = upload("hidden rows", &as_u32(&want_hidden))?;
        let logit_rows_b = upload("logit rows", &as_u32(logit_rows))?;
        let mut zeros = |label: &'static str, len: usize| workspace.buffer(ctx, label, len).map_err(device_error);
        let qkv_width = q_dim + 2 * kv_dim;
        let x = zeros("x", m * d)?;
        let (qkv, att) = (zeros("qkv", m * qkv_width)?, zeros("att", m * q_dim)?);
        let (gate_up, act) = (zeros("gate_up", m * 2 * ffn)?, zeros("act", m * ffn)?);
        let scores = zeros("scores", m * c.n_heads * span)?;
        let hidden = zeros("hidden", c.n_layers * want_hidden.len().max(1) * d)?;

        // Only the rows whose logits were asked for go through the output head.
        let vocab = c.vocab_size;
        let n_logits = logit_rows.len();
        let selected = zeros("selected", n_logits * d)?;
        let logits = zeros("logits", n_logits * vocab)?;
        let kernels = &self.kernels;
        if self.workspace.take_grown() {
            kernels.forget_bindings();
        }
        let model = &self.model;
        let shape = AttentionShape {
            rows: m as u32,
            heads: c.n_heads as u32,
            kv_heads: c.n_kv_heads as u32,
            head_dim: c.head_dim as u32,
            span: span as u32,
            q_stride: qkv_width as u32,
        };
        let store = StoreShape { rows: m as u32, width: kv_dim as u32, stride: qkv_width as u32, offset: q_dim as u32 };
        let mu = m as u32;
        let rope_heads = (c.n_heads + c.n_kv_heads) as u32;
        let (hidden_rows, n_hidden) = (&hidden_rows_b, want_hidden.len() as u32);
        {
            // One compute pass for the whole forward: opening a pass costs a fast GPU more than
            // a small dispatch.
            let timestamp_writes = self.timer.as_ref().map(PassTimer::writes);
            let pass = &mut encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: None, timestamp_writes });
            kernels.embedding(pass, &ids_b, &model.embedding, &x, mu);
            for (l, layer) in model.layers.iter().enumerate() {
                kernels.norm_matmul(pass, &x, (&layer.attn_norm, c.rms_eps), &layer.wqkv, &qkv, mu);
                if let Some(bias) = &layer.bias {
                    kernels.add(pass, &qkv, bias, (m * qkv_width) as u32, qkv_width as u32);
                }
                let (table, halves) = (&model.rope_table, model.halves());
                kernels.rope(pass, &qkv, &pos_b, table, mu, rope_heads, c.head_dim as u32, qkv_width as u32, halves);
                let (keys, values) = (&self.kv.keys[l], &self.kv.values[l]);
                kernels.kv_store(pass, &qkv, keys, values, &info_b, &table_b, store);
                kernels.attention(pass, &qkv, keys, values, &info_b, &table_b, &scores, &att, shape);
                kernels.matmul(pass, &att, &layer.wo, &x, mu, true);
                kernels.norm_matmul(pass, &x, (&layer.ffn_norm, c.rms_eps), &layer.w_gate_up, &gate_up, mu);
                kernels.swiglu(pass, &gate_up, &act, mu, ffn as u32);
                kernels.matmul(pass, &act, &layer.w_down, &x, mu, true);
                if n_hidden > 0 {
                    let at = (l * want_hidden.len() * d) as u32;
                    kernels.gather_rows(pass, &x, hidden_rows, &hidden, n_hidden, d as u32, at);
                }
            }
            if n_logits > 0 {
                // Decoding asks for every row's logits: the head reads the stream as it is.
                let every_row = logit_rows.iter().copied().eq(0..m);
                let head_input = if every_row {
                    &x
                } else {
                    kernels.gather_rows(pass, &x, &logit_rows_b, &selected, n_logits as u32, d as u32, 0);
                    &selected
                };
                let (norm, nl) = ((&model.output_norm, c.rms_eps), n_logits as u32);
                kernels.norm_matmul(pass, head_input, norm, model.head(), &logits, nl);
            }
        }
        // Logits, then hidden states, copied in the same submission into one buffer mapped once.
        // Logits, hidden states and the pass's timestamps, copied in the same submission.
        let (logits_len, hidden_len) = (n_logits * vocab, want_hidden.len() * c.n_layers * d);
        let timed_len = if self.timer.is_some() { TIMESTAMP_WORDS } else { 0 };
        let total = logits_len + hidden_len + timed_len;
        let readback = self.workspace.readback(&self.ctx, total).map_err(device_error)?;
        encoder.copy_buffer_to_buffer(&logits, 0, &readback, 0, (logits_len * 4) as u64);
        encoder.copy_buffer_to_buffer(&hidden, 0, &readback, (logits_len * 4) as u64, (hidden_len * 4) as u64);
        if let Some(timer) = &self.timer {
            timer.resolve(&mut encoder, &readback, logits_len + hidden_len);
        }
        kernels.submit(encoder);

        let read = match total {
            0 => Ok(Vec::new()),
            len => self.ctx.read_mapped(&readback, len).await,
        };
        // A lost device can still hand back a buffer: only its health says whether to trust it.
        self.health()?;
        let mut logits = read.map_err(device_error)?;
        let timestamps = logits.split_off(logits_len + hidden_len);
        let hidden = logits.split_off(logits_len);
        self.last_gpu_time = self.timer.as_ref().map(|timer| timer.busy(&timestamps));
        for req in batch {
            self.seqs.get_mut(&req.seq).expect("checked").len += req.tokens.len();
        }
        let mut hidden_index = 0;
        Ok(batch
            .iter()
            .enumerate()
            .map(|(r, req)| {
                let states = req.hidden.then(|| {
                    let i = hidden_index;
                    hidden_index += 1;
                    (0..c.n_layers).map(|l| hidden[(l * want_hidden.len() + i) * d..][..d].to_vec()).collect()
                });
                ForwardOutput { seq: req.seq, logits: rows.logits_of(r, &logits, vocab), hidden: states }
            })
            .collect())
    }
}
