package main

import (
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// TestRunReleasesMemoryOnlyAlone: with one cell at a time every cell
// collects its garbage at simclr's three release points (so that its
// peak_rss_mb is its own); with several at once none does, so as not to
// stall the siblings.
func TestRunReleasesMemoryOnlyAlone(t *testing.T) {
	var (
		mu    sync.Mutex
		calls []bool
	)
	saved := releaseMemory
	releaseMemory = func(returnPages bool) {
		mu.Lock()
		calls = append(calls, returnPages)
		mu.Unlock()
	}
	t.Cleanup(func() { releaseMemory = saved })

	for _, tt := range []struct {
		jobs int
		want int // calls
	}{
		{1, 3 * 3}, // three cells, three points each
		{2, 0},
	} {
		calls = nil
		db := filepath.Join(t.TempDir(), "results.db")
		mustRun(t, 0, "run", "testdata/tiny.toml", "--db", db, "--set", "epochs=1", "-j", strconv.Itoa(tt.jobs))
		mu.Lock()
		got := calls
		mu.Unlock()
		if len(got) != tt.want {
			t.Errorf("run -j %d: releaseMemory called %d times (%v), want %d", tt.jobs, len(got), got, tt.want)
			continue
		}
		for i, returnPages := range got {
			if want := i%3 != 2; returnPages != want {
				t.Errorf("run -j %d: call %d releaseMemory(%t), want %t (true, true, false a cell)", tt.jobs, i, returnPages, want)
			}
		}
	}
}
