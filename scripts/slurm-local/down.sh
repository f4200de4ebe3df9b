#!/usr/bin/env bash
# Stop the single-node Slurm cluster started by scripts/slurm-local/up.sh. Only touches the processes
# whose PIDs up.sh's daemons recorded in $SLURM_LOCAL_ROOT (checked against their
# /proc/PID/comm so a recycled PID is never signalled). Never kills by name.
#   down.sh          stop daemons (cancels our jobs first), keep files
#   down.sh --purge  also delete $SLURM_LOCAL_ROOT
set -uo pipefail

ROOT=${SLURM_LOCAL_ROOT:-${TMPDIR:-/tmp}/sweep-slurm-local}
export SLURM_CONF=$ROOT/etc/slurm.conf

pid_of() { # pid_of PIDFILE COMM -> prints pid if alive and comm matches
  local pf=$1 comm=$2 pid
  [ -s "$pf" ] || return 1
  pid=$(cat "$pf")
  [ -d "/proc/$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ] || return 1
  # zombie (killed, not yet reaped by PID 1) = already dead
  awk '{ exit ($3 == "Z" || $3 == "X") ? 0 : 1 }' "/proc/$pid/stat" 2>/dev/null && return 1
  echo "$pid"
}

gone() { # gone PID -> true once the process has exited (zombie counts as exited)
  [ ! -d "/proc/$1" ] || awk '{ exit ($3 == "Z" || $3 == "X") ? 0 : 1 }' "/proc/$1/stat" 2>/dev/null
}

stop() { # stop PIDFILE COMM
  local pf=$1 comm=$2 pid i
  if pid=$(pid_of "$pf" "$comm"); then
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 100; i++)); do gone "$pid" && break; sleep 0.1; done
    if ! gone "$pid"; then echo "[down] $comm ($pid) ignored TERM, sending KILL"; kill -KILL "$pid"; fi
    echo "[down] stopped $comm ($pid)"
  else
    [ -e "$pf" ] && echo "[down] $comm not running (stale pid file)"
  fi
  rm -f "$pf"
}

# 1. cancel jobs in our cluster so no slurmstepd/job processes outlive slurmd
if pid_of "$ROOT/slurmctld.pid" slurmctld >/dev/null && [ -f "$SLURM_CONF" ]; then
  jobs=$(squeue -h -t PD,R,CG,S -o %A 2>/dev/null | sort -u | tr '\n' ' ')
  if [ -n "${jobs// /}" ]; then
    echo "[down] cancelling jobs: $jobs"
    # shellcheck disable=SC2086
    scancel $jobs 2>/dev/null
    for ((i = 0; i < 150; i++)); do
      [ -z "$(squeue -h -t PD,R,CG,S -o %A 2>/dev/null)" ] && break; sleep 0.2
    done
  fi
fi

# 2. daemons, in reverse start order
stop "$ROOT/slurmd.pid" slurmd
stop "$ROOT/slurmctld.pid" slurmctld      # its child slurmscriptd exits with it
stop "$ROOT/slurmdbd.pid" slurmdbd        # only if started with SLURM_ACCOUNTING=1
stop "$ROOT/mysql/mysqld.pid" mariadbd
stop "$ROOT/munge/munged.pid" munged

if [ "${1:-}" = "--purge" ]; then rm -rf "$ROOT"; echo "[down] removed $ROOT"; fi
