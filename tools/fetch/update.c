/* update.c: `kml-fetch update`, the store under historical_data/ kept up to date
 * and, with --days, filled back to the history asked for.
 *
 * Sources: Kraken's OHLC endpoint holds only the latest 720 candles, so a span
 * longer than that is rebuilt from the Trades endpoint (one page of 1000
 * trades a request, paced by lib/kraken.c), one candle of state at a time
 * (candle_agg), and OHLC serves the most recent part.
 *
 * Resuming: a fill commits what it has (atomically: temporary file, fsync,
 * rename) every --checkpoint seconds. A committed file holds only complete
 * candles: a candle is written when a trade of a later interval arrives, or at
 * the end of a span whose every trade has been read; the candle still forming
 * at a cut stays in memory and is lost with it. A rerun resumes one interval
 * after the last committed candle, so after a kill -9 at any point the store
 * is completed with no candle missing, repeated or half built.
 *
 * Filling back (--days N with a store that starts too late) goes to a side
 * file <store>.backfill, resumable the same way, that is merged in front of
 * the store once it reaches the store's first candle: the store itself never
 * has a hole that the fill would leave behind.
 *
 * One update at a time per store: a lock on .<store>.lock (flock); a second
 * update of the same file exits 75 at once. Holding the lock, an update removes
 * the temporaries that a killed one left behind. One trades fill at a time per
 * directory (.trades-fill.lock): a second waits, so that fills of several pairs
 * keep together to Kraken's pace. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "atomic.h"
#include "candles.h"
#include "cli.h"
#include "csv.h"
#include "fetch.h"
#include "kraken.h"
#include "log.h"
#include "pair.h"
#include "progress.h"
#include "util.h"

enum { OPT_SINCE = 256, OPT_VIA, OPT_QUIET, OPT_DAYS, OPT_CHECKPOINT };

/* OHLC's 720 rows include the forming candle: 719 committed ones. A trades
 * fill stops this many intervals before the present and leaves the rest to
 * OHLC, with a margin for the time a long fill takes. */
#define OHLC_COMMITTED 719
#define OHLC_HANDOVER 700

typedef struct {
    /* the file being written */
    const char *path;
    atomic_file *af;
    csv_writer w;
    int64_t step;
    int64_t last;       /* last candle written (INT64_MIN: none) */
    long added;         /* candles written by this run to this file */
    long uncommitted;   /* of which not yet committed */
    candle_agg agg;
    double checkpoint, last_commit;
    /* progress over one trades span */
    progress pr;
    int quiet, tty;
    int64_t from, to;   /* the span */
    int next_pct;       /* next percentage that prints a line without a terminal */
    long pages, trades; /* over the whole run */
    long span_pages0, span_trades0;
    double span_t0;
    const char *what;   /* "fill" or "backfill" */
} filler;

/* ---- the file being written ---- */

/* Copy a candles file's bytes to f, ending with a newline; with skip_header,
 * without its first line. */
static void copy_file(const char *path, FILE *f, int skip_header)
{
    FILE *in = xfopen(path, "r");
    char buf[65536];
    size_t n;
    int lastc = '\n', skipping = skip_header;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
        const char *p = buf;
        if (skipping) {
            const char *nl = memchr(buf, '\n', n);
            if (!nl) continue;
            skipping = 0;
            n -= (size_t)(nl + 1 - buf);
            p = nl + 1;
            if (!n) continue;
        }
        if (fwrite(p, 1, n, f) != n) die(EX_IOERR, "write error:");
        lastc = p[n - 1];
    }
    if (ferror(in)) die(EX_IOERR, "%s: read error:", path);
    if (lastc != '\n') fputc('\n', f);
    fclose(in);
}

/* Start writing path: its committed rows (or a header when it has none) into
 * a new temporary beside it. */
static void fill_open(filler *u, int has_rows)
{
    u->af = atomic_open(u->path);
    csvw_init(&u->w, u->af->f);
    if (has_rows) copy_file(u->path, u->af->f, 0);
    else candle_write_header(u->af->f);
    u->uncommitted = 0;
    u->last_commit = now_seconds();
}

static void fill_commit(filler *u, int reopen)
{
    atomic_commit(u->af);
    u->af = NULL;
    if (reopen) fill_open(u, 1);
}

static void put_candle(void *vctx, const candle *c)
{
    filler *u = vctx;
    if (u->last != INT64_MIN && c->time <= u->last) return; /* already stored */
    if (c->time % u->step != 0) die(EX_DATAERR, "candle time %" PRId64 " is not a multiple of the interval", c->time);
    candle_write(&u->w, c);
    u->last = c->time;
    u->added++;
    u->uncommitted++;
}

static void put_trade(void *vctx, double time, const char *price, const char *volume, const char *side,
                      const char *type)
{
    (void)side, (void)type;
    filler *u = vctx;
    candle c;
    double px;
    parse_double(price, &px);
    int rc = candle_agg_add(&u->agg, time, px, volume, &c);
    if (rc < 0) die(EX_DATAERR, "Trades: trade at %.17g: %s", time, rc == -1 ? "out of time order" : "bad volume");
    if (rc == 1) put_candle(u, &c);
}

/* ---- progress ---- */

static void fmt_left(char *buf, size_t n, double s)
{
    if (!(s >= 0) || s > 1e8) snprintf(buf, n, "?");
    else if (s < 90) snprintf(buf, n, "%.0f s", s);
    else if (s < 5400) snprintf(buf, n, "%.0f min", s / 60);
    else snprintf(buf, n, "%.0f h %02.0f min", floor(s / 3600), fmod(floor(s / 60), 60));
}

static void on_page(void *vctx, long pages, long trades, double last_time)
{
    filler *u = vctx;
    u->pages = u->span_pages0 + pages;
    u->trades = u->span_trades0 + trades;
    double t = isfinite(last_time) ? last_time : (double)u->from;
    double frac = (t - (double)u->from) / (double)(u->to - u->from);
    if (frac < 0) frac = 0;
    if (frac > 1) frac = 1;
    if (u->tty || (!u->quiet && frac * 100 >= u->next_pct)) {
        char day[32], note[160], left[32];
        iso8601(day, t);
        day[10] = 0;
        double el = now_seconds() - u->span_t0;
        fmt_left(left, sizeof left, frac > 0 ? el * (1 - frac) / frac : -1);
        if (u->tty) {
            snprintf(note, sizeof note, "days, reached %s, %ld pages, %ld trades,", day, u->pages, u->trades);
            progress_update(&u->pr, (long)((t - (double)u->from) / 86400), note);
        } else {
            warn("%s %s: %d%%: reached %s, %ld pages, %ld trades, about %s left", u->what, u->path,
                 (int)(frac * 100), day, u->pages, u->trades, left);
            while (u->next_pct <= frac * 100) u->next_pct += 5;
        }
    }
    if (u->uncommitted > 0 && now_seconds() - u->last_commit >= u->checkpoint) fill_commit(u, 1);
}

/* One trades fill at a time per store directory: Kraken's public limit is
 * per address, so fills of several pairs at once (make -j) would share one
 * second between them. A fill waits for the one before it; the descriptor
 * returned is closed (the lock released) when the fill ends. */
static int lock_fills(const char *store)
{
    char *c = xstrdup(store);
    const char *dir = dirname(c);
    size_t n = strlen(dir) + 24;
    char *lock = xmalloc(n);
    snprintf(lock, n, "%s/.trades-fill.lock", dir);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) die(EX_CANTCREAT, "%s:", lock);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK) die(EX_OSERR, "%s: flock:", lock);
        warn("fill %s: waiting for another kml-fetch update's trades fill in %s to end (Kraken's limit is per "
             "address)",
             store, dir);
        while (flock(fd, LOCK_EX) != 0)
            if (errno != EINTR) die(EX_OSERR, "%s: flock:", lock);
    }
    free(lock);
    free(c);
    return fd;
}

/* Rebuild candles [from, to) from Kraken's trades into u's file. Every trade
 * before `to` is read, so the last candle is complete and is written too. */
static void fill_trades(filler *u, kraken_client *kc, const kml_pair *p, int minutes, int64_t from, int64_t to)
{
    int lock = lock_fills(u->path);
    u->from = from;
    u->to = to;
    u->next_pct = 0;
    u->span_pages0 = u->pages;
    u->span_trades0 = u->trades;
    u->span_t0 = now_seconds();
    /* the bar counts days: "backfill [###---] 40% 50/125 days, reached 2026-09-01, ..." */
    progress_init(&u->pr, u->what, (long)((to - from + 86399) / 86400), u->quiet);
    candle_agg_init(&u->agg, minutes);
    trades_fetch(kc, p, from, to, put_trade, on_page, u);
    candle c;
    if (candle_agg_flush(&u->agg, &c)) put_candle(u, &c);
    progress_done(&u->pr);
    close(lock);
}

/* ---- the store ---- */

/* Time of a candles file's first row, INT64_MIN when it has none. */
static int64_t first_time(const char *path)
{
    csv_reader *r = csv_open(path);
    int ct = csv_col(r, "time");
    int64_t t = INT64_MIN;
    if (csv_next(r)) t = csv_int(r, ct);
    csv_close(r);
    return t;
}

/* Take the store's lock for the rest of the process, or exit 75; then remove
 * the temporaries of a killed update of the same store. */
static void lock_store(const char *path)
{
    char *c1 = xstrdup(path), *c2 = xstrdup(path);
    const char *dir = dirname(c1), *base = basename(c2);
    size_t n = strlen(dir) + strlen(base) + 40;
    char *lock = xmalloc(n);
    snprintf(lock, n, "%s/.%s.lock", dir, base);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) die(EX_CANTCREAT, "%s:", lock);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) die(EX_TEMPFAIL, "%s: another kml-fetch update is writing it; try again later", path);
        die(EX_OSERR, "%s: flock:", lock);
    }
    /* fd stays open: the lock lasts until the process ends */
    static const char *const pats[] = {"%s/.%s.tmp-??????", "%s/.%s.backfill.tmp-??????"};
    for (int i = 0; i < 2; i++) {
        char pat[4096];
        glob_t g;
        snprintf(pat, sizeof pat, pats[i], dir, base);
        if (glob(pat, 0, NULL, &g) == 0)
            for (size_t k = 0; k < g.gl_pathc; k++) unlink(g.gl_pathv[k]);
        globfree(&g);
    }
    free(lock);
    free(c1);
    free(c2);
}

static char *backfill_path(const char *path)
{
    size_t n = strlen(path) + 16;
    char *b = xmalloc(n);
    snprintf(b, n, "%s.backfill", path);
    return b;
}

/* A side file whose candles do not all precede the store's first is left over
 * from a merge that a kill cut before the side file was removed: remove it. */
static void drop_stale_backfill(const char *path, int minutes, int64_t first)
{
    char *bpath = backfill_path(path);
    if (access(bpath, F_OK) == 0) {
        long brows = 0;
        int64_t blast = INT64_MIN;
        candles_gaps(bpath, minutes, NULL, NULL, &brows, &blast);
        if (brows && blast >= first) unlink(bpath);
    }
    free(bpath);
}

/* Fill the store back from `want` to its first candle through the side file,
 * then merge the two. Returns the rows added in front. */
static long backfill(filler *u, kraken_client *kc, const kml_pair *p, int minutes, const char *path, int64_t want,
                     int64_t first)
{
    char *bpath = backfill_path(path);
    long brows = 0;
    int64_t blast = INT64_MIN, from = want;
    if (access(bpath, F_OK) == 0) {
        candles_gaps(bpath, minutes, NULL, NULL, &brows, &blast);
        if (brows) from = blast + u->step;
    }
    u->path = bpath;
    u->last = blast;
    u->added = 0;
    u->what = "backfill";
    long before = brows;
    fill_open(u, brows > 0);
    if (from < first) {
        char a[32], b[32];
        warn("backfill %s: from %s to the stored %s via Kraken's trades%s", path, iso8601(a, (double)from),
             iso8601(b, (double)first), brows ? " (resumed)" : "");
        fill_trades(u, kc, p, minutes, from, first);
    }
    fill_commit(u, 0);
    long added = before + u->added;
    /* the merge: side file, then the store without its header */
    atomic_file *af = atomic_open(path);
    copy_file(bpath, af->f, 0);
    copy_file(path, af->f, 1);
    atomic_commit(af);
    unlink(bpath);
    free(bpath);
    return added;
}

int cmd_update(int argc, char **argv)
{
    static const struct cli_opt opts[] = {
        {"pair", 'p', "PAIR", "asset pair, e.g. SOL/USD (required)"},
        {"interval", 'i', "M", "minutes (default 60)"},
        {"dir", 'd', "DIR", "directory of the candle files (default historical_data)"},
        {"days", OPT_DAYS, "N", "keep at least N days: fill a new or too-short file back from Kraken's trades"},
        {"since", OPT_SINCE, "T", "for a new file: start at Unix time T (default: the latest 720 candles)"},
        {"via", OPT_VIA, "HOW", "auto (default: trades beyond OHLC's 720 candles, then OHLC), ohlc or trades"},
        {"checkpoint", OPT_CHECKPOINT, "S", "a long fill commits what it has every S seconds (default 10)"},
        {"quiet", OPT_QUIET, NULL, "no progress"},
        {0}};
    const char *syn = "kml-fetch update --pair P [--interval M] [--dir DIR] [--days N | --since T]";
    kml_pair p;
    int have_pair = 0, minutes = 60, quiet = 0;
    const char *dir = "historical_data", *via = "auto";
    int64_t since = -1;
    long days = 0;
    double checkpoint = 10;
    int c;
    while ((c = cli_next(argc, argv, opts, syn)) != -1) {
        switch (c) {
        case 'p': pair_parse_or_die("pair", optarg, &p), have_pair = 1; break;
        case 'i': minutes = parse_interval(optarg); break;
        case 'd': dir = optarg; break;
        case OPT_DAYS: days = cli_long("days", optarg, 1, 36500); break;
        case OPT_SINCE: since = cli_long("since", optarg, 0, 9000000000L); break;
        case OPT_VIA:
            if (strcmp(optarg, "auto") && strcmp(optarg, "ohlc") && strcmp(optarg, "trades"))
                cli_usage_error("--via: expected auto, ohlc or trades, not \"%s\"", optarg);
            via = optarg;
            break;
        case OPT_CHECKPOINT: checkpoint = cli_double("checkpoint", optarg, 0, 86400); break;
        case OPT_QUIET: quiet = 1; break;
        default: cli_usage_error("unexpected option");
        }
    }
    if (!have_pair) cli_usage_error("--pair is required");
    if (optind < argc) cli_usage_error("unexpected operand '%s'", argv[optind]);
    if (days && since >= 0) cli_usage_error("--days and --since both set the start: give one");
    if (days && !strcmp(via, "ohlc")) cli_usage_error("--days needs Kraken's trades: not with --via ohlc");
    char path[4096];
    pair_filename(&p, minutes, dir, path, sizeof path);
    mkdirs(dir);
    lock_store(path);

    filler u = {.step = (int64_t)minutes * 60, .last = INT64_MIN, .checkpoint = checkpoint, .quiet = quiet,
                .tty = progress_enabled(quiet)};
    long rows = 0, old_gaps = 0, old_missing = 0;
    int exists = access(path, F_OK) == 0;
    int64_t first = INT64_MIN, last = INT64_MIN;
    if (exists) { /* validates the stored file and finds its ends */
        old_gaps = candles_gaps(path, minutes, NULL, &old_missing, &rows, &last);
        if (rows) first = first_time(path);
    }
    kraken_client *kc = kraken_open();
    int64_t now = server_time(kc), current = now - now % u.step;
    int64_t want = -1; /* the first candle wanted */
    if (days) want = now - days * 86400;
    else if (since >= 0) want = since;
    if (want >= 0) want -= ((want % u.step) + u.step) % u.step;

    long back = 0;
    if (rows > 0) drop_stale_backfill(path, minutes, first);
    if (days && rows > 0 && first > want) back = backfill(&u, kc, &p, minutes, path, want, first);

    /* forward: after the last stored candle up to the forming one */
    int64_t start = rows > 0 ? last + u.step : want;
    if (days && start < want) { /* years of trades nobody asked for: leave them out */
        char a[32], b[32];
        warn("update %s: the store ends at %s, before the %ld days asked for: filling from %s and leaving the span "
             "between as a gap (--since fills it)",
             path, iso8601(a, (double)last), days, iso8601(b, (double)want));
        start = want;
    }
    if (start < 0 && !strcmp(via, "trades")) cli_usage_error("--via trades needs --since or --days for a new file");
    if (start >= current && !back) {
        warn("update %s: up to date (%ld rows, last %" PRId64 ")", path, rows, last);
        kraken_close(kc);
        return 0;
    }
    long back_trades = u.trades;
    u.path = path;
    u.added = 0;
    u.what = "fill";
    fill_open(&u, rows > 0 || back > 0);
    u.last = rows > 0 ? last : INT64_MIN;
    long via_trades = 0, via_ohlc = 0;
    int used_trades = 0, used_ohlc = 0;
    for (int round = 0; start < current; round++) {
        int64_t missing = start >= 0 ? (current - start) / u.step : -1;
        int trades = !strcmp(via, "trades") || (!strcmp(via, "auto") && missing > OHLC_COMMITTED);
        if (trades) {
            int64_t to = !strcmp(via, "trades") ? current : current - OHLC_HANDOVER * u.step;
            long before = u.added;
            if (round == 0) {
                char a[32];
                if (!strcmp(via, "trades"))
                    warn("fill %s: from %s via Kraken's trades", path, iso8601(a, (double)start));
                else
                    warn("fill %s: from %s via Kraken's trades, then OHLC for the last %d candles", path,
                         iso8601(a, (double)start), OHLC_HANDOVER);
            }
            fill_trades(&u, kc, &p, minutes, start, to);
            via_trades += u.added - before;
            used_trades = 1;
            start = to;
            if (!strcmp(via, "trades")) break;
        } else {
            int64_t oldest;
            long before = u.added;
            ohlc_fetch(kc, &p, minutes, start >= 0 ? start - u.step : -1, 0, put_candle, &u, &oldest);
            via_ohlc += u.added - before;
            used_ohlc = 1;
            if (start >= 0 && oldest > start)
                warn("update %s: Kraken's OHLC starts at %" PRId64 ", after the wanted %" PRId64
                     " (720-candle limit); use --days or --via trades to fill it",
                     path, oldest, start);
            break;
        }
        now = server_time(kc);
        current = now - now % u.step;
    }
    fill_commit(&u, 0);
    kraken_close(kc);

    long total_rows = 0, missing_all = 0;
    int64_t end = INT64_MIN;
    long gaps = candles_gaps(path, minutes, NULL, &missing_all, &total_rows, &end);
    char msg[512], iso[32];
    size_t m = 0;
    if (back)
        m += snprintf(msg + m, sizeof msg - m, "%ld rows filled back to %s via trades; ", back,
                      iso8601(iso, (double)first_time(path)));
    if (used_trades)
        m += snprintf(msg + m, sizeof msg - m, "%ld rows added via trades (%ld trades)%s", via_trades, u.trades - back_trades,
                      used_ohlc ? " and " : "");
    if (used_ohlc) m += snprintf(msg + m, sizeof msg - m, "%ld%s via OHLC", via_ohlc, used_trades ? "" : " rows added");
    if (!used_trades && !used_ohlc) m += snprintf(msg + m, sizeof msg - m, "0 rows added");
    if (end != INT64_MIN) iso8601(iso, (double)end);
    else snprintf(iso, sizeof iso, "none");
    warn("update %s: %s, %ld new gaps (%ld missing candles), %ld gaps in all; %ld rows, last candle %s", path, msg,
         gaps - old_gaps, missing_all - old_missing, gaps, total_rows, iso);
    return 0;
}
