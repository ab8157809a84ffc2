package serve

import (
	"context"
	"flag"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/simclr-ablate/simclr-ablate/store"
)

var screenshots = flag.String("screenshots", "", "directory to write PNG screenshots of the pages TestBrowser loads")

// browserNames are the executables TestBrowser looks for, in order.
var browserNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"}

// TestBrowser loads the pages in a headless Chromium and does what a user
// does: sorts by a column, filters with the drop-downs and the where box,
// ticks two runs and compares them, opens a run; at each step it checks
// what the page shows against the database. It skips only when no
// Chromium is installed (CI installs Debian's chromium).
func TestBrowser(t *testing.T) {
	var exe string
	for _, name := range browserNames {
		if p, err := exec.LookPath(name); err == nil {
			exe = p
			break
		}
	}
	if exe == "" {
		t.Skipf("no Chromium found (looked for %s in PATH): install Debian's chromium to run the browser test", strings.Join(browserNames, ", "))
	}
	db, _, runIDs := fixtureDB(t)
	srv, err := New(db, Options{DBPath: "results.db", LoopbackOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()

	b := &browser{t: t, ctx: bctx, base: ts.URL}
	all, err := db.ListRuns(ctx, store.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}

	// The list: every run, newest first; compare is off until two are ticked.
	b.navigate("/")
	b.wantRows("the full list", ids(all))
	if !b.eval(`document.getElementById("compare-button").disabled`).(bool) {
		t.Errorf("the compare button is enabled with no run ticked")
	}
	b.screenshot("list.png")

	// Sort by linear F1: best first, unscored runs last.
	b.click(`th[data-key="linear_f1"] a`)
	b.wantURL("sort=linear_f1", "desc=1")
	b.wantRows("sorted by linear F1", ids(sortedByF1(all)))
	// Again: worst first, unscored runs still last.
	b.click(`th[data-key="linear_f1"] a`)
	asc := slices.Clone(all)
	slices.SortStableFunc(asc, func(x, y store.RunRow) int {
		return compareVals(numVal(x.LinearF1), numVal(y.LinearF1), false)
	})
	b.wantRows("sorted by linear F1, ascending", ids(asc))

	// Filter by status with the drop-down (the script submits on change).
	b.choose(`select[name="status"]`, "failed")
	b.wantURL("status=failed", "sort=linear_f1")
	b.wantRows("status failed", ids(keep(all, func(r store.RunRow) bool { return r.Status == store.StatusFailed })))

	// An experiment, then one of its settings.
	b.navigate("/")
	b.choose(`select[name="experiment"]`, "heads")
	heads, err := db.ListRuns(ctx, store.RunFilter{Experiment: "heads"})
	if err != nil {
		t.Fatal(err)
	}
	b.wantRows("experiment heads", ids(heads))
	if n := b.eval(`document.querySelectorAll('#runs th[data-key="set.head"], #runs th[data-key="set.proj_dim"]').length`).(float64); n != 2 {
		t.Errorf("experiment heads shows %v of the columns head and proj_dim, want both", n)
	}
	b.choose(`select[name="set.head"]`, "nonlinear")
	settings, err := db.RunSettings(ctx, "heads", []string{"head"})
	if err != nil {
		t.Fatal(err)
	}
	nonlinear := keep(heads, func(r store.RunRow) bool { return settings[r.ID]["head"].Value == "nonlinear" })
	b.wantRows("head = nonlinear", ids(nonlinear))

	// The where box.
	b.do(chromedp.SendKeys(chromedp.CSS(`input[name="where"]`), "linear_f1 > 0.8"))
	b.click(`form.filters button[type="submit"]`)
	b.wantRows("head = nonlinear and linear_f1 > 0.8", ids(keep(nonlinear, func(r store.RunRow) bool { return *r.LinearF1 > 0.8 })))

	// Tick two runs and compare them.
	a, c := runIDs[3], runIDs[2] // nonlinear with proj_dim 128 (with knn_acc) and 32, seed 1
	b.navigate("/?experiment=heads")
	b.do(chromedp.Click(chromedp.CSS(`input[form="compare"][value="` + strconv.FormatInt(a, 10) + `"]`)))
	if !b.eval(`document.getElementById("compare-button").disabled`).(bool) {
		t.Errorf("the compare button is enabled with one run ticked")
	}
	b.do(chromedp.Click(chromedp.CSS(`input[form="compare"][value="` + strconv.FormatInt(c, 10) + `"]`)))
	if got := b.eval(`document.getElementById("compare-button").disabled ? "disabled" : document.getElementById("compare-button").textContent`); got != "Compare 2 runs" {
		t.Errorf("compare button with two runs ticked: %q, want enabled, \"Compare 2 runs\"", got)
	}
	b.click(`#compare-button`)
	b.wantURL("/compare?", "id="+strconv.FormatInt(a, 10), "id="+strconv.FormatInt(c, 10))
	heads2, err := db.GetRuns(ctx, []int64{a, c})
	if err != nil {
		t.Fatal(err)
	}
	if got := b.eval(`[...document.querySelectorAll("#compare-table thead th a")].map(a => a.textContent).join(",")`); got != "run "+strconv.FormatInt(a, 10)+",run "+strconv.FormatInt(c, 10) {
		t.Errorf("compare header %q, want the two runs in the order ticked in the list", got)
	}
	if got, want := b.eval(`[...document.querySelectorAll("#compare-table tr.differ")].map(r => r.dataset.key).join(",")`), strings.Join(differing(heads2), ","); got != want {
		t.Errorf("compare lists the differing settings %q, want %q", got, want)
	}
	b.wantImage("#compare-curves")
	b.screenshot("compare.png")

	// Open a run from the compare page.
	b.click(`#compare-table thead a[href="/runs/` + strconv.FormatInt(a, 10) + `"]`)
	d := heads2[0]
	if got := b.eval(`document.querySelector("h1").textContent`).(string); !strings.Contains(got, d.Label) || !strings.Contains(got, d.Status) {
		t.Errorf("run page heading %q, want the label %q and status %q", got, d.Label, d.Status)
	}
	if got := b.eval(`document.getElementById("provenance").textContent`).(string); !strings.Contains(got, d.Provenance.GitCommit) || !strings.Contains(got, d.DatasetChecksum) {
		t.Errorf("provenance %q lacks the commit %s and the dataset checksum %s", got, d.Provenance.GitCommit, d.DatasetChecksum)
	}
	if got := b.eval(`document.querySelector("#curves-img").alt`).(string); !strings.Contains(got, "kNN accuracy") {
		t.Errorf("the curves of a run with knn_acc are %q, want a kNN accuracy panel", got)
	}
	b.wantImage("#curves-img")
	b.wantImage("#confusion-img")
	if n := b.eval(`document.querySelectorAll("#classes tbody tr").length`).(float64); int(n) != len(d.Evaluations[0].Classes) {
		t.Errorf("per-class table has %v rows, want %d", n, len(d.Evaluations[0].Classes))
	}
	b.screenshot("run.png")
}

// browser drives one tab; every failure is fatal.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
}

func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatal(err)
	}
}

func (b *browser) navigate(path string) {
	b.t.Helper()
	resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(b.base+path))
	if err != nil {
		b.t.Fatalf("navigate to %s: %v", path, err)
	}
	if resp.Status != 200 {
		b.t.Fatalf("%s: status %d", path, resp.Status)
	}
}

// click clicks what the CSS selector finds and waits for the page it
// leads to.
func (b *browser) click(sel string) {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("click %s: %v", sel, err)
	}
	if resp.Status != 200 {
		b.t.Fatalf("click %s: %s answered %d", sel, resp.URL, resp.Status)
	}
}

// choose picks a value in a drop-down as a user does: SetValue fires the
// input and change events, on which the page's script submits the
// filters. It waits for the new page.
func (b *browser) choose(sel, value string) {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.SetValue(chromedp.CSS(sel), value))
	if err != nil {
		b.t.Fatalf("choose %s in %s: %v", value, sel, err)
	}
	if resp.Status != 200 {
		b.t.Fatalf("choose %s in %s: %s answered %d", value, sel, resp.URL, resp.Status)
	}
}

func (b *browser) eval(js string) any {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[any](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// wantRows checks the run ids the table shows, in order.
func (b *browser) wantRows(what string, want []int64) {
	b.t.Helper()
	v := b.eval(`[...document.querySelectorAll("#runs tbody tr[data-id]")].map(r => Number(r.dataset.id))`)
	var got []int64
	for _, x := range v.([]any) {
		got = append(got, int64(x.(float64)))
	}
	if !slices.Equal(got, want) {
		b.t.Errorf("%s: the page lists runs %v, want %v", what, got, want)
	}
	if want == nil {
		return
	}
	count := b.eval(`document.getElementById("count").textContent`).(string)
	if !strings.HasPrefix(count, strconv.Itoa(len(want))+" of ") {
		b.t.Errorf("%s: the count says %q, want %d of …", what, count, len(want))
	}
}

func (b *browser) wantURL(parts ...string) {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	for _, p := range parts {
		if !strings.Contains(loc, p) {
			b.t.Errorf("the page is %s, want %q in it", loc, p)
		}
	}
}

// wantImage checks an image loaded as a chart (1200 pixels wide).
func (b *browser) wantImage(sel string) {
	b.t.Helper()
	js := `(() => { const i = document.querySelector(` + strconv.Quote(sel) + `); return i && i.complete ? i.naturalWidth : -1 })()`
	if w := b.eval(js).(float64); w != 1200 {
		b.t.Errorf("image %s is %v pixels wide, want a loaded 1200-pixel chart", sel, w)
	}
}

func (b *browser) screenshot(name string) {
	b.t.Helper()
	if *screenshots == "" {
		return
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatal(err)
	}
	if err := os.MkdirAll(*screenshots, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*screenshots, name), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func keep(rows []store.RunRow, f func(store.RunRow) bool) []store.RunRow {
	var out []store.RunRow
	for _, r := range rows {
		if f(r) {
			out = append(out, r)
		}
	}
	return out
}

// differing names what differs between the runs as the compare page
// lists it: run fields, then settings in stored order.
func differing(runs []store.RunDetail) []string {
	var out []string
	for _, f := range []struct {
		name string
		get  func(store.RunDetail) string
	}{
		{"experiment", func(r store.RunDetail) string { return r.Experiment }},
		{"label", func(r store.RunDetail) string { return r.Label }},
		{"status", func(r store.RunDetail) string { return r.Status }},
	} {
		if f.get(runs[0]) != f.get(runs[1]) {
			out = append(out, f.name)
		}
	}
	for _, p := range runs[0].Params {
		if v, _ := paramValue(runs[1].Params, p.Key); v != p.Value {
			out = append(out, p.Key)
		}
	}
	return out
}
