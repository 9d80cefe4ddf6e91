package chquery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Stopping a query in ClickHouse.
//
// A client deadline does not stop the server: max_execution_time is checked
// between blocks of a query's main stream (ClickHouse 18.16 does not check
// it while it builds the set of an IN subquery or a JOIN), and a dropped
// connection does not cancel a query that has not sent anything yet. So
// every query whose context ends before its result is in is killed by its
// query_id, on a connection pool of its own that the max_parallel_queries
// slots do not gate, and it stays counted as running (Client.Running) until
// system.processes no longer lists it.

// killTimeout bounds one KILL QUERY or system.processes look-up; the pool
// dials with the configuration's dial_timeout within it.
const killTimeout = 3 * time.Second

// killPoll is how often a killed query is looked for in system.processes.
const killPoll = 100 * time.Millisecond

// The statements of the kill pool, exported for the compatibility test.
const (
	KillByIDSQL     = "KILL QUERY WHERE query_id = ? ASYNC"
	KillByPrefixSQL = "KILL QUERY WHERE query_id LIKE ? ASYNC"
	ListedSQL       = "SELECT query_id FROM system.processes WHERE query_id = ?"
)

// running is a query the client started that may still run in ClickHouse.
type running struct {
	model, name string
	background  bool
	killed      bool
}

type scrapeKey struct{}
type backgroundKey struct{}

// WithScrape marks ctx's queries as those of scrape n: the number goes into
// their query_id (mlmon-<client>-<seq>-s<n>-<query>), so system.processes
// and system.query_log show which scrape started a query.
func WithScrape(ctx context.Context, n uint64) context.Context {
	return context.WithValue(ctx, scrapeKey{}, n)
}

// Background marks ctx's queries as work that outlives scrapes on purpose
// (a reference profile bounded by query_timeout): Running does not count
// them, and their query_id reads mlmon-<client>-<seq>-bg-<query>.
func Background(ctx context.Context) context.Context {
	return context.WithValue(ctx, backgroundKey{}, true)
}

func isBackground(ctx context.Context) bool {
	b, _ := ctx.Value(backgroundKey{}).(bool)
	return b
}

// queryID names a query for ClickHouse: unique per client, with the scrape
// that started it (or bg) and the query's name last.
func (c *Client) queryID(ctx context.Context, name string) string {
	tag := "q"
	if isBackground(ctx) {
		tag = "bg"
	} else if n, ok := ctx.Value(scrapeKey{}).(uint64); ok {
		tag = fmt.Sprintf("s%d", n)
	}
	return fmt.Sprintf("%s-%d-%s-%s", c.idPrefix, c.seq.Add(1), tag, name)
}

// Running is how many of the model's queries, other than background ones,
// may still run in ClickHouse: started and not finished, or killed and still
// listed in system.processes. A scrape that finds some does not start more.
func (c *Client) Running(model string) int {
	c.runMu.Lock()
	defer c.runMu.Unlock()
	n := 0
	for _, q := range c.running {
		if q.model == model && !q.background {
			n++
		}
	}
	return n
}

func (c *Client) track(id string, q running) {
	c.runMu.Lock()
	defer c.runMu.Unlock()
	c.running[id] = q
}

func (c *Client) untrack(id string) {
	c.runMu.Lock()
	defer c.runMu.Unlock()
	delete(c.running, id)
}

// kill stops a query whose context ended before its result was in, in the
// background: KILL QUERY … ASYNC, then it waits until system.processes no
// longer lists the query (at most until ClickHouse's own
// max_execution_time, query_timeout, plus a margin, should have stopped it),
// and only then forgets it.
func (c *Client) kill(id, reason string) {
	c.runMu.Lock()
	q, ok := c.running[id]
	if ok {
		q.killed = true
		c.running[id] = q
	}
	c.runMu.Unlock()
	if !ok {
		return
	}
	c.kills.Add(1)
	go func() {
		defer c.kills.Done()
		defer c.untrack(id)
		start := time.Now()
		giveUp := start.Add(c.queryTimeout + 10*time.Second)
		killed, warned, stuck := false, false, false
		for {
			// A KILL that cannot reach ClickHouse (frozen, restarting) is
			// retried until it can: a frozen server resumes the query.
			if !killed {
				found, err := c.killQuery(id)
				switch {
				case err != nil && !warned:
					warned = true
					c.logger.Warn("cannot kill query; retrying", "model", q.model, "query", q.name, "query_id", id, "reason", reason, "err", err)
				case err != nil:
				case found:
					killed = true
					c.logger.Info("killed query", "model", q.model, "query", q.name, "query_id", id, "reason", reason)
				default:
					// Finished between the deadline and the KILL (or the
					// server restarted).
					c.logger.Debug("query to kill had finished", "model", q.model, "query", q.name, "query_id", id, "reason", reason)
					return
				}
			}
			listed := false
			if killed {
				// ClickHouse stops a killed query at the end of a block.
				var err error
				listed, err = c.listed(id)
				if err == nil && !listed {
					c.logger.Debug("killed query gone", "model", q.model, "query", q.name, "query_id", id, "after", time.Since(start))
					return
				}
			}
			poll := killPoll
			if time.Now().After(giveUp) {
				if !listed {
					// Never killed, or ClickHouse no longer answers:
					// max_execution_time or a restart has ended it.
					c.logger.Error("killed query may still run in ClickHouse", "model", q.model, "query", q.name, "query_id", id, "since", time.Since(start), "killed", killed)
					return
				}
				// Killed and still listed long after: it waits for a lock
				// (18.16 cannot cancel that). It stays counted, so that the
				// model starts no more queries to queue behind it.
				if !stuck {
					stuck = true
					c.logger.Error("killed query still runs in ClickHouse; the model's collections are skipped until it ends", "model", q.model, "query", q.name, "query_id", id, "since", time.Since(start))
				}
				poll = time.Second
			}
			select {
			case <-time.After(poll):
			case <-c.closed:
				return
			}
		}
	}()
}

// killConnOptions derives the kill pool's options from the query pool's:
// two connections, and reads that time out quickly.
func killConnOptions(o clickhouse.Options) *clickhouse.Options {
	o.MaxOpenConns, o.MaxIdleConns = 2, 1
	o.ReadTimeout = killTimeout
	o.ConnMaxLifetime = time.Minute
	return &o
}

// killQuery runs KILL QUERY for one query_id and reports whether ClickHouse
// found it running.
func (c *Client) killQuery(id string) (bool, error) {
	return c.killWhere(KillByIDSQL, id)
}

func (c *Client) killWhere(sql string, arg any) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), killTimeout)
	defer cancel()
	ctx = clickhouse.Context(ctx, clickhouse.WithQueryID(c.killID()))
	done := make(chan error, 1)
	found := false
	go func() {
		done <- scanAll(ctx, c.killConn, sql, []any{arg}, func() { found = true })
	}()
	err := await(ctx, done, nil)
	if errors.Is(err, io.EOF) {
		// 18.16 answers a KILL that matches nothing without a single
		// block, not even the header, which the driver reports as EOF.
		return false, nil
	}
	return found, err
}

// killID names the kill pool's own statements outside the client's
// query_id prefix, so that killing by the prefix does not kill the KILL.
func (c *Client) killID() string {
	return fmt.Sprintf("mlmon_kill-%s-%d", c.idPrefix, c.seq.Add(1))
}

// listed reports whether system.processes lists the query.
func (c *Client) listed(id string) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), killTimeout)
	defer cancel()
	ctx = clickhouse.Context(ctx, clickhouse.WithQueryID(c.killID()))
	done := make(chan error, 1)
	n := 0
	go func() {
		done <- scanAll(ctx, c.killConn, ListedSQL, []any{id}, func() { n++ })
	}()
	err := await(ctx, done, nil)
	return n > 0, err
}

// scanAll runs a statement and calls row for every row it returns, without
// reading the row's columns (their names and types differ between releases).
func scanAll(ctx context.Context, conn driver.Conn, sql string, args []any, row func()) error {
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		row()
	}
	return rows.Err()
}

// killAll kills every query of this client that ClickHouse still runs, by
// the query_id prefix the client gives them all, and waits for the kills in
// progress: the client is closing (a reload replaced it, or the exporter is
// stopping).
func (c *Client) killAll() {
	found, err := c.killWhere(KillByPrefixSQL, c.idPrefix+"-%")
	switch {
	case err != nil:
		c.logger.Warn("cannot kill the queries of a closing client", "err", err)
	case found:
		c.logger.Info("killed the queries still running on close")
	}
	close(c.closed)
	c.kills.Wait()
}
