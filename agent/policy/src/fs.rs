//! Reading policy files from disk: the only I/O in this crate.

use std::path::{Path, PathBuf};

use crate::{Policy, PolicyError};

fn is_policy_file(p: &Path) -> bool {
    matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
}

/// The policy files a path names: the file itself, or the `*.yaml`/`*.yml` files of a
/// folder (not recursive), sorted by name so evaluation order is stable.
pub fn policy_files(path: &Path) -> Result<Vec<PathBuf>, PolicyError> {
    let io = |source| PolicyError::Io {
        path: path.to_owned(),
        source,
    };
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && is_policy_file(p))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(PolicyError::NoFiles(path.to_owned()));
        }
        Ok(files)
    } else {
        std::fs::metadata(path).map_err(io)?;
        Ok(vec![path.to_owned()])
    }
}

/// Loads and compiles the policies at `paths` (files or folders) as one policy.
pub fn load_paths(paths: &[PathBuf]) -> Result<Policy, PolicyError> {
    let mut sources = Vec::new();
    for path in paths {
        for file in policy_files(path)? {
            let text = std::fs::read_to_string(&file).map_err(|source| PolicyError::Io {
                path: file.clone(),
                source,
            })?;
            sources.push((file.display().to_string(), text));
        }
    }
    Policy::from_sources(&sources)
}
