package table

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

func TestWriteRows(t *testing.T) {
	cols := []string{"a|b", "c", "c"}
	rows := [][]any{{"x|y", nil, math.NaN()}, {int64(3), 0.5, []byte{0xff}}}
	tests := []struct {
		name  string
		write func(*bytes.Buffer) error
		want  string
	}{
		{"csv", func(b *bytes.Buffer) error { return WriteCSV(b, cols, rows) },
			"a|b,c,c\nx|y,,\n3,0.5,x'ff'\n"},
		{"json", func(b *bytes.Buffer) error { return WriteJSON(b, cols, rows) },
			"[\n  {\"a|b\": \"x|y\", \"c\": null, \"c_2\": null},\n  {\"a|b\": 3, \"c\": 0.5, \"c_2\": \"x'ff'\"}\n]\n"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		if err := tt.write(&b); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if b.String() != tt.want {
			t.Errorf("Write%s = %q, want %q", strings.ToUpper(tt.name), b.String(), tt.want)
		}
	}
	var b bytes.Buffer
	if err := WriteMarkdown(&b, cols, rows); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
		if n := strings.Count(strings.ReplaceAll(l, `\|`, ""), "|"); n != len(cols)+1 {
			t.Errorf("WriteMarkdown line %q has %d unescaped pipes, want %d", l, n, len(cols)+1)
		}
	}
}
