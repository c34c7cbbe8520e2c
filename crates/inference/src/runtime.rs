//! Loading the ONNX Runtime shared library (ort `load-dynamic`) and choosing the execution
//! provider. The library comes from the PyPI wheel `onnxruntime` (unpacked by `make setup` into
//! `.tools/onnxruntime/lib`); `ORT_DYLIB_PATH` overrides the search.

use crate::error::{InferenceError, Result};
use ort::{environment::Environment, ep};
use std::{
    path::{Path, PathBuf},
    sync::OnceLock,
};

/// Where the library sits relative to the repository root.
pub const BUNDLED_LIBRARY: &str = ".tools/onnxruntime/lib/libonnxruntime.so";

/// Which execution provider to run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    /// CPU only.
    #[default]
    Cpu,
    /// CUDA, or an error saying why not.
    Cuda,
    /// CUDA when it loads, else CPU.
    Auto,
}

impl std::str::FromStr for Device {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda),
            "auto" => Ok(Self::Auto),
            other => Err(format!(
                "unknown device `{other}` (expected cpu, cuda or auto)"
            )),
        }
    }
}

/// The provider a session actually runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Cpu,
    Cuda,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Cuda => "cuda",
        }
    }
}

/// Where files that `make setup` installs (the runtime library, models) are looked for, nearest
/// first: the working directory and its parents, the executable's directory and its parents, and
/// the crate's own checkout (for tests and binaries run from anywhere inside it).
pub fn search_roots() -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        roots.extend(cwd.ancestors().map(Path::to_path_buf));
    }
    if let Ok(exe) = std::env::current_exe() {
        roots.extend(exe.ancestors().skip(1).map(Path::to_path_buf));
    }
    roots.extend(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .map(Path::to_path_buf),
    );
    roots
}

/// The candidates for the library file, most specific first.
pub fn library_candidates() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH") {
        out.push(PathBuf::from(p));
        return out;
    }
    for root in search_roots() {
        let candidate = root.join(BUNDLED_LIBRARY);
        if !out.contains(&candidate) {
            out.push(candidate);
        }
    }
    out
}

/// The process-wide ONNX Runtime environment, loaded once.
pub fn environment() -> Result<&'static Environment> {
    static ENV: OnceLock<std::result::Result<(Environment, PathBuf), String>> = OnceLock::new();
    let loaded = ENV.get_or_init(|| {
        let candidates = library_candidates();
        let path = candidates.iter().find(|p| p.is_file()).cloned().ok_or_else(|| {
            format!(
                "libonnxruntime.so not found (looked at {}); run `make setup` or set ORT_DYLIB_PATH",
                candidates.iter().take(3).map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
            )
        })?;
        let builder = ort::init_from(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let env = builder.with_name("pairwise").build().map_err(|e| e.to_string())?;
        tracing::debug!(library = %path.display(), "ONNX Runtime loaded");
        Ok((env, path))
    });
    match loaded {
        Ok((env, _)) => Ok(env),
        Err(message) => Err(InferenceError::Runtime(message.clone())),
    }
}

/// The library file in use, once loaded.
pub fn library_path() -> Option<PathBuf> {
    environment().ok()?;
    library_candidates().into_iter().find(|p| p.is_file())
}

/// What the loaded runtime offers, for `/health` and the CLI.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RuntimeReport {
    /// `ok`, or why the library could not be loaded.
    pub status: String,
    /// The library file in use.
    pub library: Option<String>,
    /// Execution providers this build of ONNX Runtime was compiled with and can use here.
    pub providers: Vec<&'static str>,
}

/// Loads the runtime if needed and reports it; never fails.
pub fn report() -> RuntimeReport {
    use ort::ep::ExecutionProvider;
    match environment() {
        Ok(_) => {
            let mut providers = vec!["cpu"];
            if ep::CUDA::is_available().unwrap_or(false) {
                providers.push("cuda");
            }
            RuntimeReport {
                status: "ok".into(),
                library: library_path().map(|p| p.display().to_string()),
                providers,
            }
        }
        Err(e) => RuntimeReport {
            status: e.to_string(),
            library: None,
            providers: Vec::new(),
        },
    }
}
