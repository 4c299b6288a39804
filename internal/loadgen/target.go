package loadgen

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
)

// CheckTarget validates a base URL the driver is about to send traffic to:
// it must be http or https with a host, and unless allowRemote is set the host
// must be loopback (localhost, 127.0.0.0/8 or ::1). The loopback rule exists
// because a mistyped -url would otherwise aim thousands of requests per
// second at someone else's server.
func CheckTarget(raw string, allowRemote bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q: scheme must be http or https", raw)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("%q: no host", raw)
	}
	if allowRemote || isLoopbackHost(host) {
		return nil
	}
	return fmt.Errorf("%q: host %q is not loopback (localhost, 127.0.0.0/8, ::1); pass -allow-remote to send load there", raw, host)
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackOnly is a net.Dialer Control hook that refuses any connection whose
// resolved address is not loopback. CheckTarget only sees names; this catches
// "localhost" resolving elsewhere and redirects or proxies leading off-host.
func loopbackOnly(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("refusing to connect to non-loopback address %s (use -allow-remote)", address)
	}
	return nil
}
