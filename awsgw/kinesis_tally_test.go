package awsgw

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/core/message"
)

// TestSubscribeToShardTally: records SubscribeToShard pushes count as
// delivered by the Kinesis face, as GetRecords' do
// (metrics.TestFaceDelivered scrapes those).
func TestSubscribeToShardTally(t *testing.T) {
	e, kc, _, arn := subscribeEnv(t, Config{})
	face := e.b.Tally().Face(message.FaceKinesis)
	putN(t, kc, 0, 3)
	out, err := subscribe(kc, arn, types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon})
	require.NoError(t, err)
	es := out.GetStream()
	defer es.Close()
	readRecords(t, es, 3)
	eventually(t, func() bool { return face.Counts().Delivered == 3 })
	putN(t, kc, 3, 2) // pushed while subscribed
	readRecords(t, es, 2)
	eventually(t, func() bool { return face.Counts().Delivered == 5 })
}
