//! Instruction data: mlx-lm's JSONL formats, the WordNet dictionary set,
//! tokenization with prompt masks, and batches (padded or packed).
//!
//! ## The WordNet set
//! Built deterministically from WordNet 3.0 (Princeton University; the
//! WordNet 3.0 licence: use, copy, modify and distribute for any purpose
//! without fee, keeping its copyright notice; see `copyright` beside the
//! files), as the Debian package `wordnet-base` ships it. One example per
//! word: the first synset (in file order) whose first lemma is that word,
//! asking for its definition:
//! `{"prompt": "Define the noun \"dogfish\".", "completion": "Any of several small sharks."}`.
//! Words are lower-case letters (with spaces or hyphens), 3–24 characters;
//! definitions 12–120 characters starting with a letter. The split is by a hash of the word (FNV-1a):
//! 80% train, 10% valid, 10% test; each split is ordered by that hash and cut
//! to the requested size.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::tokenizer::{Message, Tokenizer, chat_template};

mod batch;

use crate::{Error, Result};
pub use batch::*;

/// One example in either of mlx-lm's formats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Example {
    /// `{"prompt": ..., "completion": ...}`
    Completion { prompt: String, completion: String },
    /// `{"messages": [{"role": ..., "content": ...}, ...]}`
    Chat { messages: Vec<Message> },
}

impl Example {
    /// The conversation: a completion is one user turn and one assistant turn.
    pub fn messages(&self) -> Vec<Message> {
        match self {
            Example::Completion { prompt, completion } => {
                vec![Message::new("user", prompt), Message::new("assistant", completion)]
            }
            Example::Chat { messages } => messages.clone(),
        }
    }

    /// The same example in chat form.
    pub fn to_chat(&self) -> Example {
        Example::Chat { messages: self.messages() }
    }
}

/// Train, validation and test examples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Splits {
    pub train: Vec<Example>,
    pub valid: Vec<Example>,
    pub test: Vec<Example>,
}

impl Splits {
    /// Writes `train.jsonl`, `valid.jsonl`, `test.jsonl` into `dir` (mlx-lm's layout).
    pub fn write(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        for (name, examples) in [("train", &self.train), ("valid", &self.valid), ("test", &self.test)] {
            write_jsonl(&dir.join(format!("{name}.jsonl")), examples)?;
        }
        Ok(())
    }

    /// Reads the three files [`Splits::write`] writes.
    pub fn read(dir: &Path) -> Result<Self> {
        let read = |name: &str| read_jsonl(&dir.join(format!("{name}.jsonl")));
        Ok(Self { train: read("train")?, valid: read("valid")?, test: read("test")? })
    }
}

pub fn write_jsonl(path: &Path, examples: &[Example]) -> Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).map_err(|e| Error::io(path, e))?);
    for ex in examples {
        let line = serde_json::to_string(ex).expect("plain data");
        writeln!(out, "{line}").map_err(|e| Error::io(path, e))?;
    }
    out.flush().map_err(|e| Error::io(path, e))
}

pub fn read_jsonl(path: &Path) -> Result<Vec<Example>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut out = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| Error::io(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let ex = serde_json::from_str(&line).map_err(|e| Error::Jsonl {
            path: path.display().to_string(),
            line: i + 1,
            message: format!("{e} (expected {{\"prompt\",\"completion\"}} or {{\"messages\"}})"),
        })?;
        out.push(ex);
    }
    Ok(out)
}

/// Sizes and format of the WordNet set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WordnetOptions {
    pub max_train: usize,
    pub max_valid: usize,
    pub max_test: usize,
    /// Chat `messages` instead of `prompt`/`completion`.
    pub chat: bool,
    /// Words per example at most: with more than 1, each example asks for
    /// the definitions of 1 to `max_entries` consecutive words (the count
    /// drawn from the first word's hash), so that lengths vary the way real
    /// instruction data's do. The caps count examples.
    #[serde(default = "one_entry")]
    pub max_entries: usize,
}

fn one_entry() -> usize {
    1
}

impl Default for WordnetOptions {
    fn default() -> Self {
        Self { max_train: 2000, max_valid: 200, max_test: 200, chat: false, max_entries: 1 }
    }
}

fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf29ce484222325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100000001b3))
}

/// (word, part of speech, definition) of one `data.*` line, if it qualifies.
fn parse_synset(line: &str, pos: &str) -> Option<(String, String)> {
    if line.starts_with(' ') {
        return None; // licence header
    }
    let (fields, gloss) = line.split_once(" | ")?;
    let mut f = fields.split(' ');
    let (_offset, _lex, _ss_type, _count) = (f.next()?, f.next()?, f.next()?, f.next()?);
    let lemma = f.next()?;
    // Adjective markers: "(a)", "(p)", "(ip)".
    let lemma = lemma.split('(').next()?;
    let word = lemma.replace('_', " ");
    let ok_word = (3..=24).contains(&word.len())
        && word.chars().all(|c| c.is_ascii_lowercase() || c == ' ' || c == '-')
        && word.chars().next()?.is_ascii_lowercase();
    if !ok_word {
        return None;
    }
    // The definition is the gloss before its first quoted example.
    let definition = gloss.split("; \"").next()?.trim().trim_end_matches(';').trim();
    let starts_with_letter = definition.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    if !(12..=120).contains(&definition.len()) || definition.contains('"') || !starts_with_letter {
        return None;
    }
    let mut chars = definition.chars();
    let first = chars.next()?.to_uppercase().collect::<String>();
    let mut completion = first + chars.as_str();
    if !completion.ends_with('.') {
        completion.push('.');
    }
    Some((word, format!("Define the {pos} \"{}\".|{completion}", lemma.replace('_', " "))))
}

/// Builds the WordNet definition set from the `data.{noun,verb,adj,adv}`
/// files in `dir` (see the module docs). Deterministic: the same files and
/// options give the same splits.
pub fn build_wordnet(dir: &Path, options: &WordnetOptions) -> Result<Splits> {
    let mut seen = HashSet::new();
    let mut all: Vec<(u64, String)> = Vec::new();
    for (file, pos) in
        [("data.noun", "noun"), ("data.verb", "verb"), ("data.adj", "adjective"), ("data.adv", "adverb")]
    {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        for line in text.lines() {
            let Some((word, pair)) = parse_synset(line, pos) else { continue };
            if !seen.insert(word.clone()) {
                continue;
            }
            all.push((fnv1a(&word), pair));
        }
    }
    if all.len() < 1000 {
        return Err(Error::Data(format!("only {} WordNet definitions in {}", all.len(), dir.display())));
    }
    all.sort();
    let (mut train, mut valid, mut test) = (Vec::new(), Vec::new(), Vec::new());
    for (hash, pair) in all {
        match hash % 100 {
            0..80 => train.push((hash, pair)),
            80..90 => valid.push((hash, pair)),
            _ => test.push((hash, pair)),
        }
    }
    let split = |entries: Vec<(u64, String)>, cap: usize| group_entries(entries, options, cap);
    Ok(Splits {
        train: split(train, options.max_train),
        valid: split(valid, options.max_valid),
        test: split(test, options.max_test),
    })
}

/// A split's entries (in hash order) into at most `cap` examples of 1 to
/// `options.max_entries` consecutive entries each.
fn group_entries(entries: Vec<(u64, String)>, options: &WordnetOptions, cap: usize) -> Vec<Example> {
    let per_example = options.max_entries.max(1) as u64;
    let mut examples = Vec::new();
    let mut rest = entries.as_slice();
    while !rest.is_empty() && examples.len() < cap {
        // The count comes from the hash's high bits: its low ones chose the split.
        let n = (1 + (rest[0].0 >> 32) % per_example) as usize;
        let (group, tail) = rest.split_at(n.min(rest.len()));
        rest = tail;
        let (prompts, completions): (Vec<&str>, Vec<&str>) =
            group.iter().map(|(_, pair)| pair.split_once('|').expect("joined in parse_synset")).unzip();
        let ex = Example::Completion { prompt: prompts.join("\n"), completion: completions.join("\n") };
        examples.push(if options.chat { ex.to_chat() } else { ex });
    }
    examples
}

/// An example as token ids, with how many leading tokens are prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokenized {
    pub tokens: Vec<u32>,
    pub prompt_len: usize,
}

/// Applies the chat template (as mlx-lm does for both formats) and tokenizes;
/// the prompt is everything before the last assistant message's content.
/// Cut to `max_len` tokens.
pub fn tokenize(tokenizer: &Tokenizer, example: &Example, max_len: usize) -> Result<Tokenized> {
    let messages = example.messages();
    let last = messages.last().ok_or_else(|| Error::Data("an example without messages".into()))?;
    if last.role != "assistant" {
        return Err(Error::Data(format!("the last message is from {:?}, not the assistant", last.role)));
    }
    let prompt = chat_template(&messages[..messages.len() - 1], true);
    let full = chat_template(&messages, false);
    let prompt_len = tokenizer.encode(&prompt)?.len();
    let mut tokens = tokenizer.encode(&full)?;
    tokens.truncate(max_len);
    let prompt_len = prompt_len.min(tokens.len());
    Ok(Tokenized { tokens, prompt_len })
}

pub fn tokenize_all(tokenizer: &Tokenizer, examples: &[Example], max_len: usize) -> Result<Vec<Tokenized>> {
    examples.iter().map(|e| tokenize(tokenizer, e, max_len)).collect()
}

/// [`tokenize_all`], kept on disk in `cache_dir` and reused while the
/// tokenizer, the examples and `max_len` are the same (the file name hashes
/// them, the tokenizer by its vocabulary size and its encoding of a probe
/// text). A damaged cache file is rebuilt. The cache is an optimisation: a
/// folder that cannot be written (a read-only data folder in an evaluation
/// sandbox) only means the next call tokenizes again.
pub fn tokenize_all_cached(
    tokenizer: &Tokenizer,
    examples: &[Example],
    max_len: usize,
    cache_dir: &Path,
) -> Result<Vec<Tokenized>> {
    let mut key = Fnv::default();
    key.add(&tokenizer.vocab_size.to_le_bytes());
    for id in tokenizer.encode(TOKENIZER_PROBE)? {
        key.add(&id.to_le_bytes());
    }
    key.add(&max_len.to_le_bytes());
    key.add(serde_json::to_string(examples).expect("examples serialize").as_bytes());
    let path = cache_dir.join(format!("tokens-{:016x}.json", key.0));
    if let Ok(text) = std::fs::read_to_string(&path)
        && let Ok(tokenized) = serde_json::from_str::<Vec<Tokenized>>(&text)
        && tokenized.len() == examples.len()
    {
        return Ok(tokenized);
    }
    let tokenized = tokenize_all(tokenizer, examples, max_len)?;
    // Written whole under a name of this call's own, then renamed: a reader
    // never sees half a file, and two writers never share one.
    static WRITES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_extension(format!("{}-{n}.tmp", std::process::id()));
    let written = std::fs::create_dir_all(cache_dir)
        .and_then(|()| std::fs::write(&tmp, serde_json::to_string(&tokenized).expect("token ids serialize")))
        .and_then(|()| std::fs::rename(&tmp, &path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    Ok(tokenized)
}

/// Text whose encoding tells tokenizers apart.
const TOKENIZER_PROBE: &str = "<|im_start|>user\nDefine \"tokenizer\": 12 ½ naïve words.<|im_end|>";

/// FNV-1a, 64 bits: a stable hash for cache file names.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn add(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
    }
}
