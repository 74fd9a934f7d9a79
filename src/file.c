#include "memory.h"
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

int rbm_read_file(const char *path, size_t max_bytes, char **out, size_t *size, RbmError *error)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return rbm_fail(error, errno == ENOENT ? -ENOENT : -EINVAL, "%s: cannot open: %s", path,
                        strerror(errno));
    struct stat info;
    if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
        close(fd);
        return rbm_fail(error, -EINVAL, "%s: not a regular file", path);
    }
    if ((uint64_t)info.st_size > max_bytes) {
        close(fd);
        return rbm_fail(error, -EINVAL, "%s: %lld bytes is more than the %zu this file may have",
                        path, (long long)info.st_size, max_bytes);
    }
    size_t length = (size_t)info.st_size;
    char *buffer = rbm_malloc(length + 1);
    if (!buffer) {
        close(fd);
        return rbm_fail(error, -ENOMEM, "%s: out of memory reading %zu bytes", path, length);
    }
    size_t done = 0;
    while (done < length) {
        ssize_t n = read(fd, buffer + done, length - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int code = n < 0 ? errno : EIO;
            free(buffer);
            close(fd);
            return rbm_fail(error, -EIO, "%s: read failed at byte %zu: %s", path, done,
                            strerror(code));
        }
        done += (size_t)n;
    }
    close(fd);
    buffer[length] = '\0';
    *out = buffer;
    *size = length;
    return 0;
}

size_t rbm_count_lines(const char *text, size_t length)
{
    size_t lines = 0;
    for (const char *p = text; (p = memchr(p, '\n', length - (size_t)(p - text))) != NULL; p++)
        lines++;
    return lines;
}

static int sync_directory_of(const char *path)
{
    char copy[RBM_PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int result = fsync(fd) == 0 || errno == EINVAL ? 0 : -errno;
    close(fd);
    return result;
}

int rbm_write_atomically(const char *path, RbmWriteFunction write, void *user, RbmError *error)
{
    char temp_path[RBM_PATH_MAX + 32];
    if (snprintf(temp_path, sizeof temp_path, "%s.tmp.%ld", path, (long)getpid()) >=
        (int)sizeof temp_path)
        return rbm_fail(error, -EINVAL, "%s: path is too long", path);
    int result = write(temp_path, user, error);
    if (result == 0) {
        int fd = open(temp_path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) != 0)
            result = rbm_fail(error, -EIO, "%s: cannot flush to disk: %s", temp_path,
                              strerror(errno));
        if (fd >= 0)
            close(fd);
    }
    if (result == 0 && rename(temp_path, path) != 0)
        result = rbm_fail(error, -EIO, "%s: cannot rename into place: %s", path, strerror(errno));
    if (result != 0) {
        unlink(temp_path);
        return result;
    }
    if (sync_directory_of(path) != 0)
        return rbm_fail(error, -EIO, "%s: cannot flush its directory: %s", path, strerror(errno));
    return 0;
}
