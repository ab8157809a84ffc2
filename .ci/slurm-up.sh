#!/usr/bin/env bash
# slurm-up.sh STATE_DIR: starts a one-node Slurm cluster on this machine
# for the cluster tests: munged (unless one already answers), slurmctld and
# slurmd, with their configuration, state, logs and pid files in
# STATE_DIR. No file outside STATE_DIR is written but munged's run
# directory. Needs root and Debian's slurm-wlm (which brings munge and
# creates /etc/munge/munge.key). Prints the line to eval:
#   export SLURM_CONF=STATE_DIR/slurm.conf
# .ci/slurm-down.sh STATE_DIR stops exactly the daemons this started.
set -euo pipefail
state=${1:?usage: slurm-up.sh STATE_DIR}
mkdir -p "$state"
state=$(cd "$state" && pwd)
host=$(hostname -s)
cpus=$(nproc)
mem=$(awk '/MemTotal/ {printf "%d", $2 / 1024 * 0.8}' /proc/meminfo)
[ "$(id -u)" = 0 ] || { echo "slurm-up.sh: needs root (slurmd runs jobs as their users)" >&2; exit 1; }
for b in munged slurmctld slurmd; do
	command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || { echo "slurm-up.sh: $b not installed (apt-get install slurm-wlm)" >&2; exit 1; }
done

# munge: Slurm's authentication. Reuse a munged that answers.
if munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
	echo "slurm-up.sh: munged already running" >&2
else
	install -d -o munge -g munge -m 0755 /run/munge
	su -s /bin/sh munge -c /usr/sbin/munged
	for _ in $(seq 50); do [ -s /run/munge/munged.pid ] && break; sleep 0.1; done
	cp /run/munge/munged.pid "$state/munged.pid"
fi

mkdir -p "$state/ctld" "$state/d" "$state/log"
port=${SLURM_TEST_PORT:-6817}
cat > "$state/slurm.conf" <<CONF
# A one-node cluster for simclr-ablate's cluster tests (.ci/slurm-up.sh).
ClusterName=local
SlurmctldHost=$host
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/d
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
KillWait=10
MinJobAge=600
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$state/slurm.conf"
/usr/sbin/slurmctld -f "$SLURM_CONF"
/usr/sbin/slurmd -f "$SLURM_CONF"
for _ in $(seq 150); do
	if sinfo -h -o '%t' 2>/dev/null | grep -qx idle; then
		echo "export SLURM_CONF=$SLURM_CONF"
		exit 0
	fi
	sleep 0.2
done
echo "slurm-up.sh: the node did not come up within 30 s; logs in $state/log:" >&2
tail -n 20 "$state"/log/*.log >&2 || true
exit 1
