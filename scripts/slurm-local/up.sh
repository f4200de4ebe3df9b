#!/usr/bin/env bash
# Bring up a single-node Slurm cluster (munged + slurmctld + slurmd) on loopback,
# from Debian packages only, without systemd, so that `sweep run --backend slurm`
# can be tested end to end on one machine (crates/sweep-cli/tests/cli/slurm_backend.rs)
# and tried by hand. Idempotent: if the daemons recorded in our PID files are
# alive it only re-checks health. Needs root (slurmd, munged as user munge);
# installs `slurm-wlm munge` with apt-get when they are missing.
#
# Env knobs:
#   SLURM_LOCAL_ROOT   runtime dir (config, state, logs, pid files)   [${TMPDIR:-/tmp}/slurm-local]
#   SLURM_FAKE_GPUS    number of fake gres/gpu devices (0 = no GRES)  [2]
#   SLURM_CTLD_PORT / SLURM_D_PORT                                    [6817 / 6818]
#   SLURM_KEEP_STATE=1 keep controller state (jobs, node state, accounting DB) across a restart
#   SLURM_ACCOUNTING=1 also run MariaDB + slurmdbd so that sacct works   [0]
#   SLURM_DBD_PORT / SLURM_MYSQL_PORT                                 [6819 / 3307]
#
# After it succeeds:   source $SLURM_LOCAL_ROOT/env.sh   (exports SLURM_CONF)
set -euo pipefail

ROOT=${SLURM_LOCAL_ROOT:-${TMPDIR:-/tmp}/sweep-slurm-local}
GPUS=${SLURM_FAKE_GPUS:-2}
CTLD_PORT=${SLURM_CTLD_PORT:-6817}
D_PORT=${SLURM_D_PORT:-6818}
DBD_PORT=${SLURM_DBD_PORT:-6819}
MYSQL_PORT=${SLURM_MYSQL_PORT:-3307}
ACCT=${SLURM_ACCOUNTING:-0}
NODE=localhost
CONF=$ROOT/etc/slurm.conf
export SLURM_CONF=$CONF
T0=$(date +%s%N)
log() { local ms=$(( ($(date +%s%N) - T0) / 1000000 )); printf '[up %d.%03ds] %s\n' $((ms / 1000)) $((ms % 1000)) "$*"; }

# alive PIDFILE COMM -> 0 if the pid in PIDFILE is running and its comm is COMM
alive() {
  local pf=$1 comm=$2 pid
  [ -s "$pf" ] || return 1
  pid=$(cat "$pf")
  [ -d "/proc/$pid" ] || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ] || return 1
  # a killed daemon can linger as a zombie until PID 1 reaps it: count that as dead
  ! awk '{ exit ($3 == "Z" || $3 == "X") ? 0 : 1 }' "/proc/$pid/stat" 2>/dev/null
}

wait_for() { # wait_for SECONDS DESCRIPTION CMD...
  local t=$1 what=$2; shift 2
  local end=$(( $(date +%s) + t ))
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$end" ]; then echo "timeout waiting for $what" >&2; return 1; fi
    sleep 0.2
  done
}

# ---- 1. packages -----------------------------------------------------------
[ "$(id -u)" = 0 ] || { echo "up.sh: must run as root (slurmd, munged, fake GPU devices)" >&2; exit 1; }
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
   || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  command -v apt-get >/dev/null || { echo "up.sh: Slurm is not installed and apt-get is unavailable" >&2; exit 1; }
  log "installing Debian packages slurm-wlm munge"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d / no systemd: postinst just skips starting the services.
  apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi
if [ "$ACCT" = 1 ] && { ! command -v slurmdbd >/dev/null || ! command -v mariadbd >/dev/null; }; then
  log "installing slurmdbd + mariadb-server"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends slurmdbd mariadb-server >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends slurmdbd mariadb-server >/dev/null; }
fi
log "slurm $(slurmctld -V | awk '{print $2}'), munge $(munged -V | awk '{print $1}')"

# ---- 2. already up? ----------------------------------------------------------
if alive "$ROOT/munge/munged.pid" munged && alive "$ROOT/slurmctld.pid" slurmctld \
   && alive "$ROOT/slurmd.pid" slurmd \
   && { [ "$ACCT" != 1 ] || { alive "$ROOT/slurmdbd.pid" slurmdbd && alive "$ROOT/mysql/mysqld.pid" mariadbd; }; }; then
  log "already running (munged $(cat "$ROOT/munge/munged.pid"), slurmctld $(cat "$ROOT/slurmctld.pid"), slurmd $(cat "$ROOT/slurmd.pid"))"
  sinfo -h -o '%n %T %G' | sed 's/^/[up] node: /'
  exit 0
fi
# partially up (e.g. after a crash): stop whatever of ours is left, start cleanly
if [ -e "$ROOT/munge/munged.pid" ] || [ -e "$ROOT/slurmctld.pid" ] || [ -e "$ROOT/slurmd.pid" ] \
   || [ -e "$ROOT/slurmdbd.pid" ] || [ -e "$ROOT/mysql/mysqld.pid" ]; then
  log "partial/stale state found, running down.sh first"
  SLURM_LOCAL_ROOT=$ROOT "$(dirname "$0")/down.sh"
fi

# ---- 3. directories, fake GPU devices, config --------------------------------
if [ "${SLURM_KEEP_STATE:-0}" != 1 ]; then rm -rf "$ROOT/spool" "$ROOT/log" "$ROOT/mysql"; fi
mkdir -p "$ROOT"/{etc,spool/ctld,spool/d,log,dev,munge}
chown munge:munge "$ROOT/munge"
chmod 0755 "$ROOT" "$ROOT/munge"      # munged: socket dir must be a+x, not g/o writable

NCPU=$(nproc)
MEM_MB=$(awk '/MemTotal/ {printf "%d", $2/1024*0.85}' /proc/meminfo)
DEFMEM=$(( MEM_MB / NCPU / 2 ))      # without DefMemPerCPU a job takes ALL node memory

ACCT_CONF="AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none"
if [ "$ACCT" = 1 ]; then
  ACCT_CONF="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$DBD_PORT
# the ctld->dbd connection ignores AuthInfo; this names its munge socket instead
AccountingStoragePass=$ROOT/munge/munge.socket
AccountingStorageTRES=gres/gpu
JobAcctGatherType=jobacct_gather/linux"
fi

GRES_NODE=""; GRES_TYPES=""
if [ "$GPUS" -gt 0 ]; then
  # gres/gpu wants character devices: clone /dev/null (1,3) once per fake GPU
  for ((i = 0; i < GPUS; i++)); do
    [ -c "$ROOT/dev/gpu$i" ] || { rm -f "$ROOT/dev/gpu$i"; mknod "$ROOT/dev/gpu$i" c 1 3; }
  done
  GRES_NODE="Gres=gpu:$GPUS"; GRES_TYPES="GresTypes=gpu"
  cat > "$ROOT/etc/gres.conf" <<EOF
AutoDetect=off
NodeName=$NODE Name=gpu File=$ROOT/dev/gpu[0-$((GPUS - 1))]
EOF
else
  rm -f "$ROOT/etc/gres.conf"
fi

cat > "$CONF" <<EOF
# generated by scripts/slurm-local/up.sh -- single-node loopback Slurm for sweep tests
ClusterName=sweeplocal
# bind slurmctld/slurmd/srun to 127.0.0.1 instead of 0.0.0.0
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$D_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$ROOT/munge/munge.socket
StateSaveLocation=$ROOT/spool/ctld
SlurmdSpoolDir=$ROOT/spool/d
SlurmctldPidFile=$ROOT/slurmctld.pid
SlurmdPidFile=$ROOT/slurmd.pid
SlurmctldLogFile=$ROOT/log/slurmctld.log
SlurmdLogFile=$ROOT/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
# default batch_sched_delay=3 s: finished array tasks are replaced only every 3 s
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$DEFMEM
$ACCT_CONF
JobCompType=jobcomp/filetxt
JobCompLoc=$ROOT/log/jobcomp.txt
ReturnToService=2
MinJobAge=600
$GRES_TYPES
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$NCPU RealMemory=$MEM_MB $GRES_NODE State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
echo "export SLURM_CONF=$CONF" > "$ROOT/env.sh"

# ---- 4. munged ---------------------------------------------------------------
KEY=/etc/munge/munge.key                 # created by the munge package's postinst
if [ ! -s "$KEY" ]; then
  KEY=$ROOT/munge/munge.key
  [ -s "$KEY" ] || runuser -u munge -- mungekey --create --keyfile="$KEY"
fi
rm -f "$ROOT/munge/munge.socket" "$ROOT/munge/munge.socket.lock"
runuser -u munge -- munged --key-file="$KEY" \
  --socket="$ROOT/munge/munge.socket" --pid-file="$ROOT/munge/munged.pid" \
  --seed-file="$ROOT/munge/munged.seed" --log-file="$ROOT/munge/munged.log"
wait_for 10 munged sh -c "munge -S '$ROOT/munge/munge.socket' -n | unmunge -S '$ROOT/munge/munge.socket'"
log "munged up (pid $(cat "$ROOT/munge/munged.pid"))"

# ---- 4b. optional accounting: MariaDB (127.0.0.1:$MYSQL_PORT) + slurmdbd ------
if [ "$ACCT" = 1 ]; then
  M=$ROOT/mysql
  mkdir -p "$M"; chown mysql:mysql "$M"
  [ -d "$M/data/mysql" ] || mariadb-install-db --user=mysql --datadir="$M/data" \
      --auth-root-authentication-method=socket --skip-test-db >"$M/install-db.log" 2>&1
  setsid -f /usr/sbin/mariadbd --no-defaults --user=mysql --datadir="$M/data" \
    --socket="$M/mysqld.sock" --pid-file="$M/mysqld.pid" --bind-address=127.0.0.1 \
    --port="$MYSQL_PORT" --log-error="$M/error.log" --skip-name-resolve \
    --innodb-buffer-pool-size=64M </dev/null >/dev/null 2>&1
  wait_for 30 mariadb mariadb --no-defaults -S "$M/mysqld.sock" -uroot -e 'select 1'
  wait_for 10 "mariadb pid file" test -s "$M/mysqld.pid"
  mariadb --no-defaults -S "$M/mysqld.sock" -uroot -e "
    CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurm';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';"
  log "mariadbd up (pid $(cat "$M/mysqld.pid"))"
  # slurmdbd has no -f: it reads slurmdbd.conf next to $SLURM_CONF; must be 0600
  cat > "$ROOT/etc/slurmdbd.conf" <<DBDEOF
AuthType=auth/munge
AuthInfo=socket=$ROOT/munge/munge.socket
CommunicationParameters=NoInAddrAny
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$DBD_PORT
SlurmUser=root
PidFile=$ROOT/slurmdbd.pid
LogFile=$ROOT/log/slurmdbd.log
DebugLevel=info
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$MYSQL_PORT
StorageUser=slurm
StoragePass=slurm
StorageLoc=slurm_acct_db
DBDEOF
  chmod 600 "$ROOT/etc/slurmdbd.conf"
  slurmdbd
  wait_for 30 slurmdbd sacctmgr -n list cluster
  log "slurmdbd up (pid $(cat "$ROOT/slurmdbd.pid"))"
fi

# ---- 5. slurmctld + slurmd (self-daemonising, write their own PID files) -----
CTLD_FLAGS=""; [ "${SLURM_KEEP_STATE:-0}" = 1 ] || CTLD_FLAGS="-c"  # -c: ignore old state
slurmctld -f "$CONF" $CTLD_FLAGS
wait_for 20 slurmctld scontrol ping
log "slurmctld up (pid $(cat "$ROOT/slurmctld.pid"))"
slurmd -f "$CONF" -N "$NODE"
wait_for 20 slurmd test -s "$ROOT/slurmd.pid"
log "slurmd up (pid $(cat "$ROOT/slurmd.pid"))"

# ---- 6. node must reach IDLE -------------------------------------------------
if ! wait_for 30 "node idle" sh -c "sinfo -h -n $NODE -o %T | grep -qx idle"; then
  state=$(sinfo -h -n $NODE -o '%T %E')
  log "node not idle ($state); trying resume"
  scontrol update NodeName=$NODE State=RESUME || true
  wait_for 15 "node idle" sh -c "sinfo -h -n $NODE -o %T | grep -qx idle" || {
    sinfo -R; tail -20 "$ROOT/log/slurmctld.log" "$ROOT/log/slurmd.log"; exit 1; }
fi
sinfo -h -o '%n %T cpus=%c mem=%m gres=%G' | sed 's/^/[up] node: /'
log "cluster ready; run: source $ROOT/env.sh"
