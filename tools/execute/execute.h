/* execute.h: kml-execute's modes. main.c picks one from argv: --live runs
 * live_main (live.h), everything else sandbox_main (the default mode). */
#ifndef KML_EXECUTE_H
#define KML_EXECUTE_H

/* kml-execute --sandbox: the paper account over orders streams (sandbox.c). */
int sandbox_main(int argc, char **argv);

#endif
