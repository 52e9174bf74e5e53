//! The WordNet set is deterministic and well formed; JSONL round-trips in both
//! mlx-lm formats; tokenization masks the prompt; batches pad and pack right.
//! Needs scripts/setup-lora-data.sh.

use mlx_lora::data::{
    BatchOptions, Example, Splits, WordnetOptions, build_wordnet, epoch_order, make_batches, read_jsonl,
    tokenize, tokenize_all, write_jsonl,
};
use mlx_lora::tokenizer::Tokenizer;

fn wordnet() -> std::path::PathBuf {
    mlx_lora::paths::wordnet_dir().expect("WordNet (run scripts/setup-lora-data.sh)")
}

fn tokenizer() -> Tokenizer {
    let file = mlx_rs::io::GgufFile::load(mlx_lora::paths::smollm2_gguf().unwrap()).unwrap();
    Tokenizer::from_gguf(&file).unwrap()
}

fn word_of(ex: &Example) -> String {
    let Example::Completion { prompt, .. } = ex else { panic!("completion format expected") };
    prompt.split('"').nth(1).unwrap().to_string()
}

#[test]
fn wordnet_splits_are_deterministic_disjoint_and_sized() {
    let options = WordnetOptions::default();
    let a = build_wordnet(&wordnet(), &options).unwrap();
    let b = build_wordnet(&wordnet(), &options).unwrap();
    assert_eq!(a, b);
    assert_eq!((a.train.len(), a.valid.len(), a.test.len()), (2000, 200, 200));
    let train: std::collections::HashSet<String> = a.train.iter().map(word_of).collect();
    assert_eq!(train.len(), 2000, "one example per word");
    assert!(a.valid.iter().chain(&a.test).all(|e| !train.contains(&word_of(e))));
    for ex in a.train.iter().chain(&a.valid) {
        let Example::Completion { prompt, completion } = ex else { unreachable!() };
        assert!(prompt.starts_with("Define the ") && prompt.ends_with("\"."), "{prompt}");
        assert!(completion.ends_with('.') && completion.len() >= 13, "{completion}");
        assert!(completion.chars().next().unwrap().is_uppercase(), "{completion}");
    }
    // A smaller request is a prefix of the larger one (the order is fixed).
    let small = build_wordnet(
        &wordnet(),
        &WordnetOptions { max_train: 100, max_valid: 10, max_test: 10, chat: false, max_entries: 1 },
    )
    .unwrap();
    assert_eq!(small.train[..], a.train[..100]);
    assert_eq!(small.valid[..], a.valid[..10]);
    // Chat format: the same content as messages.
    let chat = build_wordnet(
        &wordnet(),
        &WordnetOptions { max_train: 100, max_valid: 10, max_test: 10, chat: true, max_entries: 1 },
    )
    .unwrap();
    assert_eq!(chat.train[7], small.train[7].to_chat());
    eprintln!("first train examples: {:?}", &a.train[..3]);
}

#[test]
fn grouped_examples_hold_consecutive_definitions_of_varied_counts_and_the_gpu_lengths() {
    let single =
        build_wordnet(&wordnet(), &WordnetOptions { max_entries: 1, ..WordnetOptions::default() }).unwrap();
    let options = mlx_lora::experiment::Experiment::gpu().data;
    let grouped = build_wordnet(&wordnet(), &options).unwrap();
    assert_eq!(grouped, build_wordnet(&wordnet(), &options).unwrap(), "deterministic");
    assert_eq!((grouped.train.len(), grouped.valid.len()), (options.max_train, options.max_valid));
    // The groups, unfolded, are the single-definition examples in the same order.
    let lines = |ex: &Example| {
        let Example::Completion { prompt, completion } = ex else { unreachable!() };
        let (p, c): (Vec<&str>, Vec<&str>) = (prompt.lines().collect(), completion.lines().collect());
        assert_eq!(p.len(), c.len(), "one definition per word asked for: {ex:?}");
        p.into_iter().zip(c).map(|(p, c)| (p.to_string(), c.to_string())).collect::<Vec<_>>()
    };
    let unfolded: Vec<(String, String)> = grouped.valid.iter().flat_map(lines).collect();
    let singles: Vec<(String, String)> = single.valid.iter().flat_map(lines).collect();
    let n = unfolded.len().min(singles.len());
    assert!(n >= 200, "{n}");
    assert_eq!(unfolded[..n], singles[..n]);
    let counts: Vec<usize> = grouped.train.iter().map(|e| lines(e).len()).collect();
    assert!(counts.iter().all(|&c| (1..=options.max_entries).contains(&c)));
    for c in [1, options.max_entries] {
        assert!(counts.contains(&c), "no example of {c} definitions");
    }
    // Lengths vary up to the cut, which is what makes the padded batches
    // of the `gpu` size wide and packing worth something.
    let experiment = mlx_lora::experiment::Experiment::gpu();
    let tok = tokenizer();
    let lengths: Vec<usize> =
        grouped.train.iter().map(|e| tokenize(&tok, e, experiment.max_len).unwrap().tokens.len()).collect();
    let mean = lengths.iter().sum::<usize>() as f64 / lengths.len() as f64;
    let cut = lengths.iter().filter(|&&l| l == experiment.max_len).count();
    eprintln!(
        "gpu examples: mean {mean:.0} tokens, {cut} of {} cut at {}",
        lengths.len(),
        experiment.max_len
    );
    assert!(mean > 150.0 && mean < 0.75 * experiment.max_len as f64, "mean {mean}");
    let widest_per_batch =
        lengths.chunks(experiment.train.batch.batch_size).map(|b| *b.iter().max().unwrap());
    assert!(widest_per_batch.clone().all(|w| w > 400), "{:?}", widest_per_batch.collect::<Vec<_>>());
}

#[test]
fn jsonl_round_trips_in_both_formats_and_reports_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let splits = build_wordnet(
        &wordnet(),
        &WordnetOptions { max_train: 50, max_valid: 5, max_test: 5, chat: false, max_entries: 1 },
    )
    .unwrap();
    splits.write(dir.path()).unwrap();
    assert_eq!(Splits::read(dir.path()).unwrap(), splits);
    let first = std::fs::read_to_string(dir.path().join("train.jsonl")).unwrap();
    let line: serde_json::Value = serde_json::from_str(first.lines().next().unwrap()).unwrap();
    assert!(line.get("prompt").is_some() && line.get("completion").is_some());

    let chat: Vec<Example> = splits.train.iter().map(Example::to_chat).collect();
    let path = dir.path().join("chat.jsonl");
    write_jsonl(&path, &chat).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("{\"messages\":[{\"role\":\"user\",\"content\":\"Define the "),
        "{}",
        &text[..80]
    );
    assert_eq!(read_jsonl(&path).unwrap(), chat);

    std::fs::write(&path, format!("{}\n{{\"text\": 1}}\n", text.lines().next().unwrap())).unwrap();
    let err = read_jsonl(&path).unwrap_err().to_string();
    assert!(err.contains("chat.jsonl:2:"), "{err}");
}

#[test]
fn tokenization_masks_the_prompt_and_batches_pad_and_pack() {
    let tok = tokenizer();
    let splits = build_wordnet(
        &wordnet(),
        &WordnetOptions { max_train: 24, max_valid: 0, max_test: 0, chat: false, max_entries: 1 },
    )
    .unwrap();
    let ex = &splits.train[0];
    let Example::Completion { completion, .. } = ex else { unreachable!() };
    let t = tokenize(&tok, ex, 512).unwrap();
    assert_eq!(tok.decode(&t.tokens[t.prompt_len..]).unwrap(), format!("{completion}<|im_end|>\n"));
    assert!(tok.decode(&t.tokens[..t.prompt_len]).unwrap().ends_with("<|im_start|>assistant\n"));
    // Both formats tokenize the same.
    assert_eq!(tokenize(&tok, &ex.to_chat(), 512).unwrap(), t);
    // Truncation keeps the prompt length within the tokens.
    let cut = tokenize(&tok, ex, 10).unwrap();
    assert_eq!((cut.tokens.len(), cut.prompt_len), (10, 10));

    let all = tokenize_all(&tok, &splits.train, 512).unwrap();
    let refs: Vec<_> = all.iter().collect();
    let completion_tokens: usize = all.iter().map(|t| t.tokens.len() - t.prompt_len).sum();
    let options = BatchOptions {
        batch_size: 4,
        mask_prompt: true,
        pad_id: tok.pad_id,
        pad_multiple: 8,
        pack_len: None,
    };
    let batches = make_batches(&refs, &options).unwrap();
    assert_eq!(batches.len(), 6);
    for (b, chunk) in batches.iter().zip(all.chunks(4)) {
        let longest = chunk.iter().map(|t| t.tokens.len() - 1).max().unwrap() as i32;
        let width = b.inputs.shape()[1];
        assert_eq!(b.inputs.shape()[0], 4);
        assert!(width % 8 == 0 && width >= longest && width < longest + 8, "{width} for {longest}");
        assert_eq!(b.mask.sum(None).unwrap().item_exact::<f32>() as usize, b.tokens);
    }
    assert_eq!(batches.iter().map(|b| b.tokens).sum::<usize>(), completion_tokens);
    // Without prompt masking every next token counts.
    let unmasked = make_batches(&refs, &BatchOptions { mask_prompt: false, ..options }).unwrap();
    let all_targets: usize = all.iter().map(|t| t.tokens.len() - 1).sum();
    assert_eq!(unmasked.iter().map(|b| b.tokens).sum::<usize>(), all_targets);
    // Packing: whole examples share rows of at most 128 positions, each
    // labelled with its example; the same completion tokens counted.
    let packed =
        make_batches(&refs, &BatchOptions { pack_len: Some(128), pad_multiple: 1, ..options }).unwrap();
    assert!(packed.len() < batches.len());
    assert!(packed[0].inputs.shape()[1] <= 128 && packed[0].inputs.shape()[0] == 4);
    assert_eq!(packed.iter().map(|b| b.tokens).sum::<usize>(), completion_tokens);
    let segments = packed[0].segments.as_ref().expect("packed rows carry segment ids");
    let ids = segments.as_slice::<i32>();
    let width = packed[0].inputs.shape()[1] as usize;
    assert_eq!((ids[0], ids[width - 1] >= 1), (0, true), "the first row holds several examples: {ids:?}");
    assert!(batches[0].segments.is_none());
}

#[test]
fn epoch_order_is_a_seeded_permutation() {
    let a = epoch_order(100, 7, 0);
    assert_eq!(a, epoch_order(100, 7, 0));
    assert_ne!(a, epoch_order(100, 7, 1));
    assert_ne!(a, epoch_order(100, 8, 0));
    let mut sorted = a.clone();
    sorted.sort();
    assert_eq!(sorted, (0..100).collect::<Vec<_>>());
    assert_ne!(a, sorted);
}

#[test]
fn tokenization_is_cached_on_disk_per_tokenizer_examples_and_length() {
    let tok = tokenizer();
    let splits = build_wordnet(
        &wordnet(),
        &WordnetOptions { max_train: 40, max_valid: 0, max_test: 0, chat: false, max_entries: 1 },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fresh = tokenize_all(&tok, &splits.train, 64).unwrap();
    let first = mlx_lora::data::tokenize_all_cached(&tok, &splits.train, 64, dir.path()).unwrap();
    assert_eq!(first, fresh);
    let files = || {
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        names.sort();
        names
    };
    assert_eq!(files().len(), 1);
    // A second call reads the file: what it holds is what comes back.
    let file = files()[0].clone();
    let mut altered = first.clone();
    altered[0].prompt_len = 1;
    std::fs::write(&file, serde_json::to_string(&altered).unwrap()).unwrap();
    assert_eq!(mlx_lora::data::tokenize_all_cached(&tok, &splits.train, 64, dir.path()).unwrap(), altered);
    // Other settings, other files; a damaged file is rebuilt.
    mlx_lora::data::tokenize_all_cached(&tok, &splits.train, 32, dir.path()).unwrap();
    mlx_lora::data::tokenize_all_cached(&tok, &splits.train[..20], 64, dir.path()).unwrap();
    assert_eq!(files().len(), 3);
    std::fs::write(&file, "{ not json").unwrap();
    assert_eq!(mlx_lora::data::tokenize_all_cached(&tok, &splits.train, 64, dir.path()).unwrap(), fresh);
    // A folder that cannot be written (a sandbox's read-only data) caches nothing and costs nothing.
    let unwritable = std::path::Path::new("/proc/self/no-such-cache");
    assert_eq!(mlx_lora::data::tokenize_all_cached(&tok, &splits.train, 64, unwritable).unwrap(), fresh);
}
