package config

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoEngineDependency: the packages that only read or write settings
// and results must not link the training engine (gorgonia and the simclr
// packages built on it); settings come from this package and run records
// from simclr/metrics.
func TestNoEngineDependency(t *testing.T) {
	const (
		module = "github.com/simclr-ablate/simclr-ablate"
		simclr = module + "/simclr"
	)
	light := map[string]bool{simclr + "/config": true, simclr + "/metrics": true}
	for _, pkg := range []string{"report", "store", "runner/grid"} {
		out, err := exec.Command("go", "list", "-deps", module+"/"+pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		deps := strings.Fields(string(out))
		if len(deps) < 10 {
			t.Fatalf("go list -deps %s listed %d packages, want the package and its imports: %q", pkg, len(deps), out)
		}
		for _, p := range deps {
			engine := p == simclr || strings.HasPrefix(p, simclr+"/") && !light[p]
			if strings.HasPrefix(p, "gorgonia.org/") || engine {
				t.Errorf("%s depends on %s", pkg, p)
			}
		}
	}
}
