//! Batches: examples padded or packed into rows, rows into the model's
//! input and loss arrays, and the seeded order of each epoch.

use mlx_rs::Array;
use serde::{Deserialize, Serialize};

use super::Tokenized;
use crate::{Error, Result};

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
