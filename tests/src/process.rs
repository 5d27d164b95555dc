//! # Supervised child processes
//!
//! Every process a test starts (the origin, ffmpeg publishers, the Enhanced RTMP
//! publisher) runs under a tiny `bash` supervisor so that it can never outlive the
//! test, even when the test binary itself is killed:
//!
//! ```text
//! test ──stdin pipe──► bash ─┬─ the real program (stdin = /dev/null)
//!                            └─ watchdog: `cat <&3` until EOF, then TERM, ≤ 5 s, KILL
//! ```
//!
//! The supervisor prints the real program's pid on its stdout, so a test can send it
//! a signal (a publisher "crashing" is `SIGKILL` to the real ffmpeg, not to bash).
//! Dropping a [`Supervised`] closes the pipe (the watchdog then sends `SIGTERM`, and
//! `SIGKILL` 5 s later) and reaps the supervisor.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// The supervisor script. `$@` is the real command line.
const SUPERVISOR: &str = r#"
exec 3<&0
"$@" </dev/null >"$SUPERVISED_STDOUT_PATH" &
p=$!
echo "$p"
(
  cat <&3 >/dev/null
  kill -TERM "$p" 2>/dev/null || exit 0
  for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    sleep 0.25
    kill -0 "$p" 2>/dev/null || exit 0
  done
  kill -KILL "$p" 2>/dev/null
) </dev/null >/dev/null 2>&1 &
w=$!
exec 3<&-
wait "$p"
st=$?
# The program is gone: its pid may be reused, so the watchdog must not signal it.
kill "$w" 2>/dev/null
exit "$st"
"#;

/// A program running under the supervisor; see the module docs.
pub struct Supervised {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    pid: u32,
    stderr_path: PathBuf,
    started: Instant,
}

impl Supervised {
    /// Starts `program args…` with `envs` added, its stdout and stderr written to
    /// `stdout_path` / `stderr_path`.
    pub fn spawn(
        name: &str,
        program: &Path,
        args: &[String],
        envs: &[(String, String)],
        stdout_path: &Path,
        stderr_path: &Path,
    ) -> Result<Self> {
        let stderr_file = File::create(stderr_path)
            .with_context(|| format!("create {}", stderr_path.display()))?;
        let mut cmd = Command::new("bash");
        cmd.arg("-c")
            .arg(SUPERVISOR)
            .arg("ferrocast-test-supervisor")
            .arg(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr_file);
        // The real program's stdout goes straight to a file (see SUPERVISOR): the
        // supervisor's own stdout carries only the pid line.
        cmd.env("SUPERVISED_STDOUT_PATH", stdout_path);
        // Configuration reaches the program only through its file and `envs`: a
        // developer's own `FERROCAST_*` overrides must not leak into a test.
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("FERROCAST_") {
                cmd.env_remove(k);
            }
        }
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().with_context(|| format!("spawn {name}"))?;
        let stdin = child.stdin.take();
        let mut out = BufReader::new(child.stdout.take().context("supervisor stdout")?);
        let mut line = String::new();
        out.read_line(&mut line)
            .context("read pid from supervisor")?;
        let pid: u32 = line
            .trim()
            .parse()
            .with_context(|| format!("supervisor printed {line:?} instead of a pid"))?;
        Ok(Self {
            name: name.to_owned(),
            child,
            stdin,
            pid,
            stderr_path: stderr_path.to_owned(),
            started: Instant::now(),
        })
    }

    /// The real program's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The name given at spawn, for messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// When the program was started.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// The program's captured stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Path of the captured stderr.
    pub fn stderr_path(&self) -> &Path {
        &self.stderr_path
    }

    /// Sends `signal` (e.g. `"KILL"`, `"TERM"`) to the real program.
    pub fn signal(&self, signal: &str) -> Result<()> {
        let st = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid.to_string())
            .status()
            .context("run kill")?;
        if !st.success() {
            bail!("kill -{signal} {} ({}) failed", self.pid, self.name);
        }
        Ok(())
    }

    /// The exit status if the program has ended.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        Ok(self.child.try_wait()?)
    }

    /// Waits up to `timeout` for the program to end.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<Option<ExitStatus>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(st) = self.child.try_wait()? {
                return Ok(Some(st));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends `SIGKILL` (a crash, a pulled cable) and reaps the process.
    pub fn kill_hard(&mut self) -> Result<()> {
        if self.child.try_wait()?.is_none() {
            let _ = self.signal("KILL");
        }
        self.wait_timeout(Duration::from_secs(10))?
            .with_context(|| format!("{} did not die after SIGKILL", self.name))?;
        Ok(())
    }

    /// Sends `SIGTERM`, waits up to `grace`, then `SIGKILL`. Returns the status.
    pub fn stop(&mut self, grace: Duration) -> Result<Option<ExitStatus>> {
        if let Some(st) = self.child.try_wait()? {
            return Ok(Some(st));
        }
        let _ = self.signal("TERM");
        if let Some(st) = self.wait_timeout(grace)? {
            return Ok(Some(st));
        }
        let _ = self.signal("KILL");
        self.wait_timeout(Duration::from_secs(5))
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        // EOF on the pipe makes the watchdog TERM (then KILL) the program.
        drop(self.stdin.take());
        if let Ok(Some(_)) = self.wait_timeout(Duration::from_secs(7)) {
            return;
        }
        let _ = self.signal("KILL");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alive(pid: u32) -> bool {
        Path::new(&format!("/proc/{pid}")).exists()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .unwrap_or_default()
                .contains(") Z ")
    }

    #[test]
    fn drop_ends_the_real_program() {
        let dir = tempfile::tempdir().unwrap();
        let p = Supervised::spawn(
            "sleep",
            Path::new("sleep"),
            &["30".into()],
            &[],
            &dir.path().join("o"),
            &dir.path().join("e"),
        )
        .unwrap();
        let pid = p.pid();
        assert!(alive(pid));
        drop(p);
        std::thread::sleep(Duration::from_millis(200));
        assert!(!alive(pid), "pid {pid} survived its supervisor");
    }

    #[test]
    fn kill_hard_reaps_and_reports() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = Supervised::spawn(
            "sh",
            Path::new("sh"),
            &["-c".into(), "echo out; echo err >&2; sleep 30".into()],
            &[],
            &dir.path().join("o"),
            &dir.path().join("e"),
        )
        .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(p.stderr().trim(), "err");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("o"))
                .unwrap()
                .trim(),
            "out"
        );
        p.kill_hard().unwrap();
        assert!(!alive(p.pid()));
    }

    #[test]
    fn exit_status_passes_through() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = Supervised::spawn(
            "sh",
            Path::new("sh"),
            &["-c".into(), "exit 3".into()],
            &[],
            &dir.path().join("o"),
            &dir.path().join("e"),
        )
        .unwrap();
        let st = p.wait_timeout(Duration::from_secs(5)).unwrap().unwrap();
        assert_eq!(st.code(), Some(3));
    }
}
