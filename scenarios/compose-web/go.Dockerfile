# Builds a Go service of this repository from its source (the build
# context) into a FROM scratch image: the Go toolchain stays in the build
# stage. GO_IMAGE is any image with a Go toolchain: golang:1.26 from Docker
# Hub, or, offline, the one scripts/go-image.sh makes from the local Go
# installation. Both stages work with the classic builder and BuildKit.
ARG GO_IMAGE=golang:1.26
FROM ${GO_IMAGE} AS build
# Every layer carries the compose project: drill finds, and removes, the
# intermediate images of this stage by that label (the classic builder
# keeps them), and no project builds from another one's cache.
ARG PROJECT
LABEL com.docker.compose.project=${PROJECT}
ARG APP_VERSION=dev
WORKDIR /src
COPY . .
ENV CGO_ENABLED=0 GOTOOLCHAIN=local GOPROXY=off \
    GOFLAGS="-buildvcs=false -trimpath -ldflags=-X=main.version=${APP_VERSION}"
RUN ["go", "build", "-o", "/out/app", "."]

FROM scratch
ARG PROJECT
LABEL com.docker.compose.project=${PROJECT}
COPY --from=build /out/app /app
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/app"]
