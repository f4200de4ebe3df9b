"""sweep's fused Adam and AdamW against torch.optim's fused versions.

sweep updates parameters with libtorch's fused kernels through its own C++
shim (crates/sweep-train/src/fused_adam.rs). This script gives the shim and
`torch.optim.Adam(fused=True)` / `torch.optim.AdamW(fused=True)` the same
parameters and the same gradients for --steps steps on one device, then
compares parameters and both moments: they must agree to --tolerance
(default 1e-6, absolute). The Rust side is the `fused_adam_check` example
of sweep-train (built by scripts/gpu-check, or
`cargo build --release -p sweep-train --example fused_adam_check`).

Usage: python bench/fused_adam_check.py --checker PATH [--device cuda:0]
Prints one JSON line per optimiser; exits 1 when any of them disagrees.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

# Shapes of a small CNN's parameters: conv weight, bias, linear weight, and
# an odd size that no vector width divides.
SHAPES = [(16, 3, 3, 3), (16,), (10, 144), (37,)]
HYPER = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 1e-2}


def inputs(steps, seed):
    """Initial parameters and one gradient per step and parameter (float32)."""
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in SHAPES] for _ in range(steps)]
    return params, grads


def with_torch(params, grads, adamw, device):
    """torch.optim's fused optimiser on `device`: parameters and moments."""
    import torch

    # A copy: on the CPU, from_numpy(...).to("cpu") would share the arrays'
    # memory, and the in-place steps would change the inputs sweep gets.
    tensors = [torch.nn.Parameter(torch.tensor(p, device=device)) for p in params]
    cls = torch.optim.AdamW if adamw else torch.optim.Adam
    opt = cls(
        tensors,
        lr=HYPER["lr"],
        betas=(HYPER["beta1"], HYPER["beta2"]),
        eps=HYPER["eps"],
        weight_decay=HYPER["weight_decay"],
        fused=True,
    )
    for step_grads in grads:
        for t, g in zip(tensors, step_grads):
            t.grad = torch.tensor(g, device=device)
        opt.step()
    out = {}
    for i, t in enumerate(tensors):
        state = opt.state[t]
        out[f"param.{i}"] = t.detach().cpu().numpy()
        out[f"exp_avg.{i}"] = state["exp_avg"].cpu().numpy()
        out[f"exp_avg_sq.{i}"] = state["exp_avg_sq"].cpu().numpy()
    return out


def with_sweep(checker, params, grads, adamw, device, work):
    """The same steps through sweep's shim (the checker program)."""
    arrays = {f"param.{i}": p for i, p in enumerate(params)}
    for step, step_grads in enumerate(grads, start=1):
        for i, g in enumerate(step_grads):
            arrays[f"grad.{step}.{i}"] = g
    arrays["hyper"] = np.array(
        [HYPER["lr"], HYPER["beta1"], HYPER["beta2"], HYPER["eps"], HYPER["weight_decay"],
         1.0 if adamw else 0.0, len(grads)],
        np.float64,  # the hyper-parameters are doubles on both sides
    )
    src, dst = work / "in.npz", work / "out.npz"
    np.savez(src, **arrays)
    done = subprocess.run([str(checker), str(src), str(dst), device], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{checker} exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    with np.load(dst) as f:
        return {k: f[k] for k in f.files}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checker", type=Path, required=True, help="the fused_adam_check program")
    p.add_argument("--device", default="cpu")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--tolerance", type=float, default=1e-6)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    params, grads = inputs(args.steps, args.seed)
    all_ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for adamw in (False, True):
            name = "adamw" if adamw else "adam"
            line = {"check": "fused_adam", "optimizer": name, "device": args.device,
                    "steps": args.steps, "tolerance": args.tolerance}
            try:
                theirs = with_torch(params, grads, adamw, args.device)
                ours = with_sweep(args.checker, params, grads, adamw, args.device, Path(tmp))
                missing = sorted(set(theirs) - set(ours))
                if missing:
                    raise RuntimeError(f"checker output lacks {missing}")
                diff = max(float(np.max(np.abs(ours[k] - theirs[k]))) for k in theirs)
                moved = max(float(np.max(np.abs(theirs[f"param.{i}"] - params[i])))
                            for i in range(len(params)))
                line.update(max_abs_diff=diff, max_param_change=moved,
                            ok=bool(diff <= args.tolerance and moved > 0))
            except Exception as e:  # one optimiser's failure must not hide the other's result
                line.update(ok=False, error=f"{type(e).__name__}: {e}")
            all_ok &= line["ok"]
            print(json.dumps(line), flush=True)
    sys.exit(0 if all_ok else 1)


if __name__ == "__main__":
    main()
