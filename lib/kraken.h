/* kraken.h: a client for Kraken's REST API over libcurl.
 *
 * One kraken_client holds a curl handle and the settings read from the
 * environment once, at kraken_open():
 *   KRAKEN_API_URL            base URL (default https://api.kraken.com)
 *   KML_HTTP_TIMEOUT          total seconds per request (default 30)
 *   KML_HTTP_CONNECT_TIMEOUT  seconds to connect (default 10)
 *   KML_HTTP_RETRIES          retries after the first attempt (default 5)
 *   KML_HTTP_BACKOFF          first backoff in seconds (default 1); attempt k
 *                             waits BACKOFF * 2^k * U[0.5, 1.5), at most 60 s
 *   KML_HTTP_PACE             least seconds between two requests (default 1,
 *                             which keeps public calls under Kraken's limit)
 * A bad value dies EX_CONFIG (78) naming the variable.
 *
 * A request is retried on a timeout, a failed connection, a truncated body,
 * malformed JSON, HTTP 5xx and 429, and on Kraken's EAPI:Rate limit exceeded,
 * EGeneral:Too many requests, EService:Unavailable and EService:Busy. Any other
 * error in the response's "error" array is permanent (EQuery:Unknown asset
 * pair, EGeneral:Invalid arguments, ...), even when a "result" comes with it.
 * Exit codes after the retries: EX_TEMPFAIL (75) when the last failure was a
 * timeout, a rate limit or a busy/unavailable exchange, EX_UNAVAILABLE (69)
 * otherwise (connection, HTTP error, malformed or truncated response, or a
 * permanent exchange error, which is never retried). */
#ifndef KML_KRAKEN_H
#define KML_KRAKEN_H

#include <cJSON.h>
#include <curl/curl.h>

#include "pair.h"
#include "rng.h"

typedef struct {
    CURL *curl;
    char *base_url;
    double timeout, connect_timeout, backoff, pace;
    int retries;
    double last_request; /* now_seconds() of the previous request, 0: none */
    long requests;       /* attempts made, for tests and summaries */
    rng_t rng;           /* backoff jitter only */
} kraken_client;

typedef struct {
    int code;       /* 0, EX_TEMPFAIL or EX_UNAVAILABLE */
    char msg[512];  /* one line, without the program name */
    int ambiguous;  /* the request may have reached Kraken and been acted on:
                     * a timeout or reset after connecting, HTTP 5xx/429, a
                     * malformed or truncated body, EService:* or
                     * EGeneral:Internal error. 0: Kraken certainly did nothing
                     * (no connection, or a definite error answer). */
    int transient;  /* the last failure may pass if tried again later */
} kraken_err;

/* Called before each attempt of a private request, so that every retry gets a
 * fresh nonce and signature: sets *body (malloc'ed, POST body) and appends its
 * headers to *headers. Returns 0, or -1 to give up (err is then left to the
 * caller's message). */
typedef int (*kraken_sign_fn)(void *ctx, const char *path, char **body, struct curl_slist **headers);

kraken_client *kraken_open(void);
void kraken_close(kraken_client *c);

/* GET (sign == NULL) or signed POST of base_url + path [+ "?" + query]. On
 * success returns the whole parsed response (caller cJSON_Delete()s it), whose
 * "error" is empty and "result" present; on failure returns NULL with err set. */
cJSON *kraken_request(kraken_client *c, const char *path, const char *query, kraken_sign_fn sign, void *sign_ctx,
                      kraken_err *err);
/* One attempt only, never retried (pacing still applies): for requests that
 * must not be repeated blindly, such as placing an order. err->ambiguous says
 * whether a failed request may nevertheless have been carried out. */
cJSON *kraken_request_once(kraken_client *c, const char *path, const char *query, kraken_sign_fn sign,
                           void *sign_ctx, kraken_err *err);
/* A public GET of /0/public/<method>; dies with err's code on failure.
 * *result points into the returned root. */
cJSON *kraken_public(kraken_client *c, const char *method, const char *query, cJSON **result);

/* Whether an exchange error message ("EAPI:Rate limit exceeded") is transient. */
int kraken_error_retryable(const char *msg);
/* Compare two non-negative decimal integer texts of any length (Kraken's
 * nanosecond "last" values): <0, 0, >0; leading zeros ignored. */
int kraken_idcmp(const char *a, const char *b);
/* The member of result that holds the pair's data (its key may be the altname
 * or the legacy XXBTZUSD form), or NULL. Ignores "last". */
cJSON *kraken_pair_member(cJSON *result, const kml_pair *p);

#endif
