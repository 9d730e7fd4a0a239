package awsgw

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// fuzzActions are the operations FuzzGateway aims its bodies at.
var fuzzActions = []string{
	"CreateQueue", "DeleteQueue", "GetQueueUrl", "ListQueues", "GetQueueAttributes",
	"SetQueueAttributes", "PurgeQueue", "SendMessage", "SendMessageBatch", "ReceiveMessage",
	"DeleteMessage", "DeleteMessageBatch", "ChangeMessageVisibility", "ChangeMessageVisibilityBatch",
	"ListDeadLetterSourceQueues", "TagQueue", "UntagQueue", "ListQueueTags", "AddPermission",
	"RemovePermission", "StartMessageMoveTask", "CancelMessageMoveTask", "ListMessageMoveTasks",
	"CreateTopic", "DeleteTopic", "ListTopics", "GetTopicAttributes", "SetTopicAttributes",
	"Subscribe", "ConfirmSubscription", "Unsubscribe", "ListSubscriptions", "ListSubscriptionsByTopic",
	"GetSubscriptionAttributes", "SetSubscriptionAttributes", "Publish", "PublishBatch",
	"CreateStream", "DeleteStream", "DescribeStream", "DescribeStreamSummary", "ListStreams",
	"ListShards", "PutRecord", "PutRecords", "GetShardIterator", "GetRecords", "SplitShard",
	"MergeShards", "UpdateShardCount", "IncreaseStreamRetentionPeriod", "AddTagsToStream",
	"RegisterStreamConsumer", "DescribeStreamConsumer", "StartStreamEncryption",
}

// FuzzGateway sends arbitrary bodies to a live gateway in each of its wire
// forms (SQS JSON 1.0, SQS and SNS Query, Kinesis JSON 1.1 and CBOR): every
// request must get an answer (a handler panic ends the connection without
// one) and never a 500, which the gateway keeps for its own failures.
func FuzzGateway(f *testing.F) {
	seeds := []struct {
		form, action byte
		body         string
	}{
		{0, 0, `{"QueueName":"fz"}`},
		{0, 7, `{"QueueUrl":"http://localhost/000000000000/fz","MessageBody":"hi","MessageAttributes":{"a":{"DataType":"Number","StringValue":"1e9999"}}}`},
		{0, 8, `{"QueueUrl":"http://localhost/000000000000/fz","Entries":[{"Id":"1","MessageBody":"x","DelaySeconds":-1}]}`},
		{0, 9, `{"QueueUrl":"http://localhost/000000000000/fz","MaxNumberOfMessages":10,"WaitTimeSeconds":0,"AttributeNames":["All"]}`},
		{0, 10, `{"QueueUrl":"http://localhost/000000000000/fz","ReceiptHandle":"AAAA"}`},
		{0, 5, `{"QueueUrl":"http://localhost/000000000000/fz","Attributes":{"RedrivePolicy":"{\"maxReceiveCount\":\"x\"}"}}`},
		{1, 0, `&QueueName=fz.fifo&Attribute.1.Name=FifoQueue&Attribute.1.Value=true`},
		{1, 7, `&QueueUrl=http://localhost/000000000000/fz&MessageBody=%00`},
		{2, 23, `&Name=t`},
		{2, 35, `&TopicArn=arn:aws:sns:us-east-1:000000000000:t&Message=m&MessageAttributes.entry.1.Name=a&MessageAttributes.entry.1.Value.DataType=Binary`},
		{2, 28, `&TopicArn=arn:aws:sns:us-east-1:000000000000:t&Protocol=sqs&Endpoint=arn:aws:sqs:us-east-1:000000000000:fz&Attributes.entry.1.key=FilterPolicy&Attributes.entry.1.value={"a":[{"numeric":[">",1,"<"]}]}`},
		{3, 37, `{"StreamName":"s","ShardCount":1}`},
		{3, 44, `{"StreamName":"s","Data":"aGk=","PartitionKey":"p","ExplicitHashKey":"-1"}`},
		{3, 45, `{"StreamName":"s","Records":[{"Data":"%%%","PartitionKey":""}]}`},
		{3, 46, `{"StreamName":"s","ShardId":"shardId-000000000000","ShardIteratorType":"AT_SEQUENCE_NUMBER","StartingSequenceNumber":"99999999999999999999999999999999999999999999999999999"}`},
		{3, 47, `{"ShardIterator":"AAAA","Limit":0}`},
		{3, 48, `{"StreamName":"s","ShardToSplit":"shardId-000000000000","NewStartingHashKey":"340282366920938463463374607431768211456"}`},
		{4, 44, "\xa3jStreamNameasdDataBhipPartitionKeyap"},
		{4, 37, "\xbf\xff"},
	}
	for _, s := range seeds {
		f.Add(s.form, s.action, []byte(s.body))
	}
	e := newEnv(f, Config{AcceptAnyKey: true, KinesisNoLimits: true})
	client := &http.Client{}
	f.Fuzz(func(t *testing.T, form, action byte, body []byte) {
		op := fuzzActions[int(action)%len(fuzzActions)]
		var req *http.Request
		var err error
		switch form % 5 {
		case 0: // SQS, AWS JSON 1.0
			req, err = http.NewRequest("POST", e.url+"/", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/x-amz-json-1.0")
			req.Header.Set("X-Amz-Target", "AmazonSQS."+op)
		case 1, 2: // SQS or SNS, Query
			version := "2012-11-05"
			if form%5 == 2 {
				version = "2010-03-31"
			}
			b := append([]byte("Action="+op+"&Version="+version), body...)
			req, err = http.NewRequest("POST", e.url+"/", bytes.NewReader(b))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		case 3: // Kinesis, AWS JSON 1.1
			req, err = http.NewRequest("POST", e.url+"/", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			req.Header.Set("X-Amz-Target", "Kinesis_20131202."+op)
		case 4: // Kinesis, CBOR
			req, err = http.NewRequest("POST", e.url+"/", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/x-amz-cbor-1.1")
			req.Header.Set("X-Amz-Target", "Kinesis_20131202."+op)
		}
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: no answer: %v", op, err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 && resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("%s (form %d): %d %s", op, form%5, resp.StatusCode, got)
		}
	})
}
