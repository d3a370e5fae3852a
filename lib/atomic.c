/* atomic.c: atomic replace of a file and whole-line appends (see atomic.h). */
#include "atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* Temporaries not yet committed; removed at exit so a dying process leaves none. */
#define MAX_PENDING 64
static atomic_file *pending[MAX_PENDING];
static int handler_set;

static void remove_pending(void)
{
    for (int i = 0; i < MAX_PENDING; i++)
        if (pending[i]) unlink(pending[i]->tmp);
}

static void track(atomic_file *af, int on)
{
    for (int i = 0; i < MAX_PENDING; i++) {
        if (on && !pending[i]) {
            pending[i] = af;
            return;
        }
        if (!on && pending[i] == af) {
            pending[i] = NULL;
            return;
        }
    }
    ASSERT(!on); /* more than MAX_PENDING files open at once */
}

atomic_file *atomic_open(const char *path)
{
    if (!handler_set) {
        atexit(remove_pending);
        handler_set = 1;
    }
    /* Renaming over a device or a FIFO would put a regular file in its place
     * (as root, over /dev/null itself): only what is (or links to) a regular
     * file is replaced. */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        die(EX_CANTCREAT, "%s: not a regular file; an atomic replace would put a file in its place", path);
    atomic_file *af = xcalloc(1, sizeof *af);
    af->path = xstrdup(path);
    /* ".name.tmp-XXXXXX" beside the target, so rename() stays in one file system. */
    char *copy = xstrdup(path);
    const char *base = basename(copy);
    char *dcopy = xstrdup(path);
    const char *dir = dirname(dcopy);
    af->tmp = xmalloc(strlen(dir) + strlen(base) + 16);
    sprintf(af->tmp, "%s/.%s.tmp-XXXXXX", dir, base);
    free(copy);
    free(dcopy);
    int fd = mkstemp(af->tmp);
    if (fd < 0) die(EX_CANTCREAT, "%s: cannot create a temporary file beside it:", path);
    fchmod(fd, 0644);
    af->f = fdopen(fd, "w");
    if (!af->f) die(EX_OSERR, "fdopen:");
    track(af, 1);
    return af;
}

static void fsync_dir(const char *path)
{
    char *copy = xstrdup(path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    free(copy);
    if (fd >= 0) {
        fsync(fd); /* some file systems refuse; the rename is done either way */
        close(fd);
    }
}

void atomic_commit(atomic_file *af)
{
    int bad = fflush(af->f) != 0 || ferror(af->f) || fsync(fileno(af->f)) != 0;
    int e = errno;
    if (fclose(af->f) != 0) bad = 1, e = errno;
    if (bad) {
        unlink(af->tmp);
        errno = e;
        die(EX_IOERR, "%s: write error:", af->path);
    }
    if (rename(af->tmp, af->path) != 0) {
        e = errno;
        unlink(af->tmp);
        errno = e;
        die(EX_IOERR, "%s: cannot replace:", af->path);
    }
    track(af, 0);
    fsync_dir(af->path);
    free(af->path);
    free(af->tmp);
    free(af);
}

void atomic_abort(atomic_file *af)
{
    fclose(af->f);
    unlink(af->tmp);
    track(af, 0);
    free(af->path);
    free(af->tmp);
    free(af);
}

void atomic_write(const char *path, const void *data, size_t n)
{
    atomic_file *af = atomic_open(path);
    if (n && fwrite(data, 1, n, af->f) != n) die(EX_IOERR, "%s: write error:", path);
    atomic_commit(af);
}

int append_line(const char *path, const char *line)
{
    size_t n = strlen(line);
    int nl = n == 0 || line[n - 1] != '\n';
    char *buf = xmalloc(n + 2);
    memcpy(buf, line, n);
    if (nl) buf[n++] = '\n';
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        free(buf);
        return -1;
    }
    ssize_t w = write(fd, buf, n); /* one write: O_APPEND keeps lines whole */
    int e = errno;
    close(fd);
    free(buf);
    if (w != (ssize_t)n) {
        errno = w < 0 ? e : EIO;
        return -1;
    }
    return 0;
}
