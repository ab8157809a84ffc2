package data

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLoadCIFAR10(t *testing.T) {
	dir := t.TempDir()
	writeCIFAR(t, dir, 3)
	train, test, err := Load(Spec{Name: "cifar10", Path: dir})
	if err != nil {
		t.Fatalf("Load(cifar10) error: %v", err)
	}
	if train.N != 15 || test.N != 3 || train.C != 3 || train.H != 32 || train.W != 32 || len(train.Images) != 15*3072 {
		t.Fatalf("Load(cifar10) = %d train, %d test of %d×%d×%d, want 15, 3 of 3×32×32", train.N, test.N, train.C, train.H, train.W)
	}
	want := cifarRecords(15, 0)
	for i := range 15 {
		rec := want[i*cifarRecord : (i+1)*cifarRecord]
		if train.Labels[i] != int(rec[0]) {
			t.Fatalf("train label %d = %d, want %d", i, train.Labels[i], rec[0])
		}
		for j, v := range train.Image(i) {
			if w := float32(rec[1+j]) / 255; v != w {
				t.Fatalf("train image %d pixel %d = %v, want %v (record bytes in CHW order)", i, j, v, w)
			}
		}
	}
	if test.Labels[0] != 0 || test.Images[1] != float32((1000+3)%256)/255 {
		t.Errorf("test image 0 = label %d, pixel 1 %v, want the first record of test_batch.bin", test.Labels[0], test.Images[1])
	}
	if !slices.Equal(train.Classes, CIFAR10Classes) {
		t.Errorf("Load(cifar10) without batches.meta.txt: classes = %v, want %v", train.Classes, CIFAR10Classes)
	}

	// batches.meta.txt names the classes; the parent folder works too.
	names := "a0\na1\na2\na3\na4\na5\na6\na7\na8\na9\n\n"
	writeFile(t, filepath.Join(dir, "batches.meta.txt"), []byte(names))
	parent := t.TempDir()
	if err := os.Rename(dir, filepath.Join(parent, "cifar-10-batches-bin")); err != nil {
		t.Fatal(err)
	}
	train2, _, err := Load(Spec{Name: "cifar10", Path: parent})
	if err != nil {
		t.Fatalf("Load(cifar10) from the archive's parent folder error: %v", err)
	}
	if want := strings.Fields(names); !slices.Equal(train2.Classes, want) {
		t.Errorf("Load(cifar10) classes = %v, want %v from batches.meta.txt", train2.Classes, want)
	}
	if train2.Checksum() != train.Checksum() {
		t.Error("Load(cifar10) images differ between the folder and its parent")
	}
}

func TestLoadCIFAR10Errors(t *testing.T) {
	tests := []struct {
		name   string
		file   string
		data   []byte // nil removes the file
		want   []string
		notExi bool
	}{
		{"missing batch", "data_batch_3.bin", nil, []string{"data_batch_3.bin", "make data-cifar10"}, true},
		{"missing test", "test_batch.bin", nil, []string{"test_batch.bin", "make data-cifar10"}, true},
		{"truncated record", "data_batch_2.bin", cifarRecords(2, 0)[:cifarRecord+100], []string{"data_batch_2.bin", "truncated record 1"}, false},
		{"empty", "data_batch_1.bin", []byte{}, []string{"data_batch_1.bin", "empty"}, false},
		{"label range", "test_batch.bin", append(cifarRecords(1, 0), append([]byte{10}, make([]byte, cifarPixels)...)...), []string{"test_batch.bin", "record 1: label 10 out of range [0, 10)"}, false},
		{"label beyond meta", "data_batch_1.bin", append([]byte{3}, make([]byte, cifarPixels)...), []string{"data_batch_1.bin", "label 3 out of range [0, 3)"}, false},
		{"empty meta", "batches.meta.txt", []byte("\n\n"), []string{"batches.meta.txt", "0 names"}, false},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		writeCIFAR(t, dir, 2)
		if tt.name == "label beyond meta" {
			writeFile(t, filepath.Join(dir, "batches.meta.txt"), []byte("x\ny\nz\n"))
		}
		p := filepath.Join(dir, tt.file)
		if tt.data == nil {
			os.Remove(p)
		} else {
			writeFile(t, p, tt.data)
		}
		_, _, err := Load(Spec{Name: "cifar10", Path: dir})
		if err == nil {
			t.Errorf("%s: Load(cifar10) error = nil, want one naming %q", tt.name, tt.want)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: Load(cifar10) error = %q, want it to contain %q", tt.name, err, w)
			}
		}
		if got := errors.Is(err, fs.ErrNotExist); got != tt.notExi {
			t.Errorf("%s: errors.Is(err, fs.ErrNotExist) = %v, want %v", tt.name, got, tt.notExi)
		}
	}
}
