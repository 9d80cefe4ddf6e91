package clickhouse_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/mlmon/mlmon/internal/chquery"
	"github.com/mlmon/mlmon/internal/chtest"
	"github.com/mlmon/mlmon/internal/config"
	"github.com/mlmon/mlmon/internal/freeport"
)

var (
	prod, demo   *chtest.Server
	prodPassword string // the test's password for mlmon on prod
	binDir       string // exporter and demodata, built once
)

const (
	usersFile       = "users.d/mlmon.xml"
	constraintsFile = "users.d/mlmon-constraints.xml"
	userSQL         = "mlmon-user.sql"
	demoOverride    = "../compose/clickhouse/mlmon-demo.xml"
	k8sConfig       = "../kubernetes/mlmon.yml"
	composeConfig   = "../compose/mlmon.yml"
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

// run starts both servers and builds the binaries; a failure there fails
// the run, it never turns into skipped tests.
func run(m *testing.M) (code int) {
	dir, err := os.MkdirTemp("", "mlmon-deploy-clickhouse-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if code == 0 {
			os.RemoveAll(dir)
		} else {
			fmt.Fprintln(os.Stderr, "server files kept in", dir)
		}
	}()
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "deploy/clickhouse:", err)
		return 1
	}

	shipped, err := os.ReadFile(usersFile)
	if err != nil {
		return fail(err)
	}
	override, err := os.ReadFile(demoOverride)
	if err != nil {
		return fail(err)
	}
	pw := make([]byte, 16)
	if _, err := rand.Read(pw); err != nil {
		return fail(err)
	}
	prodPassword = hex.EncodeToString(pw)
	sum := sha256.Sum256([]byte(prodPassword))
	// The override the comment in users.d/mlmon.xml tells operators to
	// write, in a file that sorts after it.
	passwordOverride := fmt.Sprintf(`<?xml version="1.0"?>
<yandex><users><mlmon>
  <password_sha256_hex replace="replace">%x</password_sha256_hex>
</mlmon></users></yandex>
`, sum)

	if prod, err = startServer(filepath.Join(dir, "prod"), map[string][]byte{
		"mlmon.xml":             shipped,
		"zz-mlmon-password.xml": []byte(passwordOverride),
	}); err != nil {
		return fail(fmt.Errorf("prod server: %w", err))
	}
	defer prod.Stop()
	// Mounted under the same names as in compose.yaml.
	if demo, err = startServer(filepath.Join(dir, "demo"), map[string][]byte{
		"mlmon.xml":         shipped,
		"zz-mlmon-demo.xml": override,
	}); err != nil {
		return fail(fmt.Errorf("demo server: %w", err))
	}
	defer demo.Stop()

	binDir = filepath.Join(dir, "bin")
	build := exec.Command("go", "build", "-o", binDir+"/", "./cmd/exporter", "./cmd/demodata")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("go build: %v\n%s", err, out))
	}
	return m.Run()
}

// startServer starts a private server from a copy of the packaged
// configuration directory whose users.d holds the given files.
func startServer(dir string, usersD map[string][]byte) (*chtest.Server, error) {
	packaged := filepath.Dir(chtest.ConfigFile)
	etc := filepath.Join(dir, "etc")
	for _, sub := range []string{"", "config.d", "users.d"} {
		if err := os.MkdirAll(filepath.Join(etc, sub), 0o755); err != nil {
			return nil, err
		}
		entries, err := os.ReadDir(filepath.Join(packaged, sub))
		if err != nil && sub != "" {
			continue // the package has no such directory
		} else if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".xml") {
				continue
			}
			data, err := os.ReadFile(filepath.Join(packaged, sub, e.Name()))
			if err != nil {
				return nil, err
			}
			if err := os.WriteFile(filepath.Join(etc, sub, e.Name()), data, 0o644); err != nil {
				return nil, err
			}
		}
	}
	for name, data := range usersD {
		if err := os.WriteFile(filepath.Join(etc, "users.d", name), data, 0o644); err != nil {
			return nil, err
		}
	}
	saved := chtest.ConfigFile
	chtest.ConfigFile = filepath.Join(etc, filepath.Base(saved))
	defer func() { chtest.ConfigFile = saved }()
	return chtest.Start(filepath.Join(dir, "data"))
}

func mustStatements(t *testing.T, file string) []string {
	t.Helper()
	stmts, err := chtest.Statements(file)
	if err != nil {
		t.Fatal(err)
	}
	return stmts
}

// productionDatabase is the database schema-production.sql creates, which
// the users file must grant and the Kubernetes configuration must read.
func productionDatabase(t *testing.T) string {
	t.Helper()
	for _, s := range mustStatements(t, "schema-production.sql") {
		if m := regexp.MustCompile(`^CREATE DATABASE IF NOT EXISTS (\w+)$`).FindStringSubmatch(s); m != nil {
			return m[1]
		}
	}
	t.Fatal("schema-production.sql creates no database")
	return ""
}

func open(t *testing.T, srv *chtest.Server, user, password, database string) driver.Conn {
	t.Helper()
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:        []string{srv.Addr()},
		Auth:        clickhouse.Auth{Username: user, Password: password, Database: database},
		DialTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// applySchema runs schema.sql in database db of srv, as the admin.
func applySchema(srv *chtest.Server, db string) error {
	ctx := context.Background()
	if err := srv.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+db); err != nil {
		return err
	}
	stmts, err := chtest.Statements("schema.sql")
	if err != nil {
		return err
	}
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{srv.Addr()}, Auth: clickhouse.Auth{Database: db}})
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, s := range stmts {
		if err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("schema.sql on ClickHouse 18.16, database %s: %w\n%s", db, err, s)
		}
	}
	return nil
}

// seeded writes the demo data once per server: schema.sql, then a
// reference period and recent history from the demo data writer.
var seeded = map[*chtest.Server]*seedOnce{}

type seedOnce struct {
	once sync.Once
	err  error
}

func seed(t *testing.T, srv *chtest.Server, db string, args ...string) {
	t.Helper()
	s := seeded[srv]
	if s == nil {
		s = &seedOnce{}
		seeded[srv] = s
	}
	s.once.Do(func() {
		if s.err = applySchema(srv, db); s.err != nil {
			return
		}
		cmd := exec.Command(filepath.Join(binDir, "demodata"), append([]string{
			"--clickhouse.addr=" + srv.Addr(), "--clickhouse.database=" + db, "--rate=1", "--history=3h"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			s.err = fmt.Errorf("demodata: %v\n%s", err, out)
		}
	})
	if s.err != nil {
		t.Fatal(s.err)
	}
}

// seedProd writes a reference four hours wide around one week ago, where
// the Kubernetes configuration's rolling reference (offset: 1w) looks.
func seedProd(t *testing.T) {
	t.Helper()
	from := time.Now().UTC().Add(-7*24*time.Hour - 3*time.Hour).Truncate(time.Second)
	seed(t, prod, productionDatabase(t), "--reference.from="+from.Format(time.RFC3339), "--reference.length=4h")
}

// seedDemo writes the reference where the compose configuration's fixed
// range (the demo writer's default) is.
func seedDemo(t *testing.T) { seed(t, demo, "default", "--reference.length=2h") }

func TestSchemaOn1816(t *testing.T) {
	seedDemo(t)
	seedProd(t)
	// Idempotent: deploy/local/up.sh and the compose image may apply it to
	// a server that has the tables already.
	if err := applySchema(demo, "default"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, table := range []string{"predictions", "ground_truth", "eta_predictions", "eta_ground_truth"} {
		var n uint64
		if err := demo.Conn().QueryRow(ctx, "SELECT count() FROM default."+table).Scan(&n); err != nil || n == 0 {
			t.Errorf("default.%s: %d rows, %v", table, n, err)
		}
	}
}

// column is one column of a CREATE TABLE: its name and type, with
// LowCardinality and codecs taken off.
type column struct{ name, typ string }

var (
	createTable = regexp.MustCompile(`(?s)^CREATE TABLE IF NOT EXISTS (\S+)\s*\((.*)\)\s*(ENGINE\b.*)$`)
	lowCard     = regexp.MustCompile(`^LowCardinality\((.*)\)$`)
	codec       = regexp.MustCompile(`\s+CODEC\(.*\)$`)
)

func tables(t *testing.T, file string) (map[string][]column, map[string]string) {
	t.Helper()
	cols, engines := map[string][]column{}, map[string]string{}
	for _, s := range mustStatements(t, file) {
		if !strings.HasPrefix(s, "CREATE TABLE") {
			continue
		}
		m := createTable.FindStringSubmatch(s)
		if m == nil {
			t.Fatalf("%s: cannot parse %s", file, s)
		}
		name := m[1]
		engines[name] = m[3]
		for _, line := range strings.Split(m[2], "\n") {
			line = strings.TrimSuffix(strings.TrimSpace(line), ",")
			if line == "" {
				continue
			}
			colName, typ, ok := strings.Cut(line, " ")
			if !ok {
				t.Fatalf("%s: %s: cannot parse column %q", file, name, line)
			}
			typ = codec.ReplaceAllString(strings.TrimSpace(typ), "")
			if lc := lowCard.FindStringSubmatch(typ); lc != nil {
				typ = lc[1]
			}
			cols[name] = append(cols[name], column{colName, typ})
		}
	}
	return cols, engines
}

// TestProductionSchemaMatchesDemo: the production DDL, which no server here
// can run (TTL needs 19.6), has the tables and columns of schema.sql, which
// runs here and is what the scrapes below read; plus a TTL and daily
// partitions on every table.
func TestProductionSchemaMatchesDemo(t *testing.T) {
	demoCols, _ := tables(t, "schema.sql")
	prodCols, engines := tables(t, "schema-production.sql")
	db := productionDatabase(t)
	if len(prodCols) != len(demoCols) {
		t.Errorf("schema-production.sql has %d tables, schema.sql %d", len(prodCols), len(demoCols))
	}
	for name, cols := range prodCols {
		bare, ok := strings.CutPrefix(name, db+".")
		if !ok {
			t.Errorf("table %s is not in database %s", name, db)
		}
		if fmt.Sprint(cols) != fmt.Sprint(demoCols[bare]) {
			t.Errorf("%s columns differ from schema.sql's %s:\n  production %v\n  demo       %v", name, bare, cols, demoCols[bare])
		}
		for _, clause := range []string{"PARTITION BY toYYYYMMDD(ts)", "ORDER BY ", "TTL ts + INTERVAL"} {
			if !strings.Contains(engines[name], clause) {
				t.Errorf("%s: no %s", name, clause)
			}
		}
	}
}

// xmlNode is a generic XML element, for reading ClickHouse's files whose
// element names are user, profile and setting names.
type xmlNode struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Text     string     `xml:",chardata"`
	Children []xmlNode  `xml:",any"`
}

func parseXML(t *testing.T, file string) *xmlNode {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var root xmlNode
	if err := xml.Unmarshal(data, &root); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if n := root.XMLName.Local; n != "yandex" && n != "clickhouse" {
		t.Fatalf("%s: root element <%s>", file, n)
	}
	return &root
}

// get follows a path of element names; nil when absent.
func (n *xmlNode) get(path ...string) *xmlNode {
	for _, p := range path {
		var next *xmlNode
		for i := range n.Children {
			if n.Children[i].XMLName.Local == p {
				next = &n.Children[i]
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}

func (n *xmlNode) text(t *testing.T, file string, path ...string) string {
	t.Helper()
	c := n.get(path...)
	if c == nil {
		t.Fatalf("%s: no <%s>", file, strings.Join(path, "><"))
	}
	return strings.TrimSpace(c.Text)
}

func (n *xmlNode) number(t *testing.T, file string, path ...string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(n.text(t, file, path...), 10, 64)
	if err != nil {
		t.Fatalf("%s: <%s>: %v", file, strings.Join(path, "><"), err)
	}
	return v
}

const lockedHash = "0000000000000000000000000000000000000000000000000000000000000000"

// TestUsersFiles: the users file, the constraints file and the SQL variant
// describe one user, grant what the Kubernetes configuration reads, allow
// the settings the exporter sends, and ship no usable password.
func TestUsersFiles(t *testing.T) {
	u := parseXML(t, usersFile)
	users := u.get("users")
	if users == nil || len(users.Children) != 1 {
		t.Fatalf("%s: want exactly one user", usersFile)
	}
	user := users.Children[0].XMLName.Local
	profile := u.text(t, usersFile, "users", user, "profile")
	quota := u.text(t, usersFile, "users", user, "quota")
	if got := u.text(t, usersFile, "profiles", profile, "readonly"); got != "2" {
		t.Errorf("profile %s: readonly %s; want 2 (reads only, and the exporter may still send its query settings)", profile, got)
	}
	if h := u.text(t, usersFile, "users", user, "password_sha256_hex"); h != lockedHash {
		t.Errorf("%s ships password hash %s: a committed file must not hold a usable credential", usersFile, h)
	}
	if u.get("users", user, "password") != nil || u.get("users", user, "networks") == nil {
		t.Errorf("%s: want no plaintext password and an explicit networks list", usersFile)
	}
	if d := u.number(t, usersFile, "quotas", quota, "interval", "duration"); d <= 0 {
		t.Errorf("quota %s: interval duration %d", quota, d)
	}
	if q := u.number(t, usersFile, "quotas", quota, "interval", "queries"); q <= 0 {
		t.Errorf("quota %s: no query limit", quota)
	}
	var dbs []string
	for _, c := range u.get("users", user, "allow_databases").Children {
		dbs = append(dbs, strings.TrimSpace(c.Text))
	}
	db := productionDatabase(t)
	if len(dbs) != 1 || dbs[0] != db {
		t.Errorf("%s allows databases %v, want exactly %s (schema-production.sql)", usersFile, dbs, db)
	}

	// The Kubernetes configuration reads that database as that user.
	k8s, err := config.Load(k8sConfig, config.WithLookupEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		t.Fatal(err)
	}
	if k8s.ClickHouse.Username != user || k8s.ClickHouse.Database != db {
		t.Errorf("%s reads database %s as %s, the users file grants %s to %s", k8sConfig, k8s.ClickHouse.Database, k8s.ClickHouse.Username, db, user)
	}
	compose, err := config.Load(composeConfig)
	if err != nil {
		t.Fatal(err)
	}

	// Constraints: the profile's own values and every configuration's
	// query_timeout (the largest max_execution_time the exporter sends)
	// stay within them.
	c := parseXML(t, constraintsFile)
	if c.get("profiles", profile, "constraints") == nil {
		t.Fatalf("%s does not constrain profile %s", constraintsFile, profile)
	}
	maxExec := c.number(t, constraintsFile, "profiles", profile, "constraints", "max_execution_time", "max")
	maxMem := c.number(t, constraintsFile, "profiles", profile, "constraints", "max_memory_usage", "max")
	if v := u.number(t, usersFile, "profiles", profile, "max_execution_time"); v > maxExec {
		t.Errorf("profile max_execution_time %d above its constraint %d", v, maxExec)
	}
	if v := u.number(t, usersFile, "profiles", profile, "max_memory_usage"); v > maxMem {
		t.Errorf("profile max_memory_usage %d above its constraint %d", v, maxMem)
	}
	for _, cfg := range []*config.Config{k8s, compose} {
		if qt := int64(cfg.ClickHouse.QueryTimeout.Seconds()); qt > maxExec {
			t.Errorf("query_timeout %ds exceeds the max_execution_time constraint %d: the exporter's queries would be rejected", qt, maxExec)
		}
	}

	// The SQL variant: the same user, database, limits and quota.
	sql := strings.Join(mustStatements(t, userSQL), ";\n")
	expect := map[string]string{
		`readonly = (\d+)`:                         "2",
		`GRANT SELECT ON (\w+)\.\* TO`:             db,
		`CREATE USER IF NOT EXISTS (\w+)`:          user,
		`sha256_hash BY '(\w+)'`:                   lockedHash,
		`max_execution_time = \d+ MAX (\d+)`:       strconv.FormatInt(maxExec, 10),
		`max_memory_usage = \d+ MAX (\d+)`:         strconv.FormatInt(maxMem, 10),
		`max_execution_time = (\d+) MAX`:           u.text(t, usersFile, "profiles", profile, "max_execution_time"),
		`max_memory_usage = (\d+) MAX`:             u.text(t, usersFile, "profiles", profile, "max_memory_usage"),
		`MAX queries = (\d+)`:                      u.text(t, usersFile, "quotas", quota, "interval", "queries"),
		`errors = (\d+)`:                           u.text(t, usersFile, "quotas", quota, "interval", "errors"),
		`, execution_time = (\d+)`:                 u.text(t, usersFile, "quotas", quota, "interval", "execution_time"),
		`FOR INTERVAL (\d+) hour`:                  strconv.FormatInt(u.number(t, usersFile, "quotas", quota, "interval", "duration")/3600, 10),
		`GRANT SELECT\(([\w, ]+)\) ON system\.tab`: "database, name, sampling_key",
	}
	for re, want := range expect {
		m := regexp.MustCompile(re).FindStringSubmatch(sql)
		if m == nil || m[1] != want {
			t.Errorf("%s: %s: got %v, want %s (as in the XML files)", userSQL, re, m, want)
		}
	}
}

// TestReadOnlyUser logs in as the shipped user (with the test's password)
// and tries what it must and must not be able to do.
func TestReadOnlyUser(t *testing.T) {
	seedProd(t)
	db := productionDatabase(t)
	ctx := context.Background()
	// Something the user must not see, in another database.
	if err := prod.Exec(ctx, "CREATE TABLE IF NOT EXISTS default.secrets (x UInt8) ENGINE = Memory"); err != nil {
		t.Fatal(err)
	}
	conn := open(t, prod, "mlmon", prodPassword, db)

	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM "+db+".predictions").Scan(&n); err != nil || n == 0 {
		t.Fatalf("SELECT as mlmon: %d rows, %v", n, err)
	}
	// The settings the exporter sends with every query.
	exporterCtx := clickhouse.Context(ctx, clickhouse.WithSettings(chquery.QuerySettings(20)),
		clickhouse.WithQueryID("mlmon-deploy-test"))
	if err := conn.QueryRow(exporterCtx, "SELECT count() FROM "+db+".ground_truth").Scan(&n); err != nil {
		t.Errorf("a query with the exporter's settings: %v", err)
	}
	// And they take effect: with readonly = 1, 18.16 drops a query's
	// settings silently (current releases refuse the query), and the scrape
	// deadline would not reach the server.
	var limit string
	if err := conn.QueryRow(exporterCtx, "SELECT value FROM system.settings WHERE name = 'max_execution_time'").Scan(&limit); err != nil || limit != "20" {
		t.Errorf("max_execution_time sent with the query is %q on the server (%v), want 20", limit, err)
	}
	var key string
	if err := conn.QueryRow(ctx, "SELECT sampling_key FROM system.tables WHERE database = ? AND name = 'predictions'", db).Scan(&key); err != nil {
		t.Errorf("the exporter's sampling key lookup in system.tables: %v", err)
	}
	var readonly string
	if err := conn.QueryRow(ctx, "SELECT value FROM system.settings WHERE name = 'readonly'").Scan(&readonly); err != nil || readonly != "2" {
		t.Errorf("readonly = %q (%v), want 2", readonly, err)
	}
	// Lifting readonly is refused (current releases) or ignored (18.16).
	liftCtx := clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"readonly": 0}))
	if err := conn.QueryRow(liftCtx, "SELECT value FROM system.settings WHERE name = 'readonly'").Scan(&readonly); err == nil && readonly != "2" {
		t.Errorf("readonly is %s in a query that asked for 0", readonly)
	}

	for _, stmt := range []string{
		"INSERT INTO " + db + ".ground_truth SELECT 'x', 'y', now()",
		"CREATE TABLE " + db + ".scratch (x UInt8) ENGINE = Memory",
		"ALTER TABLE " + db + ".predictions DELETE WHERE 1",
		"DROP TABLE " + db + ".predictions",
		"SELECT count() FROM default.secrets",
	} {
		if err := conn.Exec(ctx, stmt); err == nil {
			t.Errorf("mlmon may run: %s", stmt)
		} else {
			t.Logf("refused as it should be: %s: %v", stmt, err)
		}
	}
	if err := prod.Conn().QueryRow(ctx, "SELECT count() FROM "+db+".predictions").Scan(&n); err != nil || n == 0 {
		t.Errorf("the predictions are gone after the attempts: %d rows, %v", n, err)
	}

	bad := open(t, prod, "mlmon", prodPassword+"x", db)
	if err := bad.Ping(ctx); err == nil {
		t.Error("a wrong password logs in")
	}
}

// TestExporterOnKubernetesConfig runs the exporter binary as the Deployment
// does, on the Kubernetes ConfigMap's configuration with the password in
// MLMON_CLICKHOUSE_PASSWORD, against the production database as the
// read-only user, and scrapes it with the ServiceMonitor's timeout.
func TestExporterOnKubernetesConfig(t *testing.T) {
	seedProd(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "mlmon.yml")
	writeWithAddr(t, k8sConfig, file, prod.Addr())
	families := scrape(t, file, []string{"MLMON_CLICKHOUSE_PASSWORD=" + prodPassword}, "25")
	checkScrape(t, file, families)
	// The rolling reference found the data a week back, with its labels.
	want(t, families, "mlmon_accuracy_ratio", map[string]string{"model": "churn", "window": "reference"})
	want(t, families, "mlmon_feature_psi", map[string]string{"model": "churn", "feature": "age"})
	want(t, families, "mlmon_mae", map[string]string{"model": "eta", "window": "current"})
}

// TestExporterOnComposeConfig does the same with the compose stack's
// configuration and password file, as the compose stack's user.
func TestExporterOnComposeConfig(t *testing.T) {
	seedDemo(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "mlmon.yml")
	writeWithAddr(t, composeConfig, file, demo.Addr())
	pw, err := os.ReadFile("../compose/clickhouse-password")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "clickhouse-password"), pw, 0o600); err != nil {
		t.Fatal(err)
	}
	// compose.yaml's Prometheus scrapes with a 10s timeout.
	families := scrape(t, file, nil, "10")
	checkScrape(t, file, families)
	want(t, families, "mlmon_accuracy_ratio", map[string]string{"model": "churn", "window": "reference"})
	want(t, families, "mlmon_feature_psi", map[string]string{"model": "intent", "feature": "plan"})
}

// writeWithAddr copies a configuration with clickhouse.addr pointing at the
// test server; everything else stays as shipped.
func writeWithAddr(t *testing.T, src, dst, addr string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	replaced := false
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "clickhouse" {
			continue
		}
		ch := root.Content[i+1]
		for j := 0; j+1 < len(ch.Content); j += 2 {
			if ch.Content[j].Value == "addr" {
				ch.Content[j+1] = &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: addr}}}
				replaced = true
			}
		}
	}
	if !replaced {
		t.Fatalf("%s has no clickhouse.addr", src)
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// scrape starts the exporter binary on a free loopback port, waits until it
// is ready, and scrapes it once as Prometheus would.
func scrape(t *testing.T, configFile string, env []string, timeoutHeader string) map[string]*dto.MetricFamily {
	t.Helper()
	addr, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	cmd := exec.Command(filepath.Join(binDir, "exporter"), "--config.file="+configFile, "--web.listen-address="+addr)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, config.PasswordEnv+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("exporter log:\n%s", log.String())
		}
	})

	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the exporter did not become ready: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", timeoutHeader)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return families
}

// checkScrape: ClickHouse answered and every model's every query succeeded.
func checkScrape(t *testing.T, configFile string, families map[string]*dto.MetricFamily) {
	t.Helper()
	cfg, err := config.Load(configFile, config.WithLookupEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		t.Fatal(err)
	}
	if v := value(families, "mlmon_clickhouse_up", nil); v == nil || *v != 1 {
		t.Errorf("mlmon_clickhouse_up = %v, want 1", v)
	}
	for _, m := range cfg.Models {
		if v := value(families, "mlmon_scrape_success", map[string]string{"model": m.Name}); v == nil || *v != 1 {
			t.Errorf("mlmon_scrape_success{model=%q} = %v, want 1", m.Name, v)
		}
	}
	if f := families["mlmon_query_errors_total"]; f != nil {
		for _, m := range f.Metric {
			if m.GetCounter().GetValue() != 0 {
				t.Errorf("mlmon_query_errors_total %v = %v", m.Label, m.GetCounter().GetValue())
			}
		}
	}
}

func want(t *testing.T, families map[string]*dto.MetricFamily, name string, labels map[string]string) {
	t.Helper()
	if value(families, name, labels) == nil {
		t.Errorf("no %s%v in the scrape", name, labels)
	}
}

// value is the value of the first series of the family whose labels include
// the given ones.
func value(families map[string]*dto.MetricFamily, name string, labels map[string]string) *float64 {
	f := families[name]
	if f == nil {
		return nil
	}
series:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue series
			}
		}
		var v float64
		switch {
		case m.Gauge != nil:
			v = m.Gauge.GetValue()
		case m.Counter != nil:
			v = m.Counter.GetValue()
		case m.Untyped != nil:
			v = m.Untyped.GetValue()
		}
		return &v
	}
	return nil
}
