package record

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		kind Kind
		raw  string
		want error
	}{
		{name: "empty", kind: KindCloudTrail, raw: "", want: ErrNotObject},
		{name: "array", kind: KindCloudTrail, raw: `[{"eventID":"x"}]`, want: ErrNotObject},
		{name: "string", kind: KindCloudTrail, raw: `"eventID"`, want: ErrNotObject},
		{name: "null", kind: KindCodeCatalyst, raw: `null`, want: ErrNotObject},
		{name: "truncated", kind: KindCloudTrail, raw: `{"eventID":"x",`, want: ErrNotObject},
		{name: "trailing comma", kind: KindCloudTrail, raw: `{"eventID":"x",}`, want: ErrNotObject},
		{name: "doc ellipsis", kind: KindCloudTrail, raw: `{"eventID":"x", ... additional entries ...}`, want: ErrNotObject},
		{name: "two objects", kind: KindCloudTrail, raw: `{}{}`, want: ErrNotObject},
		{name: "bad number", kind: KindCloudTrail, raw: `{"a":1.2.3}`, want: ErrNotObject},
		{name: "nan", kind: KindCloudTrail, raw: `{"a":NaN}`, want: ErrNotObject},
		{name: "inf", kind: KindCloudTrail, raw: `{"a":-Inf}`, want: ErrNotObject},
		{name: "plus number", kind: KindCloudTrail, raw: `{"a":[+1]}`, want: ErrNotObject},
		{name: "leading zero", kind: KindCloudTrail, raw: `{"a":{"b":01}}`, want: ErrNotObject},
		{name: "bare dot", kind: KindCloudTrail, raw: `{"a":1.}`, want: ErrNotObject},
		{name: "bare exponent", kind: KindCloudTrail, raw: `{"a":1e}`, want: ErrNotObject},
		{name: "bad escape", kind: KindCloudTrail, raw: `{"a":"\x41"}`, want: ErrNotObject},
		{name: "short unicode escape", kind: KindCloudTrail, raw: `{"a":"\u12"}`, want: ErrNotObject},
		{name: "bad escape in key", kind: KindCloudTrail, raw: `{"\q":1}`, want: ErrNotObject},
		{name: "raw newline before an escape", kind: KindCloudTrail, raw: "{\"policy\":\"{\n\\\"Sid\\\": 1}\"}", want: ErrNotObject},
		{name: "raw tab in key", kind: KindCloudTrail, raw: "{\"a\tb\":1}", want: ErrNotObject},
		{name: "missing colon", kind: KindCloudTrail, raw: `{"a" 1}`, want: ErrNotObject},
		{name: "bad literal", kind: KindCloudTrail, raw: `{"a":tru}`, want: ErrNotObject},
		{name: "unknown kind", kind: 9, raw: `{}`, want: ErrUnknownKind},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.kind, []byte(tt.raw))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse(%q) error = %v, want %v", tt.raw, err, tt.want)
			}
		})
	}
}

func TestParseFields(t *testing.T) {
	tests := []struct {
		name string
		kind Kind
		raw  string
		want Event // compared on the fields set here, plus Problems
	}{
		{
			name: "empty object",
			kind: KindCloudTrail,
			raw:  `{}`,
			want: Event{Service: "other", Problems: []string{"eventTime: missing"}},
		},
		{
			name: "account falls back to userIdentity.accountId",
			kind: KindCloudTrail,
			raw:  `{"eventTime":"2024-01-02T03:04:05Z","userIdentity":{"type":"IAMUser","accountId":"444455556666","arn":"arn:aws:iam::444455556666:user/division_abc/subdivision_xyz/Bob"}}`,
			want: Event{Service: "other", Account: "444455556666", UserAccount: "444455556666", UserType: "IAMUser",
				UserARN: "arn:aws:iam::444455556666:user/division_abc/subdivision_xyz/Bob", UserName: "Bob"},
		},
		{
			name: "readOnly as string",
			kind: KindCloudTrail,
			raw:  `{"eventTime":"2024-01-02T03:04:05Z","readOnly":"TRUE"}`,
			want: Event{Service: "other", ReadOnly: "true"},
		},
		{
			name: "readOnly number is a problem",
			kind: KindCloudTrail,
			raw:  `{"eventTime":"2024-01-02T03:04:05Z","readOnly":1}`,
			want: Event{Service: "other", Problems: []string{`readOnly: unexpected value "1"`}},
		},
		{
			name: "scalars of other types take their text",
			kind: KindCloudTrail,
			raw:  `{"eventTime":"2024-01-02T03:04:05Z","eventVersion":1.1,"awsRegion":true,"errorCode":null}`,
			want: Event{Service: "other", Version: "1.1", Region: "true"},
		},
		{
			name: "objects where strings belong",
			kind: KindCloudTrail,
			raw:  `{"eventTime":{"t":"2024-01-02T03:04:05Z"},"eventName":["A","B"],"userIdentity":{"type":{}}}`,
			want: Event{Service: "other", Problems: []string{
				"eventTime: expected a string, got an object",
				"eventName: expected a string, got an array",
				"userIdentity.type: expected a string, got an object",
			}},
		},
		{
			name: "userIdentity not an object",
			kind: KindCloudTrail,
			raw:  `{"eventTime":"2024-01-02T03:04:05Z","userIdentity":"root"}`,
			want: Event{Service: "other", Problems: []string{"userIdentity: expected an object, got string"}},
		},
		{
			name: "first duplicate key wins",
			kind: KindCloudTrail,
			raw:  `{"eventTime":"2024-01-02T03:04:05Z","eventName":"A","eventName":"B"}`,
			want: Event{Service: "other", Name: "A"},
		},
		{
			name: "nested keys with typed names are not typed fields",
			kind: KindCloudTrail,
			raw:  `{"eventTime":"2024-01-02T03:04:05Z","requestParameters":{"eventSource":"codebuild.amazonaws.com","type":"x"}}`,
			want: Event{Service: "other"},
		},
		{
			name: "codecatalyst defaults",
			kind: KindCodeCatalyst,
			raw:  `{"id":"e1","eventName":"getSpace","eventTime":"2024-01-02T03:04:05Z","operationType":"READONLY","userIdentity":{"userType":"USER","userName":"bob","awsAccountId":"111122223333","principalId":"p1"},"spaceName":"example-corp"}`,
			want: Event{Service: "codecatalyst", Source: "codecatalyst.amazonaws.com", Name: "getSpace", ReadOnly: "true",
				UserType: "USER", UserName: "bob", Account: "111122223333", UserAccount: "111122223333", PrincipalID: "p1",
				Resources: []string{"example-corp"}},
		},
		{
			name: "codecatalyst odd operationType",
			kind: KindCodeCatalyst,
			raw:  `{"id":"e2","eventTime":"2024-01-02T03:04:05Z","operationType":"WRITE","organizationId":"org-1"}`,
			want: Event{Service: "codecatalyst", Source: "codecatalyst.amazonaws.com", Problems: []string{`operationType: unexpected value "WRITE"`}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Parse(tt.kind, []byte(tt.raw))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got := ev
			got.Kind, got.ID, got.Time, got.Leaves, got.Raw = 0, "", time.Time{}, Leaves{}, nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%s)\n got %+v\nwant %+v", tt.raw, got, tt.want)
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	want := time.Date(2023, 7, 10, 11, 42, 36, 0, time.UTC)
	tests := []struct {
		name      string
		eventTime string // JSON text
		want      time.Time
		problem   string
	}{
		{name: "rfc3339 Z", eventTime: `"2023-07-10T11:42:36Z"`, want: want},
		{name: "rfc3339 millis", eventTime: `"2023-07-10T11:42:36.250Z"`, want: want.Add(250 * time.Millisecond)},
		{name: "rfc3339 offset", eventTime: `"2023-07-10T13:42:36+02:00"`, want: want},
		{name: "space separated", eventTime: `"2023-07-10 11:42:36"`, want: want},
		{name: "space separated fraction", eventTime: `"2023-07-10 11:42:36.5"`, want: want.Add(500 * time.Millisecond)},
		{name: "no zone", eventTime: `"2023-07-10T11:42:36"`, want: want},
		{name: "epoch seconds", eventTime: `1688989356`, want: want},
		{name: "epoch seconds fraction", eventTime: `1688989356.25`, want: want.Add(250 * time.Millisecond)},
		{name: "epoch millis", eventTime: `1688989356123`, want: want.Add(123 * time.Millisecond)},
		{name: "epoch exponent", eventTime: `1.688989356e9`, want: want},
		{name: "wrong", eventTime: `"ThisIsAWrongEventTime"`, problem: `eventTime: cannot parse "ThisIsAWrongEventTime"`},
		{name: "epoch as string", eventTime: `"1688989356"`, problem: `eventTime: cannot parse "1688989356"`},
		{name: "negative epoch", eventTime: `-5`, problem: `eventTime: cannot parse "-5"`},
		{name: "far future epoch", eventTime: `1e300`, problem: `eventTime: cannot parse "1e300"`},
		{name: "boolean", eventTime: `true`, problem: `eventTime: cannot parse "true"`},
		{name: "null", eventTime: `null`, problem: `eventTime: missing`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Parse(KindCloudTrail, []byte(`{"eventID":"x","eventTime":`+tt.eventTime+`}`))
			if err != nil {
				t.Fatal(err)
			}
			if !ev.Time.Equal(tt.want) || (!ev.Time.IsZero() && ev.Time.Location() != time.UTC) {
				t.Errorf("Time = %v, want %v", ev.Time, tt.want)
			}
			var wantProblems []string
			if tt.problem != "" {
				wantProblems = []string{tt.problem}
			}
			if !slices.Equal(ev.Problems, wantProblems) {
				t.Errorf("Problems = %q, want %q", ev.Problems, wantProblems)
			}
		})
	}
}

func TestParseTimestampFallback(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		want    time.Time
		problem string
	}{
		{name: "only @timestamp", raw: `{"@timestamp":"2020-09-14T01:19:40.000Z"}`, want: time.Date(2020, 9, 14, 1, 19, 40, 0, time.UTC)},
		{name: "eventTime wins", raw: `{"@timestamp":"2020-09-14T01:19:40Z","eventTime":"2020-09-14T01:19:39Z"}`, want: time.Date(2020, 9, 14, 1, 19, 39, 0, time.UTC)},
		{name: "bad eventTime no fallback", raw: `{"@timestamp":"2020-09-14T01:19:40Z","eventTime":"yesterday"}`, problem: `eventTime: cannot parse "yesterday"`},
		{name: "bad @timestamp", raw: `{"@timestamp":"soon"}`, problem: `@timestamp: cannot parse "soon"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Parse(KindCloudTrail, []byte(tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			if !ev.Time.Equal(tt.want) {
				t.Errorf("Time = %v, want %v", ev.Time, tt.want)
			}
			var wantProblems []string
			if tt.problem != "" {
				wantProblems = []string{tt.problem}
			}
			if !slices.Equal(ev.Problems, wantProblems) {
				t.Errorf("Problems = %q, want %q", ev.Problems, wantProblems)
			}
		})
	}
}

func TestUserName(t *testing.T) {
	tests := []struct {
		name         string
		userIdentity string
		want         string
	}{
		{name: "userName wins", userIdentity: `{"type":"IAMUser","userName":"Alice","arn":"arn:aws:iam::111122223333:user/Bob"}`, want: "Alice"},
		{name: "iam user from arn", userIdentity: `{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/team/ci/deployer"}`, want: "deployer"},
		{name: "assumed role from arn", userIdentity: `{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/DevOpsAdmin/jane","sessionContext":{"sessionIssuer":{"userName":"DevOpsAdmin"}}}`, want: "DevOpsAdmin/jane"},
		{name: "assumed role from issuer", userIdentity: `{"type":"AssumedRole","sessionContext":{"sessionIssuer":{"type":"Role","userName":"DevOpsAdmin"}}}`, want: "DevOpsAdmin"},
		{name: "root", userIdentity: `{"type":"Root","arn":"arn:aws:iam::111122223333:root"}`, want: "root"},
		{name: "aws service", userIdentity: `{"type":"AWSService","invokedBy":"codepipeline.amazonaws.com"}`, want: "codepipeline.amazonaws.com"},
		{name: "federated", userIdentity: `{"type":"FederatedUser","arn":"arn:aws:sts::111122223333:federated-user/li_juan"}`, want: "li_juan"},
		{name: "unknown type", userIdentity: `{"type":"AWSAccount","principalId":"AIDAEXAMPLE","accountId":"444455556666"}`, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Parse(KindCloudTrail, []byte(`{"eventTime":"2024-01-01T00:00:00Z","userIdentity":`+tt.userIdentity+`}`))
			if err != nil {
				t.Fatal(err)
			}
			if ev.UserName != tt.want {
				t.Errorf("UserName = %q, want %q", ev.UserName, tt.want)
			}
		})
	}
}

func TestServiceOf(t *testing.T) {
	tests := []struct {
		name                                         string
		source, invokedBy, sourceIP, userAgent, want string
	}{
		{name: "codepipeline", source: "codepipeline.amazonaws.com", want: "codepipeline"},
		{name: "codedeploy", source: "codedeploy.amazonaws.com", want: "codedeploy"},
		{name: "codebuild", source: "codebuild.amazonaws.com", want: "codebuild"},
		{name: "codecommit", source: "codecommit.amazonaws.com", want: "codecommit"},
		{name: "codeartifact", source: "codeartifact.amazonaws.com", want: "codeartifact"},
		{name: "codestar", source: "codestar.amazonaws.com", want: "codestar"},
		{name: "codestar notifications", source: "codestar-notifications.amazonaws.com", want: "codestar-notifications"},
		{name: "codestar connections", source: "codestar-connections.amazonaws.com", want: "codeconnections"},
		{name: "codeconnections", source: "codeconnections.amazonaws.com", want: "codeconnections"},
		{name: "codecatalyst", source: "codecatalyst.amazonaws.com", want: "codecatalyst"},
		{name: "case", source: "CodeBuild.AmazonAWS.com", want: "codebuild"},
		{name: "notifications rule", source: "events.amazonaws.com", sourceIP: "codestar-notifications.amazonaws.com", userAgent: "codestar-notifications.amazonaws.com", want: "codestar-notifications"},
		{name: "invoked by pipeline", source: "s3.amazonaws.com", invokedBy: "codepipeline.amazonaws.com", want: "codepipeline"},
		{name: "user agent only", source: "sts.amazonaws.com", sourceIP: "10.0.0.1", userAgent: "codebuild.amazonaws.com", want: "codebuild"},
		{name: "source wins", source: "codebuild.amazonaws.com", invokedBy: "codepipeline.amazonaws.com", want: "codebuild"},
		{name: "other", source: "s3.amazonaws.com", invokedBy: "AWS Internal", sourceIP: "AWS Internal", userAgent: "AWS Internal", want: "other"},
		{name: "user agent mentioning a tool", source: "s3.amazonaws.com", userAgent: "aws-cli/2 command/codebuild.amazonaws.com", want: "other"},
		{name: "empty", want: "other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ServiceOf(tt.source, tt.invokedBy, tt.sourceIP, tt.userAgent)
			if got != tt.want {
				t.Errorf("ServiceOf = %q, want %q", got, tt.want)
			}
			if !slices.Contains(Services, got) {
				t.Errorf("%q is not in Services", got)
			}
		})
	}
}

// TestResources covers the request and response shapes of each tool's API.
func TestResources(t *testing.T) {
	tests := []struct {
		name string
		raw  string // a CloudTrail record without the common fields
		want []string
	}{
		{
			name: "codepipeline CreatePipeline stage and action names",
			raw:  `{"eventSource":"codepipeline.amazonaws.com","eventName":"CreatePipeline","requestParameters":{"pipeline":{"name":"MyFirstPipeline","stages":[{"name":"Source","actions":[{"name":"Source"}]}]}}}`,
			want: []string{"MyFirstPipeline", "Source"},
		},
		{
			name: "codepipeline UpdatePipeline",
			raw:  `{"eventSource":"codepipeline.amazonaws.com","eventName":"UpdatePipeline","requestParameters":{"pipeline":{"name":"web","roleArn":"arn:aws:iam::111122223333:role/pipe","stages":[{"name":"Build","actions":[{"name":"Compile","configuration":{"ProjectName":"web-build"},"outputArtifacts":[{"name":"BuildArtifact"}]}]}]}},"responseElements":{"pipeline":{"name":"web","version":3}}}`,
			want: []string{"web", "arn:aws:iam::111122223333:role/pipe", "Build", "Compile", "web-build"},
		},
		{
			name: "codepipeline StartPipelineExecution name",
			raw:  `{"eventSource":"codepipeline.amazonaws.com","eventName":"StartPipelineExecution","requestParameters":{"name":"web","clientRequestToken":"t"},"responseElements":{"pipelineExecutionId":"e-1"}}`,
			want: []string{"web"},
		},
		{
			name: "codepipeline PutApprovalResult",
			raw:  `{"eventSource":"codepipeline.amazonaws.com","eventName":"PutApprovalResult","requestParameters":{"pipelineName":"web","stageName":"Approve","actionName":"Manual","result":{"summary":"ok","status":"Approved"},"token":"tok"}}`,
			want: []string{"web", "Approve", "Manual"},
		},
		{
			name: "codedeploy CreateDeployment",
			raw:  `{"eventSource":"codedeploy.amazonaws.com","eventName":"CreateDeployment","requestParameters":{"applicationName":"app","deploymentGroupName":"dg","deploymentConfigName":"CodeDeployDefault.AllAtOnce","revision":{"revisionType":"S3","s3Location":{"bucket":"b","key":"k","bundleType":"zip"}}},"responseElements":{"deploymentId":"d-ABC123"}}`,
			want: []string{"app", "dg", "CodeDeployDefault.AllAtOnce", "d-ABC123"},
		},
		{
			name: "codedeploy BatchGetDeployments",
			raw:  `{"eventSource":"codedeploy.amazonaws.com","eventName":"BatchGetDeployments","requestParameters":{"deploymentIds":["d-1","d-2","d-1"]}}`,
			want: []string{"d-1", "d-2"},
		},
		{
			name: "codedeploy CreateApplication",
			raw:  `{"eventSource":"codedeploy.amazonaws.com","eventName":"CreateApplication","requestParameters":{"applicationName":"app","computePlatform":"Server"},"responseElements":{"applicationId":"0d1e2f"}}`,
			want: []string{"app"},
		},
		{
			name: "codebuild StartBuild",
			raw:  `{"eventSource":"codebuild.amazonaws.com","eventName":"StartBuild","requestParameters":{"projectName":"web-build"},"responseElements":{"build":{"id":"web-build:1111-2222","arn":"arn:aws:codebuild:us-west-2:111122223333:build/web-build:1111-2222","projectName":"web-build"}}}`,
			want: []string{"web-build", "web-build:1111-2222", "arn:aws:codebuild:us-west-2:111122223333:build/web-build:1111-2222"},
		},
		{
			name: "codebuild CreateProject",
			raw:  `{"eventSource":"codebuild.amazonaws.com","eventName":"CreateProject","requestParameters":{"name":"web-build","source":{"type":"CODECOMMIT","location":"https://git-codecommit.us-west-2.amazonaws.com/v1/repos/web"},"serviceRole":"arn:aws:iam::111122223333:role/cb","environment":{"type":"LINUX_CONTAINER","environmentVariables":[{"name":"STAGE","value":"prod"}]}},"responseElements":{"project":{"name":"web-build","arn":"arn:aws:codebuild:us-west-2:111122223333:project/web-build","encryptionKey":"arn:aws:kms:us-west-2:111122223333:alias/aws/s3"}}}`,
			want: []string{"web-build", "arn:aws:codebuild:us-west-2:111122223333:project/web-build"},
		},
		{
			name: "codebuild BatchGetBuilds ids",
			raw:  `{"eventSource":"codebuild.amazonaws.com","eventName":"BatchGetBuilds","requestParameters":{"ids":["web-build:1111","arn:aws:codebuild:us-west-2:111122223333:build/api-build:2222"]},"responseElements":{"builds":[{"id":"web-build:1111","buildStatus":"SUCCEEDED"}]}}`,
			want: []string{"web-build:1111", "web-build", "arn:aws:codebuild:us-west-2:111122223333:build/api-build:2222", "api-build"},
		},
		{
			name: "build ids of every codebuild call",
			raw:  `{"eventSource":"codebuild.amazonaws.com","eventName":"BatchDeleteBuilds","requestParameters":{"ids":["web-build:1111"]}}`,
			want: []string{"web-build:1111", "web-build"},
		},
		{
			name: "codebuild StopBuild id",
			raw:  `{"eventSource":"codebuild.amazonaws.com","eventName":"StopBuild","requestParameters":{"id":"web-build:2222"}}`,
			want: []string{"web-build:2222", "web-build"},
		},
		{
			name: "ids of other services are not builds",
			raw:  `{"eventSource":"codecommit.amazonaws.com","eventName":"BatchGetRepositories","requestParameters":{"ids":["x:1"],"id":"y:2"}}`,
			want: nil,
		},
		{
			name: "codecommit CreateRepository",
			raw:  `{"eventSource":"codecommit.amazonaws.com","eventName":"CreateRepository","requestParameters":{"repositoryName":"MyDemoRepo","repositoryDescription":"demo"},"responseElements":{"repositoryMetadata":{"arn":"arn:aws:codecommit:us-east-2:111122223333:MyDemoRepo","repositoryId":"8afe792d","repositoryName":"MyDemoRepo"}},"resources":[{"ARN":"arn:aws:codecommit:us-east-2:111122223333:MyDemoRepo","accountId":"111122223333","type":"AWS::CodeCommit::Repository"}]}`,
			want: []string{"MyDemoRepo", "arn:aws:codecommit:us-east-2:111122223333:MyDemoRepo"},
		},
		{
			name: "codecommit GitPush additionalEventData",
			raw:  `{"eventSource":"codecommit.amazonaws.com","eventName":"GitPush","requestParameters":null,"additionalEventData":{"protocol":"SSH","repositoryName":"web","references":[{"commit":"abc","ref":"refs/heads/main"}]}}`,
			want: []string{"web"},
		},
		{
			name: "codecommit CreateBranch",
			raw:  `{"eventSource":"codecommit.amazonaws.com","eventName":"CreateBranch","requestParameters":{"repositoryName":"web","branchName":"feature/x","commitId":"abc"}}`,
			want: []string{"web", "feature/x"},
		},
		{
			name: "codecommit MergePullRequestByFastForward",
			raw:  `{"eventSource":"codecommit.amazonaws.com","eventName":"MergePullRequestByFastForward","requestParameters":{"pullRequestId":"27","repositoryName":"web","sourceCommitId":"abc"},"responseElements":{"pullRequest":{"pullRequestTargets":[{"repositoryName":"web","destinationReference":"refs/heads/main"}],"authorArn":"arn:aws:iam::111122223333:user/bob"}}}`,
			want: []string{"web", "arn:aws:iam::111122223333:user/bob"},
		},
		{
			name: "codeartifact PublishPackageVersion",
			raw:  `{"eventSource":"codeartifact.amazonaws.com","eventName":"PublishPackageVersion","requestParameters":{"domain":"my-domain","domainOwner":"111122223333","repository":"releases","format":"generic","namespace":"web","package":"web-app","packageVersion":"1.0.0"}}`,
			want: []string{"my-domain", "releases", "web-app"},
		},
		{
			name: "codeartifact GetAuthorizationToken",
			raw:  `{"eventSource":"codeartifact.amazonaws.com","eventName":"GetAuthorizationToken","requestParameters":{"domain":"my-domain","domainOwner":"111122223333","durationSeconds":3600},"responseElements":{"authorizationToken":"HIDDEN_DUE_TO_SECURITY_REASONS"}}`,
			want: []string{"my-domain"},
		},
		{
			name: "codeartifact ReadFromRepository",
			raw:  `{"eventSource":"codeartifact.amazonaws.com","eventName":"ReadFromRepository","requestParameters":{"domainName":"example-domain","repositoryName":"example-repo","packageName":"lodash","packageFormat":"npm"}}`,
			want: []string{"example-domain", "example-repo", "lodash"},
		},
		{
			name: "codestar CreateProject",
			raw:  `{"eventSource":"codestar.amazonaws.com","eventName":"CreateProject","requestParameters":{"id":"my-proj","name":"My Project","stackId":"arn:aws:cloudformation:us-east-1:111122223333:stack/s/1"},"responseElements":{"arn":"arn:aws:codestar:us-east-1:111122223333:project/my-proj","id":"my-proj"}}`,
			want: []string{"My Project", "arn:aws:codestar:us-east-1:111122223333:project/my-proj"},
		},
		{
			name: "codestar-notifications CreateNotificationRule",
			raw:  `{"eventSource":"codestar-notifications.amazonaws.com","eventName":"CreateNotificationRule","requestParameters":{"name":"pr-alerts","resource":"arn:aws:codecommit:us-west-2:111122223333:web","eventTypeIds":["codecommit-repository-pull-request-created"],"targets":[{"targetType":"SNS","targetAddress":"arn:aws:sns:us-west-2:111122223333:alerts"}],"detailType":"FULL"},"responseElements":{"arn":"arn:aws:codestar-notifications:us-west-2:111122223333:notificationrule/abc"}}`,
			want: []string{"pr-alerts", "arn:aws:codestar-notifications:us-west-2:111122223333:notificationrule/abc"},
		},
		{
			name: "codestar-notifications rule via events PutRule",
			raw:  `{"eventSource":"events.amazonaws.com","eventName":"PutRule","sourceIPAddress":"codestar-notifications.amazonaws.com","requestParameters":{"name":"awscodestarnotifications-rule","eventPattern":"{\"source\":[\"aws.codecommit\"]}","state":"ENABLED"},"responseElements":{"ruleArn":"arn:aws:events:us-west-2:111122223333:rule/awscodestarnotifications-rule"}}`,
			want: []string{"arn:aws:events:us-west-2:111122223333:rule/awscodestarnotifications-rule"},
		},
		{
			name: "notification rule object",
			raw:  `{"eventSource":"codestar-notifications.amazonaws.com","eventName":"DescribeNotificationRule","requestParameters":{"arn":"arn:aws:codestar-notifications:us-west-2:111122223333:notificationrule/abc"},"responseElements":{"notificationRule":{"name":"pr-alerts"}}}`,
			want: []string{"arn:aws:codestar-notifications:us-west-2:111122223333:notificationrule/abc", "pr-alerts"},
		},
		{
			name: "codeconnections CreateConnection",
			raw:  `{"eventSource":"codeconnections.amazonaws.com","eventName":"CreateConnection","requestParameters":{"providerType":"GitHub","connectionName":"gh","hostArn":"arn:aws:codeconnections:us-west-2:111122223333:host/h-1"},"responseElements":{"connectionArn":"arn:aws:codeconnections:us-west-2:111122223333:connection/c-1"}}`,
			want: []string{"gh", "arn:aws:codeconnections:us-west-2:111122223333:host/h-1", "arn:aws:codeconnections:us-west-2:111122223333:connection/c-1"},
		},
		{
			name: "codeconnections UseConnection",
			raw:  `{"eventSource":"codestar-connections.amazonaws.com","eventName":"UseConnection","requestParameters":{"connectionArn":"arn:aws:codestar-connections:us-west-2:111122223333:connection/c-1","referenceType":"COMMIT","reference":{"FullRepositoryId":"org/web"}}}`,
			want: []string{"arn:aws:codestar-connections:us-west-2:111122223333:connection/c-1"},
		},
		{
			name: "codecatalyst CloudTrail space and project",
			raw:  `{"eventSource":"codecatalyst.amazonaws.com","eventName":"CreateProject","requestParameters":{"spaceName":"example-corp","displayName":"web"},"responseElements":{"space":{"name":"example-corp"},"project":{"name":"web"}}}`,
			want: []string{"example-corp", "web"},
		},
		{
			name: "name directly under a Get call is not kept",
			raw:  `{"eventSource":"ssm.amazonaws.com","eventName":"GetParameter","requestParameters":{"name":"/prod/db/password","withDecryption":true}}`,
			want: nil,
		},
		{
			name: "name directly under a Delete call",
			raw:  `{"eventSource":"codebuild.amazonaws.com","eventName":"DeleteProject","requestParameters":{"name":"old-build"}}`,
			want: []string{"old-build"},
		},
		{
			name: "eventName after requestParameters",
			raw:  `{"requestParameters":{"name":"late"},"eventName":"CreateProject","eventSource":"codebuild.amazonaws.com"}`,
			want: []string{"late"},
		},
		{
			name: "resources arn keys, empty and non-arn values",
			raw:  `{"resources":[{"ARN":"arn:aws:s3:::b"},{"arn":"arn:aws:s3:::c"},{"ARN":""},{"type":"AWS::S3::Object","ARNPrefix":"arn:aws:s3:::b/"}],"requestParameters":{"roleArn":"not-an-arn","keyArn":"","pipelineName":"","pipeline":{"nested":true}}}`,
			want: []string{"arn:aws:s3:::b", "arn:aws:s3:::c"},
		},
		{
			name: "userIdentity arns are not resources",
			raw:  `{"userIdentity":{"arn":"arn:aws:iam::111122223333:user/bob","sessionContext":{"sessionIssuer":{"arn":"arn:aws:iam::111122223333:role/r"}}}}`,
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Parse(KindCloudTrail, []byte(tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ev.Resources, tt.want) {
				t.Errorf("Resources\n got %q\nwant %q", ev.Resources, tt.want)
			}
		})
	}
}

func TestResourcesManyDistinct(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"eventName":"BatchGetDeployments","requestParameters":{"deploymentIds":[`)
	var want []string
	for i := range 100 {
		id := "d-" + strings.Repeat("X", i%50) // 50 distinct, each twice
		if i < 50 {
			want = append(want, id)
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + id + `"`)
	}
	b.WriteString(`]}}`)
	ev, err := Parse(KindCloudTrail, []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ev.Resources, want) {
		t.Errorf("Resources = %q, want %q", ev.Resources, want)
	}
}

func TestLeaves(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want []Leaf
	}{
		{
			name: "scalars in document order",
			raw:  `{"b":"x","a":1.50,"c":true,"d":false,"e":null,"f":-0,"g":1e3}`,
			want: []Leaf{{"b", "x", true}, {"a", "1.50", false}, {"c", "true", false}, {"d", "false", false}, {"f", "-0", false}, {"g", "1e3", false}},
		},
		{
			name: "nested paths keep key case",
			raw:  `{"requestParameters":{"Pipeline":{"Name":"p"}}}`,
			want: []Leaf{{"requestParameters.Pipeline.Name", "p", true}},
		},
		{
			name: "arrays share the path",
			raw:  `{"a":[1,"two",[3],{"b":4},{"b":[5]},null]}`,
			want: []Leaf{{"a", "1", false}, {"a", "two", true}, {"a", "3", false}, {"a.b", "4", false}, {"a.b", "5", false}},
		},
		{
			name: "empty containers give no leaves",
			raw:  `{"a":{},"b":[],"c":[{}],"d":""}`,
			want: []Leaf{{"d", "", true}},
		},
		{
			name: "escapes are decoded",
			raw:  `{"k\"ey":"a\"b\\c\u00e9\n\ud83d\ude00","policy":"{\"Version\":\"2012-10-17\"}"}`,
			want: []Leaf{{"k\"ey", "a\"b\\cé\n😀", true}, {"policy", `{"Version":"2012-10-17"}`, true}},
		},
		{
			name: "dotted keys kept as is",
			raw:  `{"x-amz.id":{"a.b":"c"}}`,
			want: []Leaf{{"x-amz.id.a.b", "c", true}},
		},
		{
			name: "big numbers as written",
			raw:  `{"n":123456789012345678901234567890,"m":0.1000000000000000055511151231257827}`,
			want: []Leaf{{"n", "123456789012345678901234567890", false}, {"m", "0.1000000000000000055511151231257827", false}},
		},
		{
			name: "long strings kept",
			raw:  `{"s":"` + strings.Repeat("a", 10000) + `"}`,
			want: []Leaf{{"s", strings.Repeat("a", 10000), true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Parse(KindCloudTrail, []byte(tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ev.Leaves.Slice(), tt.want) {
				t.Errorf("Leaves\n got %+v\nwant %+v", ev.Leaves.Slice(), tt.want)
			}
		})
	}
}

func TestContentID(t *testing.T) {
	compact := `{"eventTime":"2024-01-02T03:04:05Z","eventName":"GitPull","note":"a b\t\"c\" \\"}`
	pretty := "{\n  \"eventTime\" : \"2024-01-02T03:04:05Z\",\r\n\t\"eventName\": \"GitPull\",\n  \"note\": \"a b\\t\\\"c\\\" \\\\\"\n}\n"
	changed := `{"eventTime":"2024-01-02T03:04:05Z","eventName":"GitPull","note":"a  b\t\"c\" \\"}`
	tests := []struct {
		name string
		a, b string
		same bool
	}{
		{name: "pretty equals compact", a: compact, b: pretty, same: true},
		{name: "whitespace inside strings counts", a: compact, b: changed, same: false},
		{name: "empty eventID is replaced", a: compact, b: `{"eventID":"",` + compact[1:], same: false},
		{name: "key order does not count", a: compact, b: `{"note":"a b\t\"c\" \\","eventName":"GitPull","eventTime":"2024-01-02T03:04:05Z"}`, same: true},
		{name: "value type counts", a: `{"eventName":"GitPull","n":1}`, b: `{"eventName":"GitPull","n":"1"}`, same: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Parse(KindCloudTrail, []byte(tt.a))
			if err != nil {
				t.Fatal(err)
			}
			b, err := Parse(KindCloudTrail, []byte(tt.b))
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{a.ID, b.ID} {
				if len(id) != 34 || !strings.HasPrefix(id, "h-") {
					t.Errorf("id %q is not h- and 32 hex", id)
				}
			}
			if (a.ID == b.ID) != tt.same {
				t.Errorf("ids %q and %q: same = %v, want %v", a.ID, b.ID, a.ID == b.ID, tt.same)
			}
		})
	}
}

// TestParserReuse checks that Events from one Parser share nothing with it or
// with the caller's input.
func TestParserReuse(t *testing.T) {
	var p Parser
	rawA := []byte(`{"eventID":"a","eventTime":"2024-01-02T03:04:05Z","eventName":"CreateRepository","requestParameters":{"repositoryName":"alpha"}}`)
	a, err := p.Parse(KindCloudTrail, rawA)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Parse(KindCloudTrail, slices.Clone(rawA))
	if err != nil {
		t.Fatal(err)
	}
	for i := range rawA {
		rawA[i] = ' '
	}
	if _, err := p.Parse(KindCloudTrail, []byte(`{"eventID":"bbbbbbbbbbbbbb","eventName":"DeleteRepository","requestParameters":{"repositoryName":"beta-beta-beta"}}`)); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("first Event changed after reuse:\n got %+v\nwant %+v", a, want)
	}
}

func TestParseConcurrent(t *testing.T) {
	raw := []byte(`{"eventID":"a","eventTime":"2024-01-02T03:04:05Z","eventSource":"codebuild.amazonaws.com","requestParameters":{"projectName":"p"}}`)
	want, err := Parse(KindCloudTrail, raw)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	for range 8 {
		go func() {
			for range 200 {
				got, err := Parse(KindCloudTrail, raw)
				if err == nil && !reflect.DeepEqual(got, want) {
					err = errors.New("concurrent Parse gave a different Event")
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func TestHasControl(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{name: "empty", in: "", want: false},
		{name: "text", in: `{"eventName":"GitPush","x":"~\u007f` + "\x7f\xff\x80" + `"}`, want: false},
		{name: "space", in: "0123456789 abcdef", want: false},
		{name: "newline in word", in: "0123\n567", want: true},
		{name: "nul in tail", in: "0123456789\x00", want: true},
		{name: "0x1f after high bytes", in: "\xff\xff\xff\xff\xff\xff\xff\x1f", want: true},
		{name: "tab first", in: "\tabcdefgh", want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hasControl([]byte(tt.in)); got != tt.want {
				t.Errorf("hasControl(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestValidNumber(t *testing.T) {
	for in, want := range map[string]bool{
		"0": true, "-0": true, "10": true, "1.5": true, "1e5": true, "1E+5": true, "-2.5e-3": true,
		"": false, "-": false, "01": false, "1.": false, ".5": false, "1e": false, "1e+": false, "+1": false,
		"NaN": false, "inf": false, "1x": false, "0x1": false,
	} {
		if got := ValidNumber([]byte(in)); got != want {
			t.Errorf("ValidNumber(%q) = %v, want %v", in, got, want)
		}
	}
}
