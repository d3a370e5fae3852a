/* kraken.c: Kraken REST over libcurl, with bounded jittered retries (see kraken.h). */
#include "kraken.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define KRAKEN_DEFAULT_URL "https://api.kraken.com"
#define KRAKEN_MAX_BODY (256L << 20) /* a response larger than this is an error */
#define KRAKEN_MAX_WAIT 60.0

static double env_seconds(const char *name, double dflt, double lo, double hi)
{
    const char *s = getenv(name);
    if (!s || !*s) return dflt;
    double x;
    if (parse_double(s, &x) != 0 || x < lo || x > hi)
        die(EX_CONFIG, "%s: \"%s\" is not a number of seconds in [%g, %g]", name, s, lo, hi);
    return x;
}

kraken_client *kraken_open(void)
{
    static int global_done;
    if (!global_done) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) die(EX_SOFTWARE, "libcurl: cannot initialise");
        global_done = 1;
    }
    kraken_client *c = xcalloc(1, sizeof *c);
    c->curl = curl_easy_init();
    if (!c->curl) die(EX_SOFTWARE, "libcurl: cannot create a handle");
    const char *url = getenv("KRAKEN_API_URL");
    c->base_url = xstrdup(url && *url ? url : KRAKEN_DEFAULT_URL);
    size_t n = strlen(c->base_url);
    while (n > 0 && c->base_url[n - 1] == '/') c->base_url[--n] = 0;
    c->timeout = env_seconds("KML_HTTP_TIMEOUT", 30, 0.01, 3600);
    c->connect_timeout = env_seconds("KML_HTTP_CONNECT_TIMEOUT", 10, 0.01, 600);
    c->backoff = env_seconds("KML_HTTP_BACKOFF", 1, 0, 60);
    c->pace = env_seconds("KML_HTTP_PACE", 1, 0, 60);
    c->retries = (int)env_seconds("KML_HTTP_RETRIES", 5, 0, 100);
    /* jitter only: a different stream per process is what we want here */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    rng_seed(&c->rng, (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32));
    return c;
}

void kraken_close(kraken_client *c)
{
    if (!c) return;
    curl_easy_cleanup(c->curl);
    free(c->base_url);
    free(c);
}

int kraken_error_retryable(const char *msg)
{
    /* not EGeneral:Temporary lockout: it lasts about 15 minutes, and more
     * attempts during it only prolong it */
    static const char *const transient[] = {"EAPI:Rate limit exceeded", "EGeneral:Too many requests",
                                            "EService:Unavailable", "EService:Busy"};
    for (size_t i = 0; i < sizeof transient / sizeof *transient; i++)
        if (!strncmp(msg, transient[i], strlen(transient[i]))) return 1;
    return 0;
}

int kraken_idcmp(const char *a, const char *b)
{
    while (*a == '0' && a[1]) a++;
    while (*b == '0' && b[1]) b++;
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb) return la < lb ? -1 : 1;
    return strcmp(a, b);
}

cJSON *kraken_pair_member(cJSON *result, const kml_pair *p)
{
    cJSON *it, *only = NULL;
    int n = 0;
    cJSON_ArrayForEach(it, result)
    {
        if (!it->string || !strcmp(it->string, "last")) continue;
        if (pair_matches_key(p, it->string)) return it;
        only = it, n++;
    }
    return n == 1 ? only : NULL; /* a single answer to a single-pair question */
}

typedef struct {
    char *p;
    size_t n, cap;
    int too_big;
} buf_t;

static size_t on_data(char *data, size_t size, size_t nmemb, void *ctx)
{
    buf_t *b = ctx;
    size_t len = size * nmemb;
    if (b->n + len + 1 > (size_t)KRAKEN_MAX_BODY) {
        b->too_big = 1;
        return 0;
    }
    if (b->n + len + 1 > b->cap) {
        while (b->n + len + 1 > b->cap) b->cap = b->cap ? 2 * b->cap : 16384;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, data, len);
    b->n += len;
    b->p[b->n] = 0;
    return len;
}

KML_PRINTF(3, 4) static void set_err(kraken_err *e, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->code = code;
}

/* One attempt. Returns the parsed root on success; NULL with err set, and
 * *retry telling whether another attempt may succeed. */
static cJSON *attempt(kraken_client *c, const char *url, const char *path, kraken_sign_fn sign, void *sign_ctx,
                      kraken_err *err, int *retry)
{
    CURL *h = c->curl;
    buf_t b = {0};
    char *body = NULL;
    struct curl_slist *headers = NULL;
    cJSON *root = NULL;
    *retry = 0;
    err->ambiguous = 0;
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "krakenml/0.1 (kml-fetch; libcurl)");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(c->timeout * 1000));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(c->connect_timeout * 1000));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    if (sign) {
        if (sign(sign_ctx, path, &body, &headers) != 0) {
            set_err(err, EX_UNAVAILABLE, "%s: cannot sign the request", path);
            goto out;
        }
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    }
    c->requests++;
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK) {
        if (b.too_big) {
            set_err(err, EX_UNAVAILABLE, "%s: response larger than %ld bytes", path, KRAKEN_MAX_BODY);
            goto out;
        }
        *retry = 1;
        err->ambiguous = rc != CURLE_COULDNT_CONNECT && rc != CURLE_COULDNT_RESOLVE_HOST &&
                         rc != CURLE_COULDNT_RESOLVE_PROXY;
        set_err(err, rc == CURLE_OPERATION_TIMEDOUT ? EX_TEMPFAIL : EX_UNAVAILABLE, "%s: %s%s", path,
                curl_easy_strerror(rc), rc == CURLE_PARTIAL_FILE ? " (truncated response)" : "");
        goto out;
    }
    if (status >= 500 || status == 429) {
        *retry = 1;
        err->ambiguous = 1;
        set_err(err, status == 429 || status == 503 ? EX_TEMPFAIL : EX_UNAVAILABLE, "%s: HTTP %ld", path, status);
        goto out;
    }
    if (status >= 400) {
        set_err(err, EX_UNAVAILABLE, "%s: HTTP %ld", path, status);
        goto out;
    }
    root = b.p ? cJSON_ParseWithLength(b.p, b.n) : NULL;
    cJSON *errs = cJSON_GetObjectItemCaseSensitive(root, "error");
    if (!root || !cJSON_IsObject(root) || !cJSON_IsArray(errs)) {
        *retry = 1;
        err->ambiguous = 1;
        set_err(err, EX_UNAVAILABLE, "%s: malformed response (not a Kraken JSON object, %zu bytes)", path, b.n);
        cJSON_Delete(root), root = NULL;
        goto out;
    }
    if (cJSON_GetArraySize(errs) > 0) {
        char joined[400] = "";
        int transient = 1;
        cJSON *e;
        cJSON_ArrayForEach(e, errs)
        {
            const char *s = cJSON_IsString(e) ? e->valuestring : "(non-string error)";
            transient &= kraken_error_retryable(s);
            if (!strncmp(s, "EService:", 9) || !strncmp(s, "EGeneral:Internal error", 23)) err->ambiguous = 1;
            size_t used = strlen(joined);
            snprintf(joined + used, sizeof joined - used, "%s%s", used ? "; " : "", s);
        }
        *retry = transient;
        set_err(err, transient ? EX_TEMPFAIL : EX_UNAVAILABLE, "%s: Kraken error: %s", path, joined);
        cJSON_Delete(root), root = NULL;
        goto out;
    }
    if (!cJSON_GetObjectItemCaseSensitive(root, "result")) {
        *retry = 1;
        err->ambiguous = 1;
        set_err(err, EX_UNAVAILABLE, "%s: malformed response (no \"result\")", path);
        cJSON_Delete(root), root = NULL;
        goto out;
    }
    err->code = 0;
    err->msg[0] = 0;
out:
    curl_slist_free_all(headers);
    free(body);
    free(b.p);
    return root;
}

static void sleep_seconds(double s)
{
    if (s <= 0) return;
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
    while (nanosleep(&ts, &ts) != 0) {}
}

cJSON *kraken_request(kraken_client *c, const char *path, const char *query, kraken_sign_fn sign, void *sign_ctx,
                      kraken_err *err)
{
    size_t n = strlen(c->base_url) + strlen(path) + (query ? strlen(query) : 0) + 2;
    char *url = xmalloc(n);
    snprintf(url, n, "%s%s%s%s", c->base_url, path, query && *query ? "?" : "", query && *query ? query : "");
    cJSON *root = NULL;
    int k = 0;
    for (;; k++) {
        if (c->last_request > 0) sleep_seconds(c->pace - (now_seconds() - c->last_request));
        int retry;
        root = attempt(c, url, path, sign, sign_ctx, err, &retry);
        c->last_request = now_seconds();
        err->transient = retry;
        if (root || !retry || k >= c->retries) break;
        /* exponential backoff with jitter in [0.5, 1.5), so clients that failed
         * together do not come back together */
        double wait = fmin(c->backoff * ldexp(1.0, k) * (0.5 + rng_uniform(&c->rng)), KRAKEN_MAX_WAIT);
        warn("%s; retry %d of %d in %.2fs", err->msg, k + 1, c->retries, wait);
        sleep_seconds(wait);
    }
    size_t used = strlen(err->msg);
    if (!root && k > 0 && used + 32 < sizeof err->msg)
        snprintf(err->msg + used, sizeof err->msg - used, " (after %d attempts)", k + 1);
    free(url);
    return root;
}

cJSON *kraken_request_once(kraken_client *c, const char *path, const char *query, kraken_sign_fn sign,
                           void *sign_ctx, kraken_err *err)
{
    int saved = c->retries;
    c->retries = 0;
    cJSON *root = kraken_request(c, path, query, sign, sign_ctx, err);
    c->retries = saved;
    return root;
}

cJSON *kraken_public(kraken_client *c, const char *method, const char *query, cJSON **result)
{
    char path[128];
    snprintf(path, sizeof path, "/0/public/%s", method);
    kraken_err err;
    cJSON *root = kraken_request(c, path, query, NULL, NULL, &err);
    if (!root) die(err.code, "%s", err.msg);
    *result = cJSON_GetObjectItemCaseSensitive(root, "result");
    return root;
}
