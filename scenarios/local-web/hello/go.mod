module github.com/redeploy-drill/drill/scenarios/local-web/hello

go 1.22
