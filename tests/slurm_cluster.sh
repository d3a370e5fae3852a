#!/usr/bin/env bash
# tests/slurm_cluster.sh: a single-node Slurm cluster on this machine, for
# tests/slurm.bats: munged with a generated key, slurmctld and slurmd in the
# foreground on loopback, a generated slurm.conf, everything in DIR.
#
#   slurm_cluster.sh start DIR [PID]   start (waits until the node is idle);
#                                prints "export SLURM_CONF=DIR/slurm.conf". With
#                                PID, a watchdog stops the cluster when that
#                                process ends (a test run killed midway leaves
#                                no daemon behind)
#   slurm_cluster.sh stop DIR    stop the daemons started in DIR (by their pids)
#
# Ports: two free ones above 20000 picked at start, so several clusters (or
# other suites' servers) do not collide. Runs as root (SlurmUser root) or as
# any user when SlurmUser/SlurmdUser can be that user.
set -euo pipefail
cmd=${1:-} dir=${2:-} owner=${3:-}
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: slurm_cluster.sh start|stop DIR" >&2; exit 64; }

free_port() { # a port nothing listens on, from a random start
    local p=$((20000 + RANDOM % 20000))
    while ss -ltnH "sport = :$p" 2>/dev/null | grep -q .; do p=$((p + 1)); done
    echo "$p"
}

stop() {
    local f pid
    for f in slurmd slurmctld munged; do
        [ -s "$dir/$f.pid" ] || continue
        pid=$(cat "$dir/$f.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        rm -f "$dir/$f.pid"
    done
}

start() {
    for b in munged slurmctld slurmd sbatch squeue scontrol; do
        command -v "$b" >/dev/null || { echo "slurm_cluster: no $b (apt-get install slurm-wlm munge)" >&2; exit 77; }
    done
    dir=$(cd "$dir" && pwd)
    mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
    chmod 700 "$dir/munge"
    head -c 1024 /dev/urandom >"$dir/munge/munge.key"
    chmod 400 "$dir/munge/munge.key"
    local user node p1 p2
    user=$(id -un)
    node=$(hostname -s)
    p1=$(free_port)
    p2=$(free_port)
    [ "$p2" != "$p1" ] || p2=$((p1 + 1))
    cat >"$dir/slurm.conf" <<CONF
ClusterName=kmltest
SlurmctldHost=$node(127.0.0.1)
SlurmUser=$user
SlurmdUser=$user
SlurmctldPort=$p1
SlurmdPort=$p2
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.sock
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pidfile
SlurmdPidFile=$dir/slurmd.pidfile
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MinJobAge=600
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
# Schedule at once (the defaults batch submissions for seconds, for big sites).
SchedulerParameters=batch_sched_delay=0,sched_interval=2,bf_interval=2
KillWait=2
NodeName=$node NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
    export SLURM_CONF=$dir/slurm.conf
    munged -F --force --socket="$dir/munge/munge.sock" --key-file="$dir/munge/munge.key" \
        --pid-file="$dir/munge/munged.pidfile" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/seed" \
        >>"$dir/munged.out" 2>&1 </dev/null 3>&- &
    echo $! >"$dir/munged.pid"
    for _ in $(seq 50); do [ -S "$dir/munge/munge.sock" ] && break; sleep 0.1; done
    [ -S "$dir/munge/munge.sock" ] || { echo "slurm_cluster: munged did not start (see $dir/munged.out, $dir/munge/munged.log)" >&2; stop; exit 1; }
    slurmctld -D -i -f "$dir/slurm.conf" >>"$dir/slurmctld.out" 2>&1 </dev/null 3>&- &
    echo $! >"$dir/slurmctld.pid"
    slurmd -D -N "$node" -f "$dir/slurm.conf" >>"$dir/slurmd.out" 2>&1 </dev/null 3>&- &
    echo $! >"$dir/slurmd.pid"
    local state=""
    for _ in $(seq 150); do
        state=$(sinfo -h -N -o '%t' 2>/dev/null | head -n 1) || true
        case $state in idle*) break ;; esac
        sleep 0.2
    done
    case $state in
    idle*)
        if [ -n "$owner" ]; then
            (while kill -0 "$owner" 2>/dev/null && [ -f "$dir/slurmctld.pid" ]; do sleep 1; done
             [ -f "$dir/slurmctld.pid" ] && "$self" stop "$dir") >/dev/null 2>&1 </dev/null 3>&- &
        fi
        echo "export SLURM_CONF=$dir/slurm.conf" ;;
    *) echo "slurm_cluster: the node did not become idle (state '$state'; see $dir/slurmctld.log, $dir/slurmd.log)" >&2
       stop
       exit 1 ;;
    esac
}

case $cmd in
start) start ;;
stop) stop ;;
*) echo "slurm_cluster: unknown command '$cmd'" >&2; exit 64 ;;
esac
