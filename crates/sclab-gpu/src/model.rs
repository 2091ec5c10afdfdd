//! A Llama/Qwen2 model's weights on the GPU, read from its GGUF file.

use sclab_model::tensors::{LayerTensor as T, OUTPUT, OUTPUT_NORM, TOKEN_EMBD};
use sclab_model::{GgufFile, ModelConfig, RopeLayout};

use crate::context::{GpuContext, GpuError};
use crate::kernels::rope_table;
use candle_core::quantized::GgmlDType;

use crate::matrix::GpuMatrix;
use crate::repack::gpu_format;

pub struct GpuLayer {
    pub attn_norm: wgpu::Buffer,
    /// q, k and v stacked: one product gives a row of q | k | v.
    pub wqkv: GpuMatrix,
    /// Qwen2's q | k | v biases.
    pub bias: Option<wgpu::Buffer>,
    pub wo: GpuMatrix,
    pub ffn_norm: wgpu::Buffer,
    /// gate and up stacked: one product gives a row of gate | up.
    pub w_gate_up: GpuMatrix,
    pub w_down: GpuMatrix,
}

pub struct GpuModel {
    pub config: ModelConfig,
    pub embedding: GpuMatrix,
    /// `None` when the output head is tied to the embedding.
    pub output: Option<GpuMatrix>,
    pub output_norm: wgpu::Buffer,
    pub layers: Vec<GpuLayer>,
    /// cos/sin per position and frequency (rope.wgsl).
    pub rope_table: wgpu::Buffer,
}

/// Why a model cannot run on the GPU backend.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Model(#[from] sclab_model::ModelError),
    #[error(transparent)]
    Gpu(#[from] GpuError),
    #[error("tensor {tensor} is {dtype}; the GPU backend runs F32, F16, Q8_0, Q4_0, Q4_1, Q5_0, Q4_K, Q5_K and Q6_K")]
    Format { tensor: String, dtype: String },
    #[error("the model's shapes do not fit together: {0}")]
    Shape(String),
}

impl GpuModel {
    pub fn load(ctx: &GpuContext, gguf: &mut GgufFile) -> Result<Self, LoadError> {
        let config = ModelConfig::from_gguf(gguf)?;
        let matrix = |gguf: &mut GgufFile, name: &str| matrix(ctx, gguf, name);
        let mut layers = Vec::with_capacity(config.n_layers);
        for l in 0..config.n_layers {
            let p = |t: T| t.name(l);
            let bias = if config.qkv_bias {
                let mut values = Vec::new();
                for t in [T::AttnQBias, T::AttnKBias, T::AttnVBias] {
                    values.extend(gguf.vector(&p(t))?);
                }
                Some(ctx.storage_f32(&format!("blk.{l}.attn_qkv.bias"), &values)?)
            } else {
                None
            };
            layers.push(GpuLayer {
                attn_norm: vector(ctx, gguf, &p(T::AttnNorm))?,
                wqkv: stacked(ctx, gguf, &format!("blk.{l}.attn_qkv"), &[p(T::AttnQ), p(T::AttnK), p(T::AttnV)])?,
                bias,
                wo: matrix(gguf, &p(T::AttnOutput))?,
                ffn_norm: vector(ctx, gguf, &p(T::FfnNorm))?,
                w_gate_up: stacked(ctx, gguf, &format!("blk.{l}.ffn_gate_up"), &[p(T::FfnGate), p(T::FfnUp)])?,
                w_down: matrix(gguf, &p(T::FfnDown))?,
            });
        }
        let embedding = matrix(gguf, TOKEN_EMBD)?;
        let output = if gguf.has_tensor(OUTPUT) { Some(matrix(gguf, OUTPUT)?) } else { None };
        let table = rope_table(&config.rope_frequencies(), config.context_length);
        Ok(Self {
            output_norm: vector(ctx, gguf, OUTPUT_NORM)?,
            rope_table: ctx.storage_f32("rope table", &table)?,
            embedding,
            output,
            layers,
            config,
        })
    }

    /// Bytes of every weight matrix on the GPU (the embedding once, also when it is the head).
    pub fn weight_bytes(&self) -> u64 {
        let layers = self.layers.iter().flat_map(|l| [&l.wqkv, &l.wo, &l.w_gate_up, &l.w_down]);
        layers.chain([&self.embedding]).chain(&self.output).map(GpuMatrix::bytes).sum()
    }

    pub fn head(&self) -> &GpuMatrix {
        self.output.as_ref().unwrap_or(&self.embedding)
    }

    pub fn halves(&self) -> bool {
        self.config.rope_layout == RopeLayout::Halves
    }
}

fn matrix(ctx: &GpuContext, gguf: &mut GgufFile, name: &str) -> Result<GpuMatrix, LoadError> {
    let (dtype, rows, cols, bytes) = raw(gguf, name)?;
    Ok(GpuMatrix::upload(ctx, name, dtype, rows, cols, &bytes)?)
}

/// The matrices `names` (of one width) stacked row-wise into one.
fn stacked(ctx: &GpuContext, gguf: &mut GgufFile, label: &str, names: &[String]) -> Result<GpuMatrix, LoadError> {
    let mut pieces = Vec::with_capacity(names.len());
    let mut width = None;
    for name in names {
        let (dtype, rows, cols, bytes) = raw(gguf, name)?;
        if *width.get_or_insert(cols) != cols {
            let detail = format!("{name} has {cols} columns, {} has {}", names[0], width.unwrap_or(0));
            return Err(LoadError::Shape(detail));
        }
        pieces.push((dtype, rows, bytes));
    }
    Ok(GpuMatrix::stacked(ctx, label, width.unwrap_or(0), &pieces)?)
}

fn raw(gguf: &mut GgufFile, name: &str) -> Result<(GgmlDType, usize, usize, Vec<u8>), LoadError> {
    // The format is checked before the bytes are read.
    let (dtype, _, cols) = gguf.tensor_shape(name)?;
    if gpu_format(dtype).is_none() {
        return Err(LoadError::Format { tensor: name.into(), dtype: format!("{dtype:?}") });
    }
    if !cols.is_multiple_of(dtype.block_size().max(32)) {
        return Err(LoadError::Shape(format!("{name} has rows of {cols} weights, not whole {dtype:?} blocks of 32")));
    }
    let (_, rows, cols, bytes) = gguf.raw_matrix(name)?;
    Ok((dtype, rows, cols, bytes))
}

fn vector(ctx: &GpuContext, gguf: &mut GgufFile, name: &str) -> Result<wgpu::Buffer, LoadError> {
    Ok(ctx.storage_f32(name, &gguf.vector(name)?)?)
}
