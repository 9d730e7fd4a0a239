package conformance_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The MQTT conformance tests drive Debian's mosquitto_pub and mosquitto_sub
// (mosquitto-clients) and python3-paho-mqtt against a junction binary
// serving MQTT on a free loopback port (startMQTTBroker). Each test skips
// with the package to install when its tool is missing.

// mosq returns the connection arguments of mosquitto_pub/sub for b.
func (b *mqttBroker) mosq(version string, extra ...string) []string {
	return append([]string{"-h", b.host, "-p", b.port, "-u", "guest", "-P", "guest", "-V", version}, extra...)
}

// untilExit publishes with pub every 100 ms until wait returns (a
// subscriber started with -C exits once it has its messages), and returns
// what wait returns. It polls: a subscriber only sees what is published
// after its SUBSCRIBE, which a shell tool does not announce.
func untilExit(t *testing.T, wait func() (string, error), pub func()) (string, error) {
	t.Helper()
	type res struct {
		out string
		err error
	}
	done := make(chan res, 1)
	go func() {
		out, err := wait()
		done <- res{out, err}
	}()
	for {
		pub()
		select {
		case r := <-done:
			return r.out, r.err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func TestMQTTMosquittoQoS(t *testing.T) {
	needTool(t, "mosquitto_pub", "mosquitto-clients")
	b := startMQTTBroker(t)
	for _, version := range []string{"mqttv31", "mqttv311", "mqttv5"} {
		for _, qos := range []string{"0", "1", "2"} {
			t.Run(version+"/qos"+qos, func(t *testing.T) {
				topic := fmt.Sprintf("conf/%s/q%s", version, qos)
				wait := mqttStart(t, 30*time.Second, "mosquitto_sub",
					b.mosq(version, "-i", "sub-"+version+qos, "-t", topic, "-q", qos, "-C", "1", "-F", "%q %p")...)
				out, err := untilExit(t, wait, func() {
					if o, err := mqttRun(t, 10*time.Second, "mosquitto_pub",
						b.mosq(version, "-i", "pub-"+version+qos, "-t", topic, "-q", qos, "-m", "hello")...); err != nil {
						t.Errorf("mosquitto_pub: %v: %s", err, o)
					}
				})
				if err != nil {
					t.Fatal(err)
				}
				if out != qos+" hello" {
					t.Fatalf("received %q, want %q", out, qos+" hello")
				}
			})
		}
	}
}

func TestMQTTMosquittoRetained(t *testing.T) {
	needTool(t, "mosquitto_pub", "mosquitto-clients")
	b := startMQTTBroker(t)
	pub := func(args ...string) {
		t.Helper()
		if o, err := mqttRun(t, 10*time.Second, "mosquitto_pub", b.mosq("mqttv311", args...)...); err != nil {
			t.Fatalf("mosquitto_pub: %v: %s", err, o)
		}
	}
	pub("-t", "conf/ret", "-q", "1", "-r", "-m", "v1")
	pub("-t", "conf/ret", "-q", "1", "-r", "-m", "v2") // replaces v1
	out, err := mqttRun(t, 30*time.Second, "mosquitto_sub",
		b.mosq("mqttv311", "-t", "conf/ret", "-C", "1", "-F", "%r %p")...)
	if err != nil || out != "1 v2" {
		t.Fatalf("retained: %q, %v", out, err)
	}
	pub("-t", "conf/ret", "-q", "1", "-r", "-n") // clears it
	// After clearing, a new subscriber gets only live messages.
	wait := mqttStart(t, 30*time.Second, "mosquitto_sub",
		b.mosq("mqttv311", "-t", "conf/ret", "-C", "1", "-F", "%r %p")...)
	out, err = untilExit(t, wait, func() { pub("-t", "conf/ret", "-q", "1", "-m", "live") })
	if err != nil || out != "0 live" {
		t.Fatalf("after clear: %q, %v", out, err)
	}
}

func TestMQTTMosquittoPersistentSession(t *testing.T) {
	needTool(t, "mosquitto_pub", "mosquitto-clients")
	b := startMQTTBroker(t)
	// -c: clean session off; -E: exit once subscribed.
	if o, err := mqttRun(t, 30*time.Second, "mosquitto_sub",
		b.mosq("mqttv311", "-i", "conf-persist", "-c", "-q", "1", "-t", "conf/persist", "-E")...); err != nil {
		t.Fatalf("subscribe: %v: %s", err, o)
	}
	for i := range 3 {
		if o, err := mqttRun(t, 10*time.Second, "mosquitto_pub",
			b.mosq("mqttv311", "-t", "conf/persist", "-q", "1", "-m", fmt.Sprint("m", i))...); err != nil {
			t.Fatalf("mosquitto_pub: %v: %s", err, o)
		}
	}
	out, err := mqttRun(t, 30*time.Second, "mosquitto_sub",
		b.mosq("mqttv311", "-i", "conf-persist", "-c", "-q", "1", "-t", "conf/persist", "-C", "3")...)
	if err != nil {
		t.Fatalf("resume: %v: %s", err, out)
	}
	got := strings.Fields(out)
	if len(got) != 3 {
		t.Fatalf("queued messages: %q", out)
	}
	for _, want := range []string{"m0", "m1", "m2"} {
		if !strings.Contains(out, want) {
			t.Fatalf("queued messages %q lack %s", out, want)
		}
	}
}

func TestMQTTMosquittoV5Properties(t *testing.T) {
	needTool(t, "mosquitto_pub", "mosquitto-clients")
	b := startMQTTBroker(t)
	wait := mqttStart(t, 30*time.Second, "mosquitto_sub",
		b.mosq("mqttv5", "-t", "conf/props", "-q", "1", "-C", "1", "-F", "%C|%R|%P|%p")...)
	out, err := untilExit(t, wait, func() {
		if o, err := mqttRun(t, 10*time.Second, "mosquitto_pub", b.mosq("mqttv5",
			"-t", "conf/props", "-q", "1", "-m", "body",
			"-D", "publish", "content-type", "text/plain",
			"-D", "publish", "response-topic", "conf/reply",
			"-D", "publish", "user-property", "k", "v")...); err != nil {
			t.Errorf("mosquitto_pub: %v: %s", err, o)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if out != "text/plain|conf/reply|k:v|body" {
		t.Fatalf("properties: %q", out)
	}
}

func TestMQTTMosquittoAuthRefused(t *testing.T) {
	needTool(t, "mosquitto_pub", "mosquitto-clients")
	b := startMQTTBroker(t)
	for _, version := range []string{"mqttv311", "mqttv5"} {
		out, err := mqttRun(t, 10*time.Second, "mosquitto_pub", "-h", b.host, "-p", b.port,
			"-V", version, "-u", "guest", "-P", "wrong", "-t", "conf/auth", "-m", "x")
		if err == nil {
			t.Fatalf("%s: a wrong password was accepted", version)
		}
		low := strings.ToLower(out)
		if !strings.Contains(low, "bad user name or password") && !strings.Contains(low, "not authorised") {
			t.Fatalf("%s: unexpected refusal: %s", version, out)
		}
	}
}

// mqttPahoScript connects with python3-paho-mqtt (MQTT 3.1.1 and 5.0),
// subscribes, publishes at QoS 0, 1 and 2 once subscribed, and prints what
// it receives.
const mqttPahoScript = `
import sys, paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.packettypes import PacketTypes
host, port, proto = sys.argv[1], int(sys.argv[2]), sys.argv[3]
v5 = proto == "5"
c = mqtt.Client(client_id="py-" + proto, protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311)
c.username_pw_set("guest", "guest")
got = []
def on_connect(c, u, flags, rc, props=None):
    c.subscribe("conf/py/#", qos=2)
def on_subscribe(c, u, mid, granted, props=None):
    for q in (0, 1, 2):
        p = None
        if v5:
            p = Properties(PacketTypes.PUBLISH)
            p.UserProperty = [("q", str(q))]
        c.publish("conf/py/q%d" % q, "hello%d" % q, qos=q, properties=p)
def on_message(c, u, m):
    up = ""
    if v5 and hasattr(m.properties, "UserProperty"):
        up = ",".join("%s=%s" % kv for kv in m.properties.UserProperty)
    got.append("%s %d %s %s" % (m.topic, m.qos, m.payload.decode(), up))
    if len(got) == 3:
        c.disconnect()
c.on_connect, c.on_subscribe, c.on_message = on_connect, on_subscribe, on_message
c.connect(host, port, 30)
c.loop_forever(timeout=1.0)
for g in sorted(got):
    print(g.strip())
`

func TestMQTTPythonPaho(t *testing.T) {
	needPython(t, "paho.mqtt.client", "python3-paho-mqtt")
	b := startMQTTBroker(t)
	for _, proto := range []string{"311", "5"} {
		t.Run(proto, func(t *testing.T) {
			out, err := mqttRun(t, 60*time.Second, "/usr/bin/python3", "-c", mqttPahoScript, b.host, b.port, proto)
			if err != nil {
				t.Fatalf("python3: %v\n%s", err, out)
			}
			var want []string
			for q := range 3 {
				line := fmt.Sprintf("conf/py/q%d %d hello%d", q, q, q)
				if proto == "5" {
					line += fmt.Sprintf(" q=%d", q)
				}
				want = append(want, line)
			}
			if out != strings.Join(want, "\n") {
				t.Fatalf("received:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
			}
		})
	}
}
