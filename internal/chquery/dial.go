package chquery

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync/atomic"
	"syscall"
	"time"
)

// dialer opens the pools' connections so that a failed handshake does not
// leave its socket open. clickhouse-go (v2.50) returns from a handshake that
// timed out — a frozen server accepts the TCP connection and says nothing —
// without closing the socket, which stays ESTABLISHED until the garbage
// collector finds it: a frozen ClickHouse would collect one such socket per
// attempt. The handshake's deadline is dial_timeout, so a connection that
// has received nothing by then is closed here.
func dialer(dialTimeout time.Duration, tlsConfig *tls.Config) func(ctx context.Context, addr string) (net.Conn, error) {
	return func(ctx context.Context, addr string) (net.Conn, error) {
		nd := &net.Dialer{Timeout: dialTimeout}
		var conn net.Conn
		var err error
		if tlsConfig != nil {
			conn, err = (&tls.Dialer{NetDialer: nd, Config: tlsConfig}).DialContext(ctx, "tcp", addr)
		} else {
			conn, err = nd.DialContext(ctx, "tcp", addr)
		}
		if err != nil {
			return nil, err
		}
		c := &answeredConn{Conn: conn}
		time.AfterFunc(dialTimeout+time.Second, func() {
			if !c.answered.Load() {
				c.Close()
			}
		})
		return c, nil
	}
}

// answeredConn notes whether the server ever sent anything.
type answeredConn struct {
	net.Conn
	answered atomic.Bool
}

func (c *answeredConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.answered.Store(true)
	}
	return n, err
}

// SyscallConn exposes the socket, so that clickhouse-go can check an idle
// connection before it hands it out again: a non-blocking read that sees
// the server's end closed. Hidden behind this wrapper, every connection the
// pool kept across a ClickHouse restart failed the next query given it, one
// scrape after another.
func (c *answeredConn) SyscallConn() (syscall.RawConn, error) {
	conn := c.Conn
	if t, ok := conn.(*tls.Conn); ok {
		conn = t.NetConn()
	}
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil, errors.New("not a socket")
	}
	return sc.SyscallConn()
}
