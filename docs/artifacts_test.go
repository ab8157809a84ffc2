package docs

import (
	"io/fs"
	"strings"
	"testing"
)

// TestArtifactsReaderIsTheTestedOne: the safetensors reader that
// artifacts.md shows is, word for word, the one of the PyTorch check that
// simclr's TestEncoderLoadsInPyTorch runs, so the snippet users copy is
// tested code; and the PyTorch replica of a cell (make crosscheck INIT=go,
// simclr's TestInitLoadsInTorchReplica) carries the same copy.
func TestArtifactsReaderIsTheTestedOne(t *testing.T) {
	reader := func(name string) string {
		b, err := fs.ReadFile(repo(), name)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		const first, last = "DTYPES = ", "    return tensors, meta\n"
		i := strings.Index(s, first)
		j := strings.Index(s, last)
		if i < 0 || j < i {
			t.Fatalf("%s: no reader from %q to %q", name, first, last)
		}
		return s[i : j+len(last)]
	}
	doc := reader("docs/artifacts.md")
	if !strings.Contains(doc, "def read_safetensors(path):") {
		t.Fatalf("docs/artifacts.md: no read_safetensors in its reader:\n%s", doc)
	}
	for _, name := range []string{"simclr/testdata/torch_encoder_check.py", "bench/torch_reference_cell.py"} {
		if code := reader(name); code != doc {
			t.Errorf("docs/artifacts.md's reader differs from %s's:\n%s\n---\n%s", name, doc, code)
		}
	}
}
