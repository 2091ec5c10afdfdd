//! A Llama/Qwen2 model's weights on the GPU, read from its GGUF file.

use sclab_engine::config::{ModelConfig, RopeLayout};
use sclab_engine::gguf::GgufFile;

use crate::context::{GpuContext, GpuError};
use crate::kernels::rope_table;
use crate::matrix::{GpuMatrix, WeightFormat};

pub struct GpuLayer {
    pub attn_norm: wgpu::Buffer,
    pub wq: GpuMatrix,
    pub wk: GpuMatrix,
    pub wv: GpuMatrix,
    /// Qwen2's q, k, v biases.
    pub bias: Option<[wgpu::Buffer; 3]>,
    pub wo: GpuMatrix,
    pub ffn_norm: wgpu::Buffer,
    pub w_gate: GpuMatrix,
    pub w_up: GpuMatrix,
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
    Engine(#[from] sclab_engine::EngineError),
    #[error(transparent)]
    Gpu(#[from] GpuError),
    #[error("tensor {tensor} is {dtype}; the GPU backend runs F32, Q8_0, Q4_0 and Q4_1")]
    Format { tensor: String, dtype: String },
}

impl GpuModel {
    pub fn load(ctx: &GpuContext, gguf: &mut GgufFile) -> Result<Self, LoadError> {
        let config = ModelConfig::from_gguf(gguf)?;
        let matrix = |gguf: &mut GgufFile, name: &str| matrix(ctx, gguf, name);
        let mut layers = Vec::with_capacity(config.n_layers);
        for l in 0..config.n_layers {
            let p = |n: &str| format!("blk.{l}.{n}");
            layers.push(GpuLayer {
                attn_norm: vector(ctx, gguf, &p("attn_norm.weight"))?,
                wq: matrix(gguf, &p("attn_q.weight"))?,
                wk: matrix(gguf, &p("attn_k.weight"))?,
                wv: matrix(gguf, &p("attn_v.weight"))?,
                bias: None,
                wo: matrix(gguf, &p("attn_output.weight"))?,
                ffn_norm: vector(ctx, gguf, &p("ffn_norm.weight"))?,
                w_gate: matrix(gguf, &p("ffn_gate.weight"))?,
                w_up: matrix(gguf, &p("ffn_up.weight"))?,
                w_down: matrix(gguf, &p("ffn_down.weight"))?,
            });
        }
        let embedding = matrix(gguf, "token_embd.weight")?;
        let output = if gguf.has_tensor("output.weight") { Some(matrix(gguf, "output.weight")?) } else { None };
        if config.qkv_bias {
            for (l, layer) in layers.iter_mut().enumerate() {
                let p = |n: &str| format!("blk.{l}.{n}");
                layer.bias = Some([
                    vector(ctx, gguf, &p("attn_q.bias"))?,
                    vector(ctx, gguf, &p("attn_k.bias"))?,
                    vector(ctx, gguf, &p("attn_v.bias"))?,
                ]);
            }
        }
        let table = rope_table(config.head_dim, config.rope_base, config.context_length);
        Ok(Self {
            output_norm: vector(ctx, gguf, "output_norm.weight")?,
            rope_table: ctx.storage_f32("rope table", &table)?,
            embedding,
            output,
            layers,
            config,
        })
    }

    pub fn head(&self) -> &GpuMatrix {
        self.output.as_ref().unwrap_or(&self.embedding)
    }

    pub fn halves(&self) -> bool {
        self.config.rope_layout == RopeLayout::Halves
    }
}

fn matrix(ctx: &GpuContext, gguf: &mut GgufFile, name: &str) -> Result<GpuMatrix, LoadError> {
    let (dtype, rows, cols, bytes) = gguf.raw_matrix(name)?;
    let format =
        format_of(dtype).ok_or_else(|| LoadError::Format { tensor: name.into(), dtype: format!("{dtype:?}") })?;
    Ok(GpuMatrix::upload(ctx, name, format, rows, cols, &bytes)?)
}

fn vector(ctx: &GpuContext, gguf: &mut GgufFile, name: &str) -> Result<wgpu::Buffer, LoadError> {
    Ok(ctx.storage_f32(name, &gguf.vector(name)?)?)
}

fn format_of(dtype: candle_core::quantized::GgmlDType) -> Option<WeightFormat> {
    use candle_core::quantized::GgmlDType as D;
    match dtype {
        D::F32 => Some(WeightFormat::F32),
        D::Q8_0 => Some(WeightFormat::Q8_0),
        D::Q4_0 => Some(WeightFormat::Q4_0),
        D::Q4_1 => Some(WeightFormat::Q4_1),
        _ => None,
    }
}
