package store

import (
	"context"
	"fmt"
)

// InterruptOrphans marks interrupted every run of the experiment that is
// still running in the file, and returns how many. It is for a file with
// one writer, a shard of a cluster run: a row left running there belongs
// to an earlier task of the same shard that was killed (preempted,
// requeued, out of time) without marking it, and the requeued task
// resumes it (ClaimPolicy.RetryFailed) from its checkpoint at once
// instead of waiting for its heartbeat to go stale. The heartbeat is kept
// as ended_at: the last time the killed task was seen.
func (db *DB) InterruptOrphans(ctx context.Context, expID int64, reason string) (int, error) {
	if err := db.writable("interrupt orphaned runs"); err != nil {
		return 0, err
	}
	res, err := db.db.ExecContext(ctx, `
		UPDATE runs SET status = 'interrupted', error = ?,
			ended_at = COALESCE(heartbeat_at, started_at),
			duration_s = (julianday(COALESCE(heartbeat_at, started_at)) - julianday(started_at)) * 86400
		 WHERE experiment_id = ? AND status = 'running'`, reason, expID)
	if err != nil {
		return 0, fmt.Errorf("interrupt orphaned runs in %s: %w", db.path, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
