/* Pictures for the CLI: grids of grey tiles as PNG (libpng), written atomically. */
#ifndef RBM_CLI_PICTURE_H
#define RBM_CLI_PICTURE_H

#include <stdint.h>

#include "rbm/rbm.h"

/* Writes `count` tiles of tile_width x tile_height values (row-major, each tile's values
 * contiguous, `stride` apart) as a grid. normalise: each tile scaled from its own minimum to
 * maximum (filters); otherwise values in [0,1] map to 0..255. */
int picture_save_grid(const char *path, const float *tiles, int64_t count, int64_t stride,
                      int64_t tile_width, int64_t tile_height, int normalise, RbmError *error);

/* 0 when `count` tiles of that shape make a picture of at most 30000 x 30000 pixels, else
 * -EINVAL with the reason (checked before the work that makes the tiles). */
int picture_grid_fits(const char *path, int64_t count, int64_t tile_width, int64_t tile_height,
                      RbmError *error);

/* Writes a width x height 8-bit grey image. */
int picture_save_png(const char *path, const uint8_t *pixels, int64_t width, int64_t height,
                     RbmError *error);

/* The tile shape for `units` values: "WxH" when given, else the square root when it is
 * whole. Returns 0, or -EINVAL with the reason. */
int picture_tile_shape(const char *given, int64_t units, int64_t *width, int64_t *height,
                       RbmError *error);

#endif
