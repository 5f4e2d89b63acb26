package train

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progress draws a one-line bar on a terminal, redrawn at most every 100 ms.
type progress struct {
	w     io.Writer
	last  time.Time
	start time.Time
	total int
	epoch int
	of    int
}

func (p *progress) begin(epoch, of, total int) {
	if p.w == nil {
		return
	}
	p.epoch, p.of, p.total, p.start = epoch, of, total, time.Now()
}

func (p *progress) update(done int, loss float64) {
	if p.w == nil || (time.Since(p.last) < 100*time.Millisecond && done < p.total) {
		return
	}
	p.last = time.Now()
	const width = 30
	fill := width * done / max(p.total, 1)
	rate := float64(done) / max(time.Since(p.start).Seconds(), 1e-9)
	fmt.Fprintf(p.w, "\repoch %d/%d [%s%s] %d/%d loss %.4f %.1f steps/s ",
		p.epoch, p.of, strings.Repeat("=", fill), strings.Repeat(" ", width-fill), done, p.total, loss, rate)
}

func (p *progress) end() {
	if p.w != nil {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
