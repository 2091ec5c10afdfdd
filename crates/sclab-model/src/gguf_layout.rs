//! The sizes a GGUF header declares (strings, arrays, tensor shapes and offsets), checked against
//! the file's real length before anything is allocated for them. Model files are untrusted: a
//! visitor picks any file from disk. candle's reader, which builds the metadata afterwards, caps
//! lengths but divides by the declared alignment (0 panics), narrows each dimension to `usize`
//! (on wasm32 a 2^40-element tensor becomes an empty one) and multiplies shapes unchecked, so this
//! walk reads every size as the integer the file stores and refuses what cannot be true.

use std::collections::HashSet;
use std::io::{BufReader, Read, Seek};

use candle_core::quantized::gguf_file::Content;

/// The longest key or tensor name accepted: GGUF names are short paths (llama.cpp caps tensor
/// names at 64 bytes), so a longer one is damage, not a model.
const MAX_NAME_BYTES: u64 = 1 << 16;
/// GGUF tensors have at most four dimensions.
const MAX_DIMS: u32 = 4;
/// Arrays of arrays nest at most this deep (candle's own limit is higher; no model nests at all).
const MAX_DEPTH: usize = 16;
/// The most tensors and metadata entries a header may declare, and the most array elements all
/// its arrays may hold together. candle keeps a 16- to 32-byte value per element, so a file of
/// one-byte elements would otherwise take 16 to 32 times its size in memory; real models stay
/// far below (a 150k-token vocabulary with its types and merges holds about half a million).
const MAX_TENSORS: u64 = 1 << 16;
const MAX_ENTRIES: u64 = 1 << 16;
const MAX_ARRAY_ELEMENTS: u64 = 1 << 24;
/// candle's default when the file names no alignment.
const DEFAULT_ALIGNMENT: u64 = 32;
const ALIGNMENT_KEY: &str = "general.alignment";

/// What the header declares, as the file stores it.
pub(crate) struct Layout {
    file_len: u64,
    /// Where the tensor data starts, as the walk computed it.
    data_start: u64,
    /// Each tensor's name, dimensions and offset from the start of the tensor data.
    tensors: Vec<(String, Vec<u64>, u64)>,
}

/// Walks the header of `source` (a file of `file_len` bytes) from just after its magic; `Err`
/// says what is impossible about it. Lengths, counts and the alignment are checked here, before
/// candle reads the header; tensor sizes, which need candle's block formats, by
/// [`Layout::check_tensors`] after.
pub(crate) fn survey(source: &mut (impl Read + Seek), file_len: u64) -> Result<Layout, String> {
    let mut walk = Walk { input: BufReader::with_capacity(1 << 16, source), pos: 4, file_len, elements: 0 };
    let wide = match walk.u32()? {
        1 => false,
        2 | 3 => true,
        v => return Err(format!("GGUF version {v} is not one this engine reads (1 to 3)")),
    };
    let tensor_count = walk.length(wide)?;
    let entry_count = walk.length(wide)?;
    let length_bytes = if wide { 8 } else { 4 };
    // Each entry and tensor takes some bytes, so a count the rest of the file cannot hold is a lie
    // (and would otherwise drive a long loop).
    let least = entry_count
        .saturating_mul(length_bytes + 4 + 1)
        .saturating_add(tensor_count.saturating_mul(length_bytes + 4 + 4 + 8));
    if least > walk.remaining() {
        return Err(format!(
            "its header declares {entry_count} metadata entries and {tensor_count} tensors, \
             which need at least {least} bytes, but only {} follow",
            walk.remaining()
        ));
    }
    if tensor_count > MAX_TENSORS || entry_count > MAX_ENTRIES {
        return Err(format!(
            "its header declares {entry_count} metadata entries and {tensor_count} tensors; \
             this engine reads at most {MAX_ENTRIES} and {MAX_TENSORS}"
        ));
    }
    let mut alignment = DEFAULT_ALIGNMENT;
    for _ in 0..entry_count {
        let key = walk.name(wide, "metadata key")?;
        let value_type = walk.u32()?;
        if key == ALIGNMENT_KEY {
            // As candle reads it: the last entry counts, and one of another type means the default.
            alignment = walk.alignment_value(value_type)?.unwrap_or(DEFAULT_ALIGNMENT);
        }
        if key != ALIGNMENT_KEY || alignment_type(value_type).is_none() {
            walk.skip_value(value_type, wide, 0)?;
        }
    }
    if !alignment.is_power_of_two() {
        return Err(format!("{ALIGNMENT_KEY} is {alignment}, not a power of two"));
    }
    let mut names = HashSet::new();
    let mut tensors = Vec::new();
    for _ in 0..tensor_count {
        let name = walk.name(wide, "tensor name")?;
        if !names.insert(name.clone()) {
            return Err(format!("tensor `{name}` is declared twice"));
        }
        let n_dims = walk.u32()?;
        if n_dims > MAX_DIMS {
            return Err(format!("tensor `{name}` has {n_dims} dimensions; GGUF allows {MAX_DIMS}"));
        }
        let dims = (0..n_dims).map(|_| walk.length(wide)).collect::<Result<Vec<u64>, _>>()?;
        walk.skip(4)?; // the type, which candle reads
        let offset = walk.u64()?;
        tensors.push((name, dims, offset));
    }
    let data_start = walk.pos.div_ceil(alignment) * alignment;
    Ok(Layout { file_len, data_start, tensors })
}

impl Layout {
    /// Every tensor's shape must be addressable and whole blocks of its type, and its bytes must
    /// lie inside the file: a cut-off download fails here, at open, not half way through loading.
    pub(crate) fn check_tensors(&self, content: &Content) -> Result<(), String> {
        // The walk and candle must have read the same header; a candle that reads it otherwise
        // (a new version) fails here rather than silently.
        if content.tensor_data_offset != self.data_start || content.tensor_infos.len() != self.tensors.len() {
            return Err("its header reads differently twice (an unknown GGUF variant)".into());
        }
        for (name, dims, offset) in &self.tensors {
            let info = content.tensor_infos.get(name).ok_or_else(|| format!("tensor `{name}` is unreadable"))?;
            let dtype = info.ggml_dtype;
            let too_large = || format!("tensor `{name}` claims shape {dims:?}, more than this engine can address");
            // Every dimension counts, an empty one too: loops run over the others.
            let extent = dims.iter().try_fold(1u64, |n, &d| n.checked_mul(d.max(1))).ok_or_else(too_large)?;
            let elements: u64 = dims.iter().product(); // at most `extent`
            let block = dtype.block_size() as u64;
            if dims.first().copied().unwrap_or(1) % block != 0 {
                return Err(format!("tensor `{name}`'s rows ({dims:?}) are not whole {dtype:?} blocks of {block}"));
            }
            let bytes = (elements / block).checked_mul(dtype.type_size() as u64).ok_or_else(too_large)?;
            // An empty tensor stores nothing, so nothing bounds its other dimensions but this.
            let empty_but_vast = elements == 0 && extent > self.file_len;
            if empty_but_vast || usize::try_from(extent).is_err() || usize::try_from(bytes).is_err() {
                return Err(too_large());
            }
            let end = self.data_start.checked_add(*offset).and_then(|start| start.checked_add(bytes));
            match end {
                Some(end) if end <= self.file_len => {}
                Some(end) => {
                    return Err(format!(
                        "tensor `{name}` ends at byte {end} but the file has only {} bytes",
                        self.file_len
                    ))
                }
                None => return Err(format!("tensor `{name}` claims an offset past any file ({offset})")),
            }
        }
        Ok(())
    }
}

/// A forward-only reader that knows how many bytes of the file are left.
struct Walk<R> {
    input: BufReader<R>,
    pos: u64,
    file_len: u64,
    /// Array elements so far, at every depth.
    elements: u64,
}

impl<R: Read + Seek> Walk<R> {
    fn remaining(&self) -> u64 {
        self.file_len.saturating_sub(self.pos)
    }

    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut buf = [0u8; N];
        self.input.read_exact(&mut buf).map_err(|_| format!("its header ends early, at byte {}", self.pos))?;
        self.pos += N as u64;
        Ok(buf)
    }

    fn u32(&mut self) -> Result<u32, String> {
        self.bytes::<4>().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Result<u64, String> {
        self.bytes::<8>().map(u64::from_le_bytes)
    }

    /// A count or length: 32 bits in GGUF version 1, 64 bits after.
    fn length(&mut self, wide: bool) -> Result<u64, String> {
        if wide {
            self.u64()
        } else {
            self.u32().map(u64::from)
        }
    }

    fn skip(&mut self, n: u64) -> Result<(), String> {
        if n > self.remaining() {
            return Err(format!(
                "its header declares {n} bytes at byte {} but only {} follow",
                self.pos,
                self.remaining()
            ));
        }
        // Within the file, so the offset fits an i64.
        self.input.seek_relative(n as i64).map_err(|e| format!("cannot skip {n} bytes: {e}"))?;
        self.pos += n;
        Ok(())
    }

    /// A string that is kept (a key or a tensor name), so it is short.
    fn name(&mut self, wide: bool, what: &str) -> Result<String, String> {
        let len = self.length(wide)?;
        if len > MAX_NAME_BYTES.min(self.remaining()) {
            return Err(format!("a {what} at byte {} claims {len} bytes", self.pos));
        }
        let mut buf = vec![0u8; len as usize];
        self.input.read_exact(&mut buf).map_err(|_| format!("its header ends early, at byte {}", self.pos))?;
        self.pos += len;
        // As candle reads names: trailing NULs dropped, invalid UTF-8 replaced.
        while buf.last() == Some(&0) {
            buf.pop();
        }
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    /// The alignment as candle reads it (an unsigned or non-negative integer of up to 32 bits;
    /// a negative one counts as absent); `None`, and the value left unread, for other types.
    fn alignment_value(&mut self, value_type: u32) -> Result<Option<u64>, String> {
        let value: i64 = match alignment_type(value_type) {
            Some(AlignmentType::U8) => self.bytes::<1>()?[0].into(),
            Some(AlignmentType::I8) => i8::from_le_bytes(self.bytes()?).into(),
            Some(AlignmentType::U16) => u16::from_le_bytes(self.bytes()?).into(),
            Some(AlignmentType::I16) => i16::from_le_bytes(self.bytes()?).into(),
            Some(AlignmentType::U32) => self.u32()?.into(),
            Some(AlignmentType::I32) => i32::from_le_bytes(self.bytes()?).into(),
            None => return Ok(None),
        };
        Ok(u64::try_from(value).ok())
    }

    fn skip_value(&mut self, value_type: u32, wide: bool, depth: usize) -> Result<(), String> {
        match ValueType::of(value_type)? {
            ValueType::Fixed(size) => self.skip(size),
            ValueType::String => {
                let len = self.length(wide)?;
                self.skip(len)
            }
            ValueType::Array => {
                if depth >= MAX_DEPTH {
                    return Err(format!("its metadata nests arrays more than {MAX_DEPTH} deep"));
                }
                let element_type = self.u32()?;
                let count = self.length(wide)?;
                self.elements = self.elements.saturating_add(count);
                if self.elements > MAX_ARRAY_ELEMENTS {
                    return Err(format!(
                        "its metadata arrays hold more than {MAX_ARRAY_ELEMENTS} elements (at byte {})",
                        self.pos
                    ));
                }
                let length_bytes = if wide { 8 } else { 4 };
                let least = match ValueType::of(element_type)? {
                    ValueType::Fixed(size) => size,
                    ValueType::String => length_bytes,
                    ValueType::Array => 4 + length_bytes,
                };
                let needed = count.saturating_mul(least);
                if needed > self.remaining() {
                    return Err(format!(
                        "an array at byte {} claims {count} elements, at least {needed} bytes, but only {} follow",
                        self.pos,
                        self.remaining()
                    ));
                }
                match ValueType::of(element_type)? {
                    ValueType::Fixed(_) => self.skip(needed),
                    _ => (0..count).try_for_each(|_| self.skip_value(element_type, wide, depth + 1)),
                }
            }
        }
    }
}

/// The integer types candle takes an alignment from.
enum AlignmentType {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
}

fn alignment_type(id: u32) -> Option<AlignmentType> {
    Some(match id {
        0 => AlignmentType::U8,
        1 => AlignmentType::I8,
        2 => AlignmentType::U16,
        3 => AlignmentType::I16,
        4 => AlignmentType::U32,
        5 => AlignmentType::I32,
        _ => return None,
    })
}

/// How a metadata value of each GGUF type id is laid out.
enum ValueType {
    Fixed(u64),
    String,
    Array,
}

impl ValueType {
    fn of(id: u32) -> Result<Self, String> {
        Ok(match id {
            0 | 1 | 7 => Self::Fixed(1), // u8, i8, bool
            2 | 3 => Self::Fixed(2),     // u16, i16
            4..=6 => Self::Fixed(4),     // u32, i32, f32
            10..=12 => Self::Fixed(8),   // u64, i64, f64
            8 => Self::String,
            9 => Self::Array,
            _ => return Err(format!("its metadata holds a value of unknown type {id}")),
        })
    }
}
