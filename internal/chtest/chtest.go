package chtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/mlmon/mlmon/internal/freeport"
)

// Server is a running private ClickHouse instance.
type Server struct {
	Dir       string
	TCPPort   int
	HTTPPort  int
	TLSPort   int // 0 unless started with Options.TLS
	interPort int
	overrides []string
	config    string // the configuration file it starts from
	bin       []string
	cmd       *exec.Cmd
	done      chan error
	conn      driver.Conn
}

// binary finds the server executable: Debian ships clickhouse-server, current
// releases a single `clickhouse` binary with a `server` subcommand.
func binary() ([]string, error) {
	if p, err := exec.LookPath("clickhouse-server"); err == nil {
		return []string{p}, nil
	}
	if p, err := exec.LookPath("clickhouse"); err == nil {
		return []string{p, "server"}, nil
	}
	return nil, errors.New("clickhouse-server not found on PATH (apt-get install clickhouse-server)")
}

// ConfigFile is the packaged server configuration the instance starts from;
// every path and port in it is overridden on the command line.
var ConfigFile = "/etc/clickhouse-server/config.xml"

// Start launches a server under dir (created if missing) and waits until it
// answers queries.
func Start(dir string) (*Server, error) {
	return StartWith(dir, Options{})
}

// Options are what a test may change in the packaged configuration.
type Options struct {
	// TLS adds a native-protocol TLS port (tcp_port_secure, Server.TLSPort);
	// Overrides must then name the certificate and key.
	TLS bool
	// Overrides are extra "--key=value" overrides of the packaged
	// configuration (ConfigFile), such as a users file, given after the
	// instance's paths and ports.
	Overrides []string
}

// StartWith is Start with command-line overrides of the packaged
// configuration.
func StartWith(dir string, opts Options) (*Server, error) {
	bin, err := binary()
	if err != nil {
		return nil, err
	}
	n := 3
	if opts.TLS {
		n = 4
	}
	// A port found free can be taken by a parallel test package before the
	// server binds it: such a start is retried on other ports.
	for attempt := 1; ; attempt++ {
		ports, err := freeport.Ports(n)
		if err != nil {
			return nil, err
		}
		s := &Server{Dir: dir, TCPPort: ports[0], HTTPPort: ports[1], interPort: ports[2], config: ConfigFile, bin: bin,
			overrides: opts.Overrides}
		if opts.TLS {
			s.TLSPort = ports[3]
		}
		err = s.start()
		if err == nil {
			return s, nil
		}
		if !strings.Contains(err.Error(), "Address already in use") || attempt == 3 {
			return nil, err
		}
	}
}

// Restart stops the server and starts it again on the same ports with the
// same data, as a ClickHouse restart in production does.
func (s *Server) Restart() error {
	s.Stop()
	return s.start()
}

func (s *Server) start() error {
	dir, bin := s.Dir, s.bin
	if err := makeDirs(dir); err != nil {
		return err
	}
	s.done = make(chan error, 1)
	args := append(append([]string{}, bin[1:]...), "--config-file="+s.config, "--",
		"--path="+dir+"/",
		"--tmp_path="+filepath.Join(dir, "tmp")+"/",
		"--user_files_path="+filepath.Join(dir, "user_files")+"/",
		"--format_schema_path="+filepath.Join(dir, "format_schemas")+"/",
		"--tcp_port="+strconv.Itoa(s.TCPPort),
		"--http_port="+strconv.Itoa(s.HTTPPort),
		"--interserver_http_port="+strconv.Itoa(s.interPort),
		"--listen_host=127.0.0.1",
		"--logger.log="+filepath.Join(dir, "server.log"),
		"--logger.errorlog="+filepath.Join(dir, "server.err.log"),
		"--logger.level=warning",
	)
	if s.TLSPort != 0 {
		args = append(args, "--tcp_port_secure="+strconv.Itoa(s.TLSPort))
	}
	args = append(args, s.overrides...)
	out, err := os.OpenFile(filepath.Join(dir, "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	s.cmd = exec.Command(bin[0], args...)
	s.cmd.Stdout, s.cmd.Stderr = out, out
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("start clickhouse: %w", err)
	}
	done := s.done
	go func() { done <- s.cmd.Wait(); out.Close() }()
	if err := s.waitReady(60 * time.Second); err != nil {
		s.Stop()
		log, _ := os.ReadFile(filepath.Join(dir, "server.err.log"))
		return fmt.Errorf("clickhouse did not become ready: %w\n%s", err, tail(log, 2000))
	}
	return nil
}

func makeDirs(dir string) error {
	for _, sub := range []string{"tmp", "user_files", "format_schemas"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// pid is the server process's id, 0 when it is not running.
func (s *Server) pid() int {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// CPUTime is the user and system CPU time the server process has used so
// far: what a query cost ClickHouse, whatever else the machine was doing.
func (s *Server) CPUTime() (time.Duration, error) {
	f, err := statFields(fmt.Sprintf("/proc/%d/stat", s.pid()))
	if err != nil {
		return 0, err
	}
	// utime and stime are fields 14 and 15 of stat, the 12th and 13th
	// after the name.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields after the name", s.pid(), len(f))
	}
	utime, err := strconv.ParseInt(f[11], 10, 64)
	if err != nil {
		return 0, err
	}
	stime, err := strconv.ParseInt(f[12], 10, 64)
	if err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// clockTicks is USER_HZ, the unit of /proc/pid/stat's times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// statFields reads a /proc stat file and returns the fields after the
// command name, which may itself hold spaces and parentheses: they follow
// the last ')'. The first is the state.
func statFields(path string) ([]string, error) {
	stat, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	str := string(stat)
	i := strings.LastIndexByte(str, ')')
	if i < 0 {
		return nil, fmt.Errorf("%s: no command name in %q", path, str)
	}
	return strings.Fields(str[i+1:]), nil
}

// Freeze stops the server (SIGSTOP), as behind a network partition: it
// accepts connections and answers nothing. It returns once every thread has
// stopped, since kill returns before the group stop reaches them all: on a
// loaded machine a thread could still answer a ping for a while.
func (s *Server) Freeze() error {
	pid := s.pid()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		return fmt.Errorf("freeze clickhouse: %w", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		running, err := runningThreads(pid)
		if err != nil {
			return fmt.Errorf("freeze clickhouse: %w", err)
		}
		if len(running) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("freeze clickhouse: threads %v of %d still not stopped 10s after SIGSTOP", running, pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Thaw resumes a frozen server (SIGCONT).
func (s *Server) Thaw() error {
	if err := syscall.Kill(s.pid(), syscall.SIGCONT); err != nil {
		return fmt.Errorf("thaw clickhouse: %w", err)
	}
	return nil
}

// runningThreads lists the threads of pid that are not stopped, as tid:state.
func runningThreads(pid int) ([]string, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var running []string
	for _, task := range tasks {
		f, err := statFields(filepath.Join(dir, task.Name(), "stat"))
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
			continue // the thread exited
		}
		if err != nil {
			return nil, err
		}
		if len(f) == 0 {
			return nil, fmt.Errorf("%s/%s/stat: no state", dir, task.Name())
		}
		if state := f[0]; state != "T" && state != "t" {
			running = append(running, task.Name()+":"+state)
		}
	}
	return running, nil
}

// Addr is the native-protocol address.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.TCPPort) }

// TLSAddr is the native-protocol TLS address, when started with Options.TLS.
func (s *Server) TLSAddr() string { return "127.0.0.1:" + strconv.Itoa(s.TLSPort) }

// Conn is a connection for seeding data.
func (s *Server) Conn() driver.Conn { return s.conn }

// Exec runs statements, failing on the first error.
func (s *Server) Exec(ctx context.Context, stmts ...string) error {
	for _, q := range stmts {
		if err := s.conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("exec %q: %w", q, err)
		}
	}
	return nil
}

// Stop terminates the server and waits for it to exit.
func (s *Server) Stop() {
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	defer func() { s.cmd = nil }()
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
}

func (s *Server) waitReady(timeout time.Duration) error {
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{s.Addr()}, DialTimeout: time.Second})
	if err != nil {
		return err
	}
	s.conn = conn
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = conn.Ping(ctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case werr := <-s.done:
			return fmt.Errorf("server exited: %v (last ping: %w)", werr, err)
		default:
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
