//! A GPU that goes away mid-run (here `device.destroy()` on lavapipe): the backend reports it as
//! a lost device instead of panicking, and an experiment carries on on the CPU engine from its
//! last finished round, ending with the rounds an uninterrupted CPU run gives.
#![cfg(not(target_arch = "wasm32"))]

use std::io::Cursor;

use pollster::block_on;
use sclab_core::experiment::{Experiment, ExperimentConfig, Instruments};
use sclab_core::{Backend, BackendError, ForwardRequest, LogitPositions};
use sclab_engine::{LoadedModel, ToxicityClassifier};
use sclab_gpu::{GpuBackend, GpuContext, GpuModel};
use sclab_lab::AnyBackend;
use sclab_model::ChatCodec;
use sclab_model::GgufFile;
use sclab_testkit::{bytes, tiny_experiment, tiny_model_bytes, tiny_task_item, TinySpec, LAYERS};

fn model_bytes() -> Vec<u8> {
    tiny_model_bytes(&TinySpec { dtype: candle_core::quantized::GgmlDType::Q8_0, ..Default::default() })
}

fn cpu() -> LoadedModel {
    sclab_engine::load_from_reader("tiny.gguf", Box::new(Cursor::new(model_bytes()))).unwrap()
}

fn gpu(stop: Vec<u32>) -> GpuBackend {
    let ctx = block_on(GpuContext::new()).expect("a Vulkan adapter (Debian: mesa-vulkan-drivers)");
    let mut gguf = GgufFile::from_reader("tiny.gguf".as_ref(), Box::new(Cursor::new(model_bytes()))).unwrap();
    let model = GpuModel::load(&ctx, &mut gguf).unwrap();
    GpuBackend::new(ctx, model, stop, 1024).unwrap()
}

#[test]
#[ignore = "needs the real assets and a Vulkan adapter: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn a_destroyed_device_is_reported_as_lost() {
    let stop = cpu().backend.info().stop_tokens.clone();
    let mut backend = gpu(stop);
    let seq = backend.new_sequence();
    let request = |tokens: Vec<u32>| ForwardRequest { seq, tokens, logits: LogitPositions::Last, hidden: true };
    block_on(backend.forward(&[request(bytes("hello"))])).unwrap();
    backend.context().device.destroy();
    let err = block_on(backend.forward(&[request(bytes(" again"))])).unwrap_err();
    assert!(matches!(err, BackendError::DeviceLost(_)), "{err:?}");
    assert!(err.to_string().starts_with("the GPU device was lost"), "{err}");
    assert_eq!(backend.seq_len(seq).unwrap(), 5, "the failed call appended nothing");
}

#[test]
#[ignore = "needs the real assets and a Vulkan adapter: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn an_experiment_goes_on_on_the_cpu_from_the_last_finished_round() {
    let cache = sclab_assets::Cache::from_env();
    sclab_assets::prepare(&cache, |_| {}).expect("asset step");
    let classifier = ToxicityClassifier::load(&cache.toxicity()).unwrap();
    let instruments = Instruments { toxicity: &classifier, embedder: None, concept: None };
    // The tiny experiment is a jailbreak one, whose round 0 needs a text of its own.
    let mut config = ExperimentConfig { rounds: 4, samples: 2, baseline: true, ..tiny_experiment(5) };
    config.instructions.as_mut().expect("the tiny experiment's texts").baseline = Some("Content: {query}".into());
    let experiment = Experiment::new(config, LAYERS).unwrap();
    let mut reference = cpu();
    let codec = ChatCodec { tokenizer: &reference.tokenizer, template: &reference.template };
    let want = block_on(experiment.run_item(
        &mut reference.backend,
        &codec,
        &tiny_task_item(),
        &instruments,
        &|| false,
        &mut |_| {},
    ))
    .unwrap();

    let mut backend = AnyBackend::Gpu(Box::new(gpu(reference.backend.info().stop_tokens.clone())));
    let AnyBackend::Gpu(g) = &backend else { unreachable!() };
    let device = g.context().device.clone();
    let (mut reported, mut recovered) = (Vec::new(), Vec::new());
    let got = block_on(experiment.run_item_recovering(
        &mut backend,
        &codec,
        &tiny_task_item(),
        &instruments,
        &|| false,
        &mut |record| {
            reported.push(record.round);
            if record.round == 2 {
                device.destroy();
            }
        },
        &mut |backend, why| {
            recovered.push(why.to_string());
            *backend = AnyBackend::Cpu(cpu().backend);
            true
        },
    ))
    .unwrap();
    assert_eq!(reported, vec![0, 1, 2, 3, 4], "each round reported once");
    assert_eq!(recovered.len(), 1);
    assert!(recovered[0].contains("lost"), "{}", recovered[0]);
    assert_eq!(backend.name(), "cpu");
    assert_eq!(got.rounds.len(), want.rounds.len());
    for (g, w) in got.rounds.iter().zip(&want.rounds) {
        assert_eq!((g.round, &g.user, &g.answer), (w.round, &w.user, &w.answer), "round {}", w.round);
        assert_eq!((g.appended_tokens, g.context_tokens), (w.appended_tokens, w.context_tokens), "round {}", w.round);
        let samples = |r: &sclab_core::experiment::record::RoundRecord| -> Vec<String> {
            r.samples.iter().map(|s| s.text.clone()).collect()
        };
        assert_eq!(samples(g), samples(w), "round {}", w.round);
        for (name, value) in &w.metrics {
            assert!((g.metrics[name] - value).abs() < 1e-2, "round {} {name}: {} vs {value}", w.round, g.metrics[name]);
        }
    }
}
