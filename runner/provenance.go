package main

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/simclr-ablate/simclr-ablate/store"
)

// buildCommit and buildDirty are set by `make build` (-ldflags -X): the
// commit the binary was built from and "true" when its source differed
// from it. Unlike the go command's own stamp (vcs.modified), the dirty
// flag ignores results/, which the runner itself writes: a run recorded
// into the committed results.db would otherwise mark every later build
// dirty.
var buildCommit, buildDirty string

// sourcePathspec is what counts as source for the dirty flag: the whole
// repository but results/.
var sourcePathspec = []string{"--", ".", ":(exclude)results"}

// provenance says which build, machine and process runs the cells. The git
// commit and dirty flag come from buildCommit/buildDirty, else from the
// build info the go command stamps into binaries built inside a repository
// (vcs.revision, vcs.modified); `go run` and test binaries have neither,
// so it falls back to asking git about the working directory. Without git
// both stay empty.
func provenance(ctx context.Context) store.Provenance {
	p := store.Provenance{
		GoVersion:  runtime.Version(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		PID:        os.Getpid(),
	}
	p.Host, _ = os.Hostname()
	if buildCommit != "" {
		p.GitCommit, p.GitDirty = buildCommit, buildDirty == "true"
		return p
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				p.GitCommit = s.Value
			case "vcs.modified":
				p.GitDirty = s.Value == "true"
			}
		}
	}
	if p.GitCommit == "" {
		p.GitCommit, p.GitDirty = gitState(ctx)
	}
	return p
}

// gitState returns HEAD's commit of the repository holding the working
// directory and whether its source (all but results/) has uncommitted
// changes, or "" when git or the repository is missing.
func gitState(ctx context.Context) (commit string, dirty bool) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "HEAD").Output()
	if err != nil {
		return "", false
	}
	commit = strings.TrimSpace(string(out))
	out, err = exec.CommandContext(ctx, "git", append([]string{"status", "--porcelain"}, sourcePathspec...)...).Output()
	if err != nil {
		return commit, false
	}
	return commit, len(strings.TrimSpace(string(out))) > 0
}
