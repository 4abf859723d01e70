package redistest

import "syscall"

// sysProcAttr puts the server in its own process group (so that its children die with
// it) and asks the kernel to SIGKILL it when the thread that started it dies. Go does
// not end OS threads while the process lives unless a goroutine exits locked to one,
// which this package never does.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
