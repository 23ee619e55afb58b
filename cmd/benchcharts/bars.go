package main

import (
	"fmt"
	"math"
	"strings"
)

// bars draws every present bar with its value above it, and the groups'
// labels below.
func (c *barChart) bars(b *strings.Builder, lo, hi float64) {
	groupW := float64(chartW-10-plotLeft) / float64(len(c.groups))
	barW := (groupW - groupGap) / float64(len(c.series))
	for g, label := range c.groups {
		x0 := plotLeft + float64(g)*groupW + groupGap/2
		for s := range c.series {
			if !c.present[g][s] {
				continue
			}
			v := c.values[g][s]
			x, y := x0+float64(s)*barW, c.y(v, lo, hi)
			fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %s %s</title></rect>`+"\n",
				x+1, y, barW-2, plotTop+plotH-y, c.colour(g, s), esc(c.barLabel(g, s)), num(v), esc(c.unit))
			size := math.Min(11, math.Max(8, barW/3))
			fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="%.0f">%s</text>`+"\n",
				x+barW/2, y-3, size, num(v))
		}
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n",
			x0+(groupW-groupGap)/2, plotTop+plotH+18, esc(label))
	}
}

// colour is bar (g, s)'s fill: its series', or, in a chart of one bar per
// server, its server's.
func (c *barChart) colour(g, s int) string {
	if c.barHues != nil {
		return series{hue: c.barHues[g]}.colour()
	}
	return c.series[s].colour()
}

// barLabel names bar (g, s) in its tooltip: its series, or, in a chart
// of one bar per server, its server.
func (c *barChart) barLabel(g, s int) string {
	if c.barHues != nil {
		return c.groups[g]
	}
	return c.series[s].label
}

// legend lists the series, one a line, from y down.
func (c *barChart) legend(b *strings.Builder, y int) {
	for i, s := range c.series {
		yy := y + 18*i
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/>`+"\n", plotLeft, yy-10, s.colour())
		fmt.Fprintf(b, `<text x="%d" y="%d">%s</text>`+"\n", plotLeft+18, yy, esc(s.label))
	}
}

// niceStep rounds a raw grid step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

// num writes a value short: 1.5M, 290k, 4.6, 0.35.
func num(v float64) string {
	switch {
	case v >= 1e6:
		return trim(fmt.Sprintf("%.2f", v/1e6)) + "M"
	case v >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return trim(fmt.Sprintf("%.1f", v))
	default:
		return trim(fmt.Sprintf("%.2f", v))
	}
}

func trim(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")

func esc(s string) string { return escaper.Replace(s) }
