/* CSV: Kaggle's Digit Recognizer train.csv as is (a header row; a 'label' column is kept aside),
 * or any CSV of numbers with or without a header. Values that are all whole numbers 0..255 are
 * kept as bytes; the first other value switches the data set to floats. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "memory.h"
#include "../error.h"
#include "../file.h"
#include "dataset.h"

typedef struct Field {
    const char *start;
    size_t length;
} Field;

/* Splits one line (without its newline) at commas; returns the number of fields, or -1 when
 * there are more than max. */
static int64_t split(const char *line, size_t length, Field *fields, int64_t max)
{
    int64_t count = 0;
    const char *end = line + length, *start = line;
    for (;;) {
        const char *comma = memchr(start, ',', (size_t)(end - start));
        const char *stop = comma ? comma : end;
        if (count == max)
            return -1;
        while (start < stop && (*start == ' ' || *start == '\t'))
            start++;
        const char *last = stop;
        while (last > start && (last[-1] == ' ' || last[-1] == '\t'))
            last--;
        fields[count].start = start;
        fields[count].length = (size_t)(last - start);
        count++;
        if (!comma)
            return count;
        start = comma + 1;
    }
}

/* Parses a field as a finite number; whole numbers 0..255 also set *byte. */
static int parse_number(const Field *field, double *value, int *byte)
{
    char buffer[64];
    if (field->length == 0 || field->length >= sizeof buffer)
        return -1;
    const char *s = field->start;
    *byte = -1;
    if (field->length <= 3) {
        int whole = 0;
        size_t i = 0;
        while (i < field->length && s[i] >= '0' && s[i] <= '9')
            whole = whole * 10 + (s[i++] - '0');
        if (i == field->length) {
            *value = whole;
            if (whole <= 255)
                *byte = whole;
            return 0;
        }
    }
    memcpy(buffer, s, field->length);
    buffer[field->length] = '\0';
    if (strspn(buffer, "+-.0123456789eE") != field->length)
        return -1;
    char *end;
    errno = 0;
    *value = strtod(buffer, &end);
    if (*end != '\0' || !isfinite(*value))
        return -1;
    if (*value >= 0 && *value <= 255 && *value == floor(*value))
        *byte = (int)*value;
    return 0;
}

static size_t line_length(const char *line, const char *end)
{
    const char *newline = memchr(line, '\n', (size_t)(end - line));
    size_t length = newline ? (size_t)(newline - line) : (size_t)(end - line);
    if (length > 0 && line[length - 1] == '\r')
        length--;
    return length;
}

static void quote_field(const Field *field, char *out, size_t size)
{
    snprintf(out, size, "'%.*s'", (int)(field->length > 40 ? 40 : field->length), field->start);
}

int rbm_load_csv(RbmDataset *data, const char *path, int64_t limit, RbmError *error)
{
    char *text = NULL;
    size_t size = 0;
    int result = rbm_read_file(path, (size_t)1 << 40, &text, &size, error);
    if (result < 0)
        return result;
    if (size == 0) {
        free(text);
        return rbm_fail(error, -EINVAL, "%s: empty file", path);
    }
    if (strlen(text) != size) {
        size_t line = 1 + rbm_count_lines(text, strlen(text));
        free(text);
        return rbm_fail(error, -EINVAL, "%s:%zu: NUL byte in a text file", path, line);
    }
    const char *end = text + size;
    size_t first_length = line_length(text, end);
    int64_t max_fields = 1;
    for (size_t i = 0; i < first_length; i++)
        max_fields += text[i] == ',';
    Field *fields = rbm_malloc((size_t)(max_fields + 1) * sizeof *fields);
    int64_t line_count = (int64_t)rbm_count_lines(text, size) + 1;
    if (!fields) {
        free(text);
        return rbm_fail(error, -ENOMEM, "%s: out of memory", path);
    }

    /* The first line is a header when none of its fields is a number; a line that mixes
     * numbers and words is data, and its words are errors. */
    int64_t columns_in_file = split(text, first_length, fields, max_fields);
    int64_t label_column = -1;
    int has_header = 1;
    for (int64_t i = 0; i < columns_in_file; i++) {
        double value;
        int byte;
        if (parse_number(&fields[i], &value, &byte) == 0)
            has_header = 0;
    }
    if (has_header) {
        for (int64_t i = 0; i < columns_in_file; i++) {
            Field f = fields[i];
            if (f.length >= 2 && f.start[0] == '"' && f.start[f.length - 1] == '"') {
                f.start++;
                f.length -= 2;
            }
            if (f.length == 5 && strncasecmp(f.start, "label", 5) == 0)
                label_column = i;
        }
    }
    int64_t columns = columns_in_file - (label_column >= 0);
    /* A data row of N fields takes at least 2N bytes (a digit and a comma or newline each), so
     * the file's size bounds the rows: no allocation larger than the file from a wide line. */
    int64_t capacity = line_count - has_header;
    int64_t fitting = (int64_t)(size / (2 * (size_t)columns_in_file)) + 1;
    if (capacity > fitting)
        capacity = fitting;
    if (limit > 0 && limit < capacity)
        capacity = limit;
    data->columns = columns;
    data->location = LOCATION_LINE;
    data->first_line = 1 + has_header;
    data->bytes = rbm_malloc((size_t)(capacity > 0 ? capacity : 1) * (size_t)(columns > 0 ? columns : 1));
    if (label_column >= 0)
        data->labels = rbm_malloc((size_t)(capacity > 0 ? capacity : 1) * sizeof *data->labels);
    if (!data->bytes || (label_column >= 0 && !data->labels)) {
        free(fields);
        free(text);
        return rbm_fail(error, -ENOMEM, "%s: out of memory for %lld rows", path,
                        (long long)capacity);
    }

    const char *line = text;
    int64_t line_number = 1, rows = 0;
    if (has_header) {
        line += first_length;
        line = line < end && *line == '\r' ? line + 1 : line;
        line = line < end ? line + 1 : line;
        line_number = 2;
    }
    for (; line < end && rows < capacity; line_number++) {
        size_t length = line_length(line, end);
        const char *next = line + length;
        next = next < end && *next == '\r' ? next + 1 : next;
        next = next < end ? next + 1 : next;
        if (length == 0) {
            if (next >= end)
                break; /* a final newline */
            result = rbm_fail(error, -EINVAL, "%s:%lld: empty line", path, (long long)line_number);
            break;
        }
        int64_t count = split(line, length, fields, columns_in_file);
        if (count != columns_in_file) {
            if (count < 0)
                result = rbm_fail(error, -EINVAL, "%s:%lld: expected %lld fields, found more",
                                  path, (long long)line_number, (long long)columns_in_file);
            else
                result = rbm_fail(error, -EINVAL, "%s:%lld: expected %lld fields, found %lld",
                                  path, (long long)line_number, (long long)columns_in_file,
                                  (long long)count);
            break;
        }
        int64_t column = 0;
        for (int64_t i = 0; i < count && result == 0; i++) {
            double value;
            int byte;
            char shown[64];
            if (parse_number(&fields[i], &value, &byte) != 0) {
                quote_field(&fields[i], shown, sizeof shown);
                result = rbm_fail(error, -EINVAL, "%s:%lld: field %lld: %s is not a finite number",
                                  path, (long long)line_number, (long long)i + 1, shown);
                break;
            }
            if (i == label_column) {
                if (value != floor(value) || fabs(value) > 2147483647.0) {
                    quote_field(&fields[i], shown, sizeof shown);
                    result = rbm_fail(error, -EINVAL, "%s:%lld: label %s is not a whole number",
                                      path, (long long)line_number, shown);
                    break;
                }
                data->labels[rows] = (int32_t)value;
                continue;
            }
            size_t at = (size_t)rows * (size_t)columns + (size_t)column++;
            if (data->values) {
                data->values[at] = (float)value;
            } else if (byte >= 0) {
                data->bytes[at] = (uint8_t)byte;
            } else {
                /* The first value that is not a byte: switch to floats. */
                data->values = rbm_malloc((size_t)capacity * (size_t)columns * sizeof(float));
                if (!data->values) {
                    result = rbm_fail(error, -ENOMEM, "%s: out of memory for %lld x %lld floats",
                                      path, (long long)capacity, (long long)columns);
                    break;
                }
                for (size_t k = 0; k < at; k++)
                    data->values[k] = data->bytes[k];
                free(data->bytes);
                data->bytes = NULL;
                data->values[at] = (float)value;
            }
        }
        if (result != 0)
            break;
        rows++;
        line = next;
    }
    data->rows = rows;
    free(fields);
    free(text);
    if (result == 0 && rows == 0)
        result = rbm_fail(error, -EINVAL, "%s: no data rows%s", path,
                          has_header ? " after the header" : "");
    return result;
}
