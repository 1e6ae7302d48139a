package gen

import (
	"fmt"
	"math/rand/v2"
	"os"
	"time"
)

// ccOp is a CodeCatalyst event log operation: lowerCamel name, whether it
// mutates, and its request payload.
type ccOp struct {
	name   string
	w      int
	mutate bool
	req    func(c *ccGen) string
}

type ccGen struct {
	r        *rand.Rand
	space    string
	project  [2]string // id, name
	user     *ccUser
	t        time.Time
	projects [][2]string
}

type ccUser struct {
	id, name, ip, ua string
}

var ccOps = []ccOp{
	{"listProjects", 10, false, func(c *ccGen) string { return `{"spaceName":"` + c.space + `"}` }},
	{"getProject", 8, false, func(c *ccGen) string { return `{"spaceName":"` + c.space + `","name":"` + c.project[1] + `"}` }},
	{"listSourceRepositories", 8, false, func(c *ccGen) string {
		return `{"spaceName":"` + c.space + `","projectName":"` + c.project[1] + `"}`
	}},
	{"getSourceRepository", 5, false, func(c *ccGen) string {
		return `{"spaceName":"` + c.space + `","projectName":"` + c.project[1] + `","name":"` + c.project[1] + `-service"}`
	}},
	{"listDevEnvironments", 6, false, func(c *ccGen) string {
		return `{"spaceName":"` + c.space + `","projectName":"` + c.project[1] + `"}`
	}},
	{"listWorkflowRuns", 6, false, func(c *ccGen) string {
		return `{"spaceName":"` + c.space + `","projectName":"` + c.project[1] + `"}`
	}},
	{"getWorkflowRun", 4, false, func(c *ccGen) string {
		return `{"spaceName":"` + c.space + `","projectName":"` + c.project[1] + `","id":"` + randUUID(c.r) + `"}`
	}},
	{"getUserDetails", 3, false, func(c *ccGen) string { return `{"userName":"` + c.user.name + `"}` }},
	{"getSpace", 2, false, func(c *ccGen) string { return `{"name":"` + c.space + `"}` }},
	{"listEventLogs", 1, false, func(c *ccGen) string {
		return `{"spaceName":"` + c.space + `","startTime":"` + c.t.Add(-24*time.Hour).Format(time.RFC3339) + `","endTime":"` + c.t.Format(time.RFC3339) + `"}`
	}},
	{"startWorkflowRun", 4, true, func(c *ccGen) string {
		return `{"spaceName":"` + c.space + `","projectName":"` + c.project[1] + `","workflowId":"` + randUUID(c.r) + `","clientToken":"` + randUUID(c.r) + `"}`
	}},
	{"createDevEnvironment", 2, true, func(c *ccGen) string {
		return `{"spaceName":"` + c.space + `","projectName":"` + c.project[1] + `","ides":[{"name":"VSCode"}],"instanceType":"dev.standard1.small","persistentStorage":{"sizeInGiB":16}}`
	}},
	{"startDevEnvironment", 3, true, func(c *ccGen) string {
		return `{"spaceName":"` + c.space + `","projectName":"` + c.project[1] + `","id":"` + randUUID(c.r) + `"}`
	}},
	{"stopDevEnvironment", 3, true, func(c *ccGen) string {
		return `{"spaceName":"` + c.space + `","projectName":"` + c.project[1] + `","id":"` + randUUID(c.r) + `"}`
	}},
	{"createSourceRepositoryBranch", 2, true, func(c *ccGen) string {
		return `{"spaceName":"` + c.space + `","projectName":"` + c.project[1] + `","sourceRepositoryName":"` + c.project[1] + `-service","name":"feature/retry"}`
	}},
	{"createAccessToken", 1, true, func(c *ccGen) string {
		return `{"name":"ci-token","expiresTime":"` + c.t.Add(90*24*time.Hour).Format(time.RFC3339) + `"}`
	}},
	{"deleteAccessToken", 1, true, func(c *ccGen) string { return `{"id":"` + randUUID(c.r) + `"}` }},
	{"createProject", 1, true, func(c *ccGen) string {
		return `{"spaceName":"` + c.space + `","displayName":"` + c.project[1] + `-next","description":"Next generation of ` + c.project[1] + `"}`
	}},
	{"updateProject", 1, true, func(c *ccGen) string {
		return `{"spaceName":"` + c.space + `","name":"` + c.project[1] + `","description":"Owned by the platform team"}`
	}},
}

// WriteCodeCatalyst writes n CodeCatalyst event log entries to path as the
// output of `aws codecatalyst list-event-logs`: {"items":[...]}, entries
// oldest first with eventTime spread over cfg's window. It is deterministic
// in cfg.Seed; only Seed, Start, Span and Accounts[0] (awsAccountId of IAM
// callers) are used. The file is written whole (n entries of ~700 bytes).
func WriteCodeCatalyst(path string, n int, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if n < 0 {
		return fmt.Errorf("entry count must not be negative, got %d", n)
	}
	r := rand.New(rand.NewPCG(cfg.Seed^0xc0dec47a, 0x13198a2e03707344))
	c := &ccGen{r: r, space: "example-corp"}
	org := randUUID(r)
	for _, name := range []string{"web-app", "payments-api", "mobile-backend"} {
		c.projects = append(c.projects, [2]string{randUUID(r), name})
	}
	var users []*ccUser
	for _, name := range []string{"JaneDoe", "MaryMajor", "SaanviSarkar", "JorgeSouza"} {
		users = append(users, &ccUser{id: randUUID(r), name: name, ip: randIP(r, publicFirstOctets), ua: browserUAs[len(users)%len(browserUAs)]})
	}
	users[1].ua = "aws-cli/2.18.5 md/awscrt#0.22.0 ua/2.0 os/linux#6.8.0-1016-aws md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off md/command#codecatalyst"
	weights := make([]int, len(ccOps))
	for i, o := range ccOps {
		weights[i] = o.w
	}
	var w jw
	w.reset(make([]byte, 0, 64+n*800))
	w.O()
	w.arr("items")
	for i := 0; i < n; i++ {
		c.t = cfg.Start.Add(time.Duration(float64(cfg.Span) * (float64(i) + r.Float64()) / float64(max(n, 1)))).UTC().Truncate(time.Millisecond)
		c.user = users[r.IntN(len(users))]
		p := c.projects[r.IntN(len(c.projects))]
		c.project = p
		o := ccOps[pickWeighted(r, weights)]
		w.O()
		w.str("id", randUUID(r))
		w.str("organizationId", org)
		w.str("eventName", o.name)
		w.str("eventType", "AWS_API_CALL")
		w.str("eventCategory", "MANAGEMENT")
		w.str("eventSource", "manage")
		w.str("eventTime", c.t.Format("2006-01-02T15:04:05.000000-07:00"))
		if o.mutate {
			w.str("operationType", "MUTATION")
		} else {
			w.str("operationType", "READONLY")
		}
		w.obj("userIdentity")
		w.str("userType", "USER")
		w.str("principalId", c.user.id)
		w.str("userName", c.user.name)
		if c.user.name == "MaryMajor" {
			w.str("awsAccountId", cfg.Accounts[0])
		}
		w.E()
		if o.name != "listProjects" && o.name != "getUserDetails" && o.name != "getSpace" && o.name != "createAccessToken" && o.name != "deleteAccessToken" && o.name != "listEventLogs" {
			w.obj("projectInformation")
			w.str("projectId", p[0])
			w.str("name", p[1])
			w.E()
		}
		w.str("requestId", randUUID(r))
		w.obj("requestPayload")
		w.str("contentType", "application/json")
		w.str("data", o.req(c))
		w.E()
		failed := r.IntN(100) < 4
		if o.mutate && !failed {
			w.obj("responsePayload")
			w.str("contentType", "application/json")
			w.str("data", `{"id":"`+randUUID(r)+`"}`)
			w.E()
		}
		if failed {
			w.str("errorCode", []string{"AccessDeniedException", "ValidationException", "ResourceNotFoundException", "ThrottlingException"}[r.IntN(4)])
		}
		w.str("sourceIpAddress", c.user.ip)
		w.str("userAgent", c.user.ua)
		w.E()
	}
	w.EA()
	w.E()
	w.b = append(w.b, '\n')
	if err := os.WriteFile(path, w.b, 0o644); err != nil {
		return fmt.Errorf("write codecatalyst event logs %s: %w", path, err)
	}
	return nil
}
