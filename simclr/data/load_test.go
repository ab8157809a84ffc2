package data

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/simclr-ablate/simclr-ablate/simclr/config"
)

// TestEveryDatasetImplemented: every name of config.Datasets has a loader
// and every loader a name.
func TestEveryDatasetImplemented(t *testing.T) {
	for _, name := range config.Datasets {
		if _, ok := datasets[name]; !ok {
			t.Errorf("dataset %q of config.Datasets has no loader", name)
		}
	}
	for name, d := range datasets {
		if !slices.Contains(config.Datasets, name) {
			t.Errorf("dataset %q has a loader but is not in config.Datasets", name)
		}
		if d.load == nil {
			t.Errorf("dataset %q has no load function", name)
		}
	}
}

// TestLoadKnowsEveryName checks Load dispatches every listed name (the
// error, if any, is about the data, not the name).
func TestLoadKnowsEveryName(t *testing.T) {
	for _, name := range config.Datasets {
		_, _, err := Load(Spec{Name: name, Path: t.TempDir(), Size: 4, ImageSize: 8})
		if err != nil && strings.Contains(err.Error(), "unknown dataset") {
			t.Errorf("Load(%q) error = %v, want the name known", name, err)
		}
	}
}

// TestCheck: Check accepts the data Load reads, and for missing data
// names the setting to change, the missing file and how to get it,
// without reading the data.
func TestCheck(t *testing.T) {
	mnistDir, cifarDir, cifarParent, folder, testFolder := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	mnistFixture{n: 4, m: 2, h: 2, w: 2, gz: true}.write(t, mnistDir)
	writeCIFAR(t, cifarDir, 1)
	writeCIFAR(t, filepath.Join(cifarParent, "cifar-10-batches-bin"), 1)
	writeFolder(t, folder, 3)
	writeFolder(t, testFolder, 3)
	otherClasses := t.TempDir()
	writeFolder(t, otherClasses, 3)
	if err := os.Rename(filepath.Join(otherClasses, "dog"), filepath.Join(otherClasses, "wolf")); err != nil {
		t.Fatal(err)
	}
	emptyClass := t.TempDir()
	writeFolder(t, emptyClass, 3)
	if err := os.MkdirAll(filepath.Join(emptyClass, "eel"), 0o755); err != nil {
		t.Fatal(err)
	}
	noTestBatch := t.TempDir()
	writeCIFAR(t, noTestBatch, 1)
	os.Remove(filepath.Join(noTestBatch, "test_batch.bin"))
	noLabels := t.TempDir()
	mnistFixture{n: 4, m: 2, h: 2, w: 2}.write(t, noLabels)
	os.Remove(filepath.Join(noLabels, "t10k-labels-idx1-ubyte"))
	// An empty default location: Fashion-MNIST not installed.
	defer func(p string) { fashionMNIST.defaultPath = p }(fashionMNIST.defaultPath)
	fashionMNIST.defaultPath = filepath.Join(t.TempDir(), "fashion-mnist")

	tests := []struct {
		name string
		cfg  func(*config.Config)
		key  string   // "" = no error
		want []string // fragments of the message
	}{
		{"synthetic reads nothing", func(c *config.Config) { c.Dataset = "synthetic" }, "", nil},
		{"fashion-mnist at a path", func(c *config.Config) { c.Path = mnistDir }, "", nil},
		{"fashion-mnist-color at a path", func(c *config.Config) { c.Dataset, c.Path = "fashion-mnist-color", mnistDir }, "", nil},
		{"mnist at a path", func(c *config.Config) { c.Dataset, c.Path = "mnist", mnistDir }, "", nil},
		{"cifar10", func(c *config.Config) { c.Dataset, c.Path = "cifar10", cifarDir }, "", nil},
		{"cifar10 archive parent", func(c *config.Config) { c.Dataset, c.Path = "cifar10", cifarParent }, "", nil},
		{"imagefolder split", func(c *config.Config) { c.Dataset, c.Path = "imagefolder", folder }, "", nil},
		{"imagefolder test root", func(c *config.Config) { c.Dataset, c.Path, c.TestPath = "imagefolder", folder, testFolder }, "", nil},

		{"fashion-mnist default location empty", func(c *config.Config) {}, "dataset",
			[]string{fashionMNIST.defaultPath, "train-images-idx3-ubyte", "make data", "apt-get install dataset-fashion-mnist", "default location"}},
		{"fashion-mnist-color default location empty", func(c *config.Config) { c.Dataset = "fashion-mnist-color" }, "dataset",
			[]string{fashionMNIST.defaultPath, "make data"}},
		{"fashion-mnist missing path", func(c *config.Config) { c.Path = "/nonexistent/images" }, "path",
			[]string{"/nonexistent/images/train-images-idx3-ubyte", "make data"}},
		{"mnist without path", func(c *config.Config) { c.Dataset = "mnist" }, "path", []string{"mnist needs path"}},
		{"mnist missing test labels", func(c *config.Config) { c.Dataset, c.Path = "mnist", noLabels }, "path",
			[]string{"t10k-labels-idx1-ubyte", "MNIST database"}},
		{"cifar10 without path", func(c *config.Config) { c.Dataset = "cifar10" }, "path", []string{"cifar10 needs path", "make data-cifar10"}},
		{"cifar10 missing folder", func(c *config.Config) { c.Dataset, c.Path = "cifar10", "/nonexistent/cifar" }, "path",
			[]string{"/nonexistent/cifar/data_batch_1.bin", "make data-cifar10"}},
		{"cifar10 missing test batch", func(c *config.Config) { c.Dataset, c.Path = "cifar10", noTestBatch }, "path",
			[]string{"test_batch.bin", "make data-cifar10"}},
		{"imagefolder missing root", func(c *config.Config) { c.Dataset, c.Path = "imagefolder", "/nonexistent/images" }, "path",
			[]string{"/nonexistent/images", "no such file", "<class>/*.png"}},
		{"imagefolder empty class folder", func(c *config.Config) { c.Dataset, c.Path = "imagefolder", emptyClass }, "path",
			[]string{"eel", "has no .png"}},
		{"imagefolder missing test root", func(c *config.Config) {
			c.Dataset, c.Path, c.TestPath = "imagefolder", folder, "/nonexistent/test"
		}, "test_path", []string{"/nonexistent/test", "no such file"}},
		{"imagefolder test classes differ", func(c *config.Config) {
			c.Dataset, c.Path, c.TestPath = "imagefolder", folder, otherClasses
		}, "test_path", []string{"class folders differ", "wolf"}},
		{"unknown dataset", func(c *config.Config) { c.Dataset = "mnits" }, "dataset", []string{`unknown value "mnits"`}},
	}
	for _, tt := range tests {
		cfg := config.DefaultConfig()
		tt.cfg(&cfg)
		err := Check(cfg)
		if tt.key == "" {
			if err != nil {
				t.Errorf("%s: Check = %v, want nil", tt.name, err)
			}
			continue
		}
		var fe *config.FieldError
		if !errors.As(err, &fe) || fe.Key != tt.key {
			t.Errorf("%s: Check = %v, want a *config.FieldError on %s", tt.name, err, tt.key)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: Check = %q, want it to contain %q", tt.name, err, w)
			}
		}
		if strings.ContainsAny(err.Error(), "\r\n") {
			t.Errorf("%s: Check = %q, want one line", tt.name, err)
		}
	}
}
