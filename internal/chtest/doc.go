// Package chtest starts a private ClickHouse server for integration tests: a
// real server from the machine's packages, on free loopback ports, with its
// data in a temporary directory. No mocks: the tests that use it exercise the
// SQL exactly as production does.
package chtest
