package deploy_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// repoRoot is the module root, two levels up from nowhere but here.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found above deploy/: %v", err)
	}
	return root
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// tool finds an executable the test needs. A missing tool fails the test:
// a check that silently does not run is worse than none.
func tool(t *testing.T, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is required (%s): %v", name, install, err)
	}
	return p
}

// binaries are the exporter and the demo data writer, built once per test
// run with the Dockerfile's own `go build` line (see dockerfileBuild), so
// that every flag check runs against what the image would contain.
var binaries struct {
	once sync.Once
	dir  string
	err  error
}

// binary returns the path of a binary built by the Dockerfile's build line,
// by the name it has in the build stage's output directory.
func binary(t *testing.T, name string) string {
	t.Helper()
	binaries.once.Do(func() {
		binaries.dir, binaries.err = os.MkdirTemp("", "mlmon-deploy-bin-")
		if binaries.err != nil {
			return
		}
		binaries.err = dockerfileBuild(repoRoot(t), binaries.dir, buildArgs)
	})
	if binaries.err != nil {
		t.Fatalf("building with the Dockerfile's build line: %v", binaries.err)
	}
	return filepath.Join(binaries.dir, name)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binaries.dir != "" {
		os.RemoveAll(binaries.dir)
	}
	os.Exit(code)
}

// buildArgs are the build arguments the tests pass, distinct enough to be
// found in `exporter --version`.
var buildArgs = map[string]string{
	"VERSION":    "9.8.7-deploytest",
	"REVISION":   "0123456789abcdef",
	"BRANCH":     "deploy-test",
	"BUILD_USER": "tester@deploy test",
	"BUILD_DATE": "20260102-03:04:05",
	"TARGETOS":   runtime.GOOS,
	"TARGETARCH": runtime.GOARCH,
}

// helpFlag matches a flag in kingpin's --help output:
// "  -h, --[no-]help", "      --config.file="mlmon.yml"".
var helpFlag = regexp.MustCompile(`(?m)^\s+(?:-\w, )?--(?:\[no-\])?([A-Za-z0-9][A-Za-z0-9.\-]*)`)

var flagSets sync.Map // binary path → map[string]bool

// flags lists the long flags a kingpin binary accepts, from its --help.
func flags(t *testing.T, bin string) map[string]bool {
	t.Helper()
	if v, ok := flagSets.Load(bin); ok {
		return v.(map[string]bool)
	}
	out, err := exec.Command(bin, "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --help: %v\n%s", bin, err, out)
	}
	set := map[string]bool{}
	for _, m := range helpFlag.FindAllStringSubmatch(string(out), -1) {
		set[m[1]] = true
	}
	if len(set) < 3 {
		t.Fatalf("%s --help lists too few flags to be kingpin's help:\n%s", bin, out)
	}
	flagSets.Store(bin, set)
	return set
}

// checkArgs fails for every argument that is not a flag the binary accepts.
// Boolean flags may be negated with --no-.
func checkArgs(t *testing.T, bin string, args []string, where string) {
	t.Helper()
	known := flags(t, bin)
	for _, a := range args {
		if !strings.HasPrefix(a, "--") {
			t.Errorf("%s: argument %q is not a --flag", where, a)
			continue
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !known[name] && !(strings.HasPrefix(name, "no-") && known[strings.TrimPrefix(name, "no-")]) {
			t.Errorf("%s: %s has no flag --%s (from %q)", where, filepath.Base(bin), name, a)
		}
	}
}

// flagValue returns the value of --name=value among args.
func flagValue(args []string, name string) (string, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// exporterDownJobRegex is the job selector of MLMonExporterDown in the rules
// bundle: the scrape job's name must match it, or the alert never fires.
func exporterDownJobRegex(t *testing.T) *regexp.Regexp {
	t.Helper()
	rules := string(readFile(t, filepath.Join(repoRoot(t), "rules", "mlmon.rules.yml")))
	i := strings.Index(rules, "alert: MLMonExporterDown")
	if i < 0 {
		t.Fatal("rules/mlmon.rules.yml has no MLMonExporterDown")
	}
	m := regexp.MustCompile(`job=~"([^"]+)"`).FindStringSubmatch(rules[i:])
	if m == nil {
		t.Fatal("MLMonExporterDown has no job=~ selector")
	}
	// PromQL regexes are fully anchored.
	return regexp.MustCompile("^(?:" + m[1] + ")$")
}

func must(t *testing.T, err error, format string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(format, args...), err)
	}
}
