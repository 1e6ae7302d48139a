package docs

import (
	"fmt"
	"strconv"
	"strings"
)

// The module has no YAML library, and the tests may not add one. The
// manifest is therefore read with the small parser below. It knows the
// block subset of YAML that Kubernetes manifests are written in, and refuses
// everything else (flow collections, anchors, tags, block scalars, tabs), so
// a manifest that it would misread fails the test instead. Scalars stay
// strings: 7000 is "7000", true is "true", null is nil.

// yamlLine is one line with content: its number, indentation and text
// without the comment.
type yamlLine struct {
	num    int
	indent int
	text   string
}

// parseYAML decodes the documents of src; documents with no content are
// left out.
func parseYAML(src string) ([]map[string]any, error) {
	var docs []map[string]any
	var lines []yamlLine
	flush := func() error {
		if len(lines) == 0 {
			return nil
		}
		p := &yamlParser{lines: lines}
		v, err := p.node(lines[0].indent)
		if err != nil {
			return err
		}
		if p.i < len(p.lines) {
			return p.errorf("unexpected content")
		}
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("line %d: a document must be a mapping", lines[0].num)
		}
		docs = append(docs, m)
		lines = nil
		return nil
	}
	for n, raw := range strings.Split(src, "\n") {
		raw = strings.TrimRight(raw, " \r")
		if raw == "---" {
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		}
		text := strings.TrimLeft(raw, " ")
		if strings.HasPrefix(text, "\t") {
			return nil, fmt.Errorf("line %d: tab in indentation", n+1)
		}
		text, err := stripComment(text)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n+1, err)
		}
		if text == "" {
			continue
		}
		lines = append(lines, yamlLine{num: n + 1, indent: len(raw) - len(strings.TrimLeft(raw, " ")), text: text})
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return docs, nil
}

// stripComment removes a comment: '#' at the start or after a space,
// outside quotes.
func stripComment(s string) (string, error) {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == '"' && c == '\\':
			i++
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			if i == 0 || s[i-1] == ' ' || s[i-1] == '-' || s[i-1] == ':' {
				quote = c
			}
		case c == '#' && (i == 0 || s[i-1] == ' '):
			return strings.TrimRight(s[:i], " "), nil
		}
	}
	if quote != 0 {
		return "", fmt.Errorf("unterminated quote")
	}
	return s, nil
}

type yamlParser struct {
	lines []yamlLine
	i     int
}

func (p *yamlParser) errorf(format string, args ...any) error {
	if p.i < len(p.lines) {
		return fmt.Errorf("line %d: %s", p.lines[p.i].num, fmt.Sprintf(format, args...))
	}
	return fmt.Errorf("end of document: %s", fmt.Sprintf(format, args...))
}

func isSeqItem(text string) bool { return text == "-" || strings.HasPrefix(text, "- ") }

// node parses the block that starts at the current line, indented by indent.
func (p *yamlParser) node(indent int) (any, error) {
	if p.i >= len(p.lines) {
		return nil, p.errorf("expected a value")
	}
	if p.lines[p.i].indent != indent {
		return nil, p.errorf("expected indentation %d, found %d", indent, p.lines[p.i].indent)
	}
	if isSeqItem(p.lines[p.i].text) {
		return p.seq(indent)
	}
	return p.mapping(indent)
}

// seq parses "- item" lines at indent.
func (p *yamlParser) seq(indent int) ([]any, error) {
	out := []any{}
	for p.i < len(p.lines) && p.lines[p.i].indent == indent && isSeqItem(p.lines[p.i].text) {
		l := p.lines[p.i]
		rest := strings.TrimLeft(strings.TrimPrefix(l.text, "-"), " ")
		col := indent + len(l.text) - len(rest)
		switch {
		case rest == "":
			p.i++
			if p.i >= len(p.lines) || p.lines[p.i].indent <= indent {
				out = append(out, nil)
				continue
			}
			v, err := p.node(p.lines[p.i].indent)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		case isSeqItem(rest) || keyEnd(rest) >= 0:
			// "- key: value" or "- - x": the item is a block that starts at
			// the column of rest.
			p.lines[p.i] = yamlLine{num: l.num, indent: col, text: rest}
			v, err := p.node(col)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		default:
			v, err := scalar(rest)
			if err != nil {
				return nil, p.errorf("%v", err)
			}
			out = append(out, v)
			p.i++
		}
	}
	if p.i < len(p.lines) && p.lines[p.i].indent > indent {
		return nil, p.errorf("unexpected indentation")
	}
	return out, nil
}

// keyEnd returns the index of the colon that ends a mapping key in s, or -1.
func keyEnd(s string) int {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == '"' && c == '\\':
			i++
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case i == 0 && (c == '"' || c == '\''):
			quote = c
		case c == ':' && (i+1 == len(s) || s[i+1] == ' '):
			return i
		}
	}
	return -1
}

// mapping parses "key: value" lines at indent.
func (p *yamlParser) mapping(indent int) (map[string]any, error) {
	out := map[string]any{}
	for p.i < len(p.lines) && p.lines[p.i].indent == indent {
		l := p.lines[p.i]
		if isSeqItem(l.text) {
			return nil, p.errorf("sequence item where a key was expected")
		}
		k := keyEnd(l.text)
		if k < 0 {
			return nil, p.errorf("expected key: value, found %q", l.text)
		}
		key, err := scalar(l.text[:k])
		if err != nil {
			return nil, p.errorf("key: %v", err)
		}
		ks, ok := key.(string)
		if !ok || ks == "" {
			return nil, p.errorf("empty key")
		}
		if _, dup := out[ks]; dup {
			return nil, p.errorf("duplicate key %q", ks)
		}
		value := strings.TrimLeft(l.text[k+1:], " ")
		p.i++
		if value != "" {
			v, err := scalar(value)
			if err != nil {
				return nil, fmt.Errorf("line %d: %v", l.num, err)
			}
			out[ks] = v
			continue
		}
		// A nested block: deeper lines, or a sequence at the same
		// indentation (both are YAML).
		switch {
		case p.i < len(p.lines) && p.lines[p.i].indent > indent:
			v, err := p.node(p.lines[p.i].indent)
			if err != nil {
				return nil, err
			}
			out[ks] = v
		case p.i < len(p.lines) && p.lines[p.i].indent == indent && isSeqItem(p.lines[p.i].text):
			v, err := p.seq(indent)
			if err != nil {
				return nil, err
			}
			out[ks] = v
		default:
			out[ks] = nil
		}
	}
	if p.i < len(p.lines) && p.lines[p.i].indent > indent {
		return nil, p.errorf("unexpected indentation")
	}
	return out, nil
}

// scalar decodes a plain, single-quoted or double-quoted scalar, or the
// empty flow collections [] and {}.
func scalar(s string) (any, error) {
	switch {
	case s == "[]":
		return []any{}, nil
	case s == "{}":
		return map[string]any{}, nil
	case s == "~" || s == "null":
		return nil, nil
	case strings.HasPrefix(s, `"`):
		if len(s) < 2 || !strings.HasSuffix(s, `"`) {
			return nil, fmt.Errorf("bad double-quoted scalar %s", s)
		}
		return strconv.Unquote(s)
	case strings.HasPrefix(s, "'"):
		if len(s) < 2 || !strings.HasSuffix(s, "'") {
			return nil, fmt.Errorf("bad single-quoted scalar %s", s)
		}
		return strings.ReplaceAll(s[1:len(s)-1], "''", "'"), nil
	case strings.ContainsAny(s[:1], "[{&*!|>%@`"):
		return nil, fmt.Errorf("unsupported YAML in %q: write block style, plain or quoted scalars", s)
	case keyEnd(s) >= 0:
		return nil, fmt.Errorf("%q: a plain scalar cannot hold \": \"; quote it", s)
	}
	return s, nil
}
