/* A data loader on arbitrary bytes: an error, or a data set whose every value is in [0,1].
 * Built once per format, with FUZZ_FORMAT = RBM_FORMAT_CSV, _IDX or _NPY. */
#include <stdlib.h>

#include "fuzz_common.h"
#include "rbm/rbm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    int fd = fuzz_file(data, size, path);
    if (fd < 0)
        return 0;
    RbmDataset *dataset = NULL;
    RbmError error;
    if (rbm_dataset_load(&dataset, path, FUZZ_FORMAT, 0, 0, &error) == 0) {
        int64_t columns = rbm_dataset_columns(dataset);
        float *row = malloc((size_t)columns * sizeof *row);
        for (int64_t r = 0; r < rbm_dataset_rows(dataset) && row; r++) {
            rbm_dataset_row(dataset, r, row);
            for (int64_t c = 0; c < columns; c++)
                if (!(row[c] >= 0.0f && row[c] <= 1.0f))
                    abort();
        }
        free(row);
        rbm_dataset_free(dataset);
    }
    close(fd);
    return 0;
}
