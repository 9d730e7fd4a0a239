package queue

import (
	"errors"
	"testing"
	"time"

	"github.com/junctionmq/junction/core/message"
)

func TestSetOptions(t *testing.T) {
	tests := []struct {
		name  string
		from  Options
		to    Options
		check func(t *testing.T, f *fixture)
	}{
		{"default delay applies to later publishes", Options{}, Options{DefaultDelay: 10 * time.Second},
			func(t *testing.T, f *fixture) {
				pubBodies(t, f.q, "later")
				eq(t, 1, f.q.Stats().Delayed)
				f.clock.Advance(10 * time.Second)
				eq(t, []string{"before", "later"}, drain(f.q))
			}},
		{"shorter retention drops old messages at once", Options{Retention: time.Hour}, Options{Retention: time.Minute},
			func(t *testing.T, f *fixture) {
				eq(t, 0, f.q.Stats().Ready, "before (2 min old) is past 1 min retention")
				pubBodies(t, f.q, "fresh") // arrived t0: already past
				f.clock.Advance(time.Second)
				eq(t, []string{}, drain(f.q))
			}},
		{"longer retention keeps messages and re-arms", Options{Retention: 3 * time.Minute}, Options{Retention: time.Hour},
			func(t *testing.T, f *fixture) {
				f.clock.Advance(30 * time.Minute)
				eq(t, 1, f.q.Stats().Ready)
				f.clock.Advance(31 * time.Minute)
				eq(t, 0, f.q.Stats().Ready, "expired by the new retention")
			}},
		{"redrive applies to later receives", Options{}, Options{MaxReceiveCount: 1, RedriveTarget: "dlq"},
			func(t *testing.T, f *fixture) {
				eq(t, []string{"before"}, bodies(f.q.Lease(1, time.Second)))
				f.clock.Advance(time.Second)
				eq(t, 0, len(f.q.Lease(1, time.Second)))
				eq(t, []string{"before"}, f.dl.bodies())
				eq(t, "dlq", f.dl.rks[0])
			}},
		{"dedup window opens", Options{FIFO: true}, Options{FIFO: true, DedupWindow: time.Minute},
			func(t *testing.T, f *fixture) {
				m := func(id string) *message.Message { x := msg("d"); x.DedupID = id; return x }
				eq(t, Enqueued, f.q.Publish(Publishing{Msg: m("x")}))
				eq(t, Duplicate, f.q.Publish(Publishing{Msg: m("x")}))
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{Options: tt.from}, nil)
			pubBodies(t, f.q, "before")
			f.clock.Advance(2 * time.Minute)
			must(t, f.q.SetOptions(tt.to))
			eq(t, tt.to, f.q.Config().Options)
			tt.check(t, f)
		})
	}
}

func TestSetOptionsRefusals(t *testing.T) {
	tests := []struct {
		name   string
		from   Options
		to     Options
		delete bool
		want   error
	}{
		{"FIFO on", Options{}, Options{FIFO: true}, false, ErrFIFOChange},
		{"FIFO off", Options{FIFO: true}, Options{}, false, ErrFIFOChange},
		{"deleted queue", Options{}, Options{DefaultDelay: time.Second}, true, ErrDeleted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{Options: tt.from}, nil)
			if tt.delete {
				_, _ = f.q.Delete(false, false)
			}
			if err := f.q.SetOptions(tt.to); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !tt.delete {
				eq(t, tt.from, f.q.Config().Options)
			}
		})
	}
}
