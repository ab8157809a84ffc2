#!/usr/bin/env bash
# slurm-down.sh STATE_DIR: stops the daemons .ci/slurm-up.sh STATE_DIR
# started, by the pids it recorded (slurmd, slurmctld, then munged if it
# started it), and waits for them to exit.
set -uo pipefail
state=${1:?usage: slurm-down.sh STATE_DIR}
for d in slurmd slurmctld munged; do
	f="$state/$d.pid"
	[ -s "$f" ] || continue
	pid=$(cat "$f")
	if kill "$pid" 2>/dev/null; then
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
	fi
	rm -f "$f"
done
exit 0
