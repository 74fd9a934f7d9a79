#!/usr/bin/python3
"""`meson install` into a scratch directory: the rbm command, the library, the public header and
the pkg-config file land there, and a program built with `pkg-config --cflags --libs rbm`
against that header trains a model through the library that NumPy then reads.

usage: test_install.py BUILD_DIR SANITIZE CC
  SANITIZE: the build's b_sanitize (e.g. none); CC: the build's C compiler command
"""
import os
import shlex
import subprocess
import sys
import tempfile
import unittest

import numpy as np

BUILD = os.path.abspath(sys.argv.pop(1))
SANITIZE = sys.argv.pop(1)
CC = shlex.split(sys.argv.pop(1))

CONSUMER = r"""
#include <stdio.h>
#include <rbm/rbm.h>

int main(int argc, char **argv)
{
    RbmSettings settings;
    RbmError error = {{0}};
    RbmDataset *data = NULL;
    RbmModel *model = NULL;
    rbm_default_settings(&settings);
    char config[4096];
    snprintf(config, sizeof config, "[data]\ntrain = %s\n[model]\nhidden = 3\n[train]\nepochs = 2\n"
             "batch_size = 2\nthreads = 2\n[output]\nmodel = %s\n", argv[1], argv[2]);
    int result = rbm_settings_load_string(&settings, config, "consumer", &error);
    if (result == 0)
        result = rbm_check_blas(&error);
    if (result == 0)
        result = rbm_dataset_load(&data, settings.train_path, settings.format, settings.scale,
                                  settings.limit, &error);
    if (result == 0)
        result = rbm_train(&model, &settings, data, NULL, &error);
    if (result == 0)
        result = rbm_model_save(model, settings.model_path, &error);
    printf("rbm %s: %d (%s)\n", rbm_version(), result, error.message);
    rbm_model_free(model);
    rbm_dataset_free(data);
    return argc == 3 && result == 0 ? 0 : 1;
}
"""


class Install(unittest.TestCase):
    def test_install_and_build_against_it(self):
        with tempfile.TemporaryDirectory() as root:
            subprocess.run(["meson", "install", "-C", BUILD, "--destdir", root, "--no-rebuild",
                            "--quiet"], check=True, capture_output=True)
            files = [os.path.relpath(os.path.join(d, f), root)
                     for d, _, names in os.walk(root) for f in names]
            self.assertTrue(any(f.endswith("bin/rbm") for f in files), files)
            self.assertTrue(any("/librbm.so" in f for f in files), files)
            self.assertTrue(any(f.endswith("include/rbm/rbm.h") for f in files), files)
            pc = [f for f in files if f.endswith("pkgconfig/rbm.pc")]
            self.assertEqual(len(pc), 1, files)
            # only public headers: nothing of src/ is installed
            self.assertEqual([f for f in files if f.endswith(".h")],
                             [f for f in files if f.endswith("include/rbm/rbm.h")])

            env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(os.path.join(root, pc[0])),
                       PKG_CONFIG_SYSROOT_DIR=root)
            flags = subprocess.run(["pkg-config", "--cflags", "--libs", "rbm"], env=env,
                                   check=True, capture_output=True, text=True).stdout.split()
            source, program = os.path.join(root, "consumer.c"), os.path.join(root, "consumer")
            with open(source, "w") as f:
                f.write(CONSUMER)
            sanitize = [] if SANITIZE == "none" else [f"-fsanitize={SANITIZE}"]
            subprocess.run([*CC, "-Wall", "-Werror", *sanitize, source, "-o", program, *flags],
                           check=True)
            library = next(f for f in files if "/librbm.so" in f)
            library = os.path.dirname(os.path.join(root, library))
            data, model = os.path.join(root, "d.csv"), os.path.join(root, "m.npz")
            with open(data, "w") as f:
                f.write("0,255,128,3\n255,0,7,200\n9,9,250,1\n")
            result = subprocess.run([program, data, model], capture_output=True, text=True,
                                    env=dict(os.environ, LD_LIBRARY_PATH=library))
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
            self.assertEqual(result.stderr, "", "the library printed")
            with np.load(model) as saved:
                self.assertEqual(saved["weights"].shape, (3, 4))
                self.assertEqual(saved["weights"].dtype, np.float32)
                self.assertTrue(np.isfinite(saved["weights"]).all())


if __name__ == "__main__":
    unittest.main(verbosity=2)
