// Package testenv is what the tests of several packages share: finding the
// repository root and the read-only data sets in ../shared/data, and starting
// the real servers (PostgreSQL, MLflow, an OCI registry) through the scripts in
// scripts/. Only test files import it.
package testenv
