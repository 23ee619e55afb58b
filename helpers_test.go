package caddyrooms_test

import "fmt"

// fmtSscan reads the leading number of s.
func fmtSscan(s string, n *int) (int, error) { return fmt.Sscan(s, n) }
