package agentdef

import (
	"math"
	"regexp"
	"slices"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"
)

// Limits of the supervision block.
const (
	MaxMaxRestarts = 1000
	MaxWindow      = 24 * time.Hour
)

var (
	// Service names follow the kernel's rule: no dot, since
	// service:NAME.METHOD addresses a method.
	serviceRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)
	methodRE  = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$`)
)

var (
	serviceKeys    = []string{"name", "methods", "idempotent"}
	supervisorKeys = []string{"name", "strategy", "max_restarts", "window"}
)

// services decodes the services list: each entry is a service name, or a
// mapping with name and methods.
func (p *parser) services(v *yaml.Node, field string) []Service {
	if isNull(v) {
		return nil
	}
	if v.Kind != yaml.SequenceNode {
		p.errorf(v.Line, field, "must be a list of services (a name, or a mapping with name and methods)")
		return nil
	}
	out := make([]Service, 0, len(v.Content))
	for _, e := range v.Content {
		f := field + "[" + strconv.Itoa(len(out)) + "]"
		p.lines[f] = e.Line
		var s Service
		switch {
		case e.Kind == yaml.ScalarNode && !isNull(e):
			s.Name = e.Value
		case e.Kind == yaml.MappingNode:
			p.fields(e, f, serviceKeys, func(key string, v *yaml.Node) {
				switch key {
				case "name":
					s.Name = p.str(v, f+".name")
				case "methods":
					s.Methods = p.strs(v, f+".methods")
				case "idempotent":
					s.Idempotent = p.strs(v, f+".idempotent")
				}
			})
		default:
			p.errorf(e.Line, field, "entries must be a service name or a mapping with name and methods")
			continue
		}
		out = append(out, s)
	}
	return out
}

// supervision returns d's supervision policy, creating it.
func (p *parser) supervision(d *Definition) *Supervision {
	if d.Supervision == nil {
		d.Supervision = &Supervision{}
	}
	return d.Supervision
}

func (p *parser) supervisor(n *yaml.Node, s *Supervision) {
	const pre = "supervisor"
	p.fields(n, pre, supervisorKeys, func(key string, v *yaml.Node) {
		f := pre + "." + key
		switch key {
		case "name":
			s.Supervisor = p.str(v, f)
		case "strategy":
			s.Strategy = p.str(v, f)
		case "max_restarts":
			s.MaxRestarts = int(p.int(v, f, math.MaxInt32))
		case "window":
			str := p.str(v, f)
			if str == "" {
				return
			}
			dur, err := time.ParseDuration(str)
			if err != nil || dur <= 0 || dur > MaxWindow {
				p.errorf(v.Line, f, "want a positive Go duration up to 24h such as 60s or 5m, got %q", str)
				return
			}
			s.Window = dur
		}
	})
}

// validateServices checks the services and the supervision policy.
func (p *parser) validateServices(d *Definition) {
	seen := map[string]bool{}
	for i, s := range d.Services {
		f := "services[" + strconv.Itoa(i) + "]"
		line := p.lines[f]
		p.entryName(line, f, s.Name, "service", "no dot", seen)
		p.names(f+".methods", s.Methods, methodRE.MatchString, "method name (1-64 of A-Z a-z 0-9 _ -)")
		for _, m := range s.Idempotent {
			if !slices.Contains(s.Methods, m) {
				p.errorf(line, f+".idempotent", "%q is not one of the service's methods", m)
			}
		}
	}
	s := d.Supervision
	if s == nil {
		return
	}
	switch s.Restart {
	case RestartPermanent, RestartTransient, RestartTemporary:
	case "":
		if _, ok := p.lines["restart"]; ok {
			p.errorf(p.lines["restart"], "restart", "want permanent, transient or temporary")
		} else {
			p.errorf(p.lines["supervisor"], "supervisor", "needs restart: permanent, transient or temporary")
		}
	default:
		p.errorf(p.lines["restart"], "restart", "%q: want permanent, transient or temporary", s.Restart)
	}
	if s.Supervisor != "" && !ValidName(s.Supervisor) {
		p.errorf(p.lines["supervisor.name"], "supervisor.name", "%q is not a valid name (1-64 of A-Z a-z 0-9 _ . -, starting with a letter or digit)", s.Supervisor)
	}
	switch s.Strategy {
	case "", OneForOne, OneForAll, RestForOne:
	default:
		p.errorf(p.lines["supervisor.strategy"], "supervisor.strategy", "%q: want one_for_one, one_for_all or rest_for_one", s.Strategy)
	}
	if _, ok := p.lines["supervisor.max_restarts"]; ok && (s.MaxRestarts < 1 || s.MaxRestarts > MaxMaxRestarts) {
		p.errorf(p.lines["supervisor.max_restarts"], "supervisor.max_restarts", "%d is out of range 1..%d", s.MaxRestarts, MaxMaxRestarts)
	}
}
