//! The WebGPU backend's kernels: the transformer forward pass of the Llama architecture as WGSL
//! compute shaders on `wgpu`, one kernel family per `.wgsl` file, the same code natively (Vulkan;
//! Mesa's lavapipe in CI) and in the browser (WebGPU).
//!
//! All arithmetic is f32 (SwiftShader, the headless browser's adapter, has no `shader-f16`).
//! Weights keep their GGUF block formats on the GPU, repacked to 32-bit words ([`GpuMatrix`]).

mod backend;
mod context;
mod forward;
mod kernels;
mod kv;
mod matrix;
mod model;
mod repack;
mod timing;
mod workspace;

pub use backend::GpuBackend;
#[cfg(not(target_arch = "wasm32"))]
pub use context::quiet_headless_probe;
pub use context::{GpuContext, GpuError, Health};
pub use kernels::{rope_table, AttentionShape, Kernels, StoreShape, PAGE};
pub use matrix::{GpuMatrix, MatrixPart};
pub use model::{GpuModel, LoadError};
pub use repack::{gpu_format, WeightFormat};
pub use wgpu;
