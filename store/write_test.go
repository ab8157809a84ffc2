package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/simclr-ablate/simclr-ablate/simclr/config"
	"github.com/simclr-ablate/simclr-ablate/simclr/metrics"
)

func TestRecordEpochIdempotent(t *testing.T) {
	db, clk := openTest(t)
	ctx := context.Background()
	id := mustClaim(t, db, mustExperiment(t, db, "e"), "l", testConfig(1))
	for e := 1; e <= 3; e++ {
		clk.advance(time.Minute)
		if err := db.RecordEpoch(ctx, id, epochStats(e, 6-float64(e))); err != nil {
			t.Fatalf("RecordEpoch(%d) = %v", e, err)
		}
	}
	// A resumed run records epoch 3 again, with another loss, and epoch 4
	// whose loss is NaN.
	if err := db.RecordEpoch(ctx, id, epochStats(3, 2.75)); err != nil {
		t.Fatalf("RecordEpoch(3 again) = %v", err)
	}
	if err := db.RecordEpoch(ctx, id, epochStats(4, math.NaN())); err != nil {
		t.Fatalf("RecordEpoch(4, NaN) = %v", err)
	}
	if n, want := countRows(t, db, "metrics", "run_id = ?", id), 4*len(EpochMetricKeys); n != want {
		t.Errorf("metrics rows = %d, want %d", n, want)
	}
	d, err := db.GetRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Epochs) != 4 {
		t.Fatalf("GetRun().Epochs has %d epochs, want 4", len(d.Epochs))
	}
	wantLoss := []float64{5, 4, 2.75, math.NaN()}
	for i, e := range d.Epochs {
		if e.Epoch != i+1 || !(e.Loss == wantLoss[i] || math.IsNaN(e.Loss) && math.IsNaN(wantLoss[i])) {
			t.Errorf("Epochs[%d] = epoch %d loss %v, want epoch %d loss %v", i, e.Epoch, e.Loss, i+1, wantLoss[i])
		}
	}
	want := epochStats(2, 4)
	if got := d.Epochs[1]; !reflect.DeepEqual(got, want) {
		t.Errorf("Epochs[1] = %+v, want %+v (the stats recorded)", got, want)
	}
	if !d.HeartbeatAt.Equal(clk.now()) {
		t.Errorf("heartbeat after RecordEpoch = %v, want %v", d.HeartbeatAt, clk.now())
	}
	if err := db.RecordEpoch(ctx, id, epochStats(0, 1)); err == nil {
		t.Errorf("RecordEpoch(epoch 0) = nil error, want an error (epochs are 1-based)")
	}
}

// TestResumedAttemptReplacesKilledAttempt: an attempt killed after
// recording epochs 1-4 (its checkpoint holding epoch 1) is taken over; the
// attempt resuming from the checkpoint records epochs 2-4 and their steps
// again, and finishes. Every row of epochs 2-4 is the new attempt's; epoch
// 1, which the checkpoint carries, is the one recorded with it.
func TestResumedAttemptReplacesKilledAttempt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.db")
	killed, clk := openTestAt(t, path)
	resumed, _ := openTestAt(t, path)
	resumed.now = clk.now
	ctx := context.Background()
	expID := mustExperiment(t, killed, "e")
	cfg := testConfig(1)
	id := mustClaim(t, killed, expID, "l", cfg)
	record := func(db *DB, from int, loss float64) []metrics.EpochStats {
		t.Helper()
		var epochs []metrics.EpochStats
		for e := from; e <= 4; e++ {
			steps := []metrics.StepStats{{Epoch: e, Step: 1, Loss: loss + 0.25}, {Epoch: e, Step: 2, Loss: loss - 0.25}}
			if err := db.RecordSteps(ctx, id, steps); err != nil {
				t.Fatal(err)
			}
			st := epochStats(e, loss)
			st.ContrastiveAcc, st.KNNAcc = loss/10, &loss
			if err := db.RecordEpoch(ctx, id, st); err != nil {
				t.Fatal(err)
			}
			epochs = append(epochs, st)
		}
		return epochs
	}
	stale := record(killed, 1, 9)
	clk.advance(time.Hour)
	if _, claimed, prev, err := resumed.Claim(ctx, expID, "l", cfg, keyOf(cfg), testProv, ClaimPolicy{StaleAfter: time.Minute}); err != nil || !claimed || prev != StatusRunning {
		t.Fatalf("Claim() of the killed attempt's run = %v, %q, %v, want claimed, running", claimed, prev, err)
	}
	res := result()
	res.Epochs = append(stale[:1:1], record(resumed, 2, 4)...)
	res.FinalLoss = 4
	if err := resumed.Finish(ctx, id, res); err != nil {
		t.Fatal(err)
	}
	d, err := resumed.GetRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d.Epochs, res.Epochs) {
		t.Errorf("epochs after the resumed attempt = %+v, want %+v", d.Epochs, res.Epochs)
	}
	rows, err := resumed.db.Query(`SELECT epoch, step, value FROM metrics WHERE run_id = ? AND key = ? ORDER BY epoch, step`, id, MetricStepLoss)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var e, s int
		var v float64
		if err := rows.Scan(&e, &s, &v); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d/%d %g", e, s, v))
	}
	want := []string{"1/1 9.25", "1/2 8.75", "2/1 4.25", "2/2 3.75", "3/1 4.25", "3/2 3.75", "4/1 4.25", "4/2 3.75"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("step losses after the resumed attempt = %v, want %v", got, want)
	}
}

func TestRecordSteps(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	id := mustClaim(t, db, mustExperiment(t, db, "e"), "l", testConfig(1))
	steps := []metrics.StepStats{{Epoch: 1, Step: 1, Loss: 6}, {Epoch: 1, Step: 2, Loss: 5.5}, {Epoch: 2, Step: 1, Loss: 5}}
	for i := 0; i < 2; i++ { // twice: idempotent
		if err := db.RecordSteps(ctx, id, steps); err != nil {
			t.Fatalf("RecordSteps() = %v", err)
		}
	}
	if n := countRows(t, db, "metrics", "run_id = ? AND key = ?", id, MetricStepLoss); n != 3 {
		t.Errorf("step_loss rows = %d, want 3", n)
	}
	var v float64
	if err := db.db.QueryRow(`SELECT value FROM metrics WHERE key = 'step_loss' AND epoch = 1 AND step = 2`).Scan(&v); err != nil || v != 5.5 {
		t.Errorf("step_loss epoch 1 step 2 = %v, %v, want 5.5", v, err)
	}
}

// TestRecordPeakRSS: the figure is stored while the run is owned, read
// back by GetRun, and cleared when the run is claimed again.
func TestRecordPeakRSS(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	expID := mustExperiment(t, db, "e")
	cfg := testConfig(1)
	id := mustClaim(t, db, expID, "l", cfg)
	if err := db.RecordPeakRSS(ctx, id, 612.5); err != nil {
		t.Fatalf("RecordPeakRSS() = %v", err)
	}
	if err := db.MarkFailed(ctx, id, StatusFailed, "boom"); err != nil {
		t.Fatal(err)
	}
	d, err := db.GetRun(ctx, id)
	if err != nil || d.PeakRSSMB != 612.5 {
		t.Fatalf("GetRun().PeakRSSMB = %v, %v; want 612.5", d.PeakRSSMB, err)
	}
	if err := db.RecordPeakRSS(ctx, id, 1); !errors.Is(err, ErrClaimLost) {
		t.Errorf("RecordPeakRSS on a failed run = %v, want ErrClaimLost", err)
	}
	if again, claimed, _, err := db.Claim(ctx, expID, "l", cfg, keyOf(cfg), testProv, ClaimPolicy{RetryFailed: true}); err != nil || !claimed || again != id {
		t.Fatalf("reclaim = run %d, %v, %v; want run %d claimed", again, claimed, err, id)
	}
	if d, err = db.GetRun(ctx, id); err != nil || d.PeakRSSMB != 0 {
		t.Errorf("after a new claim PeakRSSMB = %v, %v; want 0 (not measured yet)", d.PeakRSSMB, err)
	}
}

func TestFinish(t *testing.T) {
	db, clk := openTest(t)
	ctx := context.Background()
	expID := mustExperiment(t, db, "e")
	cfg := testConfig(1)
	id := mustClaim(t, db, expID, "l", cfg)
	clk.advance(90 * time.Second)
	lin := evaluation("linear", "h", 1, 0.8, 0.79)
	lin.PerClassF1 = []float64{0.7, math.NaN()}
	res := result(lin, evaluation("finetune", "h", 0.1, 0.85, 0.84))
	if err := db.Finish(ctx, id, res); err != nil {
		t.Fatalf("Finish() = %v", err)
	}
	d, err := db.GetRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != StatusFinished || d.Duration != 90*time.Second || !d.EndedAt.Equal(clk.now()) ||
		d.DatasetChecksum != "sha256:feed" || d.PretrainTime != 25*time.Second || d.EvalTime != 7*time.Second ||
		d.FinalLoss == nil || *d.FinalLoss != 4.5 {
		t.Errorf("GetRun after Finish = status %q duration %v ended %v checksum %q pretrain %v eval %v loss %v, want finished 1m30s %v sha256:feed 25s 7s 4.5",
			d.Status, d.Duration, d.EndedAt, d.DatasetChecksum, d.PretrainTime, d.EvalTime, d.FinalLoss, clk.now())
	}
	if len(d.Epochs) != 2 {
		t.Errorf("Finish stored %d epochs, want the result's 2", len(d.Epochs))
	}
	if len(d.Evaluations) != 2 {
		t.Fatalf("GetRun().Evaluations has %d, want 2", len(d.Evaluations))
	}
	got := d.Evaluations[0]
	if !math.IsNaN(got.PerClassF1[1]) {
		t.Errorf("per-class F1 NaN read back as %v, want NaN", got.PerClassF1[1])
	}
	got.PerClassF1[1], lin.PerClassF1[1] = 0, 0
	if !reflect.DeepEqual(got, lin) {
		t.Errorf("Evaluations[0] = %+v, want %+v", got, lin)
	}
	// Finished: no further writes under this claim.
	if err := db.Finish(ctx, id, res); !errors.Is(err, ErrClaimLost) {
		t.Errorf("Finish() of a finished run = %v, want ErrClaimLost", err)
	}
	// Forced rerun: Finish replaces the evaluations.
	if _, ok, _, err := db.Claim(ctx, expID, "l", cfg, keyOf(cfg), testProv, ClaimPolicy{Force: true}); err != nil || !ok {
		t.Fatalf("Claim(Force) = %v, %v", ok, err)
	}
	// A stray evaluation left by a crashed writer is replaced too.
	if _, err := db.db.Exec(`INSERT INTO evaluations (run_id, protocol, label_fraction) VALUES (?, 'linear', 1)`, id); err != nil {
		t.Fatal(err)
	}
	if err := db.Finish(ctx, id, result(evaluation("linear", "z", 1, 0.6, 0.55))); err != nil {
		t.Fatalf("Finish() after forced claim = %v", err)
	}
	if n := countRows(t, db, "evaluations", "run_id = ?", id); n != 1 {
		t.Errorf("evaluations after the second Finish = %d, want 1", n)
	}
	rows, err := db.ListRuns(ctx, RunFilter{})
	if err != nil || len(rows) != 1 || rows[0].LinearF1 == nil || *rows[0].LinearF1 != 0.55 {
		t.Errorf("ListRuns() = %+v, %v, want one run with linear F1 0.55", rows, err)
	}
	if err := db.Finish(ctx, id, nil); err == nil {
		t.Errorf("Finish(nil) = nil error, want an error")
	}
}

func TestMarkFailed(t *testing.T) {
	db, clk := openTest(t)
	expID := mustExperiment(t, db, "e")
	id := mustClaim(t, db, expID, "l", testConfig(1))
	if err := db.MarkFailed(context.Background(), id, "crashed", "x"); err == nil || !strings.Contains(err.Error(), "failed, interrupted") {
		t.Errorf("MarkFailed(status crashed) = %v, want an error listing failed, interrupted", err)
	}
	clk.advance(3 * time.Second)
	// Interrupted is recorded because ctx was cancelled: it must still work.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := db.MarkFailed(ctx, id, StatusInterrupted, "context canceled\n"); err != nil {
		t.Fatalf("MarkFailed(cancelled ctx) = %v", err)
	}
	d, err := db.GetRun(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != StatusInterrupted || d.ErrorText != "context canceled" || d.Duration != 3*time.Second {
		t.Errorf("after MarkFailed: status %q error %q duration %v, want interrupted \"context canceled\" 3s", d.Status, d.ErrorText, d.Duration)
	}
	if err := db.MarkFailed(context.Background(), id, StatusFailed, "again"); !errors.Is(err, ErrClaimLost) {
		t.Errorf("MarkFailed() of an interrupted run = %v, want ErrClaimLost", err)
	}
	if err := db.RecordEpoch(context.Background(), id, epochStats(1, 1)); !errors.Is(err, ErrClaimLost) {
		t.Errorf("RecordEpoch() of an interrupted run = %v, want ErrClaimLost", err)
	}
	// The failed cell's first line shows in ls.
	id2 := mustClaim(t, db, expID, "l", testConfig(2))
	if err := db.MarkFailed(context.Background(), id2, StatusFailed, "training diverged at epoch 3\nstack..."); err != nil {
		t.Fatal(err)
	}
	rows, err := db.ListRuns(context.Background(), RunFilter{Status: StatusFailed})
	if err != nil || len(rows) != 1 || rows[0].Error != "training diverged at epoch 3" {
		t.Errorf("ListRuns(failed) = %+v, %v, want one run with error \"training diverged at epoch 3\"", rows, err)
	}
}

func TestFlattenConfig(t *testing.T) {
	cfg := testConfig(3, func(c *config.Config) {
		c.Augment = []string{"crop", "color"}
		c.Blocks = nil
		c.WeightDecay = 1e-6
	})
	ps, err := FlattenConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != len(configKeys) {
		t.Errorf("FlattenConfig() gave %d params, want %d (every setting)", len(ps), len(configKeys))
	}
	got := map[string]Param{}
	for _, p := range ps {
		got[p.Key] = p
	}
	num := func(f float64) *float64 { return &f }
	for _, w := range []Param{
		{"head", "nonlinear", nil},
		{"augment", `["crop","color"]`, nil},
		{"blocks", "[]", nil},
		{"augment_b", "[]", nil},
		{"batch_size", "256", num(256)},
		{"temperature", "0.5", num(0.5)},
		{"weight_decay", "1e-06", num(1e-6)},
		{"label_fraction", "[0.1]", nil},
		{"seed", "3", num(3)},
	} {
		g, ok := got[w.Key]
		if !ok || g.Value != w.Value || (g.Num == nil) != (w.Num == nil) || (g.Num != nil && *g.Num != *w.Num) {
			t.Errorf("FlattenConfig()[%s] = %+v, want %+v", w.Key, g, w)
		}
	}
}
