// Package gen generates realistic CloudTrail events of the AWS developer
// tools, deterministically: the demo dataset (`codetrail serve --demo`,
// `codetrail gen`), test data and benchmark input up to 10M events.
//
// # What it generates
//
// Records follow CloudTrail's record format (eventVersion 1.08-1.11, field
// order as CloudTrail writes it, tlsDetails on API calls, resources[] where
// CloudTrail sets it, responseElements null for read-only calls and errors)
// and use the real API operation names and request shapes of each service.
// Shares of records at N=20000 (bands checked by TestServiceShares):
//
//	codepipeline            ~21%  (17-27)  GetPipelineState, StartPipelineExecution, UpdatePipeline, PollForJobs, ...
//	codebuild               ~17%  (14-24)  BatchGetBuilds, StartBuild, UpdateProject, ...
//	codecommit              ~15%  (11-19)  GitPull, GitPush, GetBranch, CreatePullRequest, ...
//	codedeploy              ~10%  (8-15)   GetDeployment, CreateDeployment, ...
//	codeartifact            ~12%  (8-15)   ReadFromRepository, GetAuthorizationToken, PublishPackageVersion, ...
//	codestar-notifications   ~5%  (3-7)    incl. events.amazonaws.com PutRule/PutTargets/DescribeRule/DeleteRule
//	                                       by the service-linked role, invokedBy codestar-notifications.amazonaws.com
//	codeconnections          ~5%  (3.5-8)  codestar-connections.amazonaws.com and codeconnections.amazonaws.com
//	codestar                 ~3%  (1.5-4.5)
//	codecatalyst             ~3%  (1.5-4.5) account-connection calls (ListConnections, AssociateIamRoleToConnection, ...)
//	other                    ~9%  (3-12)   sts AssumeRole (AWSService), s3 GetObject/PutObject data events and
//	                                       kms RotateKey (AwsServiceEvent), caused by pipelines and builds
//
// Read-only calls are the majority; about 5% of calls fail (3% of reads, 8%
// of writes) with the service's own errorCode and errorMessage, IAM's
// AccessDenied/AccessDeniedException message, or ThrottlingException.
// A StartPipelineExecution is followed by the calls it causes (AssumeRole,
// source reads, artifact PutObject, StartBuild and BatchGetBuilds by the
// pipeline role, CreateDeployment), a StartBuild by the build's, a
// CreateNotificationRule by the EventBridge rule calls.
//
// # The world
//
// Each account has a stable set of principals (IAM users, console users,
// SSO and CI role sessions, rarely root, service roles) and resources
// (pipelines, build projects, repositories, applications, a CodeArtifact
// domain, CodeStar projects, notification rules, connections), spread over
// the regions. The world depends only on Config.Accounts and Config.Regions,
// never on Seed, so names are stable; Seed picks the event stream.
//
// # Anchors
//
// For Events >= 200 (so for every N >= 1000) the stream always contains, in
// account 111122223333 (Accounts[0]) and us-east-1 (Regions[0]):
//
//   - pipeline "MyFirstPipeline" (source CodeCommit MyDemoRepo, build
//     MyDemoProject, approval, deploy CodeDeploy MyDemoApplication /
//     MyDemoDeploymentGroup): one CreatePipeline (by JaneDoe, before any
//     other call naming it), two UpdatePipeline and four
//     StartPipelineExecution, plus random calls on it afterwards;
//   - IAM user JaneDoe (arn:aws:iam::111122223333:user/JaneDoe), who creates
//     and updates the pipeline, and whose DeletePipeline of it fails with
//     AccessDenied (she makes random calls too, some denied);
//   - CreateNotificationRule for MyFirstPipeline followed by PutRule and
//     PutTargets under events.amazonaws.com, with sourceIPAddress, userAgent
//     and userIdentity.invokedBy "codestar-notifications.amazonaws.com".
//
// # Time, delivery and oddities
//
// Event times fall in [Start, Start+Span) (default: the 30 days before
// 2026-11-01T00:00:00Z, independent of the clock), weighted towards working
// hours, in 5-minute delivery windows: the stream is ordered window by window
// and unordered inside a window, as records inside a CloudTrail file are.
// At DuplicateRate a record is delivered again in a later window (same
// eventID); at OddityRate a record gets null requestParameters,
// sourceIPAddress "AWS Internal", or a "filter" request parameter that is a
// string where it is otherwise an object (ListPipelineExecutions). Both
// rates are 0 in DefaultConfig and 0.1% in DemoConfig.
//
// # Cost and ownership
//
// Next appends to the caller's buffer and keeps no reference to it: about
// 2-4 µs and one small allocation per ~1.4 KB record. WriteTrail streams
// (memory: one 5-minute window of records); its CPU work, generation plus
// gzip at BestSpeed, runs at ~100-200k events/s on one core, and on small
// windows the file system's per-file cost dominates. Nothing here is safe
// for concurrent use; run one Generator per goroutine.
package gen
