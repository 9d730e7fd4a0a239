package bench

import "testing"

// startFakeBroker starts a NullAMQP on a free loopback port for t.
func startFakeBroker(t *testing.T) *NullAMQP {
	t.Helper()
	b, err := ListenNullAMQP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}
