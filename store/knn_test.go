package store

import (
	"context"
	"testing"

	"github.com/simclr-ablate/simclr-ablate/simclr/config"
	"github.com/simclr-ablate/simclr-ablate/simclr/metrics"
)

// TestRecordKNNAcc: an epoch with the kNN monitor's accuracy stores it as
// a knn_acc row beside the other per-epoch metrics, and reads it back; an
// epoch without has no such row and reads back nil.
func TestRecordKNNAcc(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	id := mustClaim(t, db, mustExperiment(t, db, "e"), "l", testConfig(1))
	for e, acc := range []float64{0.41, 0.57} {
		st := epochStats(e+1, 5)
		st.KNNAcc = &acc
		if err := db.RecordEpoch(ctx, id, st); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.RecordEpoch(ctx, id, epochStats(3, 4)); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, db, "metrics", "run_id = ? AND key = ?", id, MetricKNNAcc); n != 2 {
		t.Errorf("%d knn_acc rows, want 2", n)
	}
	if n, want := countRows(t, db, "metrics", "run_id = ?", id), 3*len(EpochMetricKeys)+2; n != want {
		t.Errorf("%d metric rows, want %d", n, want)
	}
	d, err := db.GetRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []float64{0.41, 0.57} {
		if got := d.Epochs[i].KNNAcc; got == nil || *got != want {
			t.Errorf("epoch %d: KNNAcc = %v, want %v", i+1, got, want)
		}
	}
	if got := d.Epochs[2].KNNAcc; got != nil {
		t.Errorf("epoch 3: KNNAcc = %v, want nil (not measured)", *got)
	}
}

// TestEpochsOfAStepsRun: a run given in steps has epochs = 0 in its
// config; its epochs read back with the planned count the engine had,
// ceil(steps / steps an epoch).
func TestEpochsOfAStepsRun(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	cfg := testConfig(1, func(c *config.Config) { c.Epochs, c.Steps = 0, 100 })
	id := mustClaim(t, db, mustExperiment(t, db, "e"), "l", cfg)
	for e := 1; e <= 3; e++ {
		st := epochStats(e, 5) // 39 steps an epoch
		if e == 3 {
			st.Steps = 22
		}
		if err := db.RecordEpoch(ctx, id, st); err != nil {
			t.Fatal(err)
		}
	}
	d, err := db.GetRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range d.Epochs {
		if e.Epochs != 3 {
			t.Errorf("epoch %d of %d, want of 3", e.Epoch, e.Epochs)
		}
	}
}

// TestMigrationNewSettings: a run stored before steps, the schedule
// settings and the kNN monitor existed gets their params rows with the
// values it had, so that a run stored now, with the defaults, adds no
// axis to its experiment (the monitor's settings are never axes).
func TestMigrationNewSettings(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	exp := mustExperiment(t, db, "e")
	old := mustClaim(t, db, exp, "l", testConfig(1))
	added := []string{"steps", "lr_schedule", "lr_final_fraction", "lr_milestones", "knn_train", "knn_test"}
	for _, k := range added {
		if _, err := db.db.Exec(`DELETE FROM params WHERE run_id = ? AND key = ?`, old, k); err != nil {
			t.Fatal(err)
		}
	}
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	var sql string
	for _, m := range ms {
		if m.name == "004_new_settings.sql" {
			sql = m.sql
		}
	}
	if sql == "" {
		t.Fatal("no migration 004_new_settings.sql")
	}
	if _, err := db.db.Exec(sql); err != nil {
		t.Fatalf("migration 004: %v", err)
	}
	was := testConfig(1, func(c *config.Config) { c.KNNTrain, c.KNNTest = 0, 0 })
	want, err := FlattenConfig(was)
	if err != nil {
		t.Fatal(err)
	}
	d, err := db.GetRun(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Param{}
	for _, p := range d.Params {
		got[p.Key] = p
	}
	for _, p := range want {
		g, ok := got[p.Key]
		if !ok || g.Value != p.Value || (g.Num == nil) != (p.Num == nil) || (g.Num != nil && *g.Num != *p.Num) {
			t.Errorf("after the migration, param %s = %+v (present %v), want %+v", p.Key, g, ok, p)
		}
	}
	if err := db.Finish(ctx, old, &metrics.Result{}); err != nil {
		t.Fatal(err)
	}
	mustClaim(t, db, exp, "l", testConfig(2))
	if n := countRows(t, db, "experiment_axes", "experiment_id = ?", exp); n != 0 {
		t.Errorf("%d axes after a run with the defaults, want 0", n)
	}
}
