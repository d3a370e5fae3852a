# bench/common.bash: what every bench/<stage>.sh that prints a ratio shares.
# Sourced, never run (bench/run.sh runs every bench/*.sh, so this file does
# not end in .sh). A ratio timed once, on one machine, in one quiet minute,
# does not carry: so a bench runs its two sides interleaved over several
# rounds (ours, reference, ours, reference, ...), reports one statistic of
# each side's rounds, and says on its first line where it ran.
#
# How a bench uses it:
#
#   set -eu
#   cd "$(dirname "$0")/.."
#   bench_default_rounds=3          # optional, before sourcing (default 3)
#   . bench/common.bash
#   bench_init stage                # $bench_tmp: a temporary directory, removed
#                                   # at exit (do not set your own EXIT trap;
#                                   # keep your temporary files in it)
#   ours() { kml-x ... | ...; echo "rate=$r us=$u"; }   # one line of key=value
#   ref()  { python3 ...;     echo "rate=$r us=$u"; }   # pairs per call
#   bench_header stage "$(bench_kernels "$bin_model")" 1   # the first line
#   bench_interleave ours ref       # ours, ref, ours, ref, ... ($bench_rounds)
#   o=$(bench_stat ours rate hi)    # the median, or the best ("hi": larger is
#   t=$(bench_stat ref us lo)       # better, "lo": smaller is) of its rounds
#   echo "ratio $(bench_ratio "$o" "$(bench_stat ref rate hi)")x"
#
# bench_header must print the bench's first line (before any other output);
# a bench that uses no BLAS passes e.g. "not used" as the kernels, and a
# bench timing processes on a busy machine may time them with
# bench_cpu_seconds OUT CMD... (CPU seconds of CMD, its stdout into OUT).
#
# A side is a shell function (or command) called with the round number
# (1, 2, ...) and printing key=value pairs; each
# round's output is kept as one line in $bench_tmp/<side>.rounds (a side that
# fails leaves an empty line and is skipped by the statistics; bench_failed
# counts them). bench_interleave takes two or more sides, always in the given
# order within a round, and empties their round files first, so a bench can
# interleave one pair per architecture, size or thread count.
#
# Settings (environment):
#   KML_BENCH_ROUNDS  rounds, each running every side once (default
#                     $bench_default_rounds, else 3)
#   KML_BENCH_STAT    median (default) or best: which of a side's rounds is
#                     reported; the first line says which
#
# Functions: bench_init, bench_cpu, bench_kernels, bench_header,
# bench_interleave, bench_values, bench_stat, bench_range, bench_ratio,
# bench_fmt, bench_round_ratios, bench_failed, bench_field, bench_cpu_seconds.

bench_rounds=${KML_BENCH_ROUNDS:-${bench_default_rounds:-3}}
bench_stat_kind=${KML_BENCH_STAT:-median}
case $bench_rounds in
'' | *[!0-9]* | 0) echo "bench: KML_BENCH_ROUNDS must be a positive integer, not '$bench_rounds'" >&2; exit 64 ;;
esac
case $bench_stat_kind in
median | best) ;;
*) echo "bench: KML_BENCH_STAT must be median or best, not '$bench_stat_kind'" >&2; exit 64 ;;
esac

bench_init() { # bench_init NAME: makes $bench_tmp, removed at exit
    bench_tmp=$(mktemp -d "${TMPDIR:-/tmp}/kml-bench-$1.XXXXXX")
    trap 'rm -rf "$bench_tmp"' EXIT
}

bench_cpu() { # the CPU model, family/model numbers, AVX-512 or not, CPUs online
    local name fam mod avx
    name=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo 2>/dev/null | head -1)
    fam=$(sed -n 's/^cpu family[[:space:]]*: *//p' /proc/cpuinfo 2>/dev/null | head -1)
    mod=$(sed -n 's/^model[[:space:]]*: *//p' /proc/cpuinfo 2>/dev/null | head -1)
    avx=$(grep -m1 -qw avx512f /proc/cpuinfo 2>/dev/null && echo AVX-512 || echo no AVX-512)
    printf '%s (family %s model %s, %s), %s CPUs' "${name:-$(uname -m)}" "${fam:-?}" "${mod:-?}" "$avx" \
        "$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc 2>/dev/null || echo "?")"
}

bench_kernels() { # bench_kernels KML_MODEL [env prefix...]: OpenBLAS's kernel set
    # `kml-model sgemm-peak` names the core OpenBLAS picked (a 64^3 product:
    # a few ms). Prints "?" when the binary is not there or fails.
    local bin=$1 out
    shift
    out=$("$@" "$bin" sgemm-peak --n 64 2>/dev/null) || out=
    out=$(bench_field "$out" core)
    printf '%s%s' "${out:-?}" "${OPENBLAS_CORETYPE:+ (OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE)}"
}

bench_header() { # bench_header NAME KERNELS THREADS [MORE]: the first line
    local load
    load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')
    printf '%s: CPU %s; OpenBLAS kernels %s; threads %s; %s interleaved rounds, %s of each side; load %s at start%s\n' \
        "$1" "$(bench_cpu)" "$2" "$3" "$bench_rounds" "$bench_stat_kind" "$load" "${4:+; $4}"
}

bench_field() { # bench_field "k=v k2=v2 ..." KEY: the value of KEY (empty if none)
    printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1
}

bench_interleave() { # bench_interleave SIDE SIDE...: $bench_rounds rounds, sides in order
    local r s out
    for s in "$@"; do : >"$bench_tmp/$s.rounds"; done
    for ((r = 1; r <= bench_rounds; r++)); do
        for s in "$@"; do
            out=$("$s" "$r") || out=
            out=${out//$'\n'/ }
            printf '%s\n' "$out" >>"$bench_tmp/$s.rounds"
        done
    done
}

bench_values() { # bench_values SIDE KEY: KEY's value in each round, one a line (failed rounds: none)
    local line v
    while IFS= read -r line; do
        v=$(bench_field "$line" "$2")
        [ -n "$v" ] && printf '%s\n' "$v"
    done <"$bench_tmp/$1.rounds"
    return 0
}

bench_failed() { # bench_failed SIDE: how many rounds printed nothing
    grep -c '^ *$' "$bench_tmp/$1.rounds" || true
}

bench_stat() { # bench_stat SIDE KEY hi|lo: median (or best) of KEY over the rounds; "-" if none
    bench_values "$1" "$2" | sort -g | awk -v kind="$bench_stat_kind" -v dir="$3" '
        { v[++n] = $1 }
        END { if (n == 0) { print "-"; exit }
              if (kind == "best") x = (dir == "lo") ? v[1] : v[n]
              else x = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
              print x }'
}

bench_range() { # bench_range SIDE KEY [FORMAT]: "min-max" of KEY over the rounds (FORMAT: %g)
    bench_values "$1" "$2" | sort -g | awk -v f="${3:-%g}" '{ v[++n] = $1 }
        END { if (n == 0) print "-"; else printf f "-" f "\n", v[1], v[n] }'
}

bench_ratio() { # bench_ratio A B [FORMAT]: A / B, "-" when either is missing or 0
    awk -v a="$1" -v b="$2" -v f="${3:-%.2f}" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf f "\n", a / b; else print "-" }'
}

bench_fmt() { # bench_fmt FORMAT VALUE: printf FORMAT VALUE, "-" kept as it is
    if [ "$2" = - ] || [ -z "$2" ]; then echo -; else awk -v f="$1" -v v="$2" 'BEGIN { printf f "\n", v }'; fi
}

bench_round_ratios() { # bench_round_ratios SIDE_A SIDE_B KEY: "min-max" of A/B within each round
    paste -d'|' "$bench_tmp/$1.rounds" "$bench_tmp/$2.rounds" | awk -F'|' -v k="$3" '
        function val(s,   n, i, f, kv) { n = split(s, f, " ")
            for (i = 1; i <= n; i++) { split(f[i], kv, "="); if (kv[1] == k) return kv[2] }
            return "" }
        { a = val($1); b = val($2)
          if (a + 0 > 0 && b + 0 > 0) { r = a / b; if (n == 0 || r < lo) lo = r; if (n == 0 || r > hi) hi = r; n++ } }
        END { if (n == 0) print "-"; else printf "%.2f-%.2f\n", lo, hi }'
}

bench_cpu_seconds() { # bench_cpu_seconds OUT CMD...: runs CMD >OUT, prints its CPU seconds (user+system)
    # getrusage of the child through python3 (microseconds) where it is there,
    # else /usr/bin/time (hundredths). CPU time is what a loaded machine
    # inflates least (it still inflates it: caches and the shared core's
    # frequency are shared too).
    local out=$1
    shift
    if [ -x /usr/bin/python3 ]; then
        /usr/bin/python3 -c '
import resource, subprocess, sys
with open(sys.argv[1], "wb") as out:
    subprocess.run(sys.argv[2:], stdout=out, check=True)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.6f" % (r.ru_utime + r.ru_stime))' "$out" "$@"
    else
        /usr/bin/time -f '%U %S' -o "$bench_tmp/.time" "$@" >"$out"
        awk '{ print $1 + $2 }' "$bench_tmp/.time"
    fi
}
