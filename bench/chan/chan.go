// chan.go - the same workloads as chan.c in Go, with Go's channels and
// goroutines, run by bench/chan/run.sh with GOMAXPROCS=1, but for the
// cross-thread round trip, which runs with GOMAXPROCS=2. Prints
// "NAME: X ns" per line, the best of three runs.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"
)

var n = 2000000

func pingPong() float64 {
	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v
		}
	}()
	start := time.Now()
	for i := 0; i < n; i++ {
		ping <- i
		<-pong
	}
	ns := float64(time.Since(start).Nanoseconds()) / float64(2*n)
	close(ping)
	return ns
}

func buffered() float64 {
	ch := make(chan int, 128)
	go func() {
		for i := 0; i < n; i++ {
			ch <- i
		}
		close(ch)
	}()
	start := time.Now()
	sum := 0
	for v := range ch {
		sum += v
	}
	ns := float64(time.Since(start).Nanoseconds()) / float64(n)
	if sum != n*(n-1)/2 {
		panic("lost values")
	}
	return ns
}

func selectFour() float64 {
	var four [4]chan int
	for i := range four {
		four[i] = make(chan int)
	}
	go func() {
		for i := 0; i < n; i++ {
			four[i%4] <- i
		}
	}()
	start := time.Now()
	for i := 0; i < n; i++ {
		select {
		case <-four[0]:
		case <-four[1]:
		case <-four[2]:
		case <-four[3]:
		}
	}
	return float64(time.Since(start).Nanoseconds()) / float64(n)
}

// A round trip between goroutines on two threads: ns per round trip.
func crossThread() float64 {
	old := runtime.GOMAXPROCS(2)
	defer runtime.GOMAXPROCS(old)
	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v
		}
	}()
	rounds := n / 10
	start := time.Now()
	for i := 0; i < rounds; i++ {
		ping <- i
		<-pong
	}
	ns := float64(time.Since(start).Nanoseconds()) / float64(rounds)
	close(ping)
	return ns
}

func best(run func() float64) float64 {
	b := run()
	for i := 0; i < 2; i++ {
		if t := run(); t < b {
			b = t
		}
	}
	return b
}

func main() {
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	fmt.Printf("channel ping-pong: %.2f ns\n", best(pingPong))
	fmt.Printf("buffered channel: %.2f ns\n", best(buffered))
	fmt.Printf("select: %.2f ns\n", best(selectFour))
	fmt.Printf("cross-thread ping-pong: %.2f ns\n", best(crossThread))
}
