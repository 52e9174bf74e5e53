//! The template set: built into the binary from the repository's `prompts/`
//! folder, and replaced file by file from `prompt.template_dir`.

use std::collections::BTreeMap;
use std::path::Path;

use tera::Tera;

use super::PromptError;

/// Template files, by the name templates use to include each other.
pub const BUILT_IN_TEMPLATES: &[(&str, &str)] = &[
    ("system.tera", include_str!("../../../../prompts/system.tera")),
    ("user_diff.tera", include_str!("../../../../prompts/user_diff.tera")),
    ("user_rewrite.tera", include_str!("../../../../prompts/user_rewrite.tera")),
    ("parent.tera", include_str!("../../../../prompts/parent.tera")),
    ("fixed_code.tera", include_str!("../../../../prompts/fixed_code.tera")),
    ("artifacts.tera", include_str!("../../../../prompts/artifacts.tera")),
    ("previous_attempts.tera", include_str!("../../../../prompts/previous_attempts.tera")),
    ("top_programs.tera", include_str!("../../../../prompts/top_programs.tera")),
    ("diverse_programs.tera", include_str!("../../../../prompts/diverse_programs.tera")),
    ("inspirations.tera", include_str!("../../../../prompts/inspirations.tera")),
    ("repair.tera", include_str!("../../../../prompts/repair.tera")),
];

/// Default phrasings for `variation.*` placeholders; `prompt.template_variations`
/// replaces them name by name.
pub const VARIATIONS_FILE: &str = "variations.yaml";
const BUILT_IN_VARIATIONS: &str = include_str!("../../../../prompts/variations.yaml");

/// Parsed templates and the phrasings they may use.
pub struct TemplateSet {
    pub tera: Tera,
    pub variations: BTreeMap<String, Vec<String>>,
}

/// `(origin, text)`: the override file from `dir` when there is one, else the built-in.
fn source(dir: Option<&Path>, name: &str, built_in: &str) -> Result<(String, String), PromptError> {
    if let Some(path) = dir.map(|d| d.join(name)).filter(|p| p.is_file()) {
        let text = std::fs::read_to_string(&path)
            .map_err(|source| PromptError::Read { path: path.display().to_string(), source })?;
        return Ok((path.display().to_string(), text));
    }
    Ok((format!("built-in prompts/{name}"), built_in.to_string()))
}

/// The whole chain of a tera error: the top message only says which template
/// failed, the line and the cause are in its sources.
pub(crate) fn error_chain(error: &tera::Error) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        parts.push(cause.to_string());
        source = cause.source();
    }
    parts.join(": ")
}

impl TemplateSet {
    /// Loads the templates; a file in `dir` with a built-in name replaces it,
    /// and other `*.tera` files there are added (for overrides to include).
    pub fn load(dir: Option<&Path>) -> Result<Self, PromptError> {
        let mut sources: BTreeMap<String, (String, String)> = BTreeMap::new();
        for (name, text) in BUILT_IN_TEMPLATES {
            sources.insert(name.to_string(), source(dir, name, text)?);
        }
        if let Some(dir) = dir {
            let entries = std::fs::read_dir(dir)
                .map_err(|source| PromptError::Read { path: dir.display().to_string(), source })?;
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.ends_with(".tera") && !sources.contains_key(&name) {
                    sources.insert(name.clone(), source(Some(dir), &name, "")?);
                }
            }
        }
        // Parse one by one first, so a syntax error names its file and line.
        for (name, (origin, text)) in &sources {
            tera::Template::new(name, None, text)
                .map_err(|e| PromptError::Template { origin: origin.clone(), detail: error_chain(&e) })?;
        }
        let mut tera = Tera::default();
        tera.autoescape_on(Vec::new());
        // A file's final newline is dropped so included sections join without
        // stray blank lines, whatever the editor that saved them does.
        let texts = sources.iter().map(|(name, (_, text))| {
            let text = text.strip_suffix('\n').unwrap_or(text);
            (name.as_str(), text.strip_suffix('\r').unwrap_or(text))
        });
        tera.add_raw_templates(texts).map_err(|e| PromptError::Template {
            origin: "the template set".into(),
            detail: error_chain(&e),
        })?;

        let (origin, text) = source(dir, VARIATIONS_FILE, BUILT_IN_VARIATIONS)?;
        let variations = serde_yaml::from_str(&text)
            .map_err(|e| PromptError::Variations { origin, detail: e.to_string() })?;
        Ok(Self { tera, variations })
    }
}
