#!/usr/bin/env bash
# A sharded `corrmap validate` on SLURM: one job-array task per shard, then `corrmap merge`.
#
#   scripts/slurm-validate.sh -n SHARDS [-d DIR] [-m "merge options"] -- <network.json> --input <input.json> [validate options]
#
# Each array task runs `corrmap validate … --shard $SLURM_ARRAY_TASK_ID/SHARDS --save DIR/shard-ID.json`;
# after `sbatch --array=0-(SHARDS−1) --wait` the shard files are merged and the validation printed
# (bit for bit what the unsharded run prints, timings aside). Exit code: merge's.
#
# Where `sinfo` answers (a real cluster, or SLURM_CONF pointing at one), the job goes there and
# nothing is started. Otherwise, as root with slurm-wlm and munge installed, a private one-node
# cluster is brought up for the run (its own munged socket, config, ports, spool and logs under
# DIR/cluster, nothing written to /etc) and the daemons it started are stopped at the end.
#
# CORRMAP (default: node <repo>/bin/corrmap.js) is the command the tasks and the merge run.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
corrmap="${CORRMAP:-node $here/bin/corrmap.js}"
shards="" dir="" merge_options=""
while [ $# -gt 0 ]; do
  case "$1" in
    -n) shards="$2"; shift 2 ;;
    -d) dir="$2"; shift 2 ;;
    -m) merge_options="$2"; shift 2 ;;
    --) shift; break ;;
    *) echo "slurm-validate: unknown option $1 (usage: -n SHARDS [-d DIR] [-m 'merge options'] -- <validate arguments>)" >&2; exit 2 ;;
  esac
done
case "$shards" in '' | *[!0-9]* | 0) echo "slurm-validate: -n SHARDS (a whole number ≥ 1) is required" >&2; exit 2 ;; esac
[ $# -gt 0 ] || { echo "slurm-validate: give the validate arguments after --" >&2; exit 2; }
dir="${dir:-$(mktemp -d "${TMPDIR:-/tmp}/corrmap-slurm.XXXXXX")}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"

started=()   # "name pid" of every daemon this script started, stopped in reverse order on exit
stop_daemons() {
  if [ ${#started[@]} -gt 0 ]; then
    scontrol shutdown >/dev/null 2>&1 || true
    for ((i = ${#started[@]} - 1; i >= 0; i--)); do
      pid="${started[i]#* }"
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    done
  fi
}
trap stop_daemons EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])'; }

if ! timeout 10 sinfo -h >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || { echo "slurm-validate: no SLURM cluster answers and starting one needs root" >&2; exit 2; }
  for tool in munged slurmctld slurmd sbatch; do
    command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || { echo "slurm-validate: $tool is not installed (apt-get install slurm-wlm munge)" >&2; exit 2; }
  done
  c="$dir/cluster"
  mkdir -p "$c/state" "$c/spool"
  chmod 700 "$c"
  [ -f /etc/munge/munge.key ] && key=/etc/munge/munge.key || { key="$c/munge.key"; mungekey --create --keyfile="$key" >/dev/null; }
  /usr/sbin/munged --force --foreground --socket="$c/munge.socket" --key-file="$key" --pid-file="$c/munged.pid" \
    --log-file="$c/munged.log" --seed-file="$c/munged.seed" >/dev/null 2>&1 &
  started+=("munged $!")
  for _ in $(seq 50); do [ -S "$c/munge.socket" ] && break; sleep 0.1; done
  host="$(hostname -s)"
  cat >"$c/slurm.conf" <<CONF
ClusterName=corrmap
SlurmctldHost=$host
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$c/munge.socket
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
StateSaveLocation=$c/state
SlurmdSpoolDir=$c/spool
SlurmctldPidFile=$c/slurmctld.pid
SlurmdPidFile=$c/slurmd.pid
SlurmctldLogFile=$c/slurmctld.log
SlurmdLogFile=$c/slurmd.log
ReturnToService=2
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF="$c/slurm.conf"
  /usr/sbin/slurmctld -D -f "$SLURM_CONF" >/dev/null 2>&1 &
  started+=("slurmctld $!")
  /usr/sbin/slurmd -D -f "$SLURM_CONF" >/dev/null 2>&1 &
  started+=("slurmd $!")
  for _ in $(seq 100); do
    state="$(sinfo -h -o %t 2>/dev/null || true)"
    [ "$state" = idle ] && break
    sleep 0.2
  done
  [ "$state" = idle ] || { echo "slurm-validate: the local cluster did not come up (node state '${state:-none}'; logs in $c)" >&2; exit 1; }
fi

# The task: one shard, one core (SLURM gives each task one CPU; more threads would contend).
quoted="$(printf '%q ' "$@")"
cat >"$dir/shard.sh" <<JOB
#!/usr/bin/env bash
cd $(printf '%q' "$PWD")
exec $corrmap validate $quoted --workers 1 --shard "\$SLURM_ARRAY_TASK_ID/$shards" --save $(printf '%q' "$dir")/shard-\$SLURM_ARRAY_TASK_ID.json
JOB
chmod +x "$dir/shard.sh"
if ! sbatch --quiet --array="0-$((shards - 1))" --wait --job-name=corrmap-shards --output="$dir/shard-%a.log" "$dir/shard.sh"; then
  echo "slurm-validate: a shard failed; its log is in $dir/shard-*.log:" >&2
  grep -h 'corrmap: ' "$dir"/shard-*.log >&2 || true
  exit 1
fi
files=()
for ((k = 0; k < shards; k++)); do files+=("$dir/shard-$k.json"); done
set +e
# shellcheck disable=SC2086 # merge_options are words
$corrmap merge "${files[@]}" $merge_options
status=$?
exit $status
