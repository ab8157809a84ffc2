package store

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestAxes(t *testing.T) {
	db, _ := reportFixture(t)
	axes, err := db.Axes(context.Background())
	if err != nil {
		t.Fatalf("Axes() = %v", err)
	}
	// "e" varies the head only; "other" has one run, so no axis.
	want := map[string][]string{"e": {"head"}}
	if !reflect.DeepEqual(axes, want) {
		t.Errorf("Axes() = %v, want %v", axes, want)
	}
}

func TestRunSettings(t *testing.T) {
	db, ids := reportFixture(t)
	ctx := context.Background()
	got, err := db.RunSettings(ctx, "e", []string{"head", "batch_size"})
	if err != nil {
		t.Fatalf("RunSettings(e) = %v", err)
	}
	if len(got) != len(ids) {
		t.Errorf("RunSettings(e) has %d runs, want %d", len(got), len(ids))
	}
	for c, id := range ids {
		p := got[id]["head"]
		if p.Value != c.head || p.Num != nil {
			t.Errorf("RunSettings(e)[%d][head] = %+v, want %q and no number", id, p, c.head)
		}
		b := got[id]["batch_size"]
		if b.Num == nil || *b.Num != float64(testConfig(1).BatchSize) || b.Value != strings.TrimSpace(b.Value) {
			t.Errorf("RunSettings(e)[%d][batch_size] = %+v, want the number %d", id, b, testConfig(1).BatchSize)
		}
	}
	all, err := db.RunSettings(ctx, "", []string{"head"})
	if err != nil || len(all) != len(ids)+1 {
		t.Errorf("RunSettings(all) = %d runs, %v, want %d", len(all), err, len(ids)+1)
	}
	if none, err := db.RunSettings(ctx, "", nil); err != nil || len(none) != 0 {
		t.Errorf("RunSettings(no keys) = %v, %v, want empty", none, err)
	}
	if _, err := db.RunSettings(ctx, "nope", []string{"head"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("RunSettings(nope) = %v, want ErrNotFound", err)
	}
	if _, err := db.RunSettings(ctx, "", []string{"head); DROP TABLE runs; --"}); err == nil || !strings.Contains(err.Error(), "unknown setting") {
		t.Errorf("RunSettings(bad key) = %v, want an unknown setting error", err)
	}
}

func TestGetRuns(t *testing.T) {
	db, ids := reportFixture(t)
	ctx := context.Background()
	a, b := ids[reportCell{0, 1, "none"}], ids[reportCell{1, 2, "linear"}]
	runs, err := db.GetRuns(ctx, []int64{b, a, b})
	if err != nil {
		t.Fatalf("GetRuns = %v", err)
	}
	if len(runs) != 2 || runs[0].ID != b || runs[1].ID != a {
		t.Fatalf("GetRuns(%d, %d, %d) returned %d runs, want %d then %d", b, a, b, len(runs), b, a)
	}
	report, err := db.ReportRuns(ctx, "e")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range report {
		if r.ID == a && !equalNaN(r, runs[1]) {
			t.Errorf("GetRuns()[1] = %+v,\nwant ReportRuns' %+v", runs[1], r)
		}
	}
	if _, err := db.GetRuns(ctx, []int64{a, 9999}); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "9999") {
		t.Errorf("GetRuns(%d, 9999) = %v, want ErrNotFound naming 9999", a, err)
	}
	if runs, err := db.GetRuns(ctx, nil); err != nil || len(runs) != 0 {
		t.Errorf("GetRuns(nil) = %v, %v, want nothing", runs, err)
	}
}
