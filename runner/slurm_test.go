package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/simclr-ablate/simclr-ablate/store"
)

// slurmMarker is the first line .ci/slurm-up.sh writes in its slurm.conf.
const slurmMarker = "# A one-node cluster for simclr-ablate's cluster tests"

// slurmCluster makes sure a one-node Slurm cluster of .ci/slurm-up.sh
// answers, and returns its slurm.conf: the one SLURM_CONF names when
// slurm-up.sh wrote it (.ci/run starts one), else one this test starts
// (as root) and stops when it ends. A cluster the machine belongs to
// otherwise is never used: the test's files are in a local temporary
// directory that other nodes would not see.
func slurmCluster(t *testing.T) {
	t.Helper()
	if conf := os.Getenv("SLURM_CONF"); conf != "" {
		b, err := os.ReadFile(conf)
		if err == nil && bytes.HasPrefix(b, []byte(slurmMarker)) {
			if err := exec.Command("sinfo", "-h").Run(); err != nil {
				t.Fatalf("SLURM_CONF=%s (from .ci/slurm-up.sh) but sinfo fails: %v", conf, err)
			}
			return
		}
	}
	if os.Geteuid() != 0 {
		t.Fatalf("sbatch is installed but this test cannot start its one-node cluster without root: run .ci/slurm-up.sh DIR as root and export the SLURM_CONF it prints")
	}
	up, err := filepath.Abs("../.ci/slurm-up.sh")
	if err != nil {
		t.Fatal(err)
	}
	state, err := os.MkdirTemp("", "slurm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if out, err := exec.Command(filepath.Join(filepath.Dir(up), "slurm-down.sh"), state).CombinedOutput(); err != nil {
			t.Errorf("slurm-down.sh: %v\n%s", err, out)
		}
		os.RemoveAll(state)
	})
	var stderr bytes.Buffer
	cmd := exec.Command(up, state)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("slurm-up.sh: %v\n%s%s", err, out, stderr.String())
	}
	conf, ok := strings.CutPrefix(strings.TrimSpace(string(out)), "export SLURM_CONF=")
	if !ok {
		t.Fatalf("slurm-up.sh printed %q, want export SLURM_CONF=...", out)
	}
	t.Setenv("SLURM_CONF", conf)
}

// slurmRun runs a Slurm command and returns its output.
func slurmRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// jobState is the state scontrol gives job id ("" once Slurm has
// forgotten it).
func jobState(id string) string {
	out, err := exec.Command("scontrol", "-o", "show", "job", id).Output()
	if err != nil {
		return ""
	}
	m := regexp.MustCompile(`JobState=(\S+)`).FindSubmatch(out)
	if m == nil {
		return ""
	}
	return string(m[1])
}

// jobID is the job id scontrol gives a job or array task.
func jobID(task string) string {
	out, err := exec.Command("scontrol", "-o", "show", "job", task).Output()
	if err != nil {
		return ""
	}
	m := regexp.MustCompile(`JobId=(\d+)`).FindSubmatch(out)
	if m == nil {
		return ""
	}
	return string(m[1])
}

// startNow makes a requeued array task eligible early: Slurm holds a
// requeued batch job about two minutes before it may start again
// (batch_requeue_fini: the credential lifetime + 1 s), because slurmd
// refuses a launch credential no newer than the kill that requeued the
// job (whole seconds: slurm_cred_revoked), and slurmctld then ends the job
// FAILED instead of requeueing it ("Killing non-startable batch job").
// So the task is released two seconds after it is seen back in the queue
// (the kill came before that), not at once: released within the kill's
// second, it was once lost that way.
func startNow(t *testing.T, task string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if jobState(task) == "PENDING" {
			time.Sleep(2 * time.Second)
			if out, err := exec.Command("scontrol", "update", "JobId="+task, "StartTime=now").CombinedOutput(); err == nil {
				return
			} else {
				t.Logf("scontrol update %s StartTime=now: %v %s", task, err, out)
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("task %s did not go back to PENDING after its requeue (state %s)", task, jobState(task))
}

// midCell returns the epoch the running cell of the shard database at
// path has recorded last (0 when none is running or it cannot be read).
func midCell(path string) int {
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=200")
	if err != nil {
		return 0
	}
	defer db.Close()
	var epoch sql.NullInt64
	if err := db.QueryRow(`SELECT max(m.epoch) FROM metrics m JOIN runs r ON r.id = m.run_id
		 WHERE r.status = 'running' AND m.key = 'loss' AND m.step = 0`).Scan(&epoch); err != nil {
		return 0
	}
	return int(epoch.Int64)
}

// TestSlurm runs testdata/cluster.toml (three cells of eight epochs) on a
// real one-node Slurm cluster through runner submit slurm, in three shards
// on two CPUs. While the cells train, one task is requeued with scontrol
// requeue and another is sent USR1, the warning Slurm gives before a time
// limit, on which array.sh requeues itself. Both resume their cells from
// their checkpoints. Then: the merge job merged every cell exactly once,
// integrity_check is ok, the scores are bit-identical to a local runner
// run of the same grid with the same binary, the report was built, and
// merging the shards again changes nothing.
func TestSlurm(t *testing.T) {
	if _, err := exec.LookPath("sbatch"); err != nil {
		t.Skip("sbatch is not installed (apt-get install slurm-wlm; .ci/run installs it)")
	}
	slurmCluster(t)
	runner := runnerBinary(t)
	report := filepath.Join(filepath.Dir(runner), "report")
	if out, err := exec.Command("go", "build", "-o", report, "../report").CombinedOutput(); err != nil {
		t.Fatalf("go build report: %v\n%s", err, out)
	}
	gridSrc, err := os.ReadFile("testdata/cluster.toml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cluster.toml"), gridSrc, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(runner, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("runner %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	out := run("submit", "slurm", "cluster.toml", "--shards", "3", "--cpus-per-task", "1", "--runner", runner, "--report", report)
	m := regexp.MustCompile(`submitted array job (\d+) \(3 tasks\) and merge job (\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("runner submit slurm printed:\n%s\nwant the two job ids", out)
	}
	arrayID, mergeID := m[1], m[2]
	t.Logf("array job %s, merge job %s", arrayID, mergeID)
	t.Cleanup(func() {
		if jobState(mergeID) == "PENDING" || jobState(mergeID) == "RUNNING" {
			exec.Command("scancel", arrayID, mergeID).Run()
		}
	})
	logs := filepath.Join(dir, "results", "slurm", "cluster", "logs")
	dumpLogs := func() {
		files, _ := filepath.Glob(filepath.Join(logs, "*.out"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			t.Logf("%s:\n%s", filepath.Base(f), b)
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			dumpLogs()
			for i := range 3 {
				out, _ := exec.Command("scontrol", "-o", "show", "job", fmt.Sprintf("%s_%d", arrayID, i)).CombinedOutput()
				t.Logf("scontrol show job %s_%d: %s", arrayID, i, out)
			}
		}
	})
	shardPath := func(i int) string {
		return filepath.Join(dir, "results", "shards", "cluster", fmt.Sprintf("%d-of-3.db", i))
	}

	// Faults, each on a task mid-cell (two epochs recorded, one to go):
	// one task is requeued by scontrol; the task that holds the array's own
	// job id (its SLURM_JOB_ID is the array's) gets USR1 and requeues
	// itself, which must requeue that task alone.
	deadline := time.Now().Add(4 * time.Minute)
	hit := map[int]string{}
	for len(hit) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no task was mid-cell for each fault within the time limit (done: %v)", hit)
		}
		for i := range 3 {
			if _, done := hit[i]; done {
				continue
			}
			e := midCell(shardPath(i))
			if e < 2 || e > 7 {
				continue
			}
			task := fmt.Sprintf("%s_%d", arrayID, i)
			holder := jobID(task) == arrayID
			switch {
			case holder && !slices.Contains(slices.Collect(maps.Values(hit)), "USR1"):
				slurmRun(t, "scancel", "--batch", "--signal=USR1", task)
				hit[i] = "USR1"
			case !holder && !slices.Contains(slices.Collect(maps.Values(hit)), "scontrol requeue"):
				slurmRun(t, "scontrol", "requeue", task)
				hit[i] = "scontrol requeue"
			default:
				continue
			}
			t.Logf("task %s at epoch %d: %s", task, e, hit[i])
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Once both are back in the queue (where they would wait two minutes).
	for i := range hit {
		startNow(t, fmt.Sprintf("%s_%d", arrayID, i))
	}

	for {
		a, b := slurmRun(t, "squeue", "-h", "-j", arrayID+","+mergeID), jobState(mergeID)
		if a == "" && b != "PENDING" && b != "RUNNING" {
			break
		}
		if time.Now().After(deadline) {
			dumpLogs()
			t.Fatalf("the jobs did not end within the time limit; squeue:\n%s", a)
		}
		time.Sleep(time.Second)
	}
	if st := jobState(mergeID); st != "COMPLETED" {
		dumpLogs()
		t.Fatalf("merge job %s ended %s, want COMPLETED", mergeID, st)
	}
	for i, how := range hit {
		b, _ := os.ReadFile(filepath.Join(logs, fmt.Sprintf("%s_%d.out", arrayID, i)))
		if !strings.Contains(string(b), "resumed from checkpoint") {
			t.Errorf("task %d (%s) did not resume from its checkpoint; its log:\n%s", i, how, b)
		}
		if how == "USR1" && !strings.Contains(string(b), "time limit near, requeueing task") {
			t.Errorf("task %d got USR1 but array.sh did not requeue it; its log:\n%s", i, b)
		}
	}
	// Only the two tasks were requeued, once each (requeueing by a task's
	// SLURM_JOB_ID would requeue the whole array when it is the array's).
	for i := range 3 {
		task := fmt.Sprintf("%s_%d", arrayID, i)
		out, _ := exec.Command("scontrol", "-o", "show", "job", task).Output()
		want := "Restarts=0"
		if _, ok := hit[i]; ok {
			want = "Restarts=1"
		}
		if !strings.Contains(string(out), want+" ") {
			t.Errorf("task %s: want %s: %s", task, want, out)
		}
	}
	mergeLog, _ := os.ReadFile(filepath.Join(logs, "merge-"+mergeID+".out"))
	if !strings.Contains(string(mergeLog), "results/results.db: 3 runs after merging 3 of 3 shards; integrity ok") {
		t.Errorf("merge log:\n%s", mergeLog)
	}
	if strings.Contains(string(mergeLog), "unfinished") {
		t.Errorf("the merge left cells unfinished:\n%s", mergeLog)
	}

	merged := filepath.Join(dir, "results", "results.db")
	checkIntegrity(t, merged)
	if n := sqlCount(t, merged, `SELECT count(*) FROM runs WHERE status = 'finished'`); n != 3 {
		t.Errorf("merged database: %d finished runs, want 3", n)
	}
	if n := sqlCount(t, merged, `SELECT count(*) FROM (SELECT 1 FROM runs GROUP BY experiment_id, config_hash, seed HAVING count(*) > 1)`); n != 0 {
		t.Errorf("merged database: %d cells more than once", n)
	}
	if n := sqlCount(t, merged, `SELECT count(*) FROM runs WHERE attempt = 2`); n != 2 {
		t.Errorf("merged database: %d runs at attempt 2, want the 2 requeued", n)
	}
	if n := sqlCount(t, merged, `SELECT count(*) FROM run_attempts WHERE status = 'interrupted'`); n != 2 {
		t.Errorf("merged database: %d interrupted earlier attempts, want 2", n)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "results", "report.md")); err != nil || !strings.Contains(string(b), "cluster") {
		t.Errorf("the merge job's report: %v\n%.500s", err, b)
	}

	// The same grid and binary run locally, uninterrupted: the same scores,
	// and the same encoders, byte for byte.
	run("run", "cluster.toml", "--db", "local.db")
	sameScores(t, filepath.Join(dir, "local.db"), merged)
	encoders := func(path string) map[string]string {
		db, err := store.OpenReadOnly(path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		runs, err := db.ListRuns(context.Background(), store.RunFilter{})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, r := range runs {
			a, err := db.Artifact(context.Background(), r.ID, store.ArtifactEncoder)
			if err == nil {
				err = db.CheckArtifact(a)
			}
			if err != nil {
				t.Errorf("%s: run %d (%s): %v", path, r.ID, r.Label, err)
				continue
			}
			out[r.ConfigHash] = a.SHA256
		}
		return out
	}
	if l, m := encoders(filepath.Join(dir, "local.db")), encoders(merged); len(m) != 3 || !maps.Equal(l, m) {
		t.Errorf("encoders' SHA-256 by config hash: local %v, merged %v; want the same 3", l, m)
	}

	// Merging the shards again changes nothing.
	before := dbDigest(t, merged)
	out = run("merge", shardPath(0), shardPath(1), shardPath(2))
	if strings.Count(out, "0 added, 0 replaced, 0 kept, 1 already merged") != 3 {
		t.Errorf("second merge:\n%s", out)
	}
	if dbDigest(t, merged) != before {
		t.Errorf("merging the shards a second time changed the merged database")
	}
	if out := run("status", "cluster.toml"); !strings.Contains(out, "total  3      3") || !strings.Contains(out, "merged: 3 of 3 cells finished") {
		t.Errorf("runner status after the run:\n%s", out)
	}
}
