package grid

import (
	"testing"

	"github.com/BurntSushi/toml"
)

func TestLocate(t *testing.T) {
	src := `# a comment with [brackets] and key = value
name = "x"   # trailing [comment]
description = """
[base]
epochs = 99
"""
seeds = [
  1,   # ] not the end
  2,
]
base.lr = 0.1

[base]
  epochs = 1
"quoted key" = 2
'literal.key' = 3
dataset = "a # not a comment"
path = 'b [ not a bracket'

[ grid ]
augment = [
  ["crop", "color"],
  ["crop"],
]
temperature = [0.1, 0.5]

[[variant]]
label = "a"
[[variant]]
label = "b"
note = '''
label = "c"
'''
head = "none"

[[exclude]]
temperature = 0.1
inline = { a = 1, b = [2,
  3] }
after = 1
`
	if _, err := toml.Decode(src, new(map[string]any)); err != nil {
		t.Fatalf("test source is not valid TOML: %v", err)
	}
	lines := locate(src)
	want := map[string]int{
		"name":                   2,
		"description":            3,
		"seeds":                  7,
		"base.lr":                11,
		"base":                   11, // the dotted key defines base first
		"base.epochs":            14,
		"base.quoted key":        15,
		"base.literal.key":       16,
		"base.dataset":           17,
		"base.path":              18,
		"grid":                   20,
		"grid.augment":           21,
		"grid.temperature":       25,
		"variant":                27,
		"variant[1]":             27,
		"variant[1].label":       28,
		"variant[2]":             29,
		"variant[2].label":       30,
		"variant[2].note":        31,
		"variant[2].head":        34,
		"exclude":                36,
		"exclude[1]":             36,
		"exclude[1].temperature": 37,
		"exclude[1].inline":      38,
		"exclude[1].after":       40,
	}
	for path, n := range want {
		if got := lines[path]; got != n {
			t.Errorf("locate(src)[%q] = %d, want %d", path, got, n)
		}
	}
	for path := range lines {
		if _, ok := want[path]; !ok {
			t.Errorf("locate(src) has unexpected path %q at line %d", path, lines[path])
		}
	}

	fallbacks := []struct {
		path string
		want int
	}{
		{"exclude[1].inline.a", 38},
		{"variant[2].missing", 29},
		{"variant[3].label", 27},
		{"grid.augment", 21},
		{"nothing", 0},
		{"nothing.at.all", 0},
		{"", 0},
	}
	for _, tc := range fallbacks {
		if got := line(lines, tc.path); got != tc.want {
			t.Errorf("line(lines, %q) = %d, want %d", tc.path, got, tc.want)
		}
	}
}
