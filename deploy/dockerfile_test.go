package deploy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/version"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// A Dockerfile, parsed as far as these checks need: logical lines (joined
// continuations, comments dropped), split into stages.
type dockerfile struct {
	args   map[string]string // global ARGs (before the first FROM) and their defaults
	stages []*stage
}

type stage struct {
	name, base string
	instrs     []instruction
}

type instruction struct {
	cmd  string // upper case
	args string
}

func parseDockerfile(data []byte) (*dockerfile, error) {
	df := &dockerfile{args: map[string]string{}}
	var logical []string
	var cur strings.Builder
	cont := false
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		// Comment lines are dropped, also inside a continuation.
		if strings.HasPrefix(trimmed, "#") || (!cont && trimmed == "") {
			continue
		}
		line = strings.TrimRight(line, " \t\r")
		if body, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(body)
			cont = true
			continue
		}
		cur.WriteString(line)
		logical = append(logical, strings.TrimSpace(cur.String()))
		cur.Reset()
		cont = false
	}
	if cont {
		return nil, errors.New("the last instruction ends with a line continuation")
	}
	for _, l := range logical {
		cmd, args, _ := strings.Cut(l, " ")
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		switch {
		case in.cmd == "FROM":
			fields := strings.Fields(in.args)
			for len(fields) > 0 && strings.HasPrefix(fields[0], "--") {
				fields = fields[1:]
			}
			st := &stage{}
			switch {
			case len(fields) == 1:
				st.base = fields[0]
			case len(fields) == 3 && strings.EqualFold(fields[1], "AS"):
				st.base, st.name = fields[0], fields[2]
			default:
				return nil, fmt.Errorf("cannot parse FROM %s", in.args)
			}
			df.stages = append(df.stages, st)
		case len(df.stages) == 0:
			if in.cmd != "ARG" {
				return nil, fmt.Errorf("%s before the first FROM", in.cmd)
			}
			name, def, _ := strings.Cut(in.args, "=")
			df.args[name] = def
		default:
			st := df.stages[len(df.stages)-1]
			st.instrs = append(st.instrs, in)
		}
	}
	if len(df.stages) == 0 {
		return nil, errors.New("no FROM")
	}
	return df, nil
}

func loadDockerfile(t *testing.T) *dockerfile {
	t.Helper()
	df, err := parseDockerfile(readFile(t, filepath.Join(repoRoot(t), "Dockerfile")))
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	return df
}

func (df *dockerfile) stage(name string) *stage {
	for _, s := range df.stages {
		if s.name == name {
			return s
		}
	}
	return nil
}

func (s *stage) all(cmd string) []string {
	var out []string
	for _, in := range s.instrs {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

func (s *stage) last(cmd string) (string, bool) {
	all := s.all(cmd)
	if len(all) == 0 {
		return "", false
	}
	return all[len(all)-1], true
}

// entrypoint is the stage's ENTRYPOINT in exec form. The shell form would
// run the binary under /bin/sh (absent from distroless), which would also
// swallow SIGTERM and the SIGHUP that reloads the configuration.
func (s *stage) entrypoint(t *testing.T) []string {
	t.Helper()
	raw, ok := s.last("ENTRYPOINT")
	if !ok {
		t.Fatalf("stage %s has no ENTRYPOINT", s.name)
	}
	var argv []string
	if err := json.Unmarshal([]byte(raw), &argv); err != nil || len(argv) == 0 {
		t.Fatalf("stage %s: ENTRYPOINT %s is not in exec form (a JSON array): %v", s.name, raw, err)
	}
	return argv
}

// copiedFrom maps the destinations of the stage's COPY --from=<stage>
// instructions to their sources.
func (s *stage) copiedFrom(from string) map[string]string {
	out := map[string]string{}
	for _, args := range s.all("COPY") {
		fields := strings.Fields(args)
		if len(fields) == 3 && fields[0] == "--from="+from {
			out[fields[2]] = fields[1]
		}
	}
	return out
}

// buildRun is the build stage's RUN instruction that runs `go build`,
// without its --mount flags: the shell command Docker runs.
func (df *dockerfile) buildRun() (*stage, string, error) {
	for _, s := range df.stages {
		for _, run := range s.all("RUN") {
			cmd := run
			for strings.HasPrefix(cmd, "--") {
				_, rest, _ := strings.Cut(cmd, " ")
				cmd = strings.TrimSpace(rest)
			}
			if strings.Contains(cmd, "go build") {
				return s, cmd, nil
			}
		}
	}
	return nil, "", errors.New("no RUN with go build")
}

// stageEnv is what a RUN of the stage sees: its ARGs (defaults overridden
// by the build arguments given) and ENVs, as Docker sets them.
func (s *stage) env(buildArgs map[string]string) []string {
	var env []string
	for _, in := range s.instrs {
		switch in.cmd {
		case "ARG":
			name, def, _ := strings.Cut(in.args, "=")
			if v, ok := buildArgs[name]; ok {
				def = v
			}
			env = append(env, name+"="+def)
		case "ENV":
			env = append(env, strings.Fields(in.args)...)
		}
	}
	return env
}

// dockerfileBuild runs the Dockerfile's `go build` line on this machine, in
// the repository root, with the build stage's ARG and ENV values, writing
// the binaries to out instead of /out/.
func dockerfileBuild(root, out string, buildArgs map[string]string) error {
	data, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		return err
	}
	df, err := parseDockerfile(data)
	if err != nil {
		return err
	}
	st, cmd, err := df.buildRun()
	if err != nil {
		return err
	}
	if !strings.Contains(cmd, "-o /out/ ") {
		return fmt.Errorf("the go build line does not write to /out/: %s", cmd)
	}
	cmd = strings.Replace(cmd, "-o /out/ ", "-o "+out+"/ ", 1)
	c := exec.Command("/bin/sh", "-c", cmd)
	c.Dir = root
	c.Env = append(os.Environ(), st.env(buildArgs)...)
	if o, err := c.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v\n%s", cmd, err, o)
	}
	return nil
}

// nonRootUser checks a stage's USER: numeric (Kubernetes verifies
// runAsNonRoot only for numeric users) and not root. It returns the uid.
func nonRootUser(t *testing.T, s *stage) int {
	t.Helper()
	user, ok := s.last("USER")
	if !ok {
		t.Errorf("stage %s has no USER: it would run as root", s.name)
		return -1
	}
	uidStr, _, _ := strings.Cut(user, ":")
	uid, err := strconv.Atoi(uidStr)
	if err != nil {
		t.Errorf("stage %s: USER %s is not numeric", s.name, user)
		return -1
	}
	if uid == 0 {
		t.Errorf("stage %s runs as root", s.name)
	}
	return uid
}

// minimalBase reports whether an image is distroless static (non-root
// variant) or scratch: no shell, no package manager, nothing to exploit.
func minimalBase(image string) bool {
	return image == "scratch" ||
		(strings.HasPrefix(image, "gcr.io/distroless/static") && strings.Contains(image, ":nonroot"))
}

func TestDockerfileFinalStage(t *testing.T) {
	df := loadDockerfile(t)
	final := df.stages[len(df.stages)-1]
	if final.name != "exporter" {
		t.Errorf("the last stage (what a plain docker build produces) is %q, want the exporter", final.name)
	}
	if !minimalBase(final.base) {
		t.Errorf("final stage FROM %s, want gcr.io/distroless/static…:nonroot or scratch", final.base)
	}
	nonRootUser(t, final)

	exposed := false
	for _, e := range final.all("EXPOSE") {
		for _, p := range strings.Fields(e) {
			exposed = exposed || p == "9786" || p == "9786/tcp"
		}
	}
	if !exposed {
		t.Error("the exporter's port 9786 (the README's --web.listen-address) is not EXPOSEd")
	}

	argv := final.entrypoint(t)
	if src, ok := final.copiedFrom("build")[argv[0]]; !ok || filepath.Base(src) != "exporter" {
		t.Errorf("ENTRYPOINT runs %s, which is not the exporter copied from the build stage (%v)", argv[0], final.copiedFrom("build"))
	}
	checkArgs(t, binary(t, "exporter"), argv[1:], "Dockerfile ENTRYPOINT")
	if v, _ := flagValue(argv[1:], "config.file"); v != imageConfigFile {
		t.Errorf("ENTRYPOINT --config.file=%s, want %s (the path the Kubernetes and compose mounts use)", v, imageConfigFile)
	}
}

// imageConfigFile is where the image reads its configuration; the Kubernetes
// ConfigMap and the compose bind mount put mlmon.yml there.
const imageConfigFile = "/etc/mlmon/mlmon.yml"

func TestDockerfileDemodataStage(t *testing.T) {
	df := loadDockerfile(t)
	s := df.stage("demodata")
	if s == nil {
		t.Fatal("no stage named demodata (the compose stack builds it with target: demodata)")
	}
	if !minimalBase(s.base) {
		t.Errorf("demodata stage FROM %s, want distroless static nonroot or scratch", s.base)
	}
	nonRootUser(t, s)
	argv := s.entrypoint(t)
	if src, ok := s.copiedFrom("build")[argv[0]]; !ok || filepath.Base(src) != "demodata" {
		t.Errorf("demodata ENTRYPOINT runs %s, not the demodata binary of the build stage", argv[0])
	}
	checkArgs(t, binary(t, "demodata"), argv[1:], "demodata ENTRYPOINT")
}

var ldflagX = regexp.MustCompile(`-X '?github\.com/prometheus/common/version\.(\w+)=\$\{?(\w+)\}?'?`)

func TestDockerfileBuildStage(t *testing.T) {
	df := loadDockerfile(t)
	st, cmd, err := df.buildRun()
	if err != nil {
		t.Fatal(err)
	}
	if minimalBase(st.base) || !strings.HasPrefix(st.base, "golang:") {
		t.Errorf("build stage FROM %s, want a golang image", st.base)
	}
	env := strings.Join(st.env(nil), " ")
	if !strings.Contains(env, "CGO_ENABLED=0") && !strings.Contains(cmd, "CGO_ENABLED=0") {
		t.Error("the build does not set CGO_ENABLED=0: the binary would need the libc the final image lacks")
	}
	if !strings.Contains(cmd, "-trimpath") {
		t.Error("go build without -trimpath")
	}

	// Every build-information variable, set from a build argument the
	// stage declares.
	declared := map[string]bool{}
	for _, a := range st.all("ARG") {
		name, _, _ := strings.Cut(a, "=")
		declared[name] = true
	}
	set := map[string]bool{}
	for _, m := range ldflagX.FindAllStringSubmatch(cmd, -1) {
		set[m[1]] = true
		if !declared[m[2]] {
			t.Errorf("-X version.%s uses ${%s}, which the build stage does not declare as ARG", m[1], m[2])
		}
	}
	for _, v := range []string{"Version", "Revision", "Branch", "BuildUser", "BuildDate"} {
		if !set[v] {
			t.Errorf("ldflags do not set github.com/prometheus/common/version.%s", v)
		}
	}

	// The golang image pins GOTOOLCHAIN=local: an older Go than go.mod's
	// would refuse to build.
	goMod := string(readFile(t, filepath.Join(repoRoot(t), "go.mod")))
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(goMod)
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	if v := df.args["GO_VERSION"]; version.Compare("go"+v, "go"+m[1]) < 0 {
		t.Errorf("GO_VERSION=%s is older than go.mod's go %s", v, m[1])
	}
}

// TestDockerfileBuildStampsVersion builds with the Dockerfile's own command
// line and looks at the result: a misspelt -X symbol is silently ignored by
// the linker, so only the binary can tell.
func TestDockerfileBuildStampsVersion(t *testing.T) {
	exporter := binary(t, "exporter")
	out, err := exec.Command(exporter, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("exporter --version: %v\n%s", err, out)
	}
	for _, arg := range []string{"VERSION", "REVISION", "BRANCH", "BUILD_USER", "BUILD_DATE"} {
		if !bytes.Contains(out, []byte(buildArgs[arg])) {
			t.Errorf("exporter --version does not show build argument %s=%q:\n%s", arg, buildArgs[arg], out)
		}
	}

	goTool := tool(t, "go", "https://go.dev/dl/")
	info, err := exec.Command(goTool, "version", "-m", exporter).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m: %v\n%s", err, info)
	}
	for _, want := range []string{"build\t-trimpath=true", "build\tCGO_ENABLED=0"} {
		if !bytes.Contains(info, []byte(want)) {
			t.Errorf("the built exporter lacks %q in its build information:\n%s", want, info)
		}
	}
}

// TestDockerignore keeps the build context small without starving the
// build: every file `go build` reads for the two binaries must be in it.
func TestDockerignore(t *testing.T) {
	root := repoRoot(t)
	f, err := os.Open(filepath.Join(root, ".dockerignore"))
	must(t, err, "open .dockerignore")
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	must(t, err, "read .dockerignore")
	pm, err := patternmatcher.New(patterns)
	must(t, err, "parse .dockerignore")
	excluded := func(rel string) bool {
		t.Helper()
		ok, err := pm.MatchesOrParentMatches(filepath.ToSlash(rel))
		must(t, err, "match %s", rel)
		return ok
	}

	needed := []string{"go.mod", "go.sum"}
	goTool := tool(t, "go", "https://go.dev/dl/")
	list := exec.Command(goTool, "list", "-deps", "-json=ImportPath,Dir,Module,GoFiles,CgoFiles,EmbedFiles", "./cmd/exporter", "./cmd/demodata")
	list.Dir = root
	out, err := list.Output()
	must(t, err, "go list")
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var pkg struct {
			ImportPath, Dir               string
			Module                        *struct{ Path string }
			GoFiles, CgoFiles, EmbedFiles []string
		}
		if err := dec.Decode(&pkg); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if pkg.Module == nil || pkg.Module.Path != "github.com/mlmon/mlmon" {
			continue
		}
		for _, files := range [][]string{pkg.GoFiles, pkg.CgoFiles, pkg.EmbedFiles} {
			for _, name := range files {
				rel, err := filepath.Rel(root, filepath.Join(pkg.Dir, name))
				must(t, err, "rel")
				needed = append(needed, rel)
			}
		}
	}
	if len(needed) < 10 {
		t.Fatalf("go list found only %v", needed)
	}
	for _, rel := range needed {
		if excluded(rel) {
			t.Errorf(".dockerignore excludes %s, which the image's go build needs", rel)
		}
	}
	// And it does keep out what it should.
	for _, rel := range []string{".git/HEAD", "deploy/compose/compose.yaml", "bin/exporter"} {
		if !excluded(rel) {
			t.Errorf(".dockerignore lets %s into the build context", rel)
		}
	}
}
