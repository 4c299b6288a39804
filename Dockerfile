# Multi-stage build: a static binary on a distroless, non-root runtime image.
# Settings (tokens included) come from the environment at run time, never from
# the image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/orgraph ./cmd/orgraph

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/orgraph /usr/local/bin/orgraph
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/orgraph"]
