package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// IntervalHeader is the column header printed above interval lines; the
// receiving side has loss and PRBS columns, the sending side does not.
func IntervalHeader(receiver bool) string {
	if receiver {
		return fmt.Sprintf("%-15s %12s %10s %13s %10s %9s %9s", "interval", "datagrams", "Gbit/s", "datagrams/s", "lost", "loss", "PRBS err")
	}
	return fmt.Sprintf("%-15s %12s %10s %13s", "interval", "datagrams", "Gbit/s", "datagrams/s")
}

// FormatInterval renders one interval under IntervalHeader.
func FormatInterval(iv Interval, receiver bool) string {
	span := fmt.Sprintf("%6.2f-%-6.2f s", iv.Start, iv.End)
	line := fmt.Sprintf("%-15s %12d %10.3f %13.0f", span, iv.Packets, iv.BitsPerSecond/1e9, iv.DatagramsPerSecond)
	if receiver {
		line += fmt.Sprintf(" %10d %8.3f%% %9d", iv.LostPackets, iv.LostPercent, iv.PRBSErrors)
	}
	return line
}

// FormatSent renders a sender summary as one line.
func FormatSent(s SentSummary) string {
	line := fmt.Sprintf("sender   %6.2f-%-6.2f s %12d datagrams %10.3f Gbit/s %12.0f datagrams/s", s.Start, s.End, s.Packets, s.BitsPerSecond/1e9, s.DatagramsPerSecond)
	if s.CPUNsPerDatagram > 0 {
		line += fmt.Sprintf("  CPU %.0f ns/datagram", s.CPUNsPerDatagram)
	}
	if s.XDPMode != "" {
		line += "  xdp mode " + s.XDPMode
	}
	if s.Errors > 0 {
		line += fmt.Sprintf("  send errors %d", s.Errors)
		if s.FirstError != "" {
			line += fmt.Sprintf(" (first: %s)", s.FirstError)
		}
	}
	return line
}

// FormatReceived renders a receiver summary as one line.
func FormatReceived(r ReceivedSummary) string {
	line := fmt.Sprintf("receiver %6.2f-%-6.2f s %12d datagrams %10.3f Gbit/s %12.0f datagrams/s", r.Start, r.End, r.Packets, r.BitsPerSecond/1e9, r.DatagramsPerSecond)
	if r.LossKnown {
		line += fmt.Sprintf("  lost %d (%.3f%%)", r.LostPackets, r.LostPercent)
	} else {
		line += "  lost n/a"
	}
	line += fmt.Sprintf("  kernel drops %d  ring drops %d  out of order %d  PRBS errors %d", r.KernelDrops, r.RingDrops, r.OutOfOrder, r.PRBSErrors)
	if r.Restarts > 0 {
		line += fmt.Sprintf("  restarts %d", r.Restarts)
	}
	if r.PoolExhausted > 0 {
		line += fmt.Sprintf("  pool exhausted %d", r.PoolExhausted)
	}
	if r.Oversize > 0 {
		line += fmt.Sprintf("  oversize %d (sender's datagrams exceed this receiver's maximum; --jumbo?)", r.Oversize)
	}
	if r.Invalid > 0 {
		line += fmt.Sprintf("  invalid %d", r.Invalid)
	}
	if r.CPUNsPerDatagram > 0 {
		line += fmt.Sprintf("  CPU %.0f ns/datagram", r.CPUNsPerDatagram)
	}
	if r.XDPMode != "" {
		line += "  xdp mode " + r.XDPMode
	}
	return line
}

// WriteTable writes results as an aligned text table, one row per case.
func WriteTable(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "transport\tpayload\tbatch\tdatagrams/s\tGbit/s\tloss %\tkernel drops\tring drops\trx ns/dgram\ttx ns/dgram\tPRBS errors\t")
	for _, r := range results {
		t := r.Test
		if r.Error != "" {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t\t\t\t\t\t\t\t\n", t.Transport, t.Payload, t.Batch, "error: "+FirstLine(r.Error))
			continue
		}
		s, v := r.SumSent, r.SumReceived
		prbs := "-"
		if t.PRBS {
			prbs = strconv.FormatUint(v.PRBSErrors, 10)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%.3f\t%.3f\t%d\t%d\t%s\t%s\t%s\t\n",
			TransportCell(t.Transport, r), t.Payload, t.Batch, v.DatagramsPerSecond, v.BitsPerSecond/1e9, v.LostPercent,
			v.KernelDrops, v.RingDrops, NSCell(v.CPUNsPerDatagram), NSCell(s.CPUNsPerDatagram), prbs)
	}
	return tw.Flush()
}

// TransportCell names a result's transport and, for xdp, the mode the
// kernel granted: one mode when both sides got the same, else the
// receiver's and the sender's.
func TransportCell(transport string, r Result) string {
	rx, tx := r.SumReceived.XDPMode, r.SumSent.XDPMode
	switch {
	case rx == "" && tx == "":
		return transport
	case rx == tx || tx == "":
		return transport + " " + rx
	case rx == "":
		return transport + " " + tx
	}
	return transport + " " + rx + " rx, " + tx + " tx"
}

func NSCell(v float64) string {
	if v <= 0 {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

func FirstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
