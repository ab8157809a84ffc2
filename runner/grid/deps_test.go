package grid

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoEngineDependency: reading a grid must not link the training engine
// (gorgonia and the simclr packages built on it); the settings and the
// run records come from simclr/config and simclr/metrics.
func TestNoEngineDependency(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps .: %v", err)
	}
	const simclr = "github.com/simclr-ablate/simclr-ablate/simclr"
	light := map[string]bool{simclr + "/config": true, simclr + "/metrics": true}
	deps := strings.Fields(string(out))
	for _, p := range deps {
		engine := p == simclr || strings.HasPrefix(p, simclr+"/") && !light[p]
		if strings.HasPrefix(p, "gorgonia.org/") || engine {
			t.Errorf("depends on %s", p)
		}
	}
	if len(deps) < 10 {
		t.Fatalf("go list -deps . listed %d packages, want the package and its imports: %q", len(deps), out)
	}
}
