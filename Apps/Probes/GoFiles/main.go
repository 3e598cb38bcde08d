// The gofiles probe: a static Go program (CGO_ENABLED=0) working in the directory given as its
// argument. Go's runtime differs from .NET's and glibc's: its own clone flags, signal handling and
// netpoller (epoll on a pipe), raw syscalls without libc. Each line is a fact; the output is the same
// on Linux and on Libra.
package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

func check(fact string, ok bool) {
	if ok {
		fmt.Printf("%s: ok\n", fact)
	} else {
		fmt.Printf("%s: FAILED\n", fact)
		failures++
	}
}

var failures int

func main() {
	dir := os.Args[1]
	p := filepath.Join(dir, "go-probe")
	os.RemoveAll(p)
	check("mkdir", os.Mkdir(p, 0755) == nil)
	data := []byte(strings.Repeat("libra ", 100000))
	check("write a file", os.WriteFile(filepath.Join(p, "a.txt"), data, 0644) == nil)
	back, err := os.ReadFile(filepath.Join(p, "a.txt"))
	check("read it back", err == nil && sha256.Sum256(back) == sha256.Sum256(data))
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			os.WriteFile(filepath.Join(p, fmt.Sprintf("f%d", i)), []byte(fmt.Sprint(i)), 0644)
		}(i)
	}
	wg.Wait()
	entries, _ := os.ReadDir(p)
	names := []string{}
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	check("goroutines write 8 files", len(names) == 9)
	fmt.Println(strings.Join(names, " "))
	r, w, err := os.Pipe()
	check("pipe", err == nil)
	go func() { time.Sleep(20 * time.Millisecond); w.Write([]byte("through the netpoller")); w.Close() }()
	buf := make([]byte, 64)
	n, _ := r.Read(buf)
	check("a pipe read waits in the netpoller", string(buf[:n]) == "through the netpoller")
	ch := make(chan int)
	go func() { time.Sleep(10 * time.Millisecond); ch <- 42 }()
	select {
	case v := <-ch:
		check("a channel and a timer", v == 42)
	case <-time.After(5 * time.Second):
		check("a channel and a timer", false)
	}
	check("remove all", os.RemoveAll(p) == nil)
	if failures > 0 {
		fmt.Printf("gofiles: %d check(s) FAILED\n", failures)
		os.Exit(1)
	}
	fmt.Println("gofiles: all checks passed")
}
