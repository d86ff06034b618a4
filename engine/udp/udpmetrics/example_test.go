package udpmetrics_test

import (
	"fmt"
	"log"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"udpstream.dev/engine/udp"
	"udpstream.dev/engine/udp/udpmetrics"
)

// A readout host exports its server's counters beside its own metrics.
func ExampleNewCollector() {
	server, err := udp.NewServer(0, false)
	if err != nil {
		log.Fatal(err)
	}
	defer server.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(udpmetrics.NewCollector("readout", server))
	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	families, err := reg.Gather()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(families[0].GetName(), len(families))
	// Output: udpstream_batch_messages 24
}
