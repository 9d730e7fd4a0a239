package tally_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/tally"
)

// TestFaceCounts: counts add up per face from many goroutines, unknown
// faces count as core, and nil tallies count nothing without failing.
func TestFaceCounts(t *testing.T) {
	var ts tally.Faces
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				ts.Face(message.FaceAMQP).Delivered(2)
				ts.Face(message.FaceSQS).Acked(1)
				ts.Face(message.FaceMQTT).Dropped(tally.SlowClient, 1)
			}
		})
	}
	wg.Wait()
	ts.Face(message.Face(200)).Dropped(tally.Expired, 3)
	ts.Face(message.FaceCore).Dropped(tally.NumReasons, 1) // not a reason: ignored
	ts.Face(message.FaceCore).Delivered(-1)                // not a count: ignored

	require.EqualValues(t, 16000, ts.Face(message.FaceAMQP).Counts().Delivered)
	require.EqualValues(t, 8000, ts.Face(message.FaceSQS).Counts().Acked)
	require.EqualValues(t, 8000, ts.Face(message.FaceMQTT).Counts().Dropped[tally.SlowClient])
	require.Equal(t, tally.Counts{Dropped: [tally.NumReasons]uint64{tally.Expired: 3}}, ts.Face(message.FaceCore).Counts())

	var nilFaces *tally.Faces
	f := nilFaces.Face(message.FaceAMQP)
	require.Nil(t, f)
	f.Delivered(1)
	f.Acked(1)
	f.Dropped(tally.Rejected, 1)
	require.Equal(t, tally.Counts{}, f.Counts())

	names := map[string]bool{}
	for r := range tally.NumReasons {
		names[r.String()] = true
	}
	require.Len(t, names, int(tally.NumReasons))
	require.Equal(t, "unknown", tally.NumReasons.String())
}

// BenchmarkDelivered is the cost a face pays per count, from every core
// at once (the AMQP face pays it once per write batch).
func BenchmarkDelivered(b *testing.B) {
	var ts tally.Faces
	f := ts.Face(message.FaceAMQP)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			f.Delivered(1)
		}
	})
}
