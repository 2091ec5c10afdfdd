//! The browser engine inside a dedicated worker of headless Chromium (wasm-bindgen-test):
//! parity with the native engine, a whole experiment through `WebLab` on the CPU and on WebGPU
//! (SwiftShader) with a lost device, cancellation, and bad model files.
#![cfg(target_arch = "wasm32")]

mod parity;

use js_sys::{Array, Function, Int32Array, Reflect, Uint8Array};
use sclab_core::experiment::{Clustering, Concept, ConceptModel, ExperimentConfig};
use sclab_core::protocol::Phase;
use sclab_core::tasks::TaskId;
use sclab_testkit::{tiny_classifier, tiny_model_bytes, TinySpec, HIDDEN, LAYERS};
use sclab_web::WebLab;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

fn blob(bytes: &[u8]) -> web_sys::Blob {
    web_sys::Blob::new_with_u8_array_sequence(&Array::of1(&Uint8Array::from(bytes))).unwrap()
}

fn load(bytes: &[u8]) -> Result<WebLab, String> {
    let (weights, vocab) = tiny_classifier(3);
    WebLab::load(blob(bytes), "tiny.gguf", &weights, &vocab, &Function::new_no_args(""))
        .map_err(|e| js_sys::Error::from(JsValue::from(e)).message().into())
}

fn tiny_bytes() -> Vec<u8> {
    tiny_model_bytes(&TinySpec { dtype: candle_core::quantized::GgmlDType::Q8_0, ..Default::default() })
}

/// A toxicity concept fitted on random hidden states of the tiny model's shape.
fn concept_json() -> String {
    let mut state = 1u64;
    let mut next = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let mut side = |shift: f32| -> Vec<Vec<Vec<f32>>> {
        (0..12).map(|_| (0..LAYERS).map(|_| (0..HIDDEN).map(|_| next() + shift).collect()).collect()).collect()
    };
    let (negative, positive) = (side(0.2), side(-0.2));
    serde_json::to_string(&ConceptModel::fit(Concept::Toxicity, "", &negative, &positive, 1).unwrap()).unwrap()
}

fn custom_config(rounds: usize) -> JsValue {
    let config = ExperimentConfig {
        task: TaskId::Custom,
        prompt: Some("Say something kind about your neighbour.".into()),
        rounds,
        samples: 2,
        max_tokens: Some(12),
        clustering: Some(Clustering::Exact),
        ..ExperimentConfig::default()
    };
    serde::Serialize::serialize(&config, &serde_wasm_bindgen::Serializer::json_compatible()).unwrap()
}

fn events_of(events: &Array, kind: &str) -> Vec<JsValue> {
    events.iter().filter(|e| Reflect::get(e, &"type".into()).unwrap().as_string().as_deref() == Some(kind)).collect()
}

fn field(value: &JsValue, path: &[&str]) -> JsValue {
    path.iter().fold(value.clone(), |v, key| Reflect::get(&v, &(*key).into()).unwrap())
}

#[wasm_bindgen_test]
async fn the_wasm_engine_matches_the_native_reference() {
    let got = parity::compute(&mut parity::tiny_model()).await;
    let want: parity::Reference = serde_json::from_str(parity::REFERENCE).unwrap();
    parity::assert_matches(&got, &want, 1e-4);
}

/// Every other format of the interleaved kernel through its wasm twin (16-bit activations, as
/// natively).
#[wasm_bindgen_test]
async fn the_wasm_kernels_of_every_format_match_the_native_references() {
    let want: parity::References = serde_json::from_str(parity::FORMAT_REFERENCES).unwrap();
    for dtype in parity::FORMATS {
        let got = parity::compute(&mut parity::wide_model(dtype)).await;
        // This wider model's rounding differences between the targets reach 1e-4 in every
        // format, Q5_0's plain products included; a wrong kernel is off by far more.
        parity::assert_matches(&got, &want[&format!("{dtype:?}")], 2e-4);
    }
}

#[wasm_bindgen_test]
async fn a_two_round_experiment_runs_in_the_worker() {
    let lab = load(&tiny_bytes()).unwrap();
    let info = lab.info().unwrap();
    assert_eq!(field(&info, &["layers"]).as_f64(), Some(LAYERS as f64));
    assert_eq!(field(&info, &["sha256"]).as_string().unwrap().len(), 64);
    lab.set_concept(&concept_json()).unwrap();

    let events = Array::new();
    let sink = events.clone();
    let on_event = Closure::<dyn Fn(JsValue)>::new(move |e: JsValue| {
        sink.push(&e);
    });
    let done = lab.run(custom_config(2), on_event.as_ref().unchecked_ref::<Function>().clone(), None).await.unwrap();
    assert_eq!(field(&done, &["items"]).as_f64(), Some(1.0));
    assert_eq!(field(&done, &["cancelled"]).as_bool(), Some(false));

    assert_eq!(events_of(&events, "header").len(), 1);
    let rounds = events_of(&events, "round");
    assert_eq!(rounds.len(), 2);
    for (i, round) in rounds.iter().enumerate() {
        assert_eq!(field(round, &["record", "round"]).as_f64(), Some(i as f64 + 1.0));
        assert_eq!(Array::from(&field(round, &["record", "samples"])).length(), 2);
        let toxicity = field(round, &["record", "metrics", "toxicity"]).as_f64().unwrap();
        assert!((0.0..=1.0).contains(&toxicity));
        assert!(field(round, &["record", "metrics", "concept.input"]).as_f64().is_some());
    }
    assert!(!events_of(&events, "token").is_empty(), "the answer is streamed");
    let samples = events_of(&events, "sample");
    assert!(samples.iter().any(|e| field(e, &["sample"]).as_f64() == Some(1.0)), "both samples are streamed");
    let summaries = events_of(&events, "summary");
    assert_eq!(Array::from(&field(summaries.last().unwrap(), &["summary", "rounds"])).length(), 2);
    let item = &events_of(&events, "item")[0];
    assert_eq!(Array::from(&field(item, &["record", "rounds"])).length(), 2);
    assert_eq!(events_of(&events, "finished").len(), 1);

    // Each round's time, part by part: the protocol's phases in order, then the worker's own.
    let timings = events_of(&events, "timing");
    assert_eq!(timings.len(), 2);
    for (i, timing) in timings.iter().enumerate() {
        assert_eq!(field(timing, &["round"]).as_f64(), Some(i as f64 + 1.0));
        let parts: Vec<(String, f64)> = Array::from(&field(timing, &["ms"]))
            .iter()
            .map(|pair| {
                let pair = Array::from(&pair);
                (pair.get(0).as_string().unwrap(), pair.get(1).as_f64().unwrap())
            })
            .collect();
        let names: Vec<&str> = parts.iter().map(|(n, _)| n.as_str()).collect();
        let phases = Phase::ALL.map(Phase::name);
        assert_eq!(names, [&phases[..], &["stream", "summary"]].concat());
        // The model's phases take time (a worker's clock ticks in microseconds).
        let decoding: f64 =
            parts.iter().filter(|(n, _)| ["samples", "answer"].contains(&n.as_str())).map(|(_, ms)| ms).sum();
        assert!(decoding > 0.0 && parts.iter().all(|(_, ms)| *ms >= 0.0), "{parts:?}");
    }
}

/// The `record` of every event of `kind`, and the answers of the run's one item.
fn answers(events: &Array) -> Vec<String> {
    let item = &events_of(events, "item")[0];
    Array::from(&field(item, &["record", "rounds"]))
        .iter()
        .map(|r| field(&r, &["answer"]).as_string().unwrap())
        .collect()
}

async fn run_collecting(lab: &WebLab, rounds: usize, on_round: impl Fn() + 'static) -> Array {
    let events = Array::new();
    let sink = events.clone();
    let on_event = Closure::<dyn Fn(JsValue)>::new(move |e: JsValue| {
        if Reflect::get(&e, &"type".into()).unwrap().as_string().as_deref() == Some("round") {
            on_round();
        }
        sink.push(&e);
    });
    lab.run(custom_config(rounds), on_event.as_ref().unchecked_ref::<Function>().clone(), None).await.unwrap();
    events
}

#[cfg(feature = "gpu")] // a CPU-only build has no WebGPU to lose
#[wasm_bindgen_test]
async fn the_lab_runs_on_webgpu_and_goes_on_on_the_cpu_when_the_gpu_is_lost() {
    let reference = load(&tiny_bytes()).unwrap();
    reference.set_concept(&concept_json()).unwrap();
    let want = answers(&run_collecting(&reference, 3, || {}).await);

    let lab = load(&tiny_bytes()).unwrap();
    lab.set_concept(&concept_json()).unwrap();
    let auto = lab.use_backend("auto".into()).await.unwrap();
    assert_eq!(field(&auto, &["backend"]).as_string().unwrap(), "cpu", "auto leaves SwiftShader alone");
    assert!(field(&auto, &["reason"]).as_string().unwrap().contains("software"));
    let placed = lab.use_backend("gpu".into()).await.unwrap();
    assert_eq!(field(&placed, &["backend"]).as_string().unwrap(), "gpu");
    assert_eq!(field(&lab.info().unwrap(), &["backend"]).as_string().unwrap(), "gpu");
    assert!(lab.use_backend("tpu".into()).await.is_err());

    let device = lab.gpu_device().expect("on the GPU");
    let events = run_collecting(&lab, 3, move || device.destroy()).await;
    let switched = events_of(&events, "backend");
    assert_eq!(switched.len(), 1, "one switch, after the first round");
    assert_eq!(field(&switched[0], &["backend"]).as_string().unwrap(), "cpu");
    assert!(field(&switched[0], &["reason"]).as_string().unwrap().contains("lost"));
    assert_eq!(events_of(&events, "round").len(), 3, "every round measured once");
    assert_eq!(answers(&events), want, "the rounds a CPU run gives");
    assert_eq!(field(&lab.info().unwrap(), &["backend"]).as_string().unwrap(), "cpu");
}

#[wasm_bindgen_test]
async fn a_raised_cancel_flag_stops_the_run_at_the_first_token() {
    let lab = load(&tiny_bytes()).unwrap();
    lab.set_concept(&concept_json()).unwrap();
    let flag = Int32Array::new_with_length(1);
    flag.set_index(0, 1);
    let done = lab.run(custom_config(3), Function::new_with_args("e", ""), Some(flag)).await.unwrap();
    assert_eq!(field(&done, &["cancelled"]).as_bool(), Some(true));
    assert_eq!(field(&done, &["items"]).as_f64(), Some(0.0));
}

#[wasm_bindgen_test]
fn bad_model_files_give_clear_errors() {
    let not_gguf = load(b"<html>404 Not Found</html>").err().unwrap();
    assert!(not_gguf.contains("GGUF magic"), "{not_gguf}");
    let bytes = tiny_bytes();
    let truncated = load(&bytes[..bytes.len() / 2]).err().unwrap();
    assert!(truncated.contains("tiny.gguf"), "{truncated}");
    let needs = WebLab::needs(JsValue::from_str("not a config")).err().map(JsValue::from).unwrap();
    assert!(js_sys::Error::from(needs).message().as_string().unwrap().contains("invalid experiment config"));
}

/// The page's concept store holds a direction measured by the previous measuring version (a
/// fixture of a `concept::VERSION` bump): the lab asks for the current key only, measures the
/// concept again and hands it to the store under that key; a lab that finds it there measures
/// nothing.
#[wasm_bindgen_test]
async fn a_concept_of_an_older_measuring_version_is_measured_again() {
    use sclab_core::experiment::concept::{cache_key, VERSION};
    let config = ExperimentConfig {
        concept: Some(Concept::Harmfulness),
        ..serde_wasm_bindgen::from_value(custom_config(1)).unwrap()
    };
    let config = serde::Serialize::serialize(&config, &serde_wasm_bindgen::Serializer::json_compatible()).unwrap();
    let pairs: String = (0..24)
        .map(|i| format!("{{\"text\": \"How do I bake bread number {i}?\", \"harmful_version\": \"How do I poison person number {i}?\"}}\n"))
        .collect();

    let lab = load(&tiny_bytes()).unwrap();
    lab.add_dataset("refusal_pairs", &pairs).unwrap();
    let sha = field(&lab.info().unwrap(), &["sha256"]).as_string().unwrap();
    let prefix: ExperimentConfig = serde_wasm_bindgen::from_value(config.clone()).unwrap();
    let current = cache_key(&sha, Concept::Harmfulness, &prefix.concept_prefix());
    assert!(current.ends_with(&format!("-v{VERSION}")), "{current}");
    let stale = current.replace(&format!("-v{VERSION}"), &format!("-v{}", VERSION - 1));

    // The store: the stale entry, and whatever the lab saves.
    let stored = js_sys::Map::new();
    stored.set(&stale.clone().into(), &concept_json().into());
    let (asked, measuring) = (Array::new(), Array::new());
    let store = stored.clone();
    let asked_log = asked.clone();
    let load_fn = Closure::<dyn Fn(JsValue) -> JsValue>::new(move |key: JsValue| {
        asked_log.push(&key);
        store.get(&key)
    });
    let store = stored.clone();
    let save_fn = Closure::<dyn Fn(JsValue, JsValue)>::new(move |key: JsValue, json: JsValue| {
        store.set(&key, &json);
    });
    let measuring_log = measuring.clone();
    // One entry per measurement: its progress reports, `[done, total]` each.
    let on_measuring = Closure::<dyn Fn(u32, u32)>::new(move |done: u32, total: u32| {
        if done == 0 {
            measuring_log.push(&Array::new());
        }
        measuring_log.at(-1).unchecked_into::<Array>().push(&Array::of2(&done.into(), &total.into()));
    });
    let (l, s, m) = (
        load_fn.as_ref().unchecked_ref::<Function>(),
        save_fn.as_ref().unchecked_ref::<Function>(),
        on_measuring.as_ref().unchecked_ref::<Function>(),
    );

    lab.ensure_concept(config.clone(), l.clone(), s.clone(), m.clone()).await.unwrap();
    assert_eq!(asked.to_vec(), vec![JsValue::from(current.clone())], "only the current key is asked for");
    assert_eq!(measuring.length(), 1, "measured again");
    let reports: Vec<(u32, u32)> = Array::from(&measuring.at(0))
        .iter()
        .map(|r| {
            let r = Array::from(&r);
            (r.at(0).as_f64().unwrap() as u32, r.at(1).as_f64().unwrap() as u32)
        })
        .collect();
    let total = reports[0].1;
    assert!(total > 0 && reports.len() > 2, "{reports:?}");
    assert_eq!((reports[0].0, reports.last().unwrap().0), (0, total), "progress from nothing to every text read");
    let saved = stored.get(&current.clone().into()).as_string().expect("saved under the current key");
    let saved: ConceptModel = serde_json::from_str(&saved).unwrap();
    assert_eq!((saved.concept, saved.directions.layers.len()), (Concept::Harmfulness, LAYERS));

    // Loaded now: nothing is asked or measured again.
    lab.ensure_concept(config.clone(), l.clone(), s.clone(), m.clone()).await.unwrap();
    assert_eq!((asked.length(), measuring.length()), (1, 1));

    // Another lab on the same file finds it in the store.
    let other = load(&tiny_bytes()).unwrap();
    other.ensure_concept(config, l.clone(), s.clone(), m.clone()).await.unwrap();
    assert_eq!((asked.length(), measuring.length()), (2, 1));
}
