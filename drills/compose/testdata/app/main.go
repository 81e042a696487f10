// Command app is the tiny static web server the compose tests run in FROM
// scratch images (nothing to pull): it answers /healthz with "ok" and
// /name with $APP_NAME. As a healthcheck, `app check` exits 0 when the
// server answers and `app fail` prints a line and exits 1.
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
		case "check":
			c := http.Client{Timeout: 2 * time.Second}
			resp, err := c.Get("http://127.0.0.1:8080/healthz")
			if err != nil || resp.StatusCode != http.StatusOK {
				fmt.Println("app: not healthy:", err)
				os.Exit(1)
			}
			return
		case "fail":
			fmt.Println("app: unhealthy on purpose")
			os.Exit(1)
		}
	}
	http.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	http.HandleFunc("/name", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, os.Getenv("APP_NAME")) })
	fmt.Println("app: listening on :8080")
	if err := http.ListenAndServe(":8080", nil); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
}
