/* log.h: JSON-lines event logs under logs/, mirrored to stderr.
 *
 * Each event is one line of logs/<name>.log:
 *   {"ts":"2026-11-25T07:52:18.123Z","level":"info","component":"kml-train","msg":"...", <fields>}
 * The directory is $KML_LOG_DIR, default "logs" (created when missing). The
 * same event goes to stderr as "kml-train: info: msg key=value ..." unless
 * log_quiet(1) was called (warnings and errors are always mirrored). A log that
 * cannot be written produces one warning, not a failure of the tool. Never pass
 * secrets as fields. */
#ifndef KML_LOG_H
#define KML_LOG_H

#include <cJSON.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_quiet(int quiet);
/* fields: an object whose members are appended (consumed: deleted here), or NULL. */
void log_event(const char *name, enum log_level level, const char *msg, cJSON *fields);
/* UTC ISO-8601 with milliseconds: buf needs 32 bytes. */
char *iso8601_now(char *buf);
char *iso8601(char *buf, double unix_seconds);

#endif
