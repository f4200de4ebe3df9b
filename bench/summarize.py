"""scripts/bench's bookkeeping, kept out of bash: turn a finished sweep run
into the references' JSON line, and print the comparison table.

    python bench/summarize.py sweep-result RESULTS_DIR ARCH DATASET
    python bench/summarize.py sweep-comparison RESULTS_DIR PYTHON.json DATASET T0 T1 T2 CORES
    python bench/summarize.py packing-result RESULTS_DIR ARCH PX K RUNS DEVICE T0 T1 GPU.csv
    python bench/summarize.py threads-lone SWEEP.json REFERENCE.json
    python bench/summarize.py threads-count AUTO_DIR FIXED_DIR RUNS JOBS CORES T0 T1 T2
    python bench/summarize.py table RESULTS.jsonl --markdown OUT.md [--sweeps S.jsonl]
        [--packing P.jsonl] [--threads T.txt] [--overheads O.txt] [--command TEXT] [--note TEXT]...
"""

import argparse
import csv
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import steady  # noqa: E402

IMPLS = ("sweep", "dataloader", "preloaded")
# Targets for sweep's time per epoch relative to each reference.
TARGETS = {"dataloader": 0.8, "preloaded": 1.0}
# Target for a whole sweep's wall time relative to the plain Python loop.
SWEEP_TARGET = 0.9
# Packing: the suggested runs per device is the smallest count whose
# throughput is within this fraction of the best count's.
PACKING_TOLERANCE = 0.05


def sweep_result(results, arch, dataset):
    """The JSON line for the single run in a fresh results folder: time per
    epoch from history.csv (`seconds` = train + validation, like the
    references' epoch time), last-epoch val numbers, and the worker's threads
    and peak RSS from metrics.json."""
    runs = sorted(Path(results).glob("*/metrics.json"))
    if len(runs) != 1:
        sys.exit(f"expected one finished run in {results}, found {len(runs)}")
    metrics = json.loads(runs[0].read_text())
    with open(runs[0].parent / "history.csv", newline="") as f:
        history = list(csv.DictReader(f))
    seconds = [float(r["seconds"]) for r in history]
    last = history[-1]
    number = lambda v: float(v) if v not in ("", None) else None  # noqa: E731
    n_train, n_val, _ = metrics["samples"]
    epoch_s = steady(seconds)
    line = {
        "impl": "sweep",
        "arch": arch,
        "dataset": dataset,
        "train_samples": n_train,
        "val_samples": n_val,
        "epochs": metrics["epochs_run"],
        "threads": metrics["threads"],
        "device": metrics["device"],
        "seconds_per_epoch": round(epoch_s, 4),
        # history.csv has no train-only time: sweep's epoch includes validation.
        "train_seconds_per_epoch": None,
        "images_per_second": None,
        "epoch_images_per_second": round(n_train / epoch_s, 1),
        "peak_rss_mib": metrics.get("peak_rss_mib"),
        "val_loss": number(last["val_loss"]),
        "val_accuracy": number(last["val_accuracy"]),
        "val_auc": number(last["val_auc"]),
        "epoch_seconds": seconds,
        "run": runs[0].parent.name,
    }
    print(json.dumps(line))


def threads_lone(sweep_line, reference_line):
    """One line: a lone run through `sweep run` with its default budget
    against reference (b) on every core, seconds per epoch."""
    sw = json.loads(Path(sweep_line).read_text())
    ref = json.loads(Path(reference_line).read_text())
    ratio = sw["seconds_per_epoch"] / ref["seconds_per_epoch"]
    print(
        f"lone {sw['arch']} on {sw['dataset']}: sweep run {sw['seconds_per_epoch']:.2f} s/epoch "
        f"on {sw['threads']} threads (its default budget), reference (b) "
        f"{ref['seconds_per_epoch']:.2f} s/epoch on {ref.get('threads', '?')}; "
        f"ratio {ratio:.2f} (target <= 1.0)"
    )


def core_seconds(results):
    """Sum over finished runs of threads x the worker's wall time, and the
    thread counts (a grown budget counts from the epoch it took effect,
    pro rata by epochs)."""
    total, counts = 0.0, []
    for m in sorted(Path(results).glob("*/metrics.json")):
        r = json.loads(m.read_text())
        threads = r["threads"]
        grown = r.get("threads_grown")
        if grown:
            epochs = max(r["epochs_run"], 1)
            after = (epochs - grown["from_epoch"] + 1) / epochs
            threads = threads * (1 - after) + grown["threads"] * after
            counts.append(f"{r['threads']}>{grown['threads']}")
        else:
            counts.append(str(r["threads"]))
        total += threads * r["wall_seconds"]
    return total, counts


def threads_count(auto, fixed, runs, jobs, cores, t0, t1, t2):
    """One line: N runs with budgets that follow the queue (t0..t1) against
    the fixed layout `--jobs J` (t1..t2): wall times, speed-up, and each
    one's efficiency, core-seconds used / (cores x wall)."""
    cores = int(cores)
    wall_auto = float(t1) - float(t0)
    wall_fixed = float(t2) - float(t1)
    used_auto, counts_auto = core_seconds(auto)
    used_fixed, _ = core_seconds(fixed)
    eff_auto = used_auto / (cores * wall_auto)
    eff_fixed = used_fixed / (cores * wall_fixed)
    print(
        f"{runs} run(s): following the queue {wall_auto:.1f} s (threads {','.join(counts_auto)}), "
        f"fixed --jobs {jobs} {wall_fixed:.1f} s; speed-up {wall_fixed / wall_auto:.2f}x "
        f"(target >= 1.5 for 1 and 3 runs); efficiency {eff_auto:.2f} vs {eff_fixed:.2f} "
        f"(target >= 0.9)"
    )


def threads_section(path):
    lines = [t for t in Path(path).read_text().splitlines() if t.strip()]
    if not lines:
        return []
    return (
        ["## Thread budgets", ""]
        + [f"* {t}" for t in lines]
        + [
            "",
            "Efficiency: sum over runs of threads x the worker's wall time, over",
            "cores x the sweep's wall time.",
            "",
        ]
    )


def mean(values):
    """Mean of the defined values (an AUC is None when a split has one class)."""
    defined = [v for v in values if v is not None]
    return round(sum(defined) / len(defined), 4) if defined else None


def sweep_comparison(results, python_json, dataset, t0, t1, t2, cores):
    """One JSON line for a whole-sweep comparison: both wall times (taken by
    scripts/bench around each command), the sum of sweep's runs' own wall
    times, and its slots (cores / threads per run, as the scheduler lays
    them out when neither --jobs nor the file says)."""
    runs = sorted(Path(results).glob("*/metrics.json"))
    metrics = [json.loads(r.read_text()) for r in runs]
    threads = metrics[0]["threads"] if metrics else None
    slots = max(1, int(cores) // threads) if threads else None
    py = json.loads(Path(python_json).read_text())
    sweep_wall, python_wall = float(t1) - float(t0), float(t2) - float(t1)
    run_sum = sum(m["wall_seconds"] for m in metrics)
    print(
        json.dumps(
            {
                "dataset": dataset,
                "runs": len(metrics),
                "epochs": metrics[0]["epochs_run"] if metrics else None,
                "train_samples": metrics[0]["samples"][0] if metrics else None,
                "sweep_wall": round(sweep_wall, 2),
                "sweep_threads": threads,
                "sweep_slots": slots,
                "sweep_run_sum": round(run_sum, 2),
                "efficiency": round(run_sum / (sweep_wall * slots), 3) if slots else None,
                "python_wall": round(python_wall, 2),
                "python_threads": py["threads"],
                "python_runs": py["runs"],
                "ratio": round(sweep_wall / python_wall, 3),
                "sweep_test_auc": mean(m["test"]["auc"] for m in metrics),
                "python_test_auc": mean(r["test_auc"] for r in py["per_run"]),
            }
        )
    )


def md_row(cells):
    """One markdown table row."""
    return "| " + " | ".join(cells) + " |"


def packing_result(results, arch, px, k, runs, device, t0, t1, gpu_csv):
    """One JSON line for K runs sharing a device: wall time around `sweep
    run`, images trained per second of wall time (train images x epochs,
    summed over the finished runs), and, on a GPU, the peak memory and mean
    utilisation nvidia-smi sampled meanwhile (lines `MiB, %`)."""
    metrics = [json.loads(r.read_text()) for r in sorted(Path(results).glob("*/metrics.json"))]
    wall = float(t1) - float(t0)
    images = sum(m["samples"][0] * m["epochs_run"] for m in metrics)
    samples = []
    for row in Path(gpu_csv).read_text().splitlines():
        try:
            used, util = (float(v) for v in row.split(","))
        except ValueError:
            continue  # a torn last line, or nvidia-smi's "[N/A]"
        samples.append((used, util))
    print(
        json.dumps(
            {
                "arch": arch,
                "px": int(px),
                "per_device": int(k),
                "device": device,
                "runs": int(runs),
                "finished": len(metrics),
                "epochs": metrics[0]["epochs_run"] if metrics else None,
                "train_samples": metrics[0]["samples"][0] if metrics else None,
                "wall": round(wall, 2),
                "images_per_second": round(images / wall, 1) if wall > 0 else None,
                "mean_run_seconds": mean(m["wall_seconds"] for m in metrics),
                "threads": metrics[0]["threads"] if metrics else None,
                "peak_gpu_mib": max(u for u, _ in samples) if samples else None,
                "mean_gpu_util": mean(u for _, u in samples) if samples else None,
            }
        )
    )


def suggested_count(rows):
    """The smallest runs-per-device count whose throughput is within
    PACKING_TOLERANCE of the best, counting only counts where every run
    finished; None when none did."""
    complete = [r for r in rows if r["finished"] == r["runs"] and r["images_per_second"]]
    if not complete:
        return None
    best = max(r["images_per_second"] for r in complete)
    return min(
        r["per_device"]
        for r in complete
        if r["images_per_second"] >= (1 - PACKING_TOLERANCE) * best
    )


def packing_section(path):
    """Markdown lines for the packing comparison, one table row per
    (architecture, count), speed-ups relative to the same shape's count 1."""
    rows = [json.loads(t) for t in Path(path).read_text().splitlines() if t.strip()]
    if not rows:
        return []
    header = [
        "arch", "px", "per device", "runs done", "epochs", "train n", "wall s",
        "images/s", "speed-up vs 1", "mean run s", "threads/run", "peak GPU MiB",
        "mean GPU util %",
    ]  # fmt: skip
    device = rows[0]["device"]
    md = [
        f"## Packing: runs sharing one device ({device})",
        "",
        md_row(header),
        "|---|" + "---:|" * (len(header) - 1),
    ]
    shapes = []
    for r in rows:
        if (r["arch"], r["px"]) not in shapes:
            shapes.append((r["arch"], r["px"]))
    suggestions = []
    for shape in shapes:
        group = [r for r in rows if (r["arch"], r["px"]) == shape]
        alone = next((r["images_per_second"] for r in group if r["per_device"] == 1), None)
        for r in group:
            speedup = r["images_per_second"] / alone if alone and r["images_per_second"] else None
            md.append(
                md_row(
                    [
                        r["arch"],
                        str(r["px"]),
                        str(r["per_device"]),
                        f"{r['finished']}/{r['runs']}",
                        fmt(r["epochs"]),
                        fmt(r["train_samples"]),
                        fmt(r["wall"], 1),
                        fmt(r["images_per_second"], 0),
                        fmt(speedup),
                        fmt(r["mean_run_seconds"], 1),
                        fmt(r["threads"]),
                        fmt(r["peak_gpu_mib"], 0),
                        fmt(r["mean_gpu_util"], 0),
                    ]
                )
            )
        k = suggested_count(group)
        suggestions.append(f"{shape[0]} at {shape[1]} px: {k if k else '-'}")
    md += [
        "",
        "Wall: the whole `sweep run` (worker start-up, data loading and final",
        "scoring included). images/s: train images x epochs over all finished runs",
        "/ wall. GPU columns: nvidia-smi on cuda:0 every 0.5 s (empty on a CPU).",
        f"Smallest count within {PACKING_TOLERANCE:.0%} of the best throughput: "
        + "; ".join(suggestions)
        + ".",
        "",
    ]
    return md


def sweep_section(path):
    """Markdown lines for the whole-sweep comparison."""
    rows = [json.loads(t) for t in Path(path).read_text().splitlines() if t.strip()]
    if not rows:
        return []
    header = [
        "dataset", "runs", "epochs", "train n", "sweep wall s", "slots x threads",
        "Python loop wall s", "Python threads", f"sweep/Python ≤{SWEEP_TARGET}",
        "sum of run times s", "efficiency", "mean test AUC sweep / Python",
    ]  # fmt: skip
    md = [
        "## Whole sweeps: sweep run against a plain Python loop",
        "",
        md_row(header),
        "|---|" + "---:|" * (len(header) - 1),
    ]
    for r in rows:
        flag = " !" if r["ratio"] > SWEEP_TARGET else ""
        md.append(
            md_row(
                [
                    r["dataset"],
                    str(r["runs"]),
                    str(r["epochs"]),
                    fmt(r["train_samples"]),
                    fmt(r["sweep_wall"], 1),
                    f"{r['sweep_slots']} x {r['sweep_threads']}",
                    fmt(r["python_wall"], 1),
                    str(r["python_threads"]),
                    fmt(r["ratio"]) + flag,
                    fmt(r["sweep_run_sum"], 1),
                    fmt(r["efficiency"]),
                    f"{fmt(r['sweep_test_auc'], 3)} / {fmt(r['python_test_auc'], 3)}",
                ]
            )
        )
    md += [
        "",
        "Wall: the whole command (sweep: `sweep run` with its default slots, one",
        "worker process per run; Python: bench/reference_sweep.py, one process, all",
        "threads, every configuration in turn, preloaded channels-last tensors).",
        "Efficiency: sum of the runs' own wall times / (sweep wall x slots); the",
        "rest is process start-up, libtorch loading and idle slots at the end.",
        "",
    ]
    return md


def overhead_section(path):
    lines = [t for t in Path(path).read_text().splitlines() if t.strip()]
    if not lines:
        return []
    return ["## Orchestrator overheads", ""] + [f"* {t}" for t in lines] + [""]


def machine():
    """`CPU model, N cores[, GPU]` for the table header."""
    cpu = platform.processor() or platform.machine()
    try:
        for row in Path("/proc/cpuinfo").read_text().splitlines():
            if row.startswith("model name"):
                cpu = row.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    label = f"{cpu}, {os.cpu_count()} cores"
    if shutil.which("nvidia-smi"):
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
        )
        gpus = [g.strip() for g in out.stdout.splitlines() if g.strip()]
        if out.returncode == 0 and gpus:
            label += ", GPU: " + ", ".join(gpus)
    return label


def fmt(v, digits=2):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return f"{v:,}"


def table(
    jsonl, markdown, notes, sweeps=None, overheads=None, command=None, packing=None, threads=None
):
    rows = {}
    order = []
    for text in Path(jsonl).read_text().splitlines():
        if not text.strip():
            continue
        r = json.loads(text)
        key = (r["arch"], r["dataset"])
        if key not in rows:
            rows[key] = {}
            order.append(key)
        rows[key][r["impl"]] = r
    header = [
        "arch", "dataset", "train n",
        "sweep s/ep", "(a) s/ep", "(b) s/ep",
        "sweep/(a) ≤0.8", "sweep/(b) ≤1.0",
        "sweep img/s", "(a) img/s", "(b) img/s",
        "sweep RSS", "(a) RSS", "(b) RSS",
        "sweep val AUC", "(a) val AUC", "(b) val AUC",
    ]  # fmt: skip
    body = []
    misses = []
    for key in order:
        r = rows[key]
        get = lambda impl, field: r.get(impl, {}).get(field)  # noqa: E731
        ratios = []
        for ref in ("dataloader", "preloaded"):
            s, o = get("sweep", "seconds_per_epoch"), get(ref, "seconds_per_epoch")
            ratio = s / o if s and o else None
            flag = ""
            if ratio is not None and ratio > TARGETS[ref]:
                flag = " !"
                misses.append(f"{key[0]}/{key[1]} vs ({'a' if ref == 'dataloader' else 'b'})")
            ratios.append(fmt(ratio) + flag)
        n = next((get(i, "train_samples") for i in IMPLS if get(i, "train_samples")), None)
        body.append(
            [key[0], key[1], fmt(n)]
            + [fmt(get(i, "seconds_per_epoch"), 3) for i in IMPLS]
            + ratios
            + [fmt(get(i, "epoch_images_per_second"), 0) for i in IMPLS]
            + [fmt(get(i, "peak_rss_mib"), 0) for i in IMPLS]
            + [fmt(get(i, "val_auc"), 3) for i in IMPLS]
        )
    any_line = next((line for r in rows.values() for line in r.values()), {})
    title = f"sweep benchmarks — {machine()}"
    setup = (
        f"{datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}, load average "
        f"{os.getloadavg()[0]:.2f} at the end"
    )
    setup += (
        f"; trainer: {any_line['epochs']} epochs, threads {any_line['threads']}."
        if any_line
        else "."
    )
    footer = [
        "s/ep: seconds per epoch (train + validation), mean over the epochs after the first.",
        "(a) reference_dataloader.py: Dataset + DataLoader, per-sample conversion.",
        "(b) reference_preloaded.py: preloaded uint8 tensors, per-batch index_select.",
        "img/s: train images / s per epoch (validation included, for all three: sweep",
        "records no train-only time; the references' JSON lines have train-only figures).",
        "RSS: peak resident MiB of the training process (sweep: its worker, VmHWM).",
        "val AUC: last epoch. `!`: ratio misses its target.",
        *notes,
    ]
    if misses:
        footer.append("Targets missed: " + ", ".join(misses) + ".")
    md = [f"# {title}", "", setup]
    if command:
        md += ["", f"Command: `{command.strip()}`"]
    md += [""]
    if body:
        md += ["## Trainer against plain PyTorch", ""]
        md += [md_row(header)]
        md.append("|" + "|".join("---" if i < 2 else "---:" for i in range(len(header))) + "|")
        md += [md_row(row) for row in body]
        md += [""] + [f"{line}  " for line in footer] + [""]
    else:
        md += [f"{line}  " for line in notes] + [""]
    extra = (
        (sweep_section(sweeps) if sweeps else [])
        + (packing_section(packing) if packing else [])
        + (threads_section(threads) if threads else [])
        + (overhead_section(overheads) if overheads else [])
    )
    md += extra
    Path(markdown).parent.mkdir(parents=True, exist_ok=True)
    Path(markdown).write_text("\n".join(md) + "\n")
    # Terminal: the same table with aligned columns.
    widths = [max(len(str(c)) for c in col) for col in zip(header, *body)]
    print(title)
    print(setup)
    if body:
        for row in [header] + body:
            cells = [c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
            print("  ".join(cells))
        print("\n".join(footer))
    if extra:
        print("\n".join(extra))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sweep-result")
    s.add_argument("results")
    s.add_argument("arch")
    s.add_argument("dataset")
    c = sub.add_parser("sweep-comparison")
    for name in ("results", "python_json", "dataset", "t0", "t1", "t2", "cores"):
        c.add_argument(name)
    k = sub.add_parser("packing-result")
    for name in ("results", "arch", "px", "k", "runs", "device", "t0", "t1", "gpu_csv"):
        k.add_argument(name)
    tl = sub.add_parser("threads-lone")
    tl.add_argument("sweep_line")
    tl.add_argument("reference_line")
    tc = sub.add_parser("threads-count")
    for name in ("auto", "fixed", "runs", "jobs", "cores", "t0", "t1", "t2"):
        tc.add_argument(name)
    t = sub.add_parser("table")
    t.add_argument("jsonl")
    t.add_argument("--markdown", required=True)
    t.add_argument("--sweeps")
    t.add_argument("--packing")
    t.add_argument("--overheads")
    t.add_argument("--threads")
    t.add_argument("--command")
    t.add_argument("--note", action="append", default=[])
    a = p.parse_args()
    if a.cmd == "sweep-result":
        sweep_result(a.results, a.arch, a.dataset)
    elif a.cmd == "sweep-comparison":
        sweep_comparison(a.results, a.python_json, a.dataset, a.t0, a.t1, a.t2, a.cores)
    elif a.cmd == "packing-result":
        packing_result(
            a.results, a.arch, a.px, a.k, a.runs, a.device, a.t0, a.t1, a.gpu_csv
        )
    elif a.cmd == "threads-lone":
        threads_lone(a.sweep_line, a.reference_line)
    elif a.cmd == "threads-count":
        threads_count(a.auto, a.fixed, a.runs, a.jobs, a.cores, a.t0, a.t1, a.t2)
    else:
        table(
            a.jsonl, a.markdown, a.note, a.sweeps, a.overheads, a.command, a.packing, a.threads
        )


if __name__ == "__main__":
    main()
