//! Runs untrusted Python in a sandbox: a `python3` subprocess in a fresh temporary directory,
//! confined by layers that each stop a different escape.
//!
//! - **Filesystem** (Landlock, Linux 6.7+): the process may read and execute only the Python
//!   installation and the system libraries, and read, write and create files only beneath its
//!   own directory; everything else — `/tmp`, the home directory, the project — is refused.
//! - **Network**: a new network namespace (only a loopback that is down) and Landlock's TCP
//!   rules (no connect, no bind) on top.
//! - **Resources** (`setrlimit`): CPU seconds, address space, processes, file size, open files,
//!   no core dumps; and a wall-clock timeout after which the whole process group is killed.
//! - **Identity**: run as root (CI, containers), the child drops to a fresh unprivileged uid of
//!   its own, so the process limit counts only its own processes and, afterwards, a reaper
//!   running as that uid kills anything it left (a fork bomb that escaped its process group
//!   included). Run unprivileged, it enters a new user namespace instead (the process limit
//!   then counts all of the user's processes, so it is stricter).
//!
//! Python runs with `-I -B -X utf8` (isolated: no environment variables, no user site, no
//! bytecode written) and an empty environment. A sandbox that cannot set up every layer refuses
//! to run (the error says which layer and why) rather than running code unconfined.

// The confinement is system calls made between fork and exec (`pre_exec`), which Rust marks
// unsafe; this module is the one place of the workspace that needs them.
#![allow(unsafe_code)]

use landlock::{
    Access, AccessFs, AccessNet, CompatLevel, Compatible, PathBeneath, PathFd, Ruleset,
    RulesetAttr, RulesetCreated, RulesetCreatedAttr, RulesetStatus, ABI,
};
use std::{
    os::unix::process::ExitStatusExt,
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Limits of one execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// CPU seconds (SIGXCPU at the limit, SIGKILL a second later).
    pub cpu_seconds: u64,
    /// Wall-clock time before the process group is killed.
    pub wall: Duration,
    /// Address space in bytes.
    pub memory_bytes: u64,
    /// Processes (and threads) of the sandbox's user.
    pub processes: u64,
    /// Largest file it may write, in bytes.
    pub file_bytes: u64,
    /// Standard output and error kept, in bytes each (the rest is read and dropped).
    pub output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            cpu_seconds: 5,
            wall: Duration::from_secs(10),
            memory_bytes: 1 << 30,
            processes: 16,
            file_bytes: 16 << 20,
            output_bytes: 64 << 10,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("no usable python3 for the sandbox: {0}")]
    Python(String),
    #[error("the sandbox cannot confine code here ({layer}): {why}")]
    Unavailable { layer: &'static str, why: String },
    #[error("sandbox I/O failed: {0}")]
    Io(#[from] std::io::Error),
}

/// How an execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Exited(i32),
    /// Killed by a signal (SIGXCPU: the CPU limit).
    Signaled(i32),
    /// The wall-clock limit passed.
    TimedOut,
}

#[derive(Debug, Clone)]
pub struct Execution {
    pub ending: Ending,
    pub stdout: String,
    pub stderr: String,
    pub wall: Duration,
}

impl Execution {
    /// Whether a time limit (wall clock or CPU) ended it.
    pub fn timed_out(&self) -> bool {
        matches!(
            self.ending,
            Ending::TimedOut | Ending::Signaled(libc::SIGXCPU)
        ) || (matches!(self.ending, Ending::Signaled(libc::SIGKILL))
            && self.wall >= Duration::from_millis(900))
    }
}

/// A Python interpreter and the paths it needs to start.
#[derive(Debug, Clone)]
pub struct Sandbox {
    python: PathBuf,
    readable: Vec<PathBuf>,
    pub limits: Limits,
}

const SYSTEM_PATHS: [&str; 9] = [
    "/lib",
    "/lib64",
    "/usr/lib",
    "/usr/lib64",
    "/usr/local/lib",
    "/etc/ld.so.cache",
    "/etc/localtime",
    "/usr/share/zoneinfo",
    "/dev/urandom",
];

/// First uid of the range the sandbox draws fresh uids from (unused by any account).
const UID_BASE: u32 = 1_800_000_000;

impl Sandbox {
    /// Finds `python3` (or `$PAIRWISE_SANDBOX_PYTHON`) and the directories it reads from. Run
    /// as root, the sandbox drops to a fresh uid, so an interpreter only root can reach (under
    /// `/root`, as pyenv installs it) gives way to the system's (`/usr/bin/python3`).
    pub async fn detect() -> Result<Self, SandboxError> {
        let mut tried = Vec::new();
        let mut choices: Vec<String> = std::env::var("PAIRWISE_SANDBOX_PYTHON")
            .into_iter()
            .collect();
        choices.extend(["python3", "/usr/bin/python3", "/usr/local/bin/python3"].map(String::from));
        let root = nix_root();
        for python in choices {
            match Self::probe(&python).await {
                Ok(sandbox) if !root || reachable_by_others(&sandbox.python) => return Ok(sandbox),
                Ok(sandbox) => tried.push(format!(
                    "{} is not reachable by an unprivileged user",
                    sandbox.python.display()
                )),
                Err(e) => tried.push(e.to_string()),
            }
        }
        Err(SandboxError::Python(tried.join("; ")))
    }

    async fn probe(python: &str) -> Result<Self, SandboxError> {
        let out = tokio::process::Command::new(python)
            .args([
                "-I",
                "-c",
                "import sys, json; print(json.dumps([sys.executable, sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]))",
            ])
            .output()
            .await
            .map_err(|e| SandboxError::Python(format!("cannot run `{python}`: {e}")))?;
        if !out.status.success() {
            return Err(SandboxError::Python(format!(
                "`{python}` failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        let paths: Vec<String> = serde_json::from_slice(&out.stdout)
            .map_err(|e| SandboxError::Python(format!("unexpected answer from `{python}`: {e}")))?;
        let executable = PathBuf::from(paths.first().cloned().unwrap_or_default());
        let mut readable: Vec<PathBuf> = paths.iter().skip(1).map(PathBuf::from).collect();
        readable.extend(executable.parent().map(Path::to_path_buf));
        readable.extend(SYSTEM_PATHS.iter().map(PathBuf::from));
        readable.retain(|p| p.exists());
        readable.sort();
        readable.dedup();
        Ok(Self {
            python: executable,
            readable,
            limits: Limits::default(),
        })
    }

    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Writes `files` into a fresh directory and runs `python3 <args>` there.
    pub async fn run(
        &self,
        files: &[(&str, &str)],
        args: &[&str],
    ) -> Result<Execution, SandboxError> {
        let dir = tempfile::Builder::new()
            .prefix("pairwise-sandbox-")
            .tempdir()?;
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text)?;
        }
        let root = nix_root();
        let uid = root.then(fresh_uid);
        if let Some(uid) = uid {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(uid))?;
            for (name, _) in files {
                std::os::unix::fs::chown(dir.path().join(name), Some(uid), Some(uid))?;
            }
        }
        let ruleset = self.ruleset(dir.path())?;
        let identity = match uid {
            Some(uid) => Identity::Fresh(uid),
            None => {
                let (u, g) = unsafe { (libc::getuid(), libc::getgid()) };
                Identity::Namespace {
                    uid_map: format!("{u} {u} 1\n").into_bytes(),
                    gid_map: format!("{g} {g} 1\n").into_bytes(),
                }
            }
        };
        let limits = self.limits;
        let mut cmd = tokio::process::Command::new(&self.python);
        cmd.args(["-I", "-B", "-X", "utf8"])
            .args(args)
            .current_dir(dir.path())
            .env_clear()
            .env("LANG", "C.UTF-8")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut ruleset = Some(ruleset);
        // SAFETY: the closure runs in the forked child before exec; it makes system calls only
        // (the Landlock ruleset and the map texts were prepared before the fork).
        unsafe {
            cmd.pre_exec(move || {
                confine(&identity, &limits)?;
                let status = ruleset
                    .take()
                    .ok_or_else(|| std::io::Error::other("ruleset already used"))?
                    .restrict_self()
                    .map_err(std::io::Error::other)?;
                if status.ruleset != RulesetStatus::FullyEnforced {
                    return Err(std::io::Error::other(
                        "Landlock is not fully enforced (Linux 6.7 or newer is needed)",
                    ));
                }
                Ok(())
            });
        }
        let started = Instant::now();
        let mut child = cmd.spawn().map_err(|e| SandboxError::Unavailable {
            layer: "setup",
            why: e.to_string(),
        })?;
        let pgid = child.id().map(|p| p as i32);
        let keep = limits.output_bytes;
        let stdout = tokio::spawn(read_capped(child.stdout.take(), keep));
        let stderr = tokio::spawn(read_capped(child.stderr.take(), keep));
        let ending = match tokio::time::timeout(limits.wall, child.wait()).await {
            Ok(status) => {
                let status = status?;
                match (status.code(), status.signal()) {
                    (Some(code), _) => Ending::Exited(code),
                    (None, Some(sig)) => Ending::Signaled(sig),
                    (None, None) => Ending::Exited(-1),
                }
            }
            Err(_) => Ending::TimedOut,
        };
        let wall = started.elapsed();
        // Whatever is left of the run dies now: its process group, and (as root) every process
        // of its uid, wherever it went.
        if let Some(pgid) = pgid {
            unsafe { libc::killpg(pgid, libc::SIGKILL) };
        }
        if let Some(uid) = uid {
            reap(uid).await;
        }
        let _ = child.wait().await;
        let stdout = stdout.await.unwrap_or_default();
        let stderr = stderr.await.unwrap_or_default();
        Ok(Execution {
            ending,
            stdout,
            stderr,
            wall,
        })
    }

    fn ruleset(&self, dir: &Path) -> Result<RulesetCreated, SandboxError> {
        let fail = |why: String| SandboxError::Unavailable {
            layer: "landlock",
            why,
        };
        let abi = ABI::V4;
        let mut ruleset = Ruleset::default()
            .set_compatibility(CompatLevel::BestEffort)
            .handle_access(AccessFs::from_all(abi))
            .and_then(|r| r.handle_access(AccessNet::from_all(abi)))
            .and_then(|r| r.create())
            .map_err(|e| fail(e.to_string()))?;
        for path in &self.readable {
            let fd = PathFd::new(path).map_err(|e| fail(format!("{}: {e}", path.display())))?;
            let access = if path.is_dir() {
                AccessFs::from_read(abi)
            } else {
                AccessFs::from_file(abi) & AccessFs::from_read(abi)
            };
            ruleset = ruleset
                .add_rule(PathBeneath::new(fd, access))
                .map_err(|e| fail(e.to_string()))?;
        }
        let fd = PathFd::new(dir).map_err(|e| fail(e.to_string()))?;
        ruleset
            .add_rule(PathBeneath::new(fd, AccessFs::from_all(abi)))
            .map_err(|e| fail(e.to_string()))
    }
}

enum Identity {
    /// Root: drop to this fresh uid (and gid).
    Fresh(u32),
    /// Unprivileged: a user namespace mapping the user to itself.
    Namespace { uid_map: Vec<u8>, gid_map: Vec<u8> },
}

fn nix_root() -> bool {
    // SAFETY: geteuid cannot fail and touches no memory.
    unsafe { libc::geteuid() == 0 }
}

/// Whether every directory above `path` and the file itself let others in (`o+x`).
fn reachable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let Ok(real) = std::fs::canonicalize(path) else {
        return false;
    };
    real.ancestors()
        .all(|p| std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o001 != 0))
}

fn fresh_uid() -> u32 {
    UID_BASE + rand::random::<u32>() % 100_000_000
}

fn check(ret: libc::c_int) -> std::io::Result<()> {
    if ret < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn write_proc(path: &std::ffi::CStr, data: &[u8]) -> std::io::Result<()> {
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY);
        check(fd)?;
        let n = libc::write(fd, data.as_ptr().cast(), data.len());
        libc::close(fd);
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Namespaces, identity and limits; runs in the child between fork and exec.
fn confine(identity: &Identity, limits: &Limits) -> std::io::Result<()> {
    unsafe {
        check(libc::setsid())?;
        check(libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL))?;
        match identity {
            Identity::Fresh(uid) => {
                check(libc::unshare(libc::CLONE_NEWNET))?;
                check(libc::setgroups(0, std::ptr::null()))?;
                check(libc::setgid(*uid))?;
                check(libc::setuid(*uid))?;
            }
            Identity::Namespace { uid_map, gid_map } => {
                check(libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET))?;
                write_proc(c"/proc/self/setgroups", b"deny")?;
                write_proc(c"/proc/self/uid_map", uid_map)?;
                write_proc(c"/proc/self/gid_map", gid_map)?;
            }
        }
        let set = |resource, soft: u64, hard: u64| {
            let limit = libc::rlimit {
                rlim_cur: soft,
                rlim_max: hard,
            };
            check(libc::setrlimit(resource, &limit))
        };
        set(libc::RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds + 1)?;
        set(libc::RLIMIT_AS, limits.memory_bytes, limits.memory_bytes)?;
        set(libc::RLIMIT_NPROC, limits.processes, limits.processes)?;
        set(libc::RLIMIT_FSIZE, limits.file_bytes, limits.file_bytes)?;
        set(libc::RLIMIT_NOFILE, 64, 64)?;
        set(libc::RLIMIT_CORE, 0, 0)?;
    }
    Ok(())
}

/// Kills every process of `uid`: a helper that becomes `uid` signals all it may signal.
async fn reap(uid: u32) {
    let mut cmd = tokio::process::Command::new("/bin/true");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: system calls only, in the child before exec.
    unsafe {
        cmd.pre_exec(move || {
            check(libc::setgroups(0, std::ptr::null()))?;
            check(libc::setgid(uid))?;
            check(libc::setuid(uid))?;
            // kill(-1) reaches every process this uid may signal, except the caller.
            libc::kill(-1, libc::SIGKILL);
            Ok(())
        });
    }
    if let Ok(mut child) = cmd.spawn() {
        let _ = child.wait().await;
    }
}

/// Reads a pipe to its end, keeping the first `keep` bytes.
async fn read_capped(pipe: Option<impl AsyncRead + Unpin>, keep: usize) -> String {
    let Some(mut pipe) = pipe else {
        return String::new();
    };
    let mut kept = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = keep.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
    String::from_utf8_lossy(&kept).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn sandbox() -> Sandbox {
        Sandbox::detect()
            .await
            .expect("python3")
            .with_limits(Limits {
                cpu_seconds: 2,
                wall: Duration::from_secs(4),
                ..Limits::default()
            })
    }

    async fn run(code: &str) -> Execution {
        sandbox()
            .await
            .run(&[("main.py", code)], &["main.py"])
            .await
            .expect("sandbox runs")
    }

    #[tokio::test]
    async fn runs_python_and_captures_output() {
        let e = run("import math\nprint(math.factorial(5))\nopen('out.txt','w').write('ok')\nprint(open('out.txt').read())").await;
        assert_eq!(e.ending, Ending::Exited(0), "{}", e.stderr);
        assert_eq!(e.stdout, "120\nok\n");
    }

    #[tokio::test]
    async fn an_endless_loop_is_stopped_at_the_time_limit() {
        let e = run("while True: pass").await;
        assert!(e.timed_out(), "{:?}", e.ending);
        assert!(e.wall < Duration::from_secs(5), "{:?}", e.wall);
    }

    #[tokio::test]
    async fn network_connections_fail() {
        let e = run(
            "import socket\ntry:\n    socket.create_connection(('127.0.0.1', 5432), timeout=2)\n    print('connected')\nexcept OSError as err:\n    print('refused', type(err).__name__)",
        )
        .await;
        assert_eq!(e.ending, Ending::Exited(0), "{}", e.stderr);
        assert!(e.stdout.starts_with("refused"), "{}", e.stdout);
    }

    #[tokio::test]
    async fn nothing_outside_its_directory_is_written_or_read() {
        let target = std::env::temp_dir().join(format!("pairwise-escape-{}", std::process::id()));
        let code = format!(
            "import os\nfor path in [{t:?}, '/tmp/escape.txt', os.path.expanduser('~/escape.txt')]:\n    try:\n        open(path, 'w').write('x')\n        print('wrote', path)\n    except OSError as err:\n        print('denied', type(err).__name__)\ntry:\n    open('/etc/passwd').read()\n    print('read passwd')\nexcept OSError:\n    print('denied read')\n",
            t = target.display().to_string()
        );
        let e = run(&code).await;
        assert_eq!(e.ending, Ending::Exited(0), "{}", e.stderr);
        assert!(!e.stdout.contains("wrote"), "{}", e.stdout);
        assert!(e.stdout.contains("denied read"), "{}", e.stdout);
        assert!(!target.exists());
    }

    #[tokio::test]
    async fn a_fork_bomb_is_contained() {
        let started = Instant::now();
        let e = run("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass").await;
        assert!(
            e.timed_out() || matches!(e.ending, Ending::Signaled(_)),
            "{:?}",
            e.ending
        );
        assert!(started.elapsed() < Duration::from_secs(8));
        // The machine still forks: a fresh run works.
        let after = run("print('alive')").await;
        assert_eq!(after.stdout, "alive\n");
    }

    #[tokio::test]
    async fn memory_is_capped() {
        let e = run("x = bytearray(2 << 30)\nprint('allocated')").await;
        assert!(
            e.stderr.contains("MemoryError"),
            "{:?} {}",
            e.ending,
            e.stderr
        );
    }
}
