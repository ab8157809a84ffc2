package serve

import (
	"bytes"
	"cmp"
	"context"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/simclr-ablate/simclr-ablate/store"
)

func newTestServer(t *testing.T) (*httptest.Server, *store.DB, []int64) {
	t.Helper()
	db, _, ids := fixtureDB(t)
	srv, err := New(db, Options{DBPath: "results.db", LoopbackOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts, db, ids
}

// get fetches path and returns the status and body.
func get(t *testing.T, ts *httptest.Server, path string) (int, string) {
	t.Helper()
	resp, err := ts.Client().Get(ts.URL + path)
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

var rowID = regexp.MustCompile(`<tr data-id="(\d+)"`)

// listedIDs are the run ids of the run table, in page order.
func listedIDs(body string) []int64 {
	var out []int64
	for _, m := range rowID.FindAllStringSubmatch(body, -1) {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		out = append(out, id)
	}
	return out
}

func ids(rows []store.RunRow) []int64 {
	out := make([]int64, len(rows))
	for i, r := range rows {
		out[i] = r.ID
	}
	return out
}

// sortedByF1 orders runs by linear F1, best first, unscored ones last,
// as the list sorted by that column shows them.
func sortedByF1(runs []store.RunRow) []store.RunRow {
	out := slices.Clone(runs)
	slices.SortStableFunc(out, func(a, b store.RunRow) int {
		switch {
		case a.LinearF1 == nil && b.LinearF1 == nil:
			return 0
		case a.LinearF1 == nil:
			return 1
		case b.LinearF1 == nil:
			return -1
		}
		return cmp.Compare(*b.LinearF1, *a.LinearF1)
	})
	return out
}

func TestList(t *testing.T) {
	ts, db, _ := newTestServer(t)
	ctx := context.Background()
	all, err := db.ListRuns(ctx, store.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	settings, err := db.RunSettings(ctx, "", []string{"head", "batch_size"})
	if err != nil {
		t.Fatal(err)
	}
	where := func(keep func(store.RunRow) bool) []int64 {
		var out []store.RunRow
		for _, r := range all {
			if keep(r) {
				out = append(out, r)
			}
		}
		return ids(out)
	}
	byF1 := sortedByF1(all)
	heads := where(func(r store.RunRow) bool { return r.Experiment == "heads" })
	byBatch := where(func(r store.RunRow) bool { return r.Experiment == "scaling" })
	slices.SortStableFunc(byBatch, func(a, b int64) int {
		return cmp.Compare(*settings[a]["batch_size"].Num, *settings[b]["batch_size"].Num)
	})

	tests := []struct {
		name   string
		query  url.Values
		want   []int64
		status int
		text   []string // in the page
	}{
		{"all", nil, ids(all), 200, []string{"Experiments", "heads", "scaling", "head=nonlinear; proj_dim=128"}},
		{"experiment", url.Values{"experiment": {"heads"}}, heads, 200,
			[]string{`name="set.head"`, `name="set.proj_dim"`, `head = nonlinear (4)`}},
		{"status", url.Values{"status": {"failed"}}, where(func(r store.RunRow) bool { return r.Status == "failed" }), 200, nil},
		{"setting", url.Values{"experiment": {"heads"}, "set.head": {"nonlinear"}},
			where(func(r store.RunRow) bool {
				return r.Experiment == "heads" && settings[r.ID]["head"].Value == "nonlinear"
			}), 200, nil},
		{"list setting", url.Values{"set.augment": {`["crop","color"]`}}, ids(all), 200, nil},
		{"where", url.Values{"where": {"linear_f1 > 0.79"}},
			where(func(r store.RunRow) bool { return r.LinearF1 != nil && *r.LinearF1 > 0.79 }), 200, nil},
		{"sort by score", url.Values{"sort": {"linear_f1"}, "desc": {"1"}}, ids(byF1), 200, []string{"Linear F1 ▼"}},
		{"sort by setting", url.Values{"experiment": {"scaling"}, "sort": {"set.batch_size"}}, byBatch, 200, []string{"batch_size ▲"}},
		{"no match", url.Values{"set.head": {"deep"}}, nil, 200, []string{"No run matches"}},
		{"bad where", url.Values{"where": {"linear_f1 >"}}, nil, 400, []string{"where &#34;linear_f1 &gt;&#34;: at character"}},
		{"unknown name", url.Values{"where": {"nope = 1"}}, nil, 400, []string{"unknown name"}},
		{"unknown status", url.Values{"status": {"done"}}, nil, 400, []string{"unknown status &#34;done&#34; (valid: queued, running"}},
		{"unknown experiment", url.Values{"experiment": {"nope"}}, nil, 400, []string{"unknown experiment &#34;nope&#34; (known: heads, scaling)"}},
		{"unknown setting", url.Values{"set.nope": {"1"}}, nil, 400, []string{"unknown setting &#34;nope&#34;"}},
		{"unknown sort", url.Values{"sort": {"nope"}}, nil, 400, []string{"unknown sort column &#34;nope&#34;"}},
		{"unknown sort setting", url.Values{"sort": {"set.nope"}}, nil, 400, []string{"unknown sort column &#34;set.nope&#34;"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := get(t, ts, "/?"+tt.query.Encode())
			if status != tt.status {
				t.Errorf("status %d, want %d", status, tt.status)
			}
			if got := listedIDs(body); !slices.Equal(got, tt.want) {
				t.Errorf("runs listed %v, want %v", got, tt.want)
			}
			for _, s := range tt.text {
				if !strings.Contains(body, s) {
					t.Errorf("page lacks %q", s)
				}
			}
		})
	}
}

func TestRunPage(t *testing.T) {
	ts, db, runIDs := newTestServer(t)
	runs := fixtureRuns()
	ctx := context.Background()
	for i, fr := range runs {
		id := runIDs[i]
		d, err := db.GetRun(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		status, body := get(t, ts, "/runs/"+strconv.FormatInt(id, 10))
		if status != 200 {
			t.Fatalf("run %d: status %d: %s", id, status, body)
		}
		want := []string{fr.label, d.Status, fixtureProv.GitCommit, d.ConfigHash, "lab-box, pid 4242"}
		if fr.fate == "" {
			want = append(want, "linear on h", formatScore(d.LinearF1), "Confusion matrix: linear on h", "Ankle boot")
		}
		if fr.fate == store.StatusFailed {
			want = append(want, "training diverged at epoch 3")
		}
		if fr.knn {
			want = append(want, "kNN accuracy", "kNN acc</th>")
		}
		if len(d.Epochs) > 0 {
			want = append(want, `id="curves-img"`)
		} else {
			want = append(want, "No per-epoch metrics recorded: a raw-pixels baseline does not pretrain")
		}
		for _, s := range want {
			if !strings.Contains(body, s) && !strings.Contains(body, escaped(s)) {
				t.Errorf("run %d (%s) page lacks %q", id, fr.label, s)
			}
		}
		if !fr.knn && strings.Contains(body, "kNN") {
			t.Errorf("run %d page mentions kNN accuracy, which it did not record", id)
		}
		arts, err := db.Artifacts(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(body, `id="artifacts"`); got != (len(arts) > 0) {
			t.Errorf("run %d: artifacts table shown = %v, the DB holds %d artifacts", id, got, len(arts))
		}
		for _, a := range arts {
			if !strings.Contains(body, a.Path) || !strings.Contains(body, "<td>ok</td>") {
				t.Errorf("run %d page lacks its artifact %s checked ok", id, a.Path)
			}
		}
		// Its charts.
		checkPNG(t, ts, "/runs/"+strconv.FormatInt(id, 10)+"/curves.png", len(d.Epochs) > 0)
		checkPNG(t, ts, "/runs/"+strconv.FormatInt(id, 10)+"/confusion.png", fr.fate == "")
	}
	if status, _ := get(t, ts, "/runs/9999"); status != 404 {
		t.Errorf("/runs/9999: status %d, want 404", status)
	}
	if status, _ := get(t, ts, "/runs/x"); status != 400 {
		t.Errorf("/runs/x: status %d, want 400", status)
	}
	if status, body := get(t, ts, "/runs/1?eval=7"); status != 400 || !strings.Contains(body, "has 2 evaluations") {
		t.Errorf("/runs/1?eval=7: status %d, want 400 naming the evaluations: %s", status, body)
	}
	if status, body := get(t, ts, "/runs/1?eval=1"); status != 200 || !strings.Contains(body, "Confusion matrix: linear on z") {
		t.Errorf("/runs/1?eval=1: status %d, want the matrix of linear on z", status)
		_ = body
	}
}

// escaped escapes s as html/template writes it in text.
func escaped(s string) string {
	return strings.NewReplacer(`"`, "&#34;", "'", "&#39;", "<", "&lt;").Replace(s)
}

// checkPNG fetches an image and checks it is a chart (1200×800 PNG), or
// a 404 when want is false.
func checkPNG(t *testing.T, ts *httptest.Server, path string, want bool) {
	t.Helper()
	status, body := get(t, ts, path)
	if !want {
		if status != 404 {
			t.Errorf("%s: status %d, want 404", path, status)
		}
		return
	}
	if status != 200 {
		t.Errorf("%s: status %d: %s", path, status, body)
		return
	}
	cfg, err := png.DecodeConfig(bytes.NewReader([]byte(body)))
	if err != nil || cfg.Width != 1200 || cfg.Height != 800 {
		t.Errorf("%s: %dx%d, %v, want a 1200x800 PNG", path, cfg.Width, cfg.Height, err)
	}
}

func TestCompare(t *testing.T) {
	ts, _, runIDs := newTestServer(t)
	a, b, c := runIDs[2], runIDs[3], runIDs[7] // heads: nonlinear/32 and nonlinear/128 seed 1; nonlinear/128 seed 2
	q := "/compare?id=" + strconv.FormatInt(a, 10) + "&id=" + strconv.FormatInt(b, 10) + "," + strconv.FormatInt(c, 10)
	status, body := get(t, ts, q)
	if status != 200 {
		t.Fatalf("%s: status %d: %s", q, status, body)
	}
	for _, s := range []string{
		"Compare 3 runs", `<tr class="differ" data-key="proj_dim">`, `<tr class="differ" data-key="seed">`,
		`<tr class="differ" data-key="label">`, "linear on h: macro F1", "linear on z: accuracy",
		"settings the runs share", `id="compare-curves"`, "kNN accuracy",
	} {
		if !strings.Contains(body, s) {
			t.Errorf("compare page lacks %q", s)
		}
	}
	if strings.Contains(body, `data-key="head">`) {
		t.Errorf("compare page lists head as differing; the three runs share it")
	}
	checkPNG(t, ts, strings.Replace(q, "/compare?", "/compare/curves.png?", 1), true)

	// A baseline without epochs is compared, but left out of the curves.
	raw := runIDs[len(runIDs)-1]
	q = "/compare?id=" + strconv.FormatInt(a, 10) + "&id=" + strconv.FormatInt(raw, 10)
	if status, body := get(t, ts, q); status != 200 || !strings.Contains(body, "No per-epoch metrics: run "+strconv.FormatInt(raw, 10)+".") {
		t.Errorf("%s: status %d, want the baseline named as without curves", q, status)
	}
	checkPNG(t, ts, strings.Replace(q, "/compare?", "/compare/curves.png?", 1), true)
	for _, bad := range []struct {
		query  string
		status int
	}{
		{"id=1", 400}, {"", 400}, {"id=1&id=1", 400}, {"id=1&id=x", 400},
		{"id=1,2,3,4,5,6,7,8,9,10,11", 400}, {"id=1&id=9999", 404},
	} {
		if status, _ := get(t, ts, "/compare?"+bad.query); status != bad.status {
			t.Errorf("/compare?%s: status %d, want %d", bad.query, status, bad.status)
		}
	}
}

func TestReadOnlyAndLoopback(t *testing.T) {
	ts, _, _ := newTestServer(t)
	for _, method := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		for _, path := range []string{"/", "/runs/1", "/compare?id=1&id=2"} {
			req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader("x=1"))
			resp, err := ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: status %d, want 405", method, path, resp.StatusCode)
			}
		}
	}
	for _, tt := range []struct {
		host string
		want int
	}{
		{"", 200}, {"localhost:8080", 200}, {"127.0.0.1", 200}, {"[::1]:80", 200}, {"127.1.2.3:9", 200},
		{"evil.example:8080", 403}, {"10.0.0.1", 403}, {"localhost.evil.example", 403},
	} {
		req, _ := http.NewRequest("GET", ts.URL+"/", nil)
		if tt.host != "" {
			req.Host = tt.host
		}
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("Host %q: status %d, want %d", tt.host, resp.StatusCode, tt.want)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); tt.want == 200 && !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("Host %q: Content-Security-Policy %q", tt.host, csp)
		}
	}
	for _, path := range []string{"/static/style.css", "/static/app.js"} {
		if status, body := get(t, ts, path); status != 200 || len(body) < 100 {
			t.Errorf("%s: status %d, %d bytes", path, status, len(body))
		}
	}
	if status, _ := get(t, ts, "/nope"); status != 404 {
		t.Errorf("/nope: status %d, want 404", status)
	}
}

func TestFormat(t *testing.T) {
	tests := []struct{ got, want string }{
		{formatSetting(`["crop","color"]`), "crop, color"},
		{formatSetting(`[]`), "none"},
		{formatSetting(`[0.1,1]`), "0.1, 1"},
		{formatSetting("nonlinear"), "nonlinear"},
		{formatSettings(`augment=["crop","color"] epochs=20`), "augment=crop, color; epochs=20"},
		{formatSettings(`path=/data/my set epochs=5`), "path=/data/my set; epochs=5"},
		{formatSettings(``), ""},
		{formatNum(4.87512), "4.875"},
		{formatNum(0.0001234), "0.0001234"},
		{formatNum(912.44), "912.4"},
		{formatNum(0.5), "0.5000"},
		{evalName("finetune", "h", 0.1), "fine-tune on h, 10% of labels"},
		{evalName("linear", "pixels", 1), "linear on pixels"},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("case %d: got %q, want %q", i, tt.got, tt.want)
		}
	}
}

// TestRunPageCorruptArtifact: a kept encoder whose file no longer matches
// its recorded SHA-256 is listed with what is wrong, not as ok.
func TestRunPageCorruptArtifact(t *testing.T) {
	db, path, ids := fixtureDB(t)
	ctx := context.Background()
	var run int64
	var art store.Artifact
	for _, id := range ids {
		arts, err := db.Artifacts(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(arts) > 0 {
			run, art = id, arts[0]
			break
		}
	}
	if run == 0 {
		t.Fatal("the fixture kept no artifact")
	}
	full := filepath.Join(filepath.Dir(path), filepath.FromSlash(art.Path))
	if err := os.WriteFile(full, []byte(strings.ToUpper(fixtureEncoder)), 0o644); err != nil {
		t.Fatal(err)
	}
	srv, err := New(db, Options{DBPath: "results.db", LoopbackOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	status, body := get(t, ts, "/runs/"+strconv.FormatInt(run, 10))
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	if strings.Contains(body, "<td>ok</td>") || !strings.Contains(body, "was recorded (corrupted)") {
		t.Errorf("run %d page does not flag its corrupted artifact:\n%s", run, body)
	}
}
