#!/usr/bin/python3
"""The rbm command end to end: every kind of bad input ends with a clear message naming the
file and line or byte offset, exit status 2 and no model file; good input trains models that
NumPy reads, byte-identical at any thread count.

usage: test_cli.py PATH/TO/rbm [unittest arguments]
"""
import gzip
import hashlib
import io
import json
import os
import random
import resource
import signal
import struct
import subprocess
import sys
import tempfile
import unittest
import zipfile

import numpy as np

from rbm_testing import kill_and_resume

RBM = os.path.abspath(sys.argv.pop(1))
FASHION = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"


def run(*args, cwd=None):
    return subprocess.run([RBM, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


class Workspace(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, content, mode="w"):
        with open(self.path(name), mode) as f:
            f.write(content)
        return self.path(name)

    def read(self, name):
        with open(self.path(name), "rb") as f:
            return f.read()

    def config(self, data, extra="", model="model.npz", name="run.ini"):
        return self.write(name, f"[data]\ntrain = {data}\n[model]\nhidden = 6\n[train]\n"
                                f"epochs = 2\nbatch_size = 4\n{extra}\n"
                                f"[output]\nmodel = {self.path(model)}\n")

    def small_csv(self, name="small.csv"):
        rng = np.random.default_rng(0)
        rows = rng.integers(0, 256, size=(10, 5))
        return self.write(name, "\n".join(",".join(map(str, r)) for r in rows) + "\n")

    def assert_bad(self, result, *fragments, status=2):
        self.assertEqual(result.returncode, status, result.stderr)
        for fragment in fragments:
            self.assertIn(fragment, result.stderr)
        self.assertFalse(os.path.exists(self.path("model.npz")), "a failed run wrote a model")
        self.assertNotIn("Traceback", result.stderr)

    def train_bad(self, data, *fragments, extra=""):
        self.assert_bad(run("train", self.config(data, extra)), *fragments)


class Arguments(Workspace):
    def test_no_command(self):
        self.assert_bad(run(), "usage: rbm COMMAND")

    def test_unknown_command(self):
        self.assert_bad(run("fly"), "unknown command 'fly'")

    def test_missing_config(self):
        self.assert_bad(run("train"), "missing CONFIG")

    def test_config_not_found(self):
        self.assert_bad(run("train", self.path("none.ini")), "none.ini: cannot open")

    def test_set_without_equals(self):
        cfg = self.config(self.small_csv())
        self.assert_bad(run("train", cfg, "-s", "train.epochs"),
                        "--set 'train.epochs': expected SECTION.KEY=VALUE")

    def test_set_unknown_key(self):
        cfg = self.config(self.small_csv())
        self.assert_bad(run("train", cfg, "--set", "train.speed=3"), "unknown key 'speed'")

    def test_set_needs_value(self):
        self.assert_bad(run("train", self.config(self.small_csv()), "-s"), "needs SECTION.KEY=VALUE")

    def test_unknown_option(self):
        self.assert_bad(run("train", self.config(self.small_csv()), "--fast"), "unknown option '--fast'")

    def test_help_shows_live_defaults(self):
        result = run("train", "--help")
        self.assertEqual(result.returncode, 0)
        for text in ("hidden = 300", "epochs = 10", "batch_size = 100", "learning_rate = 0.1",
                     "momentum = 0.9", "seed = 1", "threads = 0", "model = model.npz"):
            self.assertIn(text, result.stdout)
        self.assertEqual(run("--help").returncode, 0)
        self.assertEqual(run("info", "--help").returncode, 0)

    def test_version(self):
        result = run("--version")
        self.assertEqual(result.returncode, 0)
        self.assertRegex(result.stdout, r"rbm \d+\.\d+\.\d+")
        self.assertIn("OpenBLAS", result.stdout)
        self.assertIn("single-threaded: yes", result.stdout)
        self.assertRegex(result.stdout, r"OpenMP: \d+ processors, thread limit \d+")
        env = dict(os.environ, OMP_THREAD_LIMIT="3")
        limited = subprocess.run([RBM, "--version"], capture_output=True, text=True, env=env)
        self.assertIn("thread limit 3 ", limited.stdout)

    def fake_openblas_environment(self):
        """The environment that preloads tests/fake_openblas.c, without OPENBLAS_CORETYPE."""
        shim = os.environ.get("RBM_FAKE_OPENBLAS")
        if not shim:
            self.skipTest("RBM_FAKE_OPENBLAS not set (meson test sets it)")
        env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
        env["LD_PRELOAD"] = shim
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"
        return env

    def test_refuses_a_multithreaded_openblas(self):
        # A threaded OpenBLAS would split each product by its own rules under rbm's workers:
        # rbm refuses to train (exit 1, nothing written) and says so in --version.
        env = self.fake_openblas_environment()
        env["OPENBLAS_CORETYPE"] = "Haswell"  # no re-exec: the test is about the refusal
        data = self.write("d.csv", "0.5,0.1\n0.2,0.9\n")
        for parallel, kind in (("1", "pthreads"), ("2", "OpenMP")):
            env["RBM_FAKE_OPENBLAS_PARALLEL"] = parallel
            for command in (["train", self.config(data)], ["bench", self.config(data)]):
                result = subprocess.run([RBM, *command], capture_output=True, text=True, env=env,
                                        cwd=self.dir, timeout=60)
                self.assert_bad(result, "the OpenBLAS in use is multithreaded",
                                f"openblas_get_parallel() = {parallel}", status=1)
                self.assertEqual(sorted(os.listdir(self.dir)), ["d.csv", "run.ini"])
            result = subprocess.run([RBM, "--version"], capture_output=True, text=True, env=env)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn("single-threaded: NO (training is refused)", result.stdout)

    def test_avx512_kernels_when_openblas_picks_an_older_core(self):
        # OpenBLAS 0.3.21 picks SSE3 or AVX2 kernels on CPUs newer than itself; rbm then asks
        # for SkylakeX where the CPU has AVX-512, unless the user chose a core.
        env = self.fake_openblas_environment()
        with open("/proc/cpuinfo") as f:
            flags = next(l for l in f if l.startswith("flags")).split()
        avx512 = all(f in flags for f in ("avx512f", "avx512bw", "avx512dq", "avx512vl"))
        result = subprocess.run([RBM, "--version"], capture_output=True, text=True, env=env)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("(core: SkylakeX)" if avx512 else "(core: Prescott)", result.stdout)
        # a core the user chose is kept
        env["OPENBLAS_CORETYPE"] = "Haswell"
        result = subprocess.run([RBM, "--version"], capture_output=True, text=True, env=env)
        self.assertIn("(core: Haswell)", result.stdout)


class Configs(Workspace):
    def bad_config(self, text, *fragments):
        self.assert_bad(run("train", self.write("bad.ini", text)), *fragments)

    def test_syntax_error(self):
        self.bad_config("[data]\ntrain x.csv\n", "bad.ini:2: syntax error")

    def test_unknown_key(self):
        self.bad_config("[data]\nlimt = 3\n", "bad.ini:2: unknown key 'limt' in section [data]")

    def test_trailing_garbage(self):
        self.bad_config("[model]\nhidden = 12abc\n", "bad.ini:2: model.hidden: '12abc' is not a whole number")

    def test_nan_infinite_zero_negative(self):
        self.bad_config("[train]\nlearning_rate = nan\n", "bad.ini:2:", "not a finite number")
        self.bad_config("[train]\n\nmomentum = inf\n", "bad.ini:3:", "not a finite number")
        self.bad_config("[train]\nepochs = 0\n", "bad.ini:2: train.epochs: 0 is out of range")
        self.bad_config("[model]\ninit_std = -0.01\n", "bad.ini:2: model.init_std")
        self.bad_config("[train]\nbatch_size = -5\n", "bad.ini:2: train.batch_size")

    def test_bad_bit_counts(self):
        self.bad_config("[data]\ntrain = x.csv\n[train]\nbit_counts = 1x\n",
                        "bad.ini:4: train.bit_counts: '1x' is not true or false")
        result = run("train", self.write("ok.ini", "[data]\ntrain = x.csv\n"),
                     "-s", "train.bit_counts=maybe")
        self.assert_bad(result, "--set 'train.bit_counts=maybe': train.bit_counts: 'maybe' is "
                                "not true or false")

    def test_unknown_split(self):
        self.bad_config("[data]\ntrain = x.csv\n[train]\nsplit = columns\n",
                        "bad.ini:4: train.split: 'columns' is not one of rows, hidden")

    def test_missing_train_path(self):
        self.bad_config("[model]\nhidden = 3\n", "bad.ini: data.train is not set")
        self.bad_config("", "bad.ini: data.train is not set")

    def test_range_names_the_largest_whole_number(self):
        self.assert_bad(run("train", self.config("x.csv"), "-s", "data.limit=-1"),
                        "data.limit: -1 is out of range [0, 9223372036854775807]")


class BadData(Workspace):
    def test_missing_data_file(self):
        self.train_bad(self.path("nope.csv"), "nope.csv: cannot open")

    def test_empty_csv(self):
        self.train_bad(self.write("e.csv", ""), "e.csv: empty file")

    def test_ragged_csv(self):
        self.train_bad(self.write("r.csv", "1,2,3\n4,5,6\n7,8\n"), "r.csv:3: expected 3 fields, found 2")

    def test_non_numeric_field(self):
        self.train_bad(self.write("n.csv", "a,b\n1,2\n3,x7\n"), "n.csv:3: field 2: 'x7' is not a finite number")

    def test_mixed_first_line_is_data(self):
        self.train_bad(self.write("m.csv", "0.5,x7\n0.1,0.2\n"), "m.csv:1: field 2: 'x7' is not a finite number")

    def test_nan_field(self):
        self.train_bad(self.write("n.csv", "0.5,0.1\n0.2,nan\n"), "n.csv:2: field 2: 'nan'")

    def test_out_of_range_after_scaling(self):
        self.train_bad(self.write("o.csv", "0.5,0.1\n0.2,1.5\n"), "o.csv:2, field 2: value 1.5",
                       "outside [0,1]")
    def test_bytes_over_explicit_scale(self):
        self.assert_bad(run("train", self.config(self.write("b.csv", "5,10\n200,1\n")),
                            "-s", "data.scale=100"), "b.csv:2, field 1: value 200 / scale 100")

    def test_wide_line_allocates_nothing_huge(self):
        # 200,000 fields by 200,001 lines would be 40 GB if rows were counted by lines
        self.train_bad(self.write("w.csv", ",".join(["1"] * 200_000) + "\n" + "\n" * 200_000),
                       "w.csv:2: empty line")

    def test_header_only(self):
        self.train_bad(self.write("h.csv", "label,p0,p1\n"), "no data rows after the header")

    def idx(self, name, magic, dims, payload=b"", compress=False):
        raw = bytes(magic) + b"".join(struct.pack(">I", d) for d in dims) + payload
        return self.write(name, gzip.compress(raw) if compress else raw, mode="wb")

    def test_empty_idx(self):
        self.train_bad(self.write("e.idx", b"", mode="wb"), "e.idx: byte offset 0", "empty file")

    def test_wrong_idx_magic(self):
        self.train_bad(self.idx("m.idx", [1, 2, 8, 3], [1, 2, 2], b"\0" * 4), "m.idx: byte offset 0: wrong IDX magic")

    def test_truncated_idx(self):
        self.train_bad(self.idx("t.idx", [0, 0, 8, 3], [3, 2, 2], b"\1" * 7),
                       "t.idx: byte offset 4: IDX header claims 3 x 4 bytes but the file has only 7")
        self.train_bad(self.idx("t.idx.gz", [0, 0, 8, 3], [3, 2, 2], b"\1" * 7, compress=True),
                       "t.idx.gz: byte offset 23 (uncompressed): truncated IDX data")

    def test_truncated_idx_header(self):
        self.train_bad(self.write("h.idx", b"\0\0\x08\x03\0\0", mode="wb"), "h.idx: byte offset 6", "truncated IDX header")

    def test_idx_dimensions_overflow(self):
        self.train_bad(self.idx("o.idx", [0, 0, 8, 4], [0xFFFFFFFF] * 4), "o.idx: byte offset", "overflow")

    def test_idx_lying_header_gz(self):
        self.train_bad(self.idx("l.idx.gz", [0, 0, 8, 3], [0xFFFFFF, 28, 28], b"\0" * 100, compress=True),
                       "IDX header claims 16777215 x 784 bytes but the file could hold only")

    def test_malformed_npy(self):
        good = self.path("g.npy")
        np.save(good, np.zeros((3, 4), np.float32))
        data = self.read("g.npy")
        self.train_bad(self.write("a.npy", data.replace(b"'descr'", b"'dscr!'"), mode="wb"),
                       "a.npy: byte offset", "malformed .npy header")
        self.train_bad(self.write("b.npy", data.replace(b"False", b"True "), mode="wb"),
                       "b.npy: byte offset", "Fortran order is not supported")
        self.train_bad(self.write("c.npy", data[:-5], mode="wb"), "c.npy: byte offset 128", "truncated")
        self.train_bad(self.write("d.npy", data[:9], mode="wb"), "d.npy: byte offset 0")
        np.save(self.path("e.npy"), np.zeros((2, 3, 4), np.float32))
        self.train_bad(self.path("e.npy"), "e.npy: byte offset", "more than 2 dimensions")
        np.save(self.path("f.npy"), np.zeros((2, 3), np.int64))
        self.train_bad(self.path("f.npy"), "f.npy: byte offset", "dtype '<i8' is not supported")
        np.save(self.path("n.npy"), np.array([[0.5, np.nan]], np.float32))
        self.train_bad(self.path("n.npy"), "n.npy: byte offset 132: value is not finite")

    def test_empty_and_lying_npy(self):
        self.train_bad(self.write("e.npy", b"", mode="wb"), "e.npy: byte offset 0: empty file")
        np.save(self.path("z.npy"), np.zeros((0, 4), np.float32))
        data = self.read("z.npy")
        self.train_bad(self.path("z.npy"),
                       "z.npy: byte offset 10: the header's shape (0, 4) holds no data")
        with open(self.path("v2.npy"), "wb") as f:  # version 2.0: a 4-byte header length
            np.lib.format.write_array(f, np.zeros((3, 0), np.uint8), version=(2, 0))
        self.train_bad(self.path("v2.npy"),
                       "v2.npy: byte offset 12: the header's shape (3, 0) holds no data")
        self.train_bad(self.write("l.npy", data.replace(b"(0, 4)", b"(99999999, 4)"), mode="wb"),
                       "l.npy: byte offset 128: the header's shape needs 1599999984 bytes of data "
                       "but the file has 7")
        self.train_bad(self.write("o.npy", data.replace(b"(0, 4)", b"(99999999999999999999, 4)"),
                                  mode="wb"), "o.npy: byte offset", "dimension overflows")
        self.train_bad(self.write("s.npy", data.replace(b"(0, 4),", b"(4294967296, 4294967296)"),
                                  mode="wb"), "s.npy: byte offset", "shape overflows")

    def test_idx_without_rows_or_columns(self):
        self.train_bad(self.idx("r.idx", [0, 0, 8, 3], [0, 28, 28]),
                       "r.idx: byte offset 4: the IDX header gives 0 rows of 784 values: no data")
        self.train_bad(self.idx("c.idx", [0, 0, 8, 3], [3, 28, 0]),
                       "c.idx: byte offset 12: the IDX header gives 3 rows of 0 values: no data")
        self.train_bad(self.idx("c.idx.gz", [0, 0, 8, 3], [5, 0, 28], compress=True),
                       "c.idx.gz: byte offset 8 (uncompressed): the IDX header gives 5 rows of 0")


class BadModels(Workspace):
    def test_missing_model(self):
        self.assert_bad(run("info", self.path("none.npz")), "none.npz: cannot open")

    def test_garbage_model(self):
        self.assert_bad(run("info", self.write("g.npz", b"PK\3\4garbage", mode="wb")), "g.npz: not a readable .npz")

    def test_model_without_arrays(self):
        np.savez(self.path("other.npz"), x=np.zeros(3))
        self.assert_bad(run("info", self.path("other.npz")), "other.npz: weights.npy is missing from the archive")

    def test_truncated_model(self):
        result = run("train", self.config(self.small_csv()))
        self.assertEqual(result.returncode, 0, result.stderr)
        data = self.read("model.npz")
        os.remove(self.path("model.npz"))
        for cut in (len(data) // 2, len(data) - 30):
            bad = self.write("cut.npz", data[:cut], mode="wb")
            self.assert_bad(run("info", bad), "cut.npz:")

    def test_non_finite_and_misshapen_arrays(self):
        ok = dict(weights=np.zeros((3, 4), np.float32), hidden_bias=np.zeros(3, np.float32),
                  visible_bias=np.zeros(4, np.float32), config=np.array("[model]\nhidden = 3\n"),
                  metadata=np.array("{}"))
        np.savez(self.path("ok.npz"), **ok)
        self.assertEqual(run("info", self.path("ok.npz")).returncode, 0)
        for name, change, fragment in (
                ("nan.npz", {"weights": np.full((3, 4), np.nan, np.float32)}, "weights.npy: element 0 is not finite"),
                ("shape.npz", {"hidden_bias": np.zeros(5, np.float32)}, "hidden_bias.npy: expected float32 of shape (3,"),
                ("dtype.npz", {"visible_bias": np.zeros(4, np.float64)}, "visible_bias.npy: expected float32")):
            np.savez(self.path(name), **dict(ok, **change))
            self.assert_bad(run("info", self.path(name)), f"{name}: {fragment}")

    def test_unwritable_model_directory(self):
        cfg = self.config(self.small_csv(), model="no/such/dir/model.npz")
        result = run("train", cfg)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("no/such/dir/model.npz: cannot write there", result.stderr)


class Training(Workspace):
    def load(self, path):
        with np.load(path) as f:
            return {k: f[k] for k in f.files}

    def test_kaggle_csv_with_label_column(self):
        rng = np.random.default_rng(1)
        pixels = rng.integers(0, 256, size=(23, 12))
        labels = rng.integers(0, 10, size=23)
        text = "label," + ",".join(f"pixel{i}" for i in range(12)) + "\n"
        text += "".join(f"{l}," + ",".join(map(str, p)) + "\r\n" for l, p in zip(labels, pixels))
        cfg = self.config(self.write("train.csv", text), extra=f"\nthreads = 2", model="k.npz")
        log = self.path("log.jsonl")
        result = run("train", cfg, "-s", f"output.log={log}", "-s", "train.epochs=3")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stderr, r"epoch 3/3  recon_error [0-9.]+  [0-9.]+ s  \d+ samples/s")
        m = self.load(self.path("k.npz"))
        self.assertEqual(m["weights"].shape, (6, 12))  # the label column is not trained on
        self.assertEqual(m["weights"].dtype, np.float32)
        self.assertEqual(m["hidden_bias"].shape, (6,))
        self.assertEqual(m["hidden_bias"].dtype, np.float32)
        self.assertEqual(m["visible_bias"].shape, (12,))
        self.assertEqual(m["visible_bias"].dtype, np.float32)
        self.assertTrue(np.all(np.isfinite(m["weights"])))
        self.assertIn("hidden = 6", str(m["config"]))
        meta = json.loads(str(m["metadata"]))
        self.assertEqual(meta["epochs_trained"], 3)
        self.assertEqual(meta["samples"], 23)
        with open(log) as f:
            records = [json.loads(line) for line in f]
        self.assertEqual([r["epoch"] for r in records], [1, 2, 3])
        monitors = {"validation_recon_error", "free_energy_train", "free_energy_validation",
                    "free_energy_gap", "pseudo_likelihood"}
        for r in records:
            self.assertEqual(set(r), {"layer", "epoch", "recon_error", "seconds",
                                      "samples_per_second"} | monitors)
            self.assertEqual(r["layer"], 1)
            for key in monitors:  # no validation set: null, not NaN (JSON has none)
                self.assertIsNone(r[key])
        self.assertAlmostEqual(meta["final_recon_error"], records[-1]["recon_error"], places=6)
        info = run("info", self.path("k.npz"))
        self.assertEqual(info.returncode, 0, info.stderr)
        self.assertIn("weights 6 x 12", info.stdout)
        self.assertIn("epochs trained: 3", info.stdout)
        self.assertIn("seed: 1", info.stdout)
        self.assertIn(f"final recon_error: {meta['final_recon_error']:.9g}", info.stdout)
        config = info.stdout.split("config:\n", 1)[1]  # the config the model was trained with
        self.assertIn(f"train = {self.path('train.csv')}\n", config)
        self.assertIn("[model]\nhidden = 6\n", config)
        self.assertIn("epochs = 3\n", config)  # the --set value, not the file's 2

    def test_every_format_trains(self):
        rng = np.random.default_rng(2)
        images = rng.integers(0, 256, size=(9, 4, 4), dtype=np.uint8)
        raw = struct.pack(">BBBB", 0, 0, 8, 3) + struct.pack(">III", 9, 4, 4) + images.tobytes()
        inputs = [self.write("d-ubyte", raw, mode="wb"), self.write("d-ubyte.gz", gzip.compress(raw), mode="wb")]
        for dtype in (np.uint8, np.float32, np.float64):
            name = self.path(f"d-{np.dtype(dtype).name}.npy")
            array = images.reshape(9, 16)
            np.save(name, array if dtype == np.uint8 else (array / 255.0).astype(dtype))
            inputs.append(name)
        inputs.append(self.write("floats.csv", "".join(",".join(f"{v / 255:.6f}" for v in row) + "\n"
                                                       for row in images.reshape(9, 16))))
        models = []
        for i, data in enumerate(inputs):
            result = run("train", self.config(data, model=f"m{i}.npz", name=f"c{i}.ini"))
            self.assertEqual(result.returncode, 0, f"{data}: {result.stderr}")
            models.append(self.load(self.path(f"m{i}.npz")))
            self.assertEqual(models[-1]["weights"].shape, (6, 16))
        # IDX, gzip IDX and uint8 .npy hold the same bytes: the same model
        for k in ("weights", "hidden_bias", "visible_bias"):
            np.testing.assert_array_equal(models[0][k], models[1][k])
            np.testing.assert_array_equal(models[0][k], models[2][k])

    def trained_weights(self, data, *overrides, name):
        config = self.config(data, model=f"{name}.npz", name=f"{name}.ini")
        result = run("train", config, *overrides)
        self.assertEqual(result.returncode, 0, result.stderr)
        model = self.load(self.path(f"{name}.npz"))
        parameters = ("weights", "hidden_bias", "visible_bias")
        return model, np.concatenate([model[k].ravel() for k in parameters])

    def test_data_options(self):
        rng = np.random.default_rng(4)
        halves = rng.integers(0, 3, size=(11, 5))  # 0, 1, 2: exact halves after scale = 2
        as_text = lambda rows: "".join(",".join(map(str, r)) + "\n" for r in rows)
        plain, reference = self.trained_weights(self.write("p.csv", as_text(halves / 2)), name="p")
        # scale = NUMBER divides every value
        _, scaled = self.trained_weights(self.write("h.csv", as_text(halves)), "-s", "data.scale=2",
                                         name="h")
        np.testing.assert_array_equal(scaled, reference)
        # a header without a label column is skipped, and every column is trained on
        header = "p0,p1,p2,p3,p4\n" + as_text(halves / 2)
        model, with_header = self.trained_weights(self.write("n.csv", header), name="n")
        self.assertEqual(model["weights"].shape, (6, 5))
        np.testing.assert_array_equal(with_header, reference)
        # format = csv reads a CSV whatever its name says; format = idx refuses one that is not
        misnamed = self.write("text.npy", as_text(halves / 2))
        self.assert_bad(run("train", self.config(misnamed)), "text.npy: ", "not a .npy file")
        _, named = self.trained_weights(misnamed, "-s", "data.format=csv", name="d")
        np.testing.assert_array_equal(named, reference)
        np.save(self.path("x.npy"), (halves / 2).astype(np.float32))
        self.assert_bad(run("train", self.config(self.path("x.npy")), "-s", "data.format=idx"),
                        "x.npy: byte offset 0: wrong IDX magic")
        # limit = N trains on the first N rows only
        model, limited = self.trained_weights(self.path("p.csv"), "-s", "data.limit=7", name="l")
        self.assertEqual(json.loads(str(model["metadata"]))["samples"], 7)
        _, first_rows = self.trained_weights(self.write("f.csv", as_text(halves[:7] / 2)), name="f")
        np.testing.assert_array_equal(limited, first_rows)
        self.assertFalse(np.array_equal(limited, reference))

    def test_same_bytes_any_thread_count(self):
        rng = np.random.default_rng(3)
        np.save(self.path("d.npy"), rng.random((157, 30), dtype=np.float32))
        files = {}
        for threads in (1, 2, 3, 4, 7, 16):
            # 16-row batches of 1-row chunks and 8 update strips: work for every thread count
            cfg = self.config(self.path("d.npy"), extra=f"threads = {threads}\nchunk_rows = 1\n"
                                                        f"update_strips = 8",
                              model=f"t{threads}.npz", name=f"t{threads}.ini")
            result = run("train", cfg, "-s", "train.batch_size=16")
            self.assertEqual(result.returncode, 0, result.stderr)
            files[threads] = self.read(f"t{threads}.npz")
        for threads, content in files.items():
            self.assertEqual(content, files[1], f"threads = {threads} changed the model file")
        again = run("train", self.path("t2.ini"), "-s", "train.batch_size=16",
                    "-s", f"output.model={self.path('again.npz')}")
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual(self.read("again.npz"), files[1])
        other = run("train", self.path("t2.ini"), "-s", "train.batch_size=16", "-s", "train.seed=2",
                    "-s", f"output.model={self.path('s2.npz')}")
        self.assertEqual(other.returncode, 0, other.stderr)
        self.assertNotEqual(self.load(self.path("s2.npz"))["weights"].tobytes(),
                            self.load(self.path("t1.npz"))["weights"].tobytes())


class Resume(Workspace):
    @classmethod
    def setUpClass(cls):
        """One uninterrupted reference run for every test of the class."""
        cls.shared = tempfile.TemporaryDirectory()
        rng = np.random.default_rng(5)
        cls.data = os.path.join(cls.shared.name, "d.npy")
        np.save(cls.data, (rng.random((6000, 256)) < 0.3).astype(np.float32) * 0.9)
        cls.settings = (f"[data]\ntrain = {cls.data}\n[model]\nhidden = 150\n[train]\nepochs = 5\n"
                        f"batch_size = 50\nchunk_rows = 17\nthreads = 2\n[output]\n")
        config = os.path.join(cls.shared.name, "full.ini")
        with open(config, "w") as f:
            f.write(cls.settings + f"model = {cls.shared.name}/full.npz\ncheckpoint_every = 5\n")
        result = run("train", config)
        assert result.returncode == 0, result.stderr
        with open(f"{cls.shared.name}/full.npz", "rb") as f:
            cls.full = f.read()
        cls.full_checkpoint = f"{cls.shared.name}/full.npz.ckpt"

    @classmethod
    def tearDownClass(cls):
        cls.shared.cleanup()

    def setUp(self):
        super().setUp()
        self.cfg = self.write("r.ini", self.settings + f"model = {self.path('m.npz')}\n"
                                                       f"checkpoint_seconds = 0.01\n")
        with open(self.full_checkpoint, "rb") as f:
            self.write("full.npz.ckpt", f.read(), mode="wb")

    def test_sigkill_at_random_batches_then_resume(self):
        # 12 trials; CI's sanitizer passes, where each run is 5-10 x slower, ask for fewer
        trials = int(os.environ.get("RBM_TEST_KILL_TRIALS", "12"))
        rng = random.Random(20261125)
        kills = 0
        for trial in range(trials):
            for name in ("m.npz", "m.npz.ckpt"):
                if os.path.exists(self.path(name)):
                    os.remove(self.path(name))
            kills += kill_and_resume(RBM, self.cfg, self.path("m.npz"), self.path("m.npz.ckpt"), rng, 0.3,
                                     extra=("-s", f"train.threads={1 + trial % 3}"))
            self.assertEqual(self.read("m.npz"), self.full, f"trial {trial}: resumed model differs")
        print(f"{kills} kills over {trials} trials", file=sys.stderr)
        self.assertGreaterEqual(kills, trials // 2)  # most trials were really interrupted

    def stop_with(self, number, status):
        process = subprocess.Popen([RBM, "train", self.cfg, "-s", "train.epochs=400"],
                                   stderr=subprocess.PIPE, text=True)
        import time
        time.sleep(0.5)
        process.send_signal(number)
        _, stderr = process.communicate(timeout=60)
        self.assertEqual(process.returncode, status, stderr)
        self.assertIn("rbm: resume with:", stderr)
        self.assertIn(f"--resume {self.path('m.npz.ckpt')}", stderr)
        self.assertIn("(the model so far)", stderr)
        with np.load(self.path("m.npz")) as m:
            self.assertEqual(m["weights"].shape, (150, 256))
        # resuming (with fewer epochs, to finish quickly) is refused only for settings that matter
        result = run("train", self.cfg, "-s", "train.epochs=400", "-s", "train.momentum=0.5",
                     "--resume", self.path("m.npz.ckpt"))
        self.assertEqual(result.returncode, 2)
        self.assertIn("train.momentum (0.9 in the checkpoint, 0.5 now)", result.stderr)

    def test_sigint(self):
        self.stop_with(signal.SIGINT, 130)

    def test_stop_in_the_first_epoch_and_resume_appends_to_the_log(self):
        log = self.path("log.jsonl")
        process = subprocess.Popen([RBM, "train", self.cfg, "-s", f"output.log={log}", "-s", "data.limit=6000",
                                    "-s", "train.batch_size=10"], stderr=subprocess.PIPE, text=True)
        import time
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        if process.returncode == 0:
            self.skipTest("the run ended before the signal")
        self.assertEqual(process.returncode, 130, stderr)
        with np.load(self.path("m.npz")) as m:  # metadata stays valid JSON without a finished epoch
            json.loads(str(m["metadata"]))
        with open(log) as f:
            before = f.read()
        result = run("train", self.cfg, "-s", f"output.log={log}", "-s", "data.limit=6000",
                     "-s", "train.batch_size=10", "--resume", self.path("m.npz.ckpt"))
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(log) as f:
            after = f.read()
        self.assertTrue(after.startswith(before))
        self.assertEqual(json.loads(after.splitlines()[-1])["epoch"], 5)

    def test_sigterm(self):
        self.stop_with(signal.SIGTERM, 143)

    def test_sigint_while_loading_the_data(self):
        """SIGINT while the 60,000 gzip'd images load (about half a second): the load ends,
        nothing is trained or written, and the exit status says SIGINT. The delays try to land
        in that window; at least one must."""
        import time
        config = self.config(FASHION, model="early.npz")
        hits = 0
        for delay in (0.1, 0.2, 0.3, 0.15, 0.25):
            # a signal that missed the window stopped a training run, which wrote its model:
            # each try starts without one
            if os.path.exists(self.path("early.npz")):
                os.remove(self.path("early.npz"))
            process = subprocess.Popen([RBM, "train", config], stderr=subprocess.PIPE, text=True)
            time.sleep(delay)
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=120)
            if "before training started" in stderr:
                hits += 1
                self.assertEqual(process.returncode, 130, stderr)
                self.assertIn("nothing was written", stderr)
                self.assertFalse(os.path.exists(self.path("early.npz")))
        self.assertGreater(hits, 0)

    def test_second_sigint_exits_at_once(self):
        process = subprocess.Popen([RBM, "train", self.cfg, "-s", "train.epochs=400"],
                                   stderr=subprocess.PIPE, text=True)
        import time
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        self.assertEqual(process.returncode, 130, stderr)
        if os.path.exists(self.path("m.npz.ckpt")):  # whatever is there is whole
            result = run("train", self.cfg, "-s", "train.epochs=400", "-s", "train.threads=1",
                         "-s", "train.momentum=0.5", "--resume", self.path("m.npz.ckpt"))
            self.assertIn("train.momentum", result.stderr)

    def test_more_epochs_extend_the_run(self):
        longer = run("train", self.cfg, "-s", "train.epochs=6", "-s", f"output.model={self.path('six.npz')}",
                     "-s", "output.checkpoint_seconds=0")
        self.assertEqual(longer.returncode, 0, longer.stderr)
        result = run("train", self.cfg, "-s", "train.epochs=6", "-s", "train.threads=3",
                     "--resume", self.path("full.npz.ckpt"))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.read("m.npz"), self.read("six.npz"))

    def test_resume_refuses_other_settings_and_data(self):
        for override, fragment in (("model.hidden=41", "model.hidden (150 in the checkpoint, 41 now)"),
                                   ("train.seed=7", "train.seed (1 in the checkpoint, 7 now)"),
                                   ("train.learning_rate=0.05", "train.learning_rate"),
                                   ("data.limit=2000", "data.limit (0 in the checkpoint, 2000 now)")):
            result = run("train", self.cfg, "-s", override, "--resume", self.path("full.npz.ckpt"))
            self.assert_bad(result, fragment)
        self.assert_bad(run("train", self.cfg, "-s", "train.epochs=3", "--resume", self.path("full.npz.ckpt")),
                        "the checkpoint is past epoch 5 already; train.epochs = 3 cannot go back")
        np.save(self.path("other.npy"), np.zeros((6000, 256), np.float32))
        result = run("train", self.cfg, "-s", f"data.train={self.path('other.npy')}",
                     "--resume", self.path("full.npz.ckpt"))
        self.assert_bad(result, "the checkpoint was made on other data")

    def test_hostile_checkpoints(self):
        good = self.read("full.npz.ckpt")
        self.assertGreater(len(good), 100_000)
        for name, content, fragment in (("empty.ckpt", b"", "not a readable .npz"),
                                        ("half.ckpt", good[: len(good) // 2], "half.ckpt:"),
                                        ("model.ckpt", self.full, "state.npy is missing")):
            self.write(name, content, mode="wb")
            self.assert_bad(run("train", self.cfg, "--resume", self.path(name)), fragment)
        flipped = bytearray(good)
        flipped[len(flipped) // 3] ^= 0x40  # inside the weights: the zip CRC catches it
        self.write("flip.ckpt", bytes(flipped), mode="wb")
        self.assert_bad(run("train", self.cfg, "--resume", self.path("flip.ckpt")), "flip.ckpt:")
        self.assert_bad(run("train", self.cfg, "--resume", self.path("none.ckpt")), "none.ckpt: cannot open")


    def test_checkpoint_chains_must_be_samples(self):
        """PCD's chains are hidden samples, 0 or 1; a checkpoint with another value is refused
        (the sums of the ones would take it for a 1), naming the element."""
        cfg = self.write("p.ini", self.settings + f"model = {self.path('p.npz')}\n"
                                                  f"checkpoint_every = 1\n")
        result = run("train", cfg, "-s", "train.persistent=true", "-s", "train.epochs=1")
        self.assertEqual(result.returncode, 0, result.stderr)
        with zipfile.ZipFile(self.path("p.npz.ckpt")) as z:
            members = {name: z.read(name) for name in z.namelist()}
        chains = np.load(io.BytesIO(members["chains.npy"]))
        self.assertTrue(np.isin(chains, (0.0, 1.0)).all())
        chains.flat[7] = 0.5
        buffer = io.BytesIO()
        np.save(buffer, chains)
        members["chains.npy"] = buffer.getvalue()
        with zipfile.ZipFile(self.path("half.ckpt"), "w") as z:
            for name, data in members.items():
                z.writestr(name, data)
        self.assert_bad(run("train", cfg, "-s", "train.persistent=true", "-s", "train.epochs=2",
                            "--resume", self.path("half.ckpt")),
                        "half.ckpt: chains.npy: element 7 is 0.5, not a 0/1 sample")


class Faults(Workspace):
    def setUp(self):
        super().setUp()
        rng = np.random.default_rng(6)
        np.save(self.path("d.npy"), rng.random((500, 300), dtype=np.float32))
        self.cfg = self.write("f.ini", f"[data]\ntrain = {self.path('d.npy')}\n[model]\nhidden = 200\n"
                                       f"[train]\nepochs = 2\n[output]\nmodel = {self.path('m.npz')}\n")

    def test_disk_full_leaves_the_previous_model(self):
        self.write("m.npz", b"the previous model", mode="wb")
        limit = lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
        result = subprocess.run([RBM, "train", self.cfg], capture_output=True, text=True,
                                preexec_fn=limit, timeout=120)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("m.npz", result.stderr)
        self.assertEqual(self.read("m.npz"), b"the previous model")
        self.assertEqual([f for f in os.listdir(self.dir) if ".tmp." in f], [])

    def test_disk_full_for_a_checkpoint(self):
        self.write("c.ckpt", b"the previous checkpoint", mode="wb")
        limit = lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
        result = subprocess.run([RBM, "train", self.cfg, "-s", "output.checkpoint_every=1",
                                 "-s", f"output.checkpoint={self.path('c.ckpt')}"],
                                capture_output=True, text=True, preexec_fn=limit, timeout=120)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("c.ckpt", result.stderr)
        self.assertFalse(os.path.exists(self.path("m.npz")))
        self.assertEqual(self.read("c.ckpt"), b"the previous checkpoint")
        self.assertEqual([f for f in os.listdir(self.dir) if ".tmp." in f], [])

    def test_unwritable_outputs(self):
        # /proc takes no new files, even from root (chmod would not stop root)
        for key in ("output.model=/proc/rbm-model.npz", "output.checkpoint=/proc/rbm.ckpt"):
            result = run("train", self.cfg, "-s", key)
            self.assertEqual(result.returncode, 1, result.stderr)
            self.assertIn("/proc/rbm", result.stderr)
            self.assertIn("cannot write there", result.stderr)

    def test_divergence_stops_naming_epoch_and_batch(self):
        result = run("train", self.cfg, "-s", "train.learning_rate=1", "-s", "train.weight_decay=1000000",
                     "-s", "output.checkpoint_seconds=0.0001")
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertRegex(result.stderr, r"training diverged in epoch \d+, batch \d+: the "
                                         r"(reconstruction error is|parameters are) not finite")
        self.assertFalse(os.path.exists(self.path("m.npz")))
        if os.path.exists(self.path("m.npz.ckpt")):  # the last good checkpoint: finite, loadable
            with np.load(self.path("m.npz.ckpt")) as c:
                self.assertTrue(np.all(np.isfinite(c["weights"])))
                self.assertTrue(np.all(np.isfinite(c["velocity_weights"])))

    def test_read_only_checkpoint(self):
        self.write("m.npz.ckpt", b"a checkpoint someone protected", mode="wb")
        os.chmod(self.path("m.npz.ckpt"), 0o444)
        result = run("train", self.cfg)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("m.npz.ckpt: the file is read-only", result.stderr)
        self.assertEqual(self.read("m.npz.ckpt"), b"a checkpoint someone protected")


class ThreadedCheckpoints(Workspace):
    def test_checkpointing_every_batch_changes_nothing(self):
        """A checkpoint at almost every batch boundary, at several thread counts: the model is
        the same as without checkpoints (run under ThreadSanitizer in CI)."""
        np.save(self.path("d.npy"), np.random.default_rng(8).random((400, 30), dtype=np.float32))
        cfg = self.config(self.path("d.npy"), extra="chunk_rows = 1")
        # the row split, the hidden-unit split with PCD chains and CD-2 (cd_hidden.c), and the
        # bit-count gradient
        for split in (["-s", "train.split=rows"],
                      ["-s", "train.split=hidden", "-s", "train.update_strips=3",
                       "-s", "train.persistent=true", "-s", "train.cd_steps=2"],
                      ["-s", "train.split=rows", "-s", "train.bit_counts=true",
                       "-s", "train.batch_size=70"]):
            plain = run("train", cfg, *split, "-s", "output.checkpoint_seconds=0",
                        "-s", f"output.model={self.path('p.npz')}")
            self.assertEqual(plain.returncode, 0, plain.stderr)
            for threads in (2, 4, 7):
                result = run("train", cfg, *split, "-s", f"train.threads={threads}",
                             "-s", "output.checkpoint_seconds=0.0001", "-s", "output.checkpoint_every=1",
                             "-s", f"output.model={self.path('c.npz')}")
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertEqual(self.read("c.npz"), self.read("p.npz"), f"{split}, threads {threads}")
                self.assertTrue(os.path.exists(self.path("c.npz.ckpt")))

    def test_hidden_split_resumes_to_the_same_bits(self):
        np.save(self.path("d.npy"), np.random.default_rng(9).random((203, 30), dtype=np.float32))
        cfg = self.config(self.path("d.npy"), extra="split = hidden\nupdate_strips = 3\n"
                                                    "persistent = true\nthreads = 2")
        whole = run("train", cfg, "-s", "train.epochs=4", "-s", f"output.model={self.path('w.npz')}")
        self.assertEqual(whole.returncode, 0, whole.stderr)
        half = run("train", cfg, "-s", "output.checkpoint_every=1")  # epochs = 2, then resume
        self.assertEqual(half.returncode, 0, half.stderr)
        refused = run("train", cfg, "-s", "train.epochs=4", "-s", "train.split=rows",
                      "--resume", self.path("model.npz.ckpt"))
        self.assertEqual(refused.returncode, 2, refused.stderr)
        self.assertIn("train.split (hidden in the checkpoint, rows now)", refused.stderr)
        resumed = run("train", cfg, "-s", "train.epochs=4", "-s", "train.threads=3",
                      "--resume", self.path("model.npz.ckpt"))
        self.assertEqual(resumed.returncode, 0, resumed.stderr)
        self.assertEqual(self.read("model.npz"), self.read("w.npz"))

    def test_bit_counts_resume_to_the_same_bits(self):
        np.save(self.path("d.npy"), np.random.default_rng(10).random((203, 30), dtype=np.float32))
        cfg = self.config(self.path("d.npy"), extra="bit_counts = true\nthreads = 2")
        wide = ["-s", "train.batch_size=70"]  # 2 words of bits per column, 1 in the last batch
        whole = run("train", cfg, *wide, "-s", "train.epochs=4",
                    "-s", f"output.model={self.path('w.npz')}")
        self.assertEqual(whole.returncode, 0, whole.stderr)
        plain = run("train", cfg, *wide, "-s", "train.epochs=4", "-s", "train.bit_counts=false",
                    "-s", f"output.model={self.path('f.npz')}")
        self.assertEqual(plain.returncode, 0, plain.stderr)
        self.assertNotEqual(self.read("w.npz"), self.read("f.npz"))  # the option is wired
        half = run("train", cfg, *wide, "-s", "output.checkpoint_every=1")  # 2 epochs, then resume
        self.assertEqual(half.returncode, 0, half.stderr)
        refused = run("train", cfg, *wide, "-s", "train.epochs=4", "-s", "train.bit_counts=false",
                      "--resume", self.path("model.npz.ckpt"))
        self.assertEqual(refused.returncode, 2, refused.stderr)
        self.assertIn("train.bit_counts (true in the checkpoint, false now)", refused.stderr)
        resumed = run("train", cfg, *wide, "-s", "train.epochs=4", "-s", "train.threads=1",
                      "--resume", self.path("model.npz.ckpt"))
        self.assertEqual(resumed.returncode, 0, resumed.stderr)
        self.assertEqual(self.read("model.npz"), self.read("w.npz"))


class Bench(Workspace):
    def test_bench_writes_every_figure(self):
        np.save(self.path("d.npy"), np.random.default_rng(7).random((60, 20), dtype=np.float32))
        cfg = self.config(self.path("d.npy"))
        result = run("bench", cfg, "--repeats", "1", "--epochs", "1", "--threads", "1,2",
                     "--sizes", "20,40,60", "--csv", self.path("b.csv"), "--plot", self.path("b.svg"))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("train/floor", result.stdout)
        self.assertIn("train/own", result.stdout)
        self.assertRegex(result.stdout, r"fit, 2 threads: seconds = .* R\^2 = [0-9.]+")
        with open(self.path("b.csv")) as f:
            measures = {line.split(",")[0] for line in f.readlines()[1:]}
        expected = {"sgemm_floor", "own_products_floor", "train_epoch", "size_sweep_epoch",
                    "size_sweep_r2", "epochs_sweep_total", "epochs_sweep_r2", "profile_on_epoch",
                    "profile_off_epoch"}
        if len(os.sched_getaffinity(0)) >= 2:  # the host's core-to-core round trip, start and end
            expected |= {"cache_line_round_trip_start", "cache_line_round_trip_end"}
            self.assertRegex(result.stdout, r"round trip between CPUs \d+ and \d+: \d+ ns "
                                            r"\(again at the end\)")
            self.assertRegex(result.stdout, r"round trip between CPUs \d+ and \d+: \d+ ns at the "
                                            r"end, \d+ ns at the start")
        self.assertEqual(measures, expected)
        with open(self.path("b.svg")) as f:
            svg = f.read()
        self.assertEqual(svg.count("<polyline"), 2)  # one line per thread count
        self.assertIn("2 threads", svg)
        self.assertIn("split hidden", result.stdout)  # the default
        # the floor and the trainer of the other split
        rows = run("bench", cfg, "-s", "train.split=rows", "-s", "train.update_strips=3",
                   "--repeats", "1", "--epochs", "1", "--threads", "1,2", "--sizes", "60",
                   "--csv", self.path("h.csv"), "--plot", self.path("h.svg"))
        self.assertEqual(rows.returncode, 0, rows.stderr)
        self.assertIn("update_strips 3, split rows", rows.stdout)
        # one size is no line: no slope and no R^2 made up for it
        self.assertIn("no line for 2 threads: the sweep needs two different sizes", rows.stdout)
        self.assertNotIn("R^2 = 1.00000\n", rows.stdout.split("against epochs")[0])
        self.assertRegex(rows.stdout, r"\n +2 +[0-9.]+ +[0-9.]+ +[0-9.]+")
        # and with bit counts, which the floor runs too
        counted = run("bench", cfg, "-s", "train.bit_counts=true", "--repeats", "1", "--epochs",
                      "1", "--threads", "1,2", "--sizes", "60", "--csv", self.path("c.csv"),
                      "--plot", self.path("c.svg"))
        self.assertEqual(counted.returncode, 0, counted.stderr)
        self.assertIn("split hidden, bit_counts true (the floor counts bits too)", counted.stdout)
        self.assertRegex(counted.stdout, r"\n +2 +[0-9.]+ +[0-9.]+ +[0-9.]+")

    def test_bench_bad_arguments(self):
        cfg = self.config(self.small_csv())
        self.assert_bad(run("bench", cfg, "--threads", "1,x"), "--threads: '1,x' is not a list")
        self.assert_bad(run("bench", cfg, "--repeats"), "--repeats needs a value")
        self.assert_bad(run("bench", cfg, "--fast", "1"), "unknown option '--fast'")
        self.assert_bad(run("bench"), "usage: rbm bench")


CONFIGS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "configs")


class ShippedConfigs(Workspace):
    def test_every_key_is_in_each_config_with_a_comment(self):
        import re
        keys = re.findall(r"^    (\w+) = ", run("train", "--help").stdout, re.M)
        self.assertGreater(len(keys), 15)
        for name in ("default.ini", "kaggle-mnist.ini"):
            with open(os.path.join(CONFIGS, name)) as f:
                lines = f.read().splitlines()
            for key in keys:
                at = [i for i, line in enumerate(lines) if re.match(rf"{key} =", line)]
                self.assertEqual(len(at), 1, f"{name}: {key}")
                self.assertTrue(lines[at[0] - 1].startswith(";"), f"{name}: {key} has no comment")

    def test_default_config_runs(self):
        cfg = os.path.join(CONFIGS, "default.ini")
        result = run("train", cfg, "-s", "data.limit=300", "-s", "train.epochs=1",
                     "-s", f"output.model={self.path('d.npz')}", "-s", f"output.log={self.path('d.jsonl')}")
        self.assertEqual(result.returncode, 0, result.stderr)
        with np.load(self.path("d.npz")) as m:
            self.assertEqual(m["weights"].shape, (300, 784))

    def test_kaggle_config_runs_on_a_kaggle_shaped_file(self):
        rng = np.random.default_rng(4)
        header = "label," + ",".join(f"pixel{i}" for i in range(784)) + "\n"
        rows = "".join(f"{rng.integers(10)}," + ",".join(map(str, rng.integers(0, 256, 784))) + "\n"
                       for _ in range(120))
        self.write("train.csv", header + rows)
        result = run("train", os.path.join(CONFIGS, "kaggle-mnist.ini"), "-s", "train.epochs=1", cwd=self.dir)
        self.assertEqual(result.returncode, 0, result.stderr)
        with np.load(self.path("kaggle-mnist.npz")) as m:
            self.assertEqual(m["weights"].shape, (300, 784))


def pcg32_flips(seed, rows, units):
    """The unit rbm flips in row r for the pseudo-likelihood: output r of PCG32 (seed, stream
    0x504c "PL"), times units, over 2^32."""
    mask = (1 << 64) - 1
    multiplier = 6364136223846793005
    increment = ((0x504C << 1) | 1) & mask
    state = 0
    state = (state * multiplier + increment) & mask  # pcg32_srandom_r
    state = (state + seed) & mask
    state = (state * multiplier + increment) & mask
    flips = []
    for _ in range(rows):
        old = state
        state = (old * multiplier + increment) & mask
        xorshifted = (((old >> 18) ^ old) >> 27) & 0xFFFFFFFF
        rotation = old >> 59
        output = ((xorshifted >> rotation) | (xorshifted << ((-rotation) & 31))) & 0xFFFFFFFF
        flips.append((output * units) >> 32)
    return np.array(flips)


class UsingModels(Workspace):
    """rbm transform, reconstruct, sample, filters, eval and plot on a small stack trained with
    the training options and a validation set; the numbers are checked against NumPy."""

    def setUp(self):
        super().setUp()
        rng = np.random.default_rng(5)
        self.data = (rng.random((300, 36)) < rng.random(36)).astype(np.float32)
        np.save(self.path("data.npy"), self.data)
        np.save(self.path("wide.npy"), np.zeros((4, 35), np.float32))
        self.ini = self.write("stack.ini",
                              f"[data]\ntrain = {self.path('data.npy')}\nvalidation_fraction = 0.2\n"
                              "[model]\nlayers = 36,12,5\nvisible_bias_init = data\n"
                              "[train]\nepochs = 3\nbatch_size = 20\ncd_steps = 2\nshuffle = true\n"
                              "momentum_switch_epoch = 1\nsparsity_cost = 0.1\n"
                              f"[output]\nmodel = {self.path('stack.npz')}\nlog = {self.path('log.jsonl')}\n")
        result = run("train", self.ini, "--quiet")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr, "")  # --quiet: nothing on success

    def layers(self):
        archive = np.load(self.path("stack.npz"))
        return [(archive["weights"], archive["hidden_bias"], archive["visible_bias"]),
                (archive["layer2_weights"], archive["layer2_hidden_bias"],
                 archive["layer2_visible_bias"])]

    def test_log_has_the_monitors_per_layer(self):
        with open(self.path("log.jsonl")) as f:
            records = [json.loads(line) for line in f]
        self.assertEqual([(r["layer"], r["epoch"]) for r in records],
                         [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3)])
        for r in records:
            for key in ("validation_recon_error", "free_energy_gap", "pseudo_likelihood"):
                self.assertTrue(np.isfinite(r[key]), (key, r))
            self.assertAlmostEqual(r["free_energy_gap"],
                                   r["free_energy_validation"] - r["free_energy_train"], places=5)

    def test_transform_and_reconstruct_match_numpy(self):
        out = self.path("features.npy")
        result = run("transform", self.path("stack.npz"), self.path("data.npy"), "-o", out,
                     "--threads", "2")
        self.assertEqual(result.returncode, 0, result.stderr)
        sigmoid = lambda x: 1 / (1 + np.exp(-x))
        (w1, h1, v1), (w2, h2, v2) = self.layers()
        up1 = sigmoid(self.data @ w1.T + h1)
        up2 = sigmoid(up1 @ w2.T + h2)
        self.assertLess(np.abs(np.load(out) - up2).max(), 1e-5)
        out1 = self.path("features1.npy")
        run("transform", self.path("stack.npz"), self.path("data.npy"), "-o", out1, "--threads", "1")
        self.assertEqual(self.read("features.npy"), self.read("features1.npy"))
        recon = self.path("recon.npy")
        result = run("reconstruct", self.path("stack.npz"), self.path("data.npy"), "-o", recon)
        self.assertEqual(result.returncode, 0, result.stderr)
        down = sigmoid(sigmoid(up2 @ w2 + v2) @ w1 + v1)
        self.assertLess(np.abs(np.load(recon) - down).max(), 1e-5)

    def test_sample_and_pictures(self):
        a, b = self.path("a.npy"), self.path("b.npy")
        for out, threads in ((a, "1"), (b, "3")):
            result = run("sample", self.path("stack.npz"), "-n", "7", "--gibbs-steps", "20",
                         "--seed", "4", "-o", out, "--threads", threads)
            self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.read("a.npy"), self.read("b.npy"))
        samples = np.load(a)
        self.assertEqual(samples.shape, (7, 36))
        self.assertTrue(((samples >= 0) & (samples <= 1)).all())
        run("sample", self.path("stack.npz"), "-n", "7", "--gibbs-steps", "20", "--seed", "5", "-o", b)
        self.assertNotEqual(self.read("a.npy"), self.read("b.npy"))
        for args in (("sample", self.path("stack.npz"), "-n", "9", "-o", self.path("s.png")),
                     ("filters", self.path("stack.npz"), "-o", self.path("f.png")),
                     ("reconstruct", self.path("stack.npz"), self.path("data.npy"), "-o",
                      self.path("r.png"), "--limit", "10"),
                     ("plot", self.path("log.jsonl"), "-o", self.path("c.png"))):
            result = run(*args)
            self.assertEqual(result.returncode, 0, result.stderr)
            with open(args[args.index("-o") + 1], "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        result = run("plot", self.path("log.jsonl"), "-o", self.path("c.svg"))
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(self.path("c.svg")) as f:
            svg = f.read()
        self.assertIn("<svg", svg)
        self.assertEqual(svg.count("<path"), 5)  # the axes, three curves, one line between RBMs
        self.assertEqual(svg.count('stroke="#999"'), 1)
        recon = next(line for line in svg.splitlines() if 'stroke="#1f77b4"' in line)
        self.assertEqual(recon.count("M"), 2)  # each RBM's curve on its own

    def test_eval_exact_for_small_models(self):
        result = run("eval", self.path("stack.npz"), self.path("data.npy"), "--json")
        self.assertEqual(result.returncode, 0, result.stderr)
        e = json.loads(result.stdout)
        self.assertEqual(e["log_z_method"], "exact")  # 12 hidden units: enumerated
        self.assertEqual(e["log_z_stderr"], 0)
        # brute force over the 2^12 hidden states, in NumPy
        w, h, v = (x.astype(np.float64) for x in self.layers()[0])
        states = ((np.arange(4096)[:, None] >> np.arange(12)) & 1).astype(np.float64)
        terms = states @ h + np.logaddexp(0, states @ w + v).sum(axis=1)
        log_z = np.logaddexp.reduce(terms)
        free_energy = -(self.data @ v) - np.logaddexp(0, self.data @ w.T + h).sum(axis=1)
        self.assertAlmostEqual(e["log_z"], log_z, places=4)
        self.assertAlmostEqual(e["avg_log_prob"], -free_energy.mean() - log_z, places=3)
        for key in ("recon_error", "free_energy", "pseudo_likelihood"):
            self.assertIn(key, e)

    def test_pseudo_likelihood_is_scikit_learns(self):
        """scikit-learn's BernoulliRBM.score_samples, given the same parameters and told which
        unit to flip in each row (rbm's documented choice, PCG32 reimplemented here), gives the
        same mean as the log's pseudo_likelihood for the validation rows."""
        from sklearn.neural_network import BernoulliRBM
        from sklearn.utils import check_random_state  # noqa: F401 (what score_samples calls)
        one = self.write("one.ini", f"[data]\ntrain = {self.path('data.npy')}\n"
                         f"validation = {self.path('held.npy')}\n[model]\nhidden = 7\n"
                         f"[train]\nepochs = 2\nbatch_size = 20\nseed = 9\n"
                         f"[output]\nmodel = {self.path('one.npz')}\nlog = {self.path('one.jsonl')}\n")
        held = self.data[:57]
        np.save(self.path("held.npy"), held)
        result = run("train", one)
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(self.path("one.jsonl")) as f:
            last = json.loads(f.read().splitlines()[-1])
        archive = np.load(self.path("one.npz"))
        flips = pcg32_flips(seed=9, rows=len(held), units=held.shape[1])

        class Flips(np.random.RandomState):
            def randint(self, low, high=None, size=None, dtype=int):
                return flips

        model = BernoulliRBM(n_components=7)
        model.components_ = archive["weights"].astype(np.float64)
        model.intercept_hidden_ = archive["hidden_bias"].astype(np.float64)
        model.intercept_visible_ = archive["visible_bias"].astype(np.float64)
        model.random_state = Flips(0)
        expected = model.score_samples(held.astype(np.float64)).mean()
        self.assertAlmostEqual(last["pseudo_likelihood"], expected, delta=1e-3 * abs(expected))
        # and the validation reconstruction error, in NumPy
        sigmoid = lambda x: 1 / (1 + np.exp(-x))
        w, h, v = (archive[k].astype(np.float64) for k in ("weights", "hidden_bias", "visible_bias"))
        recon = sigmoid(sigmoid(held @ w.T + h) @ w + v)
        self.assertAlmostEqual(last["validation_recon_error"], ((held - recon) ** 2).mean(), places=5)

    def test_progress_bar_on_a_terminal_only(self):
        import pty
        leader, follower = pty.openpty()
        ini = self.write("bar.ini", f"[data]\ntrain = {self.path('data.npy')}\n[model]\nhidden = 5\n"
                         f"[train]\nepochs = 2\nbatch_size = 10\n[output]\nmodel = {self.path('bar.npz')}\n")
        process = subprocess.Popen([RBM, "train", ini], stderr=follower, stdout=subprocess.DEVNULL)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        process.wait(timeout=60)
        os.close(leader)
        shown = b"".join(chunks).decode()
        self.assertEqual(process.returncode, 0, shown)
        self.assertIn("30/30 batches", shown)  # the bar, drawn in place
        self.assertIn("\r", shown)
        self.assertIn("epoch 2/2  recon_error", shown)
        plain = run("train", ini)  # not a terminal: epoch lines only
        self.assertNotIn("batches", plain.stderr)
        self.assertIn("epoch 2/2  recon_error", plain.stderr)

    def test_bad_validation_sets(self):
        base = f"[data]\ntrain = {self.path('data.npy')}\n%s[model]\nhidden = 3\n" \
               f"[output]\nmodel = {self.path('v.npz')}\n"
        cases = [(f"validation = {self.path('wide.npy')}\n", "wide.npy: the validation data has 35 columns"),
                 (f"validation = {self.path('none.npy')}\n", "none.npy"),
                 (f"validation = {self.path('wide.npy')}\nvalidation_fraction = 0.1\n", "choose one"),
                 ("validation_fraction = 0.001\n", "leaves no validation rows")]
        for extra, fragment in cases:
            result = run("train", self.write("v.ini", base % extra))
            self.assertEqual(result.returncode, 2, result.stderr)
            self.assertIn(fragment, result.stderr)
            self.assertFalse(os.path.exists(self.path("v.npz")))

    def test_bad_arguments(self):
        model = self.path("stack.npz")
        cases = [(("transform", model, self.path("wide.npy"), "-o", self.path("x.npy")),
                  "35 columns"),
                 (("transform", model, self.path("data.npy")), "-o OUTPUT is required"),
                 (("transform", model, self.path("data.npy"), "-o", self.path("x.txt")), ".npy"),
                 (("sample", model, "-n", "0", "-o", self.path("x.npy")), "-n '0'"),
                 (("filters", model, "-o", self.path("x.png"), "--tile", "5x5"), "--tile 5x5"),
                 (("eval", self.path("nothing.npz"), self.path("data.npy")), "nothing.npz"),
                 (("plot", self.write("bad.jsonl", '{"recon_error": 1}\nnot json\n'), "-o",
                   self.path("x.svg")), "bad.jsonl:2"),
                 (("plot", self.path("log.jsonl"), "-o"), "-o needs a file name"),
                 (("filters", model, "-o", self.path("x.png"), "--tile", "4611686018427387908x4"),
                  "--tile 4611686018427387908x4"),
                 (("eval", model, self.path("data.npy"), "-o", self.path("x.npy")),
                  "-o is not an option of rbm eval"),
                 (("transform", model, self.path("data.npy"), "-o", self.path("x.npy"), "--seed", "3"),
                  "--seed is not an option of rbm transform"),
                 (("sample", model, "-n", "1000000000000", "-o", self.path("x.npy")), "-n '1000000000000'"),
                 (("sample", model, "--seed", "1e3", "-o", self.path("x.npy")), "--seed '1e3'"),
                 (("sample", model, "-n", "1000000", "--tile", "36x1", "-o", self.path("x.png")),
                  "the limit is 30000 x 30000"),
                 (("train", self.write("le.ini", f"[data]\ntrain = {self.path('data.npy')}\n"
                                                  "[train]\nlayer_epochs = 3\n")),
                  "train.layer_epochs is set but model.layers is not")]
        for args, fragment in cases:
            result = run(*args)
            self.assertEqual(result.returncode, 2, (args, result.stderr))
            self.assertIn(fragment, result.stderr)
            for name in ("x.npy", "x.svg", "x.png"):
                self.assertFalse(os.path.exists(self.path(name)), args)

    def test_stack_profile_adds_up_its_rbms(self):
        """--profile on a stack: both RBMs' phases in one table, nothing leaked (ASan)."""
        def forward_calls(*overrides):
            result = run("train", self.ini, "-s", f"output.model={self.path('p.npz')}",
                         "-s", "output.log=", *overrides, "--profile")
            self.assertEqual(result.returncode, 0, result.stderr)
            table = result.stderr.split("all workers")[1]
            return int(next(l for l in table.splitlines() if "forward sgemm" in l).split()[2])
        stack = forward_calls()
        one_rbm = forward_calls("-s", "model.layers=", "-s", "model.hidden=12")
        self.assertEqual(stack, 2 * one_rbm)  # the same rows and batches in each RBM

    def test_stack_resumes_in_its_second_layer(self):
        """Stopped in layer 2 by SIGKILL at random moments, resumed: the same bytes."""
        with open(self.ini) as f:
            text = f.read()
        ini = self.write("again.ini", text.replace("stack.npz", "again.npz")
                         .replace("epochs = 3", "epochs = 400")
                         .replace("[output]", "[output]\ncheckpoint_seconds = 0.01")
                         .replace(f"log = {self.path('log.jsonl')}", ""))
        result = run("train", ini, "--quiet")
        self.assertEqual(result.returncode, 0, result.stderr)
        reference = self.read("again.npz")
        kills = 0
        for seed in range(3):
            for name in ("again.npz", "again.npz.ckpt", "again.npz.ckpt.layer1.npz"):
                if os.path.exists(self.path(name)):
                    os.remove(self.path(name))
            kills += kill_and_resume(RBM, ini, self.path("again.npz"),
                                     self.path("again.npz.ckpt"), random.Random(seed), 0.3)
            self.assertEqual(self.read("again.npz"), reference)
        print(f"{kills} kills over 3 trials", file=sys.stderr)
        self.assertGreater(kills, 0)


class Learning(Workspace):
    """On 2,000 Fashion-MNIST images the reconstruction error falls every epoch for 3 epochs."""

    def kernels(self):
        """rbm --version's line naming the build's kernels"""
        lines = [line for line in run("--version").stdout.splitlines()
                 if line.startswith("Kernels: ")]
        self.assertEqual(len(lines), 1)
        return lines[0]

    def test_recon_error_falls(self):
        self.assertTrue(os.path.exists(FASHION), "install dataset-fashion-mnist")
        log = self.path("log.jsonl")
        cfg = self.write("f.ini", f"[data]\ntrain = {FASHION}\nlimit = 2000\n[train]\nepochs = 3\n"
                                  f"[output]\nmodel = {self.path('f.npz')}\nlog = {log}\n")
        result = run("train", cfg)
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(log) as f:
            errors = [json.loads(line)["recon_error"] for line in f]
        print("recon_error per epoch:", errors, file=sys.stderr)
        self.assertEqual(len(errors), 3)
        self.assertLess(errors[1], errors[0])
        self.assertLess(errors[2], errors[1])
        self.assertLess(errors[2], 0.06)

    def test_same_bits_on_avx2_and_avx512(self):
        """configs/default.ini on 5,000 Fashion-MNIST images for 2 epochs, in four shapes of
        work: the parameters' bytes must be the ones session 8 trained on a 16-core Intel Xeon
        with AVX-512 (bench/results/s8-device-scaling.txt) and session 10 on a 2-core AMD EPYC
        with AVX2 alone (the fourth: session 11 on that EPYC): rbm's own products and kernels
        give the same bits on both. A build
        without either (plain C) uses OpenBLAS's products, whose bits differ: skipped there. If
        the training arithmetic or a default in configs/default.ini changes on purpose, these
        hashes change with it: retrain on a machine of each kind (bench/scaling.sh prints them)."""
        self.assertTrue(os.path.exists(FASHION), "install dataset-fashion-mnist")
        if self.kernels().startswith("Kernels: plain C"):
            self.skipTest("a plain C build: OpenBLAS's products")
        expected = {
            ("train.split=rows", "train.chunk_rows=50"): "6841a25fd7b82df5",
            ("train.split=rows", "train.chunk_rows=25", "train.update_strips=16"):
                "1ed07ffcfa34e408",
            ("train.split=hidden", "train.update_strips=16", "train.bit_counts=true"):
                "18b85617d122ed8e",
            # the default shape: session 11's dense AVX2 forward products gave these bits, and
            # session 12's sums of the ones (src/product_ones.c) must give them again
            ("train.split=hidden",): "1c6651c0de2f6721",
        }
        for shape, digest in expected.items():
            for threads in (1, 2):
                model = self.path("same.npz")
                overrides = [f"data.train={FASHION}", "output.log=", "output.checkpoint_seconds=0",
                             "data.limit=5000", "train.epochs=2", *shape,
                             f"train.threads={threads}", f"output.model={model}"]
                result = run("train", os.path.join(CONFIGS, "default.ini"), "--quiet",
                             *[a for o in overrides for a in ("-s", o)])
                self.assertEqual(result.returncode, 0, result.stderr)
                with zipfile.ZipFile(model) as z:
                    got = hashlib.sha256(b"".join(
                        z.read(k + ".npy") for k in ("weights", "hidden_bias", "visible_bias"))
                    ).hexdigest()[:16]
                self.assertEqual(got, digest, f"{' '.join(shape)}, {threads} threads")

    def test_stack_same_bits_on_every_cpu(self):
        """A 784-200-50 stack on 3,000 Fashion-MNIST images for 2 epochs: both RBMs' bytes must
        be the ones session 13 trained on a 16-core Intel Xeon (AVX-512 with and without the
        sums, and AVX2) and on a 2-core AMD EPYC (AVX2): the second RBM trains on the first's
        hidden probabilities, which src/transform.c computes with rbm's own products. Through
        OpenBLAS (session 12) they differed between the two CPUs. Skipped in a plain C build."""
        self.assertTrue(os.path.exists(FASHION), "install dataset-fashion-mnist")
        if self.kernels().startswith("Kernels: plain C"):
            self.skipTest("a plain C build: OpenBLAS's products")
        for threads in (1, 2):
            model = self.path("stack.npz")
            overrides = [f"data.train={FASHION}", "output.log=", "output.checkpoint_seconds=0",
                         "data.limit=3000", "train.epochs=2", "model.layers=784,200,50",
                         f"train.threads={threads}", f"output.model={model}"]
            result = run("train", os.path.join(CONFIGS, "default.ini"), "--quiet",
                         *[a for o in overrides for a in ("-s", o)])
            self.assertEqual(result.returncode, 0, result.stderr)
            with zipfile.ZipFile(model) as z:
                names = sorted(n for n in z.namelist()
                               if n.startswith(("weights", "hidden_bias", "visible_bias", "layer")))
                self.assertIn("layer2_weights.npy", names)
                got = hashlib.sha256(b"".join(z.read(n) for n in names)).hexdigest()[:16]
            self.assertEqual(got, "b7b167c5658273bf", f"{threads} threads")

    def test_forward_products_as_sums_of_ones(self):
        """With rbm's own products, split = hidden runs its forward products as sums of the
        ones on data like Fashion-MNIST (29% ones), and says so in --profile; on data whose
        mean is over 0.6 (0.32 with AVX-512) it keeps the dense product. test_same_bits_on_avx2_and_
        avx512 checks that the sums give the dense product's bits."""
        self.assertTrue(os.path.exists(FASHION), "install dataset-fashion-mnist")
        if not self.kernels().startswith(("Kernels: AVX2", "Kernels: AVX-512+sums")):
            self.skipTest("the sums of the ones need rbm's own products (AVX2 or AVX-512)")
        note = "forward: sums of the rows where the samples are 1"

        def profile(data, *overrides):
            result = run("train", os.path.join(CONFIGS, "default.ini"), "--quiet", "--profile",
                         *[a for o in (f"data.train={data}", "output.log=", "train.epochs=1",
                                       "output.checkpoint_seconds=0", "data.limit=300",
                                       f"output.model={self.path('p.npz')}", *overrides)
                           for a in ("-s", o)])
            self.assertEqual(result.returncode, 0, result.stderr)
            return result.stdout + result.stderr
        self.assertIn(note, profile(FASHION))
        self.assertNotIn(note, profile(FASHION, "train.split=rows"))
        # the same images inverted: 71% ones
        dense = self.path("dense.csv")
        with gzip.open(FASHION) as f:
            raw = f.read(16 + 300 * 784)[16:]
        with open(dense, "w") as f:
            for row in range(300):
                f.write(",".join(str(255 - b) for b in raw[row * 784:(row + 1) * 784]) + "\n")
        self.assertNotIn(note, profile(dense, "data.scale=255"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
