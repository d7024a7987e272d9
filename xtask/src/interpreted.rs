//! Claim providers written in Python (`plugin.py`, componentize-py) and
//! JavaScript (`plugin.js`, componentize-js): their toolchains are installed
//! on first use (a venv under `target/plugin-sdk/`, `npm ci` in
//! `plugin-sdk/js`), and a component is rebuilt only when its inputs changed.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use crate::run;

/// The language of a plugin folder, from its entry file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Language {
    Python,
    JavaScript,
}

impl Language {
    fn of(folder: &Path) -> Option<Self> {
        if folder.join("plugin.py").is_file() {
            Some(Self::Python)
        } else if folder.join("plugin.js").is_file() {
            Some(Self::JavaScript)
        } else {
            None
        }
    }

    /// The SDK folder whose files are inputs of every build.
    fn sdk(self, root: &Path) -> PathBuf {
        match self {
            Self::Python => root.join("plugin-sdk/python"),
            Self::JavaScript => root.join("plugin-sdk/js"),
        }
    }
}

/// One plugin folder to build.
struct Job {
    language: Language,
    folder: PathBuf,
    dest: PathBuf,
    id: String,
}

/// Build every Python and JavaScript plugin folder of `root/dir` into
/// `<out>/<folder>/` (the manifest and `<folder>.wasm`); returns how many
/// there are. Python and JavaScript builds run side by side.
pub fn build(root: &Path, dir: &str, out: &Path) -> Result<usize> {
    let mut jobs = Vec::new();
    for entry in std::fs::read_dir(root.join(dir))? {
        let folder = entry?.path();
        if !folder.join("plugin.toml").is_file() {
            continue;
        }
        let Some(language) = Language::of(&folder) else {
            continue;
        };
        let id = folder
            .file_name()
            .and_then(|n| n.to_str())
            .context("plugin folder name")?
            .to_owned();
        jobs.push(Job {
            language,
            dest: out.join(&id),
            folder,
            id,
        });
    }
    let (python, js): (Vec<Job>, Vec<Job>) = jobs
        .into_iter()
        .partition(|j| j.language == Language::Python);
    let count = python.len() + js.len();
    std::thread::scope(|s| -> Result<()> {
        let py = s.spawn(|| build_all(root, &python));
        let js = build_all(root, &js);
        py.join()
            .map_err(|_| anyhow::anyhow!("the Python build panicked"))??;
        js
    })?;
    Ok(count)
}

fn build_all(root: &Path, jobs: &[Job]) -> Result<()> {
    let Some(first) = jobs.first() else {
        return Ok(());
    };
    let tool = match first.language {
        Language::Python => python_toolchain(root)?,
        Language::JavaScript => js_toolchain(root)?,
    };
    for job in jobs {
        build_one(root, job, &tool)?;
    }
    Ok(())
}

/// The interpreter that runs the build: the venv's python, or node.
fn python_toolchain(root: &Path) -> Result<PathBuf> {
    let venv = root.join("target/plugin-sdk/python-venv");
    let python = venv.join("bin/python");
    let requirements = root.join("plugin-sdk/python/requirements.txt");
    let marker = venv.join(".requirements.sha256");
    let wanted = hex(&Sha256::digest(std::fs::read(&requirements)?));
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str()) && python.is_file()
    {
        return Ok(python);
    }
    if !python.is_file() {
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv)).context(
            "creating the Python venv for componentize-py (needs python3 >= 3.10 with venv)",
        )?;
    }
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(&requirements))?;
    std::fs::write(&marker, wanted)?;
    Ok(python)
}

fn js_toolchain(root: &Path) -> Result<PathBuf> {
    crate::npm_ci(&root.join("plugin-sdk/js"))
        .context("installing componentize-js (npm ci in plugin-sdk/js; needs Node.js >= 20)")?;
    Ok(PathBuf::from("node"))
}

fn build_one(root: &Path, job: &Job, tool: &Path) -> Result<()> {
    let wasm = job.dest.join(format!("{}.wasm", job.id.replace('-', "_")));
    let stamp = job.dest.join(".inputs.sha256");
    let inputs = inputs_digest(&[&job.folder, &job.language.sdk(root)])?;
    if wasm.is_file() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(inputs.as_str()) {
        eprintln!("xtask: {} is up to date", job.id);
        return Ok(());
    }
    if job.dest.exists() {
        std::fs::remove_dir_all(&job.dest)?;
    }
    std::fs::create_dir_all(&job.dest)?;
    let started = std::time::Instant::now();
    let mut cmd = Command::new(tool);
    match job.language {
        Language::Python => cmd
            .arg(root.join("plugin-sdk/python/sigil_plugin_build.py"))
            .args(["plugin", "--path"])
            .arg(&job.folder),
        Language::JavaScript => cmd
            .arg(root.join("plugin-sdk/js/bin/build.mjs"))
            .arg(job.folder.join("plugin.js")),
    };
    run(cmd.arg("--out").arg(&wasm))
        .with_context(|| format!("building {} ({:?})", job.id, job.language))?;
    if !wasm.is_file() {
        bail!("building {} wrote no {}", job.id, wasm.display());
    }
    std::fs::copy(job.folder.join("plugin.toml"), job.dest.join("plugin.toml"))?;
    std::fs::write(&stamp, inputs)?;
    eprintln!(
        "xtask: built {} in {:.0} s",
        job.id,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// sha256 over every file under `dirs` (path and bytes, in path order),
/// skipping `node_modules`, `__pycache__` and dot files.
fn inputs_digest(dirs: &[&Path]) -> Result<String> {
    let mut files = Vec::new();
    for dir in dirs {
        collect(dir, &mut files)?;
    }
    files.sort();
    let mut hash = Sha256::new();
    for file in files {
        hash.update(file.to_string_lossy().as_bytes());
        hash.update([0]);
        hash.update(std::fs::read(&file)?);
    }
    Ok(hex(&hash.finalize()))
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') || name == "node_modules" || name == "__pycache__" {
            continue;
        }
        if path.is_dir() {
            collect(&path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
