//! The Llama / Qwen2 transformer over flat f32 rows.
//!
//! A forward call stacks the new tokens of every sequence in the batch into one activation
//! matrix, so each weight matrix is multiplied once per layer for the whole batch. Attention is
//! the only per-sequence step: each row attends to its own sequence's cache.

use candle_core::quantized::GgmlDType;
use candle_core::utils::barrier_pool;
use sclab_core::{BatchRows, ForwardOutput, ForwardRequest};

use sclab_model::tensors::{LayerTensor as T, OUTPUT, OUTPUT_NORM, TOKEN_EMBD};
use sclab_model::{GgufFile, ModelConfig};

use crate::error::Result;
use crate::kv_cache::KvSeq;
use crate::ops::{add_bias, add_in_place, dot, rms_norm, softmax, swiglu, Rope};
use crate::qmatrix::{Activations, QMatrix};

pub struct Layer {
    pub attn_norm: Vec<f32>,
    pub wq: QMatrix,
    pub wk: QMatrix,
    pub wv: QMatrix,
    /// Qwen2's q, k, v biases.
    pub bias: Option<[Vec<f32>; 3]>,
    pub wo: QMatrix,
    pub ffn_norm: Vec<f32>,
    pub w_gate: QMatrix,
    pub w_up: QMatrix,
    pub w_down: QMatrix,
}

pub struct LlamaModel {
    pub config: ModelConfig,
    pub embedding: QMatrix,
    /// `None` when the output head is tied to the embedding.
    pub output: Option<QMatrix>,
    pub output_norm: Vec<f32>,
    pub layers: Vec<Layer>,
    rope: Rope,
    pub activations: Activations,
}

impl LlamaModel {
    pub fn load(gguf: &mut GgufFile) -> Result<Self> {
        let config = ModelConfig::from_gguf(gguf)?;
        let mut layers = Vec::with_capacity(config.n_layers);
        for i in 0..config.n_layers {
            let matrix = |gguf: &mut GgufFile, t: T| QMatrix::from_gguf(gguf, &t.name(i));
            let vector = |gguf: &mut GgufFile, t: T| gguf.vector(&t.name(i));
            let bias = if config.qkv_bias {
                Some([vector(gguf, T::AttnQBias)?, vector(gguf, T::AttnKBias)?, vector(gguf, T::AttnVBias)?])
            } else {
                None
            };
            layers.push(Layer {
                attn_norm: vector(gguf, T::AttnNorm)?,
                wq: matrix(gguf, T::AttnQ)?,
                wk: matrix(gguf, T::AttnK)?,
                wv: matrix(gguf, T::AttnV)?,
                bias,
                wo: matrix(gguf, T::AttnOutput)?,
                ffn_norm: vector(gguf, T::FfnNorm)?,
                w_gate: matrix(gguf, T::FfnGate)?,
                w_up: matrix(gguf, T::FfnUp)?,
                w_down: matrix(gguf, T::FfnDown)?,
            });
        }
        let output = if gguf.has_tensor(OUTPUT) { Some(QMatrix::from_gguf(gguf, OUTPUT)?) } else { None };
        // 8-bit activations flip the shipped Q4_1 SmolLM2's first answer token (f32 logits:
        // "The" 25.33, "L" 25.24) and send it off into French. candle has no SIMD Q4_1 kernel,
        // so Q4_1 models lose little by running on f32 activations, which keep its answers.
        let activations = if layers.iter().any(|l| l.wq.dtype() == GgmlDType::Q4_1) {
            Activations::F32
        } else {
            Activations::Quantized
        };
        Ok(Self {
            activations,
            embedding: QMatrix::from_gguf(gguf, TOKEN_EMBD)?,
            output,
            output_norm: gguf.vector(OUTPUT_NORM)?,
            rope: Rope::new(config.rope_frequencies(), config.rope_layout),
            layers,
            config,
        })
    }

    /// Multiply-adds per token in the weight matrices (the output head once, tied or not).
    pub fn weight_macs(&self) -> usize {
        self.per_token_matrices().map(|m| m.rows() * m.cols()).sum()
    }

    /// Bytes of weights one decoding step reads, as they lie in memory (rewritten blocks of the
    /// interleaved formats are larger than the file's).
    pub fn weight_bytes(&self) -> usize {
        self.per_token_matrices().map(QMatrix::resident_bytes).sum()
    }

    /// Every matrix a token is multiplied by: each layer's seven, then the output head.
    fn per_token_matrices(&self) -> impl Iterator<Item = &QMatrix> {
        let layers = self.layers.iter().flat_map(|l| [&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down]);
        layers.chain(std::iter::once(self.head()))
    }

    fn head(&self) -> &QMatrix {
        self.output.as_ref().unwrap_or(&self.embedding)
    }

    /// Run the batch; `caches[i]` belongs to `requests[i]`. Tokens are validated by the caller.
    pub fn forward(&self, requests: &[ForwardRequest], caches: &mut [&mut KvSeq]) -> Vec<ForwardOutput> {
        let c = &self.config;
        let (d, kv_dim, q_dim) = (c.hidden_size, c.kv_dim(), c.n_heads * c.head_dim);
        // Every new token is one row: (request, absolute position).
        let rows: Vec<(usize, usize)> = requests
            .iter()
            .enumerate()
            .flat_map(|(r, req)| {
                let start = caches[r].len();
                (0..req.tokens.len()).map(move |t| (r, start + t))
            })
            .collect();
        let m = rows.len();
        let mut x = vec![0f32; m * d];
        let tokens = requests.iter().flat_map(|r| r.tokens.iter());
        for (row, &token) in x.chunks_exact_mut(d).zip(tokens) {
            self.embedding.dequantize_row(token as usize, row);
        }
        let batch_rows = BatchRows::of(requests);
        let last_row = &batch_rows.last;
        let mut hidden: Vec<Option<Vec<Vec<f32>>>> =
            requests.iter().map(|r| r.hidden.then(|| Vec::with_capacity(c.n_layers))).collect();

        let mut h = vec![0f32; m * d];
        let mut q = vec![0f32; m * q_dim];
        let mut k = vec![0f32; m * kv_dim];
        let mut v = vec![0f32; m * kv_dim];
        let mut att = vec![0f32; m * q_dim];
        let mut gate = vec![0f32; m * c.ffn_size];
        let mut up = vec![0f32; m * c.ffn_size];

        for (l, layer) in self.layers.iter().enumerate() {
            rms_norm(&x, &layer.attn_norm, c.rms_eps, &mut h);
            layer.wq.matmul(&h, m, &mut q, self.activations);
            layer.wk.matmul(&h, m, &mut k, self.activations);
            layer.wv.matmul(&h, m, &mut v, self.activations);
            if let Some([bq, bk, bv]) = &layer.bias {
                add_bias(&mut q, bq);
                add_bias(&mut k, bk);
                add_bias(&mut v, bv);
            }
            for (i, &(_, pos)) in rows.iter().enumerate() {
                self.rope.apply(&mut q[i * q_dim..(i + 1) * q_dim], pos);
                self.rope.apply(&mut k[i * kv_dim..(i + 1) * kv_dim], pos);
            }
            let mut offset = 0;
            for (r, req) in requests.iter().enumerate() {
                let n = req.tokens.len();
                caches[r].stage(
                    l,
                    &k[offset * kv_dim..(offset + n) * kv_dim],
                    &v[offset * kv_dim..(offset + n) * kv_dim],
                );
                offset += n;
            }
            self.attention(l, &rows, &q, caches, &mut att);
            layer.wo.matmul(&att, m, &mut h, self.activations);
            add_in_place(&mut x, &h);

            rms_norm(&x, &layer.ffn_norm, c.rms_eps, &mut h);
            layer.w_gate.matmul(&h, m, &mut gate, self.activations);
            layer.w_up.matmul(&h, m, &mut up, self.activations);
            swiglu(&mut gate, &up);
            layer.w_down.matmul(&gate, m, &mut h, self.activations);
            add_in_place(&mut x, &h);

            for (r, states) in hidden.iter_mut().enumerate() {
                if let Some(states) = states {
                    let row = last_row[r];
                    states.push(x[row * d..(row + 1) * d].to_vec());
                }
            }
        }
        for (r, req) in requests.iter().enumerate() {
            caches[r].commit(req.tokens.len());
        }

        // Only the rows whose logits were asked for go through the (large) output head.
        let logit_rows = &batch_rows.logits;
        let n_logits = logit_rows.len();
        let mut selected = vec![0f32; n_logits * d];
        for (dst, &row) in selected.chunks_exact_mut(d).zip(logit_rows) {
            rms_norm(&x[row * d..(row + 1) * d], &self.output_norm, c.rms_eps, dst);
        }
        let vocab = c.vocab_size;
        let mut logits = vec![0f32; n_logits * vocab];
        if n_logits > 0 {
            self.head().matmul(&selected, n_logits, &mut logits, self.activations);
        }
        requests
            .iter()
            .zip(hidden)
            .enumerate()
            .map(|(r, (req, hidden))| ForwardOutput {
                seq: req.seq,
                logits: batch_rows.logits_of(r, &logits, vocab),
                hidden,
            })
            .collect()
    }

    /// Causal attention of every new row over its own sequence's cache. The query heads that
    /// share a key/value head are one work item, so each cached key and value is read once
    /// for all of them.
    fn attention(&self, layer: usize, rows: &[(usize, usize)], q: &[f32], caches: &[&mut KvSeq], out: &mut [f32]) {
        let c = &self.config;
        let (hd, kv_dim, q_dim) = (c.head_dim, c.kv_dim(), c.n_heads * c.head_dim);
        let group = c.n_heads / c.n_kv_heads;
        let scale = 1.0 / (hd as f32).sqrt();
        let out_ptr = out.as_mut_ptr() as usize;
        barrier_pool().execute_chunked(rows.len() * c.n_kv_heads, |items| {
            let mut scores: Vec<Vec<f32>> = vec![Vec::new(); group];
            for item in items {
                let (i, kv_head) = (item / c.n_kv_heads, item % c.n_kv_heads);
                let (r, pos) = rows[i];
                let kv_off = kv_head * hd;
                let first_head = kv_head * group;
                let queries: Vec<&[f32]> = (0..group).map(|g| &q[i * q_dim + (first_head + g) * hd..][..hd]).collect();
                let visible = pos + 1;
                scores.iter_mut().for_each(|s| s.resize(visible, 0.0));
                let mut position = 0;
                'keys: for (keys, _) in caches[r].chunks(layer) {
                    for key in keys.chunks_exact(kv_dim) {
                        if position == visible {
                            break 'keys;
                        }
                        let key = &key[kv_off..kv_off + hd];
                        for (s, qh) in scores.iter_mut().zip(&queries) {
                            s[position] = dot(qh, key) * scale;
                        }
                        position += 1;
                    }
                }
                scores.iter_mut().for_each(|s| softmax(s));
                // SAFETY: each (row, kv head) item owns the disjoint output slice of its query heads.
                let dst = unsafe {
                    std::slice::from_raw_parts_mut((out_ptr as *mut f32).add(i * q_dim + first_head * hd), group * hd)
                };
                // Sixteen output dimensions at a time, their sums kept in one vector register
                // over all positions (head sizes are multiples of 16).
                for (head_out, weights) in dst.chunks_exact_mut(hd).zip(&scores) {
                    for (c, out16) in head_out.chunks_exact_mut(16).enumerate() {
                        let mut acc = [0f32; 16];
                        let mut weights = weights.iter();
                        'values: for (_, values) in caches[r].chunks(layer) {
                            for value in values.chunks_exact(kv_dim) {
                                let Some(&w) = weights.next() else { break 'values };
                                let v = &value[kv_off + 16 * c..kv_off + 16 * c + 16];
                                for t in 0..16 {
                                    acc[t] = weighted_add(w, v[t], acc[t]);
                                }
                            }
                        }
                        out16.copy_from_slice(&acc);
                    }
                }
            }
        });
    }
}

/// `w · v + acc`, fused where the machine fuses it. wasm has no fused multiply-add: there
/// `mul_add` is a software routine called per element, which kept this loop from vectorising
/// and made the page's experiment twice as slow (docs/BENCHMARKS.md), so wasm rounds the
/// product and the sum apart. Native builds keep the fused form and their results.
#[inline(always)]
fn weighted_add(w: f32, v: f32, acc: f32) -> f32 {
    #[cfg(target_arch = "wasm32")]
    {
        w * v + acc
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        w.mul_add(v, acc)
    }
}
