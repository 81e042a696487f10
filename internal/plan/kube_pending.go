package plan

import (
	"time"

	"go.uber.org/zap"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/runner"
	"github.com/redeploy-drill/drill/scenarios"
)

func kindTarget(s *scenarios.Scenario, k *scenarios.KindTarget, timeout time.Duration, log *zap.Logger) runner.TargetPlan {
	return runner.TargetPlan{}
}
func applyStep(name string, a scenarios.ApplyAction) drills.Step { return nil }
func waitStep(name string, w scenarios.WaitAction) drills.Step   { return nil }
