//! The repository's CI integrations run as users run them: the pre-commit hook definition
//! with the real pre-commit framework, and the release installer the GitHub Action uses.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The directory holding the kubectl-hooks binary under test, put first on PATH.
fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_kubectl-hooks"))
        .parent()
        .unwrap()
        .to_owned()
}

fn path_with_binary() -> std::ffi::OsString {
    let mut dirs = vec![bin_dir()];
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(dirs).unwrap()
}

/// The pinned pre-commit: `$PRE_COMMIT`, else the one scripts/install-tools.sh puts in .tools.
fn pre_commit() -> PathBuf {
    let path = std::env::var_os("PRE_COMMIT")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".tools/bin/pre-commit"));
    assert!(
        path.exists(),
        "pre-commit is not installed at {}: run scripts/install-tools.sh (scripts/test.sh \
         does) or set PRE_COMMIT",
        path.display()
    );
    path
}

fn git(dir: &Path, args: &[&str]) {
    let output = Command::new("git")
        .args(["-c", "user.name=test", "-c", "user.email=test@example.com"])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(output.status.success(), "git {args:?}: {output:?}");
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn the_pre_commit_hook_passes_good_manifests_and_fails_broken_ones_with_our_message() {
    let dir = tempfile::tempdir().unwrap();
    // A repository holding the hook definition exactly as users' pre-commit fetches it.
    let hooks_repo = dir.path().join("velero-hooks");
    std::fs::create_dir(&hooks_repo).unwrap();
    std::fs::copy(
        repo().join(".pre-commit-hooks.yaml"),
        hooks_repo.join(".pre-commit-hooks.yaml"),
    )
    .unwrap();
    git(&hooks_repo, &["init", "-q"]);
    git(&hooks_repo, &["add", ".pre-commit-hooks.yaml"]);
    git(&hooks_repo, &["commit", "-q", "-m", "hooks"]);
    let rev = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(&hooks_repo)
        .output()
        .unwrap();
    let rev = String::from_utf8(rev.stdout).unwrap();

    // A user's GitOps repository with a chart template the hook must leave alone.
    let user = dir.path().join("gitops");
    std::fs::create_dir_all(user.join("chart/templates")).unwrap();
    std::fs::write(
        user.join(".pre-commit-config.yaml"),
        format!(
            "repos:\n  - repo: {}\n    rev: {}\n    hooks:\n      - id: velero-hooks-validate\n",
            hooks_repo.display(),
            rev.trim()
        ),
    )
    .unwrap();
    std::fs::copy(
        repo().join("examples/good/nginx-fsfreeze.yaml"),
        user.join("nginx.yaml"),
    )
    .unwrap();
    std::fs::write(
        user.join("chart/templates/deployment.yaml"),
        "replicas: {{ .Values.replicas }}\n",
    )
    .unwrap();
    std::fs::write(user.join("README.md"), "not a manifest: [\n").unwrap();
    git(&user, &["init", "-q"]);
    git(&user, &["add", "."]);

    let run = || {
        Command::new(pre_commit())
            .arg("run")
            .current_dir(&user)
            .env("PATH", path_with_binary())
            .env("PRE_COMMIT_HOME", dir.path().join("cache"))
            .env_remove("GIT_DIR")
            .output()
            .expect("pre-commit runs")
    };
    let good = run();
    assert!(good.status.success(), "{}", text(&good));
    assert!(
        text(&good).contains("Velero hooks (kubectl hooks validate)")
            && text(&good).contains("Passed"),
        "{}",
        text(&good)
    );

    std::fs::copy(
        repo().join("examples/broken/timeout-no-unit.yaml"),
        user.join("backup-job.yaml"),
    )
    .unwrap();
    git(&user, &["add", "backup-job.yaml"]);
    let broken = run();
    assert_eq!(broken.status.code(), Some(1), "{}", text(&broken));
    let out = text(&broken);
    assert!(out.contains("Failed"), "{out}");
    assert!(
        out.contains(
            "backup-job.yaml:19:9: deployment/timeout-no-unit -n shop: error HV020: \
             pre.hook.backup.velero.io/timeout: `300` is not a Go duration"
        ),
        "{out}"
    );
}

/// A release directory laid out as GitHub serves one: `<base>/<tag>/<asset>` and its `.sha256`.
fn fake_release(dir: &Path, tag: &str) -> (PathBuf, String) {
    let stage = dir.join("stage");
    std::fs::create_dir_all(&stage).unwrap();
    std::fs::copy(
        env!("CARGO_BIN_EXE_kubectl-hooks"),
        stage.join("kubectl-hooks"),
    )
    .unwrap();
    let base = dir.join("releases");
    std::fs::create_dir_all(base.join(tag)).unwrap();
    let asset = base.join(tag).join("kubectl-hooks-linux-amd64.tar.gz");
    let tar = Command::new("tar")
        .arg("-czf")
        .arg(&asset)
        .arg("-C")
        .arg(&stage)
        .arg("kubectl-hooks")
        .status()
        .unwrap();
    assert!(tar.success());
    let sum = Command::new("sha256sum").arg(&asset).output().unwrap();
    let sum = String::from_utf8(sum.stdout).unwrap();
    let sha = sum.split_whitespace().next().unwrap().to_owned();
    std::fs::write(
        asset.with_extension("gz.sha256"),
        format!("{sha}  kubectl-hooks-linux-amd64.tar.gz\n"),
    )
    .unwrap();
    (base, sha)
}

fn install_release(base: &Path, args: &[&str]) -> Output {
    Command::new(repo().join("scripts/install-release.sh"))
        .args(args)
        .env(
            "VELERO_HOOKS_RELEASES",
            format!("file://{}", base.display()),
        )
        .output()
        .unwrap()
}

#[test]
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn the_action_installs_a_release_only_when_its_checksum_matches() {
    let dir = tempfile::tempdir().unwrap();
    let (base, sha) = fake_release(dir.path(), "v0.1.0");
    let dest = dir.path().join("bin");
    let dest_arg = dest.to_str().unwrap();

    let output = install_release(&base, &["v0.1.0", dest_arg]);
    assert!(output.status.success(), "{}", text(&output));
    let version = Command::new(dest.join("kubectl-hooks"))
        .arg("version")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("kubectl-hooks "));

    let pinned = install_release(&base, &["v0.1.0", dest_arg, &sha.to_uppercase()]);
    assert!(pinned.status.success(), "{}", text(&pinned));

    let elsewhere = dir.path().join("other");
    let wrong = "0".repeat(64);
    let output = install_release(&base, &["v0.1.0", elsewhere.to_str().unwrap(), &wrong]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output).contains(&format!("checksum mismatch for kubectl-hooks-linux-amd64.tar.gz: expected {wrong}, downloaded {sha}")),
        "{}",
        text(&output)
    );
    assert!(
        !elsewhere.join("kubectl-hooks").exists(),
        "nothing installed"
    );

    let output = install_release(&base, &["latest", dest_arg]);
    assert!(
        text(&output).contains("'latest' is not a release tag such as v0.1.0"),
        "{}",
        text(&output)
    );
}

#[test]
fn the_action_runs_the_installer_then_validate_as_sarif_then_uploads_it() {
    let action: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(repo().join("action.yml")).unwrap())
            .unwrap();
    assert_eq!(action["runs"]["using"], "composite");
    let steps = action["runs"]["steps"].as_array().unwrap();
    let run_of = |i: usize| steps[i]["run"].as_str().unwrap_or_default().to_owned();
    assert!(run_of(0).contains("$GITHUB_ACTION_PATH/scripts/install-release.sh"));
    assert!(repo().join("scripts/install-release.sh").exists());
    assert!(run_of(1).contains("kubectl-hooks validate -R \"${files[@]}\" -o sarif"));
    assert_eq!(steps[2]["uses"], "github/codeql-action/upload-sarif@v4");
    assert_eq!(steps[2]["with"]["sarif_file"], "${{ inputs.sarif-file }}");
    assert!(
        run_of(3).contains("exit \"$STATUS\""),
        "findings fail the job after the upload"
    );
}
