/* The model and checkpoint loaders on arbitrary bytes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "fuzz_common.h"
#include "rbm/rbm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    int fd = fuzz_file(data, size, path);
    if (fd < 0)
        return 0;
    RbmError error;
    RbmModel *model = NULL;
    if (rbm_model_load(&model, path, &error) == 0) {
        for (const RbmModel *rbm = model; rbm; rbm = rbm->next) { /* every RBM of a stack */
            size_t count = (size_t)(rbm->hidden * rbm->visible + rbm->hidden + rbm->visible);
            for (size_t i = 0; i < count; i++)
                if (!isfinite(rbm->weights[i]))
                    abort();
            if (rbm->next && rbm->next->visible != rbm->hidden)
                abort();
        }
        rbm_model_free(model);
    }
    /* as a checkpoint for a 4 x 3 model */
    RbmSettings settings;
    rbm_default_settings(&settings);
    strcpy(settings.train_path, "fuzz");
    settings.hidden = 3; /* as tests/fuzz/corpus/model/checkpoint.npz was made */
    settings.batch_size = 2;
    settings.chunk_rows = 1;
    settings.update_strips = 1;
    settings.persistent = 1;
    Shape shape = {.visible = 4, .hidden = 3, .batch_size = 2, .chunk_rows = 1, .strips = 1,
                   .cd_steps = 1, .persistent = true};
    float chains[2 * 3];
    float memory[2 * (12 + 3 + 4)];
    Parameters params = {memory, memory + 12, memory + 15};
    Parameters velocity = {memory + 19, memory + 31, memory + 34};
    Progress progress = {.layer = 1};
    rbm_checkpoint_load(path, &settings, 0xee209058c962744bULL, &shape, &params, &velocity, chains, &progress,
                        &error);
    close(fd);
    return 0;
}
