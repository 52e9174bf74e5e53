//! The documentation's links hold: every relative link of the README, the
//! changelog, ARCHITECTURE.md and the guide points at a file that exists
//! (and, with a `#fragment`, at a heading of it), every chapter of the
//! guide's SUMMARY.md exists, and every `{{#include}}` names a file.

mod common;

use std::path::{Path, PathBuf};

use common::repo_root;

/// The pages to check: the front pages and every chapter of the guide.
fn pages() -> Vec<PathBuf> {
    let root = repo_root();
    let mut pages: Vec<PathBuf> =
        ["README.md", "CHANGELOG.md", "ARCHITECTURE.md"].iter().map(|p| root.join(p)).collect();
    let guide = root.join("docs/src");
    let mut chapters: Vec<PathBuf> = std::fs::read_dir(&guide)
        .expect("docs/src exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    chapters.sort();
    pages.extend(chapters);
    pages
}

/// The targets of `[text](target)` links in `text`, code spans and blocks left out.
fn link_targets(text: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut in_block = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            continue;
        }
        // Code spans may hold `](`; drop them first.
        let prose: String = line.split('`').step_by(2).collect::<Vec<_>>().join("");
        let mut rest = prose.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            targets.push(after[..end].to_string());
            rest = &after[end..];
        }
    }
    targets
}

/// GitHub's and mdBook's anchor of a heading: lower case, spaces to dashes,
/// punctuation other than dashes and underscores dropped.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(page: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(page).unwrap_or_default();
    text.lines().filter_map(|l| l.strip_prefix('#')).map(|h| anchor(h.trim_start_matches('#'))).collect()
}

#[test]
fn every_relative_link_of_the_docs_resolves() {
    let mut broken = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let dir = page.parent().unwrap();
        for target in link_targets(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (file, fragment) = target.split_once('#').unwrap_or((&target, ""));
            let resolved = if file.is_empty() { page.clone() } else { dir.join(file) };
            if !resolved.exists() {
                broken.push(format!("{}: {target} (no such file)", page.display()));
            } else if !fragment.is_empty()
                && resolved.extension().is_some_and(|e| e == "md")
                && !anchors(&resolved).iter().any(|a| a == fragment)
            {
                broken.push(format!("{}: {target} (no such heading)", page.display()));
            }
        }
        for include in text.split("{{#include ").skip(1) {
            let file = include.split("}}").next().unwrap().trim();
            if !dir.join(file).is_file() {
                broken.push(format!("{}: include {file} (no such file)", page.display()));
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_guides_summary_lists_existing_chapters() {
    let guide = repo_root().join("docs/src");
    let summary = std::fs::read_to_string(guide.join("SUMMARY.md")).unwrap();
    let chapters = link_targets(&summary);
    assert!(chapters.len() >= 10, "{chapters:?}");
    for chapter in chapters {
        assert!(guide.join(&chapter).is_file(), "SUMMARY.md lists {chapter}, which does not exist");
    }
}

#[test]
fn the_link_reader_finds_links_and_anchors() {
    let text = "See [a](x.md#b-c) and `[no](code)`.\n```\n[no](block)\n```\n[d](y.md)\n";
    assert_eq!(link_targets(text), ["x.md#b-c", "y.md"]);
    assert_eq!(anchor(" The `openevolve` command"), "the-openevolve-command");
    assert_eq!(anchor("What an Err from evaluate means?"), "what-an-err-from-evaluate-means");
}
