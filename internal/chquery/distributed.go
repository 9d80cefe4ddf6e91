package chquery

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/mlmon/mlmon/internal/config"
)

// TableInfo is what system.tables says of a table the exporter reads.
type TableInfo struct {
	Engine string
	// Distributed is set when the table is a Distributed table: the rows
	// live in its local table on every shard of a cluster.
	Distributed *Distributed
	// SamplingKey is the table's sampling key; for a Distributed table, its
	// local table's (as this server holds it), which is what a SAMPLE clause
	// on the Distributed table samples by.
	SamplingKey string
}

// Distributed is the definition of a Distributed table:
// Distributed(cluster, database, table[, sharding_key[, policy]]).
type Distributed struct {
	Cluster, Database, Table string
	// ShardingKey is the expression, as the server prints it; "" when the
	// table has none (it then takes no inserts, and reads are unaffected).
	ShardingKey string
}

// ParseDistributed reads the engine_full column of system.tables for a
// Distributed table. 18.16 prints bare identifiers
// (Distributed(c, default, t, cityHash64(id))), current releases quote them
// (Distributed('c', 'default', 't', cityHash64(id))).
func ParseDistributed(engineFull string) (Distributed, error) {
	const prefix = "Distributed("
	s := strings.TrimSpace(engineFull)
	if !strings.HasPrefix(s, prefix) {
		return Distributed{}, fmt.Errorf("not a Distributed engine: %q", engineFull)
	}
	// engine_full may go on with SETTINGS or other clauses after the
	// arguments' closing parenthesis.
	args, ok := splitArgs(s[len(prefix)-1:])
	if !ok || len(args) < 3 {
		return Distributed{}, fmt.Errorf("cannot read the arguments of %q", engineFull)
	}
	d := Distributed{Cluster: unquote(args[0]), Database: unquote(args[1]), Table: unquote(args[2])}
	if len(args) > 3 {
		d.ShardingKey = args[3]
	}
	return d, nil
}

// splitArgs splits "(a, f(b, c), 'd,e') …" at its top-level commas, up to
// the parenthesis that closes the first one.
func splitArgs(s string) ([]string, bool) {
	var args []string
	depth, start := 0, 1
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"' || c == '`':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth == 0 {
				return append(args, strings.TrimSpace(s[start:i])), true
			}
		case c == ',' && depth == 1:
			args = append(args, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	return nil, false
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '\'' || s[0] == '`' || s[0] == '"') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

// JoinStrategy is how the performance join meets predictions with labels.
type JoinStrategy int

const (
	// JoinSingle: neither table is Distributed; one server joins.
	JoinSingle JoinStrategy = iota
	// JoinLocal: predictions and labels are sharded alike by the id, so
	// every label lives on its prediction's shard: each shard joins its own
	// rows and sends partial aggregates. No label crosses the network.
	JoinLocal
	// JoinGlobal: each shard joins its predictions with the window's labels,
	// gathered once by the server the exporter talks to and sent to every
	// shard (GLOBAL JOIN).
	JoinGlobal
	// JoinInitiator: the shards send the window's predictions and labels to
	// the server the exporter talks to, which joins them.
	JoinInitiator
)

// String is the value of the ground_truth.distributed_join key that forces
// the strategy.
func (s JoinStrategy) String() string {
	switch s {
	case JoinLocal:
		return config.JoinLocal
	case JoinGlobal:
		return config.JoinGlobal
	case JoinInitiator:
		return config.JoinInitiator
	}
	return "single"
}

// ChooseJoin picks the join for predictions and labels as system.tables
// describes them. forced is the configured ground_truth.distributed_join;
// readOnce says the label side cannot be filtered by the window's ids
// (servers before 19.4, Source.ReadOnce).
//
// Where neither table is Distributed the join is the single-server one,
// whatever is forced. Where both are sharded alike by their ids over one
// cluster the shards join locally. Otherwise the window's labels are
// shipped to the shards (JoinGlobal): on two shards (mlmonbench, labels
// sharded apart from their predictions) the scrape took 2.4 s against 4.3 s
// when the initiator joined (200k predictions a model), for about as many
// bytes between the servers (8.6 MB against 7.3 MB); see docs/cluster.md.
// Unfiltered, the label side is every label since the window's start, and
// shipping it to every shard cost more than the initiator's join (1M
// predictions: 10.1 s and 54 MB against 8.8 s and 26 MB): with readOnce the
// initiator joins. JoinLocal is only taken when forced or proven: on tables
// that are not co-located it silently loses every label that lives on
// another shard than its prediction.
func ChooseJoin(forced string, preds, labels TableInfo, predID, labelID string, readOnce bool) (JoinStrategy, string) {
	if preds.Distributed == nil && labels.Distributed == nil {
		return JoinSingle, "no Distributed table"
	}
	switch forced {
	case config.JoinLocal:
		return JoinLocal, "forced by ground_truth.distributed_join"
	case config.JoinGlobal:
		return JoinGlobal, "forced by ground_truth.distributed_join"
	case config.JoinInitiator:
		return JoinInitiator, "forced by ground_truth.distributed_join"
	}
	if preds.Distributed == nil {
		// The labels are sharded but the predictions are not: only the
		// server the exporter talks to holds them.
		return JoinInitiator, "predictions table is not Distributed"
	}
	if why := colocated(*preds.Distributed, labels.Distributed, predID, labelID); why != "" {
		if readOnce {
			return JoinInitiator, why + "; the labels cannot be filtered by the window's ids on this server"
		}
		return JoinGlobal, why
	}
	return JoinLocal, "predictions and labels sharded alike by their ids"
}

// colocated says why the two tables' rows of one id may live on different
// shards, or "" when they cannot: the same cluster, and sharding keys that
// are the same deterministic expression of the id column and of nothing
// else.
func colocated(p Distributed, l *Distributed, predID, labelID string) string {
	switch {
	case l == nil:
		return "labels table is not Distributed"
	case p.Cluster != l.Cluster:
		return fmt.Sprintf("different clusters (%s, %s)", p.Cluster, l.Cluster)
	case p.ShardingKey == "" || l.ShardingKey == "":
		return "no sharding key"
	}
	pk, pok := idExpression(p.ShardingKey, predID)
	lk, lok := idExpression(l.ShardingKey, labelID)
	if !pok || !lok || pk != lk {
		return fmt.Sprintf("sharding keys %q and %q are not the same expression of the ids", p.ShardingKey, l.ShardingKey)
	}
	return ""
}

var (
	identToken = regexp.MustCompile("`[^`]*`|\"[^\"]*\"|'(?:[^'\\\\]|\\\\.)*'|[A-Za-z_][A-Za-z0-9_]*\\s*\\(?|[^A-Za-z_\\s`\"']+")
	// Functions whose value does not follow from their arguments place equal
	// ids on different shards.
	nondeterministic = regexp.MustCompile(`(?i)^(rand|rand32|rand64|randConstant|now|now64|today|yesterday|generateUUIDv4|rowNumberInAllBlocks|rowNumberInBlock|blockNumber|hostName|shardNum)\s*\($`)
)

// idExpression rewrites a sharding key with the id column as "$id", and
// reports whether the id is the only column it reads and every function is
// deterministic. Whitespace and identifier quoting are normalised away, so
// "cityHash64(`request_id`)" and "cityHash64(rid)" compare equal for ids
// request_id and rid.
func idExpression(key, id string) (string, bool) {
	var out strings.Builder
	usesID := true
	sawID := false
	for _, tok := range identToken.FindAllString(key, -1) {
		switch {
		case strings.HasSuffix(tok, "("):
			if nondeterministic.MatchString(tok) {
				return "", false
			}
			out.WriteString(strings.ToLower(strings.TrimSpace(strings.TrimSuffix(tok, "("))) + "(")
		case tok[0] == '\'':
			out.WriteString(tok)
		case tok[0] == '`' || tok[0] == '"' || isIdentStart(tok[0]):
			name := strings.Trim(tok, "`\"")
			if name != id {
				usesID = false
			}
			sawID = true
			out.WriteString("$id")
		default:
			out.WriteString(strings.Join(strings.Fields(tok), ""))
		}
	}
	return out.String(), usesID && sawID
}

func isIdentStart(c byte) bool { return c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }

// Table returns what system.tables says of table, looked up once per
// client: a table's engine does not change under a running configuration
// (a reload makes a new client). name is the query's name for the error
// counter.
func (c *Client) Table(ctx context.Context, model, table, name string) (TableInfo, error) {
	if v, ok := c.tables.Load(table); ok {
		return v.(TableInfo), nil
	}
	db, tbl := splitTable(table)
	var info TableInfo
	var database, engineFull string
	q := Query{Name: name, SQL: "SELECT database, engine, engine_full, sampling_key FROM system.tables WHERE database = if(? = '', currentDatabase(), ?) AND name = ?",
		Args: []any{db, db, tbl}}
	found := false
	err := c.QueryRows(ctx, model, q, func(scan func(...any) error) error {
		found = true
		return scan(&database, &info.Engine, &engineFull, &info.SamplingKey)
	})
	if err != nil {
		return TableInfo{}, fmt.Errorf("look up table %s in system.tables: %w", table, err)
	}
	if !found {
		// Not cached: the table may yet be created. The query that reads it
		// will fail with ClickHouse's own words for what is missing.
		return TableInfo{}, nil
	}
	if info.Engine == "Distributed" {
		d, err := ParseDistributed(engineFull)
		if err != nil {
			return TableInfo{}, fmt.Errorf("table %s: %w", table, err)
		}
		// Distributed(c, currentDatabase(), t): 18.16 keeps the expression,
		// which named the database the table was created in.
		if strings.EqualFold(strings.ReplaceAll(d.Database, " ", ""), "currentDatabase()") {
			d.Database = database
		}
		info.Distributed = &d
		// SAMPLE on a Distributed table samples each shard's local table by
		// its key; this server's copy of the local table tells whether there
		// is one. Without one here, rows are sampled by the id's hash, which
		// is as exact, only not cheaper to read.
		q := Query{Name: name, SQL: "SELECT sampling_key FROM system.tables WHERE database = ? AND name = ?",
			Args: []any{d.Database, d.Table}}
		info.SamplingKey = ""
		err = c.QueryRows(ctx, model, q, func(scan func(...any) error) error { return scan(&info.SamplingKey) })
		if err != nil {
			return TableInfo{}, fmt.Errorf("look up the local table %s.%s of %s: %w", d.Database, d.Table, table, err)
		}
	}
	c.tables.Store(table, info)
	return info, nil
}

// JoinPlan is how a model's performance join runs on this server.
type JoinPlan struct {
	Strategy JoinStrategy
	ReadOnce bool // see Source.ReadOnce
}

// Join plans m's performance join from its tables' engines (cached), the
// server's version (cached) and ground_truth.distributed_join.
func (c *Client) Join(ctx context.Context, m *config.Model, name string) (JoinPlan, error) {
	if m.GroundTruth == nil {
		return JoinPlan{}, nil
	}
	preds, err := c.Table(ctx, m.Name, m.Predictions.Table, name)
	if err != nil {
		return JoinPlan{}, err
	}
	labels, err := c.Table(ctx, m.Name, m.GroundTruth.Table, name)
	if err != nil {
		return JoinPlan{}, err
	}
	locksTwice, err := c.LocksTwice(ctx, m.Name, name)
	if err != nil {
		return JoinPlan{}, err
	}
	plan := JoinPlan{ReadOnce: !locksTwice}
	var why string
	plan.Strategy, why = ChooseJoin(m.GroundTruth.DistributedJoin, preds, labels, m.Predictions.ID, m.GroundTruth.ID, plan.ReadOnce)
	if plan.Strategy != JoinSingle {
		if _, logged := c.joinsLogged.LoadOrStore(m.Name, plan.Strategy); !logged {
			c.logger.Info("performance join over Distributed tables", "model", m.Name, "strategy", plan.Strategy.String(), "why", why)
		}
	}
	return plan, nil
}

// Placement says where a Distributed table's rows live, for an error
// message: "" for a table that is not Distributed or not looked up yet.
func (c *Client) Placement(table string) string {
	v, ok := c.tables.Load(table)
	if !ok || v.(TableInfo).Distributed == nil {
		return ""
	}
	d := v.(TableInfo).Distributed
	return fmt.Sprintf("%s: Distributed over cluster %s, local table %s.%s on each shard", table, d.Cluster, d.Database, d.Table)
}

func splitTable(table string) (db, name string) {
	db, name, qualified := strings.Cut(table, ".")
	if !qualified {
		return "", table
	}
	return db, name
}

// LocksTwice reports whether one query may lock a table twice on this
// server without risking a deadlock with a concurrent ALTER or DROP:
// ClickHouse 19.4 made a query's read locks reentrant (ClickHouse #4535).
// The server's version is read once per client; name is the query's name
// for the error counter.
func (c *Client) LocksTwice(ctx context.Context, model, name string) (bool, error) {
	if v := c.locksTwice.Load(); v != nil {
		return *v, nil
	}
	var version string
	if err := c.QueryRow(ctx, model, Query{Name: name, SQL: "SELECT version()"}, &version); err != nil {
		return false, fmt.Errorf("read the server's version: %w", err)
	}
	ok := versionAtLeast(version, 19, 4)
	c.locksTwice.Store(&ok)
	return ok, nil
}

// versionAtLeast compares the major.minor of a ClickHouse version string
// ("18.16.1", "26.5.1.1") with major.minor; an unreadable one counts as old,
// which costs speed, never correctness.
func versionAtLeast(version string, major, minor int) bool {
	var ma, mi int
	if _, err := fmt.Sscanf(version, "%d.%d", &ma, &mi); err != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}
