package table

import "testing"

func TestMarkdown(t *testing.T) {
	tb := New("STT", "Model", "F1-Score")
	tb.SetAlign(0, Right)
	tb.SetAlign(2, Center)
	tb.AddRow("1", "SimCLR | crop", "0.812 ± 0.011")
	tb.AddRow("2", Escape("a|b"), "`x|y`")
	tb.AddRow("10", "raw\npixels")
	want := "" +
		"| STT | Model          |   F1-Score    |\n" +
		"| --: | -------------- | :-----------: |\n" +
		"|   1 | SimCLR \\| crop | 0.812 ± 0.011 |\n" +
		"|   2 | a\\|b           |    `x\\|y`     |\n" +
		"|  10 | raw pixels     |               |\n"
	if got := tb.Markdown(); got != want {
		t.Errorf("Markdown() =\n%s\nwant\n%s", got, want)
	}
}

func TestText(t *testing.T) {
	tb := New("id", "label", "f1")
	tb.SetAlign(2, Right)
	tb.AddRow("1", "crop+color", "0.8")
	tb.AddRow("12", "a|b", "")
	got := tb.Text()
	want := "" +
		"id  label        f1\n" +
		"--  ----------  ---\n" +
		"1   crop+color  0.8\n" +
		"12  a|b\n"
	if got != want {
		t.Errorf("Text() =\n%q\nwant\n%q", got, want)
	}
}

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"a|b", `a\|b`},
		{"line1\nline2\r\nline3", "line1 line2 line3"},
		{"<script>", "&lt;script>"},
		{"a > b", "a > b"},
		{"  padded  ", "padded"},
	}
	for _, tt := range tests {
		if got := Escape(tt.in); got != tt.want {
			t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestBoldCode(t *testing.T) {
	tests := []struct {
		f        func(string) string
		name     string
		in, want string
	}{
		{Bold, "Bold", "x", "**x**"},
		{Bold, "Bold", "", ""},
		{Code, "Code", "results.db", "`results.db`"},
		{Code, "Code", "a`b", "``a`b``"},
		{Code, "Code", "`a", "`` `a ``"},
	}
	for _, tt := range tests {
		if got := tt.f(tt.in); got != tt.want {
			t.Errorf("%s(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestRowTooLongPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Errorf("Markdown() of a row longer than the header did not panic")
		}
	}()
	tb := New("a")
	tb.AddRow("1", "2")
	tb.Markdown()
}
