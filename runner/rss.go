package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// Peak resident memory of the process, from Linux's /proc/self: VmHWM is
// the high-water mark of the resident set, and writing 5 to clear_refs
// resets it to the current RSS (proc(5)), so that with one cell at a time
// the mark after a cell is that cell's peak. Elsewhere both do nothing.

// resetPeakRSS starts a new high-water mark; it reports whether it could.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// peakRSS returns VmHWM in MB, or 0 when it cannot be read.
func peakRSS() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		v, ok := strings.CutPrefix(s.Text(), "VmHWM:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
		if err != nil {
			return 0
		}
		return kb / 1024
	}
	return 0
}
