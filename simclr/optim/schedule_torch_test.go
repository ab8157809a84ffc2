package optim

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// systemPython is Debian's interpreter, where python3-torch installs torch.
const systemPython = "/usr/bin/python3"

// TestScheduleMatchesTorchReplica checks that the PyTorch replica of a
// cell (bench/torch_reference_cell.py, which `make crosscheck` runs) sets
// the same learning rate as Schedule.LR at every step, for every kind of
// schedule, warm-up or not: a replica that ignored lr_schedule would
// compare a constant-rate Go cell with a cosine-decayed PyTorch one. It
// also checks that the replica refuses a config key it does not
// replicate. It needs torch in /usr/bin/python3 (the script imports it):
// skipped, saying so, only where that cannot import torch, and failing
// instead when CI is set (.ci/run installs it).
func TestScheduleMatchesTorchReplica(t *testing.T) {
	if out, err := exec.Command(systemPython, "-c", "import torch, torchvision").CombinedOutput(); err != nil {
		msg := systemPython + " cannot import torch and torchvision (Debian's python3-torch, python3-torchvision): " +
			strings.TrimSpace(string(out)+" "+err.Error())
		if os.Getenv("CI") != "" {
			t.Fatal(msg + "; .ci/run installs them")
		}
		t.Skip(msg)
	}
	bench, err := filepath.Abs("../../bench")
	if err != nil {
		t.Fatal(err)
	}
	cases := []Schedule{
		{Kind: "cosine", Peak: 1e-3, TotalSteps: 97},
		{Kind: "cosine", Peak: 0.3, WarmupSteps: 10, TotalSteps: 97},
		{Kind: "cosine", Peak: 0.3, WarmupSteps: 10, TotalSteps: 97, FinalFraction: 0.1},
		{Kind: "constant", Peak: 1e-3, TotalSteps: 97},
		{Kind: "constant", Peak: 1e-3, WarmupSteps: 39, TotalSteps: 97},
		{Kind: "step", Peak: 0.1, WarmupSteps: 5, TotalSteps: 97, Milestones: []int{30, 60}},
	}
	type pyCase struct {
		Kind       string  `json:"kind"`
		Peak       float64 `json:"peak"`
		Warmup     int     `json:"warmup"`
		Total      int     `json:"total"`
		Final      float64 `json:"final"`
		Milestones []int   `json:"milestones"`
	}
	var in []pyCase
	for _, c := range cases {
		if _, err := NewSchedule(c); err != nil {
			t.Fatal(err)
		}
		in = append(in, pyCase{c.Kind, c.Peak, c.WarmupSteps, c.TotalSteps, c.FinalFraction, append([]int{}, c.Milestones...)})
	}
	js, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	const script = `
import json, sys
sys.path.insert(0, sys.argv[1])
import torch_reference_cell as r
cases = json.loads(sys.argv[2])
out = [[r.schedule_lr(c["kind"], c["peak"], c["warmup"], c["total"], c["final"], c["milestones"], s)
        for s in range(c["total"] + 3)] for c in cases]
cfg = {"method": "simclr", "lr_schedul": "constant"}
try:
    r.check_config(cfg)
    refused = ""
except r.BadInput as e:
    refused = str(e)
print(json.dumps({"lr": out, "refused": refused}))
`
	cmd := exec.Command(systemPython, "-c", script, bench, string(js))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	var got struct {
		LR      [][]float64 `json:"lr"`
		Refused string      `json:"refused"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("python output %q: %v", out, err)
	}
	if len(got.LR) != len(cases) {
		t.Fatalf("python returned %d schedules, want %d", len(got.LR), len(cases))
	}
	for i, c := range cases {
		s, _ := NewSchedule(c)
		for step, py := range got.LR[i] {
			if want := s.LR(step); math.Abs(py-want) > 1e-12*math.Max(1, want) {
				t.Errorf("%+v step %d: replica lr %g, Schedule.LR %g", c, step, py, want)
			}
		}
	}
	if !strings.Contains(got.Refused, "lr_schedul") || !strings.Contains(got.Refused, "not replicated") {
		t.Errorf("replica check_config with an unknown key: %q, want an error naming lr_schedul", got.Refused)
	}
}
