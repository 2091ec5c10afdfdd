//! The real models on the GPU backend against the CPU engine, natively (Mesa's lavapipe in
//! CI): the default SmolLM2 (Q8_0) with the same 64 greedy tokens for five prompts, the opt-in
//! Qwen k-quant mix with 32 for three, and the prompts' logits and hidden states within
//! tolerance.
#![cfg(not(target_arch = "wasm32"))] // natively on Vulkan; gpu_browser.rs runs in Chromium

use pollster::block_on;
use sclab_assets::models::QWEN_CODER;
use sclab_assets::{Cache, Quant};
use sclab_core::logits::argmax;
use sclab_core::{Backend, ForwardRequest, LogitPositions};
use sclab_gpu::{GpuBackend, GpuContext, GpuModel};
use sclab_model::GgufFile;
use sclab_model::Message;
use sclab_testkit::relative_diff as relative;

const PROMPTS: [&str; 5] = [
    "What is the capital of France?",
    "Write one sentence about a cat who learns to swim.",
    "Is it fair to judge people by their accent? Answer briefly.",
    "List three colours of the rainbow.",
    "Complete the sentence: The best way to settle an argument is",
];

/// `steps` argmax steps, stop tokens included: both engines must agree on every one.
fn greedy(b: &mut impl Backend, first: Vec<f32>, seq: sclab_core::SeqId, steps: usize) -> Vec<u32> {
    let mut logits = first;
    (0..steps)
        .map(|_| {
            let token = argmax(&logits) as u32;
            logits = block_on(b.forward(&[ForwardRequest::decode(seq, token)])).unwrap().remove(0).logits;
            token
        })
        .collect()
}

/// The model at `path` on the GPU backend against the CPU engine: the prompts' logits and
/// hidden states within `tolerance` (relative), then `steps` equal greedy tokens per prompt.
fn same_on_gpu(path: &std::path::Path, prompts: &[&str], steps: usize, tolerance: f32) {
    let mut cpu = sclab_engine::load(path).unwrap();
    let ctx = block_on(GpuContext::new()).expect("a Vulkan adapter (Debian: mesa-vulkan-drivers)");
    let model = GpuModel::load(&ctx, &mut GgufFile::open(path).unwrap()).unwrap();
    let stop = cpu.backend.info().stop_tokens.clone();
    let mut gpu = GpuBackend::new(ctx, model, stop, 4096).unwrap();
    for prompt in prompts {
        let tokens = cpu.chat_tokens(&[Message::user(*prompt)]).unwrap();
        let run = |b: &mut dyn FnMut(ForwardRequest) -> sclab_core::ForwardOutput, seq| {
            b(ForwardRequest { seq, tokens: tokens.clone(), logits: LogitPositions::Last, hidden: true })
        };
        let (c, g) = (cpu.backend.new_sequence(), gpu.new_sequence());
        let want = run(&mut |r| block_on(cpu.backend.forward(&[r])).unwrap().remove(0), c);
        let got = run(&mut |r| block_on(gpu.forward(&[r])).unwrap().remove(0), g);
        let off = relative(&got.logits, &want.logits);
        eprintln!("{prompt}: logits off by {off}");
        assert!(off < tolerance, "{prompt}: logits off by {off}");
        let (got_hidden, want_hidden) = (got.hidden.unwrap(), want.hidden.unwrap());
        assert_eq!(got_hidden.len(), want_hidden.len(), "one hidden state per layer");
        for (l, (a, b)) in got_hidden.iter().zip(&want_hidden).enumerate() {
            assert!(relative(a, b) < tolerance, "{prompt}: hidden state of layer {l} off by {}", relative(a, b));
        }
        let want = greedy(&mut cpu.backend, want.logits, c, steps);
        let got = greedy(&mut gpu, got.logits, g, steps);
        assert_eq!(got.len(), steps);
        assert_eq!(got, want, "{prompt}: greedy tokens");
        cpu.backend.free(c);
        gpu.free(g);
    }
}

#[test]
#[ignore = "needs the real assets and a Vulkan adapter: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn the_default_model_answers_the_same_on_the_gpu() {
    let cache = Cache::from_env();
    sclab_assets::prepare(&cache, |_| {}).expect("asset step");
    same_on_gpu(&cache.model(Quant::Q8_0), &PROMPTS, 64, 2e-3);
}

/// The opt-in Qwen file as shipped (Q5_0, Q4_K, Q6_K, Q8_0): small, because lavapipe is slow.
#[test]
#[ignore = "needs the opt-in model and a Vulkan adapter: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn the_qwen_k_quant_mix_answers_the_same_on_the_gpu() {
    let cache = Cache::from_env();
    sclab_assets::prepare_model(&cache, &QWEN_CODER).expect("asset step");
    same_on_gpu(&cache.opt_in_model(&QWEN_CODER), &PROMPTS[..3], 32, 2e-3);
}
