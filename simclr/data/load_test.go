package data

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestNamesMatchConfig reads simclr.Datasets from ../config.go (parsed,
// not imported: package simclr imports this one) and checks Names equals it.
func TestNamesMatchConfig(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "../config.go", nil, 0)
	if err != nil {
		t.Fatalf("parse ../config.go: %v", err)
	}
	var datasets []string
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || vs.Names[0].Name != "Datasets" || len(vs.Values) != 1 {
			return true
		}
		lit, ok := vs.Values[0].(*ast.CompositeLit)
		if !ok {
			t.Fatalf("simclr.Datasets is not a composite literal")
		}
		for _, e := range lit.Elts {
			bl, ok := e.(*ast.BasicLit)
			if !ok {
				t.Fatalf("simclr.Datasets element %T is not a string literal", e)
			}
			s, err := strconv.Unquote(bl.Value)
			if err != nil {
				t.Fatal(err)
			}
			datasets = append(datasets, s)
		}
		return false
	})
	if !slices.Equal(Names, datasets) {
		t.Errorf("Names = %q, want simclr.Datasets = %q", Names, datasets)
	}
}

// TestLoadKnowsEveryName checks Load dispatches every listed name (the
// error, if any, is about the data, not the name).
func TestLoadKnowsEveryName(t *testing.T) {
	for _, name := range Names {
		_, _, err := Load(Spec{Name: name, Path: t.TempDir(), Size: 4, ImageSize: 8})
		if err != nil && strings.Contains(err.Error(), "unknown dataset") {
			t.Errorf("Load(%q) error = %v, want the name known", name, err)
		}
	}
}
