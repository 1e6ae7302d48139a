package gen

import (
	"strconv"
)

var projectNotFound = notFound("ResourceNotFoundException", "Project cannot be found: arn:aws:codebuild:{region}:{acct}:project/{proj}")

func (g *Generator) buildID(e *event) string {
	if e.proj.lastBuild != "" && g.r.IntN(3) > 0 {
		return e.proj.lastBuild
	}
	return e.projName() + ":" + g.uuidStr()
}

func (g *Generator) writeEnvironment(e *event) {
	w := &g.w
	w.obj("environment")
	w.str("type", "LINUX_CONTAINER")
	w.str("image", e.proj.image)
	w.str("computeType", e.proj.compute)
	w.arr("environmentVariables")
	w.EA()
	w.flag("privilegedMode", false)
	w.str("imagePullCredentialsType", "CODEBUILD")
	w.E()
}

func (g *Generator) writeSource(e *event) {
	w := &g.w
	w.obj("source")
	if e.repo != nil && !e.missing {
		w.str("type", "CODECOMMIT")
		w.str("location", "https://git-codecommit."+e.region+".amazonaws.com/v1/repos/"+e.repo.name)
		w.num("gitCloneDepth", 1)
	} else {
		w.str("type", "CODEPIPELINE")
	}
	w.str("buildspec", "buildspec.yml")
	w.flag("insecureSsl", false)
	w.E()
}

func (g *Generator) writeProject(e *event) {
	w := &g.w
	name := e.projName()
	w.obj("project")
	w.str("name", name)
	w.str("arn", "arn:aws:codebuild:"+e.region+":"+e.a.id+":project/"+name)
	g.writeSource(e)
	w.obj("artifacts")
	w.str("type", "NO_ARTIFACTS")
	w.E()
	w.obj("cache")
	w.str("type", "NO_CACHE")
	w.E()
	g.writeEnvironment(e)
	w.str("serviceRole", e.proj.role.roleARN)
	w.num("timeoutInMinutes", 60)
	w.num("queuedTimeoutInMinutes", 480)
	w.str("encryptionKey", "arn:aws:kms:"+e.region+":"+e.a.id+":alias/aws/s3")
	w.str("created", respTime(e.t.Add(-90*24*3600e9)))
	w.str("lastModified", respTime(e.t))
	w.obj("badge")
	w.flag("badgeEnabled", false)
	w.E()
	w.obj("logsConfig")
	w.obj("cloudWatchLogs")
	w.str("status", "ENABLED")
	w.E()
	w.E()
	w.str("projectVisibility", "PRIVATE")
	w.E()
}

func buildBuildGroup() group {
	gr := group{name: "codebuild", share: 15}
	proj := func(key string) builder { return func(g *Generator, e *event) { g.w.str(key, e.projName()) } }
	opBatchGetBuilds = &op{src: srcCB, name: "BatchGetBuilds", w: 25, ro: true, need: needProject,
		req: func(g *Generator, e *event) { g.w.strs("ids", g.buildID(e)) }}
	opStartBuild = &op{src: srcCB, name: "StartBuild", w: 8, need: needProject,
		req: func(g *Generator, e *event) {
			w := &g.w
			w.str("projectName", e.projName())
			if e.by == byPipeline {
				w.str("sourceVersion", "arn:aws:s3:::"+e.pipe.bucket+"/"+e.pipe.name[:min(20, len(e.pipe.name))]+"/SourceArti/"+randToken(g, 7, alnum))
				w.arr("environmentVariablesOverride")
				w.O()
				w.str("name", "CODEPIPELINE_EXECUTION_ID")
				w.str("value", e.execID)
				w.str("type", "PLAINTEXT")
				w.E()
				w.EA()
				return
			}
			w.str("sourceVersion", []string{"refs/heads/main", "refs/heads/develop", g.sha()}[g.r.IntN(3)])
		},
		resp: func(g *Generator, e *event) {
			w := &g.w
			e.proj.buildNumber++
			id := e.projName() + ":" + g.uuidStr()
			e.proj.lastBuild = id
			w.obj("build")
			w.str("id", id)
			w.str("arn", "arn:aws:codebuild:"+e.region+":"+e.a.id+":build/"+id)
			w.num("buildNumber", int64(e.proj.buildNumber))
			w.str("startTime", respTime(e.t))
			w.str("currentPhase", "QUEUED")
			w.str("buildStatus", "IN_PROGRESS")
			w.str("projectName", e.projName())
			w.arr("phases")
			w.O()
			w.str("phaseType", "SUBMITTED")
			w.str("phaseStatus", "SUCCEEDED")
			w.str("startTime", respTime(e.t))
			w.str("endTime", respTime(e.t))
			w.num("durationInSeconds", 0)
			w.E()
			w.O()
			w.str("phaseType", "QUEUED")
			w.str("startTime", respTime(e.t))
			w.E()
			w.EA()
			g.writeSource(e)
			g.writeEnvironment(e)
			w.str("serviceRole", e.proj.role.roleARN)
			w.obj("logs")
			w.str("deepLink", "https://console.aws.amazon.com/cloudwatch/home?region="+e.region+"#logsV2:log-groups")
			w.E()
			w.num("timeoutInMinutes", 60)
			w.num("queuedTimeoutInMinutes", 480)
			w.flag("buildComplete", false)
			if e.by == byPipeline {
				w.str("initiator", "codepipeline/"+e.pipe.name)
			} else if e.p != nil {
				w.str("initiator", e.p.userName)
			}
			w.str("encryptionKey", "arn:aws:kms:"+e.region+":"+e.a.id+":alias/aws/s3")
			w.E()
		},
		after: func(g *Generator, e *event) {
			q := func(o *op, by byKind, invoker string) {
				g.queue(followUp{op: o, a: e.a, proj: e.proj, after: e.t.Add(20e9), by: by, invoker: invoker})
			}
			q(opAssumeRole, byService, "codebuild.amazonaws.com")
			q(opGetAuthorizationToken, byBuild, "")
			q(opPutObject, byBuildSvc, "")
		},
		errs: []errSpec{projectNotFound,
			plainErr("AccountLimitExceededException", "Cannot have more than 60 builds in queue for the account"),
			plainErr("InvalidInputException", "Invalid source version: branch not found")},
	}
	add(&gr, opBatchGetBuilds,
		&op{src: srcCB, name: "BatchGetProjects", w: 14, ro: true, need: needProject,
			req: func(g *Generator, e *event) { g.w.strs("names", e.projName()) }},
		&op{src: srcCB, name: "ListBuildsForProject", w: 12, ro: true, need: needProject,
			req: func(g *Generator, e *event) {
				g.w.str("projectName", e.projName())
				g.w.str("sortOrder", "DESCENDING")
			}, errs: []errSpec{projectNotFound}},
		&op{src: srcCB, name: "ListProjects", w: 8, ro: true,
			req: func(g *Generator, e *event) {
				g.w.str("sortBy", "NAME")
				g.w.str("sortOrder", "ASCENDING")
			}},
		&op{src: srcCB, name: "ListBuilds", w: 4, ro: true},
		&op{src: srcCB, name: "ListReportGroups", w: 2, ro: true},
		&op{src: srcCB, name: "DescribeTestCases", w: 2, ro: true, need: needProject,
			req: func(g *Generator, e *event) {
				g.w.str("reportArn", "arn:aws:codebuild:"+e.region+":"+e.a.id+":report/"+e.projName()+"-unit-tests:"+g.uuidStr())
			}, errs: []errSpec{notFound("ResourceNotFoundException", "Report not found")}},
		&op{src: srcCB, name: "ListCuratedEnvironmentImages", w: 1, ro: true},
		opStartBuild,
		&op{src: srcCB, name: "StopBuild", w: 1, need: needProject,
			req: func(g *Generator, e *event) { g.w.str("id", g.buildID(e)) },
			resp: func(g *Generator, e *event) {
				w := &g.w
				w.obj("build")
				id := g.buildID(e)
				w.str("id", id)
				w.str("arn", "arn:aws:codebuild:"+e.region+":"+e.a.id+":build/"+id)
				w.str("currentPhase", "COMPLETED")
				w.str("buildStatus", "STOPPED")
				w.str("projectName", e.projName())
				w.flag("buildComplete", true)
				w.E()
			}, errs: []errSpec{notFound("ResourceNotFoundException", "Build not found")}},
		&op{src: srcCB, name: "RetryBuild", w: 1, need: needProject,
			req: func(g *Generator, e *event) {
				g.w.str("id", g.buildID(e))
				g.w.k("idempotencyToken")
				g.uuid()
			}},
		&op{src: srcCB, name: "UpdateProject", w: 2, need: needProject,
			req: func(g *Generator, e *event) {
				g.w.str("name", e.projName())
				g.writeEnvironment(e)
			},
			resp: func(g *Generator, e *event) { g.writeProject(e) },
			errs: []errSpec{projectNotFound, plainErr("InvalidInputException", "Invalid compute type BUILD_GENERAL1_2XLARGE for environment type LINUX_CONTAINER")}},
		&op{src: srcCB, name: "CreateProject", w: 1, need: needProject,
			req: func(g *Generator, e *event) {
				e.missing = true // a new project: scratch name
				w := &g.w
				w.str("name", e.projName())
				g.writeSource(e)
				w.obj("artifacts")
				w.str("type", "NO_ARTIFACTS")
				w.E()
				g.writeEnvironment(e)
				w.str("serviceRole", e.proj.role.roleARN)
			},
			resp: func(g *Generator, e *event) { g.writeProject(e) },
			errs: []errSpec{plainErr("ResourceAlreadyExistsException", "Project already exists"),
				plainErr("InvalidInputException", "CodeBuild is not authorized to perform: sts:AssumeRole on service role")}},
		&op{src: srcCB, name: "DeleteProject", w: 1, need: needProject,
			req: func(g *Generator, e *event) { e.missing = true; g.w.str("name", e.projName()) }},
		&op{src: srcCB, name: "BatchGetReportGroups", w: 1, ro: true, need: needProject,
			req: func(g *Generator, e *event) {
				g.w.strs("reportGroupArns", "arn:aws:codebuild:"+e.region+":"+e.a.id+":report-group/"+e.projName()+"-unit-tests")
			}},
		&op{src: srcCB, name: "CreateWebhook", w: 1, need: needProject, req: proj("projectName"),
			resp: func(g *Generator, e *event) {
				w := &g.w
				w.obj("webhook")
				w.str("url", "https://api.github.com/repos/example/"+e.projName()+"/hooks/"+strconv.Itoa(400000000+g.r.IntN(99999999)))
				w.str("payloadUrl", "https://codebuild."+e.region+".amazonaws.com/webhooks?t="+randToken(g, 32, alnum))
				w.str("secret", "****")
				w.str("lastModifiedSecret", respTime(e.t))
				w.E()
			}, errs: []errSpec{plainErr("OAuthProviderException", "Failed to create webhook. GitHub API limit reached.")}},
	)
	return gr
}
