package store

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func TestSetTags(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	exp := mustExperiment(t, db, "pairs")
	cfg := testConfig(1)
	id := mustClaim(t, db, exp, "crop+color", cfg)

	tags := map[string]string{"pair_first": "crop", "pair_second": "color"}
	if err := db.SetTags(ctx, id, tags); err != nil {
		t.Fatalf("SetTags(%d, %v) = %v, want nil", id, tags, err)
	}
	if err := db.SetTags(ctx, id, tags); err != nil {
		t.Fatalf("SetTags(%d, %v) again = %v, want nil (idempotent)", id, tags, err)
	}
	if n := countRows(t, db, "params", "run_id = ? AND key LIKE 'pair_%'", id); n != 2 {
		t.Errorf("params rows of the tags = %d, want 2", n)
	}

	d, err := db.GetRun(ctx, id)
	if err != nil {
		t.Fatalf("GetRun(%d) = %v", id, err)
	}
	got := map[string]string{}
	for _, p := range d.Params {
		if p.Key == "pair_first" || p.Key == "pair_second" {
			got[p.Key] = p.Value
			if p.Num != nil {
				t.Errorf("GetRun(%d) param %s Num = %v, want nil", id, p.Key, *p.Num)
			}
		}
	}
	if got["pair_first"] != "crop" || got["pair_second"] != "color" {
		t.Errorf("GetRun(%d) tag params = %v, want %v", id, got, tags)
	}
	if d.Config.Head != cfg.Head {
		t.Errorf("GetRun(%d).Config.Head = %q, want %q (tags must not disturb the config)", id, d.Config.Head, cfg.Head)
	}

	cols, rows, err := db.ExportRuns(ctx, "pairs")
	if err != nil {
		t.Fatalf("ExportRuns(pairs) = %v", err)
	}
	i := slices.Index(cols, "pair_first")
	if i < 0 || len(rows) != 1 || rows[0][i] != "crop" {
		t.Errorf("ExportRuns(pairs) pair_first column = %d in %v, rows %v, want crop", i, cols, rows)
	}

	// A reclaim rewrites the params from the config: the tags are gone
	// until SetTags is called again.
	if err := db.MarkFailed(ctx, id, StatusFailed, "boom"); err != nil {
		t.Fatalf("MarkFailed = %v", err)
	}
	if _, claimed, _, err := db.Claim(ctx, exp, "crop+color", cfg, keyOf(cfg), testProv, ClaimPolicy{RetryFailed: true}); err != nil || !claimed {
		t.Fatalf("Claim(retry) = %v, %v, want claimed", claimed, err)
	}
	if n := countRows(t, db, "params", "run_id = ? AND key LIKE 'pair_%'", id); n != 0 {
		t.Errorf("params rows of the tags after a reclaim = %d, want 0", n)
	}
}

func TestSetTagsErrors(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	exp := mustExperiment(t, db, "pairs")
	id := mustClaim(t, db, exp, "a", testConfig(1))
	tests := []struct {
		name  string
		runID int64
		tags  map[string]string
		is    error
	}{
		{"setting name", id, map[string]string{"head": "linear"}, nil},
		{"empty name", id, map[string]string{"": "x"}, nil},
		{"no such run", id + 100, map[string]string{"pair_first": "crop"}, ErrNotFound},
	}
	for _, tt := range tests {
		err := db.SetTags(ctx, tt.runID, tt.tags)
		if err == nil || (tt.is != nil && !errors.Is(err, tt.is)) {
			t.Errorf("%s: SetTags(%d, %v) = %v, want an error (is %v)", tt.name, tt.runID, tt.tags, err, tt.is)
		}
	}
	if n := countRows(t, db, "params", "run_id = ? AND key = 'head' AND value = 'linear'", id); n != 0 {
		t.Errorf("a refused tag overwrote the setting head")
	}
	if err := db.SetTags(ctx, id, nil); err != nil {
		t.Errorf("SetTags(%d, nil) = %v, want nil", id, err)
	}
}
