//! `edba init DIR`: a small project that works as written — one dataset, one
//! warehouse table, one job and two sample files (one with a row that is
//! rejected) — for a team to change into their own.

use std::path::Path;

use anyhow::{bail, Context};

/// The project's files: path under DIR, contents.
const FILES: [(&str, &str); 4] = [
    ("edba.toml", include_str!("init/edba.toml")),
    ("daily_energy.sql", include_str!("init/daily_energy.sql")),
    ("readings/north-2026-12-01.csv", include_str!("init/readings/north-2026-12-01.csv")),
    ("readings/north-2026-12-02.csv", include_str!("init/readings/north-2026-12-02.csv")),
];

/// Writes the project into `dir` (created if missing). Refuses a folder that
/// holds anything, so nothing of a user's is overwritten.
pub fn init(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        if !dir.is_dir() {
            bail!("{} exists and is not a folder", dir.display());
        }
        let mut entries = std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
        if entries.next().is_some() {
            bail!("{} is not empty; edba init writes a new project into an empty or new folder", dir.display());
        }
    }
    for (path, text) in FILES {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        println!("{}", path.display());
    }
    eprintln!(
        "a new project in {0}: one dataset (readings), one table (daily_energy), one job (daily-energy).\n\
         next: edba check {0}   then   edba run {0}",
        dir.display()
    );
    Ok(())
}
