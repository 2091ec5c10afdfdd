//! Last-position logits of a prompt from this engine and from candle-transformers' stock model
//! of the file's architecture (`quantized_qwen2` for Qwen2, else `quantized_llama`): the real
//! files' independent reference.

use candle_core::{Device, Tensor};
use candle_transformers::models::{quantized_llama, quantized_qwen2};
use pollster::block_on;
use sclab_core::{Backend, ForwardRequest, LogitPositions};

pub fn our_logits(path: &std::path::Path, prompt: &[u32]) -> Vec<f32> {
    let mut model = sclab_engine::load(path).unwrap();
    let seq = model.backend.new_sequence();
    let req = ForwardRequest { seq, tokens: prompt.to_vec(), logits: LogitPositions::Last, hidden: false };
    block_on(model.backend.forward(&[req])).unwrap().remove(0).logits
}

pub fn stock_logits(path: &std::path::Path, prompt: &[u32]) -> Vec<f32> {
    let mut file = std::fs::File::open(path).unwrap();
    let content = candle_core::quantized::gguf_file::Content::read(&mut file).unwrap();
    let qwen2 = content.metadata["general.architecture"].to_string().unwrap() == "qwen2";
    let input = Tensor::new(prompt, &Device::Cpu).unwrap().unsqueeze(0).unwrap();
    let logits = if qwen2 {
        let mut stock = quantized_qwen2::ModelWeights::from_gguf(content, &mut file, &Device::Cpu).unwrap();
        stock.forward(&input, 0).unwrap()
    } else {
        let mut stock = quantized_llama::ModelWeights::from_gguf(content, &mut file, &Device::Cpu).unwrap();
        stock.forward(&input, 0).unwrap()
    };
    logits.get(0).unwrap().to_vec1::<f32>().unwrap()
}
