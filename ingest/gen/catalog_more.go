package gen

import (
	"strconv"
)

func caUA(e *event) string {
	switch e.pkg.format {
	case "pypi":
		return "pip/24.2 {\"ci\":true,\"cpu\":\"x86_64\",\"distro\":{\"name\":\"Ubuntu\",\"version\":\"24.04\"},\"implementation\":{\"name\":\"CPython\",\"version\":\"3.12.6\"},\"python\":\"3.12.6\"}"
	case "maven":
		return "Apache-Maven/3.9.9 (Java 21.0.4; Linux 6.8.0-1016-aws)"
	case "generic":
		return "aws-cli/2.18.5 md/awscrt#0.22.0 ua/2.0 os/linux#6.8.0-1016-aws md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off md/command#codeartifact.publish-package-version"
	}
	return "npm/10.8.2 node/v20.18.0 linux x64 workspaces/false ci/github-actions"
}

func (g *Generator) domainReq(e *event, long bool) {
	w := &g.w
	if long {
		w.str("domainName", e.dom.name)
		w.str("domainOwner", e.a.id)
		return
	}
	w.str("domain", e.dom.name)
	w.str("domainOwner", e.a.id)
}

func (g *Generator) pkgReq(e *event) {
	w := &g.w
	g.domainReq(e, false)
	w.str("repository", e.carepo)
	w.str("format", e.pkg.format)
	if e.pkg.namespace != "" {
		w.str("namespace", e.pkg.namespace)
	}
	w.str("package", e.pkg.name)
}

var caNotFound = plainErr("ResourceNotFoundException", "The specified resource was not found")

func buildArtifactGroup() group {
	gr := group{name: "codeartifact", share: 11}
	ca := func(name string, w int, ro bool, req builder, errs ...errSpec) *op {
		return &op{src: srcCA, name: name, w: w, ro: ro, need: needDomain, req: req, errs: errs}
	}
	opGetAuthorizationToken = ca("GetAuthorizationToken", 14, false, func(g *Generator, e *event) {
		g.domainReq(e, false)
		g.w.num("durationSeconds", 43200)
	}, caNotFound)
	opGetAuthorizationToken.resp = func(g *Generator, e *event) { g.w.str("authorizationToken", "HIDDEN_DUE_TO_SECURITY_REASONS") }
	read := ca("ReadFromRepository", 16, true, func(g *Generator, e *event) {
		w := &g.w
		g.domainReq(e, true)
		w.str("repositoryName", e.carepo)
		w.str("packageName", e.pkg.name)
		w.str("packageFormat", e.pkg.format)
		if e.pkg.namespace != "" {
			w.str("packageNamespace", e.pkg.namespace)
		}
		w.str("packageVersion", e.pkg.versions[g.r.IntN(len(e.pkg.versions))])
	}, caNotFound)
	read.ua = caUA
	read.extra = func(g *Generator, e *event) {
		g.w.str("httpMethod", "GET")
		g.w.str("requestUri", "/"+e.pkg.format+"/"+e.pkg.name+"/-/"+e.pkg.name+"-"+e.pkg.versions[0]+".tgz")
	}
	publish := ca("PublishPackageVersion", 3, false, func(g *Generator, e *event) {
		w := &g.w
		g.pkgReq(e)
		w.str("packageVersion", e.pkg.versions[len(e.pkg.versions)-1])
		w.str("assetName", e.pkg.name+".tgz")
		w.str("assetSHA256", randHex(g.r, 64))
		w.flag("unfinished", false)
	}, plainErr("ConflictException", "Package version already exists and is in Published status"), caNotFound)
	publish.ua = caUA
	publish.resp = func(g *Generator, e *event) {
		w := &g.w
		w.str("format", e.pkg.format)
		if e.pkg.namespace != "" {
			w.str("namespace", e.pkg.namespace)
		}
		w.str("package", e.pkg.name)
		w.str("version", e.pkg.versions[len(e.pkg.versions)-1])
		w.str("versionRevision", randToken(g, 44, alnum))
		w.str("status", "Published")
		w.obj("asset")
		w.str("name", e.pkg.name+".tgz")
		w.num("size", int64(2000+g.r.IntN(400000)))
		w.obj("hashes")
		w.str("SHA-256", randHex(g.r, 64))
		w.E()
		w.E()
	}
	add(&gr, opGetAuthorizationToken, read, publish,
		ca("GetRepositoryEndpoint", 10, true, func(g *Generator, e *event) {
			g.domainReq(e, false)
			g.w.str("repository", e.carepo)
			g.w.str("format", e.pkg.format)
		}, caNotFound),
		ca("ListPackages", 6, true, func(g *Generator, e *event) {
			g.domainReq(e, false)
			g.w.str("repository", e.carepo)
		}, caNotFound),
		ca("ListPackageVersions", 5, true, func(g *Generator, e *event) { g.pkgReq(e) }, caNotFound),
		ca("DescribePackageVersion", 4, true, func(g *Generator, e *event) {
			g.pkgReq(e)
			g.w.str("packageVersion", e.pkg.versions[0])
		}, caNotFound),
		&op{src: srcCA, name: "ListRepositories", w: 3, ro: true},
		ca("ListRepositoriesInDomain", 3, true, func(g *Generator, e *event) { g.domainReq(e, false) }),
		ca("DescribeDomain", 2, true, func(g *Generator, e *event) { g.domainReq(e, false) }),
		ca("DescribeRepository", 2, true, func(g *Generator, e *event) {
			g.domainReq(e, false)
			g.w.str("repository", e.carepo)
		}, caNotFound),
		&op{src: srcCA, name: "CreateRepository", w: 1, need: needDomain,
			req: func(g *Generator, e *event) {
				w := &g.w
				g.domainReq(e, false)
				w.str("repository", e.scratch)
				w.str("description", "Scratch repository")
				w.arr("upstreams")
				w.O()
				w.str("repositoryName", e.dom.repos[0])
				w.E()
				w.EA()
			},
			resp: func(g *Generator, e *event) {
				w := &g.w
				w.obj("repository")
				w.str("name", e.scratch)
				w.str("administratorAccount", e.a.id)
				w.str("domainName", e.dom.name)
				w.str("domainOwner", e.a.id)
				w.str("arn", "arn:aws:codeartifact:"+e.region+":"+e.a.id+":repository/"+e.dom.name+"/"+e.scratch)
				w.str("description", "Scratch repository")
				w.arr("upstreams")
				w.O()
				w.str("repositoryName", e.dom.repos[0])
				w.E()
				w.EA()
				w.arr("externalConnections")
				w.EA()
				w.E()
			}, errs: []errSpec{plainErr("ConflictException", "Repository already exists"), plainErr("ServiceQuotaExceededException", "Maximum number of repositories per domain reached")}},
		&op{src: srcCA, name: "UpdatePackageVersionsStatus", w: 1, need: needDomain,
			req: func(g *Generator, e *event) {
				g.pkgReq(e)
				g.w.strs("versions", e.pkg.versions[0])
				g.w.str("targetStatus", "Archived")
			},
			resp: func(g *Generator, e *event) {
				w := &g.w
				w.obj("successfulVersions")
				w.obj(e.pkg.versions[0])
				w.str("revision", randToken(g, 44, alnum))
				w.str("status", "Archived")
				w.E()
				w.E()
				w.obj("failedVersions")
				w.E()
			}, errs: []errSpec{caNotFound}},
		&op{src: srcCA, name: "AssociateExternalConnection", w: 1, need: needDomain,
			req: func(g *Generator, e *event) {
				g.domainReq(e, false)
				g.w.str("repository", e.carepo)
				g.w.str("externalConnection", "public:npmjs")
			}, errs: []errSpec{plainErr("ValidationException", "Repository already has an external connection")}},
	)
	return gr
}

func buildCodeStarGroup() group {
	gr := group{name: "codestar", share: 3}
	pid := func(g *Generator, e *event) { g.w.str("id", e.csp.id) }
	pid2 := func(g *Generator, e *event) { g.w.str("projectId", e.csp.id) }
	nf := fmtErr("ProjectNotFoundException", "The project ID was not found")
	add(&gr,
		&op{src: srcCS, name: "DescribeProject", w: 10, ro: true, need: needCSProject, req: pid, errs: []errSpec{nf}},
		&op{src: srcCS, name: "ListProjects", w: 10, ro: true},
		&op{src: srcCS, name: "ListTeamMembers", w: 6, ro: true, need: needCSProject, req: pid2, errs: []errSpec{nf}},
		&op{src: srcCS, name: "ListResources", w: 5, ro: true, need: needCSProject, req: pid2, errs: []errSpec{nf}},
		&op{src: srcCS, name: "ListUserProfiles", w: 3, ro: true},
		&op{src: srcCS, name: "DescribeUserProfile", w: 3, ro: true, need: needCSProject,
			req:  func(g *Generator, e *event) { g.w.str("userArn", e.a.humans[0].arn) },
			errs: []errSpec{plainErr("UserProfileNotFoundException", "The user profile was not found")}},
		&op{src: srcCS, name: "ListTagsForProject", w: 2, ro: true, need: needCSProject, req: pid},
		&op{src: srcCS, name: "AssociateTeamMember", w: 1, need: needCSProject,
			req: func(g *Generator, e *event) {
				w := &g.w
				pid2(g, e)
				w.str("userArn", e.a.humans[1].arn)
				w.str("projectRole", []string{"Contributor", "Viewer", "Owner"}[g.r.IntN(3)])
				w.flag("remoteAccessAllowed", g.r.IntN(2) == 0)
				w.k("clientRequestToken")
				g.uuid()
			},
			resp: func(g *Generator, e *event) {
				g.w.k("clientRequestToken")
				g.uuid()
			},
			errs: []errSpec{nf, plainErr("TeamMemberAlreadyAssociatedException", "The team member is already associated with the role in this project")}},
		&op{src: srcCS, name: "DisassociateTeamMember", w: 1, need: needCSProject,
			req: func(g *Generator, e *event) {
				pid2(g, e)
				g.w.str("userArn", e.a.humans[1].arn)
			}, errs: []errSpec{nf}},
		&op{src: srcCS, name: "UpdateProject", w: 1, need: needCSProject,
			req: func(g *Generator, e *event) {
				pid(g, e)
				g.w.str("description", "Team project for "+e.csp.name)
			}, errs: []errSpec{nf}},
		&op{src: srcCS, name: "CreateProject", w: 1, need: needCSProject,
			req: func(g *Generator, e *event) {
				w := &g.w
				w.str("id", e.scratch[:min(len(e.scratch), 15)])
				w.str("name", e.scratch)
				w.str("description", "AWS CodeStar created project")
				w.k("clientRequestToken")
				g.uuid()
			},
			resp: func(g *Generator, e *event) {
				w := &g.w
				w.str("id", e.scratch[:min(len(e.scratch), 15)])
				w.str("arn", "arn:aws:codestar:"+e.region+":"+e.a.id+":project/"+e.scratch[:min(len(e.scratch), 15)])
				w.k("clientRequestToken")
				g.uuid()
			}, errs: []errSpec{plainErr("ProjectAlreadyExistsException", "A project with the same ID already exists in this region for the AWS account"),
				plainErr("ValidationException", "Project ID must be between 2 and 15 characters")}},
		&op{src: srcCS, name: "DeleteProject", w: 1, need: needCSProject,
			req: func(g *Generator, e *event) {
				g.w.str("id", e.scratch[:min(len(e.scratch), 15)])
				g.w.flag("deleteStack", true)
			},
			resp: func(g *Generator, e *event) {
				g.w.str("stackId", "arn:aws:cloudformation:"+e.region+":"+e.a.id+":stack/awscodestar-"+e.scratch+"/"+randUUID(g.r))
				g.w.str("projectArn", "arn:aws:codestar:"+e.region+":"+e.a.id+":project/"+e.scratch[:min(len(e.scratch), 15)])
			}},
	)
	return gr
}

// The rule CodeStar Notifications manages in EventBridge for each account
// and region.
const notifEventRule = "awscodestarnotifications-rule"

func ruleARN(e *event) string {
	return "arn:aws:codestar-notifications:" + e.region + ":" + e.a.id + ":notificationrule/" + e.rule.id
}

func (g *Generator) eventTypeIDs(e *event) {
	if e.rule != nil && len(e.rule.resource) > 0 && e.rule.resource[8] == 'o' { // arn:aws:codepipeline
		g.w.strs("eventTypeIds", "codepipeline-pipeline-pipeline-execution-failed", "codepipeline-pipeline-pipeline-execution-succeeded", "codepipeline-pipeline-manual-approval-needed")
		return
	}
	g.w.strs("eventTypeIds", "codecommit-repository-pull-request-created", "codecommit-repository-pull-request-merged")
}

func buildNotificationsGroup() group {
	gr := group{name: "codestar-notifications", share: 5}
	arn := func(g *Generator, e *event) { g.w.str("arn", ruleARN(e)) }
	nf := plainErr("ResourceNotFoundException", "Notification rule not found")
	notifyAfter := func(ops ...**op) builder {
		return func(g *Generator, e *event) {
			for _, o := range ops {
				g.queue(followUp{op: *o, a: e.a, after: e.t, by: byNotif, invoker: "codestar-notifications.amazonaws.com", rule: e.rule})
			}
		}
	}
	opCreateNotificationRule = &op{src: srcCSN, name: "CreateNotificationRule", w: 1, need: needRule,
		req: func(g *Generator, e *event) {
			w := &g.w
			w.str("name", e.rule.name)
			w.str("resource", e.rule.resource)
			g.eventTypeIDs(e)
			w.arr("targets")
			w.O()
			w.str("targetType", "SNS")
			w.str("targetAddress", e.rule.topic)
			w.E()
			w.EA()
			w.str("detailType", "FULL")
			w.str("status", "ENABLED")
			w.k("clientRequestToken")
			g.uuid()
			w.obj("tags")
			w.E()
		},
		resp:  func(g *Generator, e *event) { g.w.str("arn", ruleARN(e)) },
		after: notifyAfter(&opPutRule, &opPutTargets),
		errs: []errSpec{plainErr("ResourceAlreadyExistsException", "A notification rule with this name already exists"),
			plainErr("ValidationException", "The target address is not valid for target type SNS")},
	}
	add(&gr, opCreateNotificationRule,
		&op{src: srcCSN, name: "DescribeNotificationRule", w: 10, ro: true, need: needRule, req: arn, errs: []errSpec{nf}},
		&op{src: srcCSN, name: "ListNotificationRules", w: 10, ro: true, need: needRule,
			req: func(g *Generator, e *event) {
				w := &g.w
				w.arr("filters")
				w.O()
				w.str("name", "RESOURCE")
				w.str("value", e.rule.resource)
				w.E()
				w.EA()
			}},
		&op{src: srcCSN, name: "ListEventTypes", w: 6, ro: true,
			req: func(g *Generator, e *event) {
				w := &g.w
				w.arr("filters")
				w.O()
				w.str("name", "SERVICE_NAME")
				w.str("value", []string{"CodePipeline", "CodeCommit", "CodeBuild", "CodeDeploy"}[g.r.IntN(4)])
				w.E()
				w.EA()
			}},
		&op{src: srcCSN, name: "ListTargets", w: 5, ro: true},
		&op{src: srcCSN, name: "ListTagsForResource", w: 2, ro: true, need: needRule, req: arn, errs: []errSpec{nf}},
		&op{src: srcCSN, name: "UpdateNotificationRule", w: 1, need: needRule,
			req: func(g *Generator, e *event) {
				arn(g, e)
				g.eventTypeIDs(e)
				g.w.str("status", []string{"ENABLED", "DISABLED"}[g.r.IntN(2)])
			}, after: notifyAfter(&opPutRule), errs: []errSpec{nf}},
		&op{src: srcCSN, name: "DeleteNotificationRule", w: 1, need: needRule, req: arn,
			resp:  arn,
			after: notifyAfter(&opRemoveTargets, &opDeleteRule)},
		&op{src: srcCSN, name: "Subscribe", w: 1, need: needRule,
			req: func(g *Generator, e *event) {
				w := &g.w
				arn(g, e)
				w.obj("target")
				w.str("targetType", "AWSChatbotSlack")
				w.str("targetAddress", "arn:aws:chatbot::"+e.a.id+":chat-configuration/slack-channel/deployments")
				w.E()
			}, resp: arn, errs: []errSpec{nf}},
		&op{src: srcCSN, name: "Unsubscribe", w: 1, need: needRule,
			req: func(g *Generator, e *event) {
				arn(g, e)
				g.w.str("targetAddress", e.rule.topic)
			}, resp: arn, errs: []errSpec{nf}},
	)
	// EventBridge calls that CodeStar Notifications makes with its
	// service-linked role, logged under events.amazonaws.com.
	opPutRule = &op{src: srcEV, name: "PutRule", w: 2, need: needRule, by: byNotif,
		req: func(g *Generator, e *event) {
			w := &g.w
			w.str("name", notifEventRule)
			w.str("eventPattern", `{"source":["aws.codepipeline","aws.codecommit","aws.codebuild","aws.codedeploy"],"resources":["`+e.rule.resource+`"]}`)
			w.str("state", "ENABLED")
			w.str("description", "This rule is used to route CodeBuild, CodeCommit, CodePipeline, and other Code Suite notifications to CodeStar Notifications")
		},
		resp: func(g *Generator, e *event) {
			g.w.str("ruleArn", "arn:aws:events:"+e.region+":"+e.a.id+":rule/"+notifEventRule)
		}}
	opPutTargets = &op{src: srcEV, name: "PutTargets", w: 2, need: needRule, by: byNotif,
		req: func(g *Generator, e *event) {
			w := &g.w
			w.str("rule", notifEventRule)
			w.arr("targets")
			w.O()
			w.str("id", "codestar-notifications-"+e.region)
			w.str("arn", "arn:aws:codestar-notifications:"+e.region+"::")
			w.E()
			w.EA()
		},
		resp: func(g *Generator, e *event) {
			g.w.num("failedEntryCount", 0)
			g.w.arr("failedEntries")
			g.w.EA()
		}}
	opRemoveTargets = &op{src: srcEV, name: "RemoveTargets", w: 1, need: needRule, by: byNotif,
		req: func(g *Generator, e *event) {
			g.w.str("rule", notifEventRule)
			g.w.strs("ids", "codestar-notifications-"+e.region)
		},
		resp: func(g *Generator, e *event) {
			g.w.num("failedEntryCount", 0)
			g.w.arr("failedEntries")
			g.w.EA()
		}}
	opDeleteRule = &op{src: srcEV, name: "DeleteRule", w: 1, need: needRule, by: byNotif,
		req: func(g *Generator, e *event) { g.w.str("name", notifEventRule) }}
	add(&gr, opPutRule, opPutTargets, opRemoveTargets, opDeleteRule,
		&op{src: srcEV, name: "DescribeRule", w: 6, ro: true, need: needRule, by: byNotif,
			req: func(g *Generator, e *event) { g.w.str("name", notifEventRule) }},
		&op{src: srcEV, name: "ListTargetsByRule", w: 3, ro: true, need: needRule, by: byNotif,
			req: func(g *Generator, e *event) { g.w.str("rule", notifEventRule) }},
	)
	return gr
}

func buildConnectionsGroup() group {
	gr := group{name: "codeconnections", share: 5}
	carn := func(g *Generator, e *event) { g.w.str("ConnectionArn", e.conn.arn) }
	nf := plainErr("ResourceNotFoundException", "Connection not found")
	opUseConnection = &op{src: srcCSC, name: "UseConnection", w: 10, need: needConn, by: byPipeline,
		req: func(g *Generator, e *event) {
			w := &g.w
			w.str("connectionArn", e.conn.arn)
			w.str("referenceType", "COMMIT")
			w.obj("reference")
			repo := e.conn.owner + "/" + e.a.repos[0].name
			if e.pipe != nil && e.pipe.ghRepo != "" {
				repo = e.pipe.ghRepo
			}
			w.str("FullRepositoryId", repo)
			w.str("Commit", g.sha())
			w.E()
		},
		errs: []errSpec{plainErr("ResourceUnavailableException", "Connection is not available")}}
	add(&gr, opUseConnection,
		&op{src: srcCSC, name: "GetConnection", w: 10, ro: true, need: needConn, req: carn, errs: []errSpec{nf}},
		&op{src: srcCSC, name: "ListConnections", w: 8, ro: true,
			req: func(g *Generator, e *event) {
				g.w.str("ProviderTypeFilter", []string{"GitHub", "Bitbucket", "GitLab"}[g.r.IntN(3)])
				g.w.num("MaxResults", 50)
			}},
		&op{src: srcCSC, name: "PassConnection", w: 4, need: needConn,
			req: func(g *Generator, e *event) { g.w.str("connectionArn", e.conn.arn) }},
		&op{src: srcCSC, name: "GetConnectionToken", w: 2, ro: true, need: needConn,
			req: func(g *Generator, e *event) { g.w.str("connectionArn", e.conn.arn) }},
		&op{src: srcCSC, name: "ListHosts", w: 3, ro: true},
		&op{src: srcCSC, name: "GetHost", w: 2, ro: true, need: needHost,
			req: func(g *Generator, e *event) { g.w.str("HostArn", e.host.arn) }},
		&op{src: srcCSC, name: "ListTagsForResource", w: 2, ro: true, need: needConn,
			req: func(g *Generator, e *event) { g.w.str("ResourceArn", e.conn.arn) }},
		&op{src: srcCSC, name: "CreateConnection", w: 1, need: needConn,
			req: func(g *Generator, e *event) {
				g.w.str("ProviderType", e.conn.provider)
				g.w.str("ConnectionName", e.scratch)
			},
			resp: func(g *Generator, e *event) {
				g.w.str("ConnectionArn", "arn:aws:"+iamPrefix[e.src]+":"+e.region+":"+e.a.id+":connection/"+randUUID(g.r))
			}, errs: []errSpec{plainErr("LimitExceededException", "Exceeded the maximum limit for connections.")}},
		&op{src: srcCSC, name: "DeleteConnection", w: 1, need: needConn,
			req: func(g *Generator, e *event) {
				g.w.str("ConnectionArn", "arn:aws:"+iamPrefix[e.src]+":"+e.region+":"+e.a.id+":connection/"+randUUID(g.r))
			}, errs: []errSpec{nf}},
		&op{src: srcCSC, name: "CreateHost", w: 1, need: needHost,
			req: func(g *Generator, e *event) {
				g.w.str("Name", e.scratch)
				g.w.str("ProviderType", e.host.provider)
				g.w.str("ProviderEndpoint", e.host.endpoint)
			},
			resp: func(g *Generator, e *event) {
				g.w.str("HostArn", "arn:aws:codestar-connections:"+e.region+":"+e.a.id+":host/"+e.scratch+"-"+randHex(g.r, 8))
			}, errs: []errSpec{plainErr("LimitExceededException", "Exceeded the maximum limit for hosts.")}},
	)
	return gr
}

func buildCatalystGroup() group {
	gr := group{name: "codecatalyst", share: 3}
	cid := func(g *Generator, e *event) { g.w.str("connectionId", e.a.ccConnection) }
	nf := plainErr("ResourceNotFoundException", "The connection was not found")
	add(&gr,
		&op{src: srcCAT, name: "ListConnections", w: 8, ro: true, req: func(g *Generator, e *event) { g.w.num("maxResults", 25) }},
		&op{src: srcCAT, name: "GetConnection", w: 6, ro: true, req: cid, errs: []errSpec{nf}},
		&op{src: srcCAT, name: "ListIamRolesForConnection", w: 5, ro: true, req: cid, errs: []errSpec{nf}},
		&op{src: srcCAT, name: "GetBillingAuthorization", w: 3, ro: true, req: cid, errs: []errSpec{nf}},
		&op{src: srcCAT, name: "ListTagsForResource", w: 2, ro: true,
			req: func(g *Generator, e *event) {
				g.w.str("resourceArn", "arn:aws:codecatalyst:"+e.region+":"+e.a.id+":/connections/"+e.a.ccConnection)
			}},
		&op{src: srcCAT, name: "GetPendingConnection", w: 1, ro: true},
		&op{src: srcCAT, name: "AssociateIamRoleToConnection", w: 1,
			req: func(g *Generator, e *event) {
				cid(g, e)
				g.w.str("iamRoleArn", "arn:aws:iam::"+e.a.id+":role/CodeCatalystWorkflowDevelopmentRole-"+e.a.ccSpace)
			}, errs: []errSpec{nf, plainErr("ValidationException", "The IAM role trust policy does not allow codecatalyst.amazonaws.com")}},
		&op{src: srcCAT, name: "DisassociateIamRoleFromConnection", w: 1,
			req: func(g *Generator, e *event) {
				cid(g, e)
				g.w.str("iamRoleArn", "arn:aws:iam::"+e.a.id+":role/CodeCatalystPreviewDevelopmentAdministrator-"+randToken(g, 6, "abcdefghijklmnopqrstuvwxyz0123456789"))
			}, errs: []errSpec{nf}},
		&op{src: srcCAT, name: "PutBillingAuthorization", w: 1,
			req: func(g *Generator, e *event) {
				cid(g, e)
				g.w.str("billingTier", "STANDARD")
			}},
		&op{src: srcCAT, name: "AcceptConnection", w: 1,
			req: func(g *Generator, e *event) {
				g.w.k("pendingConnectionId")
				g.uuid()
			},
			resp: func(g *Generator, e *event) {
				g.w.str("connectionId", e.a.ccConnection)
				g.w.str("spaceName", e.a.ccSpace)
			}, errs: []errSpec{plainErr("ConflictException", "The space is already connected to this account")}},
	)
	return gr
}

// Calls other services make on behalf of the developer tools. They only
// appear as follow-ups, plus a rare key rotation (an AwsServiceEvent).
func buildOtherGroup() group {
	gr := group{name: "other", share: 1}
	opAssumeRole = &op{src: srcSTS, name: "AssumeRole", w: 0, ro: true, by: byService,
		req: func(g *Generator, e *event) {
			w := &g.w
			w.str("roleArn", roleFor(e).roleARN)
			w.str("roleSessionName", roleFor(e).session)
			w.num("durationSeconds", 3600)
		},
		resp: func(g *Generator, e *event) {
			w := &g.w
			w.obj("credentials")
			w.str("accessKeyId", iamID(g.r, "ASIA"))
			w.str("sessionToken", "IQoJb3JpZ2luX2VjE"+randToken(g, 120, alnum))
			w.str("expiration", respTime(e.t.Add(3600e9)))
			w.E()
			w.obj("assumedRoleUser")
			w.str("assumedRoleId", roleFor(e).pid)
			w.str("arn", roleFor(e).arn)
			w.E()
		},
		res: func(g *Generator, e *event) {
			w := &g.w
			w.O()
			w.str("accountId", e.a.id)
			w.str("type", "AWS::IAM::Role")
			w.str("ARN", roleFor(e).roleARN)
			w.E()
		}}
	s3req := func(g *Generator, e *event) {
		w := &g.w
		b := bucketFor(e)
		w.str("bucketName", b)
		w.str("Host", b+".s3."+e.region+".amazonaws.com")
		w.str("key", objectKey(g, e))
	}
	s3extra := func(put bool) builder {
		return func(g *Generator, e *event) {
			w := &g.w
			w.str("SignatureVersion", "SigV4")
			w.str("CipherSuite", "TLS_AES_128_GCM_SHA256")
			in, out := 0, 0
			if put {
				in = 20000 + g.r.IntN(2_000_000)
			} else {
				out = 20000 + g.r.IntN(2_000_000)
			}
			w.num("bytesTransferredIn", int64(in))
			w.str("AuthenticationMethod", "AuthHeader")
			w.str("x-amz-id-2", randToken(g, 76, alnum)+"=")
			w.num("bytesTransferredOut", int64(out))
		}
	}
	s3res := func(g *Generator, e *event) {
		w := &g.w
		b := bucketFor(e)
		w.O()
		w.str("type", "AWS::S3::Object")
		w.str("ARN", "arn:aws:s3:::"+b+"/"+e.pipeName()+"/")
		w.E()
		w.O()
		w.str("accountId", e.a.id)
		w.str("type", "AWS::S3::Bucket")
		w.str("ARN", "arn:aws:s3:::"+b)
		w.E()
	}
	opGetObject = &op{src: srcS3, name: "GetObject", ro: true, data: true, req: s3req, extra: s3extra(false), res: s3res}
	opPutObject = &op{src: srcS3, name: "PutObject", data: true, req: s3req, extra: s3extra(true), res: s3res,
		errs: []errSpec{plainErr("AccessDenied", "Access Denied")}}
	rotate := &op{src: srcKMS, name: "RotateKey", w: 1, serviceEvent: true, by: byService,
		extra: func(g *Generator, e *event) {
			g.w.str("keyId", artifactKey(e))
		},
		res: func(g *Generator, e *event) {
			w := &g.w
			w.O()
			w.str("accountId", e.a.id)
			w.str("type", "AWS::KMS::Key")
			w.str("ARN", artifactKey(e))
			w.E()
		}}
	add(&gr, rotate)
	opAssumeRole.prepare()
	opGetObject.prepare()
	opPutObject.prepare()
	return gr
}

// artifactKey is the customer managed key of the account's pipeline
// artifacts in e's region.
func artifactKey(e *event) string {
	return "arn:aws:kms:" + e.region + ":" + e.a.id + ":key/" + randUUID(worldRand(e.a.id, e.region+"kms"))
}

func roleFor(e *event) *principal {
	switch {
	case e.invoker == "codebuild.amazonaws.com" && e.proj != nil:
		return e.proj.role
	case e.pipe != nil:
		return e.pipe.role
	case e.proj != nil:
		return e.proj.role
	}
	return e.a.deployRole
}

func bucketFor(e *event) string {
	if e.pipe != nil {
		return e.pipe.bucket
	}
	return "codebuild-" + e.region + "-" + e.a.id + "-artifacts"
}

func objectKey(g *Generator, e *event) string {
	name := e.pipeName()
	if e.pipe == nil && e.proj != nil {
		name = e.proj.name
	}
	return name[:min(20, len(name))] + "/" + []string{"SourceArti", "BuildArtif"}[g.r.IntN(2)] + "/" + randToken(g, 7, alnum)
}

func buildCatalog() {
	groups = []group{
		buildPipelineGroup(),
		buildBuildGroup(),
		buildCommitGroup(),
		buildDeployGroup(),
		buildArtifactGroup(),
		buildNotificationsGroup(),
		buildConnectionsGroup(),
		buildCodeStarGroup(),
		buildCatalystGroup(),
		buildOtherGroup(),
	}
	for _, gr := range groups {
		groupW = append(groupW, gr.share)
	}
	_ = strconv.Itoa
}
