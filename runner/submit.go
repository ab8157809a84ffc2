package main

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/simclr-ablate/simclr-ablate/internal/cli"
	"github.com/simclr-ablate/simclr-ablate/runner/grid"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	// q quotes a string for YAML (a JSON string is a YAML double-quoted
	// scalar).
	"q": func(s string) string {
		b, _ := json.Marshal(s)
		return string(b)
	},
}).ParseFS(templateFS, "templates/*.tmpl"))

// SubmitCommand is `runner submit`: it hands a grid to a cluster's
// scheduler as an array of shards plus a merge, and returns.
type SubmitCommand struct {
	Stdout io.Writer
	Stderr io.Writer
}

const submitUsage = `
Usage:

	runner submit slurm FILE.toml [--shards N] [--max-parallel K] [--partition P]
	                    [--time T] [--cpus-per-task C] [--mem M] [--dry-run] [flags]
	runner submit k8s FILE.toml --shards N --image IMG [--pvc NAME] [flags]

slurm splits the grid into N shards (default: one a cell) and writes, under
<db dir>/slurm/<experiment>/:

	shards.json  the partition: which cells each shard runs, balanced by
	             estimated cost (the plan's estimates from --db where it
	             has them, else the cells' sizes), fixed for every task and
	             every requeue
	array.sh     the job array: task I runs runner run FILE --shard I/N
	             into <db dir>/shards/<experiment>/<I>-of-<N>.db, resuming
	             interrupted cells; near the time limit it requeues itself
	merge.sh     runner merge of the shards into --db, report build, and
	             runner status

then submits array.sh with sbatch and merge.sh with
--dependency=afterany on the array, prints both job ids (also kept in
jobs.json) and returns: nothing stays running on this host. runner status
FILE shows the shards' progress. With --dry-run the files are written and
the sbatch commands printed, not run. The runner and report binaries, the
grid file and the results directory must be on storage every node sees.

k8s prints (and writes to <db dir>/k8s/<experiment>/job.yaml) a ConfigMap
holding the grid, an Indexed Job of N pods (each runs runner run --shards N
with its JOB_COMPLETION_INDEX) on a ReadWriteMany volume claim for results,
and a suspended merge Job to resume once the Indexed Job has completed.
`

// Run runs the command.
func (c *SubmitCommand) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return cli.Usagef("submit: which scheduler? (usage: runner submit slurm|k8s FILE.toml [flags])")
	}
	switch args[0] {
	case "slurm":
		return c.slurm(ctx, args[1:])
	case "k8s", "kubernetes":
		return c.k8s(ctx, args[1:])
	case "-h", "-help", "--help":
		fmt.Fprint(c.Stdout, strings.TrimLeft(submitUsage, "\n"))
		return nil
	}
	return cli.Usagef("submit: unknown scheduler %q (valid: slurm, k8s)", args[0])
}

// submitFlags are the flags of both schedulers.
type submitFlags struct {
	shards      int
	maxParallel int
	sets        cli.StringList
	db          string
	maxCells    int
	jobName     string
}

func addSubmitFlags(fs *flag.FlagSet) *submitFlags {
	sf := &submitFlags{}
	fs.IntVar(&sf.shards, "shards", 0, "split the grid into `N` shards, one task each (slurm default: one a cell)")
	fs.IntVar(&sf.maxParallel, "max-parallel", 0, "run at most `K` shards at once (0: as many as the scheduler allows)")
	fs.Var(&sf.sets, "set", "override a setting in every cell, `key=value` (repeatable), as run --set")
	fs.StringVar(&sf.db, "db", defaultDB, "the merged results database `file`: estimates are read from it, the shards merged into it; shards, scripts and logs go beside it")
	fs.IntVar(&sf.maxCells, "max-cells", 0, "refuse grids of more than `N` cells (0: the file's max_cells, else 10000)")
	fs.StringVar(&sf.jobName, "job-name", "", "the job's `name` (default simclr-<experiment>)")
	return sf
}

// layout is where a submitted grid's files go, relative to the working
// directory (the jobs run there too).
type layout struct {
	root     string // the merged database's directory
	shardDir string // <root>/shards/<experiment>
	jobDir   string // <root>/<scheduler>/<experiment>
}

func newLayout(db, scheduler, exp string) layout {
	root := filepath.Dir(db)
	return layout{root: root, shardDir: filepath.Join(root, "shards", exp), jobDir: filepath.Join(root, scheduler, exp)}
}

// plan loads the grid and decides the number of shards.
func (sf *submitFlags) plan(cmd, gridPath string, defaultShards func(cells int) int) (*grid.Grid, int, error) {
	switch {
	case sf.shards < 0:
		return nil, 0, cli.Usagef("submit %s: --shards %d: must be at least 1", cmd, sf.shards)
	case sf.maxParallel < 0:
		return nil, 0, cli.Usagef("submit %s: --max-parallel %d: must be at least 1 (0: no limit)", cmd, sf.maxParallel)
	case sf.maxCells < 0:
		return nil, 0, cli.Usagef("submit %s: --max-cells %d: must be positive", cmd, sf.maxCells)
	}
	if fi, err := os.Stat(sf.db); err == nil && fi.IsDir() {
		return nil, 0, cli.BadInput(fmt.Errorf("submit %s: --db %s is a directory, not a results database file", cmd, sf.db))
	}
	g, err := grid.Load(gridPath, grid.Options{Set: sf.sets, MaxCells: sf.maxCells})
	if err != nil {
		return nil, 0, err
	}
	n := sf.shards
	if n == 0 {
		n = defaultShards(len(g.Cells))
	}
	if n > len(g.Cells) {
		return nil, 0, cli.Usagef("submit %s: --shards %d: the grid has %d %s, so some shards would have none", cmd, n, len(g.Cells), plural(len(g.Cells), "cell", "cells"))
	}
	if sf.jobName == "" {
		sf.jobName = "simclr-" + g.Name
	}
	if !jobNameRE.MatchString(sf.jobName) {
		return nil, 0, cli.Usagef("submit %s: job name %q: use lower-case letters, digits and '-' (set --job-name)", cmd, sf.jobName)
	}
	return g, n, nil
}

// jobNameRE: a Kubernetes object name (DNS label, room for "-merge"),
// which is also a fine Slurm job name.
var jobNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?$`)

// shardMapFor partitions the grid into n shards by the plan's estimates
// from the database at db (when it exists), else by nominal cost.
func shardMapFor(ctx context.Context, stderr io.Writer, g *grid.Grid, n int, db string) *shardMap {
	plans := make([]cellPlan, len(g.Cells))
	if err := planFromDB(ctx, g, db, plans); err != nil {
		fmt.Fprintf(stderr, "runner: shards balanced without estimates: %s\n", cli.OneLine(err.Error()))
		plans = nil
	}
	costs, unit := cellCosts(g.Cells, plans)
	return newShardMap(g, n, costs, unit)
}

// Slurm's --time formats: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM,
// D-HH:MM:SS; --mem: a size with an optional unit.
var (
	slurmTimeRE = regexp.MustCompile(`^(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d{1,2}|\d+-\d{1,2}:\d{1,2}|\d+-\d{1,2}:\d{1,2}:\d{1,2}|UNLIMITED|unlimited|infinite)$`)
	slurmMemRE  = regexp.MustCompile(`^\d+[KMGT]?$`)
)

// slurmScript is what the Slurm templates are filled with. Paths are
// shell-quoted (they may hold spaces).
type slurmScript struct {
	Experiment, JobName string
	Grid                string // as given, relative to Dir
	Cells, Shards, Last int
	MaxParallel         int
	Dir                 string // the working directory of the jobs: where submit ran
	LogDir, ShardDir    string
	ShardMap            string
	Checkpoints         string
	DB, Out             string
	Runner, Report      string
	Sets                []string
	Directives          []string // #SBATCH lines of the array (without the prefix)
	MergeDirectives     []string // of the merge job
	Grace               int      // seconds before the time limit the task requeues itself
	MaxRequeues         int
}

func (c *SubmitCommand) slurm(ctx context.Context, args []string) error {
	fs := cli.NewFlagSet("runner", "submit slurm", submitUsage, c.Stdout)
	sf := addSubmitFlags(fs.FlagSet)
	partition := fs.String("partition", "", "the Slurm `partition` (default: the cluster's default)")
	timeLimit := fs.String("time", "", "each task's time limit, in Slurm's `format` (minutes, HH:MM:SS, D-HH:MM ...); near it the task requeues itself")
	cpus := fs.Int("cpus-per-task", 0, "CPUs of each task, `C` (GOMAXPROCS follows; default: the cluster's)")
	mem := fs.String("mem", "", "memory of each task, e.g. `4G` (default: the cluster's)")
	var extra cli.StringList
	fs.Var(&extra, "sbatch-arg", "another #SBATCH option for both jobs, e.g. `--account=proj` (repeatable)")
	runnerPath := fs.String("runner", "", "the runner binary the jobs run, on storage every node sees (default: this one)")
	reportPath := fs.String("report", "", "the report binary the merge job runs (default: report beside the runner)")
	checkpoints := fs.String("checkpoints", "", "keep checkpoints under `DIR`/<experiment>, which every node must see (default <db dir>/shards/checkpoints)")
	grace := fs.Int("grace", 120, "requeue a task this many `seconds` before its time limit")
	maxRequeues := fs.Int("max-requeues", 3, "requeue a task near its time limit at most `N` times")
	dryRun := fs.Bool("dry-run", false, "write the scripts and print the sbatch commands, submit nothing")
	pos, err := fs.Parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cli.Usagef("submit slurm: want one grid file, got %d arguments (usage: runner submit slurm FILE.toml [flags])", len(pos))
	}
	switch {
	case *timeLimit != "" && !slurmTimeRE.MatchString(*timeLimit):
		return cli.Usagef("submit slurm: --time %q: not a Slurm time (minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS)", *timeLimit)
	case *mem != "" && !slurmMemRE.MatchString(*mem):
		return cli.Usagef("submit slurm: --mem %q: want a size such as 4000, 4000M or 4G", *mem)
	case *cpus < 0:
		return cli.Usagef("submit slurm: --cpus-per-task %d: must be at least 1", *cpus)
	case *grace < 1:
		return cli.Usagef("submit slurm: --grace %d: must be at least 1 second", *grace)
	case *maxRequeues < 0:
		return cli.Usagef("submit slurm: --max-requeues %d: must be at least 0", *maxRequeues)
	case strings.ContainsAny(*partition, " \t\n"):
		return cli.Usagef("submit slurm: --partition %q: no spaces", *partition)
	}
	for _, a := range extra {
		if !strings.HasPrefix(a, "-") || strings.ContainsAny(a, "\n") {
			return cli.Usagef("submit slurm: --sbatch-arg %q: want an sbatch option, e.g. --account=proj", a)
		}
	}
	g, n, err := sf.plan("slurm", pos[0], func(cells int) int { return cells })
	if err != nil {
		return err
	}
	bins, err := binaries(*runnerPath, *reportPath)
	if err != nil {
		return err
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}

	lay := newLayout(sf.db, "slurm", g.Name)
	ck := *checkpoints
	if ck == "" {
		ck = filepath.Join(lay.root, "shards", "checkpoints") // run adds <experiment>/<hash>-s<seed>
	}
	s := slurmScript{
		Experiment: g.Name, JobName: sf.jobName, Grid: shellQuote(g.Path),
		Cells: len(g.Cells), Shards: n, Last: n - 1, MaxParallel: sf.maxParallel,
		Dir: shellQuote(wd), LogDir: shellQuote(filepath.Join(lay.jobDir, "logs")), ShardDir: shellQuote(lay.shardDir),
		ShardMap: shellQuote(filepath.Join(lay.jobDir, "shards.json")), Checkpoints: shellQuote(ck),
		DB: shellQuote(sf.db), Out: shellQuote(lay.root + string(filepath.Separator)),
		Runner: shellQuote(bins.runner), Report: shellQuote(bins.report),
		Grace: *grace, MaxRequeues: *maxRequeues,
	}
	for _, v := range sf.sets {
		s.Sets = append(s.Sets, shellQuote(v))
	}
	common := []string{}
	if *partition != "" {
		common = append(common, "--partition="+*partition)
	}
	common = append(common, extra...)
	s.MergeDirectives = slices.Clone(common)
	if *timeLimit != "" {
		s.Directives = append(s.Directives, "--time="+*timeLimit)
	}
	if *cpus > 0 {
		s.Directives = append(s.Directives, fmt.Sprintf("--cpus-per-task=%d", *cpus))
	}
	if *mem != "" {
		s.Directives = append(s.Directives, "--mem="+*mem)
	}
	s.Directives = append(s.Directives, common...)

	m := shardMapFor(ctx, c.Stderr, g, n, sf.db)
	arrayPath := filepath.Join(lay.jobDir, "array.sh")
	mergePath := filepath.Join(lay.jobDir, "merge.sh")
	if err := os.MkdirAll(filepath.Join(lay.jobDir, "logs"), 0o755); err != nil {
		return err
	}
	if err := m.write(filepath.Join(lay.jobDir, "shards.json")); err != nil {
		return err
	}
	for _, f := range []struct{ path, tmpl string }{{arrayPath, "array.sh.tmpl"}, {mergePath, "merge.sh.tmpl"}} {
		var b bytes.Buffer
		if err := templates.ExecuteTemplate(&b, f.tmpl, s); err != nil {
			return fmt.Errorf("submit slurm: %s: %w", f.tmpl, err)
		}
		if err := writeFileAtomic(f.path, b.Bytes()); err != nil {
			return err
		}
		if err := os.Chmod(f.path, 0o755); err != nil {
			return err
		}
	}
	fmt.Fprintf(c.Stdout, "wrote %s, %s and %s: %d %s of the %d cells of %s (balanced by %s cost)\n",
		arrayPath, mergePath, filepath.Join(lay.jobDir, "shards.json"), n, plural(n, "shard", "shards"), len(g.Cells), g.Name, m.CostUnit)
	noteOtherSplits(c.Stdout, lay.shardDir, n)

	sbatchArray := []string{"--parsable", arrayPath}
	sbatchMerge := func(arrayID string) []string {
		return []string{"--parsable", "--dependency=afterany:" + arrayID, mergePath}
	}
	if *dryRun {
		fmt.Fprintf(c.Stdout, "dry run: submit with\n  sbatch %s\n  sbatch %s\n",
			strings.Join(sbatchArray, " "), strings.Join(sbatchMerge("<array job id>"), " "))
		return nil
	}
	if _, err := exec.LookPath("sbatch"); err != nil {
		return fmt.Errorf("submit slurm: sbatch not found (not a Slurm submit host?); the scripts are written: submit %s with sbatch, then %s with --dependency=afterany:<its job id>: %w",
			arrayPath, mergePath, err)
	}
	arrayID, err := sbatch(ctx, sbatchArray)
	if err != nil {
		return err
	}
	mergeID, err := sbatch(ctx, sbatchMerge(arrayID))
	if err != nil {
		return fmt.Errorf("%w (the array job %s is submitted: cancel it with scancel %s, or submit %s yourself)", err, arrayID, arrayID, mergePath)
	}
	jobs := slurmJobs{ArrayJob: arrayID, MergeJob: mergeID, Shards: n, SubmittedAt: time.Now().UTC().Format(time.RFC3339)}
	if b, err := json.MarshalIndent(jobs, "", "  "); err == nil {
		if err := writeFileAtomic(filepath.Join(lay.jobDir, "jobs.json"), append(b, '\n')); err != nil {
			fmt.Fprintf(c.Stderr, "runner: record the job ids: %v\n", err)
		}
	}
	fmt.Fprintf(c.Stdout, "submitted array job %s (%d %s) and merge job %s (runs once the array has ended)\n",
		arrayID, n, plural(n, "task", "tasks"), mergeID)
	fmt.Fprintf(c.Stdout, "follow: runner status %s%s   (squeue -j %s,%s; logs in %s)\n",
		g.Path, setArgs(sf.sets), arrayID, mergeID, filepath.Join(lay.jobDir, "logs"))
	return nil
}

// slurmJobs is jobs.json: the ids runner submit slurm got from sbatch.
type slurmJobs struct {
	ArrayJob    string `json:"array_job"`
	MergeJob    string `json:"merge_job"`
	Shards      int    `json:"shards"`
	SubmittedAt string `json:"submitted_at"`
}

// sbatch runs sbatch with args and returns the job id it printed
// (--parsable: "id" or "id;cluster").
func sbatch(ctx context.Context, args []string) (string, error) {
	cmd := exec.CommandContext(ctx, "sbatch", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("submit slurm: sbatch %s: %v: %s", strings.Join(args, " "), err, cli.OneLine(stderr.String()))
	}
	id, _, _ := strings.Cut(strings.TrimSpace(string(out)), ";")
	if id == "" {
		return "", fmt.Errorf("submit slurm: sbatch %s printed no job id", strings.Join(args, " "))
	}
	return id, nil
}

type binPaths struct{ runner, report string }

// binaries returns the absolute paths of the runner and report binaries
// the jobs run: the flags' values, else this executable and the report
// beside it (which must exist).
func binaries(runnerFlag, reportFlag string) (binPaths, error) {
	var b binPaths
	var err error
	if runnerFlag != "" {
		b.runner, err = filepath.Abs(runnerFlag)
	} else {
		b.runner, err = os.Executable()
	}
	if err != nil {
		return b, err
	}
	if reportFlag != "" {
		b.report, err = filepath.Abs(reportFlag)
		return b, err
	}
	b.report = filepath.Join(filepath.Dir(b.runner), "report")
	if _, err := os.Stat(b.report); err != nil {
		return b, cli.BadInput(fmt.Errorf("submit: no report binary beside the runner (%s; make build builds both): pass --report PATH", b.report))
	}
	return b, nil
}

// noteOtherSplits says when the shard directory holds databases of
// another number of shards: their finished cells are not reused.
func noteOtherSplits(w io.Writer, dir string, n int) {
	files, _ := filepath.Glob(filepath.Join(dir, "*-of-*.db"))
	others := map[string]bool{}
	for _, f := range files {
		var i, m int
		if _, err := fmt.Sscanf(filepath.Base(f), "%d-of-%d.db", &i, &m); err == nil && m != n {
			others[fmt.Sprint(m)] = true
		}
	}
	if len(others) > 0 {
		fmt.Fprintf(w, "note: %s also holds shards of another split (%s shards): their cells are not reused by this one; runner merge them too\n",
			dir, strings.Join(slices.Sorted(maps.Keys(others)), ", "))
	}
}

// setArgs renders --set flags for a command line to copy.
func setArgs(sets []string) string {
	var b strings.Builder
	for _, s := range sets {
		b.WriteString(" --set " + shellQuote(s))
	}
	return b.String()
}

// shellQuote quotes s for a POSIX shell when it holds anything but
// letters, digits and -_./:=@%+,
func shellQuote(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r))
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// k8sManifest is what the Kubernetes template is filled with.
type k8sManifest struct {
	Experiment, JobName string
	GridFile, GridText  string
	ManifestPath        string
	Cells, Shards       int
	Parallelism         int
	BackoffLimit        int
	Image, PVC          string
	CPU, Memory         string
	Resources           bool
	RunArgs, MergeArgs  []string
}

func (c *SubmitCommand) k8s(ctx context.Context, args []string) error {
	fs := cli.NewFlagSet("runner", "submit k8s", submitUsage, c.Stdout)
	sf := addSubmitFlags(fs.FlagSet)
	image := fs.String("image", "", "the container `image`, with runner and report on its PATH (required)")
	pvc := fs.String("pvc", "simclr-results", "the ReadWriteMany persistent volume `claim` mounted as results/")
	cpu := fs.String("cpu", "", "CPU request and limit of each pod, e.g. `2`")
	memory := fs.String("memory", "", "memory request and limit of each pod, e.g. `4Gi`")
	pos, err := fs.Parse(args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 1:
		return cli.Usagef("submit k8s: want one grid file, got %d arguments (usage: runner submit k8s FILE.toml --shards N --image IMG)", len(pos))
	case *image == "":
		return cli.Usagef("submit k8s: --image is required (an image with runner and report on its PATH)")
	case sf.shards == 0:
		return cli.Usagef("submit k8s: --shards N is required (the Indexed Job's completions)")
	case *pvc == "":
		return cli.Usagef("submit k8s: --pvc: empty claim name")
	}
	g, n, err := sf.plan("k8s", pos[0], nil)
	if err != nil {
		return err
	}
	if sf.db != defaultDB {
		return cli.Usagef("submit k8s: --db: the pods write results/ on the volume claim; only the default is supported")
	}
	src, err := os.ReadFile(g.Path)
	if err != nil {
		return cli.BadInput(fmt.Errorf("submit k8s: %w", err))
	}
	gridFile := g.Name + ".toml"
	lay := newLayout(sf.db, "k8s", g.Name)
	m := k8sManifest{
		Experiment: g.Name, JobName: sf.jobName, GridFile: gridFile, GridText: indentLines(string(src), "    "),
		ManifestPath: filepath.Join(lay.jobDir, "job.yaml"),
		Cells:        len(g.Cells), Shards: n, Parallelism: n, BackoffLimit: 3 * n,
		Image: *image, PVC: *pvc, CPU: *cpu, Memory: *memory, Resources: *cpu != "" || *memory != "",
	}
	if sf.maxParallel > 0 {
		m.Parallelism = min(sf.maxParallel, n)
	}
	// The pods use run's defaults: shard JOB_COMPLETION_INDEX of --shards
	// into results/shards/<experiment>/<I>-of-<N>.db under /work.
	m.RunArgs = []string{"run", "grid/" + gridFile, "--shards", fmt.Sprint(n), "--retry-failed", "--progress", "log"}
	for _, v := range sf.sets {
		m.RunArgs = append(m.RunArgs, "--set", v)
	}
	m.MergeArgs = []string{"merge", "--partial", "--allow-missing", "--into", "results/results.db"}
	for i := range n {
		m.MergeArgs = append(m.MergeArgs, filepath.ToSlash(shardDB("results", g.Name, shard{i, n})))
	}
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, "k8s.yaml.tmpl", m); err != nil {
		return fmt.Errorf("submit k8s: %w", err)
	}
	if err := os.MkdirAll(lay.jobDir, 0o755); err != nil {
		return err
	}
	if err := writeFileAtomic(m.ManifestPath, b.Bytes()); err != nil {
		return err
	}
	if _, err := c.Stdout.Write(b.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(c.Stderr, "runner: wrote %s: kubectl apply -f %s, then once job/%s has completed: kubectl patch job/%s-merge --type=merge -p '{\"spec\":{\"suspend\":false}}'\n",
		m.ManifestPath, m.ManifestPath, m.JobName, m.JobName)
	return nil
}

// indentLines prefixes every non-empty line of s with pre, and ends it with a
// newline.
func indentLines(s, pre string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) != "" {
			lines[i] = pre + strings.TrimRight(l, "\r")
		} else {
			lines[i] = ""
		}
	}
	return strings.Join(lines, "\n")
}
