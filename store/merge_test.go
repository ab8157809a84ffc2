package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/simclr-ablate/simclr-ablate/simclr/config"
	"github.com/simclr-ablate/simclr-ablate/simclr/metrics"
)

// shardFile is a results database written as one task of a cluster run
// would: its own host, pid and clock.
type shardFile struct {
	t    *testing.T
	db   *DB
	clk  *testClock
	prov Provenance
	exp  int64
}

func newShard(t *testing.T, path, host string, start time.Time) *shardFile {
	t.Helper()
	db, err := OpenWith(path, Options{Rollback: true})
	if err != nil {
		t.Fatalf("OpenWith(%s) = %v", path, err)
	}
	clk := &testClock{t: start}
	db.now = clk.now
	t.Cleanup(func() { db.Close() })
	prov := testProv
	prov.Host, prov.PID = host, int(start.Unix()%10000)
	return &shardFile{t: t, db: db, clk: clk, prov: prov, exp: mustExperiment(t, db, "grid")}
}

func (s *shardFile) claim(label string, cfg config.Config, pol ClaimPolicy) int64 {
	s.t.Helper()
	id, claimed, _, err := s.db.Claim(context.Background(), s.exp, label, cfg, keyOf(cfg), s.prov, pol)
	if err != nil || !claimed {
		s.t.Fatalf("Claim(%s) = %d, %v, %v", label, id, claimed, err)
	}
	return id
}

// finish runs the cell to the end: two epochs and an evaluation with
// accuracy acc.
func (s *shardFile) finish(label string, cfg config.Config, acc float64, pol ClaimPolicy) int64 {
	s.t.Helper()
	ctx := context.Background()
	id := s.claim(label, cfg, pol)
	if err := s.db.SetTags(ctx, id, map[string]string{"pair_first": label}); err != nil {
		s.t.Fatal(err)
	}
	s.clk.advance(10 * time.Second)
	if err := s.db.RecordSteps(ctx, id, []metrics.StepStats{{Epoch: 1, Step: 1, Loss: 5.5}, {Epoch: 1, Step: 2, Loss: 5.1}}); err != nil {
		s.t.Fatal(err)
	}
	if err := s.db.Finish(ctx, id, result(evaluation("linear", "h", 1, acc, acc-0.01))); err != nil {
		s.t.Fatal(err)
	}
	s.clk.advance(time.Second)
	return id
}

// interrupt claims the cell, records an epoch and marks it interrupted.
func (s *shardFile) interrupt(label string, cfg config.Config, pol ClaimPolicy) int64 {
	s.t.Helper()
	ctx := context.Background()
	id := s.claim(label, cfg, pol)
	s.clk.advance(5 * time.Second)
	if err := s.db.RecordEpoch(ctx, id, epochStats(1, 5.0)); err != nil {
		s.t.Fatal(err)
	}
	if err := s.db.MarkFailed(ctx, id, StatusInterrupted, "context canceled"); err != nil {
		s.t.Fatal(err)
	}
	s.clk.advance(time.Second)
	return id
}

var t0 = time.Date(2024, 6, 1, 8, 0, 0, 0, time.UTC)

func cfgTemp(seed int64, temp float64) config.Config {
	return testConfig(seed, func(c *config.Config) { c.Temperature = temp })
}

// dump renders every table of the database as text, for before/after
// comparisons.
func dump(t *testing.T, db *DB) string {
	t.Helper()
	var b strings.Builder
	for _, table := range []string{"experiments", "experiment_axes", "runs", "run_attempts", "params", "metrics", "evaluations"} {
		probe, err := db.db.Query(`SELECT * FROM ` + table + ` LIMIT 0`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := probe.Columns()
		probe.Close()
		order := make([]string, len(cols))
		for i := range cols {
			order[i] = fmt.Sprint(i + 1)
		}
		rows, err := db.db.Query(`SELECT * FROM ` + table + ` ORDER BY ` + strings.Join(order, ", "))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %v\n", table, cols)
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				if bs, ok := v.([]byte); ok {
					vals[i] = string(bs)
				}
			}
			fmt.Fprintln(&b, vals...)
		}
		rows.Close()
	}
	return b.String()
}

func mustMerge(t *testing.T, db *DB, src string, opt MergeOptions) *MergeReport {
	t.Helper()
	rep, err := db.Merge(context.Background(), src, opt)
	if err != nil {
		t.Fatalf("Merge(%s) = %v", src, err)
	}
	return rep
}

func TestMergeShards(t *testing.T) {
	dir := t.TempDir()
	a := newShard(t, filepath.Join(dir, "0-of-2.db"), "node1", t0)
	b := newShard(t, filepath.Join(dir, "1-of-2.db"), "node2", t0.Add(time.Second))
	a.finish("t0.1", cfgTemp(1, 0.1), 0.81, ClaimPolicy{})
	a.interrupt("t0.2", cfgTemp(1, 0.2), ClaimPolicy{})
	b.finish("t0.5", cfgTemp(1, 0.5), 0.85, ClaimPolicy{})
	b.finish("t1.0", cfgTemp(1, 1.0), 0.75, ClaimPolicy{})

	target, _ := openTest(t)
	ra := mustMerge(t, target, a.db.Path(), MergeOptions{})
	rb := mustMerge(t, target, b.db.Path(), MergeOptions{})
	if ra.Added != 2 || rb.Added != 2 || ra.Replaced+ra.Kept+ra.Unchanged+rb.Replaced+rb.Kept+rb.Unchanged != 0 {
		t.Errorf("reports: %+v, %+v; want 2 added each", ra, rb)
	}
	if len(ra.Unfinished) != 1 || ra.Unfinished[0].Label != "t0.2" || ra.Unfinished[0].Status != StatusInterrupted || !ra.Unfinished[0].Merged {
		t.Errorf("unfinished of shard 0 = %+v, want t0.2 interrupted, merged", ra.Unfinished)
	}
	if err := target.IntegrityCheck(context.Background()); err != nil {
		t.Error(err)
	}

	for _, c := range []struct{ table, cond string }{{"runs", ""}, {"params", ""}, {"metrics", ""}, {"evaluations", ""}, {"run_attempts", ""}} {
		want := countRows(t, a.db, c.table, c.cond) + countRows(t, b.db, c.table, c.cond)
		if got := countRows(t, target, c.table, c.cond); got != want {
			t.Errorf("%s rows after merging = %d, want %d (the shards' sum)", c.table, got, want)
		}
	}
	if n := countRows(t, target, "experiments", ""); n != 1 {
		t.Errorf("experiments = %d, want 1 (both shards' grid)", n)
	}
	// The axes are the experiment's: temperature varies across the shards.
	if n := countRows(t, target, "experiment_axes", "key = 'temperature'"); n != 1 {
		t.Errorf("experiment_axes lacks temperature")
	}
	if n := countRows(t, target, "runs", "settings = 'temperature=0.5'"); n != 1 {
		t.Errorf("runs.settings not refreshed: %d runs with settings temperature=0.5", n)
	}
	runs, err := target.ListRuns(context.Background(), RunFilter{Status: StatusFinished})
	if err != nil || len(runs) != 3 {
		t.Fatalf("ListRuns(finished) = %d runs, %v; want 3", len(runs), err)
	}
	for _, r := range runs {
		want := map[string]float64{"t0.1": 0.81, "t0.5": 0.85, "t1.0": 0.75}[r.Label]
		if r.LinearAcc == nil || *r.LinearAcc != want {
			t.Errorf("run %s linear accuracy %v, want %g", r.Label, r.LinearAcc, want)
		}
	}
	if n := countRows(t, target, "params", "key = 'pair_first'"); n != 3 {
		t.Errorf("tags copied for %d runs, want 3", n)
	}

	// Merging again adds nothing.
	before := dump(t, target)
	for _, s := range []*shardFile{a, b} {
		rep := mustMerge(t, target, s.db.Path(), MergeOptions{})
		if rep.Added+rep.Replaced+rep.Kept+rep.Attempts != 0 || rep.Unchanged != 2 {
			t.Errorf("second merge of %s = %+v, want 2 unchanged, nothing else", s.db.Path(), rep)
		}
	}
	if after := dump(t, target); after != before {
		t.Errorf("merging the shards twice changed the target:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func TestMergeResumedCellReplacesItsInterruptedAttempt(t *testing.T) {
	dir := t.TempDir()
	a := newShard(t, filepath.Join(dir, "0-of-1.db"), "node1", t0)
	cfg := cfgTemp(1, 0.1)
	a.interrupt("cell", cfg, ClaimPolicy{})
	target, _ := openTest(t)
	if rep := mustMerge(t, target, a.db.Path(), MergeOptions{}); rep.Added != 1 || len(rep.Unfinished) != 1 {
		t.Fatalf("merge of the interrupted shard = %+v", rep)
	}
	// The task is requeued: the cell resumes (attempt 2) and finishes.
	a.clk.advance(time.Minute)
	a.finish("cell", cfg, 0.9, ClaimPolicy{RetryFailed: true})
	rep := mustMerge(t, target, a.db.Path(), MergeOptions{})
	if rep.Replaced != 1 || len(rep.Unfinished) != 0 {
		t.Errorf("merge of the finished shard = %+v, want 1 replaced, none unfinished", rep)
	}
	var status string
	var attempt int
	if err := target.db.QueryRow(`SELECT status, attempt FROM runs`).Scan(&status, &attempt); err != nil || status != StatusFinished || attempt != 2 {
		t.Errorf("merged run: %s attempt %d (%v), want finished attempt 2", status, attempt, err)
	}
	if n := countRows(t, target, "run_attempts", "attempt = 1 AND status = 'interrupted'"); n != 1 {
		t.Errorf("run_attempts holds %d interrupted attempt 1, want 1", n)
	}
	if n := countRows(t, target, "run_attempts", ""); n != 1 {
		t.Errorf("run_attempts rows = %d, want 1", n)
	}
	if n := countRows(t, target, "evaluations", ""); n != 1 {
		t.Errorf("evaluations = %d, want 1", n)
	}
}

// TestMergeCellFinishedTwice: the same cell finished in two shards keeps
// the attempt that ended last, whatever the order of the merges, and the
// other in run_attempts.
func TestMergeCellFinishedTwice(t *testing.T) {
	dir := t.TempDir()
	a := newShard(t, filepath.Join(dir, "a.db"), "node1", t0)
	b := newShard(t, filepath.Join(dir, "b.db"), "node2", t0.Add(time.Hour))
	cfg := cfgTemp(1, 0.1)
	a.finish("cell", cfg, 0.70, ClaimPolicy{})
	b.finish("cell", cfg, 0.72, ClaimPolicy{}) // ended an hour later
	a.finish("other", cfgTemp(2, 0.1), 0.5, ClaimPolicy{})

	summary := func(db *DB) string {
		var acc float64
		var host string
		var attempt int
		if err := db.db.QueryRow(`SELECT linear_acc, host, attempt FROM run_summary WHERE label = 'cell'`).Scan(&acc, &host, &attempt); err != nil {
			t.Fatal(err)
		}
		var prevHost string
		if err := db.db.QueryRow(`SELECT a.host FROM run_attempts a JOIN runs r ON r.id = a.run_id WHERE r.label = 'cell'`).Scan(&prevHost); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("acc %g host %s attempt %d; earlier attempt on %s", acc, host, attempt, prevHost)
	}
	want := "acc 0.72 host node2 attempt 2; earlier attempt on node1"
	for _, order := range [][]*shardFile{{a, b}, {b, a}} {
		target, _ := openTestAt(t, filepath.Join(t.TempDir(), "results.db"))
		r1 := mustMerge(t, target, order[0].db.Path(), MergeOptions{})
		r2 := mustMerge(t, target, order[1].db.Path(), MergeOptions{})
		if got := summary(target); got != want {
			t.Errorf("merging %s then %s: %s, want %s", order[0].db.Path(), order[1].db.Path(), got, want)
		}
		if r2.Replaced+r2.Kept != 1 || r1.Attempts+r2.Attempts != 1 {
			t.Errorf("reports %+v, %+v: want the second to replace or keep one cell, one attempt added", r1, r2)
		}
		if n := countRows(t, target, "runs", ""); n != 2 {
			t.Errorf("runs = %d, want 2 (each cell once)", n)
		}
		if n := countRows(t, target, "evaluations", ""); n != 2 {
			t.Errorf("evaluations = %d, want 2 (the kept attempt's)", n)
		}
		before := dump(t, target)
		mustMerge(t, target, a.db.Path(), MergeOptions{})
		mustMerge(t, target, b.db.Path(), MergeOptions{})
		if dump(t, target) != before {
			t.Errorf("merging both again changed the target")
		}
	}
}

func TestMergeRunningSource(t *testing.T) {
	dir := t.TempDir()
	a := newShard(t, filepath.Join(dir, "0-of-1.db"), "node1", t0)
	a.finish("done", cfgTemp(1, 0.1), 0.8, ClaimPolicy{})
	a.claim("busy", cfgTemp(1, 0.2), ClaimPolicy{}) // running, heartbeat now

	target, clk := openTest(t)
	clk.t = a.clk.now().Add(10 * time.Second)
	_, err := target.Merge(context.Background(), a.db.Path(), MergeOptions{})
	if !errors.Is(err, ErrSourceRunning) || !strings.Contains(err.Error(), "--partial") {
		t.Fatalf("Merge of a running shard = %v, want ErrSourceRunning naming --partial", err)
	}
	if n := countRows(t, target, "runs", ""); n != 0 {
		t.Errorf("a refused merge wrote %d runs", n)
	}
	rep := mustMerge(t, target, a.db.Path(), MergeOptions{Partial: true})
	if rep.Added != 1 || rep.Skipped != 1 || len(rep.Unfinished) != 1 || rep.Unfinished[0].Merged || rep.Unfinished[0].Status != StatusRunning {
		t.Errorf("partial merge = %+v, want 1 added, 1 running left out", rep)
	}
	// An hour later the task is gone (its heartbeat stale): merged without
	// --partial, the dead row still left out and reported.
	clk.advance(time.Hour)
	rep = mustMerge(t, target, a.db.Path(), MergeOptions{})
	if rep.Unchanged != 1 || rep.Skipped != 1 || len(rep.Unfinished) != 1 {
		t.Errorf("merge of a dead shard = %+v", rep)
	}
	if n := countRows(t, target, "runs", "status = 'running'"); n != 0 {
		t.Errorf("running rows copied: %d", n)
	}
}

func TestMergeRefuses(t *testing.T) {
	dir := t.TempDir()
	target, _ := openTestAt(t, filepath.Join(dir, "results.db"))
	ctx := context.Background()
	if _, err := target.Merge(ctx, target.Path(), MergeOptions{}); err == nil || !strings.Contains(err.Error(), "the target itself") {
		t.Errorf("Merge of the target into itself = %v", err)
	}
	if _, err := target.Merge(ctx, filepath.Join(dir, "missing.db"), MergeOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Merge of a missing file = %v, want ErrNotExist", err)
	}
	text := filepath.Join(dir, "notes.db")
	os.WriteFile(text, []byte(strings.Repeat("not a database\n", 100)), 0o644)
	if _, err := target.Merge(ctx, text, MergeOptions{}); err == nil || !strings.Contains(err.Error(), text) {
		t.Errorf("Merge of a text file = %v", err)
	}
	newer := filepath.Join(dir, "newer.db")
	db, err := Open(newer)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	known, _ := knownVersion()
	setUserVersion(t, newer, known+1)
	var sv *SchemaVersionError
	if _, err := target.Merge(ctx, newer, MergeOptions{}); !errors.As(err, &sv) {
		t.Errorf("Merge of a newer schema = %v, want a SchemaVersionError", err)
	}
	if n := countRows(t, target, "experiments", ""); n != 0 {
		t.Errorf("refused merges wrote %d experiments", n)
	}
}

// TestMergeOldSchema: a shard written by the previous build (schema
// version 1, before peak_rss_mb) merges through a migrated copy; the
// shard file itself is left as it was.
func TestMergeOldSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	raw, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	init, err := migrationFS.ReadFile("migration/001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{string(init), `PRAGMA user_version = 1`,
		`INSERT INTO experiments (id, name, description, grid_path, created_at) VALUES (1, 'grid', 'old', 'g.toml', '2024-01-01T00:00:00.000000Z')`,
		`INSERT INTO runs (id, experiment_id, label, grid_index, config_json, config_hash, seed, status, attempt, created_at, started_at, heartbeat_at, ended_at, duration_s, final_loss, host, pid)
		 VALUES (1, 1, 'old cell', 0, '{}', 'abcd', 1, 'finished', 1, '2024-01-01T00:00:00.000000Z', '2024-01-01T00:00:00.000000Z', '2024-01-01T00:01:00.000000Z', '2024-01-01T00:01:00.000000Z', 60, 4.2, 'oldhost', 7)`,
		`INSERT INTO params (run_id, key, value, value_num) VALUES (1, 'temperature', '0.5', 0.5)`,
		`INSERT INTO metrics (run_id, key, epoch, step, value, time) VALUES (1, 'loss', 1, 0, 4.2, '2024-01-01T00:01:00.000000Z')`,
		`INSERT INTO evaluations (run_id, protocol, features, label_fraction, accuracy, macro_f1) VALUES (1, 'linear', 'h', 1, 0.77, 0.76)`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	raw.Close()
	sum := func() string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%x", b)
	}
	before := sum()

	target, _ := openTest(t)
	rep := mustMerge(t, target, path, MergeOptions{})
	if rep.MigratedFrom != 1 || rep.Added != 1 {
		t.Errorf("merge of a version-1 shard = %+v, want migrated from 1, 1 added", rep)
	}
	var acc float64
	var rss sql.NullFloat64
	if err := target.db.QueryRow(`SELECT s.linear_acc, r.peak_rss_mb FROM run_summary s JOIN runs r ON r.id = s.run_id`).Scan(&acc, &rss); err != nil || acc != 0.77 || rss.Valid {
		t.Errorf("merged old run: linear_acc %g, peak_rss_mb %v, %v; want 0.77, NULL", acc, rss, err)
	}
	if sum() != before {
		t.Errorf("merging changed the version-1 source file")
	}
	if rep := mustMerge(t, target, path, MergeOptions{}); rep.Unchanged != 1 || rep.Added != 0 {
		t.Errorf("second merge of the old shard = %+v, want unchanged", rep)
	}
}

func TestNetworkFSGuard(t *testing.T) {
	real := statfsType
	t.Cleanup(func() { statfsType = real })
	dir := t.TempDir()
	for _, c := range []struct {
		magic   int64
		opt     Options
		refused string
	}{
		{0xef53, Options{}, ""}, // ext4
		{0x6969, Options{}, "NFS"},
		{0xff534d42, Options{}, "CIFS"},
		{0x0bd00bd0, Options{}, "Lustre"},
		{0x47504653, Options{}, "GPFS"},
		{0x00c36400, Options{}, "CephFS"},
		{0x01021997, Options{}, "9p"},
		{0x6969, Options{Rollback: true}, ""},
		{0x6969, Options{AllowNetworkFS: true}, ""},
	} {
		var asked string
		statfsType = func(d string) (int64, error) { asked = d; return c.magic, nil }
		path := filepath.Join(dir, fmt.Sprintf("%x-%v-%v", c.magic, c.opt.Rollback, c.opt.AllowNetworkFS), "results.db")
		db, err := OpenWith(path, c.opt)
		if c.refused == "" {
			if err != nil {
				t.Errorf("OpenWith on fs %#x with %+v = %v, want it opened", c.magic, c.opt, err)
				continue
			}
			db.Close()
			continue
		}
		var ne *NetworkFSError
		if !errors.As(err, &ne) || !strings.HasPrefix(ne.FS, c.refused) {
			t.Errorf("OpenWith on fs %#x = %v, want a NetworkFSError naming %s", c.magic, err, c.refused)
			continue
		}
		msg := err.Error()
		for _, want := range []string{path, "runner run --shard I/N", "runner merge", "--allow-network-fs"} {
			if !strings.Contains(msg, want) {
				t.Errorf("refusal %q lacks %q", msg, want)
			}
		}
		if strings.Contains(msg, "\n") {
			t.Errorf("refusal is not one line: %q", msg)
		}
		if asked != dir {
			t.Errorf("statfs asked about %s, want the nearest existing directory %s", asked, dir)
		}
		if _, err := os.Stat(filepath.Dir(path)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a refused open created %s", filepath.Dir(path))
		}
	}
	// Read-only opens are not guarded.
	statfsType = real
	path := filepath.Join(dir, "ro.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	statfsType = func(string) (int64, error) { return 0x6969, nil }
	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Errorf("OpenReadOnly on NFS = %v, want it opened", err)
	} else {
		ro.Close()
	}
}

func TestRollbackJournal(t *testing.T) {
	db, err := OpenWith(filepath.Join(t.TempDir(), "shard.db"), Options{Rollback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	if err := db.db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "delete" {
		t.Errorf("journal_mode = %q, %v, want delete", mode, err)
	}
}

func TestInterruptOrphans(t *testing.T) {
	a := newShard(t, filepath.Join(t.TempDir(), "0-of-1.db"), "node1", t0)
	a.finish("done", cfgTemp(1, 0.1), 0.8, ClaimPolicy{})
	a.claim("killed", cfgTemp(1, 0.2), ClaimPolicy{})
	a.clk.advance(30 * time.Second)
	if err := a.db.Heartbeat(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	n, err := a.db.InterruptOrphans(context.Background(), a.exp, "task killed")
	if err != nil || n != 1 {
		t.Fatalf("InterruptOrphans = %d, %v, want 1", n, err)
	}
	var status, errText string
	var dur float64
	if err := a.db.db.QueryRow(`SELECT status, error, duration_s FROM runs WHERE label = 'killed'`).Scan(&status, &errText, &dur); err != nil ||
		status != StatusInterrupted || errText != "task killed" || dur < 29.9 || dur > 30.1 {
		t.Errorf("orphan: %s %q %gs (%v), want interrupted, the reason, 30s", status, errText, dur, err)
	}
	// The requeued task resumes it.
	a.claim("killed", cfgTemp(1, 0.2), ClaimPolicy{RetryFailed: true})
	if n := countRows(t, a.db, "runs", "status = 'finished'"); n != 1 {
		t.Errorf("finished runs = %d, want 1 (untouched)", n)
	}
}

// finishWithEncoder finishes a cell as finish does, keeping an encoder
// file with the given contents.
func (s *shardFile) finishWithEncoder(label string, cfg config.Config, acc float64, data string) int64 {
	s.t.Helper()
	ctx := context.Background()
	id := s.claim(label, cfg, ClaimPolicy{})
	if _, err := s.db.SaveArtifact(ctx, id, ArtifactEncoder, ArtifactPath("grid", id, "encoder.safetensors"), []byte(data)); err != nil {
		s.t.Fatal(err)
	}
	s.clk.advance(10 * time.Second)
	if err := s.db.Finish(ctx, id, result(evaluation("linear", "h", 1, acc, acc-0.01))); err != nil {
		s.t.Fatal(err)
	}
	s.clk.advance(time.Second)
	return id
}

func TestMergeArtifacts(t *testing.T) {
	dir := t.TempDir()
	a := newShard(t, filepath.Join(dir, "shards", "0-of-2.db"), "node1", t0)
	b := newShard(t, filepath.Join(dir, "shards", "1-of-2.db"), "node2", t0.Add(time.Hour))
	a.finish("plain", cfgTemp(1, 0.5), 0.6, ClaimPolicy{})
	a.finishWithEncoder("kept", cfgTemp(1, 0.1), 0.8, "weights of node1")
	b.finishWithEncoder("other", cfgTemp(1, 0.2), 0.7, "weights of node2")

	target, _ := openTestAt(t, filepath.Join(dir, "results.db"))
	ctx := context.Background()
	mustMerge(t, target, b.db.Path(), MergeOptions{}) // run 1 in the target
	mustMerge(t, target, a.db.Path(), MergeOptions{}) // runs 2 and 3: "kept" is 3, not its shard's 2
	check := func(label, want string) {
		t.Helper()
		var id int64
		if err := target.db.QueryRow(`SELECT id FROM runs WHERE label = ?`, label).Scan(&id); err != nil {
			t.Fatal(err)
		}
		art, err := target.Artifact(ctx, id, ArtifactEncoder)
		if err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		if wantPath := ArtifactPath("grid", id, "encoder.safetensors"); art.Path != wantPath {
			t.Errorf("%s: artifact path %s, want %s (the target's run id)", label, art.Path, wantPath)
		}
		data, err := target.ReadArtifact(art)
		if err != nil || string(data) != want {
			t.Errorf("%s: artifact %q, %v; want %q", label, data, err, want)
		}
	}
	check("kept", "weights of node1")
	check("other", "weights of node2")
	if n := countRows(t, target, "artifacts", ""); n != 2 {
		t.Errorf("artifacts rows = %d, want 2", n)
	}
	tmps, _ := filepath.Glob(filepath.Join(dir, "artifacts", "grid", "*", "*.tmp*"))
	if len(tmps) != 0 {
		t.Errorf("temporary files left: %v", tmps)
	}

	// A corrupted source file: the merge of that shard fails, writes no
	// row and leaves no file.
	c := newShard(t, filepath.Join(dir, "bad", "0-of-1.db"), "node3", t0.Add(2*time.Hour))
	id := c.finishWithEncoder("bad", cfgTemp(1, 0.3), 0.5, "weights of node3")
	full := filepath.Join(dir, "bad", filepath.FromSlash(ArtifactPath("grid", id, "encoder.safetensors")))
	if err := os.WriteFile(full, []byte("weights of nodeX"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := dump(t, target)
	if _, err := target.Merge(ctx, c.db.Path(), MergeOptions{}); !errors.Is(err, ErrArtifactCorrupt) {
		t.Errorf("Merge of a shard with a corrupted artifact = %v, want ErrArtifactCorrupt", err)
	}
	if dump(t, target) != before {
		t.Errorf("a failed merge changed the target")
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "artifacts", "grid", "4", "*")); len(files) != 0 {
		t.Errorf("a failed merge left files: %v", files)
	}
}

// TestMergeArtifactOfReplacedAttempt: when a shard's later attempt of a
// cell replaces the target's, its encoder replaces the target's file.
func TestMergeArtifactOfReplacedAttempt(t *testing.T) {
	dir := t.TempDir()
	a := newShard(t, filepath.Join(dir, "a", "0-of-1.db"), "node1", t0)
	b := newShard(t, filepath.Join(dir, "b", "0-of-1.db"), "node2", t0.Add(time.Hour))
	cfg := cfgTemp(1, 0.1)
	a.finishWithEncoder("cell", cfg, 0.7, "earlier weights")
	b.finishWithEncoder("cell", cfg, 0.8, "later weights")
	target, _ := openTestAt(t, filepath.Join(dir, "results.db"))
	ctx := context.Background()
	mustMerge(t, target, a.db.Path(), MergeOptions{})
	if rep := mustMerge(t, target, b.db.Path(), MergeOptions{}); rep.Replaced != 1 {
		t.Fatalf("merge of the later attempt = %+v, want 1 replaced", rep)
	}
	art, err := target.Artifact(ctx, 1, ArtifactEncoder)
	if err != nil {
		t.Fatal(err)
	}
	if data, err := target.ReadArtifact(art); err != nil || string(data) != "later weights" {
		t.Errorf("artifact after the replacement = %q, %v; want the later attempt's", data, err)
	}
	var attempt int
	target.db.QueryRow(`SELECT attempt FROM runs WHERE id = 1`).Scan(&attempt)
	if art.Attempt != attempt || attempt != 2 {
		t.Errorf("artifact attempt %d, run attempt %d: want both 2", art.Attempt, attempt)
	}
}
