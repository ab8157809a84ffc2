package docs

import (
	"slices"
	"testing"
	"testing/fstest"
)

// TestLinks checks every relative link of the README, docs/*.md and
// store/schema.md.
func TestLinks(t *testing.T) {
	problems, err := checkLinks(repo(), documents(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// TestCheckLinksFindsBroken runs the checker on a small tree with one
// link of each kind, good and broken.
func TestCheckLinksFindsBroken(t *testing.T) {
	fsys := fstest.MapFS{
		"README.md": {Data: []byte(`# Title

[doc](docs/a.md), [section](docs/a.md#second-part), [dir](docs/),
[here](#title), [web](https://example.com/x.md), ![chart](results/c.png)

[missing](docs/missing.md) [bad anchor](docs/a.md#third) [outside](../x.md)
![missing chart](results/d.png) [bad here](#no-such)

` + "`[code](nowhere.md)`" + `

    [indented code](nowhere.md)
`)},
		"docs/a.md": {Data: []byte(`# A

## Second part

[up](../README.md#title) [sibling](b.md)
`)},
		"results/c.png": {Data: []byte("png")},
	}
	got, err := checkLinks(fsys, []string{"README.md", "docs/a.md"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"README.md:6: docs/missing.md: no such file docs/missing.md",
		"README.md:6: docs/a.md#third: docs/a.md has no heading #third",
		"README.md:6: ../x.md: leads outside the repository",
		"README.md:7: results/d.png: no such file results/d.png",
		"README.md:7: #no-such: README.md has no heading #no-such",
		"docs/a.md:5: b.md: no such file docs/b.md",
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n%q\nwant:\n%q", got, want)
	}
}

func TestSlug(t *testing.T) {
	tests := []struct{ heading, want string }{
		{"Quick start", "quick-start"},
		{"Experiment seed_table", "experiment-seed_table"},
		{"results.db: the schema", "resultsdb-the-schema"},
		{"Finding 1: composition of augmentations, crop + colour above all", "finding-1-composition-of-augmentations-crop--colour-above-all"},
		{"The `run_summary` view", "the-run_summary-view"},
		{"gorgonia's traps, and how we avoid them", "gorgonias-traps-and-how-we-avoid-them"},
		{"Méthode — überblick", "méthode--überblick"},
	}
	for _, tt := range tests {
		if got := slug(tt.heading); got != tt.want {
			t.Errorf("slug(%q) = %q, want %q", tt.heading, got, tt.want)
		}
	}
}

// TestAnchors checks the heading text the slugs are made from: inline
// markup dropped, repeats numbered.
func TestAnchors(t *testing.T) {
	d, err := parse(fstest.MapFS{"x.md": {Data: []byte("# The `run_summary` view\n\n## [Linked](y.md) *emphasis*\n\n## Notes\n\n### Notes\n")}}, "x.md")
	if err != nil {
		t.Fatal(err)
	}
	got := d.anchors()
	for _, id := range []string{"the-run_summary-view", "linked-emphasis", "notes", "notes-1"} {
		if !got[id] {
			t.Errorf("no anchor %q in %v", id, got)
		}
	}
	if len(got) != 4 {
		t.Errorf("anchors %v, want 4", got)
	}
}
