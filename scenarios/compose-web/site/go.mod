module github.com/redeploy-drill/drill/scenarios/compose-web/site

go 1.22
