"""Writes small valid .npz seeds for the npz_reader fuzz target.

The files are written by NumPy itself, so the fuzzer starts from the real
layout (zip64 extras, header padding). Run with a Python that has NumPy, such
as the project's PyTorch virtualenv, then let `scripts/fuzz` minimise:

    "${SWEEP_TORCH_VENV:-$HOME/.cache/sweep/torch-2.13.0-venv}/bin/python" \
        fuzz/gen_npz_seeds.py fuzz/corpus/npz_reader
"""

import io
import sys
import zipfile
from pathlib import Path

import numpy as np


def medmnist(channels, label_width, classes, n=(1, 1, 1)):
    arrays = {}
    for split, count in zip(("train", "val", "test"), n):
        shape = (count, 28, 28) if channels == 1 else (count, 28, 28, channels)
        arrays[f"{split}_images"] = (np.arange(np.prod(shape)) % 7).astype(np.uint8).reshape(shape)
        labels = np.arange(count * label_width) % classes
        arrays[f"{split}_labels"] = labels.astype(np.uint8).reshape(count, label_width)
    return arrays


def npy(array, version):
    out = io.BytesIO()
    np.lib.format.write_array(out, array, version=version)
    return out.getvalue()


def main(out_dir):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / "seed-breastmnist.npz", **medmnist(1, 1, 2))
    np.savez(out / "seed-breastmnist-stored.npz", **medmnist(1, 1, 2))
    np.savez_compressed(out / "seed-retinamnist.npz", **medmnist(3, 1, 5))
    np.savez_compressed(out / "seed-chestmnist.npz", **medmnist(1, 14, 2, n=(2, 1, 1)))
    np.savez(
        out / "seed-dtypes.npz",
        u1=np.array([0, 255], dtype=np.uint8),
        b1=np.array([True, False]),
        i4=np.array([-1, 2], dtype="<i4"),
        i8=np.array([[-3], [1 << 40]], dtype="<i8"),
        f4=np.array([0.5, -2.0], dtype="<f4"),
        f8=np.array([np.pi], dtype="<f8"),
        scalar=np.uint8(7),
        empty=np.zeros((0, 3), dtype=np.uint8),
    )
    # Rejected layouts, so the error paths are seeded too.
    np.savez(
        out / "seed-rejected.npz",
        fortran=np.asfortranarray(np.arange(6, dtype=np.uint8).reshape(2, 3)),
        big_endian=np.array([1.0], dtype=">f4"),
        u2=np.array([1], dtype="<u2"),
    )
    # Header format versions 2.0 and 3.0, which NumPy only writes on request.
    with zipfile.ZipFile(out / "seed-npy-versions.npz", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("v2.npy", npy(np.arange(4, dtype=np.uint8), (2, 0)))
        z.writestr("v3.npy", npy(np.arange(3, dtype="<f4"), (3, 0)))


if __name__ == "__main__":
    main(sys.argv[1])
