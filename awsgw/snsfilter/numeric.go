package snsfilter

// numeric parses {"numeric": ["=", 5]} and ranges such as
// [">", 0, "<=", 5], with AWS's texts for every malformed form.
func (p *parser) numeric(v *jval) (cond, *Error) {
	if v.kind != jArray {
		return cond{}, p.errAt(v, false, "Value of numeric must be an array.")
	}
	els := v.arr
	if len(els) == 0 {
		return cond{}, p.errAfter(v, "Invalid member in numeric match: ]")
	}
	first := els[0]
	if first.kind != jString {
		return cond{}, p.errAt(first, true, "Invalid member in numeric match: %s", tokenText(first))
	}
	op := first.str
	switch op {
	case "=":
		val, err := p.operand(v, els, 1, "equals")
		if err != nil {
			return cond{}, err
		}
		if len(els) > 2 {
			return cond{}, p.errAt(els[2], false, "Too many elements in numeric expression")
		}
		return cond{op: opExactNumber, num: val}, nil
	case "<", "<=":
		val, err := p.operand(v, els, 1, op)
		if err != nil {
			return cond{}, err
		}
		if len(els) > 2 {
			return cond{}, p.errAt(els[2], false, "Too many elements in numeric expression")
		}
		return cond{op: opNumeric, hi: bound{set: true, incl: op == "<=", v: val}}, nil
	case ">", ">=":
		return p.numericRange(v, els, op)
	}
	e := p.errAt(first, true, "Unrecognized numeric range operator: %s", op)
	e.at++ // AWS reports one column further here
	return cond{}, e
}

// numericRange parses a range that starts with a lower bound.
func (p *parser) numericRange(v *jval, els []*jval, op string) (cond, *Error) {
	lo, err := p.operand(v, els, 1, op)
	if err != nil {
		return cond{}, err
	}
	c := cond{op: opNumeric, lo: bound{set: true, incl: op == ">=", v: lo}}
	if len(els) == 2 {
		return c, nil
	}
	op2 := els[2]
	if op2.kind != jString {
		return cond{}, p.errAt(op2, true, "Bad value in numeric range: %s", tokenText(op2))
	}
	if op2.str != "<" && op2.str != "<=" {
		return cond{}, p.errAt(op2, true, "Bad numeric range operator: %s", op2.str)
	}
	hi, err := p.operand(v, els, 3, op2.str)
	if err != nil {
		return cond{}, err
	}
	if len(els) > 4 {
		return cond{}, p.errAt(els[4], false, "Too many terms in numeric range expression")
	}
	if lo >= hi {
		return cond{}, p.errAfter(v, "Bottom must be less than top")
	}
	c.hi = bound{set: true, incl: op2.str == "<=", v: hi}
	return c, nil
}

// operand returns els[i], the number after an operator.
func (p *parser) operand(list *jval, els []*jval, i int, name string) (float64, *Error) {
	if i >= len(els) {
		return 0, p.errAfter(list, "Value of %s must be numeric", name)
	}
	if els[i].kind != jNumber {
		return 0, p.errAt(els[i], false, "Value of %s must be numeric", name)
	}
	return els[i].num, nil
}

// tokenText is how Jackson names a token in an error.
func tokenText(v *jval) string {
	switch v.kind {
	case jNumber:
		return v.raw
	case jString:
		return v.str
	case jBool:
		if v.b {
			return "true"
		}
		return "false"
	case jNull:
		return "null"
	case jArray:
		return "["
	}
	return "{"
}

// maxKeys is the most keys one combination of n tests.
func maxKeys(n *node) int {
	total := 0
	for _, k := range n.keys {
		if k.child != nil {
			total += maxKeys(k.child)
		} else {
			total++
		}
	}
	for _, g := range n.ors {
		most := 0
		for _, b := range g {
			most = max(most, maxKeys(b))
		}
		total += most
	}
	return total
}

// combinations is the number of value combinations of n, as AWS counts
// them for its complexity limit.
func combinations(n *node) int {
	total := 1
	for _, k := range n.keys {
		c := len(k.conds)
		if k.child != nil {
			c = combinations(k.child)
		}
		total = capMul(total, c)
	}
	for _, g := range n.ors {
		sum := 0
		for _, b := range g {
			sum = min(sum+combinations(b), 1<<30)
		}
		total = capMul(total, sum)
	}
	return total
}

func capMul(a, b int) int {
	if a > 0 && b > (1<<30)/a {
		return 1 << 30
	}
	return a * b
}
