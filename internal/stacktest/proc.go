package stacktest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// proc is a child process in its own process group with its output in a log
// file, so that stopping it also stops whatever it forked and a failure can
// show what it said.
type proc struct {
	name string
	log  string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // of Wait, valid once done is closed
}

func startProc(dir, name, bin string, args ...string) (*proc, error) {
	logPath := filepath.Join(dir, name+".log")
	out, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	// Pdeathsig: a test binary killed by its timeout takes its children
	// with it instead of leaving servers running on the machine.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		out.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits for the process to exit by itself and fails when it exits
// non-zero or outlives timeout (it is then killed).
func (p *proc) wait(timeout time.Duration) error {
	select {
	case <-p.done:
		if p.err != nil {
			return fmt.Errorf("%s: %w\n%s", p.name, p.err, p.tail())
		}
		return nil
	case <-time.After(timeout):
		p.stop()
		return fmt.Errorf("%s did not finish within %s\n%s", p.name, timeout, p.tail())
	}
}

// stop terminates the process group, politely first.
func (p *proc) stop() {
	if p == nil || p.exited() {
		return
	}
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
}

// tail is the end of the process's log, for error messages.
func (p *proc) tail() string { return fileTail(p.log, 3000) }

func fileTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return "--- " + filepath.Base(path) + " (tail) ---\n" + strings.TrimRight(string(b), "\n")
}

// poll calls ready until it succeeds, the process dies or timeout passes;
// the error says which and carries the log tail.
func poll(p *proc, timeout time.Duration, what string, ready func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		if p != nil && p.exited() {
			return fmt.Errorf("%s exited (%v) before %s: %v\n%s", p.name, p.err, what, err, p.tail())
		}
		if time.Now().After(deadline) {
			msg := fmt.Sprintf("%s: not within %s: %v", what, timeout, err)
			if p != nil {
				msg += "\n" + p.tail()
			}
			return errors.New(msg)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
