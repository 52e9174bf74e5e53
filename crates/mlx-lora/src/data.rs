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

use mlx_rs::Array;
use serde::{Deserialize, Serialize};

use crate::tokenizer::{Message, Tokenizer, chat_template};
use crate::{Error, Result};

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

/// Model inputs and loss targets of one batch.
#[derive(Debug, Clone)]
pub struct Batch {
    /// `[B, L]` int32.
    pub inputs: Array,
    /// `[B, L]` int32: the next token of each input position.
    pub targets: Array,
    /// `[B, L]` f32: 1 where the target counts in the loss.
    pub mask: Array,
    /// Number of ones in `mask`.
    pub tokens: usize,
    /// `[B, L]` int32, for rows that hold several examples: which example
    /// each position belongs to. A position attends only to earlier
    /// positions of its own example, so a packed row computes what its
    /// examples would compute in rows of their own. `None`: plain causal.
    pub segments: Option<Array>,
}

/// How examples become batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchOptions {
    /// Rows per batch.
    pub batch_size: usize,
    /// Leave prompt tokens out of the loss.
    pub mask_prompt: bool,
    /// Token used for padding (masked out).
    pub pad_id: u32,
    /// Pad rows to a multiple of this length.
    pub pad_multiple: usize,
    /// `Some(len)`: pack whole examples back to back into rows of at most
    /// `len` positions instead of one example per row (see [`make_batches`]).
    pub pack_len: Option<usize>,
}

impl Default for BatchOptions {
    fn default() -> Self {
        Self { batch_size: 4, mask_prompt: true, pad_id: 2, pad_multiple: 8, pack_len: None }
    }
}

/// A function that turns examples (in order) into batches: the standard one
/// is [`make_batches`]; another can be plugged into the trainer.
pub type BatchFn = fn(&[&Tokenized], &BatchOptions) -> Result<Vec<Batch>>;

/// One labelled token of a row: the token and whether it counts in the loss
/// as a target.
pub type RowToken = (u32, bool);

/// A [`RowToken`] with the example (segment) of its row it belongs to.
pub type SegmentToken = (u32, bool, i32);

/// Rows of (token, counts-in-loss) pairs into a batch: inputs are the row
/// without its last token, targets the row without its first.
pub fn rows_to_batch(rows: &[Vec<RowToken>], options: &BatchOptions) -> Batch {
    let segmented: Vec<Vec<SegmentToken>> =
        rows.iter().map(|row| row.iter().map(|&(t, c)| (t, c, 0)).collect()).collect();
    build_batch(&segmented, options, false)
}

/// The batch of `rows`, with their segment ids when `segmented`. A target
/// counts only where it belongs to its input's segment, so no packed
/// example is asked to predict the next one's first token; padding gets a
/// segment of its own.
fn build_batch(rows: &[Vec<SegmentToken>], options: &BatchOptions, segmented: bool) -> Batch {
    let longest = rows.iter().map(Vec::len).max().unwrap_or(2).max(2) - 1;
    let m = options.pad_multiple.max(1);
    let width = longest.div_ceil(m) * m;
    let b = rows.len();
    let mut inputs = vec![options.pad_id as i32; b * width];
    let mut targets = vec![options.pad_id as i32; b * width];
    let mut mask = vec![0f32; b * width];
    let mut segments = vec![-1i32; b * width];
    let mut tokens = 0;
    for (r, row) in rows.iter().enumerate() {
        for i in 0..row.len().saturating_sub(1) {
            let (input, _, segment) = row[i];
            let (target, counts, target_segment) = row[i + 1];
            inputs[r * width + i] = input as i32;
            targets[r * width + i] = target as i32;
            segments[r * width + i] = segment;
            if counts && target_segment == segment {
                mask[r * width + i] = 1.0;
                tokens += 1;
            }
        }
    }
    let shape = [b as i32, width as i32];
    Batch {
        inputs: Array::from_slice(&inputs, &shape),
        targets: Array::from_slice(&targets, &shape),
        mask: Array::from_slice(&mask, &shape),
        tokens,
        segments: segmented.then(|| Array::from_slice(&segments, &shape)),
    }
}

/// An example's tokens as part of `segment` of a row.
fn labelled(t: &Tokenized, mask_prompt: bool, segment: i32) -> impl Iterator<Item = SegmentToken> + '_ {
    t.tokens.iter().enumerate().map(move |(i, &tok)| (tok, !mask_prompt || i >= t.prompt_len, segment))
}

/// Whole examples, in order, into rows of at most `len + 1` tokens (`len`
/// positions): each example goes into the first row it still fits in, one
/// longer than a row gets a row of its own.
pub fn pack_rows(examples: &[&Tokenized], len: usize, mask_prompt: bool) -> Vec<Vec<SegmentToken>> {
    let mut rows: Vec<Vec<SegmentToken>> = Vec::new();
    let mut segments: Vec<i32> = Vec::new();
    for t in examples {
        let fits = rows.iter().position(|row| row.len() + t.tokens.len() <= len + 1);
        let r = fits.unwrap_or_else(|| {
            rows.push(Vec::new());
            segments.push(0);
            rows.len() - 1
        });
        let segment = segments[r];
        segments[r] += 1;
        rows[r].extend(labelled(t, mask_prompt, segment));
    }
    rows
}

/// The rows [`make_batches`] puts `examples` in: one per example, or packed
/// with `pack_len`. Plain host data, so another thread can prepare them.
pub fn batch_rows(examples: &[&Tokenized], options: &BatchOptions) -> Result<Vec<Vec<SegmentToken>>> {
    Ok(match options.pack_len {
        None => examples.iter().map(|t| labelled(t, options.mask_prompt, 0).collect()).collect(),
        Some(0) => return Err(Error::Data("pack_len must be at least 1".into())),
        Some(len) => pack_rows(examples, len, options.mask_prompt),
    })
}

/// Rows from [`batch_rows`] into batches of `batch_size` rows; segment ids
/// only where rows are packed.
pub fn rows_into_batches(rows: &[Vec<SegmentToken>], options: &BatchOptions) -> Vec<Batch> {
    rows.chunks(options.batch_size.max(1))
        .map(|chunk| build_batch(chunk, options, options.pack_len.is_some()))
        .collect()
}

/// The standard batching: `batch_size` examples per batch, each its own row,
/// padded to the longest (rounded up to `pad_multiple`). With `pack_len`,
/// whole examples share rows instead ([`pack_rows`]), with segment ids so
/// that each still attends only to itself: less padding, the same result.
pub fn make_batches(examples: &[&Tokenized], options: &BatchOptions) -> Result<Vec<Batch>> {
    if options.batch_size == 0 {
        return Err(Error::Data("batch_size must be at least 1".into()));
    }
    Ok(rows_into_batches(&batch_rows(examples, options)?, options))
}

/// A permutation of `0..n` for `epoch`, from `seed` (splitmix64 + Fisher-Yates).
pub fn epoch_order(n: usize, seed: u64, epoch: u64) -> Vec<usize> {
    let mut state = seed ^ epoch.wrapping_mul(0x9e3779b97f4a7c15);
    let mut next = || {
        state = state.wrapping_add(0x9e3779b97f4a7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
        z ^ (z >> 31)
    };
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}
