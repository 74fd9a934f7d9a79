#include "kernels.h"

void rbm_sigmoid_bias(float *restrict probability, const float *restrict preactivation,
                      const float *restrict bias, size_t n)
{
    for (size_t j = 0; j < n; j++)
        probability[j] = rbm_sigmoid_scalar(preactivation[j] + bias[j]);
}

void rbm_bernoulli_signed(float *restrict sample, const float *restrict probability,
                          const float *restrict uniform, float sign, size_t n)
{
    for (size_t j = 0; j < n; j++)
        sample[j] = uniform[j] < probability[j] ? sign : 0.0f;
}

void rbm_bytes_to_probability(float *restrict probability, const uint8_t *restrict bytes,
                              float scale, size_t n)
{
    for (size_t j = 0; j < n; j++)
        probability[j] = (float)bytes[j] / scale;
}

double rbm_difference_sums(float *restrict sums, const float *restrict a,
                           const float *restrict b, int64_t rows, int64_t width)
{
    /* Squares are summed in 16 interleaved partial sums, combined in a fixed order: the same
     * result every time, and a loop the compiler can vectorise. */
    enum { LANES = 16 };
    double squares = 0;
    for (int64_t j = 0; j < width; j++)
        sums[j] = 0.0f;
    for (int64_t i = 0; i < rows; i++) {
        const float *row_a = a + i * width, *row_b = b + i * width;
        float partial[LANES] = {0};
        int64_t j = 0;
        for (; j + LANES <= width; j += LANES) {
            for (int l = 0; l < LANES; l++) {
                float difference = row_a[j + l] - row_b[j + l];
                sums[j + l] += difference;
                partial[l] += difference * difference;
            }
        }
        for (int l = 0; j + l < width; l++) {
            float difference = row_a[j + l] - row_b[j + l];
            sums[j + l] += difference;
            partial[l] += difference * difference;
        }
        float row_squares = 0.0f;
        for (int l = 0; l < LANES; l++)
            row_squares += partial[l];
        squares += row_squares;
    }
    return squares;
}

void rbm_weight_step(float *restrict weight, float *restrict velocity, float learning_rate,
                     float weight_decay, size_t n)
{
    if (weight_decay != 0.0f)
        for (size_t j = 0; j < n; j++)
            velocity[j] -= weight_decay * weight[j];
    for (size_t j = 0; j < n; j++)
        weight[j] += learning_rate * velocity[j];
}
