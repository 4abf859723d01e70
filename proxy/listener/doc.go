// Package listener holds what every xsync listener shares (the admin port, the
// metrics endpoint and the gateway): whether an address is on loopback, and the
// checks a listener must pass before it may face other hosts.
//
// It depends on nothing else in proxy/, so that admin, metrics, gateway and
// cutover can all use it.
package listener
