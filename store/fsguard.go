package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Options say how OpenWith opens a results database.
type Options struct {
	// Rollback opens the file with SQLite's rollback journal
	// (journal_mode=DELETE) instead of WAL. It is for a file with one
	// writing process at a time, such as a shard of a cluster run or the
	// target of runner merge: the rollback journal keeps no shared memory
	// beside the file, so it is usable on a network file system as long as
	// one host writes the file at a time.
	Rollback bool
	// AllowNetworkFS opens a WAL database on a network file system
	// anyway (see NetworkFSError): for a file only this host ever opens.
	AllowNetworkFS bool
}

// NetworkFSError refuses to open a database on a network file system in
// WAL mode. SQLite's WAL needs shared memory and locks that work only
// between processes of one host ("WAL does not work over a network
// filesystem", sqlite.org/wal.html); on NFS, SMB, Lustre and the like,
// POSIX locks have been known to fail and databases shared between hosts
// to be corrupted. On a cluster each task writes its own file and the
// files are merged afterwards.
type NetworkFSError struct {
	Path string
	FS   string // the file system's name, e.g. "NFS"
}

func (e *NetworkFSError) Error() string {
	return fmt.Sprintf("%s is on %s, a network file system, where SQLite's WAL mode is unsafe "+
		"(its locks and shared memory do not work across hosts): on a cluster let each task write its own shard "+
		"(runner run --shard I/N, or runner submit slurm) and fold the shards into one file with runner merge; "+
		"--allow-network-fs opens it anyway, for a file only this host uses", e.Path, e.FS)
}

// checkFS refuses (with a *NetworkFSError) to open path in WAL mode when
// it is on a network file system, unless opt allows it. A file system
// that cannot be identified is allowed.
func checkFS(path string, opt Options) error {
	if opt.Rollback || opt.AllowNetworkFS {
		return nil
	}
	name, network, err := fileSystemOf(path)
	if err != nil || !network {
		return nil // unknown: SQLite's own checks are all there is
	}
	return &NetworkFSError{Path: path, FS: name}
}

// fileSystemOf names the file system path is on (the nearest existing
// directory above it, as the file may not exist yet) and reports whether
// it is a network file system.
func fileSystemOf(path string) (name string, network bool, err error) {
	dir, err := filepath.Abs(path)
	if err != nil {
		return "", false, err
	}
	for {
		if _, err := os.Stat(dir); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", false, err
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false, fmt.Errorf("no existing directory above %s", path)
		}
		dir = parent
	}
	magic, err := statfsType(dir)
	if err != nil {
		return "", false, err
	}
	name, network = networkFileSystems[magic]
	return name, network, nil
}

// statfsType returns the file system type (statfs f_type) of dir; tests
// replace it.
var statfsType = statfsTypeOS
