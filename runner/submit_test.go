package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/simclr-ablate/simclr-ablate/internal/cli"
)

// submitDir copies experiments/smoke.toml into a fresh directory, makes
// it the working directory (runner submit writes under results/ there)
// and returns it.
func submitDir(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile("../experiments/smoke.toml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "experiments"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "experiments", "smoke.toml"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	return dir
}

// checkGolden compares got with testdata/<name>, after replacing the
// test's directory with /work/simclr-ablate; -update rewrites it.
func checkGolden(t *testing.T, name, got, dir string) {
	t.Helper()
	got = strings.ReplaceAll(got, dir, "/work/simclr-ablate")
	golden := filepath.Join(testdataDir, name)
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it); got:\n%s", golden, got)
	}
}

// testdataDir is the package's testdata, absolute (the submit tests change
// the working directory).
var testdataDir = func() string {
	d, err := filepath.Abs("testdata")
	if err != nil {
		panic(err)
	}
	return d
}()

func TestSubmitSlurmGolden(t *testing.T) {
	dir := submitDir(t)
	stdout, _ := mustRun(t, 0, "submit", "slurm", "experiments/smoke.toml", "--dry-run",
		"--runner", "/opt/simclr-ablate/bin/runner", "--report", "/opt/simclr-ablate/bin/report",
		"--shards", "2", "--max-parallel", "2", "--partition", "gpu", "--time", "2:00:00", "--cpus-per-task", "4", "--mem", "8G",
		"--sbatch-arg=--account=ablation", "--set", "seeds=[1, 2]")
	for _, want := range []string{
		"wrote results/slurm/smoke/array.sh, results/slurm/smoke/merge.sh and results/slurm/smoke/shards.json: 2 shards of the 6 cells of smoke (balanced by nominal cost)",
		"sbatch --parsable results/slurm/smoke/array.sh",
		"sbatch --parsable --dependency=afterany:<array job id> results/slurm/smoke/merge.sh",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("submit slurm --dry-run output lacks %q:\n%s", want, stdout)
		}
	}
	for _, f := range []string{"array.sh", "merge.sh", "shards.json"} {
		b, err := os.ReadFile(filepath.Join("results", "slurm", "smoke", f))
		if err != nil {
			t.Fatal(err)
		}
		checkGolden(t, "submit-"+f+".golden", string(b), dir)
	}
	if fi, err := os.Stat(filepath.Join("results", "slurm", "smoke", "array.sh")); err != nil || fi.Mode()&0o111 == 0 {
		t.Errorf("array.sh is not executable: %v", err)
	}
	if fi, err := os.Stat(filepath.Join("results", "slurm", "smoke", "logs")); err != nil || !fi.IsDir() {
		t.Errorf("the log directory (sbatch does not create it) is missing: %v", err)
	}
	for _, f := range []string{"array.sh", "merge.sh"} {
		if out, err := exec.Command("bash", "-n", filepath.Join("results", "slurm", "smoke", f)).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", f, err, out)
		}
	}
	// The shard map is the partition every task reads.
	m, err := readShardMap(filepath.Join("results", "slurm", "smoke", "shards.json"))
	if err != nil {
		t.Fatal(err)
	}
	g := loadGrid(t, "experiments/smoke.toml", "seeds=[1, 2]")
	n := 0
	for i := range 2 {
		cells, err := m.cellsOf(g, shard{i, 2}, "shards.json")
		if err != nil {
			t.Fatal(err)
		}
		n += len(cells)
	}
	if n != 6 {
		t.Errorf("the shard map's shards hold %d cells, want 6", n)
	}
}

func TestSubmitK8sGolden(t *testing.T) {
	dir := submitDir(t)
	stdout, stderr := mustRun(t, 0, "submit", "k8s", "experiments/smoke.toml", "--shards", "3", "--image", "ghcr.io/simclr-ablate/simclr-ablate:v1",
		"--max-parallel", "2", "--cpu", "2", "--memory", "4Gi")
	checkGolden(t, "submit-k8s.yaml.golden", stdout, dir)
	if !strings.Contains(stderr, "kubectl patch job/simclr-smoke-merge") {
		t.Errorf("stderr lacks how to start the merge: %s", stderr)
	}
	written, err := os.ReadFile(filepath.Join("results", "k8s", "smoke", "job.yaml"))
	if err != nil || string(written) != stdout {
		t.Errorf("results/k8s/smoke/job.yaml differs from what was printed (%v)", err)
	}

	// It is valid YAML with the shape Kubernetes wants.
	dec := yaml.NewDecoder(strings.NewReader(stdout))
	var docs []map[string]any
	for {
		var d map[string]any
		if err := dec.Decode(&d); err != nil {
			break
		}
		docs = append(docs, d)
	}
	if len(docs) != 3 {
		t.Fatalf("manifest has %d documents, want 3 (ConfigMap, Indexed Job, merge Job)", len(docs))
	}
	get := func(v any, path ...any) any {
		for _, p := range path {
			switch k := p.(type) {
			case string:
				m, _ := v.(map[string]any)
				v = m[k]
			case int:
				s, _ := v.([]any)
				if k >= len(s) {
					return nil
				}
				v = s[k]
			}
		}
		return v
	}
	src, _ := os.ReadFile("experiments/smoke.toml")
	if got := get(docs[0], "data", "smoke.toml"); got != string(src) {
		t.Errorf("the ConfigMap's grid differs from the file:\n%v", got)
	}
	job := docs[1]
	for _, c := range []struct {
		path []any
		want any
	}{
		{[]any{"kind"}, "Job"},
		{[]any{"spec", "completionMode"}, "Indexed"},
		{[]any{"spec", "completions"}, 3},
		{[]any{"spec", "parallelism"}, 2},
		{[]any{"spec", "template", "spec", "restartPolicy"}, "Never"},
		{[]any{"spec", "template", "spec", "containers", 0, "args", 3}, "3"},
		{[]any{"spec", "template", "spec", "containers", 0, "volumeMounts", 0, "mountPath"}, "/work/results"},
		{[]any{"spec", "template", "spec", "volumes", 0, "persistentVolumeClaim", "claimName"}, "simclr-results"},
		{[]any{"spec", "template", "spec", "containers", 0, "resources", "limits", "memory"}, "4Gi"},
	} {
		if got := get(job, c.path...); got != c.want {
			t.Errorf("Indexed Job %v = %v, want %v", c.path, got, c.want)
		}
	}
	merge := docs[2]
	if get(merge, "spec", "suspend") != true {
		t.Errorf("the merge Job is not created suspended")
	}
	args, _ := get(merge, "spec", "template", "spec", "initContainers", 0, "args").([]any)
	if len(args) != 8 || args[7] != "results/shards/smoke/2-of-3.db" {
		t.Errorf("merge args = %v, want the 3 shard files", args)
	}
}

func TestSubmitErrors(t *testing.T) {
	submitDir(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"submit"}, "which scheduler?"},
		{[]string{"submit", "pbs", "experiments/smoke.toml"}, `unknown scheduler "pbs" (valid: slurm, k8s)`},
		{[]string{"submit", "slurm"}, "want one grid file"},
		{[]string{"submit", "slurm", "experiments/smoke.toml", "--shards", "4", "--dry-run", "--report", "r"}, "--shards 4: the grid has 3 cells"},
		{[]string{"submit", "slurm", "experiments/smoke.toml", "--time", "2h", "--dry-run"}, `--time "2h": not a Slurm time`},
		{[]string{"submit", "slurm", "experiments/smoke.toml", "--mem", "lots", "--dry-run"}, `--mem "lots"`},
		{[]string{"submit", "slurm", "experiments/smoke.toml", "--sbatch-arg", "account=x", "--dry-run"}, "want an sbatch option"},
		{[]string{"submit", "slurm", "experiments/smoke.toml", "--job-name", "My Job", "--dry-run", "--report", "r"}, `job name "My Job"`},
		{[]string{"submit", "slurm", "experiments/nope.toml", "--dry-run"}, "nope.toml"},
		{[]string{"submit", "k8s", "experiments/smoke.toml", "--shards", "2"}, "--image is required"},
		{[]string{"submit", "k8s", "experiments/smoke.toml", "--image", "x"}, "--shards N is required"},
	} {
		code, stdout, stderr := runMain(t, c.args...)
		if code != cli.ExitBadInput || !strings.Contains(stderr, c.want) {
			t.Errorf("runner %s = exit %d, %q %q; want 2 and %q", strings.Join(c.args, " "), code, stdout, stderr, c.want)
		}
	}
	if _, err := os.Stat("results"); !os.IsNotExist(err) {
		t.Errorf("refused submissions wrote results/ (stat: %v)", err)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"results/results.db": "results/results.db",
		"seeds=[1, 2]":       "'seeds=[1, 2]'",
		"it's":               `'it'\''s'`,
		"":                   "''",
		"a b":                "'a b'",
		"$HOME":              "'$HOME'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestArraySelfRequeue runs array.sh as Slurm would, with fake runner
// and scontrol: USR1 (Slurm's warning before the time limit) makes the
// task requeue itself, and the script exits with the runner's status.
func TestArraySelfRequeue(t *testing.T) {
	dir := submitDir(t)
	bin := filepath.Join(dir, "bin")
	os.MkdirAll(bin, 0o755)
	// The fake runner waits for SIGTERM (as Slurm sends after a requeue)
	// and exits 130 at once, as the real one does. The fake scontrol
	// returns only once the runner has exited: the script must still
	// collect the runner's status after USR1 interrupted its wait.
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/bash\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write("runner", `echo $$ > "$(dirname "$0")/runner.pid"; trap 'kill $s; exit 130' TERM; echo "$@" > "$(dirname "$0")/runner.args"; while :; do sleep 10 >/dev/null 2>&1 & s=$!; wait $s; done`)
	write("scontrol", `echo "$@" >> "$(dirname "$0")/scontrol.log"; pid=$(cat "$(dirname "$0")/runner.pid"); kill -TERM "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.01; done`)
	mustRun(t, 0, "submit", "slurm", "experiments/smoke.toml", "--dry-run", "--runner", filepath.Join(bin, "runner"), "--report", filepath.Join(bin, "report"))

	cmd := exec.Command("bash", filepath.Join("results", "slurm", "smoke", "array.sh"))
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "SLURM_ARRAY_TASK_ID=1", "SLURM_ARRAY_TASK_COUNT=3",
		"SLURM_ARRAY_JOB_ID=77", "SLURM_JOB_ID=79", "SLURM_RESTART_COUNT=1")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(bin, "runner.args")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("array.sh did not start the runner:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("array.sh exit %d (%v), want the runner's 130\n%s", code, err, out.String())
	}
	log, _ := os.ReadFile(filepath.Join(bin, "scontrol.log"))
	if string(log) != "requeue 77_1\n" {
		t.Errorf("scontrol calls = %q, want requeue 77_1 (the task, not the array)", log)
	}
	if !strings.Contains(out.String(), "requeueing task 1 (restart 2 of 3)") {
		t.Errorf("array.sh output lacks the requeue line:\n%s", out.String())
	}
	args, _ := os.ReadFile(filepath.Join(bin, "runner.args"))
	if want := "run experiments/smoke.toml --shard-map results/slurm/smoke/shards.json --db results/shards/smoke/1-of-3.db"; !strings.HasPrefix(string(args), want) {
		t.Errorf("runner args = %q, want them to start %q", args, want)
	}
}
