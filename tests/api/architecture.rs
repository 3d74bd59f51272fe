//! The crate's structure, as ARCHITECTURE.md draws it: its top-level modules in layers, each
//! importing only from the layers below it, so no import cycle can form. A module is
//! `src/X.rs` with everything under `src/X/`; an import is any `crate::X` path in its code
//! (comments aside, test modules included).

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

/// Top to bottom: a module may import only modules listed after it.
const LAYERS: &[&str] = &[
    "commands",
    "cli",
    "server",
    "http",
    "state",
    "config",
    "graphiql",
    "graphql",
    "persisted",
    "ratelimit",
    "error",
    "upstream",
    "shared",
    "metrics",
    "bloc",
    "sandbox",
    "auth",
    "telemetry",
];

/// Every top-level module's imports of other top-level modules.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files = Vec::new();
    collect(&src, &mut files);
    let modules: BTreeSet<String> = files
        .iter()
        .filter_map(|path| module_of(&src, path))
        .collect();
    for path in &files {
        let Some(module) = module_of(&src, path) else {
            continue;
        };
        let code = strip_comments(&std::fs::read_to_string(path).unwrap());
        let targets = graph.entry(module.clone()).or_default();
        for target in crate_paths(&code) {
            if target != module && modules.contains(&target) {
                targets.insert(target);
            }
        }
    }
    graph
}

fn collect(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// `src/X.rs` and `src/X/...` belong to `X`; `lib.rs` and `main.rs` to no module.
fn module_of(src: &Path, path: &Path) -> Option<String> {
    let first = path.strip_prefix(src).ok()?.components().next()?;
    let name = first.as_os_str().to_str()?;
    let name = name.strip_suffix(".rs").unwrap_or(name);
    (!matches!(name, "lib" | "main")).then(|| name.to_owned())
}

fn strip_comments(code: &str) -> String {
    code.lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first segment after every `crate::`, including each item of `crate::{a, b::c}`.
fn crate_paths(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.push(head(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            found.push(head(&item));
        } else {
            found.push(head(rest));
        }
    }
    found.into_iter().filter(|name| !name.is_empty()).collect()
}

fn head(path: &str) -> String {
    path.trim()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

#[test]
fn every_module_imports_only_from_the_layers_below_it() {
    let graph = imports();
    let rank = |module: &str| LAYERS.iter().position(|m| *m == module);
    let unplaced: Vec<&String> = graph.keys().filter(|m| rank(m).is_none()).collect();
    assert!(
        unplaced.is_empty(),
        "modules missing from LAYERS (and ARCHITECTURE.md): {unplaced:?}"
    );
    let upward: Vec<String> = graph
        .iter()
        .flat_map(|(from, targets)| targets.iter().map(move |to| (from, to)))
        .filter(|(from, to)| rank(to) <= rank(from))
        .map(|(from, to)| format!("{from} -> {to}"))
        .collect();
    assert!(
        upward.is_empty(),
        "imports that point up the layers (they make cycles possible): {upward:?}"
    );
}

#[test]
fn the_import_reader_sees_single_grouped_and_nested_paths() {
    let code = strip_comments(
        "use crate::{a::b, c, d::{e, f}};\nlet x = crate::g::h(); // crate::ignored\n",
    );
    assert_eq!(crate_paths(&code), ["a", "c", "d", "g"]);
}
