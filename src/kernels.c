#include "kernels.h"

void rbm_sigmoid_bias(float *restrict probability, const float *restrict preactivation,
                      const float *restrict bias, size_t n)
{
    for (size_t j = 0; j < n; j++)
        probability[j] = rbm_sigmoid_scalar(preactivation[j] + bias[j]);
}

void rbm_bernoulli(float *restrict sample, const float *restrict probability,
                   const float *restrict uniform, size_t n)
{
    for (size_t j = 0; j < n; j++)
        sample[j] = uniform[j] < probability[j] ? 1.0f : 0.0f;
}

void rbm_sigmoid_bernoulli(float *restrict sample, const float *restrict preactivation,
                           const float *restrict bias, const float *restrict uniform, float sign,
                           size_t n)
{
    for (size_t j = 0; j < n; j++)
        sample[j] = uniform[j] < rbm_sigmoid_scalar(preactivation[j] + bias[j]) ? sign : 0.0f;
}

void rbm_bytes_to_probability(float *restrict probability, const uint8_t *restrict bytes,
                              const float table[256], size_t n)
{
    for (size_t j = 0; j < n; j++)
        probability[j] = table[bytes[j]];
}
