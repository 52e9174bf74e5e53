//! The byte-level BPE tokenizer of a GGUF model (`tokenizer.ggml.model` =
//! `gpt2`), rebuilt with the `tokenizers` crate from the file's token list and
//! merges: pre-tokenizer "digits one by one, then byte-level without a prefix
//! space" (GPT-2's split pattern), byte-level decoder, and the control tokens
//! (`<|im_start|>`, `<|im_end|>`, ...) as special tokens. Plus the ChatML
//! template of SmolLM2-Instruct.

use mlx_rs::Dtype;
use mlx_rs::io::GgufFile;
use tokenizers::decoders::DecoderWrapper;
use tokenizers::models::bpe::{BPE, Merges, Vocab};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::{AddedToken, TokenizerImpl};

use crate::{Error, Result};

/// GGUF token type of control tokens.
const TOKEN_TYPE_CONTROL: i32 = 3;

/// SmolLM2's system message when a conversation has none.
pub const DEFAULT_SYSTEM: &str = "You are a helpful AI assistant named SmolLM, trained by Hugging Face";

type Inner = TokenizerImpl<
    tokenizers::models::ModelWrapper,
    tokenizers::normalizers::NormalizerWrapper,
    PreTokenizerWrapper,
    tokenizers::processors::PostProcessorWrapper,
    DecoderWrapper,
>;

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn new(role: &str, content: &str) -> Self {
        Self { role: role.into(), content: content.into() }
    }
}

#[derive(Debug, Clone)]
pub struct Tokenizer {
    inner: Inner,
    /// `<|im_end|>` for the instruct model: the end of a turn.
    pub eos_id: u32,
    pub bos_id: Option<u32>,
    pub pad_id: u32,
    pub vocab_size: usize,
}

fn meta_id(file: &GgufFile, key: &str) -> Result<Option<u32>> {
    Ok(match file.get_metadata_array(key)? {
        Some(a) => Some(a.as_dtype(Dtype::Int32)?.item_exact::<i32>() as u32),
        None => None,
    })
}

impl Tokenizer {
    /// Rebuilds the tokenizer from GGUF metadata.
    pub fn from_gguf(file: &GgufFile) -> Result<Self> {
        let model = file.get_metadata_string("tokenizer.ggml.model")?.unwrap_or_default();
        if model != "gpt2" {
            return Err(Error::Tokenizer(format!(
                "tokenizer.ggml.model is {model:?}; only gpt2 (byte-level BPE) is supported"
            )));
        }
        let missing = |k: &str| Error::Tokenizer(format!("metadata {k} missing"));
        let tokens = file
            .get_metadata_strings("tokenizer.ggml.tokens")?
            .ok_or_else(|| missing("tokenizer.ggml.tokens"))?;
        let merges = file
            .get_metadata_strings("tokenizer.ggml.merges")?
            .ok_or_else(|| missing("tokenizer.ggml.merges"))?;
        let types: Vec<i32> = match file.get_metadata_array("tokenizer.ggml.token_type")? {
            Some(a) => a.as_dtype(Dtype::Int32)?.as_slice::<i32>().to_vec(),
            None => vec![1; tokens.len()],
        };
        let vocab: Vocab = tokens.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect();
        let merges: Merges = merges
            .iter()
            .map(|m| {
                m.split_once(' ')
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .ok_or_else(|| Error::Tokenizer(format!("merge {m:?} is not two tokens")))
            })
            .collect::<Result<_>>()?;
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .build()
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        let mut inner = Inner::new(bpe.into());
        inner.with_pre_tokenizer(Some(PreTokenizerWrapper::Sequence(Sequence::new(vec![
            PreTokenizerWrapper::Digits(Digits::new(true)),
            PreTokenizerWrapper::ByteLevel(ByteLevel::new(false, true, true)),
        ]))));
        inner.with_decoder(Some(DecoderWrapper::ByteLevel(ByteLevel::new(false, true, true))));
        let special: Vec<AddedToken> = tokens
            .iter()
            .zip(&types)
            .filter(|(_, ty)| **ty == TOKEN_TYPE_CONTROL)
            .map(|(t, _)| AddedToken::from(t.clone(), true))
            .collect();
        inner.add_special_tokens(&special);
        let eos_id = meta_id(file, "tokenizer.ggml.eos_token_id")?
            .ok_or_else(|| missing("tokenizer.ggml.eos_token_id"))?;
        let bos_id = meta_id(file, "tokenizer.ggml.bos_token_id")?;
        let pad_id = meta_id(file, "tokenizer.ggml.padding_token_id")?.unwrap_or(eos_id);
        Ok(Self { inner, eos_id, bos_id, pad_id, vocab_size: tokens.len() })
    }

    /// Token ids of `text`; special tokens written in the text are recognised.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self.inner.encode(text, false).map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Text of `ids`, special tokens included.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner.decode(ids, false).map_err(|e| Error::Tokenizer(e.to_string()))
    }

    /// The id of a token string (e.g. `<|im_end|>`).
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }
}

/// ChatML as SmolLM2-Instruct's template writes it: the default system message
/// first when the conversation does not start with one, each message as
/// `<|im_start|>{role}\n{content}<|im_end|>\n`, and `<|im_start|>assistant\n`
/// at the end when `add_generation_prompt`.
pub fn chat_template(messages: &[Message], add_generation_prompt: bool) -> String {
    let mut out = String::new();
    if messages.first().is_none_or(|m| m.role != "system") {
        out.push_str(&format!("<|im_start|>system\n{DEFAULT_SYSTEM}<|im_end|>\n"));
    }
    for m in messages {
        out.push_str(&format!("<|im_start|>{}\n{}<|im_end|>\n", m.role, m.content));
    }
    if add_generation_prompt {
        out.push_str("<|im_start|>assistant\n");
    }
    out
}
