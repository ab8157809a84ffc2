//go:build linux

package store

import "golang.org/x/sys/unix"

func statfsTypeOS(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Type), nil
}

// networkFileSystems are the statfs magic numbers of the file systems
// shared between hosts (linux/magic.h; the ones it lacks, such as Lustre,
// GPFS, BeeGFS and PanFS, as coreutils' stat names them). FUSE is among
// them: sshfs, s3fs, gcsfuse and GlusterFS's client are FUSE mounts.
var networkFileSystems = map[int64]string{
	unix.NFS_SUPER_MAGIC:   "NFS",
	unix.SMB_SUPER_MAGIC:   "SMB",
	unix.SMB2_SUPER_MAGIC:  "SMB2",
	unix.CIFS_SUPER_MAGIC:  "CIFS",
	0x0bd00bd0:             "Lustre",
	0x47504653:             "GPFS (IBM Spectrum Scale)",
	unix.CEPH_SUPER_MAGIC:  "CephFS",
	unix.V9FS_MAGIC:        "9p",
	unix.AFS_SUPER_MAGIC:   "AFS",
	unix.AFS_FS_MAGIC:      "AFS",
	unix.CODA_SUPER_MAGIC:  "Coda",
	unix.NCP_SUPER_MAGIC:   "NCP",
	unix.OCFS2_SUPER_MAGIC: "OCFS2",
	0x01161970:             "GFS2",
	0x19830326:             "BeeGFS",
	0xaad7aaea:             "PanFS",
	0x20030528:             "OrangeFS",
	unix.FUSE_SUPER_MAGIC:  "FUSE (sshfs, s3fs, gcsfuse, GlusterFS ...)",
}
