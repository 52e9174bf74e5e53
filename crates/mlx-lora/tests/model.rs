//! The base model loads right: config and shapes from the GGUF metadata, the
//! tokenizer round-trips, perplexity on plain English is sane, and a greedy
//! chat answer is correct. Needs scripts/setup-lora-data.sh.

use std::time::Instant;

use mlx_lora::model::Llama;
use mlx_lora::tokenizer::{Message, Tokenizer, chat_template};
use mlx_lora::train::perplexity;
use mlx_lora::weights::LoadOptions;

fn load() -> (Llama, Tokenizer) {
    let start = Instant::now();
    let path = mlx_lora::paths::smollm2_gguf().expect("model (run scripts/setup-lora-data.sh)");
    let (model, file) = Llama::load_gguf(&path, LoadOptions::default()).expect("load");
    let tokenizer = Tokenizer::from_gguf(&file).expect("tokenizer");
    eprintln!("loaded in {:.2}s", start.elapsed().as_secs_f64());
    (model, tokenizer)
}

#[test]
fn config_and_shapes_come_from_the_gguf_metadata() {
    let (model, tokenizer) = load();
    let c = &model.config;
    assert_eq!(
        (c.num_layers, c.hidden_size, c.num_heads, c.num_kv_heads, c.head_dim, c.intermediate_size),
        (30, 576, 9, 3, 64, 1536)
    );
    assert_eq!(c.vocab_size, 49152);
    assert_eq!(c.rope_theta, 100_000.0);
    assert!(c.tie_word_embeddings && c.rope_traditional);
    assert_eq!(model.layers.len(), 30);
    let a = &model.layers[0].attn;
    assert_eq!(a.q_proj.base.shape(), vec![576, 576]);
    assert_eq!(a.k_proj.base.shape(), vec![192, 576]);
    assert_eq!(a.v_proj.base.shape(), vec![192, 576]);
    assert_eq!(model.layers[0].mlp.down.shape(), vec![576, 1536]);
    assert_eq!(model.embed.shape(), vec![49152, 576]);
    // Dequantized to f32 at load (the default on the CPU).
    assert!(!a.q_proj.base.is_quantized());
    let params = c.num_parameters();
    assert!((134_000_000..136_000_000).contains(&params), "{params} parameters");
    assert_eq!(model.base_nbytes(), params as usize * 4);
    assert_eq!(tokenizer.vocab_size, 49152);
    assert_eq!(tokenizer.eos_id, tokenizer.token_id("<|im_end|>").unwrap());
}

#[test]
fn tokenizer_round_trips_and_writes_chatml() {
    let (_, tok) = load();
    for text in [
        "Hello, world!",
        "The year 2024 had 366 days.",
        "  indented\n\ttabs and  double  spaces",
        "naïve café — “quotes” 🙂",
        "fn main() { println!(\"{}\", 1 + 2); }",
    ] {
        let ids = tok.encode(text).unwrap();
        assert_eq!(tok.decode(&ids).unwrap(), text, "{ids:?}");
    }
    // Digits are split one by one; a word after a space carries the space.
    let ids = tok.encode("2024").unwrap();
    assert_eq!(ids.len(), 4);
    assert_eq!(tok.encode(" the").unwrap().len(), 1);
    assert_eq!(tok.encode("Hello world").unwrap().len(), 2);

    let text = chat_template(&[Message::new("user", "Hi")], true);
    assert_eq!(
        text,
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n\
         <|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    );
    let ids = tok.encode(&text).unwrap();
    let start = tok.token_id("<|im_start|>").unwrap();
    let end = tok.token_id("<|im_end|>").unwrap();
    assert_eq!((start, end), (1, 2));
    assert_eq!(ids.iter().filter(|&&t| t == start).count(), 3);
    assert_eq!(ids.iter().filter(|&&t| t == end).count(), 2);
    assert_eq!(ids[0], start);
    assert_eq!(tok.decode(&ids).unwrap(), text);
}

/// A fixed paragraph of plain English (written for this test).
pub const PARAGRAPH: &str = "The city library opens at nine in the morning and closes at six in the evening. \
On weekdays it is usually quiet, with students reading at the long wooden tables and older visitors \
looking through the newspapers. On Saturdays the children's section fills up with families, and a \
volunteer reads stories aloud at eleven o'clock. The library also lends laptops, hosts a small \
exhibition of local history, and offers free English classes for adults on Tuesday evenings. \
Water boils at one hundred degrees Celsius at sea level. The sun rises in the east and sets in the \
west. Paris is the capital of France, and Berlin is the capital of Germany.";

#[test]
fn perplexity_on_plain_english_is_sane() {
    let (model, tok) = load();
    let ids = tok.encode(PARAGRAPH).unwrap();
    let start = Instant::now();
    let ppl = perplexity(&model, &ids).unwrap();
    eprintln!("perplexity {ppl:.2} over {} tokens in {:.2}s", ids.len(), start.elapsed().as_secs_f64());
    // About 23 for this 135M model (4-bit weights); a broken load (transposed
    // weights, bad dequantization, wrong norms) gives hundreds or more.
    assert!((5.0..40.0).contains(&ppl), "perplexity {ppl}");
    // GGUF stores q/k permuted for interleaved RoPE: the split-half layout
    // must be far worse (about 217), which shows the layout matters and is right.
    let mut split = model;
    for layer in &mut split.layers {
        layer.attn.rope_traditional = false;
    }
    let wrong = perplexity(&split, &ids).unwrap();
    eprintln!("perplexity with split-half RoPE {wrong:.2}");
    assert!(wrong > 3.0 * ppl, "{wrong} vs {ppl}");
}

#[test]
fn greedy_chat_answer_is_right() {
    let (model, tok) = load();
    let prompt = chat_template(&[Message::new("user", "What is the capital of France?")], true);
    let ids = tok.encode(&prompt).unwrap();
    let start = Instant::now();
    let out = model.generate_greedy(&ids, 24, &[tok.eos_id]).unwrap();
    let answer = tok.decode(&out).unwrap();
    eprintln!("answer {answer:?} ({} tokens in {:.2}s)", out.len(), start.elapsed().as_secs_f64());
    assert!(answer.contains("Paris"), "{answer:?}");
}

#[test]
fn quantized_load_keeps_4_bit_and_agrees() {
    let path = mlx_lora::paths::smollm2_gguf().unwrap();
    let (q, file) =
        Llama::load_gguf(&path, LoadOptions { keep_quantized: true, ..LoadOptions::default() }).unwrap();
    let tok = Tokenizer::from_gguf(&file).unwrap();
    assert!(q.layers[0].attn.q_proj.base.is_quantized());
    assert!(q.base_nbytes() < 200_000_000, "{} bytes", q.base_nbytes());
    let ids = tok.encode(PARAGRAPH).unwrap();
    let quantized = perplexity(&q, &ids).unwrap();
    drop(q);
    let (dense, _) = load();
    let reference = perplexity(&dense, &ids).unwrap();
    eprintln!("perplexity 4-bit {quantized:.3}, dequantized f32 {reference:.3}");
    // Same weights, two kernels: the figures agree closely.
    assert!((quantized / reference - 1.0).abs() < 0.01, "{quantized} vs {reference}");
}

#[test]
fn a_bfloat16_model_computes_in_bfloat16_with_its_adapters() {
    // MLX promotes mixed dtypes: one f32 array on the residual path (a norm's
    // weight, an adapter's term) would make every later matmul f32 and keep
    // fused bf16 kernels (tensor cores, cuDNN attention) out of a GPU run.
    let path = mlx_lora::paths::smollm2_gguf().unwrap();
    let options = LoadOptions { dtype: mlx_rs::Dtype::Bfloat16, ..LoadOptions::default() };
    let (mut model, _) = Llama::load_gguf(&path, options).unwrap();
    mlx_lora::lora::apply(&mut model, &mlx_lora::lora::LoraConfig::default()).unwrap();
    let tokens = mlx_rs::Array::from_slice(&[1i32, 2, 3, 4], &[1, 4]);
    let mut h = model.embed.rows(&tokens, model.dtype).unwrap();
    let context = mlx_lora::model::AttentionContext::default();
    for (i, layer) in model.layers.iter().enumerate() {
        h = layer.forward(&h, &context).unwrap();
        assert_eq!(
            h.dtype(),
            mlx_rs::Dtype::Bfloat16,
            "block {i}'s output (adapted: {})",
            layer.attn.q_proj.is_adapted()
        );
    }
    assert_eq!(model.hidden(&tokens).unwrap().dtype(), mlx_rs::Dtype::Bfloat16, "the final norm's output");
    // Only the logits are cast up, for the loss.
    assert_eq!(model.forward(&tokens).unwrap().dtype(), mlx_rs::Dtype::Float32);
}
