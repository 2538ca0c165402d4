//! `leakseal install-hook`: writes a git hook that runs leakseal, for users without the
//! pre-commit framework. Honours `core.hooksPath`; never overwrites a hook it did not write
//! unless forced, and then keeps the old one beside it.

use std::path::{Path, PathBuf};

use crate::exit::ExitStatus;
use crate::messages::{io_reason, UserError};

/// Marks a hook file as ours, so re-installing it is safe.
const MARKER: &str = "installed by `leakseal install-hook`";

/// The hook directory of `repo`: `core.hooksPath` (relative to the work tree) or `.git/hooks`.
pub fn hooks_dir(repo: &git2::Repository) -> PathBuf {
    let base = repo.workdir().unwrap_or_else(|| repo.path()).to_path_buf();
    match repo.config().and_then(|c| c.get_path("core.hooksPath")) {
        Ok(p) if p.is_absolute() => p,
        Ok(p) => base.join(p),
        Err(_) => repo.path().join("hooks"),
    }
}

/// The script of the hook.
fn script(pre_push: bool) -> String {
    let body = if pre_push {
        // git gives "<local ref> <local sha> <remote ref> <remote sha>" lines on stdin.
        "zero=0000000000000000000000000000000000000000\n\
         status=0\n\
         while read -r local_ref local_sha remote_ref remote_sha; do\n\
         \x20 [ \"$local_sha\" = \"$zero\" ] && continue\n\
         \x20 if [ \"$remote_sha\" = \"$zero\" ]; then\n\
         \x20   PRE_COMMIT_FROM_REF=$zero PRE_COMMIT_TO_REF=$local_sha leakseal scan --pre-push || status=$?\n\
         \x20 else\n\
         \x20   leakseal scan --range \"$remote_sha..$local_sha\" || status=$?\n\
         \x20 fi\n\
         done\n\
         exit $status\n"
    } else {
        "exec leakseal scan --staged\n"
    };
    format!(
        "#!/bin/sh\n# leakseal {} hook, {MARKER}.\n{body}",
        if pre_push { "pre-push" } else { "pre-commit" }
    )
}

/// Installs the hook; prints where.
pub fn install(repo_path: &Path, pre_push: bool, force: bool) -> Result<ExitStatus, UserError> {
    let repo = crate::source::git::open(repo_path)?;
    let dir = hooks_dir(&repo);
    let name = if pre_push { "pre-push" } else { "pre-commit" };
    let path = dir.join(name);
    let shown = path.display().to_string();
    if let Ok(existing) = std::fs::read_to_string(&path) {
        if !existing.contains(MARKER) {
            if !force {
                return Err(UserError::new(format!(
                    "{shown}: a {name} hook already exists and leakseal did not write it"
                ))
                .hint("call leakseal from it yourself, or use --force (the old hook is kept as .bak)"));
            }
            let backup = dir.join(format!("{name}.bak"));
            std::fs::rename(&path, &backup)
                .map_err(|e| UserError::new(format!("{shown}: cannot keep the old hook: {}", io_reason(&e))))?;
            eprintln!("leakseal: kept the previous hook as {}", backup.display());
        }
    }
    std::fs::create_dir_all(&dir).map_err(|e| UserError::new(format!("{}: {}", dir.display(), io_reason(&e))))?;
    std::fs::write(&path, script(pre_push)).map_err(|e| UserError::new(format!("{shown}: {}", io_reason(&e))))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| UserError::new(format!("{shown}: {}", io_reason(&e))))?;
    }
    eprintln!("leakseal: installed the {name} hook at {shown}");
    Ok(ExitStatus::Clean)
}
