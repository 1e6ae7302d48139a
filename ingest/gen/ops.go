package gen

import (
	"strings"
	"unicode"
)

type needKind uint8

const (
	needNone needKind = iota
	needPipeline
	needProject
	needRepo
	needApp
	needDomain
	needCSProject
	needRule
	needConn
	needHost
)

type errSpec struct {
	code    string
	missing bool // the call names a resource that does not exist (any more)
	msg     func(e *event) string
}

type builder func(g *Generator, e *event)

// op is one API operation as CloudTrail logs it.
type op struct {
	src          int
	name         string
	w            int // weight within its group
	ro           bool
	need         needKind
	needApproval bool
	by           byKind
	req          builder // writes requestParameters members; nil: null
	resp         builder // writes responseElements members; nil: null
	extra        builder // additionalEventData members
	res          builder // resources[] elements
	after        builder // on success: queue the calls this one causes
	ua           func(e *event) string
	errs         []errSpec
	data         bool // data event (S3 objects)
	serviceEvent bool // AwsServiceEvent

	cli       [2]string
	goUA      string
	terraform string
}

var cliNames = [...]string{
	srcCP: "codepipeline", srcCB: "codebuild", srcCD: "deploy", srcCC: "codecommit", srcCA: "codeartifact",
	srcCS: "codestar", srcCSN: "codestar-notifications", srcEV: "events", srcCSC: "codestar-connections",
	srcCCN: "codeconnections", srcCAT: "codecatalyst", srcS3: "s3api", srcSTS: "sts", srcKMS: "kms",
}

var sdkNames = [...]string{
	srcCP: "codepipeline#1.34.4", srcCB: "codebuild#1.45.3", srcCD: "codedeploy#1.28.4", srcCC: "codecommit#1.26.4",
	srcCA: "codeartifact#1.32.4", srcCS: "codestar#1.23.9", srcCSN: "codestarnotifications#1.26.4", srcEV: "eventbridge#1.34.4",
	srcCSC: "codestarconnections#1.29.4", srcCCN: "codeconnections#1.5.4", srcCAT: "codecatalyst#1.16.4",
	srcS3: "s3#1.63.3", srcSTS: "sts#1.31.3", srcKMS: "kms#1.36.3",
}

func kebab(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) && i > 0 {
			b.WriteByte('-')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// prepare precomputes the user agent strings that name the operation.
func (o *op) prepare() {
	cmd := cliNames[o.src] + "." + kebab(o.name)
	o.cli[0] = "aws-cli/2.18.5 md/awscrt#0.22.0 ua/2.0 os/linux#6.8.0-1016-aws md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24 md/prompt#off md/command#" + cmd
	o.cli[1] = "aws-cli/2.17.42 md/awscrt#0.21.2 ua/2.0 os/macos#23.6.0 md/arch#arm64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#source md/prompt#off md/command#" + cmd
	sdk := " ua/2.1 os/linux lang/go#1.23.2 md/GOOS#linux md/GOARCH#amd64 api/" + sdkNames[o.src]
	o.goUA = "aws-sdk-go-v2/1.32.2" + sdk + " m/E,g"
	o.terraform = "APN/1.0 HashiCorp/1.0 Terraform/1.9.7 (+https://www.terraform.io) terraform-provider-aws/5.72.1 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.32.2" + sdk
}

func (o *op) agent(k uaKind, p *principal, e *event) string {
	if o.ua != nil {
		return o.ua(e)
	}
	h := int(p.pid[len(p.pid)-1])
	switch k {
	case uaConsole:
		return browserUAs[h%len(browserUAs)]
	case uaBoto3:
		return boto3UAs[h%len(boto3UAs)]
	case uaGo:
		return o.goUA
	case uaTerraform:
		return o.terraform
	case uaJava:
		return javaUA
	}
	return o.cli[h%2]
}

// group is a developer tool and its share of random calls.
type group struct {
	name  string
	share int
	ops   []*op
	w     []int
}

var (
	groups []group
	groupW []int

	// Operations referenced by anchors and follow-ups.
	opCreatePipeline, opUpdatePipeline, opDeletePipeline, opStartPipelineExecution *op
	opGetPipelineState, opListPipelines, opListPipelineExecutions                  *op
	opCreateNotificationRule, opPutRule, opPutTargets, opRemoveTargets             *op
	opDeleteRule, opStartBuild, opBatchGetBuilds, opCreateDeployment               *op
	opGetDeployment, opGetBranch, opGetCommit, opUploadArchive                     *op
	opUseConnection, opAssumeRole, opGetObject, opPutObject                        *op
	opGetAuthorizationToken                                                        *op
)

func init() { buildCatalog() }

func add(g *group, ops ...*op) {
	for _, o := range ops {
		o.prepare()
		g.ops = append(g.ops, o)
		g.w = append(g.w, o.w)
	}
}
