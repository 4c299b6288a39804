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
# Numeric, so that Kubernetes' runAsNonRoot can verify it (65532 is distroless's
# nonroot user; with a user name the kubelet refuses to start a pod that has
# runAsNonRoot but no runAsUser).
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/orgraph"]
