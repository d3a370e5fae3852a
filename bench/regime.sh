#!/usr/bin/env bash
# bench/regime.sh: `kml-regime fit` on 100k rows, 4 columns, 4 states, 10
# restarts (the issue's yardstick), one thread and all CPUs. The reference,
# timed in the same run on the same rows: one Baum-Welch iteration (scaled
# forward-backward and M-step) written in numpy, against kml-regime's own cost
# of one iteration (the difference of a 21- and a 1-iteration fit, over 20),
# both in CPU seconds at one thread (OPENBLAS_NUM_THREADS=1). The two run
# interleaved over KML_BENCH_ROUNDS rounds (default 3: kml-regime, numpy,
# kml-regime, numpy, ...); each side's median (or best, KML_BENCH_STAT=best)
# is reported (bench/common.bash). The whole-fit times above are one run each.
# The data is kml-fetch sim's with features computed by awk, in a temporary
# directory removed at the end. Never fails on time. KML_BENCH_ROWS overrides
# the row count.
set -eu
cd "$(dirname "$0")/.."
. bench/common.bash
bin=${KML_REGIME:-$(command -v kml-regime || echo bin/kml-regime)}
fetch=${KML_FETCH:-$(command -v kml-fetch || echo bin/kml-fetch)}
model=${KML_MODEL:-$(dirname "$bin")/kml-model}
rows=${KML_BENCH_ROWS:-100000}
cols=ret_1,ret_8,park_4,rv_24
bench_init regime
tmp=$bench_tmp
bench_header regime "$(bench_kernels "$model")" "1 for the iteration ratio; the fit at 1 and $(nproc 2>/dev/null || echo 1)"

# the first 24 bars only warm the windows up
"$fetch" sim --pair SOL/USD --bars $((rows + 24)) --seed 1 --regimes-out "$tmp/truth.csv" 2>/dev/null |
    awk 'BEGIN { FS = OFS = ","; c = 1 / (4 * log(2)); print "time,close,ret_1,ret_8,park_4,rv_24" }
        NR > 1 { n = NR - 1; cl[n % 25] = $5; q[n % 4] = log($3 / $4) ^ 2
            if (n > 1) r2[n % 24] = log($5 / cl[(n - 1) % 25]) ^ 2
            if (n >= 25) { s = 0; for (j = 0; j < 4; j++) s += q[j]; v = 0; for (j = 0; j < 24; j++) v += r2[j]
                printf "%s,%s,%.10g,%.10g,%.10g,%.10g\n", $1, $5, log($5 / cl[(n - 1) % 25]), log($5 / cl[(n - 8) % 25]),
                       log(sqrt(c * s / 4)), sqrt(v / 24) } }' >"$tmp/f.csv"

secs() { # wall seconds of a command, its stderr kept in $tmp/err
    local t0 t1
    t0=$(date +%s.%N)
    "$@" 2>"$tmp/err" >/dev/null
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}

nproc=$(nproc 2>/dev/null || echo 1)
fit=("$bin" fit --states 4 --columns "$cols" --restarts 10 --seed 1)
t1=$(secs "${fit[@]}" --threads 1 -o "$tmp/m1.json" "$tmp/f.csv")
info1=$(cat "$tmp/err")
tn=$(secs "${fit[@]}" --threads "$nproc" -o "$tmp/mn.json" "$tmp/f.csv")
cmp -s "$tmp/m1.json" "$tmp/mn.json" && same="identical" || same="DIFFERENT"
iters=$(jq .iterations "$tmp/m1.json")
"$bin" label -m "$tmp/m1.json" "$tmp/f.csv" >"$tmp/l.csv"
acc=$("$bin" score --truth "$tmp/truth.csv" "$tmp/l.csv" | jq '.accuracy * 1000 | floor / 10')
echo "fit: $rows rows, 4 columns, 4 states, 10 restarts: ${t1} s on 1 thread, ${tn} s on $nproc threads (models $same); best start: $iters iterations; filtered accuracy on the sim's regimes $acc %"
echo "     (${info1#kml-regime: })"

# kml-regime's cost of one Baum-Welch iteration (E-step + M-step), CPU seconds
one=("$bin" fit --states 4 --columns "$cols" --restarts 1 --tol 0 --threads 1)
ours() {
    local ta tb
    ta=$(OPENBLAS_NUM_THREADS=1 bench_cpu_seconds /dev/null "${one[@]}" --max-iter 1 -o "$tmp/a.json" "$tmp/f.csv" 2>/dev/null)
    tb=$(OPENBLAS_NUM_THREADS=1 bench_cpu_seconds /dev/null "${one[@]}" --max-iter 21 -o "$tmp/b.json" "$tmp/f.csv" 2>/dev/null)
    awk -v a="$ta" -v b="$tb" 'BEGIN { d = (b - a) / 20; if (d < 0) d = 0; printf "iter=%.5f\n", d }'
}
numpy() {
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 - "$tmp/f.csv" "$tmp/a.json" <<'EOF'
# One scaled Baum-Welch iteration in numpy (diagonal Gaussians), on the
# standardised columns and from the parameters kml-regime started from.
import json, sys, time
import numpy as np
m = json.load(open(sys.argv[2]))
cols = m["columns"]
head = open(sys.argv[1]).readline().strip().split(",")
x = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1, usecols=[head.index(c) for c in cols])
mu_s, sd_s = np.array(m["scaler"]["mean"]), np.array(m["scaler"]["std"])
z = (x - mu_s) / sd_s
T, D = z.shape
K = m["states"]
mu = (np.array(m["means"]) - mu_s) / sd_s
var = np.array(m["variances"]) / sd_s ** 2
A = np.array(m["trans_prob"])
pi = np.array(m["start_prob"])
def iteration(mu, var, A, pi):
    logb = -0.5 * (((z[:, None, :] - mu) ** 2 / var).sum(2) + np.log(2 * np.pi * var).sum(1))
    mx = logb.max(1, keepdims=True)
    b = np.exp(logb - mx)
    alpha = np.empty((T, K)); c = np.empty(T)
    a = pi * b[0]; c[0] = a.sum(); alpha[0] = a / c[0]
    for t in range(1, T):
        a = (alpha[t - 1] @ A) * b[t]; c[t] = a.sum(); alpha[t] = a / c[t]
    beta = np.empty((T, K)); beta[-1] = 1
    xi = np.zeros((K, K))
    for t in range(T - 2, -1, -1):
        w = b[t + 1] * beta[t + 1]
        beta[t] = (A @ w) / c[t + 1]
        xi += np.outer(alpha[t], w) * A / c[t + 1]
    gamma = alpha * beta
    gamma /= gamma.sum(1, keepdims=True)
    n = gamma.sum(0)
    mu = (gamma.T @ z) / n[:, None]
    var = np.maximum((gamma.T @ z ** 2) / n[:, None] - mu ** 2, 1e-3)
    A = xi / xi.sum(1, keepdims=True)
    return mu, var, A, n / T, np.log(c).sum() + mx.sum()
t0 = time.process_time()
iteration(mu, var, A, pi)
print("iter=%.5f" % (time.process_time() - t0))
EOF
}
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
    bench_interleave ours numpy
    c_iter=$(bench_stat ours iter lo) py_iter=$(bench_stat numpy iter lo)
    ratio=$(bench_ratio "$py_iter" "$c_iter" %.0f)
    echo "one Baum-Welch iteration, $rows rows x 4 states, CPU s ($bench_stat_kind): kml-regime $(bench_fmt %.4f "$c_iter") (rounds $(bench_range ours iter %.4f)), numpy (row loop in Python) $(bench_fmt %.3f "$py_iter") (rounds $(bench_range numpy iter %.3f)): ${ratio}x (per round $(bench_round_ratios numpy ours iter))"
else
    bench_interleave ours
    echo "one Baum-Welch iteration, $rows rows x 4 states: kml-regime $(bench_stat ours iter lo) CPU s ($bench_stat_kind; numpy reference skipped: /usr/bin/python3 has no numpy)"
fi
