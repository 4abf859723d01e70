package gateway

import "github.com/prometheus/client_golang/prometheus"

var (
	descClients     = prometheus.NewDesc("xsync_gateway_clients", "Clients connected to the gateway.", nil, nil)
	descCommands    = prometheus.NewDesc("xsync_gateway_commands_total", "Commands the gateway parsed.", nil, nil)
	descRejected    = prometheus.NewDesc("xsync_gateway_rejected_maxclients_total", "Connections refused: the gateway's maxclients was reached.", nil, nil)
	descDisconnects = prometheus.NewDesc("xsync_gateway_disconnected_total", "Clients the gateway disconnected, by reason: idle (idle timeout), output_limit (unread replies over the output buffer limit), protocol (malformed request, or one over the limits).", []string{"reason"}, nil)
)

// Collector returns the gateway's counters for Prometheus, read at scrape time.
func (g *Server) Collector() prometheus.Collector { return collector{g} }

type collector struct{ g *Server }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descClients, descCommands, descRejected, descDisconnects} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	st := c.g.Stats()
	ch <- prometheus.MustNewConstMetric(descClients, prometheus.GaugeValue, float64(st.Clients))
	ch <- prometheus.MustNewConstMetric(descCommands, prometheus.CounterValue, float64(st.Commands))
	ch <- prometheus.MustNewConstMetric(descRejected, prometheus.CounterValue, float64(st.RejectedMaxClients))
	ch <- prometheus.MustNewConstMetric(descDisconnects, prometheus.CounterValue, float64(st.DroppedIdle), "idle")
	ch <- prometheus.MustNewConstMetric(descDisconnects, prometheus.CounterValue, float64(st.DroppedOutput), "output_limit")
	ch <- prometheus.MustNewConstMetric(descDisconnects, prometheus.CounterValue, float64(st.DroppedProtocol), "protocol")
}
