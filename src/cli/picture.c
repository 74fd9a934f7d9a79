#include "picture.h"

#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct PngJob {
    const char *path; /* what messages name (the temporary file is an implementation detail) */
    const uint8_t *pixels;
    int64_t width, height;
} PngJob;

static int write_png(const char *temp_path, void *user, RbmError *error)
{
    const PngJob *job = user;
    FILE *file = fopen(temp_path, "wb");
    if (!file) {
        snprintf(error->message, sizeof error->message, "%s: cannot create: %s", job->path,
                 strerror(errno));
        return -EIO;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    int result = 0;
    if (!png || !info) {
        result = -ENOMEM;
    } else if (setjmp(png_jmpbuf(png))) {
        result = -EIO; /* libpng reports write errors (a full disk) by longjmp */
    } else {
        png_init_io(png, file);
        png_set_IHDR(png, info, (png_uint_32)job->width, (png_uint_32)job->height, 8,
                     PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                     PNG_FILTER_TYPE_DEFAULT);
        png_write_info(png, info);
        for (int64_t y = 0; y < job->height; y++)
            png_write_row(png, (png_const_bytep)(job->pixels + y * job->width));
        png_write_end(png, NULL);
    }
    png_destroy_write_struct(png ? &png : NULL, info ? &info : NULL);
    if ((fflush(file) != 0 || ferror(file)) && result == 0)
        result = -EIO;
    if (fclose(file) != 0 && result == 0)
        result = -EIO;
    if (result != 0)
        snprintf(error->message, sizeof error->message, "%s: cannot write the PNG%s", job->path,
                 result == -ENOMEM ? ": out of memory" : " (disk full?)");
    return result;
}

int picture_save_png(const char *path, const uint8_t *pixels, int64_t width, int64_t height,
                     RbmError *error)
{
    PngJob job = {path, pixels, width, height};
    return rbm_write_atomically(path, write_png, &job, error);
}

int picture_tile_shape(const char *given, int64_t units, int64_t *width, int64_t *height,
                       RbmError *error)
{
    if (given) {
        char *end = NULL;
        errno = 0;
        long long w = given[0] >= '0' && given[0] <= '9' ? strtoll(given, &end, 10) : 0, h = 0;
        if (end && *end == 'x' && end[1] >= '0' && end[1] <= '9')
            h = strtoll(end + 1, &end, 10);
        /* w and h at most units: then w * h cannot overflow */
        if (!end || *end != '\0' || errno == ERANGE || w <= 0 || h <= 0 || w > units ||
            h > units || w * h != units) {
            snprintf(error->message, sizeof error->message,
                     "--tile %s: expected WIDTHxHEIGHT with WIDTH * HEIGHT = %lld units", given,
                     (long long)units);
            return -EINVAL;
        }
        *width = w, *height = h;
        return 0;
    }
    int64_t side = (int64_t)llround(sqrt((double)units));
    if (side * side != units) {
        snprintf(error->message, sizeof error->message,
                 "%lld units are not a square: give the tile shape, e.g. --tile %lldx1",
                 (long long)units, (long long)units);
        return -EINVAL;
    }
    *width = *height = side;
    return 0;
}

int picture_grid_fits(const char *path, int64_t count, int64_t tile_width, int64_t tile_height,
                      RbmError *error)
{
    /* in double: no product here can overflow */
    const double columns = ceil(sqrt((double)count)), rows = ceil((double)count / columns);
    const double width = columns * ((double)tile_width + 1) + 1;
    const double height = rows * ((double)tile_height + 1) + 1;
    if (count < 1 || width > 30000 || height > 30000) {
        snprintf(error->message, sizeof error->message,
                 "%s: %lld tiles of %lld x %lld make a %.0f x %.0f picture; the limit is 30000 x "
                 "30000 (write .npy instead, or fewer rows)",
                 path, (long long)count, (long long)tile_width, (long long)tile_height, width,
                 height);
        return -EINVAL;
    }
    return 0;
}

int picture_save_grid(const char *path, const float *tiles, int64_t count, int64_t stride,
                      int64_t tile_width, int64_t tile_height, int normalise, RbmError *error)
{
    int fits = picture_grid_fits(path, count, tile_width, tile_height, error);
    if (fits < 0)
        return fits;
    const int64_t columns = (int64_t)ceil(sqrt((double)count));
    const int64_t rows = (count + columns - 1) / columns;
    const int64_t width = columns * (tile_width + 1) + 1, height = rows * (tile_height + 1) + 1;
    uint8_t *pixels = calloc((size_t)(width * height), 1); /* black gaps between tiles */
    if (!pixels) {
        snprintf(error->message, sizeof error->message, "out of memory");
        return -ENOMEM;
    }
    for (int64_t t = 0; t < count; t++) {
        const float *tile = tiles + t * stride;
        float low = 0, high = 1;
        if (normalise) {
            low = high = tile[0];
            for (int64_t i = 1; i < tile_width * tile_height; i++)
                low = fminf(low, tile[i]), high = fmaxf(high, tile[i]);
            if (high == low)
                high = low + 1;
        }
        const int64_t x0 = 1 + (t % columns) * (tile_width + 1);
        const int64_t y0 = 1 + (t / columns) * (tile_height + 1);
        for (int64_t y = 0; y < tile_height; y++)
            for (int64_t x = 0; x < tile_width; x++) {
                float value = (tile[y * tile_width + x] - low) / (high - low);
                value = value < 0 ? 0 : value > 1 ? 1 : value;
                pixels[(y0 + y) * width + x0 + x] = (uint8_t)lrintf(value * 255.0f);
            }
    }
    int result = picture_save_png(path, pixels, width, height, error);
    free(pixels);
    return result;
}
