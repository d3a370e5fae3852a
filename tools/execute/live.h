/* live.h: kml-execute --live, the orders executed by Kraken (docs/live.md).
 *
 *   kml-execute --live [--validate] [--config FILE] [--state DIR] [--limits PAIRS.jsonl] ORDERS...
 *
 * main.c hands the whole argv over when --live is among the options. */
#ifndef KML_EXECUTE_LIVE_H
#define KML_EXECUTE_LIVE_H

int live_main(int argc, char **argv);

/* The client id of one leg of a target: a UUID made from the SHA-256 of the
 * pair, the bar, the target and the leg, so that the same order line always
 * gets the same id (out needs 37 bytes). */
void live_client_id(const char *pair, long long time, double exposure, double leverage, const char *leg,
                    char *out);

#endif
