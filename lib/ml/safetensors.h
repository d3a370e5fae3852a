/* safetensors.h: the one safetensors reader and writer of krakenml. lib/nn's
 * nn_save/nn_load and lib/ml's model files (ml.h) both go through it.
 *
 * Layout (https://github.com/huggingface/safetensors): an 8-byte
 * little-endian header length N, N bytes of JSON header (padded with spaces
 * to a multiple of 8 so the data starts aligned), then the raw tensors. The
 * header maps each tensor name to {"dtype":"F32","shape":[...],
 * "data_offsets":[begin,end]} (byte offsets into the data) and
 * "__metadata__" to an object of strings. Only float32, little-endian. */
#ifndef KML_ML_SAFETENSORS_H
#define KML_ML_SAFETENSORS_H

#include <cJSON.h>
#include <stddef.h>

#define ST_MAX_DIM 4

/* A tensor to write: data holds the product of shape[0..ndim) floats. */
typedef struct {
    const char *name;
    int ndim;
    long shape[ST_MAX_DIM];
    const float *data;
} st_tensor;

/* Write the tensors (in this order) and meta (an object whose members are
 * strings, or NULL) to path, atomically (lib/atomic.h). The header is printed
 * by json_print. A non-string metadata member is a programmer error (ASSERT);
 * a file that cannot be created dies 73, an I/O error 74. */
void st_write(const char *path, const st_tensor *t, int n, const cJSON *meta);

/* A file read into memory. header is the parsed JSON header; meta its
 * "__metadata__" object (NULL when absent), owned by header. */
typedef struct st_file {
    unsigned char *bytes;
    size_t n;
    cJSON *header;
    const cJSON *meta;
    size_t data_off; /* where the data starts in bytes */
} st_file;

/* Read path into f. Returns 0; or, with a message (not naming the file) in
 * err: EX_NOINPUT when it cannot be opened (errno kept), EX_IOERR on a read
 * error, EX_DATAERR when it is not a safetensors file. On error f holds
 * nothing to free. */
int st_read(const char *path, st_file *f, char *err, size_t errn);
/* Copy tensor name of f into dst, checking that it exists, is F32, has
 * exactly the shape shape[0..ndim) and lies inside the file. Returns 0, or -1
 * with a message ("tensor X missing", "tensor X: shape [..], expected [..]",
 * ...) in err. */
int st_get(const st_file *f, const char *name, int ndim, const long *shape, float *dst, char *err, size_t errn);
/* The number of floats of tensor name (its shape's product), or -1 when f
 * has no such tensor or its shape is not an array of non-negative integers. */
long st_count(const st_file *f, const char *name);
/* The tensor names of f other than those in known[0..nknown): returns the
 * first such name (owned by f), or NULL when every tensor is known. */
const char *st_unknown(const st_file *f, const char *const *known, int nknown);
void st_free(st_file *f);

#endif
