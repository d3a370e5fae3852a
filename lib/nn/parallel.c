/* parallel.c: data parallelism over our own threads for the training step
 * and for batched inference.
 *
 * Dimensions: B batch, P parts, T steps, F features, C = 3 classes.
 *
 * The batch is split into P contiguous parts (the first B % P parts one row
 * longer). Part 0 runs on the model itself in the calling thread; part p > 0
 * runs on replica rep[p-1] in worker thread p of a pool the model owns. A
 * replica is a struct copy of the model: it shares the parameter block and
 * the positional-encoding table (read only), and has its own gradient block
 * and its own activation arenas, sized for one part. After the parts' backward
 * passes the replicas' gradients are added into the model's in part order, so
 * a step is deterministic for a seed and a thread count. Its results differ
 * from the one-thread step in the last bits (the batch's sums are taken as
 * P partial sums), as PyTorch's do between thread counts.
 *
 * OpenBLAS runs every product at one thread inside lib/nn's entry points: our
 * threads are the parallelism, and OpenBLAS's own threading of these small
 * products only costs (a single LSTM window: 402 us at 2 threads, 214 at 1).
 * Single-threaded OpenBLAS called from several threads of the program is
 * what OpenBLAS's usage notes prescribe for threaded programs; its work
 * buffers come from a pool of 2 x MAX_THREADS (128 in Debian's 0.3.21 pthread
 * build), more than NN_MAX_PARTS. test_nn_parallel checks that concurrent
 * products give the serial results; ThreadSanitizer finds no race in this file. */
#include "nn/nn_impl.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/gemm.h"
#include "nn/layers.h"
#include "util.h"

#include <cblas.h> /* after layers.h: it brings complex.h, whose I would rename layers.h's arguments */

/* The least work worth a thread of its own: 4 MFLOP of forward pass (about
 * 60-150 us at one thread), a row's forward taken as 2 T nparams FLOP (every
 * parameter used once a step; the true count is 0.25-1x of that: the TCN's
 * cone and the CNN's pooling do less). A hand-over to a worker and back costs
 * about 25 us on an idle machine (more under load). Measured at 2 threads,
 * one-thread time / split time in us, default sizes: B=2 lstm 715/250 (each
 * part's one row is a matrix-vector product), gru 381/191, transformer
 * 232/171, hybrid 1077/525, tcn 118/111, cnn 74/86 (1 row of 4 MFLOP: not
 * split), B=4 cnn 142/119; H=16, T=16, F=8: B=8 lstm 31/55, transformer
 * 74/93 (0.1-0.4 MFLOP a row: split from 10-40 rows a part). */
#define NN_PAR_PART_FLOP 4e6

typedef enum { JOB_TRAIN, JOB_PREDICT, JOB_EVAL } job_kind;

/* One part's work and its results. */
typedef struct {
    job_kind kind;
    nn_model *r;          /* the model (part 0) or a replica */
    const float *x;       /* (B,T,F) the part's rows */
    const int *y;         /* (B) */
    const float *cw;      /* (C) or NULL */
    int B;
    double den;           /* train: the whole batch's weight sum */
    rng_t *rng;           /* train: dropout's stream (the step's, or the part's own when split) */
    float *logits;        /* predict: (B,C) the part's output rows */
    double loss, dp;      /* out: the part's weighted mean loss and its weight sum */
    double flops;         /* out: nn_sgemm's work in the part (its thread's counter) */
} part_job;

typedef struct nn_pool nn_pool;
typedef struct {
    nn_pool *pool;
    int part; /* 1..nw */
} worker_arg;

struct nn_pool {
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    long gen;         /* generation: the caller bumps it to start the workers */
    int left;         /* workers that have not finished this generation */
    int quit;
    int nw;           /* worker threads: parts 1..nw */
    int active;       /* parts with work this generation (part 0 included) */
    part_job *jobs;   /* (active) this generation's parts */
    pid_t pid;        /* the process that started the threads (a fork has none) */
    pthread_t th[NN_MAX_PARTS - 1];
    worker_arg arg[NN_MAX_PARTS - 1];
};

/* Sum of the class weights of y (B); B when cw is NULL. The denominator of
 * crossentropy_forward's weighted mean. */
static double weight_sum(const int *y, const float *cw, int B)
{
    double s = 0;
    for (int b = 0; b < B; b++) s += cw ? cw[y[b]] : 1;
    return s;
}

/* Run one part on its model. Train: forward in training mode, the part's
 * loss, then the gradient of the whole batch's loss with respect to the
 * part's rows: the whole batch's weighted mean is sum_p dp_p loss_p / den, so
 * the part's own mean loss is backpropagated with scale dp / den (1 when the
 * part is the batch). The gradient block and the gradient arena are zeroed
 * first; backward adds into them. */
static void run_job(part_job *j)
{
    nn_model *r = j->r;
    const double f0 = nn_gemm_flops;
    if (j->kind == JOB_TRAIN) {
        nn_forward(r, j->x, j->B, 1, j->rng);
        j->loss = crossentropy_forward(r->probs, r->logits, j->y, j->cw, j->B, 3);
        j->dp = weight_sum(j->y, j->cw, j->B);
        memset(r->grads, 0, sizeof(float) * r->nparams);
        memset(r->zbuf, 0, sizeof(float) * r->zn);
        crossentropy_backward(r->dlogits, r->probs, j->y, j->cw, j->den > 0 ? j->dp / j->den : 0, j->B, 3);
        nn_backward(r, j->x, j->B, 1);
    } else {
        nn_forward(r, j->x, j->B, 0, NULL);
        if (j->kind == JOB_PREDICT) {
            memcpy(j->logits, r->logits, sizeof(float) * j->B * 3);
        } else {
            j->loss = crossentropy_forward(r->probs, r->logits, j->y, j->cw, j->B, 3);
            j->dp = weight_sum(j->y, j->cw, j->B);
        }
    }
    j->flops = nn_gemm_flops - f0;
}

static void *worker(void *p)
{
    worker_arg *a = p;
    nn_pool *pl = a->pool;
    long seen = 0;
    pthread_mutex_lock(&pl->mu);
    for (;;) {
        while (pl->gen == seen && !pl->quit) pthread_cond_wait(&pl->go, &pl->mu);
        if (pl->quit) break;
        seen = pl->gen;
        part_job *j = a->part < pl->active ? &pl->jobs[a->part] : NULL;
        pthread_mutex_unlock(&pl->mu);
        if (j) run_job(j);
        pthread_mutex_lock(&pl->mu);
        if (--pl->left == 0) pthread_cond_signal(&pl->done);
    }
    pthread_mutex_unlock(&pl->mu);
    return NULL;
}

static void pool_stop(nn_pool *pl)
{
    if (!pl) return;
    if (pl->pid == getpid()) {
        pthread_mutex_lock(&pl->mu);
        pl->quit = 1;
        pthread_cond_broadcast(&pl->go);
        pthread_mutex_unlock(&pl->mu);
        for (int i = 0; i < pl->nw; i++) pthread_join(pl->th[i], NULL);
        pthread_mutex_destroy(&pl->mu), pthread_cond_destroy(&pl->go), pthread_cond_destroy(&pl->done);
    }
    /* else: a forked child's copy, whose threads do not exist (and whose
     * mutex one of them may hold): only its memory is given back. */
    free(pl);
}

/* A pool with at least nw worker threads for m, started on first use (or
 * again after a fork, or when more threads are asked for). */
static nn_pool *pool_get(nn_model *m, int nw)
{
    nn_pool *pl = m->pool;
    if (pl && pl->pid == getpid() && pl->nw >= nw) return pl;
    pool_stop(pl);
    pl = xcalloc(1, sizeof *pl);
    pthread_mutex_init(&pl->mu, NULL);
    pthread_cond_init(&pl->go, NULL), pthread_cond_init(&pl->done, NULL);
    pl->pid = getpid();
    for (int i = 0; i < nw; i++) {
        pl->arg[i] = (worker_arg){pl, i + 1};
        if (pthread_create(&pl->th[i], NULL, worker, &pl->arg[i]))
            die(EX_OSERR, "lib/nn: cannot start a worker thread");
        pl->nw = i + 1;
    }
    m->pool = pl;
    return pl;
}

/* Run jobs[0..n): job 0 in this thread, job p on worker p; returns when all
 * are done. */
static void run_parts(nn_model *m, part_job *jobs, int n)
{
    if (n == 1) {
        run_job(&jobs[0]);
        return;
    }
    nn_pool *pl = pool_get(m, n - 1);
    pthread_mutex_lock(&pl->mu);
    pl->jobs = jobs, pl->active = n, pl->left = pl->nw;
    pl->gen++;
    pthread_cond_broadcast(&pl->go);
    pthread_mutex_unlock(&pl->mu);
    run_job(&jobs[0]);
    pthread_mutex_lock(&pl->mu);
    while (pl->left > 0) pthread_cond_wait(&pl->done, &pl->mu);
    pthread_mutex_unlock(&pl->mu);
    for (int p = 1; p < n; p++) nn_gemm_flops += jobs[p].flops; /* part 0's is in this thread's count */
}

/* A replica of m: the same configuration, tensor table and parameter block;
 * its own gradient block; no arenas yet (nn_reserve lays them out). Only the
 * model owns Adam's moments, the pool and replicas. */
static nn_model *replica_new(const nn_model *m)
{
    nn_model *r = xmalloc(sizeof *r);
    *r = *m;
    r->grads = xcalloc(m->nparams, sizeof(float));
    r->m = r->v = NULL;
    r->cap = 0, r->abuf = r->zbuf = r->sbuf = NULL, r->an = r->zn = r->sn = 0;
    r->nrep = 0, r->pool = NULL;
    memset(r->rep, 0, sizeof r->rep);
    return r;
}

void nn_par_free(nn_model *m)
{
    pool_stop(m->pool);
    m->pool = NULL;
    for (int i = 0; i < m->nrep; i++) {
        nn_model *r = m->rep[i];
        free(r->grads), free(r->abuf), free(r->zbuf), free(r->sbuf), free(r);
    }
    m->nrep = 0;
}

int nn_blas_single(void)
{
    int n = openblas_get_num_threads();
    if (n > 1) openblas_set_num_threads(1);
    return n;
}

void nn_blas_restore(int n)
{
    if (n > 1) openblas_set_num_threads(n);
}

void nn_set_threads(nn_model *m, int n)
{
    ASSERT(n >= 0);
    m->threads = n;
}

/* Parts for a batch of B: at most one a thread (the model's nn_set_threads
 * count, else `threads`, OpenBLAS's count on entry), at most one a row, each
 * of at least NN_PAR_PART_FLOP of work (or of m->par_min_rows rows when
 * set). Sets up the replicas and their arenas, and the model's own arenas,
 * for the longest part (once per batch shape: they only grow), and fills
 * jobs[p] with the model, rows and row count of part p. Returns P. */
static int split(nn_model *m, int B, int threads, const float *x, const int *y, part_job *jobs)
{
    const long TF = (long)m->cfg.T * m->cfg.F;
    const double row = 2.0 * m->cfg.T * (double)m->nparams;
    const double min_rows = m->par_min_rows > 0 ? m->par_min_rows : ceil(NN_PAR_PART_FLOP / row);
    const double fit = floor(B / min_rows);
    int P = m->threads > 0 ? m->threads : threads;
    P = P < NN_MAX_PARTS ? P : NN_MAX_PARTS;
    P = P < B ? P : B;
    P = P < fit ? P : (int)fit;
    P = P > 1 ? P : 1;
    const int base = B / P, extra = B % P, longest = base + (extra > 0);
    while (m->nrep < P - 1) m->rep[m->nrep++] = replica_new(m);
    nn_reserve(m, longest);
    for (int p = 0; p + 1 < P; p++) nn_reserve(m->rep[p], longest);
    for (int p = 0, off = 0; p < P; p++) {
        int n = base + (p < extra);
        memset(&jobs[p], 0, sizeof jobs[p]);
        jobs[p].r = p ? m->rep[p - 1] : m;
        jobs[p].x = x + off * TF, jobs[p].y = y ? y + off : NULL, jobs[p].B = n;
        off += n;
    }
    return P;
}

double nn_par_loss_grad(nn_model *m, const float *x, const int *y, const float *cw, int B, int threads,
                        rng_t *rng)
{
    part_job jobs[NN_MAX_PARTS];
    rng_t prng[NN_MAX_PARTS];
    const int P = split(m, B, threads, x, y, jobs);
    const double den = weight_sum(y, cw, B);
    for (int p = 0; p < P; p++) {
        jobs[p].kind = JOB_TRAIN, jobs[p].cw = cw, jobs[p].den = den;
        jobs[p].rng = rng;
    }
    if (P > 1 && m->cfg.dropout > 0) {
        /* each part its own stream, seeded in part order from the step's
         * (drawn only when there is dropout: without it the step's rng is
         * left as the one-thread step leaves it) */
        for (int p = 0; p < P; p++) rng_seed(&prng[p], rng_u64(rng)), jobs[p].rng = &prng[p];
    }
    run_parts(m, jobs, P);
    if (P == 1) return jobs[0].loss;
    /* the replicas' gradients into the model's, in part order */
    for (int p = 1; p < P; p++) {
        const float *g = m->rep[p - 1]->grads;
        float *gm = m->grads;
        for (size_t i = 0; i < m->nparams; i++) gm[i] += g[i];
    }
    double loss = 0;
    for (int p = 0; p < P; p++) loss += jobs[p].loss * jobs[p].dp;
    return den > 0 ? loss / den : 0;
}

void nn_par_predict(nn_model *m, const float *x, int B, int threads, float *logits)
{
    part_job jobs[NN_MAX_PARTS];
    const int P = split(m, B, threads, x, NULL, jobs);
    for (int p = 0, off = 0; p < P; p++) {
        jobs[p].kind = JOB_PREDICT, jobs[p].logits = logits + (long)off * 3;
        off += jobs[p].B;
    }
    run_parts(m, jobs, P);
}

double nn_par_eval_loss(nn_model *m, const float *x, const int *y, const float *cw, int B, int threads)
{
    part_job jobs[NN_MAX_PARTS];
    const int P = split(m, B, threads, x, y, jobs);
    for (int p = 0; p < P; p++) jobs[p].kind = JOB_EVAL, jobs[p].cw = cw;
    run_parts(m, jobs, P);
    if (P == 1) return jobs[0].loss;
    double loss = 0, den = 0;
    for (int p = 0; p < P; p++) loss += jobs[p].loss * jobs[p].dp, den += jobs[p].dp;
    return den > 0 ? loss / den : 0;
}
