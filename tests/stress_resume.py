#!/usr/bin/python3
"""Kill-and-resume stress: trains a config to the end many times, each run killed with SIGKILL
at random moments and resumed from its checkpoint, and checks every result is byte-identical to
an uninterrupted run.

usage: stress_resume.py PATH/TO/rbm [--trials N] [--seed S] [--max-delay SECONDS]
"""
import argparse
import os
import random
import subprocess
import sys
import tempfile

import numpy as np

from rbm_testing import kill_and_resume


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("rbm")
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-delay", type=float, default=0.25)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as work:
        data = os.path.join(work, "d.npy")
        np.save(data, np.random.default_rng(args.seed).random((8000, 200), dtype=np.float32))
        config = os.path.join(work, "s.ini")
        with open(config, "w") as f:
            f.write(f"[data]\ntrain = {data}\n[model]\nhidden = 150\n[train]\nepochs = 4\n"
                    f"batch_size = 64\nchunk_rows = 20\nseed = {args.seed}\n[output]\n"
                    f"model = {work}/m.npz\ncheckpoint_seconds = 0.02\n")
        full = subprocess.run([args.rbm, "train", config, "-s", f"output.model={work}/full.npz"],
                              capture_output=True, text=True)
        if full.returncode != 0:
            sys.exit(f"reference run failed: {full.stderr}")
        with open(f"{work}/full.npz", "rb") as f:
            expected = f.read()
        kills = failures = 0
        for trial in range(args.trials):
            for name in ("m.npz", "m.npz.ckpt"):
                if os.path.exists(f"{work}/{name}"):
                    os.remove(f"{work}/{name}")
            threads = rng.choice([1, 2, 3, 4, 7])
            kills += kill_and_resume(args.rbm, config, f"{work}/m.npz", f"{work}/m.npz.ckpt", rng,
                                     args.max_delay, extra=("-s", f"train.threads={threads}"))
            with open(f"{work}/m.npz", "rb") as f:
                same = f.read() == expected
            failures += not same
            print(f"trial {trial + 1}: threads {threads}, {'same bytes' if same else 'DIFFERENT'}")
        print(f"{args.trials} trials, {kills} kills: {args.trials - failures} passed, {failures} failed")
        sys.exit(1 if failures or kills == 0 else 0)


if __name__ == "__main__":
    main()
