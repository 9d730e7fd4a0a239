package awsgw

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// xmlns returns the Query namespace of a service.
func xmlns(service string) string {
	if service == "sns" {
		return "http://sns.amazonaws.com/doc/2010-03-31/"
	}
	return "http://queue.amazonaws.com/doc/2012-11-05/"
}

// writeError sends e in the request's protocol.
func (s *Server) writeError(w http.ResponseWriter, req *request, e *apiError) {
	if req.service == "kinesis" {
		s.writeKinesisError(w, req, e)
		return
	}
	fault := "Sender"
	if e.Receiver {
		fault = "Receiver"
	}
	if e.Status >= 500 {
		s.log.Warn("request failed", "request_id", req.id, "action", req.action, "code", e.Code)
	}
	h := w.Header()
	if req.proto == protoJSON {
		ct := "application/x-amz-json-1.0"
		if req.service == "kinesis" {
			ct = "application/x-amz-json-1.1"
		}
		h.Set("Content-Type", ct)
		if req.queryMode {
			h.Set("x-amzn-query-error", e.Code+";"+fault)
		}
		ns := "com.amazonaws.sqs#"
		if strings.HasSuffix(e.Type, "Exception") && e.Type != "InvalidParameterValueException" &&
			e.Type != "MissingRequiredParameterException" && e.Type != "ResourceNotFoundException" {
			ns = "com.amazon.coral.service#"
		}
		body, _ := json.Marshal(map[string]string{"__type": ns + e.Type, "message": e.Message})
		w.WriteHeader(e.Status)
		_, _ = w.Write(body)
		return
	}
	msg := e.Message
	if e.QueryMessage != "" {
		msg = e.QueryMessage
	}
	if req.wantJSON {
		h.Set("Content-Type", "application/json")
		body, _ := json.Marshal(map[string]any{"Error": map[string]string{"Type": fault, "Code": e.Code,
			"Message": msg}, "RequestId": req.id})
		w.WriteHeader(e.Status)
		_, _ = w.Write(body)
		return
	}
	var b bytes.Buffer
	b.Grow(2048)
	b.WriteString(`<?xml version="1.0"?><ErrorResponse xmlns="` + xmlns(req.service) + `"><Error><Type>`)
	b.WriteString(fault + "</Type><Code>")
	xmlEscape(&b, e.Code)
	b.WriteString("</Code><Message>")
	xmlEscape(&b, msg)
	b.WriteString("</Message><Detail/></Error><RequestId>" + req.id + "</RequestId></ErrorResponse>")
	h.Set("Content-Type", "text/xml")
	w.WriteHeader(e.Status)
	_, _ = w.Write(b.Bytes())
}

// writeResult sends a successful result; out is the action's output
// struct (nil for actions without one).
func (s *Server) writeResult(w http.ResponseWriter, req *request, out any) {
	if req.service == "kinesis" {
		s.writeKinesisResult(w, req, out)
		return
	}
	h := w.Header()
	if req.proto == protoJSON {
		h.Set("Content-Type", "application/x-amz-json-1.0")
		body := []byte("{}")
		if out != nil && !reflect.ValueOf(out).IsNil() {
			body, _ = json.Marshal(out)
		}
		_, _ = w.Write(body)
		return
	}
	if req.wantJSON {
		resp := map[string]any{"ResponseMetadata": map[string]string{"RequestId": req.id}}
		if out != nil && !reflect.ValueOf(out).IsNil() {
			resp[req.action+"Result"] = out
		}
		body, _ := json.Marshal(map[string]any{req.action + "Response": resp})
		h.Set("Content-Type", "application/json")
		_, _ = w.Write(body)
		return
	}
	b := xmlBufs.Get().(*bytes.Buffer)
	b.Reset()
	defer putXMLBuf(b)
	b.WriteString(`<?xml version="1.0"?><`)
	b.WriteString(req.action)
	b.WriteString(`Response xmlns="`)
	b.WriteString(xmlns(req.service))
	b.WriteString(`">`)
	if out != nil && !reflect.ValueOf(out).IsNil() {
		b.WriteByte('<')
		b.WriteString(req.action)
		b.WriteString("Result>")
		if !writeSQSResultXML(b, out) {
			writeXMLFields(b, reflect.ValueOf(out).Elem())
		}
		b.WriteString("</")
		b.WriteString(req.action)
		b.WriteString("Result>")
	}
	b.WriteString("<ResponseMetadata><RequestId>")
	b.WriteString(req.id)
	b.WriteString("</RequestId></ResponseMetadata></")
	b.WriteString(req.action)
	b.WriteString("Response>")
	// Both headers in one allocation, their keys already canonical (what
	// h.Set would store, without two []string allocations).
	hv := make([]string, 2)
	hv[0] = "text/xml"
	// A length up front: net/http would chunk an answer past 2 KiB (a
	// ReceiveMessage of 10 messages).
	hv[1] = strconv.Itoa(b.Len())
	h["Content-Type"] = hv[0:1:1]
	h["Content-Length"] = hv[1:2:2]
	_, _ = w.Write(b.Bytes())
}

// xmlBufs holds the buffers of Query answers.
var xmlBufs = sync.Pool{New: func() any { b := new(bytes.Buffer); b.Grow(4096); return b }}

// putXMLBuf returns b to xmlBufs unless an unusually large answer grew it.
func putXMLBuf(b *bytes.Buffer) {
	if b.Cap() <= 64<<10 {
		xmlBufs.Put(b)
	}
}

// xmlEscape writes s escaped as xml.EscapeText escapes it; plain ASCII
// text (the common case) is copied as is.
func xmlEscape(b *bytes.Buffer, s string) {
	for i := 0; i < len(s); i++ {
		if !xmlPlain[s[i]] {
			_ = xml.EscapeText(b, []byte(s))
			return
		}
	}
	b.WriteString(s)
}

// xmlPlain tells the bytes xml.EscapeText copies as they are within
// plain ASCII text: 0x20-0x7e but for " ' & < >.
var xmlPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = !strings.ContainsRune(`"'&<>`, rune(c))
	}
	return t
}()

// xmlField is how writeXMLFields writes one struct field.
type xmlField struct {
	index     int
	name      string
	xt        []string // the xml tag, split at commas
	omitempty bool
}

// xmlFieldCache holds the []xmlField of each struct type written.
var xmlFieldCache sync.Map // reflect.Type → []xmlField

func xmlFieldsOf(t reflect.Type) []xmlField {
	if fs, ok := xmlFieldCache.Load(t); ok {
		return fs.([]xmlField)
	}
	var fs []xmlField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		xt := strings.Split(f.Tag.Get("xml"), ",")
		if xt[0] != "" {
			name = xt[0]
		}
		fs = append(fs, xmlField{index: i, name: name, xt: xt, omitempty: strings.Contains(opts, "omitempty")})
	}
	xmlFieldCache.Store(t, fs)
	return fs
}

// writeXMLFields writes a struct's fields as Query XML elements. The
// element name is the json name unless an xml tag gives one; lists are
// flattened (one element per item); maps become one element per key with
// two children, named by the xml tag "Elem,KeyName,ValueName" (default
// "Attribute,Name,Value"), in key order.
func writeXMLFields(b *bytes.Buffer, v reflect.Value) {
	for _, f := range xmlFieldsOf(v.Type()) {
		fv := v.Field(f.index)
		if f.omitempty && fv.IsZero() {
			continue
		}
		writeXMLValue(b, f.name, f.xt, fv)
	}
}

func writeXMLValue(b *bytes.Buffer, name string, xt []string, v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			writeXMLValue(b, name, xt, v.Elem())
		}
		return
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			writeXMLText(b, name, base64.StdEncoding.EncodeToString(v.Bytes()))
			return
		}
		for i := 0; i < v.Len(); i++ {
			writeXMLValue(b, name, nil, v.Index(i))
		}
		return
	case reflect.Map:
		kn, vn := "Name", "Value"
		if len(xt) == 3 {
			kn, vn = xt[1], xt[2]
		}
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			b.WriteString("<" + name + ">")
			writeXMLText(b, kn, k.String())
			writeXMLValue(b, vn, nil, v.MapIndex(k))
			b.WriteString("</" + name + ">")
		}
		return
	case reflect.Struct:
		b.WriteByte('<')
		b.WriteString(name)
		b.WriteByte('>')
		writeXMLFields(b, v)
		b.WriteString("</")
		b.WriteString(name)
		b.WriteByte('>')
		return
	case reflect.String:
		writeXMLText(b, name, v.String())
	case reflect.Bool:
		writeXMLText(b, name, strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int32, reflect.Int64:
		writeXMLText(b, name, strconv.FormatInt(v.Int(), 10))
	}
}

func writeXMLText(b *bytes.Buffer, name, text string) {
	b.WriteByte('<')
	b.WriteString(name)
	b.WriteByte('>')
	xmlEscape(b, text)
	b.WriteString("</")
	b.WriteString(name)
	b.WriteByte('>')
}
