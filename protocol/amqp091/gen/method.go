package main

import (
	"bytes"
	"fmt"
)

// goTypes maps AMQP field types to Go types.
var goTypes = map[string]string{
	"bit":       "bool",
	"octet":     "uint8",
	"short":     "uint16",
	"long":      "uint32",
	"longlong":  "uint64",
	"shortstr":  "string",
	"longstr":   "string",
	"timestamp": "uint64",
	"table":     "message.Table",
}

// writers and readers map AMQP field types to Writer and fieldReader calls
// (%s is the field).
var (
	writers = map[string]string{
		"octet":     "w.PutOctet(%s)",
		"short":     "w.PutShort(%s)",
		"long":      "w.PutLong(%s)",
		"longlong":  "w.PutLongLong(%s)",
		"timestamp": "w.PutLongLong(%s)",
		"shortstr":  "w.PutShortstr(%s)",
		"longstr":   "w.PutLongstr(%s)",
		"table":     "w.PutTable(%s)",
	}
	readers = map[string]string{
		"octet":     "%s = r.octet()",
		"short":     "%s = r.short()",
		"long":      "%s = r.long()",
		"longlong":  "%s = r.longlong()",
		"timestamp": "%s = r.longlong()",
		"shortstr":  "%[1]s = r.shortstr(%[1]s)",
		"longstr":   "%[1]s = r.longstr(%[1]s)",
		"table":     "%s = r.table(0)",
	}
)

// field is an argument resolved to its AMQP type and Go name.
type field struct {
	name, amqpType, def string
}

// fields resolves a method's arguments through the spec's domains.
func (g *generator) fields(c class, m method) ([]field, error) {
	var fs []field
	for _, a := range m.Arguments {
		t := a.Type
		if t == "" {
			t = g.domains[a.Domain]
		}
		if _, ok := goTypes[t]; !ok {
			return nil, fmt.Errorf("%s.%s %s: unknown type %q (domain %q)", c.Name, m.Name, a.Name, t, a.Domain)
		}
		fs = append(fs, field{name: fieldName(a), amqpType: t, def: defaultNote(a)})
	}
	return fs, nil
}

// defaultNote describes a non-zero default value, or "".
func defaultNote(a argument) string {
	d := string(a.Default)
	switch d {
	case "", "0", "false", `""`, "{}", "null":
		return ""
	}
	return "default " + d
}

// method emits one method's struct, its Method methods, Write and Decode.
func (g *generator) method(c class, m method) error {
	fs, err := g.fields(c, m)
	if err != nil {
		return err
	}
	t := typeName(c, m)
	content := ""
	if m.Content {
		content = ", followed by content"
	}
	g.printf("// %s is %s.%s (%d.%d)%s.\ntype %s struct {\n", t, c.Name, m.Name, c.ID, m.ID, content, t)
	for _, f := range fs {
		if f.def != "" {
			g.printf("\t%s %s // %s\n", f.name, goTypes[f.amqpType], f.def)
		} else {
			g.printf("\t%s %s\n", f.name, goTypes[f.amqpType])
		}
	}
	g.printf("}\n\n")
	cls, mid := "Class"+camel(c.Name), "Method"+t
	g.printf("// ClassID returns %s.\nfunc (*%s) ClassID() uint16 { return %s }\n\n", cls, t, cls)
	g.printf("// MethodID returns %s.\nfunc (*%s) MethodID() uint16 { return %s }\n\n", mid, t, mid)
	g.printf("// Name returns %q.\nfunc (*%s) Name() string { return %q }\n\n", c.Name+"."+m.Name, t, c.Name+"."+m.Name)
	g.printf("// HasContent reports %v.\nfunc (*%s) HasContent() bool { return %v }\n\n", m.Content, t, m.Content)
	g.printf("// Write appends the method payload.\nfunc (m *%s) Write(w *Writer) {\n", t)
	g.printf("\tw.PutShort(%s)\n\tw.PutShort(%s)\n", cls, mid)
	g.buf.Write(writeBody(fs))
	g.printf("}\n\n")
	g.printf("// Decode decodes a method payload into m.\nfunc (m *%s) Decode(payload []byte) error {\n", t)
	g.printf("\tr := methodHead(payload, %s, %s)\n", cls, mid)
	g.buf.Write(decodeBody(fs))
	g.printf("\treturn r.done()\n}\n\n")
	return nil
}

// bitGroups splits fields into runs: consecutive bits share one octet (up
// to eight), every other field stands alone. AMQP 0-9-1 4.2.5.2.
func bitGroups(fs []field) [][]field {
	var groups [][]field
	for i := 0; i < len(fs); {
		j := i + 1
		if fs[i].amqpType == "bit" {
			for j < len(fs) && j-i < 8 && fs[j].amqpType == "bit" {
				j++
			}
		}
		groups = append(groups, fs[i:j])
		i = j
	}
	return groups
}

func writeBody(fs []field) []byte {
	var b bytes.Buffer
	for _, grp := range bitGroups(fs) {
		f := grp[0]
		if f.amqpType != "bit" {
			fmt.Fprintf(&b, "\t"+writers[f.amqpType]+"\n", "m."+f.name)
			continue
		}
		b.WriteString("\t{\n\t\tvar bits uint8\n")
		for i, f := range grp {
			fmt.Fprintf(&b, "\t\tif m.%s {\n\t\t\tbits |= %#02x\n\t\t}\n", f.name, 1<<i)
		}
		b.WriteString("\t\tw.PutOctet(bits)\n\t}\n")
	}
	return b.Bytes()
}

func decodeBody(fs []field) []byte {
	var b bytes.Buffer
	for _, grp := range bitGroups(fs) {
		f := grp[0]
		if f.amqpType != "bit" {
			fmt.Fprintf(&b, "\t"+readers[f.amqpType]+"\n", "m."+f.name)
			continue
		}
		b.WriteString("\t{\n\t\tbits := r.octet()\n")
		for i, f := range grp {
			fmt.Fprintf(&b, "\t\tm.%s = bits&%#02x != 0\n", f.name, 1<<i)
		}
		b.WriteString("\t}\n")
	}
	return b.Bytes()
}
