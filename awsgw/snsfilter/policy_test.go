package snsfilter

import (
	"strings"
	"testing"
)

// TestParseErrors checks AWS's texts for invalid policies (the cases of the
// recorded AWS responses, test_sns_filter_policy).
func TestParseErrors(t *testing.T) {
	src := func(p string) string { return "\n at [Source: (String)\"" + p + "\"; line: 1, column: " }
	cases := []struct{ policy, want string }{
		{`{"key":[["value"]]}`, "Match value must be String, number, true, false, or null" + src(`{"key":[["value"]]}`) + "10]"},
		{`{"key":[{"wrong-operator":true}]}`, "Unrecognized match type wrong-operator" + src(`{"key":[{"wrong-operator":true}]}`) + "31]"},
		{`{"key":[{"suffix":"value","prefix":"value2"}]}`, "Only one key allowed in match expression" + src(`{"key":[{"suffix":"value","prefix":"value2"}]}`) + "37]"},
		{`{"key":[]}`, "Empty arrays are not allowed" + src(`{"key":[]}`) + "10]"},
		{`{"key":[{"suffix":100}]}`, "suffix match pattern must be a string" + src(`{"key":[{"suffix":100}]}`) + "22]"},
		{`{"key":[{"suffix":null}]}`, "suffix match pattern must be a string" + src(`{"key":[{"suffix":null}]}`) + "23]"},
		{`{"key":{"suffix":"value"}}`, `"suffix" must be an object or an array` + src(`{"key":{"suffix":"value"}}`) + "19]"},
		{`{"key":[{"suffix":[]}]}`, "suffix match pattern must be a string" + src(`{"key":[{"suffix":[]}]}`) + "20]"},
		{`{"key":[{"suffix":["test","test2"]}]}`, "suffix match pattern must be a string" + src(`{"key":[{"suffix":["test","test2"]}]}`) + "20]"},
		{`{"key":{"not-an-operator":"value"}}`, `"not-an-operator" must be an object or an array` + src(`{"key":{"not-an-operator":"value"}}`) + "28]"},
		{`{"key":[{"cidr":["bad-filter"]}]}`, "prefix match pattern must be a string" + src(`{"key":[{"cidr":["bad-filter"]}]}`) + "18]"},
		{`{"key":[{"cidr":"bad-filter"}]}`, "Malformed CIDR, one '/' required"},
		{`{"key":[{"cidr":"bad-filter/a"}]}`, "Malformed CIDR, mask bits must be an integer"},
		{`{"key":[{"cidr":"bad-filter/8"}]}`, "Nonstandard IP address: bad-filter"},
		{`{"key":[{"cidr":"xx.11.xx/8"}]}`, "Nonstandard IP address: xx.11.xx"},
		{`{"key":[{"numeric":[]}]}`, "Invalid member in numeric match: ]" + src(`{"key":[{"numeric":[]}]}`) + "22]"},
		{`{"key":[{"numeric":["operator"]}]}`, "Unrecognized numeric range operator: operator" + src(`{"key":[{"numeric":["operator"]}]}`) + "32]"},
		{`{"key":[{"numeric":[1,"<="]}]}`, "Invalid member in numeric match: 1" + src(`{"key":[{"numeric":[1,"<="]}]}`) + "22]"},
		{`{"key":[{"numeric":["=","000"]}]}`, "Value of equals must be numeric" + src(`{"key":[{"numeric":["=","000"]}]}`) + "26]"},
		{`{"key":[{"numeric":[">="]}]}`, "Value of >= must be numeric" + src(`{"key":[{"numeric":[">="]}]}`) + "26]"},
		{`{"key":[{"numeric":["<",100,">",10]}]}`, "Too many elements in numeric expression" + src(`{"key":[{"numeric":["<",100,">",10]}]}`) + "30]"},
		{`{"key":[{"numeric":[">=",1,">",2]}]}`, "Bad numeric range operator: >" + src(`{"key":[{"numeric":[">=",1,">",2]}]}`) + "31]"},
		{`{"key":[{"numeric":[">",3,"<",1]}]}`, "Bottom must be less than top" + src(`{"key":[{"numeric":[">",3,"<",1]}]}`) + "33]"},
		{`{"key":[{"numeric":[">",20,"<="]}]}`, "Value of <= must be numeric" + src(`{"key":[{"numeric":[">",20,"<="]}]}`) + "33]"},
		{`{"key":[{"numeric":[">",20,30]}]}`, "Bad value in numeric range: 30" + src(`{"key":[{"numeric":[">",20,30]}]}`) + "30]"},
		{`{"key":[{"numeric":[">",20,"test"]}]}`, "Bad numeric range operator: test" + src(`{"key":[{"numeric":[">",20,"test"]}]}`) + "34]"},
		{`{"key":[{"numeric":[">","20","<","30"]}]}`, "Value of > must be numeric" + src(`{"key":[{"numeric":[">","20","<","30"]}]}`) + "26]"},
		{`{"key":[{"numeric":[">",20,"<","30"]}]}`, "Value of < must be numeric" + src(`{"key":[{"numeric":[">",20,"<","30"]}]}`) + "33]"},
		{`{"key":[{"numeric":[">",20,"<",30,"<",50]}]}`, "Too many terms in numeric range expression" + src(`{"key":[{"numeric":[">",20,"<",30,"<",50]}]}`) + "36]"},
		{`{"key":[{"exists":null}]}`, "exists match pattern must be either true or false." + src(`{"key":[{"exists":null}]}`) + "23]"},
		{`{"key":[{"exists":"no"}]}`, "exists match pattern must be either true or false." + src(`{"key":[{"exists":"no"}]}`) + "20]"},
		{`{"key_a":"value_one"}`, `"key_a" must be an object or an array` + src(`{"key_a":"value_one"}`) + "11]"},
		{`{"key":[{"anything-but":{"wrong-operator":null}}]}`, "Unsupported anything-but pattern: wrong-operator" + src(`{"key":[{"anything-but":{"wrong-operator":null}}]}`) + "47]"},
		{`{"key":[{"anything-but":{"exists":false}}]}`, "Unsupported anything-but pattern: exists" + src(`{"key":[{"anything-but":{"exists":false}}]}`) + "40]"},
		{`{"key":[{"anything-but":{"prefix":false}}]}`, "prefix match pattern must be a string" + src(`{"key":[{"anything-but":{"prefix":false}}]}`) + "40]"},
		{`{"a":["1"],"b":["1"],"c":["1"],"d":["1"],"e":["1"],"f":["1"]}`, "Filter policy can not have more than 5 keys"},
		{`{"a":[1,2,3,4,5,6,7,8,9,10],"b":[1,2,3,4,5,6,7,8,9,10],"c":[1,2]}`, "Filter policy is too complex"},
		{`{"$or":[{"a":[1,2,3,4,5,6,7,8,9,10],"b":[1,2,3,4,5,6,7,8]},{"a":[1,2,3,4,5,6,7,8,9,10],"b":[1,2,3,4,5,6,7,8]}]}`, "Filter policy is too complex"},
		{`{invalid}`, "failed to parse JSON. Unexpected character ('i' (code 105)): was expecting double-quote to start field name\n at [Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); line: 1, column: 2]"},
		{`invalid`, "failed to parse JSON. Unrecognized token 'invalid': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')\n at [Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); line: 1, column: 8]"},
	}
	for _, c := range cases {
		t.Run(c.policy, func(t *testing.T) {
			_, err := Parse(c.policy)
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			if err.Error() != c.want {
				t.Fatalf("got  %q\nwant %q", err.Error(), c.want)
			}
		})
	}
}

func TestMatchAttributes(t *testing.T) {
	attrs := map[string]Attribute{
		"store":    {Type: "String", Value: "example_corp"},
		"event":    {Type: "String", Value: "order_placed"},
		"price":    {Type: "Number", Value: "210.75"},
		"ip":       {Type: "String", Value: "10.0.0.255"},
		"tags":     {Type: "String.Array", Value: `["a","b",3]`},
		"bin":      {Type: "Binary", Value: "AAA="},
		"customer": {Type: "String", Value: "Premium"},
	}
	cases := []struct {
		policy string
		want   bool
	}{
		{`{"store":["example_corp"]}`, true},
		{`{"store":["other"]}`, false},
		{`{"price":[210.75]}`, true},
		{`{"price":["210.75"]}`, false},
		{`{"price":[{"numeric":[">",0,"<=",210.75]}]}`, true},
		{`{"price":[{"numeric":[">",210.75]}]}`, false},
		{`{"price":[{"numeric":["=",210.75]}]}`, true},
		{`{"event":[{"prefix":"order"}]}`, true},
		{`{"event":[{"suffix":"placed"}]}`, true},
		{`{"event":[{"suffix":"cancelled"}]}`, false},
		{`{"customer":[{"equals-ignore-case":"premium"}]}`, true},
		{`{"event":[{"anything-but":["order_placed"]}]}`, false},
		{`{"event":[{"anything-but":"x"}]}`, true},
		{`{"event":[{"anything-but":{"prefix":"order"}}]}`, false},
		{`{"event":[{"anything-but":{"suffix":"x"}}]}`, true},
		{`{"event":[{"anything-but":{"equals-ignore-case":["ORDER_PLACED"]}}]}`, false},
		{`{"missing":[{"anything-but":"x"}]}`, false},
		{`{"missing":[{"exists":false}]}`, true},
		{`{"store":[{"exists":true}]}`, true},
		{`{"bin":[{"exists":true}]}`, false},
		{`{"ip":[{"cidr":"10.0.0.0/24"}]}`, true},
		{`{"ip":[{"cidr":"10.0.1.0/24"}]}`, false},
		{`{"tags":["b"]}`, true},
		{`{"tags":[3]}`, true},
		{`{"tags":["z"]}`, false},
		{`{"store":["x"],"$or":[{"event":["order_placed"]},{"price":[1]}]}`, false},
		{`{"store":["example_corp"],"$or":[{"event":["nope"]},{"price":[210.75]}]}`, true},
		{`{"store":["example_corp"],"event":["order_placed"],"price":[{"numeric":[">=",100]}]}`, true},
	}
	for _, c := range cases {
		t.Run(c.policy, func(t *testing.T) {
			p, err := Parse(c.policy)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.MatchAttributes(attrs); got != c.want {
				t.Fatalf("match = %v, want %v", got, c.want)
			}
		})
	}
}

func TestMatchBody(t *testing.T) {
	body := `{"a":{"b":{"c":"x","n":5}},"list":[{"k":"v1"},{"k":"v2"}],"arr":["p","q"],"empty":[],"nul":null,"t":true}`
	cases := []struct {
		policy string
		want   bool
	}{
		{`{"a":{"b":{"c":["x"]}}}`, true},
		{`{"a":{"b":{"n":[{"numeric":[">",4]}]}}}`, true},
		{`{"a":{"b":{"c":["y"]}}}`, false},
		{`{"list":{"k":["v2"]}}`, true},
		{`{"arr":["q"]}`, true},
		{`{"empty":[{"exists":false}]}`, true},
		{`{"nul":[null]}`, true},
		{`{"t":[true]}`, true},
		{`{"$or":[{"a":{"b":{"c":["no"]}}},{"arr":["p"]}]}`, true},
	}
	for _, c := range cases {
		t.Run(c.policy, func(t *testing.T) {
			p, err := Parse(c.policy)
			if err != nil {
				t.Fatal(err)
			}
			if !p.Nested() && strings.Contains(c.policy, `{"b"`) {
				t.Fatal("nested not reported")
			}
			if got := p.MatchBody([]byte(body)); got != c.want {
				t.Fatalf("match = %v, want %v", got, c.want)
			}
		})
	}
	p, _ := Parse(`{"a":["x"]}`)
	if p.MatchBody([]byte("not json")) {
		t.Fatal("non-JSON body matched")
	}
}

// FuzzParse checks that Parse never panics and that an accepted policy
// can be evaluated against attributes and bodies.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"a":["x",1,true,null]}`, `{"a":[{"numeric":[">",0,"<=",5]}]}`,
		`{"$or":[{"a":[1]},{"b":{"c":[{"prefix":"p"}]}}]}`, `{"a":[{"cidr":"10.0.0.0/8"}]}`,
		`{"a":[{"anything-but":{"prefix":"x"}}]}`, `{"a":[{"exists":false}]}`, `{`, `[`, `"`} {
		f.Add(s, `{"a":"x","b":{"c":"p"}}`)
	}
	f.Fuzz(func(t *testing.T, policy, body string) {
		p, err := Parse(policy)
		if err != nil {
			_ = err.Error()
			return
		}
		p.MatchBody([]byte(body))
		p.MatchAttributes(map[string]Attribute{"a": {Type: "String", Value: body}, "b": {Type: "String.Array", Value: body}})
	})
}
