package auth

import (
	"net"
	"net/netip"
)

// LoopbackOnly reports whether user may only connect from a loopback
// address (Options.LoopbackUsers, RabbitMQ's loopback_users).
func (s *Store) LoopbackOnly(user string) bool { return s.loopback[user] }

// AllowedFrom applies the loopback rule: a loopback-only user is allowed
// only from 127.0.0.0/8, ::1, an IPv4-mapped ::ffff:127.x address or a Unix
// socket; every other user is allowed from anywhere.
// (rabbit_access_control:check_user_loopback)
func (s *Store) AllowedFrom(user string, remote net.Addr) bool {
	return !s.LoopbackOnly(user) || IsLoopback(remote)
}

// CheckLoopback is AllowedFrom returning ErrLoopbackOnly.
func (s *Store) CheckLoopback(user string, remote net.Addr) error {
	if s.AllowedFrom(user, remote) {
		return nil
	}
	return ErrLoopbackOnly
}

// IsLoopback reports whether remote is a loopback IP address or a Unix
// socket. A nil or unparsable address is not loopback.
func IsLoopback(remote net.Addr) bool {
	var ip netip.Addr
	switch a := remote.(type) {
	case nil:
		return false
	case *net.UnixAddr:
		return a != nil
	case *net.TCPAddr:
		if a == nil {
			return false
		}
		ip, _ = netip.AddrFromSlice(a.IP)
	case *net.UDPAddr:
		if a == nil {
			return false
		}
		ip, _ = netip.AddrFromSlice(a.IP)
	case *net.IPAddr:
		if a == nil {
			return false
		}
		ip, _ = netip.AddrFromSlice(a.IP)
	default:
		ap, err := netip.ParseAddrPort(remote.String())
		if err != nil {
			if ip, err = netip.ParseAddr(remote.String()); err != nil {
				return false
			}
		} else {
			ip = ap.Addr()
		}
	}
	return ip.IsValid() && ip.Unmap().IsLoopback()
}
