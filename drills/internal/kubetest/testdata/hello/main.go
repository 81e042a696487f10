// Command hello is the tiny static web server the Kubernetes tests run in a
// FROM scratch image: /healthz answers "ok". With the argument "fail" it
// prints a line and exits 1, with "finish" it exits 0 after 3 seconds: jobs
// for the tests of failing and completing workloads.
package main

import (
	"fmt"
	"net/http"
	"os"
	"time"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "fail":
			fmt.Println("hello: failing on purpose")
			os.Exit(1)
		case "finish":
			time.Sleep(3 * time.Second) // a job that runs for a while
			fmt.Println("hello: finished")
			return
		}
	}
	http.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	fmt.Println("hello: listening on :8080")
	if err := http.ListenAndServe(":8080", nil); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
}
