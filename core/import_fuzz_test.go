package core

import (
	"os"
	"testing"

	"github.com/junctionmq/junction/core/auth"
)

// FuzzImportDefinitions parses arbitrary bytes as a RabbitMQ definitions
// file and imports whatever parses into one live broker: parsing and the
// import must answer with an error or succeed, never panic, and the broker
// must still export afterwards.
func FuzzImportDefinitions(f *testing.F) {
	real, err := os.ReadFile("auth/testdata/rabbitmq-definitions.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(real)
	for _, s := range []string{
		`{}`,
		`{"vhosts":[{"name":"v"}],"queues":[{"name":"q","vhost":"v","durable":true,"arguments":{"x-max-length":-1}}]}`,
		`{"exchanges":[{"name":"e","vhost":"/","type":"x-nope"}]}`,
		`{"bindings":[{"source":"amq.topic","vhost":"/","destination":"missing","destination_type":"queue","routing_key":"#"}]}`,
		`{"users":[{"name":"u","password_hash":"!!","hashing_algorithm":"rabbit_password_hashing_md5","tags":"administrator,monitoring"}]}`,
		`{"policies":[{"vhost":"/","name":"p","pattern":"(","apply-to":"queues","definition":{"max-length":"x"},"priority":1}]}`,
		`{"queues":[{"name":"q2","vhost":"/","arguments":{"x-queue-type":"stream","x-max-age":"1Y"}}]}`,
		`{"permissions":[{"user":"nobody","vhost":"/","configure":"[","write":".*","read":".*"}]}`,
		`{"vhosts":[{"name":""}]}`,
		`[1,2,3]`,
	} {
		f.Add([]byte(s))
	}
	b, st := openBroker(f, "")
	f.Cleanup(func() { closeBroker(f, b, st) })
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := auth.ParseDefinitions(data)
		if err != nil {
			return
		}
		_, _ = b.ImportDefinitions(d)
		if b.Users().Export() == nil {
			t.Fatal("export after import gave nothing")
		}
	})
}
