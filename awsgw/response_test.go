package awsgw

import (
	"bytes"
	"encoding/xml"
	"testing"
)

// TestXMLEscape: the fast path writes what xml.EscapeText writes.
func TestXMLEscape(t *testing.T) {
	for _, s := range []string{"", "plain text 123", "a<b>&c\"d'e", "tab\there\nnl\rcr", "héllo", "\x00\x7f", "\xff", "€ \u2028"} {
		var got, want bytes.Buffer
		xmlEscape(&got, s)
		_ = xml.EscapeText(&want, []byte(s))
		if got.String() != want.String() {
			t.Errorf("xmlEscape(%q) = %q, want %q", s, got.String(), want.String())
		}
	}
}

// Every byte, alone and inside plain text, escapes as xml.EscapeText
// escapes it (xmlPlain's table against the encoder).
func TestXMLEscapeEveryByte(t *testing.T) {
	for c := 0; c < 256; c++ {
		for _, s := range []string{string([]byte{byte(c)}), "ab" + string([]byte{byte(c)}) + "cd"} {
			var got, want bytes.Buffer
			xmlEscape(&got, s)
			_ = xml.EscapeText(&want, []byte(s))
			if got.String() != want.String() {
				t.Errorf("xmlEscape(%q) = %q, want %q", s, got.String(), want.String())
			}
		}
	}
}
