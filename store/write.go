package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/simclr-ablate/simclr-ablate/simclr/metrics"
)

// Metric keys of the per-epoch rows (step 0) RecordEpoch writes, one per
// metrics.EpochStats field, and of the per-step rows RecordSteps writes.
const (
	MetricLoss           = "loss"
	MetricLR             = "lr"
	MetricImagesPerSec   = "images_per_s"
	MetricContrastiveAcc = "contrastive_acc"
	MetricPositiveCos    = "positive_cos"
	MetricEpochSeconds   = "epoch_seconds"
	MetricSteps          = "steps"
	MetricStepLoss       = "step_loss"
	// MetricKNNAcc is the kNN monitor's accuracy (EpochStats.KNNAcc), a
	// per-epoch row only when the monitor ran.
	MetricKNNAcc = "knn_acc"
)

// EpochMetricKeys lists the per-epoch metric keys every epoch has, in
// display order; MetricKNNAcc follows them when the monitor ran.
var EpochMetricKeys = []string{MetricLoss, MetricLR, MetricImagesPerSec, MetricContrastiveAcc, MetricPositiveCos, MetricEpochSeconds, MetricSteps}

func epochValues(e metrics.EpochStats) []float64 {
	return []float64{e.Loss, e.LR, e.ImagesPerSec, e.ContrastiveAcc, e.PositiveCos, e.Duration.Seconds(), float64(e.Steps)}
}

const upsertMetric = `
	INSERT INTO metrics (run_id, key, epoch, step, value, time) VALUES (?, ?, ?, ?, ?, ?)
	ON CONFLICT (run_id, key, epoch, step) DO UPDATE SET value = excluded.value, time = excluded.time`

// RecordEpoch stores one epoch's statistics (the EpochMetricKeys, and
// MetricKNNAcc when set; step 0)
// and refreshes the heartbeat, in one transaction. It is idempotent per
// (run, key, epoch): a resumed run that records epoch 3 again replaces the
// earlier values. NaN is stored as NULL. ErrClaimLost when the run is no
// longer running under this DB's claim.
func (db *DB) RecordEpoch(ctx context.Context, runID int64, e metrics.EpochStats) error {
	return db.ownedWrite(ctx, "record epoch", runID, func(tx *sql.Tx, ts string) error {
		return insertEpochs(ctx, tx, runID, []metrics.EpochStats{e}, ts)
	})
}

// RecordSteps stores per-step losses (key step_loss, with the epoch and the
// step as StepStats give them) and refreshes the heartbeat, in one
// transaction; a runner buffers an epoch's steps and calls it once.
// Idempotent per (run, epoch, step).
func (db *DB) RecordSteps(ctx context.Context, runID int64, steps []metrics.StepStats) error {
	return db.ownedWrite(ctx, "record steps", runID, func(tx *sql.Tx, ts string) error {
		stmt, err := tx.PrepareContext(ctx, upsertMetric)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, s := range steps {
			if _, err := stmt.ExecContext(ctx, runID, MetricStepLoss, s.Epoch, s.Step, nullFloat(s.Loss), ts); err != nil {
				return fmt.Errorf("epoch %d step %d: %w", s.Epoch, s.Step, err)
			}
		}
		return nil
	})
}

func insertEpochs(ctx context.Context, tx *sql.Tx, runID int64, epochs []metrics.EpochStats, ts string) error {
	stmt, err := tx.PrepareContext(ctx, upsertMetric)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, e := range epochs {
		if e.Epoch < 1 {
			return fmt.Errorf("epoch %d: epochs are numbered from 1", e.Epoch)
		}
		keys, values := EpochMetricKeys, epochValues(e)
		if e.KNNAcc != nil {
			keys, values = append(keys[:len(keys):len(keys)], MetricKNNAcc), append(values, *e.KNNAcc)
		}
		for i, v := range values {
			if _, err := stmt.ExecContext(ctx, runID, keys[i], e.Epoch, 0, nullFloat(v), ts); err != nil {
				return fmt.Errorf("epoch %d %s: %w", e.Epoch, keys[i], err)
			}
		}
	}
	return nil
}

// ownedWrite runs fn in one transaction after refreshing the heartbeat of
// a run this DB still owns (running, and at the attempt it claimed).
func (db *DB) ownedWrite(ctx context.Context, op string, runID int64, fn func(tx *sql.Tx, ts string) error) error {
	if err := db.writable(op); err != nil {
		return err
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s run %d in %s: %w", op, runID, db.path, err)
	}
	defer tx.Rollback()
	ts := formatTime(db.now())
	own := db.ownAttempt(runID)
	res, err := tx.ExecContext(ctx, `UPDATE runs SET heartbeat_at = ? WHERE id = ?`+ownedClause, ts, runID, own, own)
	if err != nil {
		return fmt.Errorf("%s run %d in %s: %w", op, runID, db.path, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return db.whyNotOwned(ctx, tx, op, runID)
	}
	if err := fn(tx, ts); err != nil {
		return fmt.Errorf("%s run %d in %s: %w", op, runID, db.path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s run %d in %s: %w", op, runID, db.path, err)
	}
	return nil
}

// RecordPeakRSS stores the peak resident memory (MB) of the process while
// the run's attempt ran; the runner calls it before Finish or MarkFailed.
func (db *DB) RecordPeakRSS(ctx context.Context, runID int64, mb float64) error {
	return db.ownedWrite(ctx, "record peak RSS", runID, func(tx *sql.Tx, _ string) error {
		_, err := tx.ExecContext(ctx, `UPDATE runs SET peak_rss_mb = ? WHERE id = ?`, mb, runID)
		return err
	})
}

// Finish records a run's result in one transaction: the epochs of res
// (upserted, as RecordEpoch), its evaluations (replacing any earlier ones
// of this run), final loss, pretrain and eval times, dataset checksum,
// status finished, ended_at and duration (since this attempt started).
// ErrClaimLost when the run is no longer running under this DB's claim.
func (db *DB) Finish(ctx context.Context, runID int64, res *metrics.Result) error {
	if res == nil {
		return fmt.Errorf("finish run %d: nil result", runID)
	}
	return db.ownedWrite(ctx, "finish", runID, func(tx *sql.Tx, ts string) error {
		if err := insertEpochs(ctx, tx, runID, res.Epochs, ts); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM evaluations WHERE run_id = ?`, runID); err != nil {
			return err
		}
		if err := insertEvaluations(ctx, tx, runID, res.Evaluations); err != nil {
			return err
		}
		dur, err := sinceStart(ctx, tx, runID, db.now())
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `
			UPDATE runs SET status = 'finished', ended_at = ?, duration_s = ?, final_loss = ?,
				pretrain_s = ?, eval_s = ?, dataset_checksum = ?, error = NULL
			 WHERE id = ?`,
			ts, dur, nullFloat(res.FinalLoss), res.PretrainTime.Seconds(), res.EvalTime.Seconds(),
			res.DatasetChecksum, runID)
		return err
	})
}

func insertEvaluations(ctx context.Context, tx *sql.Tx, runID int64, evals []metrics.Evaluation) error {
	stmt, err := tx.PrepareContext(ctx, `
		INSERT INTO evaluations (run_id, protocol, features, label_fraction, train_size, test_size,
			accuracy, macro_f1, per_class_f1, confusion, classes, seconds)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for i, ev := range evals {
		perClass, err := json.Marshal(finiteOrNil(ev.PerClassF1))
		if err != nil {
			return fmt.Errorf("evaluation %d per-class F1: %w", i, err)
		}
		confusion, err := json.Marshal(orEmpty(ev.Confusion))
		if err != nil {
			return fmt.Errorf("evaluation %d confusion: %w", i, err)
		}
		classes, err := json.Marshal(orEmpty(ev.Classes))
		if err != nil {
			return fmt.Errorf("evaluation %d classes: %w", i, err)
		}
		if _, err := stmt.ExecContext(ctx, runID, ev.Protocol, ev.Features, ev.LabelFraction, ev.TrainSize, ev.TestSize,
			nullFloat(ev.Accuracy), nullFloat(ev.MacroF1), string(perClass), string(confusion), string(classes),
			float64(ev.Duration)); err != nil {
			return fmt.Errorf("evaluation %d (%s): %w", i, ev.Protocol, err)
		}
	}
	return nil
}

// finiteOrNil turns a float list into JSON-marshalable values: NaN and
// infinities (which JSON lacks) become null.
func finiteOrNil(xs []float64) []*float64 {
	out := make([]*float64, len(xs))
	for i := range xs {
		if !math.IsNaN(xs[i]) && !math.IsInf(xs[i], 0) {
			out[i] = &xs[i]
		}
	}
	return out
}

func orEmpty[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}

// sinceStart is the time from the run's started_at to now, in seconds, or
// nil when started_at is unset.
func sinceStart(ctx context.Context, tx *sql.Tx, runID int64, now time.Time) (any, error) {
	var started sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT started_at FROM runs WHERE id = ?`, runID).Scan(&started); err != nil {
		return nil, err
	}
	t, err := parseTime(started)
	if err != nil || t.IsZero() {
		return nil, err
	}
	return now.Sub(t).Seconds(), nil
}

// markTimeout bounds MarkFailed, which runs even when ctx is cancelled.
const markTimeout = 10 * time.Second

// MarkFailed sets a running run's status to failed or interrupted with the
// error text, ended_at and duration. It ignores ctx's cancellation (an
// interrupted run is usually marked because ctx was cancelled) but keeps
// its values, within a 10 s bound. ErrClaimLost when the run is no longer
// running under this DB's claim.
func (db *DB) MarkFailed(ctx context.Context, runID int64, status, errText string) error {
	if status != StatusFailed && status != StatusInterrupted {
		return fmt.Errorf("mark run %d: status %q is not one of failed, interrupted", runID, status)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
	defer cancel()
	return db.ownedWrite(ctx, "mark "+status, runID, func(tx *sql.Tx, ts string) error {
		dur, err := sinceStart(ctx, tx, runID, db.now())
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE runs SET status = ?, error = ?, ended_at = ?, duration_s = ? WHERE id = ?`,
			status, strings.TrimRight(errText, "\n"), ts, dur, runID)
		return err
	})
}
