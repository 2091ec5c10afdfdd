//! The round protocol on the tiny model: round structure, cache reuse, ablation rounds,
//! determinism.

use candle_core::quantized::GgmlDType;
use pollster::block_on;
use sclab_core::protocol::{
    run_item, ImmoralRounds, Instructions, Item, OptionScoring, ProtocolConfig, ProtocolError, Round, RoundKind,
};
use sclab_core::{score_continuation, ForwardRequest, LogitPositions};
use sclab_engine::{load, LoadedModel};
use sclab_model::ChatCodec;
use sclab_testkit::*;

fn config() -> ProtocolConfig {
    ProtocolConfig {
        rounds: 3,
        baseline: false,
        instructions: Instructions {
            moral: "Please be fair.".into(),
            review: "Review your previous answer.".into(),
            immoral: Some("Please be unfair.".into()),
            baseline: Some("Plainly: {query}".into()),
            neutral_review: "Answer again.".into(),
            first_answer_prefix: "Answer:".into(),
            review_answer_prefix: "Revised answer:".into(),
        },
        immoral_rounds: ImmoralRounds::None,
        reask_rounds: Vec::new(),
        option_scoring: OptionScoring::Label,
        samples: 3,
        sample_temperature: 1.0,
        sample_top_p: 1.0,
        max_tokens: 6,
        seed: 1,
    }
}

fn item() -> Item {
    Item {
        query: "Who is right?".into(),
        options: vec![" (a) me".into(), " (b) both".into()],
        labels: vec![" (a)".into(), " (b)".into()],
    }
}

fn model(dir: &tempfile::TempDir) -> LoadedModel {
    load(&write_tiny_model(dir.path(), &TinySpec { dtype: GgmlDType::Q8_0, ..Default::default() })).unwrap()
}

fn run(model: &mut LoadedModel, config: &ProtocolConfig) -> Result<Vec<Round>, ProtocolError> {
    let codec = ChatCodec { tokenizer: &model.tokenizer, template: &model.template };
    block_on(run_item(&mut model.backend, &codec, config, &item(), &|| false))
}

#[test]
fn rounds_follow_the_paper_and_append_only_their_turn() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = model(&dir);
    let rounds = run(&mut model, &config()).unwrap();
    assert_eq!(
        rounds.iter().map(|r| r.kind).collect::<Vec<_>>(),
        [RoundKind::Moral, RoundKind::Review, RoundKind::Review]
    );
    assert_eq!(rounds[0].user, "Who is right?\n\nPlease be fair.");
    assert_eq!(rounds[1].user, "Review your previous answer.");
    assert_eq!(rounds[0].answer_prefix, "Answer:");
    assert_eq!(rounds[2].answer_prefix, "Revised answer:");
    // Round 1 prefills "<|im_start|>user\n…<|im_end|>\n<|im_start|>assistant\nAnswer:" (byte tokens).
    let first = 1 + "user\nWho is right?\n\nPlease be fair.".len() + 1 + 1 + 1 + "assistant\nAnswer:".len();
    assert_eq!(rounds[0].appended_tokens, first);
    assert_eq!(rounds[0].context_tokens, first);
    for pair in rounds.windows(2) {
        let (prev, next) = (&pair[0], &pair[1]);
        // The cache grows by the answer and the new turn only: the history is never prefilled again.
        assert_eq!(next.context_tokens, prev.context_tokens + prev.answer_tokens + next.appended_tokens);
        // A review turn: <|im_end|>\n<|im_start|>user\n…<|im_end|>\n<|im_start|>assistant\nRevised answer:
        let turn =
            1 + 1 + 1 + "user\nReview your previous answer.".len() + 1 + 1 + 1 + "assistant\nRevised answer:".len();
        assert_eq!(next.appended_tokens, turn);
    }
    for r in &rounds {
        assert_eq!(r.samples.len(), 3);
        assert!(r.samples.iter().all(|s| s.tokens <= 6 && s.log_prob <= 0.0));
        assert_eq!(r.option_log_probs.len(), 2);
        assert!(r.option_log_probs.iter().all(|&lp| lp < 0.0));
        assert_eq!(r.hidden_input.len(), LAYERS);
        assert_eq!(r.hidden_answer.len(), LAYERS);
    }
    // Every sequence the protocol made is freed again.
    let probe = sclab_core::Backend::new_sequence(&mut model.backend);
    assert_eq!(sclab_core::Backend::seq_len(&model.backend, probe).unwrap(), 0);
}

#[test]
fn immoral_instruction_replaces_the_chosen_rounds() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = model(&dir);
    let cfg = ProtocolConfig { immoral_rounds: ImmoralRounds::Rounds(vec![2]), ..config() };
    let rounds = run(&mut model, &cfg).unwrap();
    assert_eq!(
        rounds.iter().map(|r| r.kind).collect::<Vec<_>>(),
        [RoundKind::Moral, RoundKind::Immoral, RoundKind::Review]
    );
    assert_eq!(rounds[1].user, "Please be unfair.");
    let all = ProtocolConfig { immoral_rounds: ImmoralRounds::All, ..config() };
    let rounds = run(&mut model, &all).unwrap();
    assert_eq!(rounds[0].user, "Who is right?\n\nPlease be unfair.");
    assert!(rounds.iter().all(|r| r.kind == RoundKind::Immoral));
}

#[test]
fn same_seed_same_rounds_and_baseline_stands_alone() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = model(&dir);
    let cfg = ProtocolConfig { baseline: true, ..config() };
    let a = run(&mut model, &cfg).unwrap();
    let b = run(&mut model, &cfg).unwrap();
    assert_eq!(a, b);
    assert_eq!(a[0].kind, RoundKind::Baseline);
    // The baseline asks through its own template (the paper's detoxification baseline does).
    assert_eq!(a[0].user, "Plainly: Who is right?");
    // The baseline is its own conversation: round 1 starts from an empty cache.
    assert_eq!(a[1].context_tokens, a[1].appended_tokens);
    let other = run(&mut model, &ProtocolConfig { seed: 2, ..cfg }).unwrap();
    assert_ne!(a.iter().map(|r| &r.samples).collect::<Vec<_>>(), other.iter().map(|r| &r.samples).collect::<Vec<_>>());
}

#[test]
fn reasked_rounds_repeat_the_first_turn_in_the_conversation() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = model(&dir);
    let rounds = run(&mut model, &ProtocolConfig { reask_rounds: vec![3], ..config() }).unwrap();
    assert_eq!(
        rounds.iter().map(|r| r.kind).collect::<Vec<_>>(),
        [RoundKind::Moral, RoundKind::Review, RoundKind::Reasked]
    );
    assert_eq!((rounds[2].user.as_str(), rounds[2].answer_prefix.as_str()), (rounds[0].user.as_str(), "Answer:"));
    // Still one conversation: round 3 sees everything before it.
    assert_eq!(
        rounds[2].context_tokens,
        rounds[1].context_tokens + rounds[1].answer_tokens + rounds[2].appended_tokens
    );
}

/// Label scoring is the mean token log-probability of " (a)" alone; text scoring the sum over
/// " (a) me": both checked against the round input prefilled afresh and scored by hand.
#[test]
fn options_are_scored_by_label_mean_or_by_text_sum() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = model(&dir);
    let label = run(&mut model, &config()).unwrap();
    let text = run(&mut model, &ProtocolConfig { option_scoring: OptionScoring::Text, ..config() }).unwrap();
    let codec = ChatCodec { tokenizer: &model.tokenizer, template: &model.template };
    let input = sclab_core::protocol::ChatFormat::open(&codec, &label[0].user, "Answer:").unwrap();
    let backend = &mut model.backend;
    let seq = sclab_core::Backend::new_sequence(backend);
    let request = ForwardRequest { seq, tokens: input, logits: LogitPositions::Last, hidden: false };
    let logits = block_on(sclab_core::Backend::forward(backend, &[request])).unwrap().remove(0).logits;
    let mut by_hand = |continuation: &str, mean: bool| -> f64 {
        let tokens = sclab_core::protocol::ChatFormat::encode(&codec, continuation).unwrap();
        let scores = block_on(score_continuation(backend, seq, &logits, &tokens)).unwrap();
        let total: f64 = scores.iter().map(|&s| s as f64).sum();
        if mean {
            total / tokens.len() as f64
        } else {
            total
        }
    };
    for (i, (l, t)) in [(" (a)", " (a) me"), (" (b)", " (b) both")].into_iter().enumerate() {
        assert!((label[0].option_log_probs[i] - by_hand(l, true)).abs() < 1e-5, "label {i}");
        assert!((text[0].option_log_probs[i] - by_hand(t, false)).abs() < 1e-4, "text {i}");
    }
    // Byte tokens: " (a)" is 4 tokens, so its mean is a quarter of its sum.
    assert!((label[0].option_log_probs[0] * 4.0 - by_hand(" (a)", false)).abs() < 1e-4);
}

#[test]
fn bad_configuration_and_cancellation_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = model(&dir);
    let bad = ProtocolConfig { immoral_rounds: ImmoralRounds::Rounds(vec![9]), ..config() };
    assert!(matches!(run(&mut model, &bad), Err(ProtocolError::Config(m)) if m.contains("round 9")));
    assert!(matches!(run(&mut model, &ProtocolConfig { rounds: 0, ..config() }), Err(ProtocolError::Config(_))));
    let reask = ProtocolConfig { reask_rounds: vec![1], ..config() };
    assert!(matches!(run(&mut model, &reask), Err(ProtocolError::Config(m)) if m.contains("re-ask round 1")));
    let codec = ChatCodec { tokenizer: &model.tokenizer, template: &model.template };
    let cancelled = block_on(run_item(&mut model.backend, &codec, &config(), &item(), &|| true));
    assert!(matches!(cancelled, Err(ProtocolError::Cancelled)));
}
