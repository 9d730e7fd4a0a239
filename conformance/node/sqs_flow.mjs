// Drives Junction's SQS face with the Node AWS SDK v3 (@aws-sdk/client-sqs),
// which speaks AWS JSON 1.0 (X-Amz-Target: AmazonSQS.*). Run by
// conformance/aws_test.go (TestAWSNodeSQS) with AWS_ENDPOINT_URL set to the
// broker's gateway; prints OK at the end, exits non-zero on any mismatch.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  SQSClient, CreateQueueCommand, GetQueueUrlCommand, SendMessageCommand,
  ReceiveMessageCommand, DeleteMessageCommand, GetQueueAttributesCommand,
  DeleteQueueCommand, QueueDoesNotExist,
} from "@aws-sdk/client-sqs";

const sqs = new SQSClient({
  endpoint: process.env.AWS_ENDPOINT_URL,
  region: "us-east-1",
  credentials: { accessKeyId: "test", secretAccessKey: "test" },
  maxAttempts: 1,
});

// Records each request's X-Amz-Target, to prove the JSON protocol is used.
const targets = [];
sqs.middlewareStack.add((next) => async (args) => {
  targets.push(args.request.headers["x-amz-target"]);
  return next(args);
}, { step: "finalizeRequest", name: "recordTarget" });

/** create, send (with attributes), receive, delete, then the queue is empty. */
async function flow() {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "node-q" }));
  const got = await sqs.send(new GetQueueUrlCommand({ QueueName: "node-q" }));
  assert.equal(got.QueueUrl, QueueUrl);
  const body = "hello from node ✓";
  const sent = await sqs.send(new SendMessageCommand({
    QueueUrl, MessageBody: body,
    MessageAttributes: {
      s: { DataType: "String", StringValue: "v" },
      b: { DataType: "Binary", BinaryValue: Uint8Array.from([0, 1, 255]) },
    },
  }));
  assert.equal(sent.MD5OfMessageBody, createHash("md5").update(body).digest("hex"));
  const r = await sqs.send(new ReceiveMessageCommand({
    QueueUrl, WaitTimeSeconds: 5, MessageAttributeNames: ["All"],
    MessageSystemAttributeNames: ["All"],
  }));
  assert.equal(r.Messages?.length, 1, JSON.stringify(r));
  const m = r.Messages[0];
  assert.equal(m.Body, body);
  assert.equal(m.MessageId, sent.MessageId);
  assert.equal(m.MessageAttributes.s.StringValue, "v");
  assert.deepEqual([...m.MessageAttributes.b.BinaryValue], [0, 1, 255]);
  assert.equal(m.Attributes.ApproximateReceiveCount, "1");
  await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: m.ReceiptHandle }));
  const a = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["All"] }));
  assert.equal(a.Attributes.ApproximateNumberOfMessages, "0");
  assert.equal(a.Attributes.ApproximateNumberOfMessagesNotVisible, "0");
  await sqs.send(new DeleteQueueCommand({ QueueUrl }));
  await assert.rejects(sqs.send(new GetQueueUrlCommand({ QueueName: "node-q" })),
    (e) => e instanceof QueueDoesNotExist && e.$metadata.httpStatusCode === 400);
}

await flow();
assert.ok(targets.length > 0 && targets.every((t) => t?.startsWith("AmazonSQS.")), targets.join(","));
console.log("OK @aws-sdk/client-sqs");
