#!/usr/bin/python3
"""Drives Junction's SQS and SNS faces with Debian's python3-boto3.

boto3 1.26 speaks SQS's Query protocol (XML responses). Run by
conformance/aws_test.go (TestAWSBoto3) with AWS_ENDPOINT_URL set to the
broker's AWS gateway; prints OK at the end, raises on any mismatch.
"""

import hashlib
import json
import os
import sys
import urllib.request

import boto3
import botocore
from botocore.exceptions import ClientError

ENDPOINT = os.environ["AWS_ENDPOINT_URL"]


def client(service):
    """A client of service pointed at the broker, with no retries."""
    cfg = botocore.config.Config(retries={"max_attempts": 1})
    return boto3.client(service, endpoint_url=ENDPOINT, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test",
                        config=cfg)


def expect_error(code, fn, **kwargs):
    """Calls fn(**kwargs) and checks that it fails with the error code."""
    try:
        fn(**kwargs)
    except ClientError as e:
        got = e.response["Error"]["Code"]
        assert got == code, "%s: got %s (%s)" % (fn.__name__, got, e)
        return e
    raise AssertionError("%s succeeded, wanted %s" % (fn.__name__, code))


def receive_one(sqs, url, **kwargs):
    """Long-polls url until one message arrives."""
    for _ in range(5):
        r = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2, **kwargs)
        if r.get("Messages"):
            return r["Messages"][0]
    raise AssertionError("no message on %s" % url)


def sqs_standard(sqs):
    """Create, list, send with attributes, receive, visibility, delete."""
    url = sqs.create_queue(QueueName="boto-std", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    assert sqs.get_queue_url(QueueName="boto-std")["QueueUrl"] == url
    assert url in sqs.list_queues(QueueNamePrefix="boto-")["QueueUrls"]
    attrs = {"s": {"DataType": "String", "StringValue": "v"},
             "n": {"DataType": "Number", "StringValue": "7"},
             "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xff"}}
    sent = sqs.send_message(QueueUrl=url, MessageBody="héllo", MessageAttributes=attrs)
    assert sent["MD5OfMessageBody"] == hashlib.md5("héllo".encode()).hexdigest()
    m = receive_one(sqs, url, MessageAttributeNames=["All"], AttributeNames=["All"])
    assert m["Body"] == "héllo" and m["MessageId"] == sent["MessageId"], m
    assert m["MessageAttributes"]["b"]["BinaryValue"] == b"\x00\x01\xff", m
    assert m["MessageAttributes"]["n"]["StringValue"] == "7", m
    assert m["Attributes"]["ApproximateReceiveCount"] == "1", m
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    m2 = receive_one(sqs, url, AttributeNames=["ApproximateReceiveCount"])
    assert m2["Attributes"]["ApproximateReceiveCount"] == "2", m2
    assert m2["ReceiptHandle"] != m["ReceiptHandle"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=m2["ReceiptHandle"])
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "45"})
    got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert got["VisibilityTimeout"] == "45" and got["ApproximateNumberOfMessages"] == "0", got
    batch = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "a", "MessageBody": "1"}, {"Id": "b", "MessageBody": "2"}])
    assert len(batch["Successful"]) == 2, batch
    sqs.purge_queue(QueueUrl=url)
    expect_error("AWS.SimpleQueueService.PurgeQueueInProgress", sqs.purge_queue, QueueUrl=url)
    sqs.delete_queue(QueueUrl=url)
    expect_error("AWS.SimpleQueueService.NonExistentQueue", sqs.get_queue_url, QueueName="boto-std")


def sqs_fifo(sqs):
    """FIFO: group required, order per group, content-based dedup."""
    url = sqs.create_queue(QueueName="boto-f.fifo", Attributes={
        "FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    seqs = []
    for body in ["m1", "m2", "m3", "m1"]:  # the second m1 is a duplicate
        r = sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="g")
        seqs.append(int(r["SequenceNumber"]))
    # Increasing; the duplicate is answered with the original's number.
    assert seqs[0] < seqs[1] < seqs[2] and seqs[3] == seqs[0], "sequence numbers: %s" % seqs
    expect_error("MissingParameter", sqs.send_message, QueueUrl=url, MessageBody="x")
    r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])
    bodies = [m["Body"] for m in r["Messages"]]
    assert bodies == ["m1", "m2", "m3"], bodies
    assert r["Messages"][0]["Attributes"]["MessageGroupId"] == "g"
    # The group is blocked while its messages are in flight.
    assert not sqs.receive_message(QueueUrl=url).get("Messages")
    sqs.delete_message_batch(QueueUrl=url, Entries=[
        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(r["Messages"])])
    sqs.delete_queue(QueueUrl=url)


def sqs_redrive(sqs):
    """A message received maxReceiveCount times moves to the DLQ."""
    dlq = sqs.create_queue(QueueName="boto-dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "1"})
    src = sqs.create_queue(QueueName="boto-src", Attributes={
        "RedrivePolicy": policy, "VisibilityTimeout": "0"})["QueueUrl"]
    sqs.send_message(QueueUrl=src, MessageBody="poison")
    receive_one(sqs, src)
    assert not sqs.receive_message(QueueUrl=src, WaitTimeSeconds=1).get("Messages")
    m = receive_one(sqs, dlq)
    assert m["Body"] == "poison", m
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [src]


def sqs_errors(sqs):
    """Errors as AWS words them, over Query."""
    e = expect_error("AWS.SimpleQueueService.NonExistentQueue", sqs.get_queue_url, QueueName="boto-none")
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    expect_error("InvalidParameterValue", sqs.create_queue, QueueName="bad name!")
    url = sqs.create_queue(QueueName="boto-err")["QueueUrl"]
    expect_error("ReceiptHandleIsInvalid", sqs.delete_message, QueueUrl=url, ReceiptHandle="garbage")
    expect_error("InvalidParameterValue", sqs.receive_message, QueueUrl=url, MaxNumberOfMessages=11)


def sqs_presigned(sqs):
    """Presigned URLs (SigV4 in the query): boto3 signs the operation's
    method, POST, unless HttpMethod says otherwise."""
    url = sqs.create_queue(QueueName="boto-pre")["QueueUrl"]
    get = sqs.generate_presigned_url("list_queues", Params={"QueueNamePrefix": "boto-pre"},
                                     ExpiresIn=60, HttpMethod="GET")
    body = urllib.request.urlopen(get, timeout=10).read().decode()
    assert "<QueueUrl>%s</QueueUrl>" % url in body, body
    post = sqs.generate_presigned_url("send_message", Params={"QueueUrl": url, "MessageBody": "presigned"},
                                      ExpiresIn=60)
    body = urllib.request.urlopen(urllib.request.Request(post, method="POST"), timeout=10).read().decode()
    assert "<SendMessageResponse" in body, body
    assert receive_one(sqs, url)["Body"] == "presigned"


def sns_to_sqs(sns, sqs):
    """SNS topic → SQS queue, envelope then raw delivery, unsubscribe."""
    topic = sns.create_topic(Name="boto-topic")["TopicArn"]
    url = sqs.create_queue(QueueName="boto-sub")["QueueUrl"]
    qarn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn, ReturnSubscriptionArn=True)["SubscriptionArn"]
    assert any(s["SubscriptionArn"] == sub for s in sns.list_subscriptions()["Subscriptions"])
    mid = sns.publish(TopicArn=topic, Message="hi", Subject="subj", MessageAttributes={
        "k": {"DataType": "String", "StringValue": "v"}})["MessageId"]
    m = receive_one(sqs, url)
    env = json.loads(m["Body"])
    assert env["Type"] == "Notification" and env["MessageId"] == mid, env
    assert env["Message"] == "hi" and env["Subject"] == "subj" and env["TopicArn"] == topic, env
    assert env["MessageAttributes"]["k"] == {"Type": "String", "Value": "v"}, env
    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="RawMessageDelivery", AttributeValue="true")
    sns.publish(TopicArn=topic, Message="raw")
    m = receive_one(sqs, url)
    assert m["Body"] == "raw", m
    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    sns.unsubscribe(SubscriptionArn=sub)
    assert not sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    sns.delete_topic(TopicArn=topic)
    expect_error("NotFound", sns.get_topic_attributes, TopicArn=topic)


def main():
    sqs, sns = client("sqs"), client("sns")
    for step in (sqs_standard, sqs_fifo, sqs_redrive, sqs_errors, sqs_presigned):
        step(sqs)
        print(step.__name__, "ok", flush=True)
    sns_to_sqs(sns, sqs)
    print("sns_to_sqs ok")
    print("OK boto3", boto3.__version__, "botocore", botocore.__version__)


if __name__ == "__main__":
    sys.exit(main())
