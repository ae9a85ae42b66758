//! The library's core reads bottom-up: each module uses only modules in the layers below its
//! own, so none can be understood only together with another (no import circles). A module
//! that reaches up fails here with the line that does it.

use std::path::Path;

/// Lowest first. A module may use those in earlier layers, never its own layer or later ones.
const LAYERS: &[&[&str]] = &[
    &["hostname", "canonical", "keys", "durable", "logging", "secrets", "pages"],
    &["safesearch", "categories"],
    &["policy"],
    &["bundle"],
    &["config", "protocol"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The source of a module: `src/name.rs`, or every file under `src/name/`.
fn sources(module: &str) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let file = root.join(format!("{module}.rs"));
    let mut paths = vec![file];
    if let Ok(dir) = std::fs::read_dir(root.join(module)) {
        paths.extend(dir.flatten().map(|entry| entry.path()));
    }
    paths
        .into_iter()
        .filter_map(|path| Some((path.display().to_string(), std::fs::read_to_string(&path).ok()?)))
        .collect()
}

/// Every `crate::name` a source names outside comments, with its line number.
fn uses(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        for (at, _) in code.match_indices("crate::") {
            let name: String =
                code[at + "crate::".len()..].chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
            found.push((number + 1, name));
        }
    }
    found
}

#[test]
fn every_core_module_uses_only_the_layers_below_it() {
    let mut wrong = Vec::new();
    for (level, layer) in LAYERS.iter().enumerate() {
        for module in *layer {
            let files = sources(module);
            assert!(!files.is_empty(), "no source for `{module}`");
            for (path, text) in files {
                for (line, used) in uses(&text) {
                    let allowed = layer_of(&used).is_some_and(|other| other < level);
                    if used != *module && !allowed {
                        wrong.push(format!("{path}:{line}: `{module}` uses `{used}`"));
                    }
                }
            }
        }
    }
    assert!(wrong.is_empty(), "modules reaching up or sideways:\n{}", wrong.join("\n"));
}
