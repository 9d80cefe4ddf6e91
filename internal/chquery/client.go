package chquery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/mlmon/mlmon/internal/config"
)

// Client runs mlmon's queries on one ClickHouse cluster address list.
type Client struct {
	conn         driver.Conn
	queryTimeout time.Duration
	slots        chan struct{} // bounds queries in flight to max_parallel_queries
	logger       *slog.Logger
	idPrefix     string
	seq          atomic.Uint64 // queries started, also the query_id sequence
	observe      atomic.Pointer[Observer]
	tables       sync.Map // table name → TableInfo
	joinsLogged  sync.Map // model → the join strategy logged for it
	locksTwice   atomic.Pointer[bool]

	killConn driver.Conn // KILL QUERY and system.processes, outside the slots
	runMu    sync.Mutex
	running  map[string]running // by query_id
	kills    sync.WaitGroup     // kills in progress
	closed   chan struct{}
	closeOne sync.Once
}

// Cost is what one query cost ClickHouse, as its progress and profile-event
// packets report.
type Cost struct {
	Rows, Bytes uint64 // read
	Duration    time.Duration
	// CPU is the user and system CPU time of the query's threads on every
	// server it ran on. Servers before 21.12 send no profile events:
	// CPUReported then stays false and CPU means nothing.
	CPU         time.Duration
	CPUReported bool
}

// addProfileEvents adds a profile-event packet's CPU time. Each packet
// carries increments since the previous one, per thread and, under thread
// 0, for the query's whole thread group: only the group's are summed, or
// every thread would count twice.
func (c *Cost) addProfileEvents(events []clickhouse.ProfileEvent) {
	for _, e := range events {
		if e.ThreadID != 0 || e.Type != "increment" {
			continue
		}
		switch e.Name {
		case "UserTimeMicroseconds", "SystemTimeMicroseconds":
			c.CPU += time.Duration(e.Value) * time.Microsecond
			c.CPUReported = true
		}
	}
}

// Observer is told the cost of every query, so that what monitoring costs
// each model can be exposed.
type Observer func(model, query string, cost Cost, err error)

// Observe sets the function told about every query from now on.
func (c *Client) Observe(fn Observer) { c.observe.Store(&fn) }

// Queries is the number of queries this client has started.
func (c *Client) Queries() uint64 { return c.seq.Load() }

// Open connects lazily: clickhouse-go dials on first use, so an unreachable
// server at start-up is reported by the first scrape, not by a crash.
func Open(cfg config.ClickHouse, logger *slog.Logger) (*Client, error) {
	tlsConfig, err := cfg.TLS.Config()
	if err != nil {
		return nil, fmt.Errorf("clickhouse tls: %w", err)
	}
	opts := clickhouse.Options{
		Addr: cfg.Addr,
		Auth: clickhouse.Auth{
			Database: cfg.Database,
			Username: cfg.Username,
			Password: cfg.Password.Reveal(),
		},
		TLS:          tlsConfig,
		DialContext:  dialer(cfg.DialTimeout, tlsConfig),
		DialTimeout:  cfg.DialTimeout,
		ReadTimeout:  cfg.QueryTimeout + 5*time.Second,
		MaxOpenConns: cfg.MaxParallelQueries,
		MaxIdleConns: cfg.MaxParallelQueries,
		ClientInfo: clickhouse.ClientInfo{
			Products: []struct{ Name, Version string }{{Name: "mlmon"}},
		},
	}
	conn, err := clickhouse.Open(&opts)
	if err != nil {
		return nil, fmt.Errorf("open clickhouse %v: %w", cfg.Addr, err)
	}
	killConn, err := clickhouse.Open(killConnOptions(opts))
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("open clickhouse %v: %w", cfg.Addr, err)
	}
	return &Client{
		conn:         conn,
		killConn:     killConn,
		running:      map[string]running{},
		closed:       make(chan struct{}),
		queryTimeout: cfg.QueryTimeout,
		slots:        make(chan struct{}, cfg.MaxParallelQueries),
		logger:       logger,
		idPrefix:     fmt.Sprintf("mlmon-%x", time.Now().UnixNano()),
	}, nil
}

// Close kills every query of the client that ClickHouse still runs, then
// releases the connections.
func (c *Client) Close() error {
	var err error
	c.closeOne.Do(func() {
		c.killAll()
		c.killConn.Close()
		err = c.conn.Close()
	})
	return err
}

// Ping checks that the server answers within ctx.
func (c *Client) Ping(ctx context.Context) error {
	qctx, cancel, _, _ := c.bound(ctx, "ping")
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.conn.Ping(qctx) }()
	if err := await(qctx, done, nil); err != nil {
		return fmt.Errorf("ping clickhouse: %w", err)
	}
	return nil
}

// maxQuerySize bounds the SQL text ClickHouse parses; the queries are the
// exporter's own, so the bound only has to be out of their way.
const maxQuerySize = 64 << 20

// QuerySettings are the settings every exporter query carries: a read-only
// user's profile must let a query set them (readonly = 2, not 1).
func QuerySettings(maxExecutionSeconds int) clickhouse.Settings {
	return clickhouse.Settings{
		"max_execution_time": maxExecutionSeconds,
		"join_use_nulls":     0,
		// readonly = 2: the exporter can run nothing but reads, whatever the
		// user may do, yet may still set the settings here (readonly = 1
		// would forbid those).
		"readonly": 2,
		// A window query carries every reference category's hash: a few
		// categorical features with a thousand values each pass the default
		// limit of 256 KiB.
		"max_query_size": maxQuerySize,
		// The label join filters labels by the window's id hashes (IN a
		// subquery). No key is a hash, so the set is of no use to an index,
		// and preparing it for one made 18.16's join cost 2.5 s of server
		// CPU instead of 2.0 s (1.7M predictions, 5M labels).
		"use_index_for_in_with_subqueries": 0,
	}
}

// bound derives the context a query runs under. Its limit is the earlier of
// the caller's deadline and query_timeout, and ClickHouse receives the same
// limit as max_execution_time so the server stops too. The returned context
// is cancelled at that limit but carries no deadline, because clickhouse-go
// turns a context deadline into max_execution_time = remaining + 5s, which
// would let the query outlive its scrape.
func (c *Client) bound(ctx context.Context, name string, opts ...clickhouse.QueryOption) (context.Context, context.CancelFunc, time.Duration, string) {
	limit := c.queryTimeout
	if deadline, ok := ctx.Deadline(); ok {
		limit = min(limit, time.Until(deadline))
	}
	limit = max(limit, time.Millisecond)
	qctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stopParent := context.AfterFunc(ctx, cancel)
	timer := time.AfterFunc(limit, cancel)
	seconds := max(1, int(math.Floor(limit.Seconds())))
	id := c.queryID(ctx, name)
	qctx = clickhouse.Context(qctx, append([]clickhouse.QueryOption{
		clickhouse.WithQueryID(id),
		clickhouse.WithSettings(QuerySettings(seconds)),
	}, opts...)...)
	return qctx, func() {
		timer.Stop()
		stopParent()
		cancel()
	}, limit, id
}

func (c *Client) acquire(ctx context.Context) error {
	select {
	case c.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) release() { <-c.slots }

// QueryRow runs a query that returns one row and scans it into dest.
func (c *Client) QueryRow(ctx context.Context, model string, q Query, dest ...any) error {
	found := false
	err := c.QueryRows(ctx, model, q, func(scan func(...any) error) error {
		found = true
		return scan(dest...)
	})
	if err == nil && !found {
		err = fmt.Errorf("query %s: no row returned", q.Name)
	}
	return err
}

// QueryRows runs a query and calls fn for every row it returns.
func (c *Client) QueryRows(ctx context.Context, model string, q Query, fn func(scan func(dest ...any) error) error) error {
	var cost Cost
	var costMu sync.Mutex // progress arrives on the driver's goroutine
	qctx, cancel, limit, id := c.bound(ctx, q.Name, clickhouse.WithProgress(func(p *clickhouse.Progress) {
		costMu.Lock()
		cost.Rows += p.Rows
		cost.Bytes += p.Bytes
		costMu.Unlock()
	}), clickhouse.WithProfileEvents(func(events []clickhouse.ProfileEvent) {
		costMu.Lock()
		cost.addProfileEvents(events)
		costMu.Unlock()
	}))
	defer cancel()
	if err := c.acquire(qctx); err != nil {
		return fmt.Errorf("query %s: waiting for a connection: %w", q.Name, err)
	}
	c.track(id, running{model: model, name: q.Name, background: isBackground(ctx)})
	defer func() {
		// A query cut off by its deadline, its scrape's end or a closing
		// client may still run in ClickHouse whatever the driver did.
		if qctx.Err() != nil {
			reason := "deadline"
			if errors.Is(ctx.Err(), context.Canceled) {
				reason = "cancelled"
			}
			c.kill(id, reason)
			return
		}
		c.untrack(id)
	}()
	start := time.Now()
	// The driver runs on its own goroutine, which keeps the slot until it
	// returns, and rows reach fn only while the caller still waits.
	var gate sync.Mutex
	abandoned := false
	done := make(chan error, 1)
	go func() {
		defer c.release()
		done <- c.run(qctx, q, func(scan func(dest ...any) error) error {
			gate.Lock()
			defer gate.Unlock()
			if abandoned {
				return context.Canceled
			}
			return fn(scan)
		})
	}()
	err := await(qctx, done, func() {
		gate.Lock()
		abandoned = true
		gate.Unlock()
	})
	// An abandoned query's driver may still report progress: read a copy.
	costMu.Lock()
	cost.Duration = time.Since(start)
	spent := cost
	costMu.Unlock()
	if obs := c.observe.Load(); obs != nil {
		(*obs)(model, q.Name, spent, err)
	}
	attrs := []any{"model", model, "query", q.Name, "duration", spent.Duration, "read_rows", spent.Rows, "read_bytes", spent.Bytes}
	if spent.CPUReported {
		attrs = append(attrs, "cpu", spent.CPU)
	}
	c.logger.Debug("query", append(attrs, "limit", limit, "err", err)...)
	if err != nil {
		if qctx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("%w (limit %s)", err, limit.Round(time.Millisecond))
		}
		return fmt.Errorf("query %s: %w", q.Name, err)
	}
	return nil
}

// await returns the driver's result, or ctx's error as soon as ctx ends.
// clickhouse-go does not watch the context while it dials and shakes hands,
// so a server that accepts connections but never answers (frozen, or behind
// a partition) would hold a scrape for dial_timeout per attempt. abandon runs
// before await returns early.
func await(ctx context.Context, done <-chan error, abandon func()) error {
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		if abandon != nil {
			abandon()
		}
		select {
		case err := <-done:
			return err
		default:
			return ctx.Err()
		}
	}
}

func (c *Client) run(ctx context.Context, q Query, fn func(scan func(dest ...any) error) error) error {
	rows, err := c.conn.Query(ctx, q.SQL, q.Args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Sampling returns how the model's heavy queries sample its predictions: not
// at all when sample is 1; with the SAMPLE clause when the predictions table
// (for a Distributed table, its local table) has a sampling key; by a hash
// of the id otherwise. The table is looked up once per client.
func (c *Client) Sampling(ctx context.Context, m *config.Model) (Sampling, error) {
	if m.Sample <= 0 || m.Sample >= 1 {
		return Sampling{Ratio: 1}, nil
	}
	info, err := c.Table(ctx, m.Name, m.Predictions.Table, "sampling_key")
	if err != nil {
		return Sampling{}, fmt.Errorf("look up the sampling key of %s: %w", m.Predictions.Table, err)
	}
	return Sampling{Ratio: m.Sample, Clause: info.SamplingKey != ""}, nil
}

// ColumnTypes returns the type of every column of table, by name.
func (c *Client) ColumnTypes(ctx context.Context, model, table string) (map[string]string, error) {
	db, name := splitTable(table)
	q := Query{Name: "column_types", SQL: "SELECT name, type FROM system.columns WHERE database = if(? = '', currentDatabase(), ?) AND table = ?",
		Args: []any{db, db, name}}
	types := map[string]string{}
	err := c.QueryRows(ctx, model, q, func(scan func(dest ...any) error) error {
		var col, typ string
		if err := scan(&col, &typ); err != nil {
			return err
		}
		types[col] = typ
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("look up the columns of %s: %w", table, err)
	}
	return types, nil
}

// IsNumericType reports whether a ClickHouse column type holds numbers that
// a numeric feature can be binned on.
func IsNumericType(typ string) bool {
	for unwrapped := false; !unwrapped; {
		unwrapped = true
		for _, wrapper := range []string{"Nullable(", "LowCardinality("} {
			if strings.HasPrefix(typ, wrapper) && strings.HasSuffix(typ, ")") {
				typ, unwrapped = typ[len(wrapper):len(typ)-1], false
			}
		}
	}
	for _, prefix := range []string{"Int", "UInt", "Float", "Decimal", "Bool"} {
		if strings.HasPrefix(typ, prefix) {
			return true
		}
	}
	return false
}
