/* events.h: execution events, the one writer for sandbox and live.
 *
 * An event is one JSON line (DESIGN.md "execution events JSONL") written to
 * stdout and appended, a whole line at a time, to
 * $KML_LOG_DIR/bot_manager_integration.log (default logs/). Members, in this
 * order, each omitted when unset (NULL string, NaN number):
 *
 *   ts         ISO-8601 UTC of the event: the simulated moment in sandbox
 *              (so a rerun is byte-identical), the wall clock in live
 *   time       the bar (its open time, Unix seconds)
 *   mode       "sandbox" or "live"
 *   event      order, fill, reject, cancel, stop, take_profit, liquidation,
 *              rollover, kill, reconcile, error
 *   pair       "SOL/USD" (absent for account-wide events such as kill)
 *   seq        the account's event counter (1, 2, ...)
 *   cl_ord_id, txid, side ("buy"/"sell"), volume, price, fee, pnl, reason
 *   position   signed volume of the pair after the event
 *   cash, equity  of the account after the event
 *
 * A caller may add members of its own (cJSON) after these. Never put a
 * secret in an event. */
#ifndef KML_EVENTS_H
#define KML_EVENTS_H

#include <cJSON.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
    const char *event;       /* "fill", "stop", ... (required) */
    const char *mode;        /* "sandbox" or "live" (required) */
    double ts;               /* Unix seconds of the event (required, finite) */
    int64_t time;            /* the bar */
    const char *pair;        /* display form, NULL for account-wide events */
    long long seq;           /* <= 0: omitted */
    const char *cl_ord_id;   /* NULL: omitted */
    const char *txid;
    const char *side;        /* "buy" / "sell" */
    double volume, price, fee, pnl; /* NaN: omitted */
    const char *reason;
    double position, cash, equity;  /* after the event; NaN: omitted */
} kml_event;

/* An event with every optional member unset (NaN numbers, NULL strings). */
kml_event event_blank(const char *event, const char *mode, double ts, int64_t time, const char *pair);
/* The event as a JSON object in the documented member order; the caller may
 * add members and must cJSON_Delete it. */
cJSON *event_json(const kml_event *e);
/* The event's line (no trailing newline), printed by json_print so numbers
 * round-trip; extra's members (may be NULL, not consumed) are appended.
 * Caller frees. */
char *event_line(const kml_event *e, const cJSON *extra);
/* The events log: "$KML_LOG_DIR/bot_manager_integration.log", default
 * "logs/..."; creates the directory. Returns a static buffer. */
const char *events_log_path(void);
/* Write one line to out (may be NULL) and append it to log_path (may be
 * NULL) with one write. A log that cannot be written dies EX_CANTCREAT: an
 * execution whose ledger cannot be kept must not go on trading. */
void event_emit(FILE *out, const char *log_path, const char *line);

#endif
