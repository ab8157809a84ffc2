package grid

import (
	"strconv"
	"strings"
)

// locate maps the key paths of a TOML document to the 1-based line where
// each is written, because BurntSushi/toml keeps key positions private.
// It is only run on documents toml has already parsed, so it needs to
// understand valid TOML only.
//
// Paths join keys with dots, and number the tables of an array of tables
// from 1: "name", "base" (the [base] header), "base.epochs",
// "variant[2]" (the second [[variant]] header), "variant[2].label",
// "variant" (the first [[variant]] header). Keys inside inline tables are
// not recorded; [line] falls back to the enclosing key.
func locate(src string) map[string]int {
	lines := map[string]int{}
	record := func(path string, n int) {
		if _, ok := lines[path]; !ok {
			lines[path] = n
		}
	}
	var (
		st     valueScanner
		prefix string
		counts = map[string]int{}
	)
	for i, line := range strings.Split(src, "\n") {
		n := i + 1
		if st.depth > 0 || st.ml != 0 {
			st.scan(line) // inside a multi-line array, inline table or string
			continue
		}
		t := strings.TrimLeft(line, " \t")
		if t == "" || t[0] == '#' {
			continue
		}
		if t[0] == '[' {
			array := strings.HasPrefix(t, "[[")
			rest := strings.TrimPrefix(t[1:], "[")
			parts, _, ok := parseKey(rest)
			if !ok {
				continue
			}
			name := strings.Join(parts, ".")
			prefix = name
			if array {
				counts[name]++
				record(name, n)
				prefix = name + "[" + strconv.Itoa(counts[name]) + "]"
			}
			record(prefix, n)
			continue
		}
		parts, rest, ok := parseKey(t)
		if !ok || !strings.HasPrefix(rest, "=") {
			continue
		}
		path := strings.Join(parts, ".")
		if prefix != "" {
			path = prefix + "." + path
		}
		// A dotted key defines its parents too ("base.epochs = 1" at the
		// top level makes the table base).
		for j := 1; j < len(parts); j++ {
			p := strings.Join(parts[:j], ".")
			if prefix != "" {
				p = prefix + "." + p
			}
			record(p, n)
		}
		record(path, n)
		st.scan(rest[1:])
	}
	return lines
}

// parseKey reads a dotted key (bare, "basic" or 'literal' parts) from the
// start of s and returns its parts and what follows, trimmed of leading
// blanks.
func parseKey(s string) (parts []string, rest string, ok bool) {
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return nil, "", false
		}
		switch s[0] {
		case '"':
			end := 1
			for end < len(s) && s[end] != '"' {
				if s[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(s) {
				return nil, "", false
			}
			part, err := strconv.Unquote(s[:end+1])
			if err != nil {
				part = s[1:end]
			}
			parts = append(parts, part)
			s = s[end+1:]
		case '\'':
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				return nil, "", false
			}
			parts = append(parts, s[1:1+end])
			s = s[end+2:]
		default:
			end := 0
			for end < len(s) && isBare(s[end]) {
				end++
			}
			if end == 0 {
				return nil, "", false
			}
			parts = append(parts, s[:end])
			s = s[end:]
		}
		s = strings.TrimLeft(s, " \t")
		if !strings.HasPrefix(s, ".") {
			return parts, s, true
		}
		s = s[1:]
	}
}

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// valueScanner follows a TOML value across lines: how deep it is in
// brackets and braces, and whether it is inside a multi-line string.
type valueScanner struct {
	depth int
	ml    byte // 0, '"' inside """...""", '\'' inside '''...'''
}

func (st *valueScanner) scan(line string) {
	for i := 0; i < len(line); i++ {
		switch st.ml {
		case '"':
			if line[i] == '\\' {
				i++
			} else if strings.HasPrefix(line[i:], `"""`) {
				st.ml = 0
				i += 2
			}
			continue
		case '\'':
			if strings.HasPrefix(line[i:], `'''`) {
				st.ml = 0
				i += 2
			}
			continue
		}
		switch c := line[i]; c {
		case '#':
			return
		case '"':
			if strings.HasPrefix(line[i:], `"""`) {
				st.ml = '"'
				i += 2
				continue
			}
			for i++; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' {
					i++
				}
			}
		case '\'':
			if strings.HasPrefix(line[i:], `'''`) {
				st.ml = '\''
				i += 2
				continue
			}
			for i++; i < len(line) && line[i] != '\''; i++ {
			}
		case '[', '{':
			st.depth++
		case ']', '}':
			st.depth--
		}
	}
}

// line returns the line of path in lines, falling back to the nearest
// enclosing key ("variant[2].label" → "variant[2]" → "variant"), or 0.
func line(lines map[string]int, path string) int {
	for path != "" {
		if n, ok := lines[path]; ok {
			return n
		}
		if strings.HasSuffix(path, "]") {
			if i := strings.LastIndexByte(path, '['); i > 0 {
				path = path[:i]
				continue
			}
		}
		i := strings.LastIndexByte(path, '.')
		if i < 0 {
			return 0
		}
		path = path[:i]
	}
	return 0
}
