#!/usr/bin/env bash
# A real single-node Slurm cluster on this machine, for the Slurm executor's tests and bench:
# munged, slurmctld and slurmd from Debian's slurm-wlm and munge, one partition, one node that
# declares more CPUs than the machine has and 16 fake GPUs (gres), so 8-16 jobs run at once.
#
#   scripts/slurm-local.sh start    # idempotent: returns at once when the node is already up
#   scripts/slurm-local.sh stop
#   scripts/slurm-local.sh status   # exit 0 when sinfo shows the node up
#
# Needs root (it writes /etc/slurm and /etc/munge and starts daemons). Without the packages, or where the
# daemons cannot start, it says why and exits 1; the tests that need a cluster then skip.
set -euo pipefail

PARTITION="${AUTORESEARCH_SLURM_PARTITION:-debug}"
CPUS="${AUTORESEARCH_SLURM_CPUS:-16}"
GPUS="${AUTORESEARCH_SLURM_GPUS:-16}"
CONF_DIR=/etc/slurm
MARK="# written by autoresearch scripts/slurm-local.sh"
LOG_DIR=/var/log/slurm
HOST="$(hostname -s)"

fail() { echo "slurm-local: $*" >&2; exit 1; }

node_up() {
  # "idle", "mixed" or "allocated": up and taking jobs (a "*" suffix means not responding).
  local state
  state="$(sinfo --noheader --partition "$PARTITION" --format '%T' 2>/dev/null | head -n 1)" || return 1
  case "$state" in idle|mixed|allocated|completing) return 0 ;; *) return 1 ;; esac
}

write_config() {
  if [ -f "$CONF_DIR/slurm.conf" ] && ! grep -qF "$MARK" "$CONF_DIR/slurm.conf"; then
    fail "$CONF_DIR/slurm.conf exists and was not written by this script; not touching it (a real cluster's config?)"
  fi
  local memory
  memory=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512 ))
  mkdir -p "$CONF_DIR" "$LOG_DIR" /var/spool/slurmctld /var/spool/slurmd
  # Fake GPUs: slurmd wants one character device per GPU (copies of /dev/null here) and numbers them
  # by position for CUDA_VISIBLE_DEVICES.
  mkdir -p /run/autoresearch-fake-gpus
  for ((i = 0; i < GPUS; i++)); do
    [ -c "/run/autoresearch-fake-gpus/gpu$i" ] || { rm -f "/run/autoresearch-fake-gpus/gpu$i"; mknod "/run/autoresearch-fake-gpus/gpu$i" c 1 3; }
  done
  cat > "$CONF_DIR/slurm.conf.new" <<EOF
$MARK
ClusterName=autoresearch-local
SlurmctldHost=$HOST
AuthType=auth/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
SchedulerType=sched/backfill
# Batch jobs are scheduled as they are submitted (the default lets Slurm wait up to 3 s to batch them up).
SchedulerParameters=batch_sched_delay=0
# No slurmdbd here: no accounting, so sacct has nothing; squeue and scontrol remember a finished job for MinJobAge.
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MinJobAge=600
# A job that asks for no memory gets this much per CPU, not the whole node.
DefMemPerCPU=256
ReturnToService=2
SlurmdTimeout=60
KillWait=5
GresTypes=gpu
# The node declares more CPUs than the machine has (the jobs mostly sleep or wait on each other).
SlurmdParameters=config_overrides
NodeName=$HOST CPUs=$CPUS RealMemory=$memory Gres=gpu:$GPUS State=UNKNOWN
PartitionName=$PARTITION Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
  echo "$MARK" > "$CONF_DIR/gres.conf.new"
  echo "NodeName=$HOST Name=gpu File=/run/autoresearch-fake-gpus/gpu[0-$((GPUS - 1))]" >> "$CONF_DIR/gres.conf.new"
  local changed=1
  for name in slurm.conf gres.conf; do
    if cmp -s "$CONF_DIR/$name.new" "$CONF_DIR/$name" 2>/dev/null; then rm "$CONF_DIR/$name.new"; else mv "$CONF_DIR/$name.new" "$CONF_DIR/$name"; changed=0; fi
  done
  return $changed
}

start_munge() {
  if [ ! -s /etc/munge/munge.key ]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
  fi
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  if ! munge -n >/dev/null 2>&1; then
    runuser -u munge -- /usr/sbin/munged || fail "munged did not start (see /var/log/munge/munged.log)"
  fi
  for _ in $(seq 50); do munge -n >/dev/null 2>&1 && return 0; sleep 0.1; done
  fail "munge does not answer (see /var/log/munge/munged.log)"
}

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
  [ "$(id -u)" = 0 ] || fail "needs root (it writes $CONF_DIR and starts daemons)"
  for tool in munged slurmctld slurmd sinfo sbatch; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || fail "$tool is not installed (apt-get install slurm-wlm munge)"
  done
  local reconfigured=1
  write_config && reconfigured=0
  if [ "$reconfigured" = 1 ] && node_up; then echo "slurm-local: up (partition $PARTITION on $HOST)"; return 0; fi
  start_munge
  if [ "$reconfigured" = 0 ]; then
    running /run/slurmd.pid && kill "$(cat /run/slurmd.pid)" || true
    running /run/slurmctld.pid && kill "$(cat /run/slurmctld.pid)" || true
    for _ in $(seq 50); do running /run/slurmd.pid || running /run/slurmctld.pid || break; sleep 0.1; done
  fi
  running /run/slurmctld.pid || /usr/sbin/slurmctld || fail "slurmctld did not start (see $LOG_DIR/slurmctld.log)"
  running /run/slurmd.pid || /usr/sbin/slurmd || fail "slurmd did not start (see $LOG_DIR/slurmd.log)"
  for _ in $(seq 150); do
    if node_up; then echo "slurm-local: up (partition $PARTITION on $HOST, $CPUS CPUs, $GPUS fake GPUs)"; return 0; fi
    # A node left "down" by an earlier unclean stop comes back on its own with ReturnToService=2; a drained one does not.
    scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 || true
    sleep 0.2
  done
  sinfo >&2 || true
  fail "the node did not come up within 30 s (see $LOG_DIR/slurmctld.log and $LOG_DIR/slurmd.log)"
}

stop() {
  running /run/slurmd.pid && kill "$(cat /run/slurmd.pid)" || true
  running /run/slurmctld.pid && kill "$(cat /run/slurmctld.pid)" || true
  echo "slurm-local: stopped (munged left running)"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if node_up; then sinfo --partition "$PARTITION"; else echo "slurm-local: not up"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
