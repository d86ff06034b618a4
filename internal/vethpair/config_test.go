package vethpair

import (
	"net/netip"
	"strings"
	"testing"
)

func TestConfigDefaults(t *testing.T) {
	c, err := Config{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.MTU != DefaultMTU || c.A.Link != DefaultLinkA || c.B.Link != DefaultLinkB ||
		c.A.Addr4 != DefaultAddr4A || c.B.Addr4 != DefaultAddr4B ||
		c.A.Addr6 != DefaultAddr6A || c.B.Addr6 != DefaultAddr6B ||
		c.A.Namespace != "" || c.B.Namespace != "" {
		t.Fatalf("defaults: %+v", c)
	}
	given := Config{MTU: 9000, A: SideConfig{Namespace: "x-rx", Link: "x0", Addr4: netip.MustParsePrefix("10.1.2.5/29")},
		B: SideConfig{Namespace: "x-tx", Link: "x0", Addr4: netip.MustParsePrefix("10.1.2.6/29")}}
	c, err = given.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.MTU != 9000 || c.A.Link != "x0" || c.A.Addr4 != given.A.Addr4 || c.B.Namespace != "x-tx" || c.A.Addr6 != DefaultAddr6A {
		t.Fatalf("given values not kept: %+v", c)
	}
}

func TestConfigRejectsInconsistentSetUps(t *testing.T) {
	p := netip.MustParsePrefix
	for _, tc := range []struct {
		name string
		c    Config
		want string
	}{
		{"tiny MTU", Config{MTU: 60}, "MTU 60"},
		{"huge MTU", Config{MTU: 70000}, "MTU 70000"},
		{"long link name", Config{A: SideConfig{Link: "a-very-long-name"}}, "interface name"},
		{"slash in link name", Config{B: SideConfig{Link: "a/b"}}, "interface name"},
		{"path as namespace", Config{A: SideConfig{Namespace: "../etc"}}, "namespace name"},
		{"dot namespace", Config{B: SideConfig{Namespace: ".."}}, "namespace name"},
		{"one namespace twice", Config{A: SideConfig{Namespace: "n"}, B: SideConfig{Namespace: "n"}}, `namespace "n"`},
		{"IPv6 as Addr4", Config{A: SideConfig{Addr4: p("fd00::1/64")}}, "not an IPv4"},
		{"IPv4 as Addr6", Config{A: SideConfig{Addr6: p("10.0.0.1/30")}}, "not an IPv6"},
		{"mapped IPv4 as Addr6", Config{B: SideConfig{Addr6: p("::ffff:10.0.0.1/120")}}, "not an IPv6"},
		{"/31", Config{A: SideConfig{Addr4: p("10.199.0.1/31")}, B: SideConfig{Addr4: p("10.199.0.0/31")}}, "/30"},
		{"same address", Config{A: SideConfig{Addr4: p("10.9.0.1/30")}, B: SideConfig{Addr4: p("10.9.0.1/30")}}, "both sides have address"},
		{"two subnets", Config{A: SideConfig{Addr6: p("fd00:1::1/64")}}, "not in one subnet"},
	} {
		_, err := tc.c.withDefaults()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.want)
		}
	}
}
