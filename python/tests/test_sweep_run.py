"""Tests of sweep_run, the command side of the training-command protocol.

Run with `python3 -m unittest discover -s python/tests` (NumPy needed);
crates/sweep-external/tests/python_helper.rs runs them in the test suite.
"""

import contextlib
import io
import json
import os
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import sweep_run  # noqa: E402


def make_run(folder, task="binary", num_outputs=1, rgb=False):
    """A run folder as sweep prepares it: a small .npz and inputs.json."""
    rng = np.random.default_rng(0)
    sizes = {"train": 6, "val": 3, "test": 4}
    arrays = {}
    for split, n in sizes.items():
        shape = (n, 4, 4, 3) if rgb else (n, 4, 4)
        arrays[f"{split}_images"] = rng.integers(0, 256, size=shape, dtype=np.uint8)
        arrays[f"{split}_labels"] = (np.arange(n) % 2).astype(np.uint8).reshape(n, 1)
    data = os.path.join(folder, "data.npz")
    np.savez(data, **arrays)
    inputs = {
        "protocol": 1,
        "key": "k" * 64,
        "run_dir": folder,
        "run": {"lr": 0.01, "seed": 3,
                "train": {"epochs": 2, "batch_size": 4, "threshold": 0.5}},
        "dataset": "synthetic:breastmnist",
        "task": task,
        "num_outputs": num_outputs,
        "num_classes": 2,
        "label_names": ["malignant", "benign"],
        "label_width": 1,
        "data_file": data,
        "pool": [6, 3, 4],
        "image": {"height": 4, "width": 4, "channels": 3 if rgb else 1},
        # Fold-like indices: training takes two validation samples, and
        # validation takes training ones, across the file's arrays.
        "indices": {"train": [0, 2, 4, 6, 7], "val": [1, 8, 3], "test": [9, 10, 11, 12]},
        "outputs": {
            "val_predictions": os.path.join(folder, "val_predictions.csv"),
            "test_predictions": os.path.join(folder, "predictions.csv"),
            "history": os.path.join(folder, "history.csv"),
        },
    }
    path = os.path.join(folder, "inputs.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(inputs, f)
    return path, arrays


class HelperTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.folder = self.tmp.name
        self.inputs, self.arrays = make_run(self.folder)

    def tearDown(self):
        self.tmp.cleanup()

    def test_arrays_follow_the_pool_indices_across_the_files_arrays(self):
        run = sweep_run.start(self.inputs)
        x, y = run.arrays("val")
        self.assertEqual(x.shape, (3, 4, 4, 1))
        self.assertEqual(y.shape, (3, 1))
        # Pool index 1 is train row 1, 8 is val row 2, 3 is train row 3.
        want = np.stack([self.arrays["train_images"][1], self.arrays["val_images"][2],
                         self.arrays["train_images"][3]])[..., None]
        np.testing.assert_array_equal(x, want)
        np.testing.assert_array_equal(y[:, 0], [1, 0, 1])
        self.assertEqual((run.lr, run.seed, run.epochs, run.batch_size), (0.01, 3, 2, 4))

    def test_the_environment_names_the_run(self):
        os.environ["SWEEP_INPUTS"] = self.inputs
        os.environ["SWEEP_DEVICE"] = "cpu"
        try:
            run = sweep_run.start()
        finally:
            del os.environ["SWEEP_INPUTS"]
            del os.environ["SWEEP_DEVICE"]
        self.assertEqual(run.device, "cpu")
        with self.assertRaisesRegex(sweep_run.ProtocolError, "SWEEP_INPUTS is not set"):
            sweep_run.start()

    def test_events_are_json_lines_sweep_reads(self):
        run = sweep_run.start(self.inputs)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            run.started(params=123)
            run.epoch(1, train_loss=0.7, val_loss=0.6, val_auc=0.8)
        started, epoch = [json.loads(line) for line in out.getvalue().splitlines()]
        self.assertEqual(started["event"], "started")
        self.assertEqual((started["params"], started["train_samples"], started["epochs"]),
                         (123, 5, 2))
        self.assertEqual(epoch["event"], "epoch")
        self.assertEqual((epoch["monitor_name"], epoch["monitor"]), ("val_auc", 0.8))
        self.assertEqual(set(epoch), {"event", "epoch", "epochs", "lr", "train_loss",
                                      "val_loss", "monitor", "monitor_name", "seconds"})

    def test_finish_writes_predictions_with_the_splits_labels_and_the_history(self):
        run = sweep_run.start(self.inputs)
        with contextlib.redirect_stdout(io.StringIO()):
            run.epoch(1, train_loss=0.7, val_loss=0.6, val_auc=0.8)
            run.epoch(2, train_loss=0.5, val_loss=0.55, val_auc=0.85)
        run.finish([0.9, 0.1, 0.7], np.array([[0.2], [0.8], [0.4], [0.6]]))
        with open(os.path.join(self.folder, "val_predictions.csv"), encoding="utf-8") as f:
            self.assertEqual(f.read(), "index,y_0,p_0\n0,1,0.9\n1,0,0.1\n2,1,0.7\n")
        with open(os.path.join(self.folder, "predictions.csv"), encoding="utf-8") as f:
            self.assertEqual(f.readline(), "index,y_0,p_0\n")
            self.assertEqual(len(f.readlines()), 4)
        with open(os.path.join(self.folder, "history.csv"), encoding="utf-8") as f:
            self.assertEqual(f.read(),
                             "epoch,lr,train_loss,val_loss,val_auc\n"
                             "1,0.01,0.7,0.6,0.8\n2,0.01,0.5,0.55,0.85\n")

    def test_wrong_shapes_and_logits_are_refused_with_the_reason(self):
        run = sweep_run.start(self.inputs)
        with self.assertRaisesRegex(sweep_run.ProtocolError,
                                    r"val predictions have shape \(2, 1\); sweep expects \(3, 1\)"):
            run.finish([0.5, 0.5], [0.5] * 4)
        with self.assertRaisesRegex(sweep_run.ProtocolError, "apply a sigmoid"):
            run.finish([2.0, -1.0, 0.5], [0.5] * 4)


if __name__ == "__main__":
    unittest.main()
