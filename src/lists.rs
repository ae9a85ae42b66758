//! Loading rule lists and category folders from disk: the I/O around the pure core.

use std::path::{Path, PathBuf};

use crate::categories::{CategoryError, CategoryIndex, CategoryIndexBuilder};

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}: no category folders with a `domains` file", .0.display())]
    NoCategories(PathBuf),
    #[error("{}: {source}", path.display())]
    Categories { path: PathBuf, source: CategoryError },
}

pub fn read_text(path: &Path) -> Result<String, LoadError> {
    std::fs::read_to_string(path).map_err(|source| LoadError::Read { path: path.to_owned(), source })
}

/// Loads a UT1-style folder: each sub-folder is a category whose `domains` file lists its
/// domains. Sub-folders without a `domains` file are skipped; categories are named by folder.
pub fn load_categories(dir: &Path) -> Result<CategoryIndex, LoadError> {
    let read_error = |source| LoadError::Read { path: dir.to_owned(), source };
    let mut folders: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(read_error)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.join("domains").is_file())
        .collect();
    if folders.is_empty() {
        return Err(LoadError::NoCategories(dir.to_owned()));
    }
    folders.sort();
    let mut builder = CategoryIndexBuilder::default();
    for folder in folders {
        let name = folder.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let id = builder.category(&name).map_err(|source| LoadError::Categories { path: folder.clone(), source })?;
        let domains = folder.join("domains");
        // UT1 files are UTF-8 in practice; a stray byte must not lose the whole category.
        let bytes = std::fs::read(&domains).map_err(|source| LoadError::Read { path: domains.clone(), source })?;
        builder.add_domains(id, &String::from_utf8_lossy(&bytes));
    }
    builder.build().map_err(|source| LoadError::Categories { path: dir.to_owned(), source })
}
