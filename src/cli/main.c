#include <errno.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "cli.h"

double cli_now(void) { return omp_get_wtime(); }

int cli_exit_status(int result)
{
    if (result == 0)
        return EXIT_OK;
    return result == -EINVAL || result == -ENOENT ? EXIT_BAD_INPUT : EXIT_FAILURE_OTHER;
}

int cli_report(int result, const RbmError *error)
{
    fprintf(stderr, "rbm: %s\n", error->message[0] ? error->message : strerror(-result));
    return cli_exit_status(result);
}

int cli_load_settings(RbmSettings *settings, const char *config_path,
                      const char *const *overrides, int override_count, RbmError *error)
{
    rbm_default_settings(settings);
    int result = rbm_settings_load_file(settings, config_path, error);
    for (int i = 0; result == 0 && i < override_count; i++)
        result = rbm_settings_override(settings, overrides[i], error);
    if (result != 0)
        return result;
    result = rbm_settings_check(settings, error);
    if (result != 0) {
        char reason[sizeof error->message];
        memcpy(reason, error->message, sizeof reason);
        snprintf(error->message, sizeof error->message, "%s%s: %s", config_path,
                 override_count ? " (with --set)" : "", reason);
    }
    return result;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rbm COMMAND [ARGS]\n"
            "\n"
            "Restricted Boltzmann Machines trained by contrastive divergence on every core;\n"
            "the same seed gives the same model, byte for byte, at any thread count.\n"
            "\n"
            "commands:\n"
            "  train CONFIG [-s SECTION.KEY=VALUE]...   train a model (rbm train --help)\n"
            "  info MODEL                               describe a trained model\n"
            "  bench CONFIG [OPTIONS]                   speed against the sgemm floor (rbm bench --help)\n"
            "  transform MODEL DATA -o FEATURES.npy     hidden probabilities through every layer\n"
            "  reconstruct MODEL DATA -o OUT.npy|.png   mean-field reconstructions\n"
            "  sample MODEL -n N -o OUT.png|.npy        Gibbs samples from the model\n"
            "  filters MODEL -o FILTERS.png             each hidden unit's weights as a tile\n"
            "  eval MODEL DATA [--json]                 recon error, free energy, log Z, log p\n"
            "  plot LOG.jsonl -o CURVES.svg|.png        training curves from the JSON log\n"
            "  --version                                versions of rbm, OpenBLAS, OpenMP\n"
            "  --help                                   this text\n");
}

static int version(void)
{
    RbmError error = {{0}};
    int serial = rbm_check_blas(&error) == 0;
    printf("rbm %s\n", rbm_version());
    printf("OpenBLAS: %s (core: %s)\n", rbm_blas_config(), rbm_blas_core());
    printf("OpenBLAS single-threaded: %s\n", serial ? "yes" : "NO (training is refused)");
    const char *kernels = rbm_kernels();
    printf("Kernels: %s (%s)\n", kernels,
           strcmp(kernels, "plain C") == 0
               ? "OpenBLAS's products: other bits than an AVX2 or AVX-512 build"
           : strcmp(kernels, "AVX-512") != 0
               ? "rbm's own products, those with 0/1 samples as sums of the ones with split = "
                 "hidden: the same bits on AVX2 and AVX-512"
               : "rbm's own products: the same bits on AVX2 and AVX-512");
    printf("OpenMP: %d processors, thread limit %d (spec %d)\n", omp_get_num_procs(),
           omp_get_thread_limit(), _OPENMP);
    return EXIT_OK;
}

/*
 * OpenBLAS 0.3.21 (Debian 12) knows no CPU newer than its release: on AMD Zen 4 it picks its
 * Haswell kernels, and on a 2024 Intel Xeon (family 6 model 207) its SSE3 Prescott ones, which
 * run sgemm 1.5x and 4.8x slower there than its SkylakeX kernels. The core is chosen once, from
 * OPENBLAS_CORETYPE, when the library loads; so when the CPU has AVX-512 and OpenBLAS chose a
 * core without it, and the user has not chosen a core, rbm sets SkylakeX and runs itself
 * again. Set OPENBLAS_CORETYPE (to any core, e.g. Haswell) to keep OpenBLAS's own choice.
 */
static bool blas_core_uses_avx512(const char *core)
{
    static const char *const avx512_cores[] = {"SkylakeX", "Cooperlake", "SapphireRapids"};
    for (size_t i = 0; i < sizeof avx512_cores / sizeof avx512_cores[0]; i++)
        if (strcasecmp(core, avx512_cores[i]) == 0)
            return true;
    return false;
}

static void prefer_avx512_blas(char **argv)
{
    if (getenv("OPENBLAS_CORETYPE") || blas_core_uses_avx512(rbm_blas_core()))
        return;
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
        !__builtin_cpu_supports("avx512dq") || !__builtin_cpu_supports("avx512vl"))
        return;
    /* Run as `ld.so rbm ...`, /proc/self/exe is the loader, which would take argv[1] for the
     * program: then keep the kernels we have. */
    if (getauxval(AT_BASE) == 0 || setenv("OPENBLAS_CORETYPE", "SkylakeX", 1) != 0)
        return;
    execv("/proc/self/exe", argv);
    unsetenv("OPENBLAS_CORETYPE"); /* could not run again: go on with the kernels we have */
}

int main(int argc, char **argv)
{
    prefer_avx512_blas(argv);
    if (argc < 2) {
        usage(stderr);
        return EXIT_BAD_INPUT;
    }
    const char *command = argv[1];
    if (strcmp(command, "train") == 0)
        return cli_train(argc - 1, argv + 1);
    if (strcmp(command, "info") == 0)
        return cli_info(argc - 1, argv + 1);
    if (strcmp(command, "bench") == 0)
        return cli_bench(argc - 1, argv + 1);
    const char *const use_commands[] = {"transform", "reconstruct", "sample", "filters", "eval"};
    for (int i = 0; i < 5; i++)
        if (strcmp(command, use_commands[i]) == 0)
            return cli_use(command, argc - 1, argv + 1);
    if (strcmp(command, "plot") == 0)
        return cli_plot(argc - 1, argv + 1);
    if (strcmp(command, "--version") == 0 || strcmp(command, "version") == 0)
        return version();
    if (strcmp(command, "--help") == 0 || strcmp(command, "-h") == 0 ||
        strcmp(command, "help") == 0) {
        if (argc > 2 && strcmp(argv[2], "train") == 0)
            cli_train_usage(stdout);
        else if (argc > 2 && strcmp(argv[2], "info") == 0)
            cli_info_usage(stdout);
        else if (argc > 2 && strcmp(argv[2], "bench") == 0)
            cli_bench_usage(stdout);
        else
            usage(stdout);
        return EXIT_OK;
    }
    fprintf(stderr, "rbm: unknown command '%s'\n\n", command);
    usage(stderr);
    return EXIT_BAD_INPUT;
}
