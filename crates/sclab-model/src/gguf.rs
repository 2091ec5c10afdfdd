//! Reading a GGUF file (or any seekable source of its bytes): its metadata, checked against the file's real length, and its tensors
//! straight into typed buffers (one read, no intermediate copy).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::quantized::GgmlDType;
use candle_core::Device;

use crate::error::{ModelError, Result};

const GGUF_MAGIC: [u8; 4] = *b"GGUF";

/// Where a GGUF file's bytes come from: a file, or anything else that reads and seeks (an
/// in-memory buffer, a browser `Blob`).
pub trait Source: Read + Seek {}
impl<T: Read + Seek> Source for T {}

pub struct GgufFile {
    path: PathBuf,
    reader: Box<dyn Source>,
    pub content: Content,
}

impl GgufFile {
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|source| ModelError::Io { path: path.to_owned(), source })?;
        Self::from_reader(path, Box::new(file))
    }

    /// A GGUF read from `reader`; `name` stands for it in error messages.
    pub fn from_reader(name: &Path, mut reader: Box<dyn Source>) -> Result<Self> {
        let io = |source| ModelError::Io { path: name.to_owned(), source };
        let file_len = reader.seek(SeekFrom::End(0)).map_err(io)?;
        reader.seek(SeekFrom::Start(0)).map_err(io)?;
        let mut magic = [0u8; 4];
        if reader.read_exact(&mut magic).is_err() || magic != GGUF_MAGIC {
            return Err(ModelError::NotGguf {
                path: name.to_owned(),
                detail: format!("it starts with {magic:02x?}, not the GGUF magic {GGUF_MAGIC:02x?}"),
            });
        }
        let corrupt = |detail| ModelError::Corrupt { path: name.to_owned(), detail };
        let layout = crate::gguf_layout::survey(&mut reader, file_len).map_err(corrupt)?;
        reader.seek(SeekFrom::Start(0)).map_err(io)?;
        let content = Content::read(&mut reader).map_err(|e| ModelError::Corrupt {
            path: name.to_owned(),
            detail: format!("its header cannot be read ({e})"),
        })?;
        layout.check_tensors(&content).map_err(corrupt)?;
        Ok(Self { path: name.to_owned(), reader, content })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn get(&self, key: &str) -> Result<&Value> {
        self.content.metadata.get(key).ok_or_else(|| ModelError::MissingMetadata(key.to_owned()))
    }

    pub fn get_opt(&self, key: &str) -> Option<&Value> {
        self.content.metadata.get(key)
    }

    pub fn get_str(&self, key: &str) -> Result<&str> {
        self.get(key)?.to_string().map(|s| s.as_str()).map_err(|e| self.bad_meta(key, e))
    }

    /// Integer metadata of any width.
    pub fn get_usize(&self, key: &str) -> Result<usize> {
        let v = self.get(key)?;
        let n = match v {
            Value::U8(x) => *x as i64,
            Value::I8(x) => *x as i64,
            Value::U16(x) => *x as i64,
            Value::I16(x) => *x as i64,
            Value::U32(x) => *x as i64,
            Value::I32(x) => *x as i64,
            Value::U64(x) => *x as i64,
            Value::I64(x) => *x,
            other => return Err(self.bad_meta(key, format!("expected an integer, found {:?}", other.value_type()))),
        };
        usize::try_from(n).map_err(|_| self.bad_meta(key, format!("negative value {n}")))
    }

    pub fn get_f32(&self, key: &str) -> Result<f32> {
        match self.get(key)? {
            Value::F32(x) => Ok(*x),
            Value::F64(x) => Ok(*x as f32),
            other => Err(self.bad_meta(key, format!("expected a float, found {:?}", other.value_type()))),
        }
    }

    pub fn get_array(&self, key: &str) -> Result<&Vec<Value>> {
        self.get(key)?.to_vec().map_err(|e| self.bad_meta(key, e))
    }

    fn bad_meta(&self, key: &str, detail: impl std::fmt::Display) -> ModelError {
        ModelError::Corrupt { path: self.path.clone(), detail: format!("metadata `{key}`: {detail}") }
    }

    pub fn has_tensor(&self, name: &str) -> bool {
        self.content.tensor_infos.contains_key(name)
    }

    /// A 1-D or 2-D tensor's block format and `rows × cols` (a vector is one row).
    pub fn tensor_shape(&self, name: &str) -> Result<(GgmlDType, usize, usize)> {
        let (dtype, _, rows, cols) = self.locate(name)?;
        Ok((dtype, rows, cols))
    }

    /// A 1-D or 2-D tensor's raw bytes, as stored, into `buf`, which must hold exactly them.
    pub fn read_tensor(&mut self, name: &str, buf: &mut [u8]) -> Result<()> {
        let (dtype, start, rows, cols) = self.locate(name)?;
        let len = tensor_bytes(dtype, rows * cols);
        if buf.len() != len {
            let detail = format!("{len} bytes stored, {} wanted", buf.len());
            return Err(ModelError::BadTensor { tensor: name.to_owned(), detail });
        }
        self.reader
            .seek(SeekFrom::Start(start))
            .and_then(|_| self.reader.read_exact(buf))
            .map_err(|source| ModelError::Io { path: self.path.clone(), source })
    }

    /// A 2-D weight's block format, `rows × cols` and raw bytes, as stored (for the GPU, which
    /// keeps its own layout).
    pub fn raw_matrix(&mut self, name: &str) -> Result<(GgmlDType, usize, usize, Vec<u8>)> {
        let (dtype, rows, cols) = self.tensor_shape(name)?;
        let mut bytes = vec![0u8; tensor_bytes(dtype, rows * cols)];
        self.read_tensor(name, &mut bytes)?;
        Ok((dtype, rows, cols, bytes))
    }

    /// Block format, file offset and `rows × cols` of a 1-D or 2-D tensor.
    fn locate(&self, name: &str) -> Result<(GgmlDType, u64, usize, usize)> {
        let info = self.content.tensor_infos.get(name).ok_or_else(|| ModelError::MissingTensor(name.to_owned()))?;
        let (dtype, offset, dims) = (info.ggml_dtype, info.offset, info.shape.dims().to_vec());
        let (rows, cols) = match dims[..] {
            [rows, cols] => (rows, cols),
            [cols] => (1, cols),
            _ => {
                return Err(ModelError::BadTensor {
                    tensor: name.to_owned(),
                    detail: format!("expected a matrix, found shape {dims:?}"),
                })
            }
        };
        Ok((dtype, self.content.tensor_data_offset + offset, rows, cols))
    }

    /// A 1-D tensor as f32 (norm weights, biases), dequantized by candle from any format.
    pub fn vector(&mut self, name: &str) -> Result<Vec<f32>> {
        let (_, rows, _) = self.tensor_shape(name)?;
        if rows != 1 {
            let detail = format!("expected a vector, found {rows} rows");
            return Err(ModelError::BadTensor { tensor: name.to_owned(), detail });
        }
        let bad = |e: candle_core::Error| ModelError::BadTensor { tensor: name.to_owned(), detail: e.to_string() };
        let tensor = self.content.tensor(&mut self.reader, name, &Device::Cpu).map_err(bad)?;
        tensor.dequantize(&Device::Cpu).and_then(|t| t.flatten_all()?.to_vec1::<f32>()).map_err(bad)
    }
}

pub fn tensor_bytes(dtype: GgmlDType, elems: usize) -> usize {
    elems / dtype.block_size() * dtype.type_size()
}
