package docs

import (
	"bytes"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/text"
)

// documents lists the Markdown files the tests read, relative to the
// repository root: the README, every docs/*.md and the schema reference.
func documents(t *testing.T) []string {
	t.Helper()
	docs, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) == 0 {
		t.Fatal("no docs/*.md found")
	}
	files := []string{"README.md", "store/schema.md"}
	for _, d := range docs {
		files = append(files, "docs/"+d)
	}
	return files
}

// repo is the repository root, where the paths of documents start.
func repo() fs.FS { return os.DirFS("..") }

// doc is one parsed Markdown file.
type doc struct {
	name string // path from the repository root
	src  []byte
	root ast.Node
}

// parse reads name from fsys and parses it as GitHub-flavoured Markdown.
func parse(fsys fs.FS, name string) (*doc, error) {
	src, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	md := goldmark.New(goldmark.WithExtensions(extension.GFM))
	return &doc{name: name, src: src, root: md.Parser().Parse(text.NewReader(src))}, nil
}

// line returns the 1-based line of byte offset pos, or 0 when unknown.
func (d *doc) line(pos int) int {
	if pos < 0 || pos > len(d.src) {
		return 0
	}
	return 1 + bytes.Count(d.src[:pos], []byte("\n"))
}

// link is a link or image destination and the line it is on.
type link struct {
	dest string
	line int
}

// links returns the destinations of the document's links and images, in
// order. Text inside code spans and code blocks is not a link.
func (d *doc) links() []link {
	var out []link
	_ = ast.Walk(d.root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Link:
			out = append(out, link{string(n.Destination), d.line(n.Pos())})
		case *ast.Image:
			out = append(out, link{string(n.Destination), d.line(n.Pos())})
		}
		return ast.WalkContinue, nil
	})
	return out
}

// plain returns the text of n's inline children as a reader sees it:
// code spans and link texts included, markup left out.
func (d *doc) plain(n ast.Node) string {
	var b strings.Builder
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch c := c.(type) {
		case *ast.Text:
			b.Write(c.Segment.Value(d.src))
			if c.SoftLineBreak() || c.HardLineBreak() {
				b.WriteByte(' ')
			}
		case *ast.String:
			b.Write(c.Value)
		default:
			b.WriteString(d.plain(c))
		}
	}
	return b.String()
}

// anchors returns the fragment identifiers GitHub gives the document's
// headings: the slug of each heading's text, with "-1", "-2", ... added
// to repeats.
func (d *doc) anchors() map[string]bool {
	out := make(map[string]bool)
	seen := make(map[string]int)
	_ = ast.Walk(d.root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		h, ok := n.(*ast.Heading)
		if !entering || !ok {
			return ast.WalkContinue, nil
		}
		s := slug(d.plain(h))
		id := s
		if k := seen[s]; k > 0 {
			id = fmt.Sprintf("%s-%d", s, k)
		}
		seen[s]++
		out[id] = true
		return ast.WalkSkipChildren, nil
	})
	return out
}

// slug is GitHub's heading identifier (github-slugger): the text in lower
// case without anything but letters, marks, digits, connector punctuation
// such as '_', hyphens and spaces, and spaces turned into hyphens.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.Pc):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// checkLinks returns one line for each relative link of the documents
// files (paths in fsys) that does not resolve: to a path outside fsys, to
// a file or directory that does not exist, or, for a #fragment into a
// Markdown file, to a heading that file does not have. Links with a
// scheme (https:, mailto:) are not checked.
func checkLinks(fsys fs.FS, files []string) ([]string, error) {
	parsed := make(map[string]*doc)
	load := func(name string) (*doc, error) {
		if d, ok := parsed[name]; ok {
			return d, nil
		}
		d, err := parse(fsys, name)
		if err != nil {
			return nil, err
		}
		parsed[name] = d
		return d, nil
	}
	var problems []string
	for _, name := range files {
		d, err := load(name)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		for _, l := range d.links() {
			u, err := url.Parse(l.dest)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s:%d: %s: %v", name, l.line, l.dest, err))
				continue
			}
			if u.Scheme != "" || u.Host != "" {
				continue
			}
			target := name
			if u.Path != "" {
				target = path.Join(path.Dir(name), u.Path)
			}
			if !fs.ValidPath(target) {
				problems = append(problems, fmt.Sprintf("%s:%d: %s: leads outside the repository", name, l.line, l.dest))
				continue
			}
			if _, err := fs.Stat(fsys, target); err != nil {
				problems = append(problems, fmt.Sprintf("%s:%d: %s: no such file %s", name, l.line, l.dest, target))
				continue
			}
			if u.Fragment == "" || path.Ext(target) != ".md" {
				continue
			}
			td, err := load(target)
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", target, err)
			}
			if !td.anchors()[u.Fragment] {
				problems = append(problems, fmt.Sprintf("%s:%d: %s: %s has no heading #%s", name, l.line, l.dest, target, u.Fragment))
			}
		}
	}
	return problems, nil
}
