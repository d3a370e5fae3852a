/* st.h: a small safetensors writer and header reader, for the models that
 * kml-train builds outside lib/nn (the linear baseline).
 *
 * Format: 8-byte little-endian header length, a JSON header (tensor name ->
 * dtype "F32", shape, data_offsets; "__metadata__" -> string values), padded
 * with spaces to a multiple of 8, then the raw little-endian float32 data. */
#ifndef KML_TRAIN_ST_H
#define KML_TRAIN_ST_H

#include <cJSON.h>
#include <stddef.h>

typedef struct {
    const char *name;
    int ndim;
    long shape[4];
    const float *data;
} st_tensor;

/* Write tensors and meta (an object of strings, may be NULL) to path,
 * atomically. Dies on an I/O error (74) or when the directory cannot be
 * written (73). */
void st_write(const char *path, const st_tensor *t, int n, const cJSON *meta);
/* The parsed JSON header of a safetensors file, or NULL when the file is
 * absent or not a safetensors file (no message). Caller deletes. */
cJSON *st_read_header(const char *path);
/* Read the float32 tensor name of path into a new buffer (caller frees);
 * *count gets the element count. NULL when absent or malformed. */
float *st_read_tensor(const char *path, const char *name, long *count);

/* SHA-256 (OpenSSL libcrypto) of n bytes as 64 lowercase hex digits in hex (65 bytes). */
void kml_sha256_hex(const void *data, size_t n, char hex[65]);

#endif
