package gen

import (
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"strings"
)

// The world is the stable set of principals and resources of each account.
// It depends only on the account id and the regions, never on Config.Seed,
// so names stay put across seeds and the README can cite them.

type principalKind uint8

const (
	pkUser        principalKind = iota // IAM user with an access key (CLI, SDK)
	pkConsoleUser                      // IAM user signed in to the console
	pkRole                             // assumed-role session (SSO, CI, workers, service roles)
	pkRoot                             // the account root user
)

type uaKind uint8

const (
	uaCLI uaKind = iota
	uaConsole
	uaBoto3
	uaGo
	uaTerraform
	uaJava
	numUA
)

type principal struct {
	kind     principalKind
	userName string // IAM user name or role name
	session  string // role session name
	arn      string
	pid      string // principalId
	roleARN  string // session issuer
	rolePID  string
	key      string // access key id
	ips      []string
	agents   []uaKind
	weight   int
	mfa      bool
}

type srcKind uint8

const (
	srcCodeCommit srcKind = iota
	srcGitHub
	srcS3Object
)

type deployKind uint8

const (
	depCodeDeploy deployKind = iota
	depCloudFormation
	depECS
	depS3
)

type pipeline struct {
	name, region, arn string
	role              *principal
	src               srcKind
	repo              *repo
	conn              *connection
	ghRepo            string
	branch            string
	build             *project
	deploy            deployKind
	app               *application
	group             string
	approval          bool
	bucket            string
	v2                bool
	version           int
	born              int // first fresh event index at which the pipeline exists
	lastExec          string
}

type project struct {
	name, region, arn string
	role              *principal
	image, compute    string
	repo              *repo
	lastBuild         string
	buildNumber       int
}

type repo struct {
	name, region, arn, id string
	branches              []string
	prs                   int
}

type application struct {
	name, region, id string
	platform         string // Server, ECS, Lambda
	groups           []string
	lastDeploy       string
}

type caDomain struct {
	name, region string
	repos        []string
	pkgs         []caPackage
}

type caPackage struct {
	format, namespace, name string
	versions                []string
}

type csProject struct {
	id, name, region, template string
}

type notifRule struct {
	name, id, region, resource, topic string
}

type connection struct {
	name, region, arn, provider, owner, source string
}

type host struct {
	name, region, arn, provider, endpoint string
}

type account struct {
	id, home     string
	idx          int
	regions      []string
	humans       []*principal
	humanW       []int
	worker       *principal // custom job worker (Jenkins) polling CodePipeline
	notifRole    *principal // AWSServiceRoleForCodeStarNotifications sessions
	deployRole   *principal
	pipelines    []*pipeline
	projects     []*project
	repos        []*repo
	apps         []*application
	domains      []*caDomain
	csProjects   []*csProject
	rules        []*notifRule
	conns        []*connection
	hosts        []*host
	ccConnection string // CodeCatalyst account connection id
	ccSpace      string
	scratch      []string // names of short-lived resources: created, deleted, not found
	jane         *principal
}

var servicePool = []string{
	"web-app", "payments-api", "orders-service", "auth-service", "inventory-api",
	"mobile-backend", "search-indexer", "billing-worker", "notification-service",
	"analytics-dashboard", "docs-site", "data-etl", "platform-infra", "checkout-ui",
}

var peoplePool = []string{
	"Mary_Major", "Saanvi_Sarkar", "Arnav_Desai", "Martha_Rivera", "Carlos_Salazar",
	"Nikki_Wolf", "Paulo_Santos", "Wang_Xiulan", "Zhang_Wei", "Diego_Ramirez",
	"Jorge_Souza", "Li_Juan", "Mateo_Jackson", "Richard_Roe", "Shirley_Rodriguez",
}

var publicFirstOctets = []int{24, 34, 35, 38, 47, 50, 68, 71, 73, 81, 82, 84, 86, 88, 91, 98, 104, 109, 136, 141, 151, 173, 176, 185, 188, 194, 203, 212, 217}

// awsFirstOctets are first octets of EC2 address space, for CI runners and
// build containers.
var awsFirstOctets = []int{3, 13, 18, 34, 35, 44, 52, 54, 63, 99, 100}

func worldRand(account string, salt string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(account))
	h.Write([]byte(salt))
	s := h.Sum64()
	return rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15))
}

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

func iamID(r *rand.Rand, prefix string) string {
	b := make([]byte, 0, 21)
	b = append(b, prefix...)
	for len(b) < 21 {
		b = append(b, idAlphabet[r.IntN(len(idAlphabet))])
	}
	return string(b)
}

func randIP(r *rand.Rand, octets []int) string {
	return strconv.Itoa(octets[r.IntN(len(octets))]) + "." + strconv.Itoa(r.IntN(256)) + "." +
		strconv.Itoa(r.IntN(256)) + "." + strconv.Itoa(1+r.IntN(254))
}

func randHex(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = hexDigits[r.IntN(16)]
	}
	return string(b)
}

func randUUID(r *rand.Rand) string {
	var b [36]byte
	return string(appendUUIDTo(b[:0], r))
}

func appendUUIDTo(b []byte, r *rand.Rand) []byte {
	x, y := r.Uint64(), r.Uint64()
	x = x&^(0xf<<12) | 4<<12   // version 4
	y = y&^(0x3<<62) | 0x2<<62 // RFC 4122 variant
	for i := 60; i >= 0; i -= 4 {
		switch i {
		case 28, 12:
			b = append(b, '-')
		}
		b = append(b, hexDigits[x>>uint(i)&0xf])
	}
	b = append(b, '-')
	for i := 60; i >= 0; i -= 4 {
		if i == 44 {
			b = append(b, '-')
		}
		b = append(b, hexDigits[y>>uint(i)&0xf])
	}
	return b
}

func newUser(r *rand.Rand, acct, name string, console bool, agents []uaKind, weight int) *principal {
	p := &principal{
		kind: pkUser, userName: name,
		arn:    "arn:aws:iam::" + acct + ":user/" + name,
		pid:    iamID(r, "AIDA"),
		key:    iamID(r, "AKIA"),
		ips:    []string{randIP(r, publicFirstOctets), randIP(r, publicFirstOctets)},
		agents: agents, weight: weight, mfa: console,
	}
	if console {
		p.kind = pkConsoleUser
		p.key = iamID(r, "ASIA")
	}
	return p
}

func newRole(r *rand.Rand, acct, path, name, session string, ipOctets []int, agents []uaKind, weight int) *principal {
	rolePID := iamID(r, "AROA")
	p := &principal{
		kind: pkRole, userName: name, session: session,
		arn:     "arn:aws:sts::" + acct + ":assumed-role/" + name + "/" + session,
		pid:     rolePID + ":" + session,
		roleARN: "arn:aws:iam::" + acct + ":role/" + path + name,
		rolePID: rolePID,
		key:     iamID(r, "ASIA"),
		agents:  agents, weight: weight,
	}
	if ipOctets != nil {
		p.ips = []string{randIP(r, ipOctets), randIP(r, ipOctets), randIP(r, ipOctets)}
	}
	return p
}

func pickN(r *rand.Rand, pool []string, n int) []string {
	idx := r.Perm(len(pool))
	out := make([]string, 0, n)
	for _, i := range idx[:n] {
		out = append(out, pool[i])
	}
	return out
}

func regionFor(r *rand.Rand, a *account) string {
	if len(a.regions) == 1 || r.IntN(100) < 65 {
		return a.home
	}
	return a.regions[r.IntN(len(a.regions))]
}

// newWorld builds the world of every account. anchorBorn is the fresh event
// index at which MyFirstPipeline is created (planned anchor).
func newWorld(accounts, regions []string, anchorBorn int) []*account {
	out := make([]*account, len(accounts))
	for i, id := range accounts {
		out[i] = newAccount(i, id, regions, anchorBorn)
	}
	return out
}

func newAccount(idx int, id string, regions []string, anchorBorn int) *account {
	r := worldRand(id, "world")
	a := &account{id: id, idx: idx, regions: regions, home: regions[idx%len(regions)]}
	anchor := idx == 0

	// People and automation.
	people := pickN(r, peoplePool, 4)
	if anchor {
		a.jane = newUser(r, id, "JaneDoe", true, []uaKind{uaConsole, uaConsole, uaCLI}, 6)
		a.humans = append(a.humans, a.jane)
	}
	a.humans = append(a.humans,
		newUser(r, id, people[0], false, []uaKind{uaCLI, uaCLI, uaBoto3}, 10),
		newUser(r, id, people[1], true, []uaKind{uaConsole}, 6),
		newUser(r, id, "ci-deployer", false, []uaKind{uaTerraform, uaGo}, 5),
	)
	sso := strings.ToLower(strings.ReplaceAll(people[2], "_", ".")) + "@example.com"
	dev := strings.ToLower(strings.ReplaceAll(people[3], "_", ".")) + "@example.com"
	a.humans = append(a.humans,
		newRole(r, id, "aws-reserved/sso.amazonaws.com/", "AWSReservedSSO_AdministratorAccess_"+randHex(r, 16), sso, publicFirstOctets, []uaKind{uaConsole, uaCLI}, 8),
		newRole(r, id, "aws-reserved/sso.amazonaws.com/", "AWSReservedSSO_DeveloperAccess_"+randHex(r, 16), dev, publicFirstOctets, []uaKind{uaConsole, uaCLI, uaBoto3}, 12),
		newRole(r, id, "", "GitHubActionsDeployRole", "GitHubActions", awsFirstOctets, []uaKind{uaGo, uaCLI, uaTerraform}, 9),
		newRole(r, id, "", "OpsAutomationLambdaRole", "ops-automation", awsFirstOctets, []uaKind{uaBoto3}, 5),
	)
	root := &principal{kind: pkRoot, arn: "arn:aws:iam::" + id + ":root", pid: id, key: iamID(r, "ASIA"),
		ips: []string{randIP(r, publicFirstOctets)}, agents: []uaKind{uaConsole}, weight: 0, mfa: true}
	a.humans = append(a.humans, root)
	for _, p := range a.humans {
		a.humanW = append(a.humanW, p.weight)
	}
	a.humanW[len(a.humanW)-1] = 0 // root is picked explicitly, rarely
	a.worker = newRole(r, id, "", "JenkinsWorkerRole", "i-0"+randHex(r, 16), awsFirstOctets, []uaKind{uaJava}, 0)
	a.notifRole = newRole(r, id, "aws-service-role/codestar-notifications.amazonaws.com/", "AWSServiceRoleForCodeStarNotifications", "CodeStarNotifications", nil, nil, 0)
	a.deployRole = newRole(r, id, "", "CodeDeployServiceRole", "CodeDeploy", nil, nil, 0)

	// Connections and hosts.
	ghOrg := []string{"example-corp", "anycompany", "octo-labs", "acme-dev"}[idx%4]
	a.conns = append(a.conns,
		&connection{name: "github-" + ghOrg, region: a.home, provider: "GitHub", owner: ghOrg, source: "codestar-connections.amazonaws.com"},
		&connection{name: "gitlab-mirror", region: regionFor(r, a), provider: "GitLab", owner: ghOrg, source: "codeconnections.amazonaws.com"},
		&connection{name: "bitbucket-legacy", region: a.home, provider: "Bitbucket", owner: ghOrg, source: "codestar-connections.amazonaws.com"},
	)
	for _, c := range a.conns {
		svc := "codestar-connections"
		if c.source == "codeconnections.amazonaws.com" {
			svc = "codeconnections"
		}
		c.arn = "arn:aws:" + svc + ":" + c.region + ":" + id + ":connection/" + randUUID(r)
	}
	h := &host{name: "ghe-onprem", region: a.home, provider: "GitHubEnterpriseServer", endpoint: "https://github." + ghOrg + ".example.com"}
	h.arn = "arn:aws:codestar-connections:" + h.region + ":" + id + ":host/" + h.name + "-" + randHex(r, 8)
	a.hosts = append(a.hosts, h)

	// Services: repository, build project, application, pipeline each.
	svcs := pickN(r, servicePool, 6)
	for i, s := range svcs {
		region := regionFor(r, a)
		rp := &repo{name: s, region: region, id: randUUID(r), branches: []string{"main", "develop", "feature/" + pickN(r, []string{"login", "retry", "metrics", "cache", "otel", "i18n"}, 1)[0]}}
		rp.arn = "arn:aws:codecommit:" + region + ":" + id + ":" + s
		pr := &project{name: s + "-build", region: region, repo: rp,
			image:   []string{"aws/codebuild/amazonlinux2-x86_64-standard:5.0", "aws/codebuild/standard:7.0", "aws/codebuild/amazonlinux2-aarch64-standard:3.0"}[r.IntN(3)],
			compute: []string{"BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_MEDIUM", "BUILD_GENERAL1_LARGE"}[r.IntN(3)]}
		pr.arn = "arn:aws:codebuild:" + region + ":" + id + ":project/" + pr.name
		pr.role = newRole(r, id, "service-role/", "codebuild-"+pr.name+"-service-role", "AWSCodeBuild-"+randUUID(r), awsFirstOctets, []uaKind{uaCLI}, 0)
		app := &application{name: s, region: region, id: randUUID(r), platform: []string{"Server", "ECS", "Lambda"}[r.IntN(3)], groups: []string{s + "-staging", s + "-prod"}}
		pl := &pipeline{name: s + "-pipeline", region: region, build: pr, repo: rp, branch: "main", app: app, group: app.groups[r.IntN(2)],
			approval: i%2 == 0, v2: r.IntN(3) > 0, version: 1 + r.IntN(12), deploy: deployKind(r.IntN(4))}
		switch r.IntN(3) {
		case 0:
			pl.src = srcCodeCommit
		case 1:
			pl.src = srcGitHub
			pl.conn = a.conns[0]
			pl.ghRepo = ghOrg + "/" + s
		default:
			pl.src = srcS3Object
		}
		a.repos = append(a.repos, rp)
		a.projects = append(a.projects, pr)
		a.apps = append(a.apps, app)
		a.pipelines = append(a.pipelines, pl)
	}
	if anchor {
		region := regions[0]
		rp := &repo{name: "MyDemoRepo", region: region, id: randUUID(r), branches: []string{"main", "feature/MyNewBranch"}}
		rp.arn = "arn:aws:codecommit:" + region + ":" + id + ":MyDemoRepo"
		pr := &project{name: "MyDemoProject", region: region, repo: rp, image: "aws/codebuild/amazonlinux2-x86_64-standard:5.0", compute: "BUILD_GENERAL1_SMALL"}
		pr.arn = "arn:aws:codebuild:" + region + ":" + id + ":project/" + pr.name
		pr.role = newRole(r, id, "service-role/", "codebuild-MyDemoProject-service-role", "AWSCodeBuild-"+randUUID(r), awsFirstOctets, []uaKind{uaCLI}, 0)
		app := &application{name: "MyDemoApplication", region: region, id: randUUID(r), platform: "Server", groups: []string{"MyDemoDeploymentGroup"}}
		pl := &pipeline{name: "MyFirstPipeline", region: region, src: srcCodeCommit, repo: rp, branch: "main", build: pr,
			deploy: depCodeDeploy, app: app, group: "MyDemoDeploymentGroup", approval: true, v2: true, version: 1, born: anchorBorn}
		a.repos = append(a.repos, rp)
		a.projects = append(a.projects, pr)
		a.apps = append(a.apps, app)
		a.pipelines = append(a.pipelines, pl)
	}
	for _, pl := range a.pipelines {
		pl.arn = "arn:aws:codepipeline:" + pl.region + ":" + id + ":" + pl.name
		pl.bucket = "codepipeline-" + pl.region + "-" + strconv.FormatUint(r.Uint64()%1e12, 10)
		pl.role = newRole(r, id, "service-role/", "AWSCodePipelineServiceRole-"+pl.region+"-"+pl.name, strconv.FormatInt(1_700_000_000_000+r.Int64N(90_000_000_000), 10), nil, nil, 0)
		if pl.src == srcGitHub && pl.conn.region != pl.region {
			pl.conn = a.conns[0]
		}
	}

	// CodeArtifact.
	dom := &caDomain{name: []string{"example-corp", "anycompany", "internal", "platform"}[idx%4], region: a.home,
		repos: []string{"npm-store", "pypi-store", "internal-releases", "maven-central-proxy"}}
	dom.pkgs = []caPackage{
		{"npm", "", "lodash", []string{"4.17.20", "4.17.21"}},
		{"npm", "aws-sdk", "client-s3", []string{"3.637.0", "3.645.0"}},
		{"npm", "", "express", []string{"4.19.2", "4.21.0"}},
		{"pypi", "", "requests", []string{"2.31.0", "2.32.3"}},
		{"pypi", "", "boto3", []string{"1.35.10", "1.35.24"}},
		{"maven", "com.example", "payments-core", []string{"1.4.0", "1.5.0-SNAPSHOT"}},
		{"npm", "example", "ui-kit", []string{"2.3.1", "2.4.0"}},
		{"generic", "builds", "web-assets", []string{"2026.10.1", "2026.10.2"}},
	}
	a.domains = append(a.domains, dom)

	// CodeStar projects and notification rules.
	for _, s := range svcs[:2] {
		pid := strings.ReplaceAll(s, "-", "")
		a.csProjects = append(a.csProjects, &csProject{id: pid[:min(len(pid), 10)], name: s, region: a.home,
			template: []string{"webapp/nodejs", "webservice/python-flask", "webapp/java-spring"}[r.IntN(3)]})
	}
	for i, pl := range a.pipelines[:3] {
		a.rules = append(a.rules, &notifRule{name: pl.name + "-notifications", id: randHex(r, 40), region: pl.region, resource: pl.arn,
			topic: "arn:aws:sns:" + pl.region + ":" + id + ":" + []string{"pipeline-alerts", "deploy-notifications", "team-chatbot"}[i]})
	}
	a.ccConnection = randUUID(r)
	a.ccSpace = []string{"example-corp", "anycompany-dev", "octo-labs", "acme"}[idx%4]
	a.scratch = []string{"sandbox-" + strings.ToLower(people[0][:4]), "tmp-test", "poc-" + svcs[0], "old-" + svcs[1], "experiment-1"}
	return a
}

func (a *account) human(r *rand.Rand) *principal {
	if r.IntN(2000) == 0 {
		return a.humans[len(a.humans)-1] // root, rarely
	}
	return a.humans[pickWeighted(r, a.humanW)]
}

func pickWeighted(r *rand.Rand, w []int) int {
	t := 0
	for _, x := range w {
		t += x
	}
	n := r.IntN(t)
	for i, x := range w {
		if n < x {
			return i
		}
		n -= x
	}
	return len(w) - 1
}
