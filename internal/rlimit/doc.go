// Package rlimit reads the process's limit of open files, which the edge
// and the flask port size their connection limits by, and the tests' child
// processes check.
package rlimit
