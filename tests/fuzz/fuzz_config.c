/* The config parser with overrides: lines starting with "-s " are --set overrides, the rest is
 * the INI text. */
#include <stdlib.h>
#include <string.h>

#include "rbm/rbm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    RbmSettings settings;
    rbm_default_settings(&settings);
    RbmError error;
    char *ini = malloc(size + 2); /* every line gets a newline, even the last */
    size_t ini_length = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "-s ", 3) == 0) {
            rbm_settings_override(&settings, line + 3, &error);
        } else {
            size_t n = strlen(line);
            memcpy(ini + ini_length, line, n);
            ini_length += n;
            ini[ini_length++] = '\n';
        }
    }
    ini[ini_length] = '\0';
    if (rbm_settings_load_string(&settings, ini, "fuzz.ini", &error) == 0 &&
        rbm_settings_check(&settings, &error) == 0) {
        char out[16384];
        size_t length = rbm_settings_format(&settings, RBM_KEYS_ALL, out, sizeof out);
        if (length < sizeof out) {
            /* what was accepted formats and reads back to the same settings */
            RbmSettings back;
            rbm_default_settings(&back);
            char again[16384];
            if (rbm_settings_load_string(&back, out, "formatted", &error) != 0 ||
                rbm_settings_format(&back, RBM_KEYS_ALL, again, sizeof again) != length ||
                strcmp(again, out) != 0)
                abort();
        }
    }
    free(ini);
    free(text);
    return 0;
}
