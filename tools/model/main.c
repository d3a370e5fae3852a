/* kml-model: create, inspect and measure the neural-network models of lib/nn.
 *
 *   kml-model init --arch A [--T 64 --F 32 --H 64 ...] --seed N -o FILE
 *   kml-model info FILE                  architecture, hyper-parameters, tensors, metadata (JSON)
 *   kml-model logits FILE [WINDOWS]      raw little-endian float32 [N,T,F] -> N rows of 3 logits
 *   kml-model bench --arch A [--batch 64] [--steps 30]
 *   kml-model sgemm-peak [--n 512]       this machine's single-precision matrix-product rate
 *   kml-model step FILE WINDOWS LABELS -o OUT [--grads G] [--lr ...]
 *                                        one training step (for the PyTorch parity test) */
#include <cblas.h>
#include <cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"
#include "cli.h"
#include "nn/gemm.h"
#include "nn/nn.h"
#include "nn/nn_impl.h"
#include "rng.h"
#include "util.h"

static const char synopsis[] =
    "kml-model init --arch A [hyper-parameters] [--seed N] -o FILE\n"
    "       kml-model info FILE\n"
    "       kml-model logits FILE [WINDOWS]\n"
    "       kml-model bench --arch A [--batch 64] [--steps 30] [hyper-parameters]\n"
    "       kml-model sgemm-peak [--n 512]\n"
    "       kml-model step FILE WINDOWS LABELS -o OUT [--grads FILE] [optimiser options]\n"
    "\n"
    "  init        write a freshly initialised model (PyTorch's default initialisation)\n"
    "  info        print the model's architecture, parameter count, tensors and metadata as JSON\n"
    "  logits      WINDOWS (default stdin) is raw little-endian float32 [N,T,F]; prints N rows of\n"
    "              3 logits, as torch_models.py check does\n"
    "  bench       time training (forward + backward + Adam on a random batch) and one-window\n"
    "              inference; prints 'A params=P train_samples_per_s=S infer_us=U'\n"
    "              (threads from OPENBLAS_NUM_THREADS)\n"
    "  sgemm-peak  time an n x n x n sgemm; prints 'sgemm_gflops=G core=NAME'\n"
    "  step        one nn_train_step on WINDOWS with LABELS (text, one class 0..2 a line) and\n"
    "              save the updated model (and with --grads, the gradients under the same names)";

enum { O_ARCH = 256, O_T, O_F, O_H, O_LAYERS, O_HEADS, O_FF, O_KERNEL, O_LEVELS, O_DROPOUT, O_SEED, O_BATCH,
       O_STEPS, O_N, O_GRADS, O_LR, O_EPS, O_WD, O_ADAMW, O_CLIP, O_CW, O_GFLOPS };
static const struct cli_opt opts[] = {
    {"arch", O_ARCH, "A", "lstm, gru, tcn, cnn, transformer or hybrid"},
    {"T", O_T, "N", "window length (default 64)"},
    {"F", O_F, "N", "features (default 32)"},
    {"H", O_H, "N", "hidden width (default 64)"},
    {"layers", O_LAYERS, "N", "lstm/gru/transformer layers (default 2)"},
    {"heads", O_HEADS, "N", "transformer heads (default 4)"},
    {"ff", O_FF, "N", "transformer feed-forward width (default 128)"},
    {"kernel", O_KERNEL, "N", "tcn/cnn kernel (default 3 / 5)"},
    {"levels", O_LEVELS, "N", "tcn levels (default 4)"},
    {"dropout", O_DROPOUT, "P", "training dropout (default 0)"},
    {"seed", O_SEED, "N", "initialisation seed (default 1)"},
    {"output", 'o', "FILE", "model file to write (init, step)"},
    {"batch", O_BATCH, "N", "bench: batch size (default 64)"},
    {"steps", O_STEPS, "N", "bench: timed training steps (default 30)"},
    {"gflops", O_GFLOPS, NULL, "bench: append train_gflop_s= (sgemm work per second of training)"},
    {"n", O_N, "N", "sgemm-peak: matrix size (default 512)"},
    {"grads", O_GRADS, "FILE", "step: also write the gradients"},
    {"lr", O_LR, "X", "step: learning rate (default 1e-3)"},
    {"eps", O_EPS, "X", "step: Adam epsilon (default 1e-8)"},
    {"weight-decay", O_WD, "X", "step: weight decay (default 0)"},
    {"adamw", O_ADAMW, NULL, "step: decoupled weight decay (AdamW)"},
    {"clip", O_CLIP, "X", "step: clip the gradient's global norm (default off)"},
    {"class-weights", O_CW, "W0,W1,W2", "step: class weights of the loss"},
    {0}};

/* Raw float32 windows of n*T*F floats; dies 65 when the size is not a multiple. */
static float *read_windows(const char *path, int T, int F, int *n)
{
    FILE *f = xfopen(path ? path : "-", "rb");
    size_t cap = 1 << 16, len = 0, r;
    unsigned char *b = xmalloc(cap);
    while ((r = fread(b + len, 1, cap - len, f)) > 0)
        if ((len += r) == cap) b = xrealloc(b, cap *= 2);
    if (ferror(f)) die(EX_IOERR, "%s: read error", display_name(path));
    if (f != stdin) fclose(f);
    size_t w = (size_t)T * F * 4;
    if (len % w)
        die(EX_DATAERR, "%s: %zu bytes is not a whole number of windows of %d x %d float32 (%zu bytes each)",
            display_name(path), len, T, F, w);
    *n = (int)(len / w);
    float *x = xmalloc(len ? len : 4);
    for (size_t i = 0; i < len / 4; i++) {
        uint32_t u = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 | (uint32_t)b[4 * i + 2] << 16 |
                     (uint32_t)b[4 * i + 3] << 24;
        memcpy(&x[i], &u, 4);
    }
    free(b);
    return x;
}

static nn_model *load_or_die(const char *path)
{
    nn_model *m = nn_load(path, NULL);
    if (!m) die(errno == ENOENT ? EX_NOINPUT : EX_DATAERR, "%s: cannot load the model", path);
    return m;
}

static void cmd_info(const char *path)
{
    cJSON *meta = NULL;
    nn_model *m = nn_load(path, &meta);
    if (!m) die(errno == ENOENT ? EX_NOINPUT : EX_DATAERR, "%s: cannot load the model", path);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "arch", m->cfg.arch);
    cJSON_AddItemToObject(o, "config", nn_config_json(&m->cfg));
    cJSON_AddNumberToObject(o, "params", (double)nn_num_params(m));
    cJSON *ts = cJSON_AddArrayToObject(o, "tensors");
    for (int i = 0; i < m->ntens; i++) {
        cJSON *t = cJSON_CreateObject(), *sh = cJSON_AddArrayToObject(t, "shape");
        cJSON_AddStringToObject(t, "name", m->tens[i].name);
        for (int d = 0; d < m->tens[i].ndim; d++) cJSON_AddItemToArray(sh, cJSON_CreateNumber(m->tens[i].shape[d]));
        cJSON_AddItemToArray(ts, t);
    }
    cJSON_AddItemToObject(o, "metadata", meta);
    char *s = json_print(o, 1);
    puts(s);
    free(s);
    cJSON_Delete(o);
    nn_free(m);
}

static void cmd_logits(const char *path, const char *windows)
{
    nn_model *m = load_or_die(path);
    int n, T = m->cfg.T, F = m->cfg.F;
    float *x = read_windows(windows, T, F, &n);
    const int chunk = 256; /* bounded buffers for any N */
    float *lg = xmalloc(sizeof(float) * 3 * chunk);
    for (int i = 0; i < n; i += chunk) {
        int b = n - i < chunk ? n - i : chunk;
        nn_predict(m, x + (size_t)i * T * F, b, lg);
        for (int r = 0; r < b; r++) printf("%.7g %.7g %.7g\n", lg[3 * r], lg[3 * r + 1], lg[3 * r + 2]);
    }
    free(lg), free(x);
    nn_free(m);
}

/* Measured as torch_models.py bench: 3 untimed then `steps` timed training
 * steps (forward, backward, Adam at lr 1e-3) on one random batch; then
 * one-window inference, 5 untimed and 100 timed calls. */
static void cmd_bench(const nn_config *cfg, int B, int steps, int gflops)
{
    nn_model *m = nn_create(cfg, 0);
    if (!m) die(EX_USAGE, "invalid configuration");
    rng_t rng;
    rng_seed(&rng, 0);
    size_t nx = (size_t)B * cfg->T * cfg->F;
    float *x = xmalloc(sizeof(float) * nx), lg[3];
    int *y = xmalloc(sizeof(int) * B);
    for (size_t i = 0; i < nx; i++) x[i] = (float)rng_normal(&rng);
    for (int i = 0; i < B; i++) y[i] = (int)rng_below(&rng, 3);
    nn_adam_cfg opt;
    nn_adam_default(&opt);
    double t0 = 0, fl0 = 0;
    for (int i = 0; i < steps + 3; i++) {
        if (i == 3) t0 = now_seconds(), fl0 = nn_gemm_flops;
        nn_train_step(m, x, y, NULL, B, &opt, opt.lr, &rng);
    }
    double dt = now_seconds() - t0, train_flops = nn_gemm_flops - fl0;
    for (int i = 0; i < 5; i++) nn_predict(m, x, 1, lg);
    t0 = now_seconds();
    for (int i = 0; i < 100; i++) nn_predict(m, x, 1, lg);
    double lat = (now_seconds() - t0) / 100 * 1e6;
    printf("%s params=%zu train_samples_per_s=%.1f infer_us=%.1f", cfg->arch, nn_num_params(m), steps * B / dt, lat);
    if (gflops) printf(" train_gflop_s=%.2f", train_flops / dt * 1e-9);
    printf("\n");
    free(x), free(y);
    nn_free(m);
}

static void cmd_sgemm_peak(int n)
{
    float *a = xmalloc(sizeof(float) * n * n), *b = xmalloc(sizeof(float) * n * n), *c = xcalloc((size_t)n * n, sizeof(float));
    for (long i = 0; i < (long)n * n; i++) a[i] = (float)(i % 7) * 0.1f, b[i] = (float)(i % 5) * 0.1f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n); /* warm-up */
    int reps = 1;
    double dt;
    for (;;) { /* at least 0.3 s of work */
        double t0 = now_seconds();
        for (int r = 0; r < reps; r++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
        dt = now_seconds() - t0;
        if (dt > 0.3) break;
        reps *= 2;
    }
    /* the kernel set OpenBLAS chose (or OPENBLAS_CORETYPE forced): a bench names it */
    printf("sgemm_gflops=%.2f core=%s\n", 2.0 * n * n * n * reps / dt * 1e-9, openblas_get_corename());
    free(a), free(b), free(c);
}

static int *read_labels(const char *path, int n)
{
    FILE *f = xfopen(path, "r");
    int *y = xmalloc(sizeof(int) * (n ? n : 1)), k = 0;
    char line[64];
    long ln = 0;
    while (fgets(line, sizeof line, f)) {
        ln++;
        line[strcspn(line, "\r\n")] = 0;
        int64_t v;
        if (parse_int64(line, &v) < 0 || v < 0 || v > 2)
            die(EX_DATAERR, "%s:%ld: not a class 0, 1 or 2: \"%s\"", path, ln, line);
        if (k == n) die(EX_DATAERR, "%s:%ld: more labels than the %d windows", path, ln, n);
        y[k++] = (int)v;
    }
    fclose(f);
    if (k != n) die(EX_DATAERR, "%s: %d labels for %d windows", path, k, n);
    return y;
}

int main(int argc, char **argv)
{
    set_progname(argv[0]);
    nn_config cfg;
    int have_arch = 0, B = 64, steps = 30, n = 512, gflops = 0, set[16] = {0};
    long seed = 1;
    const char *out = NULL, *grads = NULL;
    nn_adam_cfg opt;
    nn_adam_default(&opt);
    float cw[3] = {1, 1, 1}, *cwp = NULL;
    nn_config over = {0};
    int c;
    while ((c = cli_next(argc, argv, opts, synopsis)) != -1) {
        switch (c) {
        case O_ARCH:
            if (nn_config_default(&cfg, optarg) < 0)
                cli_usage_error("--arch: unknown architecture '%s' (lstm, gru, tcn, cnn, transformer, hybrid)", optarg);
            have_arch = 1;
            break;
        case O_T: over.T = (int)cli_long("T", optarg, 1, 100000), set[0] = 1; break;
        case O_F: over.F = (int)cli_long("F", optarg, 1, 100000), set[1] = 1; break;
        case O_H: over.H = (int)cli_long("H", optarg, 1, 100000), set[2] = 1; break;
        case O_LAYERS: over.layers = (int)cli_long("layers", optarg, 1, NN_MAX_LAYERS), set[3] = 1; break;
        case O_HEADS: over.heads = (int)cli_long("heads", optarg, 1, 1024), set[4] = 1; break;
        case O_FF: over.ff = (int)cli_long("ff", optarg, 1, 100000), set[5] = 1; break;
        case O_KERNEL: over.kernel = (int)cli_long("kernel", optarg, 1, 64), set[6] = 1; break;
        case O_LEVELS: over.levels = (int)cli_long("levels", optarg, 1, NN_MAX_LEVELS), set[7] = 1; break;
        case O_DROPOUT: over.dropout = (float)cli_double("dropout", optarg, 0, 0.99), set[8] = 1; break;
        case O_SEED: seed = cli_long("seed", optarg, 0, 0x7fffffffffffffffL); break;
        case 'o': out = optarg; break;
        case O_BATCH: B = (int)cli_long("batch", optarg, 1, 1 << 16); break;
        case O_STEPS: steps = (int)cli_long("steps", optarg, 1, 1 << 20); break;
        case O_GFLOPS: gflops = 1; break;
        case O_N: n = (int)cli_long("n", optarg, 16, 8192); break;
        case O_GRADS: grads = optarg; break;
        case O_LR: opt.lr = (float)cli_double("lr", optarg, 0, 10); break;
        case O_EPS: opt.eps = (float)cli_double("eps", optarg, 0, 1); break;
        case O_WD: opt.weight_decay = (float)cli_double("weight-decay", optarg, 0, 10); break;
        case O_ADAMW: opt.decoupled = 1; break;
        case O_CLIP: opt.clip_norm = (float)cli_double("clip", optarg, 0, 1e9); break;
        case O_CW: {
            int k;
            char **w = cli_split(optarg, &k);
            if (k != 3) cli_usage_error("--class-weights: three comma-separated weights expected");
            for (int i = 0; i < 3; i++) cw[i] = (float)cli_double("class-weights", w[i], 0, 1e6);
            free(w);
            cwp = cw;
            break;
        }
        }
    }
    if (optind >= argc) cli_usage_error("missing command: init, info, logits, bench, sgemm-peak or step");
    const char *cmd = argv[optind++];
    int nop = argc - optind;
    if (have_arch) {
        if (set[0]) cfg.T = over.T;
        if (set[1]) cfg.F = over.F;
        if (set[2]) cfg.H = over.H;
        if (set[3]) cfg.layers = over.layers;
        if (set[4]) cfg.heads = over.heads;
        if (set[5]) cfg.ff = over.ff;
        if (set[6]) cfg.kernel = over.kernel;
        if (set[7]) cfg.levels = over.levels;
        if (set[8]) cfg.dropout = over.dropout;
        char err[256];
        if (nn_config_check(&cfg, err, sizeof err) < 0) cli_usage_error("%s", err);
    }
    if (!strcmp(cmd, "init")) {
        if (!have_arch) cli_usage_error("init needs --arch");
        if (!out) cli_usage_error("init needs -o FILE");
        if (nop) cli_usage_error("init takes no operand");
        nn_model *m = nn_create(&cfg, (uint64_t)seed);
        if (!m) die(EX_USAGE, "invalid configuration");
        if (nn_save(m, out, NULL) < 0) die(EX_CANTCREAT, "%s: cannot write the model", out);
        nn_free(m);
    } else if (!strcmp(cmd, "info")) {
        if (nop != 1) cli_usage_error("info takes one FILE");
        cmd_info(argv[optind]);
    } else if (!strcmp(cmd, "logits")) {
        if (nop < 1 || nop > 2) cli_usage_error("logits takes FILE [WINDOWS]");
        cmd_logits(argv[optind], nop == 2 ? argv[optind + 1] : NULL);
    } else if (!strcmp(cmd, "bench")) {
        if (!have_arch) cli_usage_error("bench needs --arch");
        if (nop) cli_usage_error("bench takes no operand");
        cmd_bench(&cfg, B, steps, gflops);
    } else if (!strcmp(cmd, "sgemm-peak")) {
        if (nop) cli_usage_error("sgemm-peak takes no operand");
        cmd_sgemm_peak(n);
    } else if (!strcmp(cmd, "step")) {
        if (nop != 3) cli_usage_error("step takes FILE WINDOWS LABELS");
        if (!out) cli_usage_error("step needs -o FILE");
        nn_model *m = load_or_die(argv[optind]);
        int nw;
        float *x = read_windows(argv[optind + 1], m->cfg.T, m->cfg.F, &nw);
        if (nw < 1) die(EX_DATAERR, "%s: no window", argv[optind + 1]);
        int *y = read_labels(argv[optind + 2], nw);
        rng_t rng;
        rng_seed(&rng, (uint64_t)seed);
        float loss = nn_train_step(m, x, y, cwp, nw, &opt, opt.lr, &rng);
        printf("loss=%.9g\n", loss);
        if (nn_save(m, out, NULL) < 0) die(EX_CANTCREAT, "%s: cannot write the model", out);
        if (grads) { /* the gradients under the parameters' names: swap the blocks to save */
            float *p = m->params;
            m->params = m->grads;
            int rc = nn_save(m, grads, NULL);
            m->params = p;
            if (rc < 0) die(EX_CANTCREAT, "%s: cannot write the gradients", grads);
        }
        free(x), free(y);
        nn_free(m);
    } else {
        cli_usage_error("unknown command '%s': init, info, logits, bench, sgemm-peak or step", cmd);
    }
    close_stdout();
    return 0;
}
