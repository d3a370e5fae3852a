/* sign.h: what a private Kraken request needs before it is sent: the API-Sign
 * signature, the credentials, and a nonce store shared by every process that
 * uses one API key.
 *
 * Signature (docs.kraken.com, spot REST authentication):
 *   API-Sign = base64(HMAC-SHA512(base64decode(secret), path || SHA256(nonce || body)))
 * over the exact body bytes that are sent (body already contains "nonce=N").
 *
 * Credentials come only from KRAKEN_API_KEY / KRAKEN_API_SECRET, or else from a
 * .env file (KEY=VALUE lines) that only its owner can read: a file whose mode
 * lets the group or others read or write it is refused, naming the mode. They
 * never come from argv and are never printed; the secret is wiped on close.
 *
 * Nonces: one small file per API key (named by a hash of the key, never the
 * key) holds "NONCE COUNTER TIME". Whoever holds its flock() takes the next
 * nonce, max(last + 1, nanoseconds since the epoch), signs and sends; the lock
 * is held until the answer is in, so two processes on one key never send a
 * nonce twice or out of order. Nanoseconds are Kraken's largest scale, so a key
 * is never moved to a smaller scale. The same file carries the client-side
 * model of Kraken's private call counter (private.h), shared the same way. */
#ifndef KML_MARKET_SIGN_H
#define KML_MARKET_SIGN_H

#include <stddef.h>
#include <stdint.h>

/* Standard base64 with padding; out needs 4 * ((n + 2) / 3) + 1 bytes. */
void b64_encode(const unsigned char *in, size_t n, char *out);
/* Strict decode (whitespace not allowed); -1 when in is not base64 or the
 * result does not fit in cap bytes. */
int b64_decode(const char *in, unsigned char *out, size_t cap, size_t *n);

#define KRAKEN_SIGN_LEN 88 /* base64 of 64 bytes */
/* out needs KRAKEN_SIGN_LEN + 1 bytes. Returns 0, -1 on a libcrypto failure. */
int kraken_sign(const unsigned char *secret, size_t secret_len, const char *path, const char *nonce,
                const char *body, char *out);

typedef struct {
    char *key;             /* the public API key */
    unsigned char *secret; /* decoded secret */
    size_t secret_len;
    char source[64];       /* "environment" or the .env path, for messages */
} kraken_creds;

/* Load the credentials (environment first, then env_file; NULL means ".env").
 * Dies 78 (EX_CONFIG) when there are none, when the .env file's mode lets
 * anyone but its owner read or write it, or when the secret is not base64;
 * messages never contain either value. */
void creds_load(kraken_creds *c, const char *env_file);
void creds_free(kraken_creds *c); /* wipes the secret */

typedef struct {
    int fd;
    int locked;
    char *path;
} nonce_store;

/* The store of this key under dir (NULL: $KML_NONCE_DIR, else
 * $HOME/.local/state/krakenml). Created 0600; dies 73 when it cannot be. */
nonce_store *nonce_open(const char *dir, const char *api_key);
void nonce_close(nonce_store *s);
void nonce_lock(nonce_store *s);   /* blocks until this process holds the key */
void nonce_unlock(nonce_store *s);
/* Only while locked: the next nonce, persisted before it is returned. */
uint64_t nonce_next(nonce_store *s);
/* Only while locked: read / write the call-counter model (value and the unix
 * time it was last updated). */
void nonce_counter_get(nonce_store *s, double *counter, double *at);
void nonce_counter_set(nonce_store *s, double counter, double at);

#endif
