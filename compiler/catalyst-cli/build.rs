//! What `catalyst version` reports about the build: the Git commit of the
//! source (when built from a Git checkout, or given as CATALYST_GIT_COMMIT
//! by a packager building from a tarball), the compiler and the target.
//! Nothing of it reaches rendered output: the lock records the version.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=CATALYST_GIT_COMMIT");
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let commit =
        std::env::var(catalyst_env::CATALYST_GIT_COMMIT).ok().filter(|c| !c.is_empty()).or_else(|| git_head(&dir));
    println!("cargo:rustc-env=CATALYST_BUILD_COMMIT={}", commit.unwrap_or_default());
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    println!("cargo:rustc-env=CATALYST_BUILD_RUSTC={version}");
    println!("cargo:rustc-env=CATALYST_BUILD_TARGET={}", std::env::var("TARGET").unwrap_or_default());
}

fn git(dir: &str, args: &[&str]) -> Option<String> {
    let o = Command::new("git").current_dir(dir).args(args).output().ok()?;
    o.status.success().then(|| String::from_utf8_lossy(&o.stdout).trim().to_string()).filter(|s| !s.is_empty())
}

/// HEAD's commit; the build runs again when HEAD or the branch it is on
/// moves (only files that exist are watched: a missing one would make
/// every build run this again).
fn git_head(dir: &str) -> Option<String> {
    let head = git(dir, &["rev-parse", "HEAD"])?;
    let mut watch = vec!["HEAD".to_string(), "packed-refs".to_string()];
    watch.extend(git(dir, &["symbolic-ref", "-q", "HEAD"]));
    for w in watch {
        if let Some(p) = git(dir, &["rev-parse", "--path-format=absolute", "--git-path", &w])
            && Path::new(&p).is_file()
        {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    Some(head)
}
