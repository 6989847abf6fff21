// skynet.go - skynet in Go, for bench/spawn/skynet.c to be measured
// against in the same run (GOMAXPROCS=1). Prints the same line.
package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

func skynet(up chan int, num, size int) {
	if size == 1 {
		up <- num
		return
	}
	mine := make(chan int)
	sub := size / 10
	for i := 0; i < 10; i++ {
		go skynet(mine, num+i*sub, sub)
	}
	sum := 0
	for i := 0; i < 10; i++ {
		sum += <-mine
	}
	up <- sum
}

func faults() int64 {
	var u syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &u)
	return u.Minflt + u.Majflt
}

func main() {
	leaves := 1000000
	if len(os.Args) > 1 {
		leaves, _ = strconv.Atoi(os.Args[1])
	}
	top := make(chan int)
	f := faults()
	t := time.Now()
	go skynet(top, 0, leaves)
	sum := <-top
	ms := float64(time.Since(t).Nanoseconds()) / 1e6
	f = faults() - f
	var u syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &u)
	fmt.Printf("skynet: %d, %.1f ms, %d KB peak, %d faults\n", sum, ms, u.Maxrss, f)
}
