/* sha256.h: the digest kml-train names its data and configuration with (a
 * model is kept when both are unchanged). */
#ifndef KML_TRAIN_SHA256_H
#define KML_TRAIN_SHA256_H

#include <stddef.h>

/* SHA-256 (OpenSSL libcrypto) of n bytes as 64 lowercase hex digits in hex (65 bytes). */
void kml_sha256_hex(const void *data, size_t n, char hex[65]);

#endif
