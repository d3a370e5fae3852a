/* sha256.c: see sha256.h. */
#include "train/sha256.h"

#include <openssl/evp.h>
#include <stdio.h>

#include "util.h"

void kml_sha256_hex(const void *data, size_t n, char hex[65]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!EVP_Digest(data, n, md, &len, EVP_sha256(), NULL) || len != 32) die(EX_SOFTWARE, "SHA-256 failed");
    for (unsigned i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
}
