//! A model file held by the browser (a download in the Cache API, a file the visitor picked)
//! read in place: each tensor is copied once, from a slice of the `Blob` straight into its
//! buffer in wasm memory, so the weights never exist twice in the wasm heap.

use std::io::{self, Read, Seek, SeekFrom};

use sha2::{Digest, Sha256};
use web_sys::{Blob, FileReaderSync};

pub struct BlobSource {
    blob: Blob,
    reader: FileReaderSync,
    len: u64,
    pos: u64,
}

impl BlobSource {
    /// `FileReaderSync` exists only in workers: the engine never runs on the page's thread.
    pub fn new(blob: Blob) -> Result<Self, String> {
        let reader = FileReaderSync::new().map_err(|_| "the model can only be read inside a Web Worker".to_owned())?;
        let len = blob.size() as u64;
        Ok(Self { blob, reader, len, pos: 0 })
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, start: u64, buf: &mut [u8]) -> io::Result<usize> {
        let end = (start + buf.len() as u64).min(self.len);
        if start >= end {
            return Ok(0);
        }
        let slice = self.blob.slice_with_f64_and_f64(start as f64, end as f64).map_err(js_io_error)?;
        let bytes = self.reader.read_as_array_buffer(&slice).map_err(js_io_error)?;
        let n = (end - start) as usize;
        js_sys::Uint8Array::new(&bytes).copy_to(&mut buf[..n]);
        Ok(n)
    }

    /// SHA-256 of the whole file, read in slices, to name the model in results and caches.
    pub fn sha256(&self, on_progress: &mut dyn FnMut(u64)) -> io::Result<String> {
        const CHUNK: usize = 8 << 20;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; CHUNK];
        let mut at = 0;
        while at < self.len {
            let n = self.read_at(at, &mut buf)?;
            hasher.update(&buf[..n]);
            at += n as u64;
            on_progress(at);
        }
        Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
    }
}

fn js_io_error(e: wasm_bindgen::JsValue) -> io::Error {
    io::Error::other(format!("reading the model file failed: {e:?}"))
}

impl Read for BlobSource {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.read_at(self.pos, buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for BlobSource {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.pos)
    }
}
