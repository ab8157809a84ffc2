package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/simclr-ablate/simclr-ablate/internal/cli"
	"github.com/simclr-ablate/simclr-ablate/runner/grid"
	"github.com/simclr-ablate/simclr-ablate/simclr"
	"github.com/simclr-ablate/simclr-ablate/store"
)

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range []string{binDir, benchDBDir} {
		if d != "" {
			os.RemoveAll(d)
		}
	}
	os.Exit(code)
}

// runnerBinary builds the runner once per test binary, for the subprocess
// tests (signals, crashes, two processes), with the test binary's build
// tags: a subprocess must train exactly as the in-process runs it is
// compared with (with -tags openblas the convolutions multiply with
// OpenBLAS, whose sums round differently from the pure-Go GEMM's).
func runnerBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "runner-bin-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "runner")
		args := []string{"build", "-o", binPath}
		if tags := buildTags(); tags != "" {
			args = append(args, "-tags", tags)
		}
		out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatalf("build runner: %v", binErr)
	}
	return binPath
}

// buildTags returns the -tags the test binary was built with ("" for none).
func buildTags() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, s := range bi.Settings {
		if s.Key == "-tags" {
			return s.Value
		}
	}
	return ""
}

// syncBuffer is a bytes.Buffer safe for the concurrent writers of a run.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runMain runs the program in-process and returns its exit code, stdout
// and stderr.
func runMain(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runMainCtx(t, context.Background(), args...)
}

func runMainCtx(t *testing.T, ctx context.Context, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb syncBuffer
	m := &Main{Stdout: &out, Stderr: &errb, Terminal: func() bool { return false }}
	code = execute(ctx, m, args...)
	return code, out.String(), errb.String()
}

// execute runs m as main does: it prints Run's error on m.Stderr and
// returns the exit code.
func execute(ctx context.Context, m *Main, args ...string) int {
	err := m.Run(ctx, args)
	cli.PrintError(m.Stderr, "runner", err)
	return cli.ExitCode(err)
}

// mustRun runs the program in-process and fails the test unless it exits
// with want.
func mustRun(t *testing.T, want int, args ...string) (stdout, stderr string) {
	t.Helper()
	code, stdout, stderr := runMain(t, args...)
	if code != want {
		t.Fatalf("runner %s = exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, stdout, stderr)
	}
	return stdout, stderr
}

// loadGrid reads a test grid the way run does.
func loadGrid(t *testing.T, path string, set ...string) *grid.Grid {
	t.Helper()
	g, err := grid.Load(path, grid.Options{Set: set})
	if err != nil {
		t.Fatalf("grid.Load(%s) = %v", path, err)
	}
	return g
}

// listRuns returns every run in the database at path, by id.
func listRuns(t *testing.T, path string) []store.RunRow {
	t.Helper()
	db, err := store.OpenReadOnly(path)
	if err != nil {
		t.Fatalf("OpenReadOnly(%s) = %v", path, err)
	}
	defer db.Close()
	runs, err := db.ListRuns(context.Background(), store.RunFilter{})
	if err != nil {
		t.Fatalf("ListRuns = %v", err)
	}
	out := make([]store.RunRow, len(runs))
	for i, r := range runs {
		out[len(runs)-1-i] = r
	}
	return out
}

// getRun returns the details of run id in the database at path.
func getRun(t *testing.T, path string, id int64) *store.RunDetail {
	t.Helper()
	db, err := store.OpenReadOnly(path)
	if err != nil {
		t.Fatalf("OpenReadOnly(%s) = %v", path, err)
	}
	defer db.Close()
	d, err := db.GetRun(context.Background(), id)
	if err != nil {
		t.Fatalf("GetRun(%d) = %v", id, err)
	}
	return d
}

// runsByLabel maps label -> run.
func runsByLabel(runs []store.RunRow) map[string]store.RunRow {
	m := map[string]store.RunRow{}
	for _, r := range runs {
		m[r.Label] = r
	}
	return m
}

// sqlCount runs a counting query on the database file with plain SQL
// (for checks the store does not offer: integrity, duplicates).
func sqlCount(t *testing.T, path, query string, args ...any) int {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// checkIntegrity fails the test unless PRAGMA integrity_check says ok.
func checkIntegrity(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
		t.Errorf("PRAGMA integrity_check on %s = %q, %v, want ok", path, res, err)
	}
}

// proc is a runner started as a subprocess; its stderr lines are
// collected as they come.
type proc struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	mu     sync.Mutex
	lines  []string
	more   chan struct{} // signalled on every new line
	done   chan struct{} // closed when stderr is drained
	code   int
}

// startRunner starts the runner binary with args.
func startRunner(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(runnerBinary(t), args...), more: make(chan struct{}, 1), done: make(chan struct{})}
	p.cmd.Stdout = &p.stdout
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start runner: %v", err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
			select {
			case p.more <- struct{}{}:
			default:
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	return p
}

// waitLine waits until a stderr line matches re and returns it.
func (p *proc) waitLine(t *testing.T, re string) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(60 * time.Second)
	seen := 0
	for {
		p.mu.Lock()
		lines := p.lines[seen:]
		seen = len(p.lines)
		p.mu.Unlock()
		for _, l := range lines {
			if rx.MatchString(l) {
				return l
			}
		}
		select {
		case <-p.more:
		case <-p.done:
			p.mu.Lock()
			n := len(p.lines)
			p.mu.Unlock()
			if n == seen {
				t.Fatalf("runner exited before a line matched %q; stderr:\n%s", re, p.stderr())
			}
		case <-deadline:
			t.Fatalf("no line matched %q within 60s; stderr:\n%s", re, p.stderr())
		}
	}
}

func (p *proc) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// wait waits for the process and returns its exit code (-1 when killed
// by a signal).
func (p *proc) wait(t *testing.T) int {
	t.Helper()
	<-p.done
	err := p.cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("wait runner: %v", err)
	}
	return p.cmd.ProcessState.ExitCode()
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill runner: %v", err)
	}
	if code := p.wait(t); code != -1 {
		t.Fatalf("runner killed with SIGKILL exited %d, want -1 (signalled)", code)
	}
}

// waitCheckpoint waits until the cell's checkpoint directory holds a
// completed checkpoint file (not a temporary one being written).
func waitCheckpoint(t *testing.T, dir string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if hasCheckpoint(dir) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no checkpoint appeared in %s within 60s", dir)
}

func hasCheckpoint(dir string) bool {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !e.IsDir() && !strings.Contains(e.Name(), "tmp") {
			return true
		}
	}
	return false
}

// checkpointDir is where run keeps the cell's checkpoint for the database
// at dbPath.
func checkpointDir(dbPath string, g *grid.Grid, c grid.Cell) string {
	return filepath.Join(filepath.Dir(dbPath), "checkpoints", g.Name, fmt.Sprintf("%s-s%d", c.Hash, c.Config.Seed))
}

// evalKey names an evaluation of a run for comparisons.
func evalKey(e simclr.Evaluation) string {
	return fmt.Sprintf("%s/%s/%g", e.Protocol, e.Features, e.LabelFraction)
}
