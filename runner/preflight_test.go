package main

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// preflightBad lists every grid of testdata/bad: each parses and validates
// (grid.Load accepts it) but names dataset files that are not there, with
// the line, key and a fragment of the message runner must print.
var preflightBad = []struct {
	file string
	line int
	key  string
	msg  string
}{
	{"cifar10_missing.toml", 4, "base.path", "missing /nonexistent/cifar-10-batches-bin/data_batch_1.bin: file does not exist; run `make data-cifar10`"},
	{"cifar10_without_path.toml", 2, "base.path", "cifar10 needs path, the folder of data_batch_1.bin … test_batch.bin: run `make data-cifar10`"},
	{"fashion_mnist_color_missing_path.toml", 12, "variant[2].path", "missing /nonexistent/fashion-mnist/train-images-idx3-ubyte (or "},
	{"fashion_mnist_missing_path.toml", 3, "base.path", "run `make data` (apt-get install dataset-fashion-mnist"},
	{"imagefolder_empty_class.toml", 4, "base.path", "class folder testdata/folders/empty-class/dog has no .png, .jpg or .jpeg images"},
	{"imagefolder_missing_path.toml", 4, "base.path", "open /nonexistent/images: no such file or directory (want a folder of class folders"},
	{"imagefolder_missing_test_path.toml", 5, "base.test_path", "open /nonexistent/test: no such file or directory"},
	{"imagefolder_test_classes_differ.toml", 5, "base.test_path", "only in path: [dog], only in test_path: [wolf]"},
	{"missing_path_in_later_variant.toml", 13, "variant[2].path", "open /nonexistent/images: no such file or directory"},
	{"missing_path_on_axis.toml", 6, "grid.path", "open /nonexistent/images: no such file or directory"},
	{"mnist_missing_files.toml", 4, "base.path", "missing testdata/folders/good/train-images-idx3-ubyte"},
	{"mnist_without_path.toml", 2, "base.path", "mnist needs path, the folder of its IDX files"},
}

// TestPreflightBadGrids: a grid whose data is missing stops run and plan
// before anything runs: exit status 2, one line "file:line: key: msg"
// naming the missing path and how to get the data, nothing written.
func TestPreflightBadGrids(t *testing.T) {
	var onDisk, listed []string
	entries, err := os.ReadDir("testdata/bad")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		onDisk = append(onDisk, e.Name())
	}
	for _, tc := range preflightBad {
		listed = append(listed, tc.file)
	}
	if !slices.Equal(onDisk, listed) {
		t.Fatalf("testdata/bad holds %v,\npreflightBad lists %v", onDisk, listed)
	}

	dir := t.TempDir()
	for _, tc := range preflightBad {
		f := filepath.Join("testdata", "bad", tc.file)
		db := filepath.Join(dir, strings.TrimSuffix(tc.file, ".toml"), "results.db")
		prefix := "runner: " + f + ":" + strconv.Itoa(tc.line) + ": " + tc.key + ": "
		for _, cmd := range []string{"run", "plan"} {
			code, stdout, stderr := runMain(t, cmd, f, "--db", db)
			msg := strings.TrimSpace(stderr)
			if code != 2 || !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, tc.msg) || strings.Contains(msg, "\n") || stdout != "" {
				t.Errorf("runner %s %s = exit %d, stderr %q, stdout %q;\nwant exit 2 and one line starting %q containing %q",
					cmd, f, code, msg, stdout, prefix, tc.msg)
			}
		}
		if _, err := os.Stat(filepath.Dir(db)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("runner run %s created %s (stat: %v), want nothing written", f, filepath.Dir(db), err)
		}
	}
}

// TestPreflight covers the overrides and the data that is there.
func TestPreflight(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.db")
	good := filepath.Join(dir, "folder.toml")
	src := "name = \"folder\"\n[base]\ndataset = \"imagefolder\"\npath = \"testdata/folders/good\"\nimage_size = 8\n"
	if err := os.WriteFile(good, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		code int
		out  string // a fragment of stdout (code 0) or stderr
	}{
		{[]string{"plan", good, "--db", missing}, 0, "folder"},
		{[]string{"run", good, "--dry-run", "--db", missing}, 0, "folder"},
		{[]string{"plan", good, "--set", "test_path=testdata/folders/good", "--db", missing}, 0, "folder"},
		{[]string{"plan", good, "--set", "path=/nonexistent/images", "--db", missing}, 2,
			"runner: --set path=/nonexistent/images: path: imagefolder: open /nonexistent/images: no such file or directory"},
		{[]string{"run", good, "--set", "test_path=testdata/folders/other-classes", "--db", missing}, 2,
			"runner: --set test_path=testdata/folders/other-classes: test_path: imagefolder: class folders differ"},
		{[]string{"run", "testdata/tiny.toml", "--set", "dataset=cifar10", "--set", "path=/nonexistent/cifar", "--db", missing}, 2,
			"runner: --set path=/nonexistent/cifar: path: cifar10: missing /nonexistent/cifar/data_batch_1.bin"},
	}
	for _, tt := range tests {
		code, stdout, stderr := runMain(t, tt.args...)
		where := stderr
		if code == 0 {
			where = stdout
		}
		if code != tt.code || !strings.Contains(where, tt.out) {
			t.Errorf("runner %s = exit %d, want %d with %q in\nstdout: %s\nstderr: %s",
				strings.Join(tt.args, " "), code, tt.code, tt.out, stdout, stderr)
		}
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("plan, a dry run and refused runs created %s (stat: %v)", missing, err)
	}
}
