//! The GPU backend in a dedicated worker of headless Chromium, on its WebGPU adapter
//! (SwiftShader; Chromium needs --enable-unsafe-webgpu, see webdriver.json): the tiny model's
//! logits against the CPU engine compiled to the same wasm, and the same greedy tokens.
#![cfg(target_arch = "wasm32")]

use std::io::Cursor;

use sclab_core::logits::argmax;
use sclab_core::{Backend, ForwardRequest, LogitPositions, SeqId};
use sclab_gpu::{GpuBackend, GpuContext, GpuModel};
use sclab_model::GgufFile;
use sclab_testkit::relative_diff as relative;
use sclab_testkit::{bytes, tiny_model_bytes, TinySpec};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

async fn greedy(b: &mut impl Backend, seq: SeqId, first: Vec<f32>, steps: usize) -> Vec<u32> {
    let mut logits = first;
    let mut tokens = Vec::new();
    for _ in 0..steps {
        let token = argmax(&logits) as u32;
        tokens.push(token);
        logits = b.forward(&[ForwardRequest::decode(seq, token)]).await.unwrap().remove(0).logits;
    }
    tokens
}

#[wasm_bindgen_test]
async fn the_tiny_model_on_webgpu_matches_the_cpu_engine() {
    let spec = TinySpec { dtype: candle_core::quantized::GgmlDType::Q8_0, ..Default::default() };
    let model = tiny_model_bytes(&spec);
    let mut cpu = sclab_engine::load_from_reader("tiny.gguf", Box::new(Cursor::new(model.clone()))).unwrap();
    let ctx = GpuContext::new().await.expect("a WebGPU adapter (Chromium with --enable-unsafe-webgpu)");
    let mut gguf = GgufFile::from_reader("tiny.gguf".as_ref(), Box::new(Cursor::new(model))).unwrap();
    let gpu_model = GpuModel::load(&ctx, &mut gguf).unwrap();
    let stop = cpu.backend.info().stop_tokens.clone();
    let mut gpu = GpuBackend::new(ctx, gpu_model, stop, 256).unwrap();

    let prompt = bytes("<|im_start|>user\nhello from the browser<|im_end|>\n");
    let request = |seq| ForwardRequest { seq, tokens: prompt.clone(), logits: LogitPositions::Last, hidden: true };
    let (c, g) = (cpu.backend.new_sequence(), gpu.new_sequence());
    let want = cpu.backend.forward(&[request(c)]).await.unwrap().remove(0);
    let got = gpu.forward(&[request(g)]).await.unwrap().remove(0);
    assert!(relative(&got.logits, &want.logits) < 1e-3, "logits off by {}", relative(&got.logits, &want.logits));
    let (got_hidden, want_hidden) = (got.hidden.unwrap(), want.hidden.unwrap());
    assert_eq!(got_hidden.len(), want_hidden.len(), "one hidden state per layer");
    for (a, b) in got_hidden.iter().zip(&want_hidden) {
        assert!(relative(a, b) < 1e-3);
    }
    let want = greedy(&mut cpu.backend, c, want.logits, 16).await;
    assert_eq!(greedy(&mut gpu, g, got.logits, 16).await, want);
}

/// Every GGUF format the GPU takes, through WebGPU's matrix product: against candle's
/// dequantization of the same bytes (1e-4 of the largest value), as natively on lavapipe.
#[wasm_bindgen_test]
async fn every_format_multiplies_as_candle_dequantizes_it() {
    use candle_core::quantized::{GgmlDType, QTensor};
    use candle_core::{Device, Tensor};
    use sclab_gpu::{GpuMatrix, Kernels};
    let ctx = GpuContext::new().await.expect("a WebGPU adapter (Chromium with --enable-unsafe-webgpu)");
    let kernels = Kernels::new(&ctx);
    let (rows, cols, m) = (40, 512, 3);
    let pseudo = |i: usize| ((i * 7919 + 13) % 1000) as f32 / 500.0 - 1.0;
    let x: Vec<f32> = (0..m * cols).map(|i| pseudo(i * 31 + 5)).collect();
    use GgmlDType::*;
    for dtype in [F32, F16, Q8_0, Q4_0, Q4_1, Q5_0, Q4K, Q5K, Q6K] {
        let values: Vec<f32> = (0..rows * cols).map(|i| pseudo(i) * (1.0 + (i / cols % 5) as f32)).collect();
        let quantized =
            QTensor::quantize(&Tensor::from_vec(values, (rows, cols), &Device::Cpu).unwrap(), dtype).unwrap();
        let w = quantized.dequantize(&Device::Cpu).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let matrix = GpuMatrix::upload(&ctx, "w", dtype, rows, cols, &quantized.data().unwrap()).unwrap();
        let want: Vec<f32> = (0..m * rows)
            .map(|o| {
                (0..cols).map(|c| x[o / rows * cols + c] as f64 * w[o % rows * cols + c] as f64).sum::<f64>() as f32
            })
            .collect();
        let (xb, out) = (ctx.storage_f32("x", &x).unwrap(), ctx.zeros("out", m * rows).unwrap());
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            kernels.matmul(&mut pass, &xb, &matrix, &out, m as u32, false);
        }
        kernels.submit(encoder);
        let got = ctx.read_f32(&out, m * rows).await.unwrap();
        assert!(relative(&got, &want) < 1e-4, "{dtype:?}: off by {}", relative(&got, &want));
    }
}
