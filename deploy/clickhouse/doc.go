// Package clickhouse holds no Go code: its tests check the ClickHouse side
// of the deployment on real servers: schema.sql on ClickHouse 18.16, the
// read-only user of users.d/mlmon.xml loaded unchanged into a server's
// users.d, and the exporter binary scraping, as that user and with the
// Kubernetes and compose configurations, tables written by the demo data
// writer.
//
// Two private servers run for the whole package: "prod" has the shipped
// users file plus a password override, as an operator would install it;
// "demo" has the shipped users file plus the compose stack's override.
// chtest starts a server from chtest.ConfigFile; each server here gets a
// copy of the packaged configuration directory with its own users.d.
package clickhouse
