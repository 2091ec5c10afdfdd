//! The CPU implementation of the backend contract: the Llama model plus a table of cached
//! sequences. Its futures are ready at once.

use std::collections::HashMap;
use std::sync::Arc;

use sclab_core::{check_batch, Backend, BackendError, ForwardOutput, ForwardRequest, ModelInfo, SeqId};

use crate::kv_cache::KvSeq;
use crate::llama::LlamaModel;

pub struct CpuBackend {
    model: Arc<LlamaModel>,
    info: ModelInfo,
    seqs: HashMap<SeqId, KvSeq>,
    next_id: u32,
}

impl CpuBackend {
    pub fn new(model: Arc<LlamaModel>, stop_tokens: Vec<u32>) -> Self {
        let c = &model.config;
        let info = ModelInfo {
            architecture: c.architecture.clone(),
            n_layers: c.n_layers,
            hidden_size: c.hidden_size,
            vocab_size: c.vocab_size,
            context_length: c.context_length,
            stop_tokens,
        };
        Self { model, info, seqs: HashMap::new(), next_id: 0 }
    }

    pub fn model(&self) -> &LlamaModel {
        &self.model
    }

    fn insert(&mut self, seq: KvSeq) -> SeqId {
        let id = SeqId(self.next_id);
        self.next_id += 1;
        self.seqs.insert(id, seq);
        id
    }
}

impl Backend for CpuBackend {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn new_sequence(&mut self) -> SeqId {
        let c = &self.model.config;
        self.insert(KvSeq::new(c.n_layers, c.kv_dim()))
    }

    fn fork(&mut self, seq: SeqId) -> Result<SeqId, BackendError> {
        let child = self.seqs.get_mut(&seq).ok_or(BackendError::UnknownSequence(seq))?.fork();
        Ok(self.insert(child))
    }

    fn rollback(&mut self, seq: SeqId, len: usize) -> Result<(), BackendError> {
        let cache = self.seqs.get_mut(&seq).ok_or(BackendError::UnknownSequence(seq))?;
        if len > cache.len() {
            return Err(BackendError::InvalidRollback { seq, to: len, len: cache.len() });
        }
        cache.truncate(len);
        Ok(())
    }

    fn free(&mut self, seq: SeqId) {
        self.seqs.remove(&seq);
    }

    fn seq_len(&self, seq: SeqId) -> Result<usize, BackendError> {
        self.seqs.get(&seq).map(KvSeq::len).ok_or(BackendError::UnknownSequence(seq))
    }

    async fn forward(&mut self, batch: &[ForwardRequest]) -> Result<Vec<ForwardOutput>, BackendError> {
        check_batch(&self.info, batch, |seq| self.seq_len(seq))?;
        // Take the caches out so the model can borrow them all mutably at once.
        let mut caches: Vec<KvSeq> = batch.iter().map(|r| self.seqs.remove(&r.seq).expect("validated above")).collect();
        let outputs = {
            let mut refs: Vec<&mut KvSeq> = caches.iter_mut().collect();
            self.model.forward(batch, &mut refs)
        };
        for (req, cache) in batch.iter().zip(caches) {
            self.seqs.insert(req.seq, cache);
        }
        Ok(outputs)
    }
}
