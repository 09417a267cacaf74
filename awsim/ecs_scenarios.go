package awsim

// The scenarios: what every rollout that UpdateService starts on a service does over time. Each
// is a function from the rollout to its timeline (steps at times after the call, and whether new
// tasks keep failing); startRollout picks one from the table by Scenario.Kind.

import (
	"crypto/sha256"
	"fmt"
	"time"
)

// rolloutCtx is what a scenario builds its timeline from.
type rolloutCtx struct {
	w       *ecsWorld
	svc     *service
	ours    *deployment // the deployment UpdateService started
	prev    *deployment // the PRIMARY before it
	sc      Scenario
	rollout time.Duration
}

// succeed: new tasks start at half the rollout; at its end ours is the only deployment, COMPLETED.
// With early success criteria the criteria's share starts at half the rollout, and the service
// deployment is SUCCESSFUL then (DEFERRED: the old tasks are removed at the rollout's end) or once
// the old tasks are removed, at five eighths (BLOCKING); the rest of the new tasks come at the end.
func succeed(r rolloutCtx, tl *timeline) {
	if es := r.svc.spec.EarlySuccess; es != nil {
		w, svc, d := r.w, r.svc, r.ours
		need := min(svc.desired, (es.HealthyPercent*svc.desired+99)/100)
		early := func(now time.Time) {
			d.sd.set("SUCCESSFUL", "Service deployment succeeded (early success criteria met).", now)
			d.rolloutState, d.reason, d.updated = "COMPLETED", fmt.Sprintf("ECS deployment %s completed.", d.id), now
			w.event(svc, now, "(service %s) (deployment %s) deployment completed (early success).", svc.spec.Name, d.id)
		}
		tl.steps = []step{{r.rollout / 2, func(now time.Time) {
			w.setRunning(svc, d, need, now)
			d.pending = svc.desired - need
			if es.Cleanup != "BLOCKING" {
				early(now)
			}
		}}}
		if es.Cleanup == "BLOCKING" {
			tl.steps = append(tl.steps, step{r.rollout * 5 / 8, func(now time.Time) {
				for _, o := range svc.deployments {
					if o != d {
						w.setRunning(svc, o, 0, now)
					}
				}
				early(now)
			}})
		}
		tl.steps = append(tl.steps, step{r.rollout, w.complete(svc, d)})
		return
	}
	tl.steps = []step{{r.rollout / 2, r.w.startTasks(r.svc, r.ours)}, {r.rollout, r.w.complete(r.svc, r.ours)}}
}

var scenarios = map[string]func(rolloutCtx, *timeline){
	Success: succeed,
	// Like Success; the tasks run another digest than the tag's (set in startRollout).
	WrongDigest: succeed,
	// New tasks keep exiting; at FailAfter the circuit breaker marks ours FAILED and rolls back
	// to the previous deployment, which completes half a rollout later.
	Rollback: func(r rolloutCtx, tl *timeline) {
		failAfter := r.sc.FailAfter.D()
		if failAfter <= 0 {
			failAfter = r.rollout
		}
		one := 1
		tl.failing = true
		tl.reason = taskFailure{stopCode: "EssentialContainerExited", reason: "Essential container in task exited", exitCode: &one}
		w, svc, d := r.w, r.svc, r.ours
		tl.steps = []step{{failAfter, func(now time.Time) {
			w.rollingBack(svc, d, "ECS deployment circuit breaker: tasks failed to start.", now, tl, r.rollout/2)
		}}}
	},
	// New tasks keep stopping with CannotPullContainerError; it never completes.
	CrashLoop: func(r rolloutCtx, tl *timeline) {
		image := r.w.s.ecr.imageURI(r.svc.spec.Image)
		tl.failing = true
		tl.reason = taskFailure{stopCode: "TaskFailedToStart",
			reason:          fmt.Sprintf("CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to resolve ref %s: %s: not found", image, image),
			containerReason: "CannotPullContainerError: pull image manifest has been retried 7 time(s)"}
	},
	// FailCount new tasks exit while the rollout starts (one every TaskFailEvery), then it goes on
	// as Success does, a rollout later: with a breaker that tolerates them, ECS finishes it.
	Flaky: func(r rolloutCtx, tl *timeline) {
		n := r.sc.FailCount
		if n <= 0 {
			n = 6
		}
		one := 1
		tl.failing, tl.failLimit = true, n
		tl.reason = taskFailure{stopCode: "EssentialContainerExited", reason: "Essential container in task exited", exitCode: &one}
		after := time.Duration(n) * tl.every
		tl.steps = []step{{after + r.rollout/2, r.w.startTasks(r.svc, r.ours)}, {after + r.rollout, r.w.complete(r.svc, r.ours)}}
	},
	// New tasks stay PENDING: nothing happens.
	NeverFinish: func(rolloutCtx, *timeline) {},
	// The strategies that shift traffic (ecs_deployments.go).
	BlueGreen: traffic, Linear: traffic, Canary: traffic, Paused: traffic, AlarmRollback: traffic,
	// At ReplaceAfter someone else's deployment (a new task definition) takes over and completes.
	Foreign: func(r rolloutCtx, tl *timeline) {
		replace := r.sc.ReplaceAfter.D()
		if replace <= 0 {
			replace = r.rollout / 2
		}
		w, svc := r.w, r.svc
		var f *deployment
		tl.steps = []step{
			{replace, func(now time.Time) {
				// someone else registers a revision of the family and deploys it
				cur, _ := w.revisionOf(svc.taskDef)
				svc.taskDef = w.register(cur.body, cur.tags, "arn:aws:iam::"+w.s.cfg.Account+":user/someone-else", now).arn
				for _, o := range svc.deployments {
					o.status = "ACTIVE"
				}
				f = w.newDeployment(svc, svc.taskDef, now)
				f.digest = "sha256:" + fmt.Sprintf("%x", sha256.Sum256([]byte("foreign:"+svc.spec.Name)))
				// Ours is superseded (inferred: STOPPED); theirs is a service deployment of its own.
				r.ours.sd.set("STOPPED", "superseded by a newer service deployment", now)
				r.ours.sd.stopped = now
				w.newServiceDeployment(svc, f, r.ours, now)
				svc.deployments = append([]*deployment{f}, svc.deployments...)
				svc.history = append([]*deployment{f}, svc.history...)
			}},
			{replace + r.rollout, func(now time.Time) { w.complete(svc, f)(now) }},
		}
	},
}

// startRollout is UpdateService with a new deployment: ours becomes PRIMARY, the rest ACTIVE,
// and the service's scenario sets the timeline.
func (w *ecsWorld) startRollout(svc *service, now time.Time) *deployment {
	prev := svc.deployments[0]
	for _, d := range svc.deployments {
		d.status = "ACTIVE"
	}
	d := w.newDeployment(svc, svc.taskDef, now)
	d.digest = w.digestFor(svc, svc.taskDef)
	sc := svc.spec.Scenario
	if sc.Kind == WrongDigest {
		d.digest = "sha256:" + fmt.Sprintf("%x", sha256.Sum256([]byte("wrong:"+svc.spec.Image)))
	}
	svc.deployments = append([]*deployment{d}, svc.deployments...)
	svc.history = append([]*deployment{d}, svc.history...)
	w.newServiceDeployment(svc, d, prev, now)
	w.s.effects.Deployments[svc.cl.name+"/"+svc.spec.Name]++

	rollout := sc.Rollout.D()
	if rollout <= 0 {
		rollout = 2 * time.Second
	}
	every := sc.TaskFailEvery.D()
	if every <= 0 {
		every = rollout / 4
	}
	tl := &timeline{start: now, ours: d, every: every}
	build := scenarios[sc.Kind]
	if (sc.Kind == Success || sc.Kind == Rollback) && svc.spec.Strategy != strategyRolling {
		build = traffic // a configured BLUE_GREEN, LINEAR or CANARY service
	}
	build(rolloutCtx{w: w, svc: svc, ours: d, prev: prev, sc: sc, rollout: rollout}, tl)
	svc.tl = tl
	return d
}

// startTasks makes d run the desired count.
func (w *ecsWorld) startTasks(svc *service, d *deployment) func(time.Time) {
	return func(now time.Time) {
		w.setRunning(svc, d, svc.desired, now)
		d.pending = 0
	}
}

// complete makes d the only deployment, COMPLETED, with every other deployment's tasks stopped.
func (w *ecsWorld) complete(svc *service, d *deployment) func(time.Time) {
	return func(now time.Time) {
		w.setRunning(svc, d, svc.desired, now)
		d.pending = 0
		for _, other := range svc.deployments {
			if other != d {
				w.setRunning(svc, other, 0, now)
			}
			if sd := other.sd; sd != nil && !sd.terminal() {
				switch {
				case other == d:
					sd.set("SUCCESSFUL", "Service deployment succeeded.", now)
				case sd.status == "ROLLBACK_IN_PROGRESS":
					sd.set("ROLLBACK_SUCCESSFUL", sd.reason, now)
				default:
					sd.set("STOPPED", "superseded by a newer service deployment", now)
					sd.stopped = now
				}
			}
		}
		svc.deployments = []*deployment{d}
		d.status, d.rolloutState = "PRIMARY", "COMPLETED"
		d.reason = fmt.Sprintf("ECS deployment %s completed.", d.id)
		d.updated = now
		w.event(svc, now, "(service %s) (deployment %s) deployment completed.", svc.spec.Name, d.id)
		w.event(svc, now, "(service %s) has reached a steady state.", svc.spec.Name)
	}
}
