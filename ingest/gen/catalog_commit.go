package gen

import (
	"strconv"
)

var repoNotFound = notFound("RepositoryDoesNotExistException", "{repo} does not exist")

func repoResource(g *Generator, e *event) {
	w := &g.w
	w.O()
	w.str("accountId", e.a.id)
	w.str("type", "AWS::CodeCommit::Repository")
	w.str("ARN", "arn:aws:codecommit:"+e.region+":"+e.a.id+":"+e.repoName())
	w.E()
}

func repoReq(g *Generator, e *event) { g.w.str("repositoryName", e.repoName()) }

func (g *Generator) branch(e *event) string {
	if e.repo == nil {
		return "main"
	}
	if g.r.IntN(2) == 0 {
		return "main"
	}
	return e.repo.branches[g.r.IntN(len(e.repo.branches))]
}

func gitUA(*event) string { return "git/2.46.2" }

func (g *Generator) writeRepoMetadata(e *event) {
	w := &g.w
	name := e.repoName()
	w.obj("repositoryMetadata")
	w.str("accountId", e.a.id)
	w.k("repositoryId")
	g.uuid()
	w.str("repositoryName", name)
	w.str("repositoryDescription", "Source for "+name)
	w.str("lastModifiedDate", respTime(e.t))
	w.str("creationDate", respTime(e.t))
	w.str("cloneUrlHttp", "https://git-codecommit."+e.region+".amazonaws.com/v1/repos/"+name)
	w.str("cloneUrlSsh", "ssh://git-codecommit."+e.region+".amazonaws.com/v1/repos/"+name)
	w.str("Arn", "arn:aws:codecommit:"+e.region+":"+e.a.id+":"+name)
	w.E()
}

func (g *Generator) prID(e *event) string {
	n := 1
	if e.repo != nil {
		n = max(1, e.repo.prs-g.r.IntN(5))
	}
	return strconv.Itoa(n)
}

func buildCommitGroup() group {
	gr := group{name: "codecommit", share: 15}
	ro := func(name string, w int, req builder, errs ...errSpec) *op {
		return &op{src: srcCC, name: name, w: w, ro: true, need: needRepo, req: req, res: repoResource, errs: errs}
	}
	gitData := func(push bool) builder {
		return func(g *Generator, e *event) {
			w := &g.w
			w.str("protocol", []string{"HTTP", "HTTP", "SSH"}[g.r.IntN(3)])
			if push {
				w.strs("capabilities", "report-status", "side-band-64k")
			} else {
				w.strs("capabilities", "multi_ack_detailed", "side-band-64k", "thin-pack")
			}
			w.flag("dataTransferred", push || g.r.IntN(3) > 0)
			w.str("repositoryName", e.repoName())
			w.str("repositoryId", e.repo.id)
			if !push {
				w.flag("shallow", g.r.IntN(4) == 0)
			}
		}
	}
	opGetBranch = ro("GetBranch", 8, func(g *Generator, e *event) {
		repoReq(g, e)
		if e.pipe != nil {
			g.w.str("branchName", e.pipe.branch)
			return
		}
		g.w.str("branchName", g.branch(e))
	}, repoNotFound, plainErr("BranchDoesNotExistException", "Branch does not exist"))
	opGetCommit = ro("GetCommit", 6, func(g *Generator, e *event) {
		repoReq(g, e)
		g.w.str("commitId", g.sha())
	}, repoNotFound, plainErr("CommitIdDoesNotExistException", "The specified commit ID does not exist"))
	opUploadArchive = &op{src: srcCC, name: "UploadArchive", w: 0, need: needRepo, res: repoResource,
		req: func(g *Generator, e *event) {
			repoReq(g, e)
			g.w.str("commitId", g.sha())
		},
		resp: func(g *Generator, e *event) {
			g.w.k("archiveId")
			g.uuid()
		}}
	add(&gr,
		&op{src: srcCC, name: "GitPull", w: 22, ro: true, need: needRepo, ua: gitUA, extra: gitData(false), res: repoResource,
			errs: []errSpec{repoNotFound}},
		&op{src: srcCC, name: "GitPush", w: 8, need: needRepo, ua: gitUA, extra: gitData(true), res: repoResource,
			req: func(g *Generator, e *event) {
				w := &g.w
				w.arr("references")
				w.O()
				w.str("commit", g.sha())
				w.str("ref", "refs/heads/"+g.branch(e))
				w.E()
				w.EA()
			}, errs: []errSpec{plainErr("EncryptionKeyAccessDeniedException", "An encryption integrity check failed")}},
		opGetBranch, opGetCommit, opUploadArchive,
		ro("GetRepository", 8, repoReq, repoNotFound),
		&op{src: srcCC, name: "ListRepositories", w: 6, ro: true},
		ro("ListBranches", 6, repoReq, repoNotFound),
		ro("GetDifferences", 4, func(g *Generator, e *event) {
			repoReq(g, e)
			g.w.str("afterCommitSpecifier", g.branch(e))
			g.w.str("beforeCommitSpecifier", g.sha())
		}, repoNotFound, plainErr("InvalidCommitIdException", "The specified commit ID is not valid")),
		ro("GetPullRequest", 4, func(g *Generator, e *event) { g.w.str("pullRequestId", g.prID(e)) },
			plainErr("PullRequestDoesNotExistException", "The pull request ID could not be found")),
		ro("ListPullRequests", 4, func(g *Generator, e *event) {
			repoReq(g, e)
			g.w.str("pullRequestStatus", "OPEN")
		}, repoNotFound),
		ro("GetFile", 3, func(g *Generator, e *event) {
			repoReq(g, e)
			g.w.str("filePath", []string{"buildspec.yml", "appspec.yml", "README.md", "package.json"}[g.r.IntN(4)])
			g.w.str("commitSpecifier", g.branch(e))
		}, repoNotFound, plainErr("FileDoesNotExistException", "The specified file does not exist")),
		ro("GetFolder", 2, func(g *Generator, e *event) {
			repoReq(g, e)
			g.w.str("folderPath", "/")
		}, repoNotFound),
		ro("BatchGetRepositories", 3, func(g *Generator, e *event) { g.w.strs("repositoryNames", e.repoName()) }),
		&op{src: srcCC, name: "CreatePullRequest", w: 2, need: needRepo, res: repoResource,
			req: func(g *Generator, e *event) {
				w := &g.w
				w.str("title", "Add retry to "+e.repoName()+" client")
				w.str("description", "Retries transient failures with backoff.")
				w.arr("targets")
				w.O()
				w.str("repositoryName", e.repoName())
				w.str("sourceReference", e.repo.branches[len(e.repo.branches)-1])
				w.str("destinationReference", "main")
				w.E()
				w.EA()
				w.k("clientRequestToken")
				g.uuid()
			},
			resp: func(g *Generator, e *event) {
				w := &g.w
				e.repo.prs++
				w.obj("pullRequest")
				w.str("pullRequestId", strconv.Itoa(e.repo.prs))
				w.str("title", "Add retry to "+e.repoName()+" client")
				w.str("lastActivityDate", respTime(e.t))
				w.str("creationDate", respTime(e.t))
				w.str("pullRequestStatus", "OPEN")
				w.str("authorArn", e.p.arn)
				w.arr("pullRequestTargets")
				w.O()
				w.str("repositoryName", e.repoName())
				w.str("sourceReference", "refs/heads/"+e.repo.branches[len(e.repo.branches)-1])
				w.str("destinationReference", "refs/heads/main")
				w.str("destinationCommit", g.sha())
				w.str("sourceCommit", g.sha())
				w.str("mergeBase", g.sha())
				w.obj("mergeMetadata")
				w.flag("isMerged", false)
				w.E()
				w.E()
				w.EA()
				w.str("revisionId", randHex(g.r, 64))
				w.E()
			}, errs: []errSpec{repoNotFound, plainErr("TitleRequiredException", "A pull request title is required. It cannot be empty or null.")}},
		&op{src: srcCC, name: "MergePullRequestByFastForward", w: 1, need: needRepo, res: repoResource,
			req: func(g *Generator, e *event) {
				g.w.str("pullRequestId", g.prID(e))
				repoReq(g, e)
			},
			resp: func(g *Generator, e *event) {
				w := &g.w
				w.obj("pullRequest")
				w.str("pullRequestId", g.prID(e))
				w.str("pullRequestStatus", "CLOSED")
				w.arr("pullRequestTargets")
				w.O()
				w.str("repositoryName", e.repoName())
				w.str("destinationReference", "refs/heads/main")
				w.obj("mergeMetadata")
				w.flag("isMerged", true)
				w.str("mergedBy", e.p.arn)
				w.str("mergeOption", "FAST_FORWARD_MERGE")
				w.E()
				w.E()
				w.EA()
				w.E()
			}, errs: []errSpec{plainErr("ManualMergeRequiredException", "The pull request cannot be merged automatically into the destination branch. You must manually merge the branches and resolve any conflicts."),
				plainErr("PullRequestAlreadyClosedException", "The pull request status cannot be updated because it is already closed.")}},
		&op{src: srcCC, name: "MergePullRequestBySquash", w: 1, need: needRepo, res: repoResource,
			req: func(g *Generator, e *event) {
				g.w.str("pullRequestId", g.prID(e))
				repoReq(g, e)
				g.w.str("commitMessage", "Squash merge")
			}, errs: []errSpec{plainErr("ManualMergeRequiredException", "The pull request cannot be merged automatically into the destination branch. You must manually merge the branches and resolve any conflicts.")}},
		&op{src: srcCC, name: "PostCommentForPullRequest", w: 2, need: needRepo, res: repoResource,
			req: func(g *Generator, e *event) {
				w := &g.w
				w.str("pullRequestId", g.prID(e))
				repoReq(g, e)
				w.str("beforeCommitId", g.sha())
				w.str("afterCommitId", g.sha())
				w.str("content", "LGTM, one nit inline.")
			},
			resp: func(g *Generator, e *event) {
				w := &g.w
				w.obj("comment")
				w.k("commentId")
				g.uuid()
				w.str("content", "LGTM, one nit inline.")
				w.str("authorArn", e.p.arn)
				w.flag("deleted", false)
				w.str("creationDate", respTime(e.t))
				w.E()
			}},
		&op{src: srcCC, name: "CreateBranch", w: 1, need: needRepo, res: repoResource,
			req: func(g *Generator, e *event) {
				repoReq(g, e)
				g.w.str("branchName", "feature/"+e.scratch)
				g.w.str("commitId", g.sha())
			}, errs: []errSpec{plainErr("BranchNameExistsException", "Branch name already exists"), repoNotFound}},
		&op{src: srcCC, name: "DeleteBranch", w: 1, need: needRepo, res: repoResource,
			req: func(g *Generator, e *event) {
				repoReq(g, e)
				g.w.str("branchName", "feature/"+e.scratch)
			},
			resp: func(g *Generator, e *event) {
				g.w.obj("deletedBranch")
				g.w.str("branchName", "feature/"+e.scratch)
				g.w.str("commitId", g.sha())
				g.w.E()
			}, errs: []errSpec{plainErr("DefaultBranchCannotBeDeletedException", "The default branch cannot be deleted")}},
		&op{src: srcCC, name: "CreateRepository", w: 1, need: needRepo, res: repoResource,
			req: func(g *Generator, e *event) {
				e.missing = true
				w := &g.w
				w.str("repositoryName", e.repoName())
				w.str("repositoryDescription", "Source for "+e.repoName())
				w.obj("tags")
				w.str("team", "platform")
				w.E()
			},
			resp: func(g *Generator, e *event) { g.writeRepoMetadata(e) },
			errs: []errSpec{fmtErr("RepositoryNameExistsException", "Repository named {repo} already exists"), plainErr("RepositoryLimitExceededException", "A repository resource limit was exceeded")}},
		&op{src: srcCC, name: "DeleteRepository", w: 1, need: needRepo,
			req: func(g *Generator, e *event) { e.missing = true; g.w.str("repositoryName", e.repoName()) },
			resp: func(g *Generator, e *event) {
				g.w.k("repositoryId")
				g.uuid()
			}},
	)
	return gr
}

var appNotFound = notFound("ApplicationDoesNotExistException", "No application found for name: {app}")

func (g *Generator) deployID() string {
	return "d-" + randToken(g, 9, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
}

func (g *Generator) writeRevision(e *event) {
	w := &g.w
	w.obj("revision")
	w.str("revisionType", "S3")
	w.obj("s3Location")
	bucket := e.appName() + "-artifacts-" + e.a.id
	if e.pipe != nil {
		bucket = e.pipe.bucket
	}
	w.str("bucket", bucket)
	w.str("key", e.appName()+"/BuildArtif/"+randToken(g, 7, alnum))
	w.str("bundleType", "zip")
	w.str("eTag", randHex(g.r, 32))
	w.E()
	w.E()
}

func buildDeployGroup() group {
	gr := group{name: "codedeploy", share: 10}
	app := func(g *Generator, e *event) { g.w.str("applicationName", e.appName()) }
	appGroup := func(g *Generator, e *event) {
		g.w.str("applicationName", e.appName())
		g.w.str("deploymentGroupName", e.app.groups[g.r.IntN(len(e.app.groups))])
	}
	depID := func(g *Generator, e *event) {
		if e.app.lastDeploy != "" && g.r.IntN(3) > 0 {
			g.w.str("deploymentId", e.app.lastDeploy)
			return
		}
		g.w.str("deploymentId", g.deployID())
	}
	depNotFound := plainErr("DeploymentDoesNotExistException", "The deployment does not exist")
	opGetDeployment = &op{src: srcCD, name: "GetDeployment", w: 14, ro: true, need: needApp, req: depID, errs: []errSpec{depNotFound}}
	opCreateDeployment = &op{src: srcCD, name: "CreateDeployment", w: 6, need: needApp,
		req: func(g *Generator, e *event) {
			w := &g.w
			w.str("applicationName", e.appName())
			if e.pipe != nil {
				w.str("deploymentGroupName", e.pipe.group)
			} else {
				w.str("deploymentGroupName", e.app.groups[g.r.IntN(len(e.app.groups))])
			}
			g.writeRevision(e)
			w.str("description", "Deployment of "+e.appName())
			w.str("fileExistsBehavior", "OVERWRITE")
			w.flag("ignoreApplicationStopFailures", false)
		},
		resp: func(g *Generator, e *event) {
			id := g.deployID()
			e.app.lastDeploy = id
			g.w.str("deploymentId", id)
		},
		errs: []errSpec{appNotFound,
			notFound("DeploymentGroupDoesNotExistException", "No Deployment Group found for name: {app}-prod"),
			plainErr("DeploymentLimitExceededException", "The deployment group already has an active deployment"),
			plainErr("RevisionDoesNotExistException", "The named revision does not exist with the IAM user or AWS account.")}}
	add(&gr, opGetDeployment, opCreateDeployment,
		&op{src: srcCD, name: "BatchGetDeployments", w: 10, ro: true, need: needApp,
			req: func(g *Generator, e *event) { g.w.strs("deploymentIds", g.deployID(), g.deployID()) }},
		&op{src: srcCD, name: "ListDeployments", w: 10, ro: true, need: needApp, req: func(g *Generator, e *event) {
			appGroup(g, e)
			if g.r.IntN(2) == 0 {
				g.w.strs("includeOnlyStatuses", "Failed", "Stopped")
			}
		}, errs: []errSpec{appNotFound}},
		&op{src: srcCD, name: "GetApplication", w: 5, ro: true, need: needApp, req: app, errs: []errSpec{appNotFound}},
		&op{src: srcCD, name: "ListApplications", w: 6, ro: true},
		&op{src: srcCD, name: "GetDeploymentGroup", w: 8, ro: true, need: needApp, req: appGroup,
			errs: []errSpec{appNotFound, notFound("DeploymentGroupDoesNotExistException", "No Deployment Group found for name: {app}-qa")}},
		&op{src: srcCD, name: "ListDeploymentGroups", w: 6, ro: true, need: needApp, req: app, errs: []errSpec{appNotFound}},
		&op{src: srcCD, name: "ListDeploymentTargets", w: 4, ro: true, need: needApp, req: depID, errs: []errSpec{depNotFound}},
		&op{src: srcCD, name: "BatchGetDeploymentTargets", w: 4, ro: true, need: needApp, req: func(g *Generator, e *event) {
			depID(g, e)
			g.w.strs("targetIds", "i-0"+randHex(g.r, 16))
		}, errs: []errSpec{depNotFound}},
		&op{src: srcCD, name: "GetDeploymentConfig", w: 3, ro: true, req: func(g *Generator, e *event) {
			g.w.str("deploymentConfigName", []string{"CodeDeployDefault.OneAtATime", "CodeDeployDefault.HalfAtATime", "CodeDeployDefault.AllAtOnce", "CodeDeployDefault.ECSLinear10PercentEvery1Minutes"}[g.r.IntN(4)])
		}},
		&op{src: srcCD, name: "GetApplicationRevision", w: 2, ro: true, need: needApp, req: func(g *Generator, e *event) {
			app(g, e)
			g.writeRevision(e)
		}, errs: []errSpec{plainErr("RevisionDoesNotExistException", "The named revision does not exist with the IAM user or AWS account.")}},
		&op{src: srcCD, name: "StopDeployment", w: 1, need: needApp, req: func(g *Generator, e *event) {
			depID(g, e)
			g.w.flag("autoRollbackEnabled", true)
		}, resp: func(g *Generator, e *event) {
			g.w.str("status", "Pending")
			g.w.str("statusMessage", "Stopping Pending. Stopping to be retried.")
		}, errs: []errSpec{plainErr("DeploymentAlreadyCompletedException", "The deployment is already complete.")}},
		&op{src: srcCD, name: "ContinueDeployment", w: 1, need: needApp, req: func(g *Generator, e *event) {
			depID(g, e)
			g.w.str("deploymentWaitType", "READY_WAIT")
		}, errs: []errSpec{plainErr("DeploymentIsNotInReadyStateException", "The deployment does not have a status of Ready and can't continue yet.")}},
		&op{src: srcCD, name: "RegisterApplicationRevision", w: 2, need: needApp, req: func(g *Generator, e *event) {
			app(g, e)
			g.w.str("description", "Build output")
			g.writeRevision(e)
		}, errs: []errSpec{appNotFound}},
		&op{src: srcCD, name: "CreateApplication", w: 1, need: needApp, req: func(g *Generator, e *event) {
			e.missing = true
			app(g, e)
			g.w.str("computePlatform", "Server")
		}, resp: func(g *Generator, e *event) {
			g.w.k("applicationId")
			g.uuid()
		}, errs: []errSpec{plainErr("ApplicationAlreadyExistsException", "An application with the specified name already exists")}},
		&op{src: srcCD, name: "CreateDeploymentGroup", w: 1, need: needApp, req: func(g *Generator, e *event) {
			w := &g.w
			app(g, e)
			w.str("deploymentGroupName", e.appName()+"-canary")
			w.str("serviceRoleArn", e.a.deployRole.roleARN)
			w.arr("ec2TagFilters")
			w.O()
			w.str("key", "Name")
			w.str("value", e.appName())
			w.str("type", "KEY_AND_VALUE")
			w.E()
			w.EA()
			w.str("deploymentConfigName", "CodeDeployDefault.HalfAtATime")
		}, resp: func(g *Generator, e *event) {
			g.w.k("deploymentGroupId")
			g.uuid()
		}, errs: []errSpec{plainErr("DeploymentGroupAlreadyExistsException", "A deployment group with the specified name already exists with the IAM user or AWS account."),
			plainErr("InvalidRoleException", "AWS CodeDeploy does not have the permissions required to assume the role")}},
		&op{src: srcCD, name: "UpdateDeploymentGroup", w: 1, need: needApp, req: func(g *Generator, e *event) {
			w := &g.w
			app(g, e)
			w.str("currentDeploymentGroupName", e.app.groups[0])
			w.str("deploymentConfigName", "CodeDeployDefault.OneAtATime")
			w.obj("autoRollbackConfiguration")
			w.flag("enabled", true)
			w.strs("events", "DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM")
			w.E()
		}, resp: func(g *Generator, e *event) {
			g.w.arr("hooksNotCleanedUp")
			g.w.EA()
		}, errs: []errSpec{appNotFound}},
		&op{src: srcCD, name: "DeleteApplication", w: 1, need: needApp, req: func(g *Generator, e *event) { e.missing = true; app(g, e) }},
	)
	return gr
}
