/* kml-config: show, check and initialise the trading configuration, and
 * translate pair names to Kraken's and to data file paths.
 *
 *   kml-config show [-c FILE]          effective configuration as JSON
 *   kml-config check FILE              validate; "FILE: ok" or a located error (78)
 *   kml-config init [-o FILE] [--force] write the defaults (atomic; no overwrite)
 *   kml-config pair PAIR [-i MIN] [-d DIR]  names and file path of a pair, as JSON */
#include <cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomic.h"
#include "cli.h"
#include "config.h"
#include "jsonl.h"
#include "pair.h"
#include "util.h"

static const char synopsis[] =
    "kml-config show [-c FILE] | check FILE | init [-o FILE] [--force] | pair PAIR [-i MIN] [-d DIR]\n"
    "\n"
    "  show   print the effective configuration (defaults, then FILE, $KML_CONFIG\n"
    "         or config/trading.json) as JSON\n"
    "  check  validate a configuration file\n"
    "  init   write the default configuration (config/trading.json by default)\n"
    "  pair   print a pair's names (display, Kraken altname) and its data file";

enum { OPT_FORCE = 256 };
static const struct cli_opt opts[] = {
    {"config", 'c', "FILE", "configuration file (show)"},
    {"output", 'o', "FILE", "where init writes (default config/trading.json)"},
    {"force", OPT_FORCE, NULL, "init: replace an existing file"},
    {"interval", 'i', "MIN", "pair: candle interval in minutes (default 60)"},
    {"dir", 'd', "DIR", "pair: data directory (default historical_data)"},
    {0}};

static void print_json(cJSON *o)
{
    char *s = json_print(o, 1);
    puts(s);
    free(s);
    cJSON_Delete(o);
}

int main(int argc, char **argv)
{
    set_progname(argv[0]);
    const char *config = NULL, *output = "config/trading.json", *dir = "historical_data";
    int force = 0, interval = 60, c;
    while ((c = cli_next(argc, argv, opts, synopsis)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'o': output = optarg; break;
        case OPT_FORCE: force = 1; break;
        case 'i': interval = (int)cli_long("interval", optarg, 1, 43200); break;
        case 'd': dir = optarg; break;
        }
    }
    if (optind >= argc) cli_usage_error("missing command: show, check, init or pair");
    const char *cmd = argv[optind++];
    kml_config cfg;
    if (!strcmp(cmd, "show")) {
        if (optind < argc) cli_usage_error("show takes no operand");
        config_load(&cfg, config);
        print_json(config_to_json(&cfg));
    } else if (!strcmp(cmd, "check")) {
        if (optind != argc - 1) cli_usage_error("check takes one FILE");
        config_load(&cfg, argv[optind]);
        printf("%s: ok\n", argv[optind]);
    } else if (!strcmp(cmd, "init")) {
        if (optind < argc) cli_usage_error("init takes no operand (use -o FILE)");
        struct stat st;
        if (!force && stat(output, &st) == 0)
            die(EX_CANTCREAT, "%s exists; use --force to replace it", output);
        char *slash = strrchr(output, '/');
        if (slash) {
            char *d = xstrdup(output);
            d[slash - output] = 0;
            if (*d) mkdirs(d);
            free(d);
        }
        config_defaults(&cfg);
        cJSON *o = config_to_json(&cfg);
        char *s = json_print(o, 1);
        size_t n = strlen(s);
        s = xrealloc(s, n + 2);
        s[n] = '\n';
        atomic_write(output, s, n + 1);
        free(s);
        cJSON_Delete(o);
        fprintf(stderr, "%s: wrote %s\n", progname, output);
    } else if (!strcmp(cmd, "pair")) {
        if (optind != argc - 1) cli_usage_error("pair takes one PAIR");
        kml_pair p;
        if (pair_parse(argv[optind], &p) != 0)
            die(EX_DATAERR, "not an asset pair: \"%s\" (e.g. SOL/USD)", argv[optind]);
        char file[512];
        pair_filename(&p, interval, dir, file, sizeof file);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "pair", p.display);
        cJSON_AddStringToObject(o, "altname", p.altname);
        cJSON_AddStringToObject(o, "base", p.base);
        cJSON_AddStringToObject(o, "quote", p.quote);
        cJSON_AddStringToObject(o, "file", file);
        char *s = json_print(o, 0);
        puts(s);
        free(s);
        cJSON_Delete(o);
    } else {
        cli_usage_error("unknown command '%s'", cmd);
    }
    close_stdout();
    return 0;
}
