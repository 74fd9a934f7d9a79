#!/usr/bin/python3
"""rbm against the peers (NumPy, PyTorch, scikit-learn) on the same job, side by side in one
run: the first 42,000 Fashion-MNIST images, 784 visible, batch 100, learning rate 0.1,
momentum 0.9, no shuffle. Rounds alternate the tools, so machine noise hits all of them alike;
the figures are medians of the per-epoch seconds over all rounds.

usage: bench/peers.py [--rbm build/rbm] [--peers ../shared/bench/peers] [--hidden 300]
                      [--epochs 3] [--rounds 5] [--threads 2] [--sklearn] [--float64]
The peers need `bash ../shared/bench/setup.sh` once (Debian's numpy, torch, sklearn and the
threaded OpenBLAS builds unpacked under /tmp/openblas-variants).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
VARIANTS = "/tmp/openblas-variants"
PTHREAD = f"{VARIANTS}/libopenblas0-pthread/usr/lib/x86_64-linux-gnu/openblas-pthread"
OPENMP = f"{VARIANTS}/libopenblas0-openmp/usr/lib/x86_64-linux-gnu/openblas-openmp"
FASHION = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"


def run_rbm(args, work):
    log = os.path.join(work, "log.jsonl")
    command = [args.rbm, "train", os.path.join(HERE, "..", "configs", "default.ini"),
               "-s", "data.limit=42000", "-s", f"model.hidden={args.hidden}",
               "-s", f"train.epochs={args.epochs}", "-s", f"train.threads={args.threads}",
               "-s", f"output.model={work}/m.npz", "-s", f"output.log={log}",
               "-s", "output.checkpoint_seconds=0"]
    subprocess.run(command, check=True, capture_output=True)
    with open(log) as f:
        return [json.loads(line)["seconds"] for line in f]


def run_peer(script, extra, env, args):
    environment = dict(os.environ, **env)
    result = subprocess.run(["/usr/bin/python3", os.path.join(args.peers, script), "--hidden",
                             str(args.hidden), "--epochs", str(args.epochs), *extra],
                            check=True, capture_output=True, text=True, env=environment)
    line = next(l for l in result.stdout.splitlines() if l.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])["epoch_s"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rbm", default=os.path.join(HERE, "..", "build", "rbm"))
    parser.add_argument("--peers", default=os.path.join(HERE, "..", "..", "shared", "bench", "peers"))
    parser.add_argument("--hidden", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sklearn", action="store_true", help="also scikit-learn (slow)")
    parser.add_argument("--float64", action="store_true", help="also NumPy float64 (the write-up's)")
    args = parser.parse_args()
    if not os.path.exists(FASHION):
        sys.exit("needs dataset-fashion-mnist")
    t = str(args.threads)
    tools = {
        f"rbm ({args.threads} threads)": lambda work: run_rbm(args, work),
        f"NumPy float32 ({args.threads} threads)": lambda work: run_peer(
            "rbm_numpy.py", ["--dtype", "float32"],
            {"OMP_NUM_THREADS": t, "OPENBLAS_NUM_THREADS": t, "LD_LIBRARY_PATH": PTHREAD}, args),
        f"PyTorch float32 ({args.threads} threads)": lambda work: run_peer(
            "rbm_torch.py", ["--threads", t],
            {"OMP_NUM_THREADS": t, "OPENBLAS_NUM_THREADS": t, "LD_LIBRARY_PATH": OPENMP}, args),
    }
    if args.float64:
        tools[f"NumPy float64 ({args.threads} threads)"] = lambda work: run_peer(
            "rbm_numpy.py", ["--dtype", "float64"],
            {"OMP_NUM_THREADS": t, "OPENBLAS_NUM_THREADS": t, "LD_LIBRARY_PATH": PTHREAD}, args)
    if args.sklearn:
        tools["scikit-learn BernoulliRBM (1 thread)"] = lambda work: run_peer(
            "rbm_sklearn.py", [], {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}, args)
    seconds = {name: [] for name in tools}
    with tempfile.TemporaryDirectory() as work:
        for round_ in range(args.rounds):
            for name, tool in tools.items():
                epochs = tool(work)
                seconds[name] += epochs
                print(f"round {round_ + 1} {name}: " + " ".join(f"{s:.3f}" for s in epochs),
                      file=sys.stderr, flush=True)
    print(f"hidden {args.hidden}, {args.epochs} epochs x {args.rounds} rounds; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    print(f"{'tool':42} {'median s/epoch':>15} {'vs rbm':>8}")
    ours = statistics.median(next(iter(seconds.values())))
    for name, values in seconds.items():
        m = statistics.median(values)
        print(f"{name:42} {m:15.3f} {m / ours:7.2f}x")


if __name__ == "__main__":
    main()
