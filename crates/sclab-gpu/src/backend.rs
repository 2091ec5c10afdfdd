//! The GPU implementation of the backend contract: sequences as page lists of the paged cache,
//! and the forward pass of every request of a batch as the rows of one recorded pass
//! (`forward.rs`) in one command buffer; logits and hidden states come back through an awaited
//! readback (polled natively, the event loop in the browser).

use std::collections::HashMap;
use std::time::Duration;

use sclab_core::{check_batch, Backend, BackendError, ForwardOutput, ForwardRequest, ModelInfo, SeqId};
use sclab_model::ModelConfig;

use crate::context::{GpuContext, Health};
use crate::forward::{self, Buffers, Layout};
use crate::kernels::Kernels;
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
        let child = self.kv.table.share(&parent);
        Ok(self.insert(child))
    }

    fn rollback(&mut self, seq: SeqId, len: usize) -> Result<(), BackendError> {
        let pages = self.seqs.get_mut(&seq).ok_or(BackendError::UnknownSequence(seq))?;
        if len > pages.len {
            return Err(BackendError::InvalidRollback { seq, to: len, len: pages.len });
        }
        self.kv.table.truncate(pages, len);
        Ok(())
    }

    fn free(&mut self, seq: SeqId) {
        if let Some(pages) = self.seqs.remove(&seq) {
            self.kv.table.release(&pages.pages);
        }
    }

    fn seq_len(&self, seq: SeqId) -> Result<usize, BackendError> {
        self.seqs.get(&seq).map(|s| s.len).ok_or(BackendError::UnknownSequence(seq))
    }

    async fn forward(&mut self, batch: &[ForwardRequest]) -> Result<Vec<ForwardOutput>, BackendError> {
        check_batch(&self.info, batch, |seq| self.seq_len(seq))?;
        self.health()?;
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        let layout = Layout::of(batch, &mut self.seqs, &mut self.kv, &mut encoder)?;
        let buffers =
            Buffers::new(&mut self.workspace, &self.ctx, &self.model.config, &layout).map_err(device_error)?;
        if self.workspace.take_grown() {
            self.kernels.forget_bindings();
        }
        {
            // One compute pass for the whole forward: opening a pass costs a fast GPU more than
            // a small dispatch.
            let timestamp_writes = self.timer.as_ref().map(PassTimer::writes);
            let pass = &mut encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: None, timestamp_writes });
            forward::record(pass, &self.kernels, &self.model, &self.kv, &layout, &buffers);
        }

        // Logits, hidden states and the pass's timestamps, copied in the same submission into
        // one buffer mapped once.
        let (c, vocab) = (&self.model.config, self.model.config.vocab_size);
        let logits_len = layout.rows.logits.len() * vocab;
        let hidden_len = layout.hidden_rows.len() * c.n_layers * c.hidden_size;
        let timed_len = if self.timer.is_some() { TIMESTAMP_WORDS } else { 0 };
        let total = logits_len + hidden_len + timed_len;
        let readback = self.workspace.readback(&self.ctx, total).map_err(device_error)?;
        encoder.copy_buffer_to_buffer(&buffers.logits, 0, &readback, 0, (logits_len * 4) as u64);
        encoder.copy_buffer_to_buffer(&buffers.hidden, 0, &readback, (logits_len * 4) as u64, (hidden_len * 4) as u64);
        if let Some(timer) = &self.timer {
            timer.resolve(&mut encoder, &readback, logits_len + hidden_len);
        }
        self.kernels.submit(encoder);

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
        Ok(outputs(batch, &layout, &logits, &hidden, &self.model.config))
    }
}

/// Each request's logits and, when asked for, its hidden state at every layer.
fn outputs(
    batch: &[ForwardRequest],
    layout: &Layout,
    logits: &[f32],
    hidden: &[f32],
    c: &ModelConfig,
) -> Vec<ForwardOutput> {
    let (d, n_hidden) = (c.hidden_size, layout.hidden_rows.len());
    let mut hidden_index = 0;
    batch
        .iter()
        .enumerate()
        .map(|(r, req)| {
            let states = req.hidden.then(|| {
                let i = hidden_index;
                hidden_index += 1;
                (0..c.n_layers).map(|l| hidden[(l * n_hidden + i) * d..][..d].to_vec()).collect()
            });
            ForwardOutput { seq: req.seq, logits: layout.rows.logits_of(r, logits, c.vocab_size), hidden: states }
        })
        .collect()
}
