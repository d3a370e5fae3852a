/* fetch.h: the subcommands of kml-fetch; each parses its own options (argv[0]
 * is the subcommand's name) and returns the exit status. */
#ifndef KML_FETCH_H
#define KML_FETCH_H

int cmd_sim(int argc, char **argv);
int cmd_candles(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_gaps(int argc, char **argv);
int cmd_ohlc(int argc, char **argv);
int cmd_trades(int argc, char **argv);
int cmd_pairs(int argc, char **argv);
int cmd_update(int argc, char **argv);

#endif
