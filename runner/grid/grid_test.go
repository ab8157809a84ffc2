package grid

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/simclr-ablate/simclr-ablate/simclr/config"
)

func mustParse(t *testing.T, src string, opt Options) *Grid {
	t.Helper()
	g, err := Parse("t.toml", []byte(src), opt)
	if err != nil {
		t.Fatalf("Parse(%q) error %v", src, err)
	}
	return g
}

func labels(g *Grid) []string {
	var out []string
	for _, c := range g.Cells {
		out = append(out, c.Label)
	}
	return out
}

// TestExpandCounts checks the number of cells, the labels and the varying
// settings of each construct.
func TestExpandCounts(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		opt     Options
		cells   int
		labels  []string // first labels, in order
		varying []string
	}{
		{
			name:   "base only is one cell named after the grid",
			src:    "name = \"one\"\n[base]\nepochs = 2\n",
			cells:  1,
			labels: []string{"one"},
		},
		{
			name:    "empty grid table is one cell",
			src:     "name = \"one\"\n[grid]\n",
			cells:   1,
			labels:  []string{"one"},
			varying: nil,
		},
		{
			name:    "single-valued axis is not in the label",
			src:     "name = \"g\"\n[grid]\nepochs = [3]\ntemperature = [0.1, 0.2]\n",
			cells:   2,
			labels:  []string{"temperature=0.1", "temperature=0.2"},
			varying: []string{"temperature"},
		},
		{
			name:    "product of three axes",
			src:     "name = \"g\"\n[grid]\nlr = [0.1, 0.2, 0.3]\nepochs = [1, 2]\nhead = [\"none\", \"linear\"]\n",
			cells:   12,
			labels:  []string{"lr=0.1, epochs=1, head=none", "lr=0.1, epochs=1, head=linear", "lr=0.1, epochs=2, head=none"},
			varying: []string{"lr", "epochs", "head"},
		},
		{
			name:    "seeds multiply and are not varying",
			src:     "name = \"g\"\nseeds = [1, 2, 3]\n[grid]\nepochs = [1, 2]\n",
			cells:   6,
			labels:  []string{"epochs=1", "epochs=2", "epochs=1"},
			varying: []string{"epochs"},
		},
		{
			name:    "variants times axes",
			src:     "name = \"g\"\n[grid]\nepochs = [1, 2]\n[[variant]]\nlabel = \"a\"\n[[variant]]\nlabel = \"b\"\nhead = \"none\"\n",
			cells:   4,
			labels:  []string{"a (epochs=1)", "a (epochs=2)", "b (epochs=1)", "b (epochs=2)"},
			varying: []string{"epochs", "head"},
		},
		{
			name:    "unlabelled variants are named by their settings",
			src:     "name = \"g\"\n[[variant]]\n[[variant]]\nlr = 0.5\nhead = \"none\"\n",
			cells:   2,
			labels:  []string{"base", "head=none, lr=0.5"},
			varying: []string{"head", "lr"},
		},
		{
			name:    "pairwise is n squared rows, beside variants",
			src:     "name = \"g\"\n[pairwise]\ntransforms = [\"crop\", \"color\"]\n[[variant]]\nlabel = \"raw pixels\"\nmethod = \"raw-pixels\"\n",
			cells:   5,
			labels:  []string{"raw pixels", "crop", "crop+color", "color+crop", "color"},
			varying: []string{"method", "augment", "augment_b"},
		},
		{
			name:    "pairwise times an axis",
			src:     "name = \"g\"\n[pairwise]\ntransforms = [\"blur\"]\n[grid]\ntemperature = [0.1, 0.5]\n",
			cells:   2,
			labels:  []string{"blur (temperature=0.1)", "blur (temperature=0.5)"},
			varying: []string{"temperature"},
		},
		{
			name:    "exclude by label and by seed",
			src:     "name = \"g\"\nseeds = [1, 2]\n[[variant]]\nlabel = \"a\"\n[[variant]]\nlabel = \"b\"\nhead = \"none\"\n[[exclude]]\nlabel = \"b\"\nseed = 2\n",
			cells:   3,
			labels:  []string{"a", "b", "a"},
			varying: []string{"head"},
		},
		{
			name:   "overlapping exclude rules each drop once",
			src:    "name = \"g\"\n[grid]\nepochs = [1, 2, 3]\nlr = [0.1, 0.2]\n[[exclude]]\nepochs = 1\n[[exclude]]\nlr = 0.1\n",
			cells:  2,
			labels: []string{"epochs=2, lr=0.2", "epochs=3, lr=0.2"},
			// lr is 0.2 in every remaining cell.
			varying: []string{"epochs"},
		},
		{
			name:    "exclude a list value",
			src:     "name = \"g\"\n[grid]\naugment = [[\"crop\"], [\"crop\", \"color\"], []]\n[[exclude]]\naugment = []\n",
			cells:   2,
			labels:  []string{"augment=[crop]", "augment=[crop,color]"},
			varying: []string{"augment"},
		},
		{
			name:    "max_cells in the file raises the limit",
			src:     "name = \"g\"\nmax_cells = 20000\n[grid]\nepochs = [" + intList(1, 151) + "]\nwidth = [" + intList(0, 100) + "]\n",
			cells:   15000,
			labels:  []string{"epochs=1, width=0"},
			varying: []string{"epochs", "width"},
		},
		{
			name:    "Options.MaxCells raises the limit",
			src:     "name = \"g\"\n[grid]\nepochs = [" + intList(1, 151) + "]\nwidth = [" + intList(0, 100) + "]\n",
			opt:     Options{MaxCells: 15000},
			cells:   15000,
			labels:  []string{"epochs=1, width=0"},
			varying: []string{"epochs", "width"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := mustParse(t, tc.src, tc.opt)
			if len(g.Cells) != tc.cells {
				t.Fatalf("Parse(%q) = %d cells, want %d", tc.src, len(g.Cells), tc.cells)
			}
			if got := labels(g)[:len(tc.labels)]; !slices.Equal(got, tc.labels) {
				t.Errorf("Parse(%q) labels = %q, want %q", tc.src, got, tc.labels)
			}
			if !slices.Equal(g.Varying, tc.varying) {
				t.Errorf("Parse(%q) Varying = %q, want %q", tc.src, g.Varying, tc.varying)
			}
			checkCells(t, g)
		})
	}
}

func intList(from, to int) string {
	var parts []string
	for i := from; i < to; i++ {
		parts = append(parts, fmt.Sprint(i))
	}
	return strings.Join(parts, ", ")
}

// checkCells checks the invariants every grid has: indexes in order,
// valid configs, hashes, varying maps, unique (hash, seed).
func checkCells(t *testing.T, g *Grid) {
	t.Helper()
	seen := map[string]bool{}
	for i, c := range g.Cells {
		if c.Index != i {
			t.Fatalf("cell %d has Index %d", i, c.Index)
		}
		if err := c.Config.Validate(); err != nil {
			t.Fatalf("cell %d (%s): Validate() = %v, want nil", i, c.Label, err)
		}
		if h := c.Config.Hash(); c.Hash != h {
			t.Fatalf("cell %d Hash = %s, want Config.Hash() = %s", i, c.Hash, h)
		}
		if !slices.Equal(slices.Sorted(maps.Keys(c.Varying)), slices.Sorted(slices.Values(g.Varying))) {
			t.Fatalf("cell %d Varying keys %v, want Grid.Varying %v", i, c.Varying, g.Varying)
		}
		id := fmt.Sprint(c.Hash, c.Config.Seed)
		if seen[id] {
			t.Fatalf("cell %d (%s) duplicates an earlier cell", i, c.Label)
		}
		seen[id] = true
	}
}

// TestPrecedence checks defaults < [base] < axis < variant < --set.
func TestPrecedence(t *testing.T) {
	src := `
name = "p"
seeds = [5]
[base]
epochs = 3
lr = 0.5
proj_dim = 64
[grid]
lr = [0.1, 0.2]
[[variant]]
label = "v"
proj_dim = 16
temperature = 0.2
`
	g := mustParse(t, src, Options{Set: []string{"temperature=0.7"}})
	want := config.DefaultConfig()
	want.Epochs, want.ProjDim, want.Temperature, want.Seed = 3, 16, 0.7, 5
	for i, lr := range []float64{0.1, 0.2} {
		want.LR = lr
		got := g.Cells[i].Config
		if got.Hash() != want.Hash() || got.Seed != want.Seed {
			t.Errorf("cell %d config = %+v, want %+v", i, got, want)
		}
	}
}

// TestCellsShareNoSlices checks that changing one cell's lists leaves the
// others alone.
func TestCellsShareNoSlices(t *testing.T) {
	g := mustParse(t, "name = \"s\"\nseeds = [1, 2]\n[base]\naugment = [\"crop\", \"color\"]\n", Options{})
	g.Cells[0].Config.Augment[0] = "blur"
	g.Cells[0].Config.Eval[0] = "finetune"
	if got := g.Cells[1].Config.Augment[0]; got != "crop" {
		t.Errorf("cell 1 Augment[0] = %q after changing cell 0, want crop", got)
	}
	if got := g.Cells[1].Config.Eval[0]; got != "linear" {
		t.Errorf("cell 1 Eval[0] = %q after changing cell 0, want linear", got)
	}
	if got := config.DefaultConfig().Eval[0]; got != "linear" {
		t.Errorf("DefaultConfig().Eval[0] = %q after changing a cell, want linear", got)
	}
}

// TestValidationPlace checks that a Validate failure is reported where
// the offending key was set for the failing cell.
func TestValidationPlace(t *testing.T) {
	tests := []struct {
		name string
		src  string
		set  []string
		want string // the error; "" for none
	}{
		{
			name: "bad base value overridden by every variant is never used",
			src:  "name = \"v\"\n[base]\nbatch_size = -1\n[[variant]]\nlabel = \"a\"\nbatch_size = 64\n",
		},
		{
			name: "bad base value used by one variant",
			src:  "name = \"v\"\n[base]\nbatch_size = -1\n[[variant]]\nlabel = \"a\"\nbatch_size = 64\n[[variant]]\nlabel = \"b\"\n",
			want: "t.toml:3: base.batch_size: must be positive, got -1",
		},
		{
			name: "set overrides the file",
			src:  "name = \"v\"\n[base]\nbatch_size = 64\n",
			set:  []string{"batch_size=-4"},
			want: "--set batch_size=-4: batch_size: must be positive, got -4",
		},
		{
			name: "set repairs the file",
			src:  "name = \"v\"\n[base]\nbatch_size = -1\n",
			set:  []string{"batch_size=8"},
		},
		{
			name: "dotted top-level key",
			src:  "name = \"v\"\nbase.head = \"mlp\"\n",
			want: "t.toml:2: base.head: unknown value \"mlp\" (valid: none, linear, nonlinear)",
		},
		{
			name: "inline base table falls back to its line",
			src:  "name = \"v\"\n\nbase = { epochs = 1, head = \"mlp\" }\n",
			want: "t.toml:3: base.head: unknown value \"mlp\" (valid: none, linear, nonlinear)",
		},
		{
			name: "empty list set by a variant",
			src:  "name = \"v\"\n[[variant]]\nlabel = \"ok\"\n[[variant]]\nlabel = \"folder\"\neval_features = []\n",
			want: "t.toml:6: variant[2].eval_features: needs at least one feature (valid: h, z)",
		},
		{
			name: "pairwise replaces a base augment_b",
			src:  "name = \"v\"\n[base]\naugment_b = [\"crop\"]\n[pairwise]\ntransforms = [\"crop\"]\n",
		},
		{
			name: "one bad axis value of several",
			src:  "name = \"v\"\n[grid]\ntemperature = [0.5, 0.0]\n",
			want: "t.toml:3: grid.temperature: must be positive and finite, got 0",
		},
		{
			name: "nan from TOML",
			src:  "name = \"v\"\n[base]\nlr = nan\n",
			want: "t.toml:3: base.lr: must be positive and finite, got NaN",
		},
		{
			name: "excluded bad cell is not validated",
			src:  "name = \"v\"\n[grid]\ntemperature = [0.5, 0.0]\n[[exclude]]\ntemperature = 0.0\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.toml", []byte(tc.src), Options{Set: tc.set})
			got := ""
			if err != nil {
				got = err.Error()
			}
			if tc.want == "" && got != "" || !strings.HasPrefix(got, tc.want) || tc.want != "" && got == "" {
				t.Errorf("Parse(%q, --set %q) error = %q, want %q", tc.src, tc.set, got, tc.want)
			}
			if err != nil && !config.IsValidationError(err) {
				t.Errorf("Parse(%q) error %v does not wrap the *config.FieldError", tc.src, err)
			}
		})
	}
}

// TestImagefolderPathBlame pins the whole message of a key that was never
// set: dataset names the variant's line, the missing path the variant.
func TestImagefolderPathBlame(t *testing.T) {
	src := "name = \"v\"\n[base]\nepochs = 1\n[[variant]]\nlabel = \"folder\"\ndataset = \"imagefolder\"\n"
	_, err := Parse("t.toml", []byte(src), Options{})
	want := `t.toml:4: variant[1].path: imagefolder needs path = "root/<class>/*.png"`
	if err == nil || err.Error() != want {
		t.Errorf("Parse(%q) = %v, want %s", src, err, want)
	}
}

func TestSet(t *testing.T) {
	src := "name = \"s\"\n[grid]\ntemperature = [0.1, 0.5]\n"
	tests := []struct {
		set   string
		field string
		want  string // rendered value of field in cell 0, or the error
		isErr bool
	}{
		{set: "epochs=1", field: "epochs", want: "1"},
		{set: " epochs = 2 ", field: "epochs", want: "2"},
		{set: "lr=1e-4", field: "lr", want: "0.0001"},
		{set: "lr=1", field: "lr", want: "1"},
		{set: "dataset=mnist", field: "dataset", want: "mnist"},
		{set: `dataset="cifar10"`, field: "dataset", want: "cifar10"},
		{set: "dataset=fashion-mnist-color", field: "dataset", want: "fashion-mnist-color"},
		{set: "augment=[crop, color]", field: "augment", want: "[crop,color]"},
		{set: `augment=["crop","blur"]`, field: "augment", want: "[crop,blur]"},
		{set: "augment=[]", field: "augment", want: "[]"},
		{set: "label_fraction=[0.1,1]", field: "label_fraction", want: "[0.1,1]"},
		{set: "path=/data/my images", field: "path", want: "/data/my images"},
		{set: `path=C:\data "x"`, field: "path", want: `C:\data "x"`},
		{set: "path=", field: "path", want: ""},
		{set: "seeds=[4]", field: "seed", want: "4"},
		{set: "epochs", isErr: true, want: "--set epochs: want key=value, e.g. --set epochs=1"},
		{set: "=3", isErr: true, want: "--set =3: want key=value"},
		{set: "epochs=ten", isErr: true, want: `--set epochs=ten: epochs: expected an integer, got string "ten"`},
		{set: "epcohs=1", isErr: true, want: "--set epcohs=1: epcohs: unknown setting (did you mean epochs?)"},
		{set: "zzzzzzzz=1", isErr: true, want: "--set zzzzzzzz=1: zzzzzzzz: unknown setting (valid: method, dataset, path, "},
		{set: "seed=3", isErr: true, want: "--set seed=3: seed: use --set seeds=[N]"},
		{set: "seeds=[]", isErr: true, want: "--set seeds=[]: seeds: needs at least one seed"},
		{set: "seeds=[1,1]", isErr: true, want: "--set seeds=[1,1]: seeds: seed 1 appears twice"},
		{set: "temperature=0.1", isErr: true, want: "--set temperature=0.1: temperature: is a [grid] axis (t.toml:3)"},
		{set: "augment=[crop,colour]", isErr: true, want: `--set augment=[crop,colour]: augment: unknown transform "colour"`},
		{set: "dataset=a\nb", isErr: true, want: "--set dataset=a b: dataset: the value must be on one line"},
	}
	for _, tc := range tests {
		g, err := Parse("t.toml", []byte(src), Options{Set: []string{tc.set}})
		if tc.isErr {
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("Parse with --set %q = %v, want error %q", tc.set, err, tc.want)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse with --set %q: %v", tc.set, err)
			continue
		}
		for _, c := range g.Cells {
			if got := render(get(&c.Config, tc.field)); got != tc.want {
				t.Errorf("Parse with --set %q: cell %d %s = %q, want %q", tc.set, c.Index, tc.field, got, tc.want)
			}
		}
	}
}

func TestSetCollapseIsDuplicate(t *testing.T) {
	src := "name = \"d\"\n[[variant]]\nlabel = \"a\"\nhead = \"linear\"\n[[variant]]\nlabel = \"b\"\nhead = \"none\"\n"
	_, err := Parse("t.toml", []byte(src), Options{Set: []string{"head=none"}})
	want := `t.toml:5: variant[2]: cells "a" and "b" have the same settings and seed`
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "(--set applies to every cell)") {
		t.Errorf("Parse(%q, --set head=none) = %v, want %q ... (--set applies to every cell)", src, err, want)
	}
}

func TestSetPairwiseConflict(t *testing.T) {
	src := "name = \"d\"\n[pairwise]\ntransforms = [\"crop\", \"blur\"]\n"
	_, err := Parse("t.toml", []byte(src), Options{Set: []string{"augment_b=[]"}})
	want := "--set augment_b=[]: augment_b: is set by [pairwise] (t.toml:3) for every pair"
	if err == nil || err.Error() != want {
		t.Errorf("Parse(%q, --set augment_b=[]) = %v, want %s", src, err, want)
	}
}

// TestHugeGridRefusedEarly checks that the limit is computed before any
// cell exists: a 10^9-cell grid is refused with little memory allocated.
func TestHugeGridRefusedEarly(t *testing.T) {
	var b strings.Builder
	b.WriteString("name = \"huge\"\n[grid]\n")
	for _, k := range []string{"epochs", "width", "proj_dim", "proj_hidden", "batch_size", "image_size", "pretrain_subset", "eval_subset", "test_subset"} {
		fmt.Fprintf(&b, "%s = [%s]\n", k, intList(1, 11))
	}
	src := []byte(b.String())
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Parse("huge.toml", src, Options{})
	runtime.ReadMemStats(&after)
	want := "huge.toml:2: grid: expands to 1000000000 cells"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("Parse(10^9 cells) = %v, want %q", err, want)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("Parse(10^9 cells) allocated %d bytes, want under 4 MiB", alloc)
	}

	// Past MaxInt the count saturates instead of overflowing.
	b.Reset()
	b.WriteString("name = \"huger\"\n[grid]\n")
	for _, k := range settingNames {
		if s := settings[k]; s.Type.Kind() == reflect.Int {
			fmt.Fprintf(&b, "%s = [%s]\n", k, intList(1, 101))
		}
	}
	_, err = Parse("huger.toml", []byte(b.String()), Options{MaxCells: 1 << 62})
	if err == nil || !strings.Contains(err.Error(), "expands to more than") {
		t.Errorf("Parse(100^n cells) = %v, want a saturated count", err)
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{File: "x.toml", Line: 12, Key: "grid.augment", Msg: `unknown transform "colour"`}, `x.toml:12: grid.augment: unknown transform "colour"`},
		{Error{File: "x.toml", Key: "name", Msg: "required"}, "x.toml: name: required"},
		{Error{File: "x.toml", Msg: "cannot read"}, "x.toml: cannot read"},
		{Error{File: "x.toml", Line: 1, Key: "k", Msg: "two\nlines."}, "x.toml:1: k: two lines"},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("%#v.Error() = %q, want %q", tc.err, got, tc.want)
		}
	}
	cause := errors.New("cause")
	if e := (&Error{Err: cause}); !errors.Is(e, cause) {
		t.Errorf("errors.Is(&Error{Err: cause}, cause) = false, want true")
	}
}

func TestSuggest(t *testing.T) {
	cands := []string{"augment", "augment_b", "batch_size", "epochs", "eval", "lr", "temperature"}
	tests := []struct{ word, want string }{
		{"augmnet", "augment"},
		{"augment_c", "augment_b"},
		{"batchsize", "batch_size"},
		{"temprature", "temperature"},
		{"epoch", "epochs"},
		{"evals", "eval"},
		{"lrr", "lr"},
		{"xyz", ""},
		{"dataset", ""},
	}
	for _, tc := range tests {
		if got := suggest(tc.word, cands); got != tc.want {
			t.Errorf("suggest(%q) = %q, want %q", tc.word, got, tc.want)
		}
	}
	dists := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"", "abc", 3}, {"abc", "", 3}, {"abc", "abc", 0},
		{"abc", "acb", 1}, {"kitten", "sitting", 3}, {"ca", "abc", 3},
	}
	for _, tc := range dists {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestCellError: a problem found after Load with one cell's settings is
// placed where that cell's key was set, as Validate's problems are.
func TestCellError(t *testing.T) {
	src := "name = \"v\"\n[base]\ndataset = \"imagefolder\"\npath = \"a\"\n[grid]\ntest_path = [\"t1\", \"t2\"]\n" +
		"[[variant]]\nlabel = \"first\"\n[[variant]]\nlabel = \"second\"\npath = \"b\"\n"
	g := mustParse(t, src, Options{})
	missing := func(key string) error { return &config.FieldError{Key: key, Msg: "missing x"} }
	tests := []struct {
		cell int
		err  error
		want string
	}{
		{0, missing("path"), "t.toml:4: base.path: missing x"},
		{2, missing("path"), "t.toml:11: variant[2].path: missing x"},
		{3, missing("test_path"), "t.toml:6: grid.test_path: missing x"},
		{1, missing("dataset"), "t.toml:3: base.dataset: missing x"},
		{2, missing("dataset"), "t.toml:3: base.dataset: missing x"},
		{1, errors.New("disk on fire"), "t.toml: disk on fire"},
	}
	for _, tt := range tests {
		err := g.CellError(tt.cell, tt.err)
		var ge *Error
		if !errors.As(err, &ge) || err.Error() != tt.want {
			t.Errorf("CellError(%d, %v) = %v, want the *Error %q", tt.cell, tt.err, err, tt.want)
		}
		if !errors.Is(err, tt.err) {
			t.Errorf("CellError(%d, %v) does not wrap the cause", tt.cell, tt.err)
		}
	}
	set := mustParse(t, src, Options{Set: []string{"dataset=imagefolder"}})
	if err, want := set.CellError(2, missing("dataset")), "--set dataset=imagefolder: dataset: missing x"; err == nil || err.Error() != want {
		t.Errorf("CellError with --set dataset = %v, want %q", err, want)
	}
}

// TestStepsDecide: a cell that sets steps and not epochs trains for
// steps (epochs becomes 0, wherever steps was set); a cell that sets both
// is refused, wherever each was set.
func TestStepsDecide(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		set       []string
	}{
		{"base", "name = \"x\"\n[base]\nsteps = 100\n", nil},
		{"axis", "name = \"x\"\n[grid]\nsteps = [100, 200]\n", nil},
		{"variant", "name = \"x\"\n[[variant]]\nsteps = 100\n[[variant]]\nlabel = \"epochs\"\n", nil},
		{"--set", "name = \"x\"\n", []string{"steps=100"}},
	} {
		g := mustParse(t, tc.src, Options{Set: tc.set})
		for _, c := range g.Cells {
			want := 0
			if c.Config.Steps == 0 {
				want = config.DefaultConfig().Epochs
			}
			if c.Config.Epochs != want {
				t.Errorf("%s: cell %q has epochs %d and steps %d, want epochs %d", tc.name, c.Label, c.Config.Epochs, c.Config.Steps, want)
			}
		}
	}
	for _, tc := range []struct {
		name, src string
		set       []string
		want      string
	}{
		{"both in base", "name = \"x\"\n[base]\nepochs = 5\nsteps = 100\n", nil, "<grid>:4: base.steps: training length is epochs or steps"},
		{"epochs by --set", "name = \"x\"\n[base]\nsteps = 100\n", []string{"epochs=5"}, "<grid>:3: base.steps: training length is epochs or steps"},
		{"steps in a variant, epochs axis", "name = \"x\"\n[grid]\nepochs = [5, 6]\n[[variant]]\nsteps = 100\n",
			nil, "<grid>:5: variant[1].steps: training length is epochs or steps"},
	} {
		_, err := Parse("", []byte(tc.src), Options{Set: tc.set})
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: Parse error = %v, want one starting %q", tc.name, err, tc.want)
		}
	}
}

// TestPairwiseCropFirst: crop_first = false (protocol both) leaves the
// views uncropped unless the pair says crop, so the diagonal is the one
// transform alone and crop+color differs from color+crop by order only.
func TestPairwiseCropFirst(t *testing.T) {
	src := "name = \"x\"\n[pairwise]\ntransforms = [\"crop\", \"color\"]\nprotocol = \"both\"\n"
	for _, tc := range []struct {
		key  string
		want map[string][]string
	}{
		{"", map[string][]string{"crop": {"crop", "crop"}, "crop+color": {"crop", "crop", "color"}, "color+crop": {"crop", "color", "crop"}, "color": {"crop", "color"}}},
		{"crop_first = true\n", map[string][]string{"crop": {"crop", "crop"}, "crop+color": {"crop", "crop", "color"}, "color+crop": {"crop", "color", "crop"}, "color": {"crop", "color"}}},
		{"crop_first = false\n", map[string][]string{"crop": {"crop"}, "crop+color": {"crop", "color"}, "color+crop": {"color", "crop"}, "color": {"color"}}},
	} {
		g := mustParse(t, src+tc.key, Options{})
		if len(g.Cells) != len(tc.want) {
			t.Fatalf("%q: %d cells, want %d", tc.key, len(g.Cells), len(tc.want))
		}
		for _, c := range g.Cells {
			if want := tc.want[c.Label]; !slices.Equal(c.Config.Augment, want) || c.Config.AugmentB != nil {
				t.Errorf("%q: cell %q has augment %v, augment_b %v; want %v, unset", tc.key, c.Label, c.Config.Augment, c.Config.AugmentB, want)
			}
		}
	}
}

// TestPairwiseProtocol: one-branch (the default) crops the second branch
// only; both leaves augment_b unset, even over [base], so that the second
// branch makes its view with the pair too.
func TestPairwiseProtocol(t *testing.T) {
	src := "name = \"x\"\n[base]\naugment_b = [\"flip\"]\n[pairwise]\ntransforms = [\"crop\", \"color\"]\n"
	for _, tc := range []struct {
		protocol string
		want     []string
	}{
		{"", []string{"crop"}},
		{"protocol = \"one-branch\"\n", []string{"crop"}},
		{"protocol = \"both\"\n", nil},
	} {
		g := mustParse(t, src+tc.protocol, Options{})
		if len(g.Cells) != 4 {
			t.Fatalf("%q: %d cells, want 4", tc.protocol, len(g.Cells))
		}
		for _, c := range g.Cells {
			if !slices.Equal(c.Config.AugmentB, tc.want) || c.Config.Augment[0] != "crop" || c.Tags[PairFirst] == "" {
				t.Errorf("%q: cell %q has augment %v, augment_b %v, tags %v; want augment_b %v", tc.protocol, c.Label,
					c.Config.Augment, c.Config.AugmentB, c.Tags, tc.want)
			}
		}
	}
}
