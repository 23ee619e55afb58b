package main

import (
	"fmt"
	"math"
	"strings"
)

// barChart is a grouped bar chart: values[g][s] is series s in group g,
// drawn only where present[g][s].
type barChart struct {
	title   string
	unit    string
	log     bool
	groups  []string
	series  []series
	values  [][]float64
	present [][]bool
	// barHues, when set, colours each group's single bar with its own hue
	// (a chart of one bar per server); there is no legend then.
	barHues []int
}

// series is one kind of bar: its legend label and colour (a hue, and a
// shade from dark to light).
type series struct {
	label string
	hue   int
	shade int
}

func (s series) colour() string {
	return fmt.Sprintf("hsl(%d,65%%,%d%%)", s.hue, 35+15*s.shade)
}

// transpose turns a chart of one group and many series into one series
// per group, so that each server gets its own labelled bar.
func (c *barChart) transpose() *barChart {
	t := &barChart{title: c.title, unit: c.unit, log: c.log, series: []series{{label: c.unit}}}
	for i, s := range c.series {
		t.groups = append(t.groups, s.label)
		t.values = append(t.values, []float64{c.values[i][0]})
		t.present = append(t.present, []bool{c.present[i][0]})
		t.barHues = append(t.barHues, s.hue)
	}
	return t
}

// Layout, in SVG user units.
const (
	chartW   = 760
	plotTop  = 50
	plotH    = 260
	plotLeft = 80
	groupGap = 24
)

// svg renders the chart.
func (c *barChart) svg() string {
	lo, hi := c.scale()
	legend := 0
	if c.barHues == nil {
		legend = 18 * len(c.series)
	}
	height := plotTop + plotH + 50 + legend
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		chartW, height, chartW, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="15" font-weight="bold">%s</text>`+"\n", plotLeft, esc(c.title))
	c.axis(&b, lo, hi)
	c.bars(&b, lo, hi)
	if legend > 0 {
		c.legend(&b, plotTop+plotH+44)
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// scale returns the value range of the y axis.
func (c *barChart) scale() (lo, hi float64) {
	max, min := 0.0, math.Inf(1)
	for g := range c.values {
		for s, v := range c.values[g] {
			if c.present[g][s] && v > 0 {
				max, min = math.Max(max, v), math.Min(min, v)
			}
		}
	}
	if max == 0 {
		max, min = 1, 1
	}
	if c.log {
		return math.Pow(10, math.Floor(math.Log10(min))), math.Pow(10, math.Ceil(math.Log10(max)))
	}
	step := niceStep(max / 5)
	return 0, math.Ceil(max/step) * step
}

// y maps a value to its vertical position.
func (c *barChart) y(v, lo, hi float64) float64 {
	f := v / hi
	if c.log {
		f = (math.Log10(math.Max(v, lo)) - math.Log10(lo)) / (math.Log10(hi) - math.Log10(lo))
	}
	return plotTop + plotH*(1-f)
}

// axis draws the horizontal grid lines and their values.
func (c *barChart) axis(b *strings.Builder, lo, hi float64) {
	var ticks []float64
	if c.log {
		for v := lo; v <= hi*1.0001; v *= 10 {
			ticks = append(ticks, v)
		}
	} else {
		step := niceStep(hi / 5)
		for v := 0.0; v <= hi*1.0001; v += step {
			ticks = append(ticks, v)
		}
	}
	for _, v := range ticks {
		y := c.y(v, lo, hi)
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", plotLeft, chartW-10, y, y)
		fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", plotLeft-6, y+4, num(v))
	}
	fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#333"/>`+"\n", plotLeft, chartW-10, plotTop+plotH, plotTop+plotH)
}
