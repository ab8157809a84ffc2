package docs

import (
	"io/fs"
	"strings"
	"testing"
)

// TestArtifactsReaderIsTheTestedOne: the safetensors reader that
// artifacts.md shows is, word for word, the one of the PyTorch check that
// simclr's TestEncoderLoadsInPyTorch runs, so the snippet users copy is
// tested code.
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
	doc, check := reader("docs/artifacts.md"), reader("simclr/testdata/torch_encoder_check.py")
	if !strings.Contains(doc, "def read_safetensors(path):") || doc != check {
		t.Errorf("docs/artifacts.md's reader differs from simclr/testdata/torch_encoder_check.py's:\n%s\n---\n%s", doc, check)
	}
}
