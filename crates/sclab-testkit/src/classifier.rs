//! A toxicity classifier with the real model's shapes and random weights, as the two files the
//! engine reads (safetensors and the Keras vocabulary).

use rand::{Rng, SeedableRng};
use safetensors::tensor::TensorView;

/// `(weights, vocabulary)` bytes; the vocabulary knows a handful of words.
pub fn tiny_classifier(seed: u64) -> (Vec<u8>, Vec<u8>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let shapes: [(&str, Vec<usize>); 10] = [
        ("embedding", vec![20_000, 50]),
        ("lstm_forward.kernel", vec![50, 200]),
        ("lstm_forward.recurrent_kernel", vec![50, 200]),
        ("lstm_forward.bias", vec![200]),
        ("lstm_backward.kernel", vec![50, 200]),
        ("lstm_backward.recurrent_kernel", vec![50, 200]),
        ("lstm_backward.bias", vec![200]),
        ("dense.kernel", vec![100, 50]),
        ("dense.bias", vec![50]),
        ("output.kernel", vec![50, 6]),
    ];
    let mut data: Vec<(String, Vec<usize>, Vec<u8>)> = shapes
        .into_iter()
        .map(|(name, shape)| {
            let n: usize = shape.iter().product();
            let bytes = (0..n).flat_map(|_| rng.random_range(-0.3f32..0.3).to_le_bytes()).collect();
            (name.to_owned(), shape, bytes)
        })
        .collect();
    data.push(("output.bias".into(), vec![6], vec![0; 24]));
    let views: Vec<(String, TensorView)> = data
        .iter()
        .map(|(name, shape, bytes)| {
            (name.clone(), TensorView::new(safetensors::Dtype::F32, shape.clone(), bytes).unwrap())
        })
        .collect();
    let weights = safetensors::serialize(views, None).unwrap();
    let words = ["you", "are", "a", "nice", "idiot", "hello", "world", "completion"];
    let vocab: serde_json::Map<String, serde_json::Value> =
        words.iter().enumerate().map(|(i, w)| (w.to_string(), (i + 1).into())).collect();
    (weights, serde_json::to_vec(&vocab).unwrap())
}
