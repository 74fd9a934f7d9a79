/* log Z: enumeration against brute force over every (v, h), AIS against enumeration, and
 * rbm_model_evaluate's log-probabilities against brute force. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "data/dataset.h"
#include "partition.h"
#include "pcg32.h"

static RbmModel *random_model(int64_t V, int64_t H, double scale, uint64_t seed)
{
    RbmModel *model = NULL;
    assert_int_equal(rbm_model_new(&model, V, H), 0);
    Pcg32 rng;
    pcg32_seed(&rng, seed, 7);
    for (int64_t i = 0; i < H * V + H + V; i++)
        model->weights[i] = (float)((pcg32_uniform_reference(&rng) - 0.5) * 2 * scale);
    return model;
}

/* log sum over all v, h of exp(v.vb + h.hb + h W v) */
static double brute_force_log_z(const RbmModel *m)
{
    const int64_t V = m->visible, H = m->hidden;
    double total = 0;
    for (uint64_t v = 0; v < (1u << V); v++)
        for (uint64_t h = 0; h < (1u << H); h++) {
            double energy = 0;
            for (int64_t j = 0; j < V; j++)
                energy += ((v >> j) & 1) * (double)m->visible_bias[j];
            for (int64_t k = 0; k < H; k++) {
                if (!((h >> k) & 1))
                    continue;
                energy += m->hidden_bias[k];
                for (int64_t j = 0; j < V; j++)
                    energy += ((v >> j) & 1) * (double)m->weights[k * V + j];
            }
            total += exp(energy);
        }
    return log(total);
}

static void test_exact_matches_brute_force(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        RbmModel *model = random_model(6, 4, 1.5, seed);
        double expected = brute_force_log_z(model);
        double by_hidden = rbm_log_z_by_hidden(model), by_visible = rbm_log_z_by_visible(model);
        print_message("brute force %.12f, by hidden %.12f, by visible %.12f\n", expected,
                      by_hidden, by_visible);
        assert_true(fabs(by_hidden - expected) < 1e-9 && fabs(by_visible - expected) < 1e-9);
        rbm_model_free(model);
    }
}

static void test_ais_agrees_with_exact(void **state)
{
    (void)state;
    const int64_t shapes[][2] = {{40, 12}, {64, 16}};
    for (int s = 0; s < 2; s++) {
        RbmModel *model = random_model(shapes[s][0], shapes[s][1], 0.4, 10 + s);
        float base[64] = {0};
        for (int64_t j = 0; j < model->visible; j++)
            base[j] = model->visible_bias[j]; /* a fair base: the model without weights */
        RbmAisSettings ais;
        rbm_default_ais_settings(&ais);
        ais.threads = 1;
        RbmError error = {{0}};
        double log_z = 0, stderr_ = 0, again = 0, again_stderr = 0;
        assert_int_equal(rbm_log_z_ais(model, base, &ais, &log_z, &stderr_, &error), 0);
        ais.threads = 3;
        assert_int_equal(rbm_log_z_ais(model, base, &ais, &again, &again_stderr, &error), 0);
        double exact = rbm_log_z_by_hidden(model);
        print_message("%lld x %lld: exact %.4f, AIS %.4f +- %.4f\n", (long long)model->hidden,
                      (long long)model->visible, exact, log_z, stderr_);
        assert_true(fabs(log_z - exact) < 0.5);
        assert_true(log_z == again && stderr_ == again_stderr); /* any thread count */
        rbm_model_free(model);
    }
}

/* rows x columns of 0/1 values; column j is 1 with probability base + slope * j. */
static float *binary_rows(int rows, int columns, uint64_t seed, float base, float slope)
{
    float *values = malloc((size_t)rows * (size_t)columns * sizeof(float));
    Pcg32 rng;
    pcg32_seed(&rng, seed, seed);
    for (int i = 0; i < rows * columns; i++)
        values[i] = pcg32_uniform_reference(&rng) < base + slope * (float)(i % columns) ? 1.0f : 0.0f;
    return values;
}

static void test_evaluate_log_probability(void **state)
{
    (void)state;
    RbmModel *model = random_model(8, 5, 1.0, 4);
    enum { N = 30 };
    float *values = binary_rows(N, 8, 3, 0.4f, 0.0f);
    RbmDataset *data = NULL;
    assert_int_equal(rbm_dataset_from_values(&data, values, N, 8, "memory"), 0);
    RbmEvaluation result;
    RbmError error = {{0}};
    assert_int_equal(rbm_model_evaluate(model, data, NULL, &result, &error), 0);
    /* brute force: log p(v) = log sum_h exp(-E(v, h)) - log Z */
    double log_z = brute_force_log_z(model), expected = 0;
    for (int i = 0; i < N; i++) {
        double total = 0;
        for (uint64_t h = 0; h < 32; h++) {
            double energy = 0;
            for (int j = 0; j < 8; j++)
                energy += values[i * 8 + j] * (double)model->visible_bias[j];
            for (int k = 0; k < 5; k++)
                if ((h >> k) & 1) {
                    energy += model->hidden_bias[k];
                    for (int j = 0; j < 8; j++)
                        energy += values[i * 8 + j] * (double)model->weights[k * 8 + j];
                }
            total += exp(energy);
        }
        expected += log(total) - log_z;
    }
    expected /= N;
    print_message("avg log p: %.9f, brute force %.9f\n", result.avg_log_prob, expected);
    assert_true(result.log_z_exact && !result.binarized);
    assert_true(fabs(result.avg_log_prob - expected) < 1e-5);
    assert_true(result.recon_error > 0 && result.recon_error < 1);
    assert_true(result.pseudo_likelihood < 0);
    rbm_dataset_free(data);
    rbm_model_free(model);
}

/* Above 20 x 20 eval takes AIS, from a base-rate model fitted to the data: it lands within
 * 0.5 nats of enumeration (2^22 hidden states), the same at any thread count. */
static void test_evaluate_uses_ais_above_twenty_units(void **state)
{
    (void)state;
    RbmModel *model = random_model(24, 22, 0.5, 21);
    enum { N = 200 };
    float *values = binary_rows(N, 24, 8, 0.3f, 0.02f);
    RbmDataset *data = NULL;
    assert_int_equal(rbm_dataset_from_values(&data, values, N, 24, "memory"), 0);
    RbmAisSettings ais;
    rbm_default_ais_settings(&ais);
    ais.threads = 2;
    RbmEvaluation result, again;
    RbmError error = {{0}};
    assert_int_equal(rbm_model_evaluate(model, data, &ais, &result, &error), 0);
    ais.threads = 1;
    assert_int_equal(rbm_model_evaluate(model, data, &ais, &again, &error), 0);
    double exact = rbm_log_z_by_hidden(model);
    print_message("24 x 22 from the data's base rates: exact %.4f, AIS %.4f +- %.4f\n", exact,
                  result.log_z, result.log_z_stderr);
    assert_false(result.log_z_exact);
    assert_true(fabs(result.log_z - exact) < 0.5 && result.log_z_stderr > 0);
    assert_true(result.log_z == again.log_z && result.log_z_stderr == again.log_z_stderr);
    assert_true(fabs(result.avg_log_prob - (-result.free_energy - result.log_z)) < 1e-9);
    rbm_dataset_free(data);
    rbm_model_free(model);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_matches_brute_force),
        cmocka_unit_test(test_ais_agrees_with_exact),
        cmocka_unit_test(test_evaluate_log_probability),
        cmocka_unit_test(test_evaluate_uses_ais_above_twenty_units),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
