//! Re-quantizing the shipped GGUF to the block formats the engine runs fastest.
//!
//! The shipped SmolLM2 file is Q4_1, which candle has no SIMD kernel for. Q8_0 keeps the
//! shipped model's answers (its error is far below Q4_1's own); Q4_0 is faster but lossy.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::Device;

use crate::error::{io, AssetError, Result};

/// llama.cpp's `general.file_type` codes ("mostly Q8_0", ...).
fn file_type(dtype: GgmlDType) -> Option<u32> {
    match dtype {
        GgmlDType::Q4_0 => Some(2),
        GgmlDType::Q8_0 => Some(7),
        _ => None,
    }
}

/// Write `src` to `dst` with every matrix re-quantized to `dtype`; vectors (norms) stay f32.
pub fn requantize(src: &Path, dst: &Path, dtype: GgmlDType) -> Result<()> {
    let err = |detail: String| AssetError::Convert { what: src.display().to_string(), detail };
    let mut reader = File::open(src).map_err(io(src))?;
    let content = gguf_file::Content::read(&mut reader).map_err(|e| err(e.to_string()))?;
    let mut names: Vec<&String> = content.tensor_infos.keys().collect();
    names.sort();
    let mut tensors = Vec::with_capacity(names.len());
    for name in &names {
        let tensor = content.tensor(&mut reader, name, &Device::Cpu).map_err(|e| err(format!("{name}: {e}")))?;
        let dims = tensor.shape().dims().to_vec();
        let is_matrix = dims.len() == 2 && dims[1] % dtype.block_size() == 0;
        let converted = if is_matrix && tensor.dtype() != dtype {
            let values = tensor.dequantize(&Device::Cpu).map_err(|e| err(format!("{name}: {e}")))?;
            QTensor::quantize(&values, dtype).map_err(|e| err(format!("{name}: {e}")))?
        } else {
            tensor
        };
        tensors.push(converted);
    }
    let mut metadata: Vec<(&str, Value)> = content.metadata.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    if let Some(code) = file_type(dtype) {
        metadata.retain(|(k, _)| *k != "general.file_type");
        metadata.push(("general.file_type", Value::U32(code)));
    }
    metadata.sort_by(|a, b| a.0.cmp(b.0));
    let meta_refs: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
    let tensor_refs: Vec<(&str, &QTensor)> = names.iter().map(|n| n.as_str()).zip(&tensors).collect();
    let partial = dst.with_extension("partial");
    {
        let file = File::create(&partial).map_err(io(&partial))?;
        let mut writer = BufWriter::new(file);
        gguf_file::write(&mut writer, &meta_refs, &tensor_refs).map_err(|e| err(e.to_string()))?;
    }
    std::fs::rename(&partial, dst).map_err(io(dst))?;
    Ok(())
}
