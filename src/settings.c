/* Settings: defaults, INI files (through inih), --set overrides and checks, all driven by the
 * one key table in settings_table.h. */
#include "memory.h"
#include "rbm/rbm.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "file.h"
#include "settings_internal.h"
#include "settings_table.h"

typedef enum {
    KIND_INT, KIND_REAL, KIND_POSREAL, KIND_SEED, KIND_PATH, KIND_FORMAT, KIND_SCALE,
    KIND_BOOL, KIND_BIAS_INIT, KIND_SPLIT, KIND_LIST
} Kind;

typedef struct KeySpec {
    RbmSettingInfo info;
    Kind kind;
    size_t offset;
    double minimum, maximum;
} KeySpec;

static const char *const kind_names[] = {"integer", "number",  "number", "seed", "path",
                                         "format",  "scale",   "boolean", "choice", "choice",
                                         "list"};

#define KEY_SPEC(section, name, kind, field, default_value, minimum, maximum, affects, doc)      \
    {{section, name, NULL, default_value, doc, affects}, KIND_##kind,                            \
     offsetof(RbmSettings, field), (double)(minimum), (double)(maximum)},
static const KeySpec key_specs[] = {RBM_SETTINGS_TABLE(KEY_SPEC)};
#undef KEY_SPEC
enum { KEY_COUNT = sizeof key_specs / sizeof key_specs[0] };

static RbmSettingInfo key_infos[KEY_COUNT];

int rbm_settings_count(void) { return KEY_COUNT; }

const RbmSettingInfo *rbm_settings_info(int index)
{
    if (index < 0 || index >= KEY_COUNT)
        return NULL;
    key_infos[index] = key_specs[index].info;
    key_infos[index].type = kind_names[key_specs[index].kind];
    return &key_infos[index];
}

static const char *const format_names[] = {"auto", "csv", "idx", "npy"};
static const char *const bias_init_names[] = {"zero", "data"};
static const char *const split_names[] = {"rows", "hidden"};

/* The index of `text` among names[count], or -1 with "'text' is not one of a, b, ..." in
 * reason. */
static int parse_choice(const char *text, const char *const *names, int count, char *reason,
                        size_t reason_size)
{
    for (int i = 0; i < count; i++)
        if (strcmp(text, names[i]) == 0)
            return i;
    size_t length = (size_t)snprintf(reason, reason_size, "'%s' is not one of", text);
    for (int i = 0; i < count && length < reason_size; i++)
        length += (size_t)snprintf(reason + length, reason_size - length, "%s %s",
                                   i ? "," : "", names[i]);
    return -1;
}

/* A whole-number key's bound (stored as a double) for a message: INT64_MAX is 2^63 as a double,
 * which a conversion to long long cannot hold. */
static long long whole_bound(double bound)
{
    return bound >= 0x1p63 ? INT64_MAX : bound <= -0x1p63 ? INT64_MIN : (long long)bound;
}

/* "784,500,2000": whole numbers within the key's range, separated by commas (spaces allowed
 * after a comma); "" is the empty list. */
static int parse_list(const KeySpec *spec, const char *text, RbmIntList *list, char *reason,
                      size_t reason_size)
{
    RbmIntList parsed = {0};
    const char *cursor = text;
    while (*cursor) {
        if (parsed.count == RBM_MAX_LAYERS + 1) {
            snprintf(reason, reason_size, "'%s' has more than %d numbers", text, RBM_MAX_LAYERS + 1);
            return -EINVAL;
        }
        char *end = NULL;
        errno = 0;
        long long value = *cursor >= '0' && *cursor <= '9' ? strtoll(cursor, &end, 10) : -1;
        if (value < 0 || errno == ERANGE || (*end != '\0' && *end != ',')) {
            snprintf(reason, reason_size, "'%s' is not a list of whole numbers like 784,500,2000",
                     text);
            return -EINVAL;
        }
        if ((double)value < spec->minimum || (double)value > spec->maximum) {
            snprintf(reason, reason_size, "%lld is out of range [%lld, %lld]", value,
                     whole_bound(spec->minimum), whole_bound(spec->maximum));
            return -EINVAL;
        }
        parsed.values[parsed.count++] = value;
        cursor = end;
        if (*cursor == ',') {
            cursor++;
            while (*cursor == ' ')
                cursor++;
            if (*cursor == '\0') {
                snprintf(reason, reason_size, "'%s' ends with a comma", text);
                return -EINVAL;
            }
        }
    }
    *list = parsed;
    return 0;
}

/* Parses `text` as the value of key `spec` into settings. On failure writes the reason (without
 * location) into reason[reason_size] and returns -EINVAL. Strict: "12abc", "", "nan" and values
 * out of range are errors. */
static int parse_value(const KeySpec *spec, const char *text, RbmSettings *settings, char *reason,
                       size_t reason_size)
{
    void *field = (char *)settings + spec->offset;
    char *end = NULL;
    errno = 0;
    switch (spec->kind) {
    case KIND_INT: {
        long long value = strtoll(text, &end, 10);
        if (*text == '\0' || *end != '\0' || errno == ERANGE ||
            strspn(text, "+-0123456789") != strlen(text)) {
            snprintf(reason, reason_size, "'%s' is not a whole number", text);
            return -EINVAL;
        }
        if ((double)value < spec->minimum || (double)value > spec->maximum) {
            snprintf(reason, reason_size, "%lld is out of range [%lld, %lld]", value,
                     whole_bound(spec->minimum), whole_bound(spec->maximum));
            return -EINVAL;
        }
        *(int64_t *)field = value;
        return 0;
    }
    case KIND_SEED: {
        unsigned long long value = strtoull(text, &end, 10);
        if (*text == '\0' || *end != '\0' || errno == ERANGE ||
            strspn(text, "0123456789") != strlen(text)) {
            snprintf(reason, reason_size, "'%s' is not a seed (a whole number 0 to 2^64-1)", text);
            return -EINVAL;
        }
        *(uint64_t *)field = value;
        return 0;
    }
    case KIND_SCALE:
        if (strcmp(text, "auto") == 0) {
            *(double *)field = 0;
            return 0;
        }
        __attribute__((fallthrough)); /* a number */
    case KIND_REAL:
    case KIND_POSREAL: {
        double value = strtod(text, &end);
        if (*text == '\0' || *end != '\0') {
            snprintf(reason, reason_size, "'%s' is not a number", text);
            return -EINVAL;
        }
        if (!isfinite(value)) {
            snprintf(reason, reason_size, "'%s' is not a finite number", text);
            return -EINVAL;
        }
        if (strspn(text, "+-.0123456789eE") != strlen(text)) {
            snprintf(reason, reason_size, "'%s' is not a decimal number", text);
            return -EINVAL;
        }
        bool strict = spec->kind != KIND_REAL;
        if (value < spec->minimum || (strict && value <= spec->minimum) || value > spec->maximum) {
            snprintf(reason, reason_size, "%s is out of range %s%g, %g]", text, strict ? "(" : "[",
                     spec->minimum, spec->maximum);
            return -EINVAL;
        }
        *(double *)field = value;
        return 0;
    }
    case KIND_PATH:
        if (strlen(text) >= RBM_PATH_MAX) {
            snprintf(reason, reason_size, "path is longer than %d bytes", RBM_PATH_MAX - 1);
            return -EINVAL;
        }
        strcpy((char *)field, text);
        return 0;
    case KIND_BOOL:
        if (strcmp(text, "true") == 0 || strcmp(text, "false") == 0) {
            *(int *)field = text[0] == 't';
            return 0;
        }
        snprintf(reason, reason_size, "'%s' is not true or false", text);
        return -EINVAL;
    case KIND_BIAS_INIT: {
        int i = parse_choice(text, bias_init_names, 2, reason, reason_size);
        if (i >= 0)
            *(RbmVisibleBiasInit *)field = (RbmVisibleBiasInit)i;
        return i >= 0 ? 0 : -EINVAL;
    }
    case KIND_SPLIT: {
        int i = parse_choice(text, split_names, 2, reason, reason_size);
        if (i >= 0)
            *(RbmSplit *)field = (RbmSplit)i;
        return i >= 0 ? 0 : -EINVAL;
    }
    case KIND_LIST:
        return parse_list(spec, text, (RbmIntList *)field, reason, reason_size);
    case KIND_FORMAT: {
        int i = parse_choice(text, format_names, 4, reason, reason_size);
        if (i >= 0)
            *(RbmDataFormat *)field = (RbmDataFormat)i;
        return i >= 0 ? 0 : -EINVAL;
    }
    }
    return -EINVAL;
}

static const KeySpec *find_key(const char *section, const char *name)
{
    for (int i = 0; i < KEY_COUNT; i++)
        if (strcmp(key_specs[i].info.section, section) == 0 &&
            strcmp(key_specs[i].info.name, name) == 0)
            return &key_specs[i];
    return NULL;
}

static bool known_section(const char *section)
{
    for (int i = 0; i < KEY_COUNT; i++)
        if (strcmp(key_specs[i].info.section, section) == 0)
            return true;
    return false;
}

/* Applies section/name = value; on failure the reason goes into reason[]. */
static int apply(RbmSettings *settings, const char *section, const char *name, const char *value,
                 char *reason, size_t reason_size, const KeySpec **spec_out)
{
    if (!known_section(section)) {
        snprintf(reason, reason_size, "unknown section [%s] (known: data, model, train, output)",
                 section);
        return -EINVAL;
    }
    const KeySpec *spec = find_key(section, name);
    if (!spec) {
        snprintf(reason, reason_size, "unknown key '%s' in section [%s]", name, section);
        return -EINVAL;
    }
    /* Every accepted value must read back the same from a config file (models and checkpoints
     * store one): no control characters, and no ';' or '#' after a space (a comment there). */
    for (const char *c = value; *c; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f ||
            ((*c == ';' || *c == '#') && c > value && (c[-1] == ' ' || c[-1] == '\t'))) {
            snprintf(reason, reason_size,
                     "%s.%s: '%s' cannot be written in a config file (control character, or "
                     "';' or '#' after a space)",
                     section, name, value);
            return -EINVAL;
        }
    }
    if (spec_out)
        *spec_out = spec;
    char detail[512];
    if (parse_value(spec, value, settings, detail, sizeof detail) < 0) {
        snprintf(reason, reason_size, "%s.%s: %s", section, name, detail);
        return -EINVAL;
    }
    return 0;
}

void rbm_default_settings(RbmSettings *settings)
{
    memset(settings, 0, sizeof *settings);
    char reason[512];
    for (int i = 0; i < KEY_COUNT; i++)
        parse_value(&key_specs[i], key_specs[i].info.default_value, settings, reason,
                    sizeof reason);
}

/* ---- INI files through inih, with line numbers counted by our own reader. */

/* inih reads each line into a buffer of its compile-time INI_MAX_LINE (200 bytes in Debian), but
 * a path may be up to RBM_PATH_MAX - 1 bytes. So a longer line reaches inih with its value
 * replaced by LONG_VALUE_MARK, and handle_pair takes the value from the text itself, trimmed and
 * cut at an inline comment exactly as inih would have done. */
#define LONG_VALUE_MARK "\x01"

typedef struct IniReader {
    const char *cursor;     /* next unread byte of the text */
    int line;               /* lines handed to inih so far */
    int line_too_long;      /* the line number, when one could not be handed over */
    const char *long_value; /* the text after '=' of line `long_line`, not yet trimmed */
    size_t long_value_length;
    int long_line;
    RbmSettings *settings;
    bool seen[KEY_COUNT];   /* a key given twice in one file is an error */
    int error_line;         /* first line refused by handle_pair or check_section, 0 if none */
    char reason[768];
    char value[RBM_PATH_MAX + 64]; /* a long line's value, trimmed */
} IniReader;

static void refuse_line(IniReader *reader, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
static void refuse_line(IniReader *reader, const char *format, ...)
{
    if (reader->error_line)
        return; /* keep only the first problem */
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(reader->reason, sizeof reader->reason, format, arguments);
    va_end(arguments);
    reader->error_line = reader->line;
}

/* inih calls the handler only for keys, so a section with no keys under it would pass unseen:
 * check every "[name]" line here. */
static void check_section(IniReader *reader, const char *line, size_t length)
{
    if (line[0] != '[')
        return;
    const char *close = memchr(line, ']', length);
    if (!close)
        return; /* inih reports the syntax error */
    char name[64];
    size_t name_length = (size_t)(close - line - 1);
    if (name_length >= sizeof name || memchr(line, ';', name_length + 1)) {
        refuse_line(reader, "unknown section [%.*s] (known: data, model, train, output)",
                    (int)(name_length < 60 ? name_length : 60), line + 1);
        return;
    }
    memcpy(name, line + 1, name_length);
    name[name_length] = '\0';
    if (!known_section(name))
        refuse_line(reader, "unknown section [%s] (known: data, model, train, output)", name);
}

/* Hands inih a line of `length` bytes that does not fit its buffer of `size` bytes. */
static char *shorten_long_line(IniReader *reader, char *buffer, int size, const char *line,
                               size_t length)
{
    const char *first = line;
    while (first < line + length && (*first == ' ' || *first == '\t'))
        first++;
    if (first < line + length && (*first == ';' || *first == '#')) {
        strcpy(buffer, ";\n"); /* a comment stays a comment */
        return buffer;
    }
    /* The first '=' or ':' ends the key, unless an inline comment (';' after a space) comes
     * first: then inih sees no '=' in the shortened line either, and reports a syntax error. */
    const char *equals = first;
    bool was_space = false;
    while (equals < line + length && *equals != '=' && *equals != ':' &&
           !(was_space && *equals == ';')) {
        was_space = *equals == ' ' || *equals == '\t';
        equals++;
    }
    size_t key_length = (size_t)(equals - line) + 1;
    if (*first == '[' || equals == line + length || *equals == ';' ||
        key_length + sizeof LONG_VALUE_MARK + 1 > (size_t)size) {
        if (*first != '[' && (equals == line + length || *equals == ';')) {
            memcpy(buffer, line, (size_t)size - 2); /* no '=' in it: the same syntax error */
            strcpy(buffer + size - 2, "\n");
            return buffer;
        }
        reader->line_too_long = reader->line;
        return NULL;
    }
    memcpy(buffer, line, key_length);
    strcpy(buffer + key_length, LONG_VALUE_MARK "\n");
    reader->long_line = reader->line;
    reader->long_value = equals + 1;
    reader->long_value_length = (size_t)(line + length - equals - 1);
    return buffer;
}

static char *read_line(char *buffer, int size, void *stream)
{
    IniReader *reader = stream;
    if (*reader->cursor == '\0' || reader->line_too_long)
        return NULL;
    const char *line = reader->cursor;
    const char *newline = strchr(line, '\n');
    size_t length = newline ? (size_t)(newline - line) + 1 : strlen(line);
    reader->cursor += length;
    reader->line++;
    check_section(reader, line, length);
    if (length < (size_t)size) {
        memcpy(buffer, line, length);
        buffer[length] = '\0';
        return buffer;
    }
    return shorten_long_line(reader, buffer, size, line, length);
}

/* The value of the long line, as inih would have read it: cut at the first ';' after a space,
 * then trimmed. Returns NULL when it does not fit reader->value. */
static const char *long_line_value(IniReader *reader)
{
    const char *start = reader->long_value, *end = start;
    const char *limit = start + reader->long_value_length;
    bool was_space = false;
    while (end < limit && !(was_space && *end == ';')) {
        was_space = isspace((unsigned char)*end);
        end++;
    }
    while (start < end && isspace((unsigned char)*start))
        start++;
    while (end > start && isspace((unsigned char)end[-1]))
        end--;
    size_t length = (size_t)(end - start);
    if (length >= sizeof reader->value)
        return NULL;
    memcpy(reader->value, start, length);
    reader->value[length] = '\0';
    return reader->value;
}

static int handle_pair(void *user, const char *section, const char *name, const char *value)
{
    IniReader *reader = user;
    if (reader->error_line)
        return 1; /* keep only the first problem */
    if (reader->long_line == reader->line && strcmp(value, LONG_VALUE_MARK) == 0) {
        value = long_line_value(reader);
        if (!value) {
            refuse_line(reader, "%s.%s: the value is longer than %d bytes", section, name,
                        RBM_PATH_MAX - 1);
            return 0;
        }
    }
    const KeySpec *spec = NULL;
    if (*section == '\0') {
        refuse_line(reader,
                    "key '%s' is outside any section (start with [data], [model], [train] or "
                    "[output])",
                    name);
    } else if (apply(reader->settings, section, name, value, reader->reason,
                     sizeof reader->reason, &spec) == 0) {
        size_t index = (size_t)(spec - key_specs);
        if (!reader->seen[index]) {
            reader->seen[index] = true;
            return 1;
        }
        refuse_line(reader, "%s.%s is given twice", section, name);
    } else {
        reader->error_line = reader->line;
    }
    return 0;
}

int rbm_settings_load_string(RbmSettings *settings, const char *text, const char *origin,
                             RbmError *error)
{
    if (strlen(text) != 0 && memchr(text, '\0', strlen(text)) != NULL)
        return rbm_fail(error, -EINVAL, "%s: contains a NUL byte", origin);
    IniReader *reader = rbm_calloc(1, sizeof *reader);
    if (!reader)
        return rbm_fail(error, -ENOMEM, "%s: out of memory", origin);
    RbmSettings parsed = *settings;
    reader->cursor = text;
    reader->settings = &parsed;
    int line = ini_parse_stream(read_line, reader, handle_pair, reader);
    /* The first problem wins: inih's syntax errors, ours, or a line too long to hand over. */
    int first = line > 0 ? line : INT_MAX;
    if (reader->error_line && reader->error_line < first)
        first = reader->error_line;
    if (reader->line_too_long && reader->line_too_long < first)
        first = reader->line_too_long;
    int result = 0;
    if (line == -2)
        result = rbm_fail(error, -ENOMEM, "%s: out of memory", origin);
    else if (first == INT_MAX)
        result = 0;
    else if (first == reader->error_line)
        result = rbm_fail(error, -EINVAL, "%s:%d: %s", origin, first, reader->reason);
    else if (first == reader->line_too_long)
        result = rbm_fail(error, -EINVAL, "%s:%d: line is too long", origin, first);
    else
        result = rbm_fail(error, -EINVAL,
                          "%s:%d: syntax error (expected [section], key = value, or a comment)",
                          origin, first);
    if (result == 0)
        *settings = parsed;
    free(reader);
    return result;
}

int rbm_settings_load_file(RbmSettings *settings, const char *path, RbmError *error)
{
    char *text = NULL;
    size_t size = 0;
    int result = rbm_read_file(path, 1 << 20, &text, &size, error);
    if (result < 0)
        return result;
    if (strlen(text) != size)
        result = rbm_fail(error, -EINVAL, "%s:%d: contains a NUL byte", path,
                          1 + (int)rbm_count_lines(text, strlen(text)));
    else
        result = rbm_settings_load_string(settings, text, path, error);
    free(text);
    return result;
}

int rbm_settings_override(RbmSettings *settings, const char *assignment, RbmError *error)
{
    const char *equals = strchr(assignment, '=');
    const char *dot = strchr(assignment, '.');
    if (!equals || !dot || dot > equals || dot == assignment)
        return rbm_fail(error, -EINVAL, "--set '%s': expected SECTION.KEY=VALUE, e.g. train.epochs=5",
                        assignment);
    char section[64], name[64];
    size_t section_length = (size_t)(dot - assignment), name_length = (size_t)(equals - dot - 1);
    if (section_length >= sizeof section || name_length >= sizeof name)
        return rbm_fail(error, -EINVAL, "--set '%s': unknown key", assignment);
    memcpy(section, assignment, section_length);
    section[section_length] = '\0';
    memcpy(name, dot + 1, name_length);
    name[name_length] = '\0';
    /* Spaces around the value go, as they do in a config file. */
    char value[RBM_PATH_MAX + 64];
    const char *start = equals + 1;
    while (*start == ' ' || *start == '\t')
        start++;
    size_t value_length = strlen(start);
    while (value_length > 0 && (start[value_length - 1] == ' ' || start[value_length - 1] == '\t'))
        value_length--;
    if (value_length >= sizeof value)
        return rbm_fail(error, -EINVAL, "--set %.40s...: value is too long", assignment);
    memcpy(value, start, value_length);
    value[value_length] = '\0';
    char reason[768];
    RbmSettings changed = *settings;
    if (apply(&changed, section, name, value, reason, sizeof reason, NULL) < 0)
        return rbm_fail(error, -EINVAL, "--set '%s': %s", assignment, reason);
    *settings = changed;
    return 0;
}

static void format_value(const KeySpec *spec, const RbmSettings *settings, char *out, size_t size);

int rbm_settings_check(const RbmSettings *settings, RbmError *error)
{
    /* Re-validate every field through its own text form, so that settings filled in by a
     * program (not parsed) meet the same ranges as config files. */
    char text[RBM_PATH_MAX + 64], reason[512];
    for (int i = 0; i < KEY_COUNT; i++) {
        const KeySpec *spec = &key_specs[i];
        const void *field = (const char *)settings + spec->offset;
        switch (spec->kind) {
        case KIND_INT: snprintf(text, sizeof text, "%lld", (long long)*(const int64_t *)field); break;
        case KIND_SEED: continue;
        case KIND_SCALE:
            if (*(const double *)field == 0)
                continue;
            /* fall through */
        case KIND_REAL:
        case KIND_POSREAL: snprintf(text, sizeof text, "%.17g", *(const double *)field); break;
        case KIND_PATH:
            if (memchr(field, '\0', RBM_PATH_MAX) == NULL)
                return rbm_fail(error, -EINVAL, "%s.%s: path is not terminated",
                                spec->info.section, spec->info.name);
            continue;
        case KIND_FORMAT:
        case KIND_BIAS_INIT:
        case KIND_SPLIT:
        case KIND_BOOL: {
            int value = spec->kind == KIND_FORMAT ? (int)*(const RbmDataFormat *)field
                        : spec->kind == KIND_BIAS_INIT ? (int)*(const RbmVisibleBiasInit *)field
                        : spec->kind == KIND_SPLIT     ? (int)*(const RbmSplit *)field
                                                       : *(const int *)field;
            if (value < 0 || value > (spec->kind == KIND_FORMAT ? 3 : 1))
                return rbm_fail(error, -EINVAL, "%s.%s: unknown value %d", spec->info.section,
                                spec->info.name, value);
            continue;
        }
        case KIND_LIST: {
            const RbmIntList *list = field;
            if (list->count < 0 || list->count > RBM_MAX_LAYERS + 1)
                return rbm_fail(error, -EINVAL, "%s.%s: %lld numbers", spec->info.section,
                                spec->info.name, (long long)list->count);
            format_value(spec, settings, text, sizeof text);
            break;
        }
        }
        RbmSettings scratch;
        if (parse_value(spec, text, &scratch, reason, sizeof reason) < 0)
            return rbm_fail(error, -EINVAL, "%s.%s: %s", spec->info.section, spec->info.name,
                            reason);
    }
    if (settings->train_path[0] == '\0')
        return rbm_fail(error, -EINVAL, "data.train is not set: name the training data file");
    if (settings->model_path[0] == '\0')
        return rbm_fail(error, -EINVAL, "output.model is empty: name the model file to write");
    if (settings->layers.count == 1)
        return rbm_fail(error, -EINVAL, "model.layers = %lld: a stack needs the visible units "
                                        "and at least one hidden layer, e.g. 784,500",
                        (long long)settings->layers.values[0]);
    int64_t rbms = settings->layers.count ? settings->layers.count - 1 : 1;
    if (settings->layer_epochs.count && !settings->layers.count)
        return rbm_fail(error, -EINVAL, "train.layer_epochs is set but model.layers is not: it "
                                        "gives each RBM of a stack its epochs (use "
                                        "train.epochs for one RBM)");
    if (settings->layer_epochs.count && settings->layer_epochs.count != rbms)
        return rbm_fail(error, -EINVAL,
                        "train.layer_epochs has %lld numbers but the model has %lld RBM%s",
                        (long long)settings->layer_epochs.count, (long long)rbms,
                        rbms == 1 ? "" : "s");
    if (settings->validation_path[0] && settings->validation_fraction > 0)
        return rbm_fail(error, -EINVAL, "data.validation and data.validation_fraction are both "
                                        "set: choose one");
    return 0;
}

/* The shortest text that reads back as the same double ("0.1", not "0.10000000000000001"). */
static void format_real(char *out, size_t size, double value)
{
    for (int digits = 6; digits <= 17; digits++) {
        snprintf(out, size, "%.*g", digits, value);
        if (strtod(out, NULL) == value)
            return;
    }
}

/* One key's value as config text. */
static void format_value(const KeySpec *spec, const RbmSettings *settings, char *out, size_t size)
{
    const void *field = (const char *)settings + spec->offset;
    switch (spec->kind) {
    case KIND_INT: snprintf(out, size, "%lld", (long long)*(const int64_t *)field); break;
    case KIND_SEED: snprintf(out, size, "%llu", (unsigned long long)*(const uint64_t *)field); break;
    case KIND_SCALE:
        if (*(const double *)field == 0) {
            snprintf(out, size, "auto");
            break;
        }
        __attribute__((fallthrough));
    case KIND_REAL:
    case KIND_POSREAL: format_real(out, size, *(const double *)field); break;
    case KIND_PATH: snprintf(out, size, "%s", (const char *)field); break;
    case KIND_FORMAT: snprintf(out, size, "%s", format_names[*(const RbmDataFormat *)field]); break;
    case KIND_BOOL: snprintf(out, size, "%s", *(const int *)field ? "true" : "false"); break;
    case KIND_BIAS_INIT:
        snprintf(out, size, "%s", bias_init_names[*(const RbmVisibleBiasInit *)field]);
        break;
    case KIND_SPLIT: snprintf(out, size, "%s", split_names[*(const RbmSplit *)field]); break;
    case KIND_LIST: {
        const RbmIntList *list = field;
        size_t length = 0;
        out[0] = '\0';
        for (int64_t i = 0; i < list->count && length < size; i++)
            length += (size_t)snprintf(out + length, size - length, "%s%lld", i ? "," : "",
                                       (long long)list->values[i]);
        break;
    }
    }
}

size_t rbm_settings_format(const RbmSettings *settings, RbmKeySelection keys, char *out,
                           size_t size)
{
    size_t length = 0;
    const char *section = "";
    char value[RBM_PATH_MAX + 64];
    if (size)
        out[0] = '\0';
    for (int i = 0; i < KEY_COUNT; i++) {
        const KeySpec *spec = &key_specs[i];
        if (keys == RBM_KEYS_RESULT && !spec->info.affects_result)
            continue;
        const char *heading = "";
        if (strcmp(section, spec->info.section) != 0)
            section = spec->info.section, heading = section;
        format_value(spec, settings, value, sizeof value);
        int n;
        /* "key =;x" keeps a leading ';' or '#' a value, where "key = ;x" would be a comment */
        const char *equals = value[0] == ';' || value[0] == '#' ? " =" : " = ";
        if (*heading)
            n = snprintf(length < size ? out + length : NULL, length < size ? size - length : 0,
                         "%s[%s]\n%s%s%s\n", length ? "\n" : "", heading, spec->info.name,
                         equals, value);
        else
            n = snprintf(length < size ? out + length : NULL, length < size ? size - length : 0,
                         "%s%s%s\n", spec->info.name, equals, value);
        length += n > 0 ? (size_t)n : 0;
    }
    return length;
}

char *rbm_settings_text(const RbmSettings *settings, RbmKeySelection keys)
{
    size_t length = rbm_settings_format(settings, keys, NULL, 0);
    char *text = rbm_malloc(length + 1);
    if (text)
        rbm_settings_format(settings, keys, text, length + 1);
    return text;
}

int rbm_settings_differences(const RbmSettings *saved, const RbmSettings *now, char *out,
                             size_t size)
{
    int count = 0;
    size_t length = 0;
    char a[RBM_PATH_MAX + 64], b[RBM_PATH_MAX + 64];
    if (size)
        out[0] = '\0';
    for (int i = 0; i < KEY_COUNT; i++) {
        const KeySpec *spec = &key_specs[i];
        if (!spec->info.affects_result || strcmp(spec->info.name, "epochs") == 0 ||
            strcmp(spec->info.name, "train") == 0)
            continue;
        format_value(spec, saved, a, sizeof a);
        format_value(spec, now, b, sizeof b);
        if (strcmp(a, b) == 0)
            continue;
        int n = snprintf(length < size ? out + length : NULL, length < size ? size - length : 0,
                         "%s%s.%s (%s in the checkpoint, %s now)", count ? ", " : "",
                         spec->info.section, spec->info.name, a, b);
        length += n > 0 ? (size_t)n : 0;
        count++;
    }
    return count;
}
