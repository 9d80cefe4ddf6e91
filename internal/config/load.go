package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// maxFileSize bounds every file read on behalf of the configuration
// (password, CA bundle, client certificate and key). None of them is
// legitimately larger, and the bound keeps a mistaken path such as
// /dev/zero from exhausting memory.
const maxFileSize = 1 << 20

// Option adjusts how Load and Parse resolve things outside the file itself.
type Option func(*options)

type options struct {
	baseDir   string
	lookupEnv func(string) (string, bool)
	readFile  func(string) ([]byte, error)
}

// WithBaseDir makes relative paths in the file (password_file and the TLS
// files) relative to dir. Load uses the configuration file's directory;
// Parse by default leaves them relative to the working directory.
func WithBaseDir(dir string) Option {
	return func(o *options) { o.baseDir = dir }
}

// WithLookupEnv replaces os.LookupEnv for reading PasswordEnv, so that tests
// and embedders do not depend on the process environment.
func WithLookupEnv(lookup func(string) (string, bool)) Option {
	return func(o *options) { o.lookupEnv = lookup }
}

// withReadFile replaces file reading; the fuzz test uses it to keep
// generated paths from touching the file system.
func withReadFile(read func(string) ([]byte, error)) Option {
	return func(o *options) { o.readFile = read }
}

// Load reads, validates and resolves the configuration file at path.
// Relative paths inside the file are resolved against the file's directory
// unless a WithBaseDir option says otherwise. Validation problems are
// returned as an *Error wrapped with the path.
func Load(path string, opts ...Option) (*Config, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, fmt.Errorf("reading config file: %w", err)
	}
	opts = append([]Option{WithBaseDir(filepath.Dir(path))}, opts...)
	cfg, err := Parse(data, opts...)
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	return cfg, nil
}

// Parse validates and resolves a configuration held in memory. Relative
// paths inside it are resolved against the working directory unless a
// WithBaseDir option is given. Parse reads the password file and the TLS
// files, if configured, so that a broken deployment fails at start-up
// rather than at the first scrape. All problems found are returned together
// as an *Error.
func Parse(data []byte, opts ...Option) (*Config, error) {
	return newLoader(opts...).parse(data)
}

func newLoader(opts ...Option) *loader {
	o := options{lookupEnv: os.LookupEnv, readFile: readLimited}
	for _, opt := range opts {
		opt(&o)
	}
	return &loader{walker: newWalker(), opts: o}
}

func (l *loader) parse(data []byte) (*Config, error) {
	root, problems := parseYAML(data)
	if len(problems) > 0 {
		return nil, newError(problems)
	}
	cfg := l.config(root)
	if len(l.problems) > 0 {
		return nil, newError(l.problems)
	}
	return cfg, nil
}

// resolvePath makes a relative path from the file relative to the base
// directory.
func (o options) resolvePath(p string) string {
	if p == "" || o.baseDir == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(o.baseDir, p)
}

// readLimited reads a whole file of at most maxFileSize bytes.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s: %w", path, errTooLarge)
	}
	return data, nil
}

var errTooLarge = errors.New("file larger than 1 MiB")
