package main

import (
	"bytes"
	"context"
	"flag"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/simclr-ablate/simclr-ablate/internal/cli"
	"github.com/simclr-ablate/simclr-ablate/report/chart"
)

var update = flag.Bool("update", false, "rewrite testdata/report.golden.md from this build")

// run drives the command in-process and returns its exit code, stdout and
// stderr.
func run(t testing.TB, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb}
	code := execute(context.Background(), m, args...)
	return code, out.String(), errb.String()
}

// execute runs m as main does: it prints Run's error on m.Stderr and
// returns the exit code.
func execute(ctx context.Context, m *Main, args ...string) int {
	err := m.Run(ctx, args)
	cli.PrintError(m.Stderr, "report", err)
	return cli.ExitCode(err)
}

// inTempDir makes a fresh directory the working directory, so paths in
// the report (--db results.db) are the same on every machine.
func inTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	return dir
}

var imageLink = regexp.MustCompile(`!\[[^\]]*\]\(([^)]+)\)`)

func TestBuildGolden(t *testing.T) {
	dir := inTempDir(t)
	writeFixture(t, "results.db", fixtureSpecs())
	code, stdout, stderr := run(t, "build", "--db", "results.db", "--out", "out")
	if code != 0 {
		t.Fatalf("report build = exit %d, stderr %q, want 0", code, stderr)
	}
	if !strings.Contains(stdout, "out/report.md") {
		t.Errorf("report build stdout = %q, want it to name out/report.md", stdout)
	}
	got, err := os.ReadFile(filepath.Join(dir, "out", "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join(goldenDir(t), "report.golden.md")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./report -run TestBuildGolden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("report.md differs from %s (go test ./report -run TestBuildGolden -update regenerates it):\n%s", golden, firstDiff(string(got), string(want)))
	}

	// Every linked figure exists, is a PNG of the chart size and has ink;
	// every file written is linked; no temporary directory is left.
	links := imageLink.FindAllStringSubmatch(string(got), -1)
	wantFigures := []string{"seed_table-curves.png", "seed_table-confusion.png", "pairwise-pairwise.png", "heads-heads.png", "scaling-scaling.png"}
	linked := map[string]bool{}
	for _, l := range links {
		linked[l[1]] = true
		checkFigure(t, filepath.Join(dir, "out", l[1]))
	}
	for _, f := range wantFigures {
		if !linked[f] {
			t.Errorf("report.md does not link %s; links: %v", f, links)
		}
	}
	entries, err := os.ReadDir(filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "report.md" && !linked[e.Name()] {
			t.Errorf("out/ holds %s, which report.md does not link (a temporary or stale file)", e.Name())
		}
	}
	if len(entries) != len(links)+1 {
		t.Errorf("out/ holds %d files, want report.md and %d figures", len(entries), len(links))
	}

	// Deterministic: a second build gives the same bytes, figures too.
	if code, _, stderr := run(t, "build", "--db", "results.db", "--out", "out2"); code != 0 {
		t.Fatalf("second report build = exit %d, %s", code, stderr)
	}
	for _, e := range entries {
		a, _ := os.ReadFile(filepath.Join(dir, "out", e.Name()))
		b, err := os.ReadFile(filepath.Join(dir, "out2", e.Name()))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("second build: %s differs from the first (err %v)", e.Name(), err)
		}
	}
}

func goldenDir(t *testing.T) string {
	t.Helper()
	// Tests run in the package directory; inTempDir changes it, so the
	// path is fixed when the test binary starts.
	return testdataDir
}

var testdataDir = func() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return filepath.Join(wd, "testdata")
}()

// checkFigure decodes a PNG and checks its size and that at least 1.5% of
// its pixels are not the white background.
func checkFigure(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Errorf("figure: %v", err)
		return
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Errorf("png.Decode(%s) = %v", path, err)
		return
	}
	if got := img.Bounds().Size(); got != (image.Point{X: chart.Width, Y: chart.Height}) {
		t.Errorf("%s: size %v, want %dx%d", filepath.Base(path), got, chart.Width, chart.Height)
	}
	b := img.Bounds()
	ink := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r < 0xf000 || g < 0xf000 || bl < 0xf000 {
				ink++
			}
		}
	}
	if frac := float64(ink) / float64(b.Dx()*b.Dy()); frac < 0.015 {
		t.Errorf("%s: %.4f of the pixels are not background, want at least 0.015", filepath.Base(path), frac)
	}
	if dir := os.Getenv("REPORT_FIGURES"); dir != "" { // to look at them
		data, _ := os.ReadFile(path)
		os.WriteFile(filepath.Join(dir, filepath.Base(path)), data, 0o644)
	}
}

// firstDiff shows the first differing line of two texts.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + strconv.Itoa(i+1) + ":\n got: " + gl + "\nwant: " + wl
		}
	}
	return "(same lines, different bytes)"
}

// dirEntries lists dir, or nil when it does not exist, leaving out the
// -wal and -shm files SQLite keeps beside a WAL database (opening one,
// even read-only, may create them).
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		if n := e.Name(); !strings.HasSuffix(n, ".db-wal") && !strings.HasSuffix(n, ".db-shm") {
			out = append(out, n)
		}
	}
	return out
}

// setUserVersion writes an SQLite file's user_version (the big-endian
// 32-bit integer at offset 60 of the header) directly, as a newer build's
// migration would leave it.
func setUserVersion(t *testing.T, path string, v uint32) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}, 60); err != nil {
		t.Fatal(err)
	}
}

func TestBuildBadInput(t *testing.T) {
	onlyFailed := []expSpec{{
		name: "broken", grid: "experiments/broken.toml", seeds: []int64{1, 2}, prov: labProv,
		cells: []cellSpec{
			{label: "crop+color", cfg: base(), acc: 0.8, fates: map[int64]string{1: failed, 2: interrupted}},
		},
	}}
	tests := []struct {
		name    string
		setup   func(t *testing.T) // prepares results.db in the working directory
		args    []string
		code    int
		message string // in stderr
	}{
		{
			name: "missing database", args: []string{"build", "--db", "nope/results.db", "--out", "out"},
			code: 2, message: "no such results database",
		},
		{
			name:  "empty database",
			setup: func(t *testing.T) { writeFixture(t, "results.db", nil) },
			args:  []string{"build", "--db", "results.db", "--out", "out"}, code: 2, message: "no runs to report",
		},
		{
			name:  "only failed runs",
			setup: func(t *testing.T) { writeFixture(t, "results.db", onlyFailed) },
			args:  []string{"build", "--db", "results.db", "--out", "out"}, code: 1,
			message: "no finished run to report: 2 runs, 1 failed, 1 interrupted",
		},
		{
			name: "newer schema",
			setup: func(t *testing.T) {
				writeFixture(t, "results.db", fixtureSpecs()[:1])
				setUserVersion(t, "results.db", 99)
			},
			args: []string{"build", "--db", "results.db", "--out", "out"}, code: 2, message: "schema version 99, this build knows up to ",
		},
		{
			name:  "unknown experiment",
			setup: func(t *testing.T) { writeFixture(t, "results.db", onlyFailed) },
			args:  []string{"build", "--db", "results.db", "--out", "out", "--experiment", "nope"}, code: 2,
			message: `experiment "nope": not found (known: broken)`,
		},
		{
			name: "unknown flag", args: []string{"build", "--dbb", "results.db", "--out", "out"},
			code: 2, message: "flag provided but not defined: -dbb",
		},
		{
			name: "stray argument", args: []string{"build", "results.db", "--out", "out"},
			code: 2, message: `unexpected argument "results.db"`,
		},
		{
			name: "empty experiment flag", args: []string{"build", "--experiment", "", "--out", "out"},
			code: 2, message: "empty value",
		},
		{
			name: "unknown command", args: []string{"bild"},
			code: 2, message: `unknown command "bild"`,
		},
		{
			name: "out is a file",
			setup: func(t *testing.T) {
				writeFixture(t, "results.db", fixtureSpecs()[:1])
				if err := os.WriteFile("out", []byte("x"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			args: []string{"build", "--db", "results.db", "--out", "out"}, code: 2, message: "is a file, not a directory",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inTempDir(t)
			if tt.setup != nil {
				tt.setup(t)
			}
			before := dirEntries(t, ".")
			code, _, stderr := run(t, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.message) {
				t.Errorf("report %s = exit %d, stderr %q, want exit %d and %q", strings.Join(tt.args, " "), code, stderr, tt.code, tt.message)
			}
			if strings.Contains(stderr, "panic") || strings.Count(stderr, "\n") != 1 {
				t.Errorf("report %s: stderr %q, want one line of message", strings.Join(tt.args, " "), stderr)
			}
			if after := dirEntries(t, "."); strings.Join(after, ",") != strings.Join(before, ",") {
				t.Errorf("report %s left files: before %v, after %v (want no new or partial file)", strings.Join(tt.args, " "), before, after)
			}
		})
	}
}

// A failure while moving the files into place (here report.md is a
// directory) must come before any file is replaced.
func TestBuildNoPartialFiles(t *testing.T) {
	inTempDir(t)
	writeFixture(t, "results.db", fixtureSpecs()[:1])
	if err := os.MkdirAll(filepath.Join("out", "report.md"), 0o755); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := run(t, "build", "--db", "results.db", "--out", "out")
	if code != 1 || !strings.Contains(stderr, "report.md") {
		t.Errorf("report build with out/report.md a directory = exit %d, %q, want 1 and a message naming report.md", code, stderr)
	}
	if got := dirEntries(t, "out"); len(got) != 1 || got[0] != "report.md" {
		t.Errorf("out/ after the failed build = %v, want only the report.md directory (no figure, no temporary directory)", got)
	}
}

func TestBuildSelectsExperiments(t *testing.T) {
	dir := inTempDir(t)
	writeFixture(t, "results.db", fixtureSpecs())
	code, _, stderr := run(t, "build", "--db", "results.db", "--out", "out", "--experiment", "heads", "--experiment", "pairwise")
	if code != 0 {
		t.Fatalf("report build --experiment heads --experiment pairwise = exit %d, %s", code, stderr)
	}
	md, err := os.ReadFile(filepath.Join(dir, "out", "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(md)
	for _, want := range []string{"## Experiment heads", "## Experiment pairwise", "- **Experiments:** 2: `heads`, `pairwise`"} {
		if !strings.Contains(s, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	for _, not := range []string{"## Experiment seed_table", "## Experiment scaling", "scaling-scaling.png"} {
		if strings.Contains(s, not) {
			t.Errorf("report.md has %q, an experiment not selected", not)
		}
	}
	if i, j := strings.Index(s, "## Experiment heads"), strings.Index(s, "## Experiment pairwise"); i > j {
		t.Errorf("experiments not in the order given: heads at %d, pairwise at %d", i, j)
	}
	if !strings.Contains(s, "| F1 rises with batch size; F1 rises with training length | —          | not tested |") {
		t.Errorf("report.md does not say Finding 3 is not tested when no selected experiment varies batch or epochs")
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"build", "-h"}, {"query", "-h"}, {"help"}} {
		code, stdout, stderr := run(t, args...)
		if code != 0 || !strings.Contains(stdout, "Usage:") || stderr != "" {
			t.Errorf("report %s = exit %d, stdout %q, stderr %q, want 0 and usage on stdout", strings.Join(args, " "), code, stdout, stderr)
		}
	}
	if code, _, stderr := run(t); code != 2 || !strings.Contains(stderr, "Usage:") {
		t.Errorf("report (no arguments) = exit %d, stderr %q, want 2 and usage", code, stderr)
	}
}

// An experiment whose runs all failed, beside one that finished, gets its
// section: rows marked not finished and its failures listed.
func TestBuildFailedExperimentListed(t *testing.T) {
	dir := inTempDir(t)
	broken := expSpec{
		name: "broken", grid: "experiments/broken.toml", seeds: []int64{1, 2}, prov: labProv,
		cells: []cellSpec{{label: "crop | color", cfg: base(), acc: 0.8, fates: map[int64]string{1: failed, 2: interrupted}}},
	}
	writeFixture(t, "results.db", append(fixtureSpecs()[2:3], broken))
	if code, _, stderr := run(t, "build", "--db", "results.db", "--out", "."); code != 0 {
		t.Fatalf("report build = exit %d, %s", code, stderr)
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(md)
	for _, want := range []string{
		"## Experiment broken",
		"No finished run of this experiment has an evaluation yet.",
		`|   1 | crop \| color | SimCLR resnet-small, nonlinear head 32-d | crop + color      | — (not finished) | —        | 0/2 finished (1 failed, 1 interrupted) |`,
		`|  13 | crop \| color |    1 | failed      |       1 | 2024-05-01 11:51 UTC | training diverged at epoch 3 step 17: loss = NaN |`,
		`|  14 | crop \| color |    2 | interrupted |       1 | 2024-05-01 11:55 UTC | interrupted: context canceled                    |`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
}
