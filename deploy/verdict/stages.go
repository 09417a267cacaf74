package verdict

// Stages are the lifecycle stages of an ECS service deployment, in the order a deployment
// passes them, with what each means for the new (green) revision's traffic. The source is the
// API reference, ServiceDeployment.lifecycleStage ("Possible values include: ..."), whose words
// each meaning keeps; botocore's model carries the same text (a test holds the names to it and to
// the SDK's enum). The order is the reference's list order, which is the order of the blue/green
// workflow ("Amazon ECS blue/green service deployments workflow"); that a deployment never goes
// back a stage is an inference from that workflow, and nothing here depends on it.
var Stages = []struct{ Stage, Meaning string }{
	{"RECONCILE_SERVICE", "reconciling the service's ACTIVE revisions"},
	{"PRE_SCALE_UP", "the new revision has not started; the old one takes all production traffic, there is no test traffic"},
	{"SCALE_UP", "the new revision is scaling up to 100% and takes no traffic yet"},
	{"POST_SCALE_UP", "the new revision has started; the old one takes all production traffic, there is no test traffic"},
	{"TEST_TRAFFIC_SHIFT", "test traffic is shifting to the new revision; the old one takes all production traffic"},
	{"POST_TEST_TRAFFIC_SHIFT", "test traffic has shifted: the new revision takes all test traffic; production traffic is still on the old one"},
	{"PRODUCTION_TRAFFIC_SHIFT", "production traffic is shifting to the new revision"},
	{"POST_PRODUCTION_TRAFFIC_SHIFT", "production traffic has shifted to the new revision"},
	{"BAKE_TIME", "production traffic has shifted; both revisions run while the deployment bakes"},
	{"CLEAN_UP", "the old revision is scaling down to 0 tasks; the new one is the production revision"},
}

// StageMeaning is what stage means for the new revision's traffic ("" for a stage not in Stages).
func StageMeaning(stage string) string {
	for _, s := range Stages {
		if s.Stage == stage {
			return s.Meaning
		}
	}
	return ""
}
