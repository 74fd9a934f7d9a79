#include "npy_format.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Cursor {
    const char *text;
    size_t length, at, base; /* base: byte offset of text[0] within the file */
    char *reason;
    size_t reason_size;
} Cursor;

static int fail(Cursor *c, const char *what)
{
    snprintf(c->reason, c->reason_size, "byte offset %zu: malformed .npy header: %s",
             c->base + c->at, what);
    return -EINVAL;
}

static void skip_space(Cursor *c)
{
    while (c->at < c->length && (c->text[c->at] == ' ' || c->text[c->at] == '\n'))
        c->at++;
}

static bool take(Cursor *c, char expected)
{
    skip_space(c);
    if (c->at < c->length && c->text[c->at] == expected) {
        c->at++;
        return true;
    }
    return false;
}

/* A Python string literal in single or double quotes, without escapes. */
static int take_string(Cursor *c, char *out, size_t size)
{
    skip_space(c);
    if (c->at >= c->length || (c->text[c->at] != '\'' && c->text[c->at] != '"'))
        return fail(c, "expected a quoted string");
    char quote = c->text[c->at++];
    size_t start = c->at;
    while (c->at < c->length && c->text[c->at] != quote && c->text[c->at] != '\\')
        c->at++;
    if (c->at >= c->length || c->text[c->at] != quote || c->at - start >= size)
        return fail(c, "unterminated or overlong string");
    memcpy(out, c->text + start, c->at - start);
    out[c->at - start] = '\0';
    c->at++;
    return 0;
}

static int take_shape(Cursor *c, NpyHeader *h)
{
    if (!take(c, '('))
        return fail(c, "shape must be a tuple");
    h->dimensions = 0;
    h->elements = 1;
    while (!take(c, ')')) {
        skip_space(c);
        if (h->dimensions == 2)
            return fail(c, "more than 2 dimensions");
        size_t start = c->at;
        uint64_t value = 0;
        while (c->at < c->length && isdigit((unsigned char)c->text[c->at])) {
            if (value > (UINT64_MAX - 9) / 10)
                return fail(c, "dimension overflows");
            value = value * 10 + (uint64_t)(c->text[c->at++] - '0');
        }
        if (c->at == start)
            return fail(c, "dimension is not a whole number");
        if (c->at < c->length && c->text[c->at] == 'L')
            c->at++;
        h->shape[h->dimensions++] = value;
        if (value != 0 && h->elements > UINT64_MAX / value)
            return fail(c, "shape overflows");
        h->elements *= value;
        if (!take(c, ',')) {
            if (!take(c, ')'))
                return fail(c, "expected ',' or ')' in shape");
            break;
        }
    }
    return 0;
}

static int take_dtype(Cursor *c, const char *descr, NpyHeader *h)
{
    if (strcmp(descr, "|u1") == 0 || strcmp(descr, "<u1") == 0 || strcmp(descr, "u1") == 0 ||
        strcmp(descr, "|b1") == 0) {
        h->type = NPY_U8;
        h->item_size = 1;
    } else if (strcmp(descr, "<f4") == 0) {
        h->type = NPY_F32;
        h->item_size = 4;
    } else if (strcmp(descr, "<f8") == 0) {
        h->type = NPY_F64;
        h->item_size = 8;
    } else if (descr[0] == '<' && descr[1] == 'U' && isdigit((unsigned char)descr[2])) {
        char *end;
        unsigned long characters = strtoul(descr + 2, &end, 10);
        if (*end != '\0' || characters > (1u << 28))
            return fail(c, "bad unicode dtype");
        h->type = NPY_UNICODE;
        h->item_size = 4 * (size_t)characters;
    } else {
        char what[160];
        snprintf(what, sizeof what,
                 "dtype '%s' is not supported (use uint8, little-endian float32 or float64)",
                 descr);
        return fail(c, what);
    }
    return 0;
}

int rbm_npy_parse_header(const uint8_t *data, size_t size, NpyHeader *out, char *reason,
                         size_t reason_size)
{
    Cursor c = {.reason = reason, .reason_size = reason_size};
    if (size < 10 || memcmp(data, "\x93NUMPY", 6) != 0) {
        snprintf(reason, reason_size, "byte offset 0: not a .npy file (no \\x93NUMPY magic)");
        return -EINVAL;
    }
    unsigned major = data[6];
    size_t header_length, prefix;
    if (major == 1) {
        header_length = data[8] | (size_t)data[9] << 8;
        prefix = 10;
    } else if (major == 2 || major == 3) {
        if (size < 12) {
            snprintf(reason, reason_size, "byte offset %zu: truncated .npy header", size);
            return -EINVAL;
        }
        header_length = data[8] | (size_t)data[9] << 8 | (size_t)data[10] << 16 |
                        (size_t)data[11] << 24;
        prefix = 12;
    } else {
        snprintf(reason, reason_size, "byte offset 6: unsupported .npy version %u", major);
        return -EINVAL;
    }
    if (header_length > size - prefix) {
        snprintf(reason, reason_size,
                 "byte offset %zu: .npy header of %zu bytes runs past the end of the file "
                 "(%zu bytes)",
                 (size_t)8, header_length, size);
        return -EINVAL;
    }
    c.text = (const char *)data + prefix;
    c.length = header_length;
    c.base = prefix;
    NpyHeader h = {0};
    bool have_descr = false, have_order = false, have_shape = false;
    if (!take(&c, '{'))
        return fail(&c, "expected '{'");
    while (!take(&c, '}')) {
        char key[32], descr[32];
        if (take_string(&c, key, sizeof key) < 0)
            return -EINVAL;
        if (!take(&c, ':'))
            return fail(&c, "expected ':'");
        if (strcmp(key, "descr") == 0 && !have_descr) {
            if (take_string(&c, descr, sizeof descr) < 0 || take_dtype(&c, descr, &h) < 0)
                return -EINVAL;
            have_descr = true;
        } else if (strcmp(key, "fortran_order") == 0 && !have_order) {
            skip_space(&c);
            if (c.length - c.at >= 5 && memcmp(c.text + c.at, "False", 5) == 0) {
                c.at += 5;
            } else if (c.length - c.at >= 4 && memcmp(c.text + c.at, "True", 4) == 0) {
                return fail(&c, "Fortran order is not supported (save a C-order array)");
            } else {
                return fail(&c, "fortran_order must be True or False");
            }
            have_order = true;
        } else if (strcmp(key, "shape") == 0 && !have_shape) {
            if (take_shape(&c, &h) < 0)
                return -EINVAL;
            have_shape = true;
        } else {
            return fail(&c, "unexpected or repeated key");
        }
        if (!take(&c, ',')) {
            if (!take(&c, '}'))
                return fail(&c, "expected ',' or '}'");
            break;
        }
    }
    if (!have_descr || !have_order || !have_shape)
        return fail(&c, "descr, fortran_order and shape are all required");
    h.header_offset = prefix;
    h.data_offset = prefix + header_length;
    if (h.item_size != 0 && h.elements > (UINT64_MAX - h.data_offset) / h.item_size) {
        snprintf(reason, reason_size, "byte offset %zu: array size overflows", prefix);
        return -EINVAL;
    }
    uint64_t expected = h.data_offset + h.elements * h.item_size;
    if (expected != size) {
        snprintf(reason, reason_size,
                 "byte offset %zu: the header's shape needs %llu bytes of data but the file has "
                 "%llu (%s)",
                 h.data_offset, (unsigned long long)(h.elements * h.item_size),
                 (unsigned long long)(size - h.data_offset),
                 expected > size ? "truncated" : "trailing bytes");
        return -EINVAL;
    }
    *out = h;
    return 0;
}

size_t rbm_npy_write_header(uint8_t out[128], const char *descr, int dimensions,
                            const uint64_t *shape)
{
    char dict[118], shape_text[64];
    if (dimensions == 0)
        snprintf(shape_text, sizeof shape_text, "()");
    else if (dimensions == 1)
        snprintf(shape_text, sizeof shape_text, "(%llu,)", (unsigned long long)shape[0]);
    else
        snprintf(shape_text, sizeof shape_text, "(%llu, %llu)", (unsigned long long)shape[0],
                 (unsigned long long)shape[1]);
    int length = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                          descr, shape_text);
    size_t total = (10 + (size_t)length + 1 + 63) / 64 * 64;
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    size_t header_length = total - 10;
    out[8] = (uint8_t)(header_length & 0xff);
    out[9] = (uint8_t)(header_length >> 8);
    memcpy(out + 10, dict, (size_t)length);
    memset(out + 10 + length, ' ', total - 10 - (size_t)length - 1);
    out[total - 1] = '\n';
    return total;
}
