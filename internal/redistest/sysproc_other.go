//go:build !linux && unix

package redistest

import "syscall"

// sysProcAttr puts the server in its own process group; there is no parent-death signal
// outside Linux, so a killed test binary may leave servers behind there.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
