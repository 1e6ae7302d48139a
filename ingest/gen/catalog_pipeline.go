package gen

import (
	"strconv"
	"time"
)

func notFound(code, format string) errSpec {
	return errSpec{code: code, missing: true, msg: func(e *event) string { return expand(format, e) }}
}

func plainErr(code, msg string) errSpec {
	return errSpec{code: code, msg: func(*event) string { return msg }}
}

// expand replaces {acct} {pipe} {proj} {repo} {app} {region} in format.
func expand(format string, e *event) string {
	out := make([]byte, 0, len(format)+32)
	for i := 0; i < len(format); i++ {
		if format[i] != '{' {
			out = append(out, format[i])
			continue
		}
		j := i + 1
		for j < len(format) && format[j] != '}' {
			j++
		}
		switch format[i+1 : j] {
		case "acct":
			out = append(out, e.a.id...)
		case "pipe":
			out = append(out, e.pipeName()...)
		case "proj":
			out = append(out, e.projName()...)
		case "repo":
			out = append(out, e.repoName()...)
		case "app":
			out = append(out, e.appName()...)
		case "region":
			out = append(out, e.region...)
		}
		i = j
	}
	return string(out)
}

var pipelineNotFound = notFound("PipelineNotFoundException", "Account '{acct}' does not have a pipeline with name '{pipe}'")

func (g *Generator) writeActionType(category, owner, provider string) {
	w := &g.w
	w.obj("actionTypeId")
	w.str("category", category)
	w.str("owner", owner)
	w.str("provider", provider)
	w.str("version", "1")
	w.E()
}

func (g *Generator) writeArtifacts(key, name string) {
	w := &g.w
	w.arr(key)
	if name != "" {
		w.O()
		w.str("name", name)
		w.E()
	}
	w.EA()
}

// writePipeline writes a PipelineDeclaration under "pipeline".
func (g *Generator) writePipeline(e *event, version int) {
	w, pl := &g.w, e.pipe
	name := e.pipeName()
	w.obj("pipeline")
	w.str("name", name)
	if pl == nil {
		pl = e.a.pipelines[0]
	}
	w.str("roleArn", "arn:aws:iam::"+e.a.id+":role/service-role/AWSCodePipelineServiceRole-"+e.region+"-"+name)
	w.obj("artifactStore")
	w.str("type", "S3")
	w.str("location", pl.bucket)
	w.E()
	w.arr("stages")

	w.O()
	w.str("name", "Source")
	w.arr("actions")
	w.O()
	w.str("name", "Source")
	switch pl.src {
	case srcCodeCommit:
		g.writeActionType("Source", "AWS", "CodeCommit")
		w.num("runOrder", 1)
		w.obj("configuration")
		w.str("BranchName", pl.branch)
		w.str("OutputArtifactFormat", "CODE_ZIP")
		w.str("PollForSourceChanges", "false")
		w.str("RepositoryName", pl.repo.name)
		w.E()
	case srcGitHub:
		g.writeActionType("Source", "AWS", "CodeStarSourceConnection")
		w.num("runOrder", 1)
		w.obj("configuration")
		w.str("BranchName", pl.branch)
		w.str("ConnectionArn", pl.conn.arn)
		w.str("DetectChanges", "true")
		w.str("FullRepositoryId", pl.ghRepo)
		w.str("OutputArtifactFormat", "CODE_ZIP")
		w.E()
	default:
		g.writeActionType("Source", "AWS", "S3")
		w.num("runOrder", 1)
		w.obj("configuration")
		w.str("PollForSourceChanges", "false")
		w.str("S3Bucket", pl.bucket)
		w.str("S3ObjectKey", "source/"+name+".zip")
		w.E()
	}
	g.writeArtifacts("outputArtifacts", "SourceArtifact")
	g.writeArtifacts("inputArtifacts", "")
	w.str("region", e.region)
	w.str("namespace", "SourceVariables")
	w.E()
	w.EA()
	w.E()

	w.O()
	w.str("name", "Build")
	w.arr("actions")
	w.O()
	w.str("name", "Build")
	g.writeActionType("Build", "AWS", "CodeBuild")
	w.num("runOrder", 1)
	w.obj("configuration")
	w.str("ProjectName", pl.build.name)
	w.E()
	g.writeArtifacts("outputArtifacts", "BuildArtifact")
	g.writeArtifacts("inputArtifacts", "SourceArtifact")
	w.str("region", e.region)
	w.str("namespace", "BuildVariables")
	w.E()
	w.EA()
	w.E()

	if pl.approval {
		w.O()
		w.str("name", "Approval")
		w.arr("actions")
		w.O()
		w.str("name", "ManualApproval")
		g.writeActionType("Approval", "AWS", "Manual")
		w.num("runOrder", 1)
		w.obj("configuration")
		w.str("CustomData", "Approve the release of "+name+" to production")
		w.E()
		g.writeArtifacts("outputArtifacts", "")
		g.writeArtifacts("inputArtifacts", "")
		w.str("region", e.region)
		w.E()
		w.EA()
		w.E()
	}

	w.O()
	w.str("name", "Deploy")
	w.arr("actions")
	w.O()
	w.str("name", "Deploy")
	switch pl.deploy {
	case depCodeDeploy:
		g.writeActionType("Deploy", "AWS", "CodeDeploy")
		w.num("runOrder", 1)
		w.obj("configuration")
		w.str("ApplicationName", pl.app.name)
		w.str("DeploymentGroupName", pl.group)
		w.E()
	case depCloudFormation:
		g.writeActionType("Deploy", "AWS", "CloudFormation")
		w.num("runOrder", 1)
		w.obj("configuration")
		w.str("ActionMode", "CREATE_UPDATE")
		w.str("Capabilities", "CAPABILITY_IAM,CAPABILITY_AUTO_EXPAND")
		w.str("RoleArn", "arn:aws:iam::"+e.a.id+":role/CloudFormationDeployRole")
		w.str("StackName", pl.app.name+"-stack")
		w.str("TemplatePath", "BuildArtifact::packaged.yaml")
		w.E()
	case depECS:
		g.writeActionType("Deploy", "AWS", "ECS")
		w.num("runOrder", 1)
		w.obj("configuration")
		w.str("ClusterName", "prod-cluster")
		w.str("FileName", "imagedefinitions.json")
		w.str("ServiceName", pl.app.name)
		w.E()
	default:
		g.writeActionType("Deploy", "AWS", "S3")
		w.num("runOrder", 1)
		w.obj("configuration")
		w.str("BucketName", pl.app.name+"-site-"+e.a.id)
		w.str("Extract", "true")
		w.E()
	}
	g.writeArtifacts("outputArtifacts", "")
	g.writeArtifacts("inputArtifacts", "BuildArtifact")
	w.str("region", e.region)
	w.str("namespace", "DeployVariables")
	w.E()
	w.EA()
	w.E()

	w.EA()
	w.num("version", int64(version))
	if pl.v2 {
		w.str("executionMode", "QUEUED")
		w.str("pipelineType", "V2")
	} else {
		w.str("executionMode", "SUPERSEDED")
		w.str("pipelineType", "V1")
	}
	w.E()
}

func (g *Generator) execID(e *event) string {
	if e.execID != "" {
		return e.execID
	}
	if e.pipe != nil && e.pipe.lastExec != "" && g.r.IntN(3) > 0 {
		return e.pipe.lastExec
	}
	return g.uuidStr()
}

func pipeNameReq(key string) builder {
	return func(g *Generator, e *event) { g.w.str(key, e.pipeName()) }
}

func (g *Generator) followPipeline(e *event, execID string) {
	pl := e.pipe
	if pl == nil {
		return
	}
	t := e.t
	q := func(o *op, by byKind, invoker string) {
		g.queue(followUp{op: o, a: e.a, pipe: pl, proj: pl.build, after: t, by: by, invoker: invoker, execID: execID})
	}
	q(opAssumeRole, byService, "codepipeline.amazonaws.com")
	switch pl.src {
	case srcCodeCommit:
		q(opGetBranch, byPipeline, "")
		q(opGetCommit, byPipeline, "")
		q(opUploadArchive, byPipeline, "")
	case srcGitHub:
		q(opUseConnection, byPipeline, "")
	default:
		q(opGetObject, byPipeline, "")
	}
	q(opPutObject, byPipeline, "")
	q(opStartBuild, byPipeline, "")
	q(opBatchGetBuilds, byPipeline, "")
	q(opBatchGetBuilds, byPipeline, "")
	if pl.deploy == depCodeDeploy {
		q(opGetObject, byPipeline, "")
		q(opCreateDeployment, byPipeline, "")
		q(opGetDeployment, byPipeline, "")
	}
}

func buildPipelineGroup() group {
	gr := group{name: "codepipeline", share: 22}
	ro := func(name string, w int, need needKind, req builder, errs ...errSpec) *op {
		return &op{src: srcCP, name: name, w: w, ro: true, need: need, req: req, errs: errs}
	}
	opGetPipelineState = ro("GetPipelineState", 30, needPipeline, pipeNameReq("name"), pipelineNotFound)
	opListPipelines = ro("ListPipelines", 14, needNone, nil, plainErr("InvalidNextTokenException", "The next token was specified in an invalid format. Make sure that the next token you provide is the token returned by a previous call."))
	opListPipelineExecutions = ro("ListPipelineExecutions", 12, needPipeline, func(g *Generator, e *event) {
		w := &g.w
		w.str("pipelineName", e.pipeName())
		w.num("maxResults", 10)
		switch {
		case e.odd == oddClash:
			// Shape clash: "filter" is an object everywhere else.
			w.str("filter", "succeededInStage=Deploy")
		case g.r.IntN(3) == 0:
			w.obj("filter")
			w.obj("succeededInStage")
			w.str("stageName", "Deploy")
			w.E()
			w.E()
		}
	}, pipelineNotFound)
	add(&gr,
		opGetPipelineState,
		ro("GetPipeline", 18, needPipeline, func(g *Generator, e *event) {
			g.w.str("name", e.pipeName())
			if g.r.IntN(4) == 0 && e.pipe != nil {
				g.w.num("version", int64(max(1, e.pipe.version-g.r.IntN(2))))
			}
		}, pipelineNotFound, plainErr("PipelineVersionNotFoundException", "The specified pipeline version was not found.")),
		opListPipelines,
		ro("GetPipelineExecution", 10, needPipeline, func(g *Generator, e *event) {
			g.w.str("pipelineName", e.pipeName())
			g.w.str("pipelineExecutionId", g.execID(e))
		}, pipelineNotFound, notFound("PipelineExecutionNotFoundException", "Pipeline execution not found for pipeline '{pipe}'")),
		opListPipelineExecutions,
		ro("ListActionExecutions", 6, needPipeline, func(g *Generator, e *event) {
			w := &g.w
			w.str("pipelineName", e.pipeName())
			w.obj("filter")
			w.str("pipelineExecutionId", g.execID(e))
			w.E()
		}, pipelineNotFound),
		ro("ListTagsForResource", 3, needPipeline, func(g *Generator, e *event) { g.w.str("resourceArn", e.pipe.arn) },
			notFound("ResourceNotFoundException", "The pipeline {pipe} does not exist")),
		ro("ListWebhooks", 2, needNone, nil),
		ro("ListActionTypes", 1, needNone, func(g *Generator, e *event) { g.w.str("actionOwnerFilter", "AWS") }),
		ro("ListRuleExecutions", 1, needPipeline, func(g *Generator, e *event) {
			g.w.str("pipelineName", e.pipeName())
			g.w.num("maxResults", 20)
		}, pipelineNotFound),
	)
	opStartPipelineExecution = &op{src: srcCP, name: "StartPipelineExecution", w: 8, need: needPipeline,
		req: func(g *Generator, e *event) {
			w := &g.w
			w.str("name", e.pipeName())
			w.k("clientRequestToken")
			g.uuid()
			if e.pipe != nil && e.pipe.v2 && g.r.IntN(3) == 0 {
				w.arr("variables")
				w.O()
				w.str("name", "DEPLOY_ENV")
				w.str("value", []string{"staging", "prod"}[g.r.IntN(2)])
				w.E()
				w.EA()
			}
		},
		resp: func(g *Generator, e *event) {
			e.execID = g.uuidStr()
			g.w.str("pipelineExecutionId", e.execID)
		},
		after: func(g *Generator, e *event) {
			e.pipe.lastExec = e.execID
			g.followPipeline(e, e.execID)
		},
		errs: []errSpec{pipelineNotFound, plainErr("ConflictException", "The pipeline execution was not started because another execution with the same client request token is in progress.")},
	}
	opUpdatePipeline = &op{src: srcCP, name: "UpdatePipeline", w: 2, need: needPipeline,
		req:   func(g *Generator, e *event) { g.writePipeline(e, e.pipe.version) },
		resp:  func(g *Generator, e *event) { g.writePipeline(e, e.pipe.version+1) },
		after: func(g *Generator, e *event) { e.pipe.version++ },
		errs: []errSpec{pipelineNotFound,
			plainErr("InvalidStructureException", "Action configuration for action 'Deploy' is missing required configuration 'DeploymentGroupName'"),
			plainErr("ValidationException", "1 validation error detected: Value at 'pipeline.stages.1.member.actions.1.member.name' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9.@\\-_]+")},
	}
	opCreatePipeline = &op{src: srcCP, name: "CreatePipeline", w: 1, need: needNone,
		req: func(g *Generator, e *event) {
			g.writePipeline(e, 1)
			g.w.arr("tags")
			g.w.O()
			g.w.str("key", "team")
			g.w.str("value", "platform")
			g.w.E()
			g.w.EA()
		},
		resp: func(g *Generator, e *event) {
			g.writePipeline(e, 1)
			g.w.arr("tags")
			g.w.O()
			g.w.str("key", "team")
			g.w.str("value", "platform")
			g.w.E()
			g.w.EA()
		},
		errs: []errSpec{plainErr("PipelineNameInUseException", "A pipeline with this name already exists in this account"),
			plainErr("InvalidStructureException", "Pipeline must contain at least two stages"),
			plainErr("LimitExceededException", "Pipeline limit exceeded")},
	}
	opDeletePipeline = &op{src: srcCP, name: "DeletePipeline", w: 1, need: needNone,
		req:  func(g *Generator, e *event) { g.w.str("name", e.pipeName()) },
		errs: []errSpec{plainErr("ValidationException", "1 validation error detected: Value at 'name' failed to satisfy constraint: Member must have length less than or equal to 100")},
	}
	approvalReq := func(g *Generator, e *event) {
		w := &g.w
		w.str("pipelineName", e.pipeName())
		w.str("stageName", "Approval")
		w.str("actionName", "ManualApproval")
		w.obj("result")
		if g.r.IntN(8) == 0 {
			w.str("summary", "Rejected: failing smoke tests in staging")
			w.str("status", "Rejected")
		} else {
			w.str("summary", "Looks good, ship it")
			w.str("status", "Approved")
		}
		w.E()
		w.k("token")
		g.uuid()
	}
	add(&gr, opStartPipelineExecution, opUpdatePipeline, opCreatePipeline, opDeletePipeline,
		&op{src: srcCP, name: "StopPipelineExecution", w: 1, need: needPipeline,
			req: func(g *Generator, e *event) {
				w := &g.w
				w.str("pipelineName", e.pipeName())
				w.str("pipelineExecutionId", g.execID(e))
				w.flag("abandon", g.r.IntN(4) == 0)
				w.str("reason", "Superseded by a newer change")
			},
			resp: func(g *Generator, e *event) { g.w.str("pipelineExecutionId", g.execID(e)) },
			errs: []errSpec{pipelineNotFound, plainErr("PipelineExecutionNotStoppableException", "Pipeline execution is already in a Stopping state")},
		},
		&op{src: srcCP, name: "RetryStageExecution", w: 1, need: needPipeline,
			req: func(g *Generator, e *event) {
				w := &g.w
				w.str("pipelineName", e.pipeName())
				w.str("stageName", []string{"Build", "Deploy"}[g.r.IntN(2)])
				w.str("pipelineExecutionId", g.execID(e))
				w.str("retryMode", "FAILED_ACTIONS")
			},
			resp: func(g *Generator, e *event) { g.w.str("pipelineExecutionId", g.execID(e)) },
			errs: []errSpec{pipelineNotFound, plainErr("StageNotRetryableException", "Stage is not retryable because it is not in a failed state")},
		},
		&op{src: srcCP, name: "PutApprovalResult", w: 2, need: needPipeline, needApproval: true, req: approvalReq,
			resp: func(g *Generator, e *event) { g.w.str("approvedAt", respTime(e.t)) },
			errs: []errSpec{plainErr("ApprovalAlreadyCompletedException", "The approval action has already been approved or rejected"),
				plainErr("InvalidApprovalTokenException", "The approval request token is invalid")},
		},
		&op{src: srcCP, name: "DisableStageTransition", w: 1, need: needPipeline,
			req: func(g *Generator, e *event) {
				w := &g.w
				w.str("pipelineName", e.pipeName())
				w.str("stageName", "Deploy")
				w.str("transitionType", "Inbound")
				w.str("reason", "Change freeze")
			}, errs: []errSpec{pipelineNotFound}},
		&op{src: srcCP, name: "EnableStageTransition", w: 1, need: needPipeline,
			req: func(g *Generator, e *event) {
				w := &g.w
				w.str("pipelineName", e.pipeName())
				w.str("stageName", "Deploy")
				w.str("transitionType", "Inbound")
			}, errs: []errSpec{pipelineNotFound}},
		&op{src: srcCP, name: "TagResource", w: 1, need: needPipeline,
			req: func(g *Generator, e *event) {
				w := &g.w
				w.str("resourceArn", e.pipe.arn)
				w.arr("tags")
				w.O()
				w.str("key", "cost-center")
				w.str("value", "cc-"+strconv.Itoa(1000+g.r.IntN(9000)))
				w.E()
				w.EA()
			}},
	)
	jobType := func(g *Generator) {
		w := &g.w
		w.obj("actionTypeId")
		w.str("category", "Build")
		w.str("owner", "Custom")
		w.str("provider", "JenkinsBuild")
		w.str("version", "1")
		w.E()
	}
	add(&gr,
		&op{src: srcCP, name: "PollForJobs", w: 5, by: byWorker,
			req: func(g *Generator, e *event) {
				jobType(g)
				g.w.num("maxBatchSize", 1)
			},
			resp: func(g *Generator, e *event) {
				g.w.arr("jobs")
				g.w.EA()
			}},
		&op{src: srcCP, name: "AcknowledgeJob", w: 1, by: byWorker,
			req: func(g *Generator, e *event) {
				g.w.k("jobId")
				g.uuid()
				g.w.str("nonce", strconv.Itoa(1+g.r.IntN(9)))
			},
			resp: func(g *Generator, e *event) { g.w.str("status", "InProgress") },
			errs: []errSpec{plainErr("InvalidNonceException", "The nonce was specified in an invalid format"), plainErr("JobNotFoundException", "The job was specified in an invalid format or cannot be found")}},
		&op{src: srcCP, name: "PutJobSuccessResult", w: 2, by: byWorker,
			req: func(g *Generator, e *event) {
				w := &g.w
				w.k("jobId")
				g.uuid()
				w.obj("executionDetails")
				w.str("summary", "Finished: SUCCESS")
				w.str("externalExecutionId", strconv.Itoa(100+g.r.IntN(5000)))
				w.num("percentComplete", 100)
				w.E()
			},
			errs: []errSpec{plainErr("JobNotFoundException", "The job was specified in an invalid format or cannot be found"), plainErr("InvalidJobStateException", "The job state was specified in an invalid format")}},
		&op{src: srcCP, name: "PutJobFailureResult", w: 1, by: byWorker,
			req: func(g *Generator, e *event) {
				w := &g.w
				w.k("jobId")
				g.uuid()
				w.obj("failureDetails")
				w.str("type", "JobFailed")
				w.str("message", "Finished: FAILURE")
				w.str("externalExecutionId", strconv.Itoa(100+g.r.IntN(5000)))
				w.E()
			}},
	)
	return gr
}

// followUp is a call that an earlier call causes: a pipeline execution
// reading its source, starting a build, deploying.
type followUp struct {
	op      *op
	a       *account
	pipe    *pipeline
	proj    *project
	after   time.Time
	by      byKind
	invoker string
	execID  string
	rule    *notifRule
}

// maxFollowUps bounds the queue of caused calls; more are dropped, so a burst
// of starts cannot crowd out random traffic.
const maxFollowUps = 256

func (g *Generator) queue(f followUp) {
	if len(g.follow) >= maxFollowUps {
		return
	}
	g.follow = append(g.follow, f)
}

func (f followUp) set(g *Generator, e *event) {
	e.op, e.a, e.pipe, e.proj, e.by, e.invoker, e.execID = f.op, f.a, f.pipe, f.proj, f.by, f.invoker, f.execID
	e.scratch = f.a.scratch[0]
	switch {
	case f.pipe != nil:
		e.region = f.pipe.region
		e.repo, e.app, e.conn = f.pipe.repo, f.pipe.app, f.pipe.conn
		if e.proj == nil {
			e.proj = f.pipe.build
		}
	case f.proj != nil:
		e.region, e.repo = f.proj.region, f.proj.repo
	case f.rule != nil:
		e.rule, e.region = f.rule, f.rule.region
	}
	if f.op.need == needDomain {
		e.dom = f.a.domains[0]
		e.pkg = &e.dom.pkgs[g.r.IntN(len(e.dom.pkgs))]
		e.carepo = e.dom.repos[0]
	}
	if f.op.src == srcCSC && e.conn != nil {
		e.src = g.connSource(e.conn)
	}
	g.maybeFail(e)
}

func fmtErr(code, format string) errSpec {
	return errSpec{code: code, msg: func(e *event) string { return expand(format, e) }}
}
