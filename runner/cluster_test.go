package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/gob"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/simclr-ablate/simclr-ablate/store"
)

// tinyFast shrinks testdata/tiny.toml further for the cluster tests.
var tinyFast = []string{"--set", "epochs=2", "--set", "linear_epochs=5"}

// encoderSums maps each run's config hash to the SHA-256 of its kept
// encoder in the database at path, checking every file.
func encoderSums(t *testing.T, path string) map[string]string {
	t.Helper()
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
		arts, err := db.Artifacts(context.Background(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range arts {
			if err := db.CheckArtifact(a); err != nil {
				t.Errorf("%s: run %d (%s): %v", path, r.ID, r.Label, err)
			}
			out[r.ConfigHash] = a.SHA256
		}
	}
	return out
}

// cellScores reads every cell of the database at path as one line of
// text, keyed by experiment/config hash/seed: status, final loss, the
// per-epoch losses and every evaluation's scores (floats printed exactly).
func cellScores(t *testing.T, path string) map[string]string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`
		SELECT e.name || '/' || r.config_hash || '/s' || r.seed, r.status, r.final_loss,
		       (SELECT group_concat(v, ' ') FROM (SELECT printf('%!.17g', value) AS v FROM metrics
		         WHERE run_id = r.id AND key = 'loss' AND step = 0 ORDER BY epoch)),
		       (SELECT group_concat(s, ' | ') FROM (SELECT protocol || ' ' || features || ' ' || label_fraction || ' ' ||
		               printf('%!.17g %!.17g', accuracy, macro_f1) || ' ' || per_class_f1 || ' ' || confusion AS s
		          FROM evaluations WHERE run_id = r.id ORDER BY protocol, features, label_fraction))
		  FROM runs r JOIN experiments e ON e.id = r.experiment_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var key, status string
		var loss sql.NullFloat64
		var losses, evals sql.NullString
		if err := rows.Scan(&key, &status, &loss, &losses, &evals); err != nil {
			t.Fatal(err)
		}
		if _, dup := out[key]; dup {
			t.Errorf("%s: cell %s twice", path, key)
		}
		out[key] = fmt.Sprintf("%s loss %v epochs [%s] evals [%s]", status, loss.Float64, losses.String, evals.String)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// sameScores fails the test unless both databases hold the same cells
// with bit-identical scores.
func sameScores(t *testing.T, wantPath, gotPath string) {
	t.Helper()
	want, got := cellScores(t, wantPath), cellScores(t, gotPath)
	if len(want) == 0 {
		t.Fatalf("%s holds no cells", wantPath)
	}
	for k, w := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("cell %s: in %s, not in %s", k, wantPath, gotPath)
		} else if g != w {
			t.Errorf("cell %s differs:\n%s: %s\n%s: %s", k, wantPath, w, gotPath, g)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("cell %s: in %s, not in %s", k, gotPath, wantPath)
		}
	}
}

// dbDigest hashes the rows of every table of a results database (for
// "nothing changed" checks).
func dbDigest(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h := sha256.New()
	for _, table := range []string{"experiments", "experiment_axes", "runs", "run_attempts", "params", "metrics", "evaluations"} {
		rows, err := db.Query(`SELECT * FROM ` + table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		var lines []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, fmt.Sprintf("%q", vals))
		}
		rows.Close()
		slices.Sort(lines)
		fmt.Fprintln(h, table, strings.Join(lines, "\n"))
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func TestRunShardsThenMergeEqualsOneRun(t *testing.T) {
	gridPath, err := filepath.Abs("testdata/tiny.toml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// In dir from the start: a binary built without the commit asks git in
	// the working directory, and the encoders record the answer.
	t.Chdir(dir)
	whole := filepath.Join(dir, "whole.db")
	set := append([]string{"--set", "save_encoder=true"}, tinyFast...)
	mustRun(t, 0, append([]string{"run", gridPath, "--db", whole}, set...)...)

	var shards []string
	for i := range 2 {
		s := fmt.Sprintf("%d/2", i)
		stdout, stderr := mustRun(t, 0, append([]string{"run", gridPath, "--shard", s}, set...)...)
		db := filepath.Join("results", "shards", "tiny", fmt.Sprintf("%d-of-2.db", i))
		if !strings.Contains(stderr, "runner: shard "+s+" (--shard "+s+"): ") || !strings.Contains(stderr, "-> "+db) {
			t.Errorf("run --shard %s stderr lacks the shard line naming %s:\n%s", s, db, stderr)
		}
		if !strings.Contains(stdout, "finished, 0 skipped, 0 failed") {
			t.Errorf("run --shard %s summary: %s", s, stdout)
		}
		if _, err := os.Stat(db); err != nil {
			t.Fatalf("shard database: %v", err)
		}
		shards = append(shards, db)
	}
	a, b := cellScores(t, shards[0]), cellScores(t, shards[1])
	if len(a)+len(b) != 3 || len(a) == 0 || len(b) == 0 {
		t.Errorf("shards hold %d and %d cells, want 3 in all, both non-empty", len(a), len(b))
	}
	for k := range a {
		if _, ok := b[k]; ok {
			t.Errorf("cell %s in both shards", k)
		}
	}

	stdout, _ := mustRun(t, 0, append([]string{"merge"}, shards...)...)
	merged := filepath.Join("results", "results.db")
	for _, want := range []string{shards[0] + ": ", " added, 0 replaced, 0 kept, 0 already merged", merged + ": 3 runs after merging 2 of 2 shards; integrity ok"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("merge output lacks %q:\n%s", want, stdout)
		}
	}
	sameScores(t, whole, merged)
	checkIntegrity(t, merged)
	// The shards' run ids overlap; their encoders must not.
	if w, m := encoderSums(t, whole), encoderSums(t, merged); len(w) != 2 || !maps.Equal(w, m) {
		t.Errorf("encoders' SHA-256 by config hash: one run %v, merged shards %v; want the same 2", w, m)
	}

	before := dbDigest(t, merged)
	stdout, _ = mustRun(t, 0, append([]string{"merge", "--into", merged}, shards...)...)
	if strings.Count(stdout, "0 added, 0 replaced, 0 kept") != 2 {
		t.Errorf("second merge output:\n%s\nwant nothing added from either shard", stdout)
	}
	if dbDigest(t, merged) != before {
		t.Errorf("merging the same shards twice changed %s", merged)
	}

	// A rerun of a shard skips what it finished.
	stdout, _ = mustRun(t, 0, append([]string{"run", gridPath, "--shard", "1/2"}, set...)...)
	if !strings.Contains(stdout, "0 finished") || !strings.Contains(stdout, "finished before") {
		t.Errorf("rerun of shard 1/2: %s, want its cells skipped", stdout)
	}
}

func TestRunShardFromEnvironment(t *testing.T) {
	t.Setenv("SLURM_ARRAY_TASK_ID", "1")
	t.Setenv("SLURM_ARRAY_TASK_COUNT", "3")
	t.Setenv("SLURM_ARRAY_TASK_MIN", "0")
	dir := t.TempDir()
	stdout, stderr := mustRun(t, 0, "run", "testdata/tiny.toml", "--dry-run", "--db", filepath.Join(dir, "x.db"))
	if !strings.Contains(stderr, "runner: shard 1/3 (SLURM_ARRAY_TASK_ID=1 of SLURM_ARRAY_TASK_COUNT=3): 1 cell of the grid's 3") {
		t.Errorf("stderr lacks the Slurm shard line:\n%s", stderr)
	}
	if !strings.Contains(stdout, "tiny: 1 cell") || !strings.Contains(stdout, "crop ") {
		t.Errorf("dry run of shard 1/3 = %s, want cell #1 (crop) alone", stdout)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.db")); !os.IsNotExist(err) {
		t.Errorf("a dry run wrote the database (stat: %v)", err)
	}
	// --shard 0/1 runs the whole grid, whatever the environment says.
	stdout, _ = mustRun(t, 0, "run", "testdata/tiny.toml", "--dry-run", "--shard", "0/1", "--db", filepath.Join(dir, "x.db"))
	if !strings.Contains(stdout, "tiny: 3 cells") {
		t.Errorf("--shard 0/1 plan = %s, want the 3 cells", stdout)
	}

	t.Setenv("SLURM_ARRAY_TASK_ID", "")
	t.Setenv("JOB_COMPLETION_INDEX", "2")
	_, stderr = mustRun(t, 2, "run", "testdata/tiny.toml", "--dry-run")
	if !strings.Contains(stderr, "JOB_COMPLETION_INDEX=2 is set (a Kubernetes Indexed Job) but --shards N is not") {
		t.Errorf("Indexed Job without --shards: %s", stderr)
	}
	stdout, _ = mustRun(t, 0, "run", "testdata/tiny.toml", "--dry-run", "--shards", "3", "--db", filepath.Join(dir, "x.db"))
	if !strings.Contains(stdout, "tiny: 1 cell") || !strings.Contains(stdout, "raw pixels") {
		t.Errorf("Indexed Job shard 2/3 plan = %s, want cell #2 alone", stdout)
	}
}

// TestSubprocessTrainsAsInProcess: the runner binary the subprocess tests
// start trains bit for bit as the runner in the test binary (both are
// built with the same tags: with -tags openblas, OpenBLAS multiplies),
// so that their results can be compared.
func TestSubprocessTrainsAsInProcess(t *testing.T) {
	dir := t.TempDir()
	args := append([]string{"run", "testdata/tiny.toml", "--shard", "0/3"}, tinyFast...)
	in := filepath.Join(dir, "in.db")
	mustRun(t, 0, append(args, "--db", in)...)
	sub := filepath.Join(dir, "sub.db")
	if out, err := exec.Command(runnerBinary(t), append(args, "--db", sub)...).CombinedOutput(); err != nil {
		t.Fatalf("runner binary: %v\n%s", err, out)
	}
	sameScores(t, in, sub)
	sameTraining(t, in, sub)
}

// TestShardResumesAfterKill: a shard's task killed with SIGKILL (no chance
// to mark its cell) and started again resumes the cell from its
// checkpoint at once, and the result equals an uninterrupted run's. The
// kill lands before or after the checkpoint of epoch 2 (the restart
// resumes from epoch 1 or 2): either way the result is the same. Rows of
// the killed attempt for the epochs after its checkpoint are overwritten
// with values no training produces: the restart must replace every one.
func TestShardResumesAfterKill(t *testing.T) {
	dir := t.TempDir()
	grid := "testdata/tiny.toml"
	set := []string{"--set", "epochs=4", "--set", "linear_epochs=5"}
	whole := filepath.Join(dir, "whole.db")
	mustRun(t, 0, append([]string{"run", grid, "--db", whole, "--shard", "0/3"}, set...)...)

	db := filepath.Join(dir, "shard.db")
	p := startRunner(t, append([]string{"run", grid, "--db", db, "--shard", "0/3", "--progress", "log"}, set...)...)
	p.waitLine(t, `msg=epoch .*epoch=2/4`)
	p.kill(t)
	ck := checkpointEpoch(t, filepath.Join(dir, "checkpoints", "tiny"))
	t.Logf("killed after the checkpoint of epoch %d", ck)
	plantStaleMetrics(t, db, ck+1, 4, 4)
	stdout, stderr := mustRun(t, 0, append([]string{"run", grid, "--db", db, "--shard", "0/3", "--retry-failed"}, set...)...)
	if !strings.Contains(stderr, "1 cell left running by a killed task marked interrupted") {
		t.Errorf("restarted shard did not take over the orphaned cell:\n%s", stderr)
	}
	if m := regexp.MustCompile(`msg="resumed from checkpoint" .*epoch=(\d+)`).FindStringSubmatch(stderr); m == nil {
		t.Errorf("restarted shard did not resume from the checkpoint:\n%s", stderr)
	} else {
		t.Logf("resumed from the checkpoint of epoch %s", m[1])
	}
	if !strings.Contains(stdout, "1 finished") {
		t.Errorf("restarted shard: %s", stdout)
	}
	sameScores(t, whole, db)
	sameTraining(t, whole, db)
	if n := sqlCount(t, db, `SELECT count(*) FROM run_attempts WHERE status = 'interrupted'`); n != 1 {
		t.Errorf("run_attempts holds %d interrupted attempts, want 1", n)
	}
}

// checkpointEpoch returns the epoch of the one cell checkpoint under
// root (a cell's directory holds checkpoint.gob, simclr's checkpoint,
// whose Epoch field is the last completed epoch).
func checkpointEpoch(t *testing.T, root string) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "*", "checkpoint.gob"))
	if err != nil || len(files) != 1 {
		t.Fatalf("checkpoints under %s: %v, %v; want one", root, files, err)
	}
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ck struct{ Epoch int }
	if err := gob.NewDecoder(f).Decode(&ck); err != nil || ck.Epoch < 1 {
		t.Fatalf("checkpoint %s: epoch %d, %v", files[0], ck.Epoch, err)
	}
	return ck.Epoch
}

// plantStaleMetrics writes, for every run of the database at path, the
// rows of epochs from..to (every per-epoch key and the step losses of
// steps steps an epoch) with a value no training produces (-1): the rows
// an attempt killed after its checkpoint of epoch from-1 may have left,
// all of which the attempt resuming from that checkpoint writes again.
func plantStaleMetrics(t *testing.T, path string, from, to, steps int) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const q = `INSERT OR REPLACE INTO metrics (run_id, key, epoch, step, value, time)
		SELECT id, ?, ?, ?, -1, '2000-01-01T00:00:00Z' FROM runs`
	for e := from; e <= to; e++ {
		for _, k := range store.EpochMetricKeys {
			if _, err := db.Exec(q, k, e, 0); err != nil {
				t.Fatal(err)
			}
		}
		for s := 1; s <= steps; s++ {
			if _, err := db.Exec(q, store.MetricStepLoss, e, s); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// sameTraining fails the test unless both databases hold the same cells
// with bit-identical training metrics: every per-epoch and per-step row
// but the timings (images_per_s, epoch_seconds).
func sameTraining(t *testing.T, wantPath, gotPath string) {
	t.Helper()
	want, got := trainingMetrics(t, wantPath), trainingMetrics(t, gotPath)
	if len(want) == 0 {
		t.Fatalf("%s holds no training metrics", wantPath)
	}
	if !maps.Equal(want, got) {
		for _, k := range slices.Sorted(maps.Keys(want)) {
			if got[k] != want[k] {
				t.Errorf("cell %s training metrics differ:\n%s:\n%s\n%s:\n%s", k, wantPath, want[k], gotPath, got[k])
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("cell %s: in %s, not in %s", k, gotPath, wantPath)
			}
		}
	}
}

// trainingMetrics reads every cell's training metrics (all but the
// timings) as text, keyed as cellScores keys them.
func trainingMetrics(t *testing.T, path string) map[string]string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`
		SELECT e.name || '/' || r.config_hash || '/s' || r.seed,
		       m.key || ' ' || m.epoch || ' ' || m.step || ' ' || ifnull(printf('%!.17g', m.value), 'NULL')
		  FROM metrics m JOIN runs r ON r.id = m.run_id JOIN experiments e ON e.id = r.experiment_id
		 WHERE m.key NOT IN (?, ?)
		 ORDER BY 1, m.key, m.epoch, m.step`, store.MetricImagesPerSec, store.MetricEpochSeconds)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var key, line string
		if err := rows.Scan(&key, &line); err != nil {
			t.Fatal(err)
		}
		out[key] += line + "\n"
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMergeCommandErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.db")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"merge"}, 2, "no shard databases given"},
		{[]string{"merge", missing, "--into", filepath.Join(dir, "r.db")}, 2, "no such file"},
		{[]string{"merge", dir, "--into", filepath.Join(dir, "r.db")}, 2, "is a directory, not a shard database"},
		{[]string{"merge", missing, "--into", dir}, 2, "is a directory, not a results database file"},
		{[]string{"merge", "-h"}, 0, "--partial"},
	} {
		code, stdout, stderr := runMain(t, c.args...)
		if code != c.code || !strings.Contains(stdout+stderr, c.want) {
			t.Errorf("runner %s = exit %d, %q %q; want %d and %q", strings.Join(c.args, " "), code, stdout, stderr, c.code, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "r.db")); !os.IsNotExist(err) {
		t.Errorf("a refused merge created the target")
	}
	into := filepath.Join(dir, "r.db")
	stdout, _ := mustRun(t, 0, "merge", missing, "--into", into, "--allow-missing")
	if !strings.Contains(stdout, missing+": missing, skipped") || !strings.Contains(stdout, "0 runs after merging 0 of 1 shard") {
		t.Errorf("merge --allow-missing: %s", stdout)
	}
}

// TestMergeOldShard: a shard written by the previous schema version (2,
// before artifacts) merges through a migrated copy and equals its
// current-version twin; the shard file is left as it was.
func TestMergeOldShard(t *testing.T) {
	dir := t.TempDir()
	shardPath := filepath.Join(dir, "0-of-1.db")
	mustRun(t, 0, "run", "testdata/tiny.toml", "--db", shardPath, "--shard", "0/3", "--set", "epochs=1", "--set", "linear_epochs=5")
	old := filepath.Join(dir, "old.db")
	raw, err := sql.Open("sqlite3", "file:"+shardPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`VACUUM INTO ?`, old); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	// The previous schema version, 2, had no artifacts table.
	raw, err = sql.Open("sqlite3", "file:"+old)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP TABLE artifacts`, `DELETE FROM schema_migrations WHERE version > 2`, `PRAGMA user_version = 2`} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	raw.Close()

	into := filepath.Join(dir, "results.db")
	stdout, _ := mustRun(t, 0, "merge", old, "--into", into)
	if !strings.Contains(stdout, "1 added") || !strings.Contains(stdout, "(schema version 2, merged from a migrated copy)") {
		t.Errorf("merge of a version-2 shard: %s", stdout)
	}
	sameScores(t, shardPath, into)
	if n := sqlCount(t, old, `PRAGMA user_version`); n != 2 {
		t.Errorf("the merged old shard's schema version is now %d, want it left at 2", n)
	}
}

func TestStatus(t *testing.T) {
	gridPath, err := filepath.Abs("testdata/tiny.toml")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	set := []string{"--set", "epochs=1", "--set", "linear_epochs=5"}
	stdout, _ := mustRun(t, 0, append([]string{"status", gridPath}, set...)...)
	if !strings.Contains(stdout, "tiny: 3 cells; no shards in results/shards/tiny") || !strings.Contains(stdout, "merged: results/results.db does not exist yet") {
		t.Errorf("status before any run:\n%s", stdout)
	}
	mustRun(t, 0, append([]string{"run", gridPath, "--shard", "0/2"}, set...)...)
	stdout, _ = mustRun(t, 0, append([]string{"status", gridPath}, set...)...)
	for _, want := range []string{
		"tiny: 3 cells in 2 shards (from the shard files' names)",
		"0      2      2         0        0            0       0            results/shards/tiny/0-of-2.db",
		"1      1      -         -        -            -       1            results/shards/tiny/1-of-2.db: not started",
		"total  3      2         0        0            0       1",
		"merged: results/results.db does not exist yet",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("status after shard 0 lacks %q:\n%s", want, stdout)
		}
	}
	mustRun(t, 0, "merge", filepath.Join("results", "shards", "tiny", "0-of-2.db"))
	stdout, _ = mustRun(t, 0, append([]string{"status", gridPath, "--shards", "2"}, set...)...)
	if !strings.Contains(stdout, "(--shards 2)") || !strings.Contains(stdout, "merged: 2 of 3 cells finished in results/results.db") {
		t.Errorf("status after the merge:\n%s", stdout)
	}
	if _, stderr := mustRun(t, 2, append([]string{"status", gridPath, "--shards", "-1"}, set...)...); !strings.Contains(stderr, "--shards -1") {
		t.Errorf("status --shards -1: %s", stderr)
	}
}
