//! # CPU time of a process tree, from `/proc`
//!
//! `/proc/PID/stat` fields 14–17 (`utime stime cutime cstime`, in clock
//! ticks; proc(5)). A server's cost is the sum over the process and its
//! live descendants (nginx's workers) plus what reaped children left in
//! `cutime`/`cstime`. Ticks are converted with `CLK_TCK` from `getconf`.

use std::fs;

/// Reads `(ppid, utime + stime, cutime + cstime)` of `pid`, in ticks.
fn stat(pid: u32) -> Option<(u32, u64, u64)> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces.
    let rest = &text[text.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): field n is f[n - 3].
    let num = |n: usize| f.get(n - 3).and_then(|s| s.parse::<u64>().ok());
    Some((num(4)? as u32, num(14)? + num(15)?, num(16)? + num(17)?))
}

/// Clock ticks per second (`getconf CLK_TCK`, 100 when unknown).
pub fn clock_ticks() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

/// Every live descendant of `root`, `root` included.
pub fn process_tree(root: u32) -> Vec<u32> {
    let mut all = Vec::new();
    if let Ok(dir) = fs::read_dir("/proc") {
        for e in dir.flatten() {
            if let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) {
                if let Some((ppid, _, _)) = stat(pid) {
                    all.push((pid, ppid));
                }
            }
        }
    }
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(all.iter().filter(|(_, pp)| *pp == parent).map(|(p, _)| *p));
        i += 1;
    }
    tree
}

/// CPU seconds used so far by `root` and its descendants; `None` if `root`
/// is gone.
pub fn tree_cpu_seconds(root: u32, ticks_per_s: u64) -> Option<f64> {
    let (_, own, reaped) = stat(root)?;
    let children: u64 = process_tree(root)
        .into_iter()
        .skip(1)
        .filter_map(stat)
        .map(|(_, t, r)| t + r)
        .sum();
    Some((own + reaped + children) as f64 / ticks_per_s as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_has_a_tree_and_cpu_time() {
        let me = std::process::id();
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert!(x != 1);
        assert!(process_tree(me).contains(&me));
        let t = tree_cpu_seconds(me, clock_ticks()).unwrap();
        assert!(t >= 0.0);
        assert!(tree_cpu_seconds(u32::MAX, 100).is_none());
    }
}
