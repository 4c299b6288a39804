// Package archtest holds the test that keeps ARCHITECTURE.md true: which
// packages of the module may import which. It has no code of its own.
package archtest
