# WeftOS daemon image: a static binary on distroless (no shell, no libc,
# non-root). Build: docker build -t weftos . ; run:
#   docker run -v weftos:/home/nonroot/.weftos weftos
# The local API is a Unix socket in the home (use `docker exec … weave
# status`); publish the gateway port if [gateway] listen is set.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -buildid= -X main.version=${VERSION}" -o /out/weave ./cmd/weave && \
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -buildid= -X main.version=${VERSION}" -o /out/weft ./cmd/weft

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/weave /out/weft /usr/local/bin/
ENV WEFTOS_HOME=/home/nonroot/.weftos
VOLUME ["/home/nonroot/.weftos"]
ENTRYPOINT ["/usr/local/bin/weave"]
CMD ["boot"]
