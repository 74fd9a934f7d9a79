"""Helpers shared by the end-to-end tests and the kill-and-resume stress script."""
import os
import signal
import subprocess


def kill_and_resume(rbm, config, model, checkpoint, rng, max_delay, extra=()):
    """Runs `rbm train config` to the end, killing it with SIGKILL after a random delay each
    time and resuming from the checkpoint (if one was written yet); returns the kills."""
    kills = 0
    while True:
        args = [rbm, "train", config, *extra]
        if os.path.exists(checkpoint):
            args += ["--resume", checkpoint]
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            process.wait(timeout=rng.uniform(0.02, max_delay))
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            process.stderr.close()
            kills += 1
            continue
        stderr = process.stderr.read()
        process.stderr.close()
        if process.returncode != 0:
            raise AssertionError(f"rbm exited {process.returncode}: {stderr}")
        return kills
