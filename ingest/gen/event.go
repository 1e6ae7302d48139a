package gen

import (
	"strconv"
	"strings"
	"time"
)

// Event sources, indexed by the src* constants.
var sources = []string{
	"codepipeline.amazonaws.com",
	"codebuild.amazonaws.com",
	"codedeploy.amazonaws.com",
	"codecommit.amazonaws.com",
	"codeartifact.amazonaws.com",
	"codestar.amazonaws.com",
	"codestar-notifications.amazonaws.com",
	"events.amazonaws.com",
	"codestar-connections.amazonaws.com",
	"codeconnections.amazonaws.com",
	"codecatalyst.amazonaws.com",
	"s3.amazonaws.com",
	"sts.amazonaws.com",
	"kms.amazonaws.com",
}

const (
	srcCP = iota
	srcCB
	srcCD
	srcCC
	srcCA
	srcCS
	srcCSN
	srcEV
	srcCSC
	srcCCN
	srcCAT
	srcS3
	srcSTS
	srcKMS
)

// eventVersions per source: CloudTrail raises the version per service over
// time, so a trail mixes several.
var eventVersions = [...]string{
	srcCP: "1.09", srcCB: "1.08", srcCD: "1.09", srcCC: "1.09", srcCA: "1.08", srcCS: "1.08",
	srcCSN: "1.08", srcEV: "1.09", srcCSC: "1.10", srcCCN: "1.11", srcCAT: "1.08", srcS3: "1.10", srcSTS: "1.08", srcKMS: "1.08",
}

func endpointHost(src, region string) string {
	p := strings.TrimSuffix(src, ".amazonaws.com")
	return p + "." + region + ".amazonaws.com"
}

type byKind uint8

const (
	byHuman     byKind = iota
	byWorker           // custom action job worker (Jenkins)
	byNotif            // CodeStar Notifications service-linked role
	byPipeline         // pipeline service role, invoked by codepipeline.amazonaws.com
	byBuild            // build project role from inside a build container
	byBuildSvc         // build project role, invoked by codebuild.amazonaws.com
	byDeploySvc        // CodeDeploy service role, invoked by codedeploy.amazonaws.com
	byService          // AWSService identity (sts AssumeRole of a service role)
)

type oddKind uint8

const (
	oddNone oddKind = iota
	oddNullParams
	oddInternal
	oddClash
)

type event struct {
	op      *op
	a       *account
	ri      int
	region  string
	t       time.Time
	by      byKind
	p       *principal
	invoker string // service principal that made the call on the caller's behalf
	ua      string
	ip      string
	console bool // the call came from a console session
	pipe    *pipeline
	proj    *project
	repo    *repo
	app     *application
	dom     *caDomain
	pkg     *caPackage
	carepo  string
	csp     *csProject
	rule    *notifRule
	conn    *connection
	host    *host
	scratch string
	missing bool
	errCode string
	errMsg  string
	odd     oddKind
	execID  string
	ver     int
	src     int
}

func (e *event) pipeName() string {
	if e.missing || e.pipe == nil {
		return e.scratch + "-pipeline"
	}
	return e.pipe.name
}

func (e *event) projName() string {
	if e.missing || e.proj == nil {
		return e.scratch + "-build"
	}
	return e.proj.name
}

func (e *event) repoName() string {
	if e.missing || e.repo == nil {
		return e.scratch
	}
	return e.repo.name
}

func (e *event) appName() string {
	if e.missing || e.app == nil {
		return e.scratch
	}
	return e.app.name
}

// event writes one fresh event: planned anchor, follow-up of an earlier
// event, or a random operation.
func (g *Generator) event(dst []byte) ([]byte, Meta) {
	e := &g.e
	*e = event{src: -1}
	ws := g.windowStart(g.wi)
	lo, hi := maxTime(ws, g.cfg.Start), minTime(ws.Add(DeliveryWindow), g.end)
	e.t = lo.Add(time.Duration(g.r.Int64N(int64(hi.Sub(lo))))).Truncate(time.Second)
	if e.t.Before(g.cfg.Start) {
		e.t = e.t.Add(time.Second)
	}
	switch {
	case g.ai < len(g.anchors) && g.anchors[g.ai].idx == g.fresh:
		g.anchors[g.ai].set(g, e)
		g.ai++
	case len(g.follow) > 0 && g.r.IntN(3) > 0:
		f := g.follow[0]
		g.follow = g.follow[1:]
		f.set(g, e)
		if e.t.Before(f.after) {
			e.t = minTime(f.after.Add(time.Duration(1+g.r.IntN(20))*time.Second), hi.Add(-time.Second))
		}
	default:
		g.random(e)
	}
	if e.region == "" {
		e.region = e.a.home
	}
	e.ri = g.rIdx[e.region]
	if e.src < 0 {
		e.src = e.op.src
	}
	g.identity(e)
	g.write(dst, e)
	if e.errCode == "" && e.op.after != nil {
		e.op.after(g, e)
	}
	g.lastAcct, g.lastRegion = e.a.idx, e.ri
	return g.w.b, Meta{Time: e.t, Account: e.a.id, Region: e.region, Window: ws}
}

// random picks an account, an operation and its resources, the caller, and
// whether the call fails.
func (g *Generator) random(e *event) {
	e.a = g.world[pickWeighted(g.r, g.acctW)]
	if g.cfg.OddityRate > 0 && g.r.Float64() < g.cfg.OddityRate {
		e.odd = oddKind(1 + g.r.IntN(3))
	}
	if e.odd == oddClash {
		e.op = opListPipelineExecutions
	} else {
		grp := &groups[pickWeighted(g.r, groupW)]
		e.op = grp.ops[pickWeighted(g.r, grp.w)]
	}
	e.by = e.op.by
	g.resources(e)
	g.maybeFail(e)
}

// resources picks the resources an operation needs, which also fixes the
// region.
func (g *Generator) resources(e *event) {
	a, r := e.a, g.r
	e.scratch = a.scratch[r.IntN(len(a.scratch))]
	switch e.op.need {
	case needPipeline:
		for {
			e.pipe = a.pipelines[r.IntN(len(a.pipelines))]
			if e.pipe.born <= g.fresh {
				break
			}
		}
		if e.op.needApproval && !e.pipe.approval {
			e.pipe = a.pipelines[0]
			for _, p := range a.pipelines {
				if p.approval && p.born <= g.fresh {
					e.pipe = p
					break
				}
			}
		}
		e.region = e.pipe.region
		e.proj, e.repo, e.app = e.pipe.build, e.pipe.repo, e.pipe.app
	case needProject:
		e.proj = a.projects[r.IntN(len(a.projects))]
		e.region, e.repo = e.proj.region, e.proj.repo
	case needRepo:
		e.repo = a.repos[r.IntN(len(a.repos))]
		e.region = e.repo.region
	case needApp:
		e.app = a.apps[r.IntN(len(a.apps))]
		e.region = e.app.region
	case needDomain:
		e.dom = a.domains[0]
		e.pkg = &e.dom.pkgs[r.IntN(len(e.dom.pkgs))]
		e.carepo = e.dom.repos[r.IntN(len(e.dom.repos))]
		e.region = e.dom.region
	case needCSProject:
		e.csp = a.csProjects[r.IntN(len(a.csProjects))]
		e.region = e.csp.region
	case needRule:
		e.rule = a.rules[r.IntN(len(a.rules))]
		e.region = e.rule.region
	case needConn:
		e.conn = a.conns[r.IntN(len(a.conns))]
		e.region = e.conn.region
		if e.op.src == srcCSC {
			e.src = g.connSource(e.conn)
		}
	case needHost:
		e.host = a.hosts[0]
		e.region = e.host.region
	default:
		e.region = a.regions[r.IntN(len(a.regions))]
		if r.IntN(2) == 0 {
			e.region = a.home
		}
		if e.op.src == srcCSC && r.IntN(3) == 0 {
			e.src = srcCCN
		}
	}
}

func (g *Generator) connSource(c *connection) int {
	if c.source == "codeconnections.amazonaws.com" {
		return srcCCN
	}
	return srcCSC
}

// Error rates: a little over 3% of read calls and 8% of writes fail, about
// 5% overall, close to what busy accounts see.
const (
	readErrRate  = 0.032
	writeErrRate = 0.08
)

func (g *Generator) maybeFail(e *event) {
	rate := readErrRate
	if !e.op.ro {
		rate = writeErrRate
	}
	if e.by != byHuman && e.by != byWorker {
		rate /= 4
	}
	if g.r.Float64() >= rate {
		return
	}
	n := g.r.IntN(10)
	switch {
	case n < 3:
		g.denied(e)
	case n < 4:
		e.errCode, e.errMsg = "ThrottlingException", "Rate exceeded"
	default:
		if len(e.op.errs) == 0 {
			g.denied(e)
			return
		}
		es := e.op.errs[g.r.IntN(len(e.op.errs))]
		e.errCode = es.code
		e.missing = es.missing
		e.errMsg = es.msg(e)
	}
}

// denied makes e fail authorization with the message IAM writes.
func (g *Generator) denied(e *event) {
	e.errCode = deniedCode[e.op.src]
	if e.by == byHuman && e.a.jane != nil && g.r.IntN(4) == 0 {
		e.p = e.a.jane
	}
	// The message needs the caller's ARN, which identity() picks later; the
	// placeholder is filled there.
	e.errMsg = ""
}

var deniedCode = [...]string{
	srcCP: "AccessDenied", srcCB: "AccessDeniedException", srcCD: "AccessDenied", srcCC: "AccessDeniedException",
	srcCA: "AccessDeniedException", srcCS: "AccessDeniedException", srcCSN: "AccessDeniedException", srcEV: "AccessDenied",
	srcCSC: "AccessDeniedException", srcCCN: "AccessDeniedException", srcCAT: "AccessDeniedException",
	srcS3: "AccessDenied", srcSTS: "AccessDenied", srcKMS: "AccessDeniedException",
}

var iamPrefix = [...]string{
	srcCP: "codepipeline", srcCB: "codebuild", srcCD: "codedeploy", srcCC: "codecommit", srcCA: "codeartifact",
	srcCS: "codestar", srcCSN: "codestar-notifications", srcEV: "events", srcCSC: "codestar-connections",
	srcCCN: "codeconnections", srcCAT: "codecatalyst", srcS3: "s3", srcSTS: "sts", srcKMS: "kms",
}

func (e *event) resourceARN() string {
	switch {
	case e.pipe != nil:
		return e.pipe.arn
	case e.proj != nil:
		return e.proj.arn
	case e.repo != nil:
		return e.repo.arn
	case e.app != nil:
		return "arn:aws:codedeploy:" + e.region + ":" + e.a.id + ":application:" + e.app.name
	case e.conn != nil:
		return e.conn.arn
	case e.rule != nil:
		return "arn:aws:codestar-notifications:" + e.region + ":" + e.a.id + ":notificationrule/" + e.rule.id
	}
	return "*"
}

// identity chooses who made the call and from where.
func (g *Generator) identity(e *event) {
	a, r := e.a, g.r
	switch e.by {
	case byHuman:
		if e.p == nil {
			e.p = a.human(r)
		}
		k := e.p.agents[r.IntN(len(e.p.agents))]
		e.console = k == uaConsole
		e.ip = e.p.ips[r.IntN(len(e.p.ips))]
		e.ua = e.op.agent(k, e.p, e)
	case byWorker:
		e.p = a.worker
		e.ip = e.p.ips[r.IntN(len(e.p.ips))]
		e.ua = javaUA
	case byNotif:
		e.p, e.invoker = a.notifRole, "codestar-notifications.amazonaws.com"
	case byPipeline:
		if e.pipe == nil {
			e.pipe = a.pipelines[0]
		}
		e.p, e.invoker = e.pipe.role, "codepipeline.amazonaws.com"
	case byBuild:
		e.p = e.proj.role
		e.ip = e.p.ips[r.IntN(len(e.p.ips))]
		e.ua = e.op.agent(uaCLI, e.p, e)
	case byBuildSvc:
		e.p, e.invoker = e.proj.role, "codebuild.amazonaws.com"
	case byDeploySvc:
		e.p, e.invoker = a.deployRole, "codedeploy.amazonaws.com"
	case byService:
		// e.invoker was set by the follow-up.
	}
	if e.invoker != "" {
		e.ip, e.ua = e.invoker, e.invoker
	}
	if e.odd == oddInternal || e.op.serviceEvent {
		e.ip, e.ua = "AWS Internal", "AWS Internal"
	}
	if e.errCode != "" && e.errMsg == "" {
		who := "arn:aws:iam::" + a.id + ":root"
		if e.p != nil {
			who = e.p.arn
		}
		act := iamPrefix[e.src] + ":" + e.op.name
		e.errMsg = "User: " + who + " is not authorized to perform: " + act + " on resource: " + e.resourceARN() +
			" because no identity-based policy allows the " + act + " action"
	}
}

const javaUA = "aws-sdk-java/1.12.720 Linux/5.15.0-1064-aws OpenJDK_64-Bit_Server_VM/17.0.11+9-LTS java/17.0.11 vendor/Eclipse_Adoptium cfg/retry-mode/standard"

var browserUAs = []string{
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0",
	"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15",
}

var boto3UAs = []string{
	"Boto3/1.35.24 md/Botocore#1.35.24 ua/2.0 os/linux#5.10.226-214.879.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.24",
	"Boto3/1.34.162 md/Botocore#1.34.162 ua/2.0 os/macos#23.6.0 md/arch#arm64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.162",
}

func (g *Generator) uuid() {
	g.w.pre()
	g.w.b = append(g.w.b, '"')
	g.w.b = appendUUIDTo(g.w.b, g.r)
	g.w.b = append(g.w.b, '"')
}

func (g *Generator) uuidStr() string { return randUUID(g.r) }

// write renders e as one CloudTrail record, fields in CloudTrail's order.
func (g *Generator) write(dst []byte, e *event) {
	w := &g.w
	w.reset(dst)
	w.O()
	w.str("eventVersion", eventVersions[e.src])
	g.writeIdentity(e)
	w.tm("eventTime", e.t)
	w.str("eventSource", sources[e.src])
	w.str("eventName", e.op.name)
	w.str("awsRegion", e.region)
	w.str("sourceIPAddress", e.ip)
	w.str("userAgent", e.ua)
	if e.errCode != "" {
		w.str("errorCode", e.errCode)
		w.str("errorMessage", e.errMsg)
	}
	w.k("requestParameters")
	if e.op.req == nil || e.odd == oddNullParams {
		w.N()
	} else {
		w.O()
		e.op.req(g, e)
		w.E()
	}
	w.k("responseElements")
	if e.op.resp == nil || e.errCode != "" {
		w.N()
	} else {
		w.O()
		e.op.resp(g, e)
		w.E()
	}
	if e.op.extra != nil {
		w.obj("additionalEventData")
		e.op.extra(g, e)
		w.E()
	}
	if e.src == srcS3 {
		w.k("requestID").S(randToken(g, 16, upperAlnum))
	} else {
		w.k("requestID")
		g.uuid()
	}
	w.k("eventID")
	g.uuid()
	w.flag("readOnly", e.op.ro)
	if e.op.res != nil {
		w.arr("resources")
		e.op.res(g, e)
		w.EA()
	}
	et := "AwsApiCall"
	if e.op.serviceEvent {
		et = "AwsServiceEvent"
	}
	w.str("eventType", et)
	if e.src == srcCC {
		w.str("apiVersion", "2015-04-13")
	}
	w.flag("managementEvent", !e.op.data)
	w.str("recipientAccountId", e.a.id)
	if e.op.data {
		w.str("eventCategory", "Data")
	} else {
		w.str("eventCategory", "Management")
	}
	if e.invoker == "" && e.ip != "AWS Internal" && !e.op.serviceEvent {
		w.obj("tlsDetails")
		if e.ua != "" && e.ua[0] == 'M' || e.p != nil && e.p.kind == pkRoot {
			w.str("tlsVersion", "TLSv1.3")
			w.str("cipherSuite", "TLS_AES_128_GCM_SHA256")
		} else if e.ri%2 == 0 {
			w.str("tlsVersion", "TLSv1.3")
			w.str("cipherSuite", "TLS_AES_128_GCM_SHA256")
		} else {
			w.str("tlsVersion", "TLSv1.2")
			w.str("cipherSuite", "ECDHE-RSA-AES128-GCM-SHA256")
		}
		host := g.hosts[e.src][e.ri]
		if e.op.name == "GitPull" || e.op.name == "GitPush" {
			host = "git-codecommit." + e.region + ".amazonaws.com"
		}
		w.str("clientProvidedHostHeader", host)
		w.E()
	}
	if e.console && e.invoker == "" && e.p != nil && (e.p.kind == pkConsoleUser || e.p.kind == pkRoot) {
		w.str("sessionCredentialFromConsole", "true")
	}
	w.E()
}

func (g *Generator) writeIdentity(e *event) {
	w := &g.w
	w.obj("userIdentity")
	p := e.p
	if e.op.serviceEvent {
		// Service events carry no caller, only the account.
		w.str("accountId", e.a.id)
		w.str("invokedBy", "AWS Internal")
		w.E()
		return
	}
	if e.by == byService || p == nil {
		w.str("type", "AWSService")
		w.str("invokedBy", e.invoker)
		w.E()
		return
	}
	created := e.t.Add(-time.Duration(60+g.r.IntN(3000)) * time.Second)
	switch p.kind {
	case pkUser:
		w.str("type", "IAMUser")
		w.str("principalId", p.pid)
		w.str("arn", p.arn)
		w.str("accountId", e.a.id)
		w.str("accessKeyId", p.key)
		w.str("userName", p.userName)
	case pkConsoleUser:
		if !e.console {
			// The same user with a long-term access key (CLI, SDK).
			w.str("type", "IAMUser")
			w.str("principalId", p.pid)
			w.str("arn", p.arn)
			w.str("accountId", e.a.id)
			w.str("accessKeyId", "AKIA"+p.key[4:])
			w.str("userName", p.userName)
			break
		}
		w.str("type", "IAMUser")
		w.str("principalId", p.pid)
		w.str("arn", p.arn)
		w.str("accountId", e.a.id)
		w.str("accessKeyId", p.key)
		w.str("userName", p.userName)
		w.obj("sessionContext")
		w.obj("sessionIssuer")
		w.E()
		w.obj("webIdFederationData")
		w.E()
		w.obj("attributes")
		w.tm("creationDate", created)
		w.str("mfaAuthenticated", "true")
		w.E()
		w.E()
	case pkRoot:
		w.str("type", "Root")
		w.str("principalId", p.pid)
		w.str("arn", p.arn)
		w.str("accountId", e.a.id)
		w.str("accessKeyId", p.key)
		w.obj("sessionContext")
		w.obj("attributes")
		w.tm("creationDate", created)
		w.str("mfaAuthenticated", "true")
		w.E()
		w.E()
	case pkRole:
		w.str("type", "AssumedRole")
		w.str("principalId", p.pid)
		w.str("arn", p.arn)
		w.str("accountId", e.a.id)
		if e.invoker == "" {
			w.str("accessKeyId", p.key)
		}
		w.obj("sessionContext")
		w.obj("sessionIssuer")
		w.str("type", "Role")
		w.str("principalId", p.rolePID)
		w.str("arn", p.roleARN)
		w.str("accountId", e.a.id)
		w.str("userName", p.userName)
		w.E()
		w.obj("webIdFederationData")
		w.E()
		w.obj("attributes")
		w.tm("creationDate", created)
		w.str("mfaAuthenticated", "false")
		w.E()
		w.E()
		if e.invoker != "" {
			w.str("invokedBy", e.invoker)
		}
	}
	w.E()
}

const (
	upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	alnum      = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

func randToken(g *Generator, n int, alphabet string) string {
	var b [128]byte
	for i := 0; i < n; i++ {
		b[i] = alphabet[g.r.IntN(len(alphabet))]
	}
	return string(b[:n])
}

// respTime formats a time the way CloudTrail renders timestamps inside
// responseElements of JSON-protocol services.
func respTime(t time.Time) string { return t.UTC().Format("Jan 2, 2006, 3:04:05 PM") }

func (g *Generator) sha() string { return randHex(g.r, 40) }

func itoa(n int) string { return strconv.Itoa(n) }
