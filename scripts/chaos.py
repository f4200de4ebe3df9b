"""Chaos test for `sweep run`: SIGKILL the orchestrator and its workers at
random moments, re-run after every kill, and prove nothing is lost, nothing
finished is trained again, nothing half-written looks done, and the final
report equals an uninterrupted sweep's (CPU training is deterministic).

Run through scripts/chaos, which builds sweep first. Standard library only.
"""

import argparse
import csv
import hashlib
import io
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXPERIMENT = """\
name: chaos
grid:
  dataset: [synthetic:breastmnist, synthetic:dermamnist]
  arch: small_cnn
  lr: [1e-3, 3e-3]
  folds: {{k: {folds}, stratified: true, split_seed: 0}}
train:
  epochs: {epochs}
  batch_size: 32
  subset: 512
  checkpoint: val_auc
"""

# Everything a report shows except timings, which differ between sweeps.
METRICS = "train_loss,val_loss,test_loss,test_accuracy,test_auc,test_sensitivity,test_specificity,val_auc"


def sweep(binary, args, **kw):
    return subprocess.Popen(
        [binary, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        **kw,
    )


def worker_pids(results):
    """Workers of this results folder (they run in their own process group,
    so they outlive a killed orchestrator, as they do in real life)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if len(cmd) > 1 and cmd[0].endswith(b"sweep-worker") and str(results).encode() in cmd[1]:
            pids.append(int(proc.name))
    return pids


def wait_for_workers(results, timeout=120):
    deadline = time.time() + timeout
    while worker_pids(results) and time.time() < deadline:
        time.sleep(0.2)


def run_dirs(results):
    return sorted(
        d for d in results.iterdir() if d.is_dir() and not d.name.startswith(".")
    )


def verify(run_dir):
    """A run that says it is done must have every listed file intact."""
    marker = run_dir / "complete.json"
    if not marker.exists():
        return None
    record = json.loads(marker.read_text())
    for f in record["files"]:
        path = run_dir / f["name"]
        if not path.exists() or path.stat().st_size != f["bytes"]:
            return False
        if hashlib.sha256(path.read_bytes()).hexdigest() != f["sha256"]:
            return False
    return True


def attempts(run_dir):
    """(attempts, resumed attempts, completions, trained after completing)."""
    log = run_dir / "worker.log"
    if not log.exists():
        return 0, 0, 0, 0
    started = resumed = completed = after = 0
    for line in log.read_text(errors="replace").splitlines():
        if "sweep worker: training from epoch" in line:
            started += 1
            resumed += "(resumed)" in line
            after += completed > 0
        elif line.strip() == "sweep worker: completed":
            completed += 1
    return started, resumed, completed, after


def report(binary, exp, results):
    out = subprocess.run(
        [binary, "report", str(exp), "--results", str(results), "--format", "csv",
         "--metrics", METRICS, "--decimals", "6"],
        capture_output=True, text=True, check=True,
    ).stdout
    return list(csv.reader(io.StringIO(out)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", required=True)
    ap.add_argument("--kills", type=int, default=20, help="orchestrator SIGKILLs (default 20)")
    ap.add_argument("--worker-kills", type=int, default=10, help="rounds that also SIGKILL a worker (default 10)")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--folds", type=int, default=3, help="runs = 4 x folds (default 3: 12 runs)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", help="folder to keep the results in (default: a temporary one)")
    a = ap.parse_args()
    rng = random.Random(a.seed)

    work = Path(a.keep or tempfile.mkdtemp(prefix="sweep-chaos-"))
    work.mkdir(parents=True, exist_ok=True)
    exp = work / "chaos.yaml"
    exp.write_text(EXPERIMENT.format(epochs=a.epochs, folds=a.folds))
    ref, chaos = work / "reference", work / "chaos"
    # Same thread budget in both sweeps, so CPU results are bit-identical.
    common = ["--devices", "cpu", "--jobs", "2", "--max-retries", "3"]

    print(f"chaos: {4 * a.folds} runs, {a.epochs} epochs each; work folder {work}")
    t0 = time.time()
    done = subprocess.run([a.binary, "run", str(exp), "--results", str(ref), *common],
                          capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"reference sweep failed:\n{done.stderr}")
    print(f"reference sweep: {time.time() - t0:.1f} s uninterrupted")

    kills = worker_kills = reruns = 0
    # Each round starts `sweep run`, kills one of its workers in about half
    # of the rounds (the orchestrator retries it), then SIGKILLs the
    # orchestrator itself at a random moment.
    rounds = max(a.kills, 1)
    worker_rounds = set(rng.sample(range(rounds), min(a.worker_kills, rounds)))
    for round_ in range(rounds):
        proc = sweep(a.binary, ["run", str(exp), "--results", str(chaos), *common, "--retry-failed"])
        reruns += 1
        life = rng.uniform(0.5, 3.0)
        started = time.time()
        if round_ in worker_rounds:
            strike = started + rng.uniform(0.3, life)
            while time.time() < strike and proc.poll() is None:
                time.sleep(0.05)
            pids = worker_pids(chaos)
            if pids and proc.poll() is None:
                try:
                    os.kill(rng.choice(pids), signal.SIGKILL)
                    worker_kills += 1
                except ProcessLookupError:
                    pass
        while time.time() < started + life and proc.poll() is None:
            time.sleep(0.05)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        if proc.returncode == 0:
            print("chaos: the sweep finished before every planned kill; raise --epochs")
            break

    # Let orphaned workers finish, then one clean run completes the sweep.
    wait_for_workers(chaos)
    final = subprocess.run([a.binary, "run", str(exp), "--results", str(chaos), *common, "--retry-failed"],
                           capture_output=True, text=True)
    reruns += 1

    dirs = run_dirs(chaos)
    totals = [attempts(d) for d in dirs]
    verdicts = [verify(d) for d in dirs]
    corrupt = sum(v is False for v in verdicts)
    done_runs = sum(v is True for v in verdicts)
    same_report = report(a.binary, exp, ref) == report(a.binary, exp, chaos)
    started = sum(t[0] for t in totals)
    resumed = sum(t[1] for t in totals)
    completed_twice = sum(t[2] > 1 for t in totals)
    trained_after_done = sum(t[3] for t in totals)

    print()
    print(f"orchestrator SIGKILLs      {kills}")
    print(f"worker SIGKILLs            {worker_kills}")
    print(f"sweep invocations          {reruns}")
    print(f"runs done                  {done_runs} of {len(dirs)} (final run exit {final.returncode})")
    print(f"training attempts          {started} ({started - len(dirs)} beyond one per run)")
    print(f"  resumed from a checkpoint {resumed}")
    print(f"runs retrained after done  {trained_after_done + completed_twice}")
    print(f"corrupt results found      {corrupt}")
    print(f"report equals uninterrupted sweep's: {'yes' if same_report else 'NO'}")

    ok = (final.returncode == 0 and done_runs == len(dirs) == 4 * a.folds
          and corrupt == 0 and completed_twice == 0 and trained_after_done == 0 and same_report
          and kills >= a.kills)
    if not ok:
        print("chaos: FAILED", file=sys.stderr)
        if final.returncode != 0:
            print(final.stderr, file=sys.stderr)
        sys.exit(1)
    print("chaos: passed")


if __name__ == "__main__":
    main()
