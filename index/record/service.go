package record

import "strings"

// Service names, the values of Event.Service.
const (
	ServiceCodePipeline          = "codepipeline"
	ServiceCodeDeploy            = "codedeploy"
	ServiceCodeBuild             = "codebuild"
	ServiceCodeCommit            = "codecommit"
	ServiceCodeArtifact          = "codeartifact"
	ServiceCodeStar              = "codestar"
	ServiceCodeStarNotifications = "codestar-notifications"
	ServiceCodeConnections       = "codeconnections"
	ServiceCodeCatalyst          = "codecatalyst"
	ServiceOther                 = "other"
)

// Services lists every value Event.Service can take: the nine developer
// tools, then "other". Callers must not modify it.
var Services = []string{
	ServiceCodePipeline,
	ServiceCodeDeploy,
	ServiceCodeBuild,
	ServiceCodeCommit,
	ServiceCodeArtifact,
	ServiceCodeStar,
	ServiceCodeStarNotifications,
	ServiceCodeConnections,
	ServiceCodeCatalyst,
	ServiceOther,
}

// serviceHost maps the service principal (eventSource, invokedBy, and the
// sourceIPAddress/userAgent of calls a service makes on its own) to the tool.
// CodeStar Connections was renamed CodeConnections; both hosts are in use.
func serviceHost(host string) string {
	const suffix = ".amazonaws.com"
	if len(host) <= len(suffix) || !strings.EqualFold(host[len(host)-len(suffix):], suffix) {
		return ""
	}
	name := host[:len(host)-len(suffix)]
	switch {
	case strings.EqualFold(name, "codepipeline"):
		return ServiceCodePipeline
	case strings.EqualFold(name, "codedeploy"):
		return ServiceCodeDeploy
	case strings.EqualFold(name, "codebuild"):
		return ServiceCodeBuild
	case strings.EqualFold(name, "codecommit"):
		return ServiceCodeCommit
	case strings.EqualFold(name, "codeartifact"):
		return ServiceCodeArtifact
	case strings.EqualFold(name, "codestar"):
		return ServiceCodeStar
	case strings.EqualFold(name, "codestar-notifications"):
		return ServiceCodeStarNotifications
	case strings.EqualFold(name, "codestar-connections"), strings.EqualFold(name, "codeconnections"):
		return ServiceCodeConnections
	case strings.EqualFold(name, "codecatalyst"):
		return ServiceCodeCatalyst
	}
	return ""
}

// ServiceOf names the developer tool an event belongs to: first by its
// eventSource, else by the calling service (userIdentity.invokedBy, then
// sourceIPAddress, then userAgent equal to a tool's service host, as when
// CodeStar Notifications calls events.amazonaws.com or CodePipeline calls
// s3.amazonaws.com), else ServiceOther. Hosts compare case-insensitively.
func ServiceOf(eventSource, invokedBy, sourceIP, userAgent string) string {
	for _, h := range [...]string{eventSource, invokedBy, sourceIP, userAgent} {
		if s := serviceHost(h); s != "" {
			return s
		}
	}
	return ServiceOther
}
