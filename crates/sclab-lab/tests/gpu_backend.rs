//! The GPU backend against the CPU engine on the tiny model (Mesa's lavapipe in CI): the same
//! logits and hidden states within tolerance, the same greedy tokens, and the cache semantics
//! of the backend contract (fork, rollback, free).
#![cfg(not(target_arch = "wasm32"))] // natively on Vulkan; gpu_browser.rs runs in Chromium

use std::io::Cursor;

use pollster::block_on;
use sclab_core::experiment::concept::last_token_states;
use sclab_core::{generate, Backend, ForwardRequest, GenerateParams, LogitPositions, SamplingParams, SeqId};
use sclab_gpu::{GpuBackend, GpuContext, GpuModel};
use sclab_model::{ChatCodec, GgufFile};
use sclab_testkit::relative_diff as relative;
use sclab_testkit::{bytes, tiny_model_bytes, TinySpec, IM_END};

fn spec(dtype: candle_core::quantized::GgmlDType) -> TinySpec {
    TinySpec { dtype, ..Default::default() }
}

fn both(spec: &TinySpec) -> (sclab_engine::LoadedModel, GpuBackend) {
    let model = tiny_model_bytes(spec);
    let cpu = sclab_engine::load_from_reader("tiny.gguf", Box::new(Cursor::new(model.clone()))).unwrap();
    let ctx = block_on(GpuContext::new()).expect("a Vulkan adapter (Debian: mesa-vulkan-drivers)");
    let mut gguf = GgufFile::from_reader("tiny.gguf".as_ref(), Box::new(Cursor::new(model))).unwrap();
    let gpu_model = GpuModel::load(&ctx, &mut gguf).unwrap();
    let stop = sclab_core::Backend::info(&cpu.backend).stop_tokens.clone();
    // The cache the lab gives the GPU: 16 byte-level texts of the concept test fill 1024.
    let gpu = GpuBackend::new(ctx, gpu_model, stop, sclab_lab::GPU_CACHE_POSITIONS).unwrap();
    (cpu, gpu)
}

fn forward(b: &mut impl Backend, seq: SeqId, tokens: &[u32], logits: LogitPositions) -> sclab_core::ForwardOutput {
    let req = ForwardRequest { seq, tokens: tokens.to_vec(), logits, hidden: true };
    block_on(b.forward(&[req])).unwrap().remove(0)
}

fn greedy(b: &mut impl Backend, prompt: &[u32], n: usize) -> Vec<u32> {
    let seq = b.new_sequence();
    let first = forward(b, seq, prompt, LogitPositions::Last).logits;
    let params = GenerateParams { sampling: SamplingParams::GREEDY, max_tokens: n, seed: 0, first_stream: 0 };
    let out = block_on(generate(b, &[seq], vec![first], &params, |_, _| true)).unwrap().remove(0);
    b.free(seq);
    out.tokens
}

#[test]
#[ignore = "needs a Vulkan adapter: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn the_gpu_forward_pass_matches_the_cpu_engine_in_each_format() {
    use candle_core::quantized::GgmlDType::*;
    for dtype in [F32, Q8_0, Q4_0, Q4_1] {
        let (mut cpu, mut gpu) = both(&spec(dtype));
        let prompt = bytes("<|im_start|>user\nhello there, tiny model<|im_end|>\n<|im_start|>assistant\n");
        let (c, g) = (cpu.backend.new_sequence(), gpu.new_sequence());
        let want = forward(&mut cpu.backend, c, &prompt, LogitPositions::All);
        let got = forward(&mut gpu, g, &prompt, LogitPositions::All);
        assert!(
            relative(&got.logits, &want.logits) < 1e-3,
            "{dtype:?} logits: {}",
            relative(&got.logits, &want.logits)
        );
        let (gh, wh) = (got.hidden.unwrap(), want.hidden.unwrap());
        assert_eq!(gh.len(), wh.len());
        for (l, (a, b)) in gh.iter().zip(&wh).enumerate() {
            assert!(relative(a, b) < 1e-3, "{dtype:?} hidden state of layer {l}: {}", relative(a, b));
        }
        // One more token on the cached prefix: the cache holds what the CPU's holds.
        let next = bytes("I");
        let want = forward(&mut cpu.backend, c, &next, LogitPositions::Last);
        let got = forward(&mut gpu, g, &next, LogitPositions::Last);
        assert!(relative(&got.logits, &want.logits) < 1e-3, "{dtype:?} cached step");
        assert_eq!(greedy(&mut gpu, &prompt, 32), greedy(&mut cpu.backend, &prompt, 32), "{dtype:?} greedy tokens");
    }
}

#[test]
#[ignore = "needs a Vulkan adapter: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn qwen2_biases_and_halves_rope_match_the_cpu_engine() {
    let (mut cpu, mut gpu) = both(&TinySpec { architecture: "qwen2", ..spec(candle_core::quantized::GgmlDType::Q8_0) });
    let prompt = bytes("qwen2 adds biases to q, k and v");
    let (c, g) = (cpu.backend.new_sequence(), gpu.new_sequence());
    let want = forward(&mut cpu.backend, c, &prompt, LogitPositions::All).logits;
    let got = forward(&mut gpu, g, &prompt, LogitPositions::All).logits;
    assert!(relative(&got, &want) < 1e-3, "{}", relative(&got, &want));
}

#[test]
#[ignore = "needs a Vulkan adapter: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn llama3_scaled_rope_matches_the_cpu_engine() {
    let (mut cpu, mut gpu) = both(&TinySpec { llama3_rope: true, ..spec(candle_core::quantized::GgmlDType::Q8_0) });
    let prompt = bytes("Llama 3 divides the long-wavelength RoPE frequencies by up to eight");
    let (c, g) = (cpu.backend.new_sequence(), gpu.new_sequence());
    let want = forward(&mut cpu.backend, c, &prompt, LogitPositions::All).logits;
    let got = forward(&mut gpu, g, &prompt, LogitPositions::All).logits;
    assert!(relative(&got, &want) < 1e-3, "{}", relative(&got, &want));
    assert_eq!(greedy(&mut gpu, &prompt, 16), greedy(&mut cpu.backend, &prompt, 16));
}

/// Formats the CPU engine runs on rounded activations (F16 on 16-bit floats, Q5_0 and the
/// K-quants on 16-bit integer blocks), against that file dequantized to F32 on the CPU engine:
/// the GPU dequantizes exactly, so it must compute the f32 model. A tiny model 256 wide, the
/// K-quants' super-block.
#[test]
#[ignore = "needs a Vulkan adapter: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn k_quant_and_other_files_run_as_their_f32_dequantization() {
    use candle_core::quantized::GgmlDType::*;
    let shape = sclab_testkit::Shape { hidden: 256, layers: 2, heads: 4, kv_heads: 2, ffn: 512, vocab: 0 };
    let dir = tempfile::tempdir().unwrap();
    for dtype in [F16, Q5_0, Q4K, Q5K, Q6K] {
        let quantized = sclab_testkit::write_tiny_model(dir.path(), &TinySpec { shape, ..spec(dtype) });
        let dequantized = dir.path().join(format!("{dtype:?}-f32.gguf"));
        sclab_assets::requantize(&quantized, &dequantized, F32).unwrap();
        let mut cpu = sclab_engine::load(&dequantized).unwrap();
        let ctx = block_on(GpuContext::new()).expect("a Vulkan adapter (Debian: mesa-vulkan-drivers)");
        let model = GpuModel::load(&ctx, &mut GgufFile::open(&quantized).unwrap()).unwrap();
        let stop = sclab_core::Backend::info(&cpu.backend).stop_tokens.clone();
        let mut gpu = GpuBackend::new(ctx, model, stop, 1024).unwrap();
        let prompt = bytes("<|im_start|>user\nhello there, tiny model<|im_end|>\n<|im_start|>assistant\n");
        let (c, g) = (cpu.backend.new_sequence(), gpu.new_sequence());
        let want = forward(&mut cpu.backend, c, &prompt, LogitPositions::All).logits;
        let got = forward(&mut gpu, g, &prompt, LogitPositions::All).logits;
        assert!(relative(&got, &want) < 1e-3, "{dtype:?} logits: {}", relative(&got, &want));
        assert_eq!(greedy(&mut gpu, &prompt, 16), greedy(&mut cpu.backend, &prompt, 16), "{dtype:?} greedy tokens");
    }
}

/// A file with a tensor format the GPU's kernels lack: an explicit `gpu` is an error that names
/// the tensor and its format; under `auto` it is the reason to stay on the CPU.
#[test]
#[ignore = "needs a Vulkan adapter: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn a_format_the_gpu_lacks_is_named_and_auto_stays_on_the_cpu() {
    use sclab_lab::{AnyBackend, Preference};
    let model = tiny_model_bytes(&spec(candle_core::quantized::GgmlDType::Q5_1));
    let open = || GgufFile::from_reader("q5_1.gguf".as_ref(), Box::new(Cursor::new(model.clone())));
    let ctx = || block_on(GpuContext::new()).expect("a Vulkan adapter (Debian: mesa-vulkan-drivers)");
    let err = AnyBackend::load_gpu_or_stay(Preference::Gpu, ctx(), open, vec![IM_END]).err().expect("refused");
    assert!(err.to_string().contains("tensor blk.0.attn_q.weight is Q5_1"), "{err}");
    match AnyBackend::load_gpu_or_stay(Preference::Auto, ctx(), open, vec![IM_END]) {
        Ok(Err(reason)) => assert!(reason.starts_with("the GPU backend cannot run this file (tensor"), "{reason}"),
        Ok(Ok(_)) => panic!("loaded a Q5_1 file on the GPU"),
        Err(e) => panic!("auto should stay on the CPU: {e}"),
    }
}

#[test]
#[ignore = "needs a Vulkan adapter: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn forks_rollbacks_and_batches_keep_each_sequence_its_own() {
    let (_, mut gpu) = both(&spec(candle_core::quantized::GgmlDType::Q8_0));
    // 21 tokens: the fork point falls inside a page, so the first append copies it.
    let prompt = bytes("a shared prefix of 21");
    let (a_tail, b_tail) = (bytes(" then apples"), bytes(" or bananas!"));
    let reference = |gpu: &mut GpuBackend, tail: &[u32]| {
        let s = gpu.new_sequence();
        let all: Vec<u32> = prompt.iter().chain(tail).copied().collect();
        let out = forward(gpu, s, &all, LogitPositions::Last).logits;
        gpu.free(s);
        out
    };
    let (want_a, want_b) = (reference(&mut gpu, &a_tail), reference(&mut gpu, &b_tail));

    let parent = gpu.new_sequence();
    forward(&mut gpu, parent, &prompt, LogitPositions::None);
    let child = gpu.fork(parent).unwrap();
    // Both sequences in one batch, each appending its own tail.
    let outs = block_on(gpu.forward(&[
        ForwardRequest { seq: parent, tokens: a_tail.clone(), logits: LogitPositions::Last, hidden: false },
        ForwardRequest { seq: child, tokens: b_tail.clone(), logits: LogitPositions::Last, hidden: false },
    ]))
    .unwrap();
    assert!(relative(&outs[0].logits, &want_a) < 1e-5, "parent after the fork appended");
    assert!(relative(&outs[1].logits, &want_b) < 1e-5, "the fork");

    // Roll the parent back to the prefix and take the other tail: as if it never went on.
    gpu.rollback(parent, prompt.len()).unwrap();
    assert_eq!(gpu.seq_len(parent).unwrap(), prompt.len());
    let again = forward(&mut gpu, parent, &b_tail, LogitPositions::Last).logits;
    assert!(relative(&again, &want_b) < 1e-5, "after rollback");
    gpu.free(child);
    assert!(gpu.seq_len(child).is_err());
    assert!(gpu.rollback(parent, 10_000).is_err());
}

#[test]
#[ignore = "needs a Vulkan adapter: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn concept_texts_forked_from_their_shared_opening_read_as_on_the_cpu() {
    let (mut cpu, mut gpu) = both(&spec(candle_core::quantized::GgmlDType::Q8_0));
    let codec = ChatCodec { tokenizer: &cpu.tokenizer, template: &cpu.template };
    // 20 texts: the opening once, then a batch of 16 forks and one of 4.
    let texts: Vec<String> = (0..20).map(|i| format!("Tell me {i} ways to bake bread")).collect();
    let on_gpu = block_on(last_token_states(&mut gpu, &codec, &texts, "Answer:", &mut |_| {})).unwrap();
    let on_cpu = block_on(last_token_states(&mut cpu.backend, &codec, &texts, "Answer:", &mut |_| {})).unwrap();
    assert_eq!((on_gpu.len(), on_cpu.len()), (20, 20));
    for (t, (g, c)) in on_gpu.iter().zip(&on_cpu).enumerate() {
        assert_eq!(g.len(), c.len());
        for (l, (a, b)) in g.iter().zip(c).enumerate() {
            assert!(relative(a, b) < 1e-3, "text {t}, layer {l}: {}", relative(a, b));
        }
    }
}

#[test]
#[ignore = "needs a Vulkan adapter: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn a_warm_decoding_step_reuses_every_bind_group() {
    let (_, mut gpu) = both(&spec(candle_core::quantized::GgmlDType::Q8_0));
    let seq = gpu.new_sequence();
    forward(&mut gpu, seq, &bytes("warm up the workspace"), LogitPositions::Last);
    let step = |gpu: &mut GpuBackend, token: &str| {
        let before = (gpu.dispatches(), gpu.bind_groups_created());
        block_on(gpu.forward(&[ForwardRequest::decode(seq, bytes(token)[0])])).unwrap();
        (gpu.dispatches() - before.0, gpu.bind_groups_created() - before.1)
    };
    let (first_dispatches, _) = step(&mut gpu, "a");
    // 8 per layer, the embedding and the normed output head.
    assert_eq!(first_dispatches, 8 * sclab_testkit::LAYERS as u64 + 2);
    assert_eq!(step(&mut gpu, "b"), (first_dispatches, 0), "every bind group is reused");
}

#[test]
#[ignore = "needs a Vulkan adapter: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn timed_passes_report_the_gpu_time_and_change_nothing() {
    let (_, mut gpu) = both(&spec(candle_core::quantized::GgmlDType::Q8_0));
    let prompt = bytes("time this pass");
    let untimed = {
        let seq = gpu.new_sequence();
        forward(&mut gpu, seq, &prompt, LogitPositions::Last)
    };
    assert!(gpu.time_passes(true), "lavapipe offers timestamp queries");
    let seq = gpu.new_sequence();
    let timed = forward(&mut gpu, seq, &prompt, LogitPositions::Last);
    assert_eq!(timed.logits, untimed.logits);
    assert_eq!(timed.hidden, untimed.hidden);
    let busy = gpu.last_gpu_time().expect("a timed pass");
    assert!(busy > std::time::Duration::ZERO && busy < std::time::Duration::from_secs(10), "{busy:?}");
    gpu.time_passes(false);
    forward(&mut gpu, seq, &bytes("!"), LogitPositions::Last);
    assert_eq!(gpu.last_gpu_time(), None);
}
