package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/simclr-ablate/simclr-ablate/simclr/config"
	"github.com/simclr-ablate/simclr-ablate/simclr/metrics"
	"github.com/simclr-ablate/simclr-ablate/store"
)

// startServe runs `report serve args...` in-process until the test ends
// and returns the URL it printed.
func startServe(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var errb bytes.Buffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: pw, Stderr: &errb}
	done := make(chan int, 1)
	go func() {
		code := execute(ctx, m, append([]string{"serve"}, args...)...)
		pw.Close()
		done <- code
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("report serve exited %d after cancel, want 0; stderr %q", code, errb.String())
			}
		case <-time.After(10 * time.Second):
			t.Errorf("report serve did not stop within 10 s of cancel")
		}
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		io.Copy(io.Discard, pr)
	}()
	select {
	case line, ok := <-lines:
		if !ok {
			t.Fatalf("report serve printed nothing; stderr %q", errb.String())
		}
		m := serveLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("report serve printed %q, want %q", line, serveLine)
		}
		if m[1] != args[1] {
			t.Errorf("report serve names %q, want the --db %q", m[1], args[1])
		}
		return m[2]
	case <-time.After(20 * time.Second):
		t.Fatalf("report serve printed no line within 20 s; stderr %q", errb.String())
	}
	return ""
}

var serveLine = regexp.MustCompile(`^serving (\S+) read-only on (http://127\.0\.0\.1:\d+) \(loopback only\)$`)

func fetch(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

var listedRun = regexp.MustCompile(`<tr data-id="(\d+)"`)

func listed(body string) []string {
	var out []string
	for _, m := range listedRun.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestServeReadOnly browses every kind of page and checks that the
// database file is byte for byte the same afterwards.
func TestServeReadOnly(t *testing.T) {
	inTempDir(t)
	writeFixture(t, "results.db", fixtureSpecs())
	before := fileHash(t, "results.db")
	url := startServe(t, "--db", "results.db", "--addr", "127.0.0.1:0")

	db, err := store.OpenReadOnly("results.db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	runs, err := db.ListRuns(context.Background(), store.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	status, body := fetch(t, url+"/")
	if status != 200 || len(listed(body)) != len(runs) {
		t.Fatalf("GET /: status %d, %d runs listed, want 200 and the %d runs", status, len(listed(body)), len(runs))
	}
	a, b := strconv.FormatInt(runs[0].ID, 10), strconv.FormatInt(runs[1].ID, 10)
	for _, path := range []string{"/?experiment=heads&sort=linear_f1&desc=1", "/runs/" + a, "/runs/" + a + "/curves.png",
		"/runs/" + a + "/confusion.png", "/compare?id=" + a + "&id=" + b, "/compare/curves.png?id=" + a + "&id=" + b} {
		if status, body := fetch(t, url+path); status != 200 && status != 404 {
			t.Errorf("GET %s: status %d: %.200s", path, status, body)
		}
	}
	if after := fileHash(t, "results.db"); after != before {
		t.Errorf("results.db changed while served")
	}
	if fi, err := os.Stat("results.db-wal"); err == nil && fi.Size() != 0 {
		t.Errorf("results.db-wal has %d bytes after serving, want none written", fi.Size())
	}
}

// TestServeSeesNewRuns writes a run with store while the server runs:
// the reloaded list shows it, and its page opens.
func TestServeSeesNewRuns(t *testing.T) {
	inTempDir(t)
	writeFixture(t, "results.db", fixtureSpecs())
	url := startServe(t, "--db", "results.db", "--addr", "127.0.0.1:0")
	_, body := fetch(t, url+"/")
	n := len(listed(body))

	w, err := store.Open("results.db")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx := context.Background()
	expID, err := w.EnsureExperiment(ctx, "late", "written while the page is served", "experiments/late.toml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := base(func(c *config.Config) { c.Seed = 7 })
	id, claimed, _, err := w.Claim(ctx, expID, "late arrival", cfg, store.CellKey{Seed: 7}, labProv, store.ClaimPolicy{})
	if err != nil || !claimed {
		t.Fatalf("Claim = %v, %v", claimed, err)
	}
	if err := w.RecordEpoch(ctx, id, metrics.EpochStats{Epoch: 1, Epochs: cfg.Epochs, Loss: 5.1, ContrastiveAcc: 0.2}); err != nil {
		t.Fatal(err)
	}

	_, body = fetch(t, url+"/")
	got := listed(body)
	if len(got) != n+1 || got[0] != strconv.FormatInt(id, 10) {
		t.Fatalf("after a new run: %d runs listed, first %v, want %d with run %d first (newest)", len(got), got[:1], n+1, id)
	}
	status, body := fetch(t, url+"/runs/"+strconv.FormatInt(id, 10))
	if status != 200 || !strings.Contains(body, "late arrival") || !strings.Contains(body, "running") {
		t.Errorf("GET /runs/%d: status %d, want the running run's page", id, status)
	}
	// It finishes: the reload shows its score.
	ev := metrics.Evaluation{Protocol: "linear", Features: "h", LabelFraction: 1, TrainSize: 10, TestSize: 10, Accuracy: 0.5, MacroF1: 0.4321,
		PerClassF1: []float64{0.4, 0.5}, Confusion: [][]int{{3, 2}, {3, 2}}, Classes: []string{"a", "b"}}
	if err := w.Finish(ctx, id, &metrics.Result{FinalLoss: 5.1, Evaluations: []metrics.Evaluation{ev}}); err != nil {
		t.Fatal(err)
	}
	if _, body := fetch(t, url+"/?experiment=late"); !strings.Contains(body, "0.432") || !strings.Contains(body, "finished") {
		t.Errorf("GET /?experiment=late after Finish lacks the score 0.432 and the status finished")
	}
}

func TestServeBadInput(t *testing.T) {
	inTempDir(t)
	writeFixture(t, "results.db", fixtureSpecs()[:1])
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--addr", "8080"}, 2, `--addr "8080" is not HOST:PORT`},
		{[]string{"--addr", "127.0.0.1:99999"}, 2, `port "99999" is not a number from 0 to 65535`},
		{[]string{"--db", "missing.db"}, 2, "no such results database"},
		{[]string{"extra"}, 2, `unexpected argument "extra"`},
		{[]string{"--nope"}, 2, "flag provided but not defined"},
		{[]string{"--addr", busy.Addr().String()}, 1, "address already in use"},
	}
	for _, tt := range tests {
		code, stdout, stderr := run(t, append([]string{"serve", "--db", "results.db"}, tt.args...)...)
		if code != tt.code || !strings.Contains(stderr, tt.msg) || strings.Contains(stdout, "serving") {
			t.Errorf("report serve %v = exit %d, stdout %q, stderr %q; want exit %d and %q", tt.args, code, stdout, stderr, tt.code, tt.msg)
		}
	}
	code, stdout, _ := run(t, "serve", "-h")
	if code != 0 || !strings.Contains(stdout, "--addr 0.0.0.0:8080") || !strings.Contains(stdout, "-addr string") {
		t.Errorf("report serve -h = exit %d, %q; want the usage with the address advice", code, stdout)
	}
}

func TestDescribeAddr(t *testing.T) {
	tests := []struct {
		host  string
		ip    string
		url   string
		where string
	}{
		{"127.0.0.1", "127.0.0.1", "http://127.0.0.1:8080", "loopback only"},
		{"localhost", "127.0.0.1", "http://127.0.0.1:8080", "loopback only"},
		{"::1", "::1", "http://[::1]:8080", "loopback only"},
		{"", "::", "http://0.0.0.0:8080", "every network interface"},
		{"0.0.0.0", "0.0.0.0", "http://0.0.0.0:8080", "every network interface"},
		{"::", "::", "http://[::]:8080", "every network interface"},
		{"192.168.1.5", "192.168.1.5", "http://192.168.1.5:8080", "reachable from the network"},
	}
	for _, tt := range tests {
		url, where := describeAddr(tt.host, &net.TCPAddr{IP: net.ParseIP(tt.ip), Port: 8080})
		if url != tt.url || !strings.HasPrefix(where, tt.where) {
			t.Errorf("describeAddr(%q, %s) = %q, %q, want %q, %q…", tt.host, tt.ip, url, where, tt.url, tt.where)
		}
		if !strings.Contains(where, "loopback") && !strings.Contains(where, "no login") {
			t.Errorf("describeAddr(%q, %s) = %q: a network address must warn there is no login", tt.host, tt.ip, where)
		}
	}
}
