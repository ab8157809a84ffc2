package table

import (
	"strings"
	"unicode/utf8"
)

// Align is a column's alignment.
type Align int

// Alignments. Left is the zero value.
const (
	Left Align = iota
	Right
	Center
)

// Table is a header, optional per-column alignments and rows of cells.
// A row shorter than the header is padded with empty cells; a longer row
// panics when rendered (a programming error).
type Table struct {
	Header []string
	Align  []Align // per column; missing entries are Left
	Rows   [][]string
}

// New returns a table with the given header.
func New(header ...string) *Table { return &Table{Header: header} }

// AddRow appends a row of cells.
func (t *Table) AddRow(cells ...string) { t.Rows = append(t.Rows, cells) }

// SetAlign sets the alignment of column i (0-based).
func (t *Table) SetAlign(i int, a Align) {
	for len(t.Align) <= i {
		t.Align = append(t.Align, Left)
	}
	t.Align[i] = a
}

func (t *Table) align(i int) Align {
	if i < len(t.Align) {
		return t.Align[i]
	}
	return Left
}

// Markdown renders the table as GitHub-flavoured markdown, ending in a
// newline. Cells are inline markdown (escape plain text with Escape
// first); Markdown only keeps them inside their cell: line breaks become
// spaces and a "|" not already escaped becomes "\|".
func (t *Table) Markdown() string {
	cells := t.grid(cellSafe)
	widths := columnWidths(cells, 3)
	var b strings.Builder
	for r, row := range cells {
		b.WriteString("|")
		for i, c := range row {
			b.WriteString(" ")
			b.WriteString(pad(c, widths[i], t.align(i)))
			b.WriteString(" |")
		}
		b.WriteString("\n")
		if r == 0 {
			b.WriteString("|")
			for i, w := range widths {
				switch t.align(i) {
				case Right:
					b.WriteString(" " + strings.Repeat("-", w-1) + ": |")
				case Center:
					b.WriteString(" :" + strings.Repeat("-", w-2) + ": |")
				default:
					b.WriteString(" " + strings.Repeat("-", w) + " |")
				}
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// Text renders the table as aligned plain text: the header, a rule of
// dashes, then the rows, columns separated by two spaces, lines without
// trailing spaces.
func (t *Table) Text() string {
	cells := t.grid(oneLine)
	widths := columnWidths(cells, 1)
	var b strings.Builder
	line := func(row []string) {
		var l strings.Builder
		for i, c := range row {
			if i > 0 {
				l.WriteString("  ")
			}
			l.WriteString(pad(c, widths[i], t.align(i)))
		}
		b.WriteString(strings.TrimRight(l.String(), " "))
		b.WriteString("\n")
	}
	for r, row := range cells {
		line(row)
		if r == 0 {
			rule := make([]string, len(widths))
			for i, w := range widths {
				rule[i] = strings.Repeat("-", w)
			}
			line(rule)
		}
	}
	return b.String()
}

// grid returns header and rows as one rectangular [][]string with f
// applied to every cell.
func (t *Table) grid(f func(string) string) [][]string {
	n := len(t.Header)
	out := make([][]string, 0, len(t.Rows)+1)
	for _, row := range append([][]string{t.Header}, t.Rows...) {
		if len(row) > n {
			panic("table: row has more cells than the header")
		}
		r := make([]string, n)
		for i := range r {
			if i < len(row) {
				r[i] = f(row[i])
			}
		}
		out = append(out, r)
	}
	return out
}

func columnWidths(cells [][]string, min int) []int {
	w := make([]int, len(cells[0]))
	for i := range w {
		w[i] = min
	}
	for _, row := range cells {
		for i, c := range row {
			w[i] = max(w[i], utf8.RuneCountInString(c))
		}
	}
	return w
}

func pad(s string, w int, a Align) string {
	n := w - utf8.RuneCountInString(s)
	if n <= 0 {
		return s
	}
	switch a {
	case Right:
		return strings.Repeat(" ", n) + s
	case Center:
		return strings.Repeat(" ", n/2) + s + strings.Repeat(" ", n-n/2)
	}
	return s + strings.Repeat(" ", n)
}

var lineBreaks = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ")

func oneLine(s string) string { return lineBreaks.Replace(s) }

// cellSafe keeps inline markdown inside one table cell.
func cellSafe(s string) string {
	s = strings.TrimSpace(oneLine(s))
	if !strings.Contains(s, "|") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '|' && (i == 0 || s[i-1] != '\\') {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

var mdEscaper = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "|", `\|`, "<", "&lt;")

// Escape makes s safe as one markdown table cell: "|" becomes "\|", line
// breaks become spaces, and "<" becomes an entity so that text such as an
// error message cannot open an HTML tag.
func Escape(s string) string { return strings.TrimSpace(mdEscaper.Replace(s)) }

// Bold wraps a non-empty s in "**"; an empty s stays empty.
func Bold(s string) string {
	if s == "" {
		return s
	}
	return "**" + s + "**"
}

// Code wraps s in backticks for inline code, using a longer fence when s
// contains backticks, so it renders literally.
func Code(s string) string {
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}
