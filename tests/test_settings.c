/* Settings: defaults from the key table, strict parsing with file:line, overrides, checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rbm/rbm.h"

static void test_defaults_are_the_write_ups(void **state)
{
    (void)state;
    RbmSettings s;
    rbm_default_settings(&s);
    assert_int_equal(s.hidden, 300);
    assert_int_equal(s.epochs, 10);
    assert_int_equal(s.batch_size, 100);
    assert_true(s.learning_rate == 0.1 && s.momentum == 0.9 && s.weight_decay == 0);
    assert_true(s.init_std == 0.01 && s.scale == 0 && s.seed == 1 && s.threads == 0);
    assert_string_equal(s.model_path, "model.npz");
    assert_int_equal(s.format, RBM_FORMAT_AUTO);
    /* every key is documented */
    for (int i = 0; i < rbm_settings_count(); i++)
        assert_true(strlen(rbm_settings_info(i)->doc) > 10);
    assert_null(rbm_settings_info(rbm_settings_count()));
}

static int load(RbmSettings *s, const char *text, RbmError *error)
{
    rbm_default_settings(s);
    memset(error, 0, sizeof *error);
    return rbm_settings_load_string(s, text, "test.ini", error);
}

static void test_parses_every_kind(void **state)
{
    (void)state;
    RbmSettings s;
    RbmError e;
    assert_int_equal(load(&s, "; comment\n[data]\ntrain = a b.csv\nformat = npy\nscale = 2.5\n"
                              "[model]\nhidden = 7\n[train]\nseed = 18446744073709551615\n"
                              "momentum = 0\nlearning_rate=1e-3\n",
                         &e),
                     0);
    assert_string_equal(s.train_path, "a b.csv");
    assert_int_equal(s.format, RBM_FORMAT_NPY);
    assert_true(s.scale == 2.5 && s.hidden == 7 && s.seed == UINT64_MAX);
    assert_true(s.momentum == 0 && s.learning_rate == 1e-3);
}

static void expect_error(const char *text, const char *fragment)
{
    RbmSettings s;
    RbmError e;
    int result = load(&s, text, &e);
    print_message("%s -> %s\n", fragment, e.message);
    assert_int_equal(result, -22 /* EINVAL */);
    assert_non_null(strstr(e.message, fragment));
}

static void test_errors_name_the_line(void **state)
{
    (void)state;
    expect_error("[model]\nhidden = 12abc\n", "test.ini:2: model.hidden: '12abc' is not a whole number");
    expect_error("[model]\n\nhidden = 0\n", "test.ini:3: model.hidden: 0 is out of range");
    expect_error("[train]\nlearning_rate = nan\n", "test.ini:2:");
    expect_error("[train]\nlearning_rate = inf\n", "not a finite number");
    expect_error("[train]\nlearning_rate = 0\n", "test.ini:2: train.learning_rate: 0 is out of range");
    expect_error("[train]\nlearning_rate = -0.1\n", "out of range");
    expect_error("[train]\nmomentum = 1\n", "test.ini:2: train.momentum");
    expect_error("[train]\nepochs = -3\n", "out of range");
    expect_error("[train]\nseed = -1\n", "is not a seed");
    expect_error("[train]\nbogus = 1\n", "test.ini:2: unknown key 'bogus' in section [train]");
    expect_error("[nope]\nhidden = 1\n", "test.ini:1: unknown section [nope]");
    /* a section with no keys is checked too (inih only reports keys) */
    expect_error("[model]\nhidden = 5\n[modle]\n", "test.ini:3: unknown section [modle]");
    expect_error("[data]\n[x;y]\n", "test.ini:2: unknown section [x;y]");
    expect_error("hidden = 1\n", "test.ini:1: key 'hidden' is outside any section");
    expect_error("[model]\nhidden = 5\nhidden = 6\n", "test.ini:3: model.hidden is given twice");
    expect_error("[model\nhidden = 5\n", "test.ini:1: syntax error");
    expect_error("[model]\nhidden 5\n", "test.ini:2: syntax error");
    expect_error("[data]\nformat = xml\n", "'xml' is not one of auto, csv, idx, npy");
    expect_error("[data]\nscale = 0\n", "out of range");
    /* the kinds this session added: lists, booleans, choices */
    expect_error("[model]\nlayers = 784,,30\n", "test.ini:2: model.layers: '784,,30' is not a list");
    expect_error("[model]\nlayers = 784,30,\n", "test.ini:2: model.layers: '784,30,' ends with a comma");
    expect_error("[model]\nlayers = 784,0\n", "test.ini:2: model.layers: 0 is out of range");
    expect_error("[model]\nlayers = 12abc\n", "is not a list of whole numbers");
    expect_error("[model]\nlayers = 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18\n",
                 "has more than 17 numbers");
    expect_error("[train]\npersistent = yes\n", "test.ini:2: train.persistent: 'yes' is not true or false");
    expect_error("[model]\nvisible_bias_init = mean\n", "'mean' is not one of zero, data");
    expect_error("[train]\ncd_steps = 0\n", "test.ini:2: train.cd_steps: 0 is out of range");
    expect_error("[data]\nvalidation_fraction = 0.95\n", "out of range");
}

/* Builds "[data]\n" PREFIX + `length` path bytes + SUFFIX "\n[model]\nhidden = 9\n". */
static char *long_line_config(const char *prefix, size_t length, const char *suffix)
{
    size_t size = strlen(prefix) + length + strlen(suffix) + 64;
    char *text = malloc(size);
    assert_non_null(text);
    int at = snprintf(text, size, "[data]\n%s", prefix);
    for (size_t i = 0; i < length; i++)
        text[at + (int)i] = (char)('a' + i % 26);
    snprintf(text + at + length, size - at - length, "%s\n[model]\nhidden = 9\n", suffix);
    return text;
}

/* inih's line buffer is 200 bytes, but paths up to RBM_PATH_MAX - 1 bytes are accepted in a
 * file as on the command line, read as inih reads a short line, and written back the same. */
static void test_long_lines(void **state)
{
    (void)state;
    RbmSettings s, back;
    RbmError e;
    size_t lengths[] = {190, 191, 192, 193, 198, 199, 200, 201, 1000, RBM_PATH_MAX - 1};
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        char *text = long_line_config("train =  ", lengths[i], "  ; a comment");
        assert_int_equal(load(&s, text, &e), 0);
        assert_int_equal(strlen(s.train_path), lengths[i]);
        assert_true(s.train_path[0] == 'a' && s.hidden == 9);
        char formatted[16384];
        size_t length = rbm_settings_format(&s, RBM_KEYS_ALL, formatted, sizeof formatted);
        assert_true(length < sizeof formatted);
        rbm_default_settings(&back);
        assert_int_equal(rbm_settings_load_string(&back, formatted, "formatted", &e), 0);
        assert_string_equal(back.train_path, s.train_path);
        free(text);
    }
    /* ';' right after '=' or without a space before it is part of the value, as inih has it */
    char *text = long_line_config("train=;", 300, ";x");
    assert_int_equal(load(&s, text, &e), 0);
    assert_int_equal(strlen(s.train_path), 303);
    assert_true(s.train_path[0] == ';' && s.train_path[302] == 'x');
    free(text);
    /* a long comment is a comment; a long line with no '=' is a syntax error */
    text = long_line_config("# ", 500, "");
    assert_int_equal(load(&s, text, &e), 0);
    assert_int_equal(s.hidden, 9);
    free(text);
    text = long_line_config("  ;", 500, "");
    assert_int_equal(load(&s, text, &e), 0);
    free(text);
    text = long_line_config("train ", 500, "");
    assert_int_equal(load(&s, text, &e), -22);
    assert_non_null(strstr(e.message, "test.ini:2: syntax error"));
    free(text);
    /* too long for a path, an unknown key, a long section name */
    text = long_line_config("train = ", RBM_PATH_MAX, "");
    assert_int_equal(load(&s, text, &e), -22);
    assert_non_null(strstr(e.message, "test.ini:2: data.train: path is longer than 4095 bytes"));
    free(text);
    text = long_line_config("train = ", 2 * RBM_PATH_MAX, "");
    assert_int_equal(load(&s, text, &e), -22);
    assert_non_null(strstr(e.message, "test.ini:2: data.train: the value is longer than"));
    free(text);
    text = long_line_config("trian = ", 300, "");
    assert_int_equal(load(&s, text, &e), -22);
    assert_non_null(strstr(e.message, "test.ini:2: unknown key 'trian' in section [data]"));
    free(text);
    text = long_line_config("[", 300, "]");
    assert_int_equal(load(&s, text, &e), -22);
    assert_non_null(strstr(e.message, "test.ini:2: unknown section"));
    free(text);
    text = long_line_config("", 300, " = 1");
    assert_int_equal(load(&s, text, &e), -22);
    assert_non_null(strstr(e.message, "test.ini:2: line is too long"));
    free(text);
}

static void test_overrides(void **state)
{
    (void)state;
    RbmSettings s;
    RbmError e = {{0}};
    rbm_default_settings(&s);
    assert_int_equal(rbm_settings_override(&s, "train.epochs=3", &e), 0);
    assert_int_equal(s.epochs, 3);
    assert_int_equal(rbm_settings_override(&s, "data.train=x=y.csv", &e), 0);
    assert_string_equal(s.train_path, "x=y.csv");
    assert_int_equal(rbm_settings_override(&s, "train.epochs", &e), -22);
    assert_non_null(strstr(e.message, "expected SECTION.KEY=VALUE"));
    assert_int_equal(rbm_settings_override(&s, "train.epochs=3x", &e), -22);
    assert_non_null(strstr(e.message, "'3x' is not a whole number"));
    assert_int_equal(rbm_settings_override(&s, "train.nope=1", &e), -22);
    /* values that a config file could not hold the same way are refused */
    assert_int_equal(rbm_settings_override(&s, "data.train=a ;b", &e), -22);
    assert_non_null(strstr(e.message, "cannot be written in a config file"));
    assert_int_equal(rbm_settings_override(&s, "data.train=a\nb", &e), -22);
    /* spaces around a value go, as in a file; a leading ';' survives formatting */
    assert_int_equal(rbm_settings_override(&s, "data.train=  ;odd name.csv ", &e), 0);
    assert_string_equal(s.train_path, ";odd name.csv");
    char text[8192];
    rbm_settings_format(&s, RBM_KEYS_ALL, text, sizeof text);
    RbmSettings back;
    rbm_default_settings(&back);
    assert_int_equal(rbm_settings_load_string(&back, text, "formatted", &e), 0);
    assert_string_equal(back.train_path, ";odd name.csv");
    assert_int_equal(s.epochs, 3); /* a failed override changes nothing */
}

static void test_check(void **state)
{
    (void)state;
    RbmSettings s;
    RbmError e = {{0}};
    rbm_default_settings(&s);
    assert_int_equal(rbm_settings_check(&s, &e), -22);
    assert_non_null(strstr(e.message, "data.train is not set"));
    strcpy(s.train_path, "x.csv");
    assert_int_equal(rbm_settings_check(&s, &e), 0);
    s.batch_size = 0;
    assert_int_equal(rbm_settings_check(&s, &e), -22);
    assert_non_null(strstr(e.message, "train.batch_size"));
}

/* Formatting then parsing gives the same settings. */
static void test_format_round_trip(void **state)
{
    (void)state;
    RbmSettings s, back;
    RbmError e = {{0}};
    rbm_default_settings(&s);
    strcpy(s.train_path, "/data/train.csv");
    s.learning_rate = 0.037;
    s.seed = 987654321987654321ULL;
    s.scale = 3;
    s.split = RBM_SPLIT_HIDDEN;
    char text[4096];
    size_t length = rbm_settings_format(&s, RBM_KEYS_ALL, text, sizeof text);
    assert_true(length < sizeof text);
    assert_non_null(strstr(text, "learning_rate = 0.037\n"));
    assert_non_null(strstr(text, "split = hidden\n"));
    rbm_default_settings(&back);
    assert_int_equal(rbm_settings_load_string(&back, text, "formatted", &e), 0);
    assert_memory_equal(&s, &back, sizeof s);
    /* the model's copy leaves out what does not change the result */
    rbm_settings_format(&s, RBM_KEYS_RESULT, text, sizeof text);
    assert_null(strstr(text, "threads"));
    assert_null(strstr(text, "[output]"));
    assert_non_null(strstr(text, "seed = 987654321987654321"));
}

static void test_file_errors(void **state)
{
    (void)state;
    RbmSettings s;
    RbmError e = {{0}};
    rbm_default_settings(&s);
    assert_int_equal(rbm_settings_load_file(&s, "/nonexistent/x.ini", &e), -2 /* ENOENT */);
    assert_non_null(strstr(e.message, "/nonexistent/x.ini: cannot open"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_the_write_ups),
        cmocka_unit_test(test_parses_every_kind),
        cmocka_unit_test(test_errors_name_the_line),
        cmocka_unit_test(test_long_lines),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_format_round_trip),
        cmocka_unit_test(test_file_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
