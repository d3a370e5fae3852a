/* sign.c: API-Sign, credentials and the per-key nonce store (see sign.h). */
#include "sign.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void b64_encode(const unsigned char *in, size_t n, char *out)
{
    size_t i = 0, o = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = B64[v >> 18], out[o++] = B64[(v >> 12) & 63], out[o++] = B64[(v >> 6) & 63], out[o++] = B64[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
        out[o++] = B64[v >> 18], out[o++] = B64[(v >> 12) & 63];
        out[o++] = i + 1 < n ? B64[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = 0;
}

static int b64_value(int ch)
{
    const char *p = ch ? strchr(B64, ch) : NULL;
    return p ? (int)(p - B64) : -1;
}

int b64_decode(const char *in, unsigned char *out, size_t cap, size_t *n)
{
    size_t len = strlen(in), o = 0;
    if (len % 4) return -1;
    for (size_t i = 0; i < len; i += 4) {
        int v[4], pad = 0;
        for (int k = 0; k < 4; k++) {
            if (in[i + k] == '=' && i + 4 == len && k >= 2) {
                v[k] = 0, pad++;
                continue;
            }
            if (pad || (v[k] = b64_value((unsigned char)in[i + k])) < 0) return -1;
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        unsigned char b[3] = {(unsigned char)(w >> 16), (unsigned char)(w >> 8), (unsigned char)w};
        for (int k = 0; k < 3 - pad; k++) {
            if (o >= cap) return -1;
            out[o++] = b[k];
        }
    }
    *n = o;
    return 0;
}

int kraken_sign(const unsigned char *secret, size_t secret_len, const char *path, const char *nonce,
                const char *body, char *out)
{
    unsigned char sha[SHA256_DIGEST_LENGTH], mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    size_t plen = strlen(path);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(md, nonce, strlen(nonce)) == 1 && EVP_DigestUpdate(md, body, strlen(body)) == 1 &&
             EVP_DigestFinal_ex(md, sha, NULL) == 1;
    EVP_MD_CTX_free(md);
    if (!ok) return -1;
    unsigned char *msg = xmalloc(plen + sizeof sha);
    memcpy(msg, path, plen);
    memcpy(msg + plen, sha, sizeof sha);
    ok = HMAC(EVP_sha512(), secret, (int)secret_len, msg, plen + sizeof sha, mac, &mac_len) != NULL && mac_len == 64;
    free(msg);
    if (!ok) return -1;
    b64_encode(mac, mac_len, out);
    OPENSSL_cleanse(mac, sizeof mac);
    return 0;
}

/* ------------------------------------------------------------ credentials */

static void set_secret(kraken_creds *c, const char *b64, const char *where)
{
    size_t len = strlen(b64);
    c->secret = xmalloc(len + 1);
    if (b64_decode(b64, c->secret, len + 1, &c->secret_len) != 0 || c->secret_len == 0)
        die(EX_CONFIG, "%s: KRAKEN_API_SECRET is not base64 (Kraken's private key is given in base64)", where);
}

/* Trim blanks and one pair of matching quotes, in place. */
static char *env_value(char *v)
{
    while (*v == ' ' || *v == '\t') v++;
    size_t n = strlen(v);
    while (n && (v[n - 1] == '\n' || v[n - 1] == '\r' || v[n - 1] == ' ' || v[n - 1] == '\t')) v[--n] = 0;
    if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) v[n - 1] = 0, v++;
    return v;
}

void creds_load(kraken_creds *c, const char *env_file)
{
    memset(c, 0, sizeof *c);
    const char *k = getenv("KRAKEN_API_KEY"), *s = getenv("KRAKEN_API_SECRET");
    if (k && *k && s && *s) {
        snprintf(c->source, sizeof c->source, "environment");
        c->key = xstrdup(k);
        set_secret(c, s, "environment");
        return;
    }
    const char *path = env_file ? env_file : ".env";
    snprintf(c->source, sizeof c->source, "%s", path);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            die(EX_CONFIG, "no Kraken credentials: set KRAKEN_API_KEY and KRAKEN_API_SECRET, or put them in %s "
                           "(mode 0600)", path);
        die(EX_CONFIG, "%s: cannot open the credentials file:", path);
    }
    struct stat st;
    if (fstat(fd, &st) != 0) die(EX_CONFIG, "%s:", path);
    if (!S_ISREG(st.st_mode)) die(EX_CONFIG, "%s: the credentials file is not a regular file", path);
    if (st.st_uid != geteuid()) die(EX_CONFIG, "%s: refused: owned by uid %u, not by this user", path, (unsigned)st.st_uid);
    if (st.st_mode & 077)
        die(EX_CONFIG, "%s: refused: mode %04o lets others than its owner read or write it (chmod 600 %s)", path,
            (unsigned)(st.st_mode & 07777), path);
    FILE *f = fdopen(fd, "r");
    if (!f) die(EX_OSERR, "%s:", path);
    char line[1024];
    char *key = NULL, *sec = NULL;
    while (fgets(line, sizeof line, f)) {
        char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (!strncmp(p, "export ", 7)) p += 7;
        char *eq = strchr(p, '=');
        if (*p == '#' || !eq) continue;
        *eq = 0;
        char *name = env_value(p);
        char *val = env_value(eq + 1);
        if (!strcmp(name, "KRAKEN_API_KEY")) free(key), key = xstrdup(val);
        else if (!strcmp(name, "KRAKEN_API_SECRET")) {
            if (sec) OPENSSL_cleanse(sec, strlen(sec)), free(sec);
            sec = xstrdup(val);
        }
    }
    OPENSSL_cleanse(line, sizeof line);
    fclose(f);
    if (!key || !*key || !sec || !*sec) die(EX_CONFIG, "%s: KRAKEN_API_KEY and KRAKEN_API_SECRET must both be set", path);
    c->key = key;
    set_secret(c, sec, path);
    OPENSSL_cleanse(sec, strlen(sec));
    free(sec);
}

void creds_free(kraken_creds *c)
{
    if (c->secret) OPENSSL_cleanse(c->secret, c->secret_len);
    free(c->secret);
    free(c->key);
    memset(c, 0, sizeof *c);
}

/* ------------------------------------------------------------ nonces */

nonce_store *nonce_open(const char *dir, const char *api_key)
{
    char buf[4096];
    if (!dir) dir = getenv("KML_NONCE_DIR");
    if (!dir || !*dir) {
        const char *home = getenv("HOME");
        snprintf(buf, sizeof buf, "%s/.local/state/krakenml", home && *home ? home : ".");
        dir = buf;
    }
    mkdirs(dir);
    unsigned char h[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)api_key, strlen(api_key), h);
    nonce_store *s = xcalloc(1, sizeof *s);
    size_t n = strlen(dir) + 40;
    s->path = xmalloc(n);
    snprintf(s->path, n, "%s/nonce-%02x%02x%02x%02x%02x%02x%02x%02x", dir, h[0], h[1], h[2], h[3], h[4], h[5], h[6],
             h[7]);
    s->fd = open(s->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->fd < 0) die(EX_CANTCREAT, "%s:", s->path);
    return s;
}

void nonce_close(nonce_store *s)
{
    if (!s) return;
    if (s->locked) nonce_unlock(s);
    close(s->fd);
    free(s->path);
    free(s);
}

void nonce_lock(nonce_store *s)
{
    ASSERT(!s->locked);
    while (flock(s->fd, LOCK_EX) != 0)
        if (errno != EINTR) die(EX_OSERR, "%s: flock:", s->path);
    s->locked = 1;
}

void nonce_unlock(nonce_store *s)
{
    ASSERT(s->locked);
    flock(s->fd, LOCK_UN);
    s->locked = 0;
}

typedef struct {
    uint64_t nonce;
    double counter, at;
} nonce_state;

static nonce_state state_read(nonce_store *s)
{
    nonce_state st = {0, 0, 0};
    char buf[128];
    ssize_t n = pread(s->fd, buf, sizeof buf - 1, 0);
    if (n < 0) die(EX_IOERR, "%s:", s->path);
    buf[n] = 0;
    if (n > 0 && sscanf(buf, "%" SCNu64 " %lf %lf", &st.nonce, &st.counter, &st.at) < 1)
        die(EX_DATAERR, "%s:1: not a nonce file (expected \"NONCE COUNTER TIME\")", s->path);
    return st;
}

static void state_write(nonce_store *s, const nonce_state *st)
{
    char buf[128], c[32], a[32];
    int n = snprintf(buf, sizeof buf, "%" PRIu64 " %s %s\n", st->nonce, fmt_double(c, st->counter),
                     fmt_double(a, st->at));
    /* the new text is never shorter than a valid old one's nonce, and the
     * truncation removes any longer tail */
    if (pwrite(s->fd, buf, (size_t)n, 0) != n || ftruncate(s->fd, n) != 0) die(EX_IOERR, "%s:", s->path);
}

uint64_t nonce_next(nonce_store *s)
{
    ASSERT(s->locked);
    nonce_state st = state_read(s);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    st.nonce = now > st.nonce ? now : st.nonce + 1;
    state_write(s, &st);
    return st.nonce;
}

void nonce_counter_get(nonce_store *s, double *counter, double *at)
{
    ASSERT(s->locked);
    nonce_state st = state_read(s);
    *counter = st.counter, *at = st.at;
}

void nonce_counter_set(nonce_store *s, double counter, double at)
{
    ASSERT(s->locked);
    nonce_state st = state_read(s);
    st.counter = counter, st.at = at;
    state_write(s, &st);
}
