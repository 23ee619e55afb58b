package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat. It
// is 100 on every Linux the benchmark targets.
const clockTicks = 100

// procUsage is the CPU time and resident memory of a server: the process
// given by -pid and all its descendants (nginx does its work in worker
// processes under the master).
type procUsage struct {
	CPUSeconds float64 // user + system time
	RSSBytes   int64   // sum of VmRSS
	Processes  int     // how many processes were summed
}

// readUsage sums the usage of pid and its descendants.
func readUsage(pid int) (procUsage, error) {
	var u procUsage
	for _, p := range processTree(pid) {
		cpu, err := readCPUSeconds(p)
		if err != nil {
			if p == pid {
				return u, err
			}
			continue // a child that just exited
		}
		rss, err := readRSSBytes(p)
		if err != nil {
			continue
		}
		u.CPUSeconds += cpu
		u.RSSBytes += rss
		u.Processes++
	}
	return u, nil
}

// processTree returns pid followed by all its descendants.
func processTree(pid int) []int {
	children := map[int][]int{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		f, err := statFields(b)
		if err != nil || len(f) < 2 {
			continue
		}
		child, err1 := strconv.Atoi(filepath.Base(filepath.Dir(path)))
		parent, err2 := strconv.Atoi(f[1])
		if err1 == nil && err2 == nil {
			children[parent] = append(children[parent], child)
		}
	}
	tree := []int{pid}
	for i := 0; i < len(tree); i++ {
		tree = append(tree, children[tree[i]]...)
	}
	return tree
}

// readCPUSeconds returns utime+stime of one process, in seconds.
func readCPUSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(b)
}

// parseStatCPU reads utime (field 14) and stime (field 15) from the text of
// /proc/PID/stat.
func parseStatCPU(stat []byte) (float64, error) {
	f, err := statFields(stat)
	if err != nil {
		return 0, err
	}
	// f[0] is field 3 (state): utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc stat line")
	}
	utime, err := strconv.ParseUint(f[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("utime: %w", err)
	}
	stime, err := strconv.ParseUint(f[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stime: %w", err)
	}
	return float64(utime+stime) / clockTicks, nil
}

// statFields returns the fields of a /proc/PID/stat line after the command
// name, starting at field 3 (state). The name is in parentheses and may
// itself hold spaces and parentheses, so the split starts after the last ')'.
func statFields(stat []byte) ([]string, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return nil, fmt.Errorf("malformed /proc stat line")
	}
	return strings.Fields(string(stat[i+1:])), nil
}

// readRSSBytes returns VmRSS of one process, in bytes.
func readRSSBytes(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseVmRSS(b)
}

// parseVmRSS reads the "VmRSS:  1234 kB" line of /proc/PID/status.
func parseVmRSS(status []byte) (int64, error) {
	for _, line := range strings.Split(string(status), "\n") {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("malformed VmRSS line %q", line)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmRSS: %w", err)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("no VmRSS line (kernel thread or zombie?)")
}

// selfCPUSeconds returns the CPU time this process used so far, so a run can
// tell whether the client itself was the bottleneck.
func selfCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// machineBusySeconds returns the CPU time all cores of the machine spent
// busy so far (everything in the "cpu" line of /proc/stat but idle and
// iowait), in seconds. Less the server's and the client's share, it tells
// how much other work competed with a run on this shared machine.
func machineBusySeconds() (float64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	return parseBusy(b)
}

// parseBusy reads the busy jiffies of the first ("cpu") line of /proc/stat.
func parseBusy(stat []byte) (float64, error) {
	line, _, _ := strings.Cut(string(stat), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, fmt.Errorf("malformed /proc/stat")
	}
	var busy uint64
	for i, v := range f[1:] {
		if i > 7 { // guest and guest_nice are already in user and nice
			break
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: %w", err)
		}
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		busy += n
	}
	return float64(busy) / clockTicks, nil
}
